/*
 * log: timestamped event lines on stderr. Each call writes one line with a
 * single write(2) so lines from concurrent threads do not interleave.
 */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void	vlog(enum log_level, const char *, const char *, va_list, int);

static enum log_level log_level = LOG_LEVEL_INFO;

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	if (strcmp(s, "debug") == 0)
		*out = LOG_LEVEL_DEBUG;
	else if (strcmp(s, "info") == 0)
		*out = LOG_LEVEL_INFO;
	else if (strcmp(s, "warn") == 0)
		*out = LOG_LEVEL_WARN;
	else
		return 0;
	return 1;
}

static void
vlog(enum log_level level, const char *tag, const char *fmt, va_list ap,
    int errnum)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
	    ts.tv_nsec / 1000000, tag);
	n += r > 0 ? (size_t)r : 0;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = r > 0 && (size_t)r < sizeof(line) - n ? n + (size_t)r :
	    sizeof(line) - 2;
	if (errnum != 0 && n < sizeof(line) - 2) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		n = r > 0 && (size_t)r < sizeof(line) - n ? n + (size_t)r :
		    sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, "debug", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, "info", fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, "warn", fmt, ap, saved);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, "warn", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, "fatal", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, "fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
