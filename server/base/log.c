/*
 * log: one line per event on stderr, written with a single write(2) so
 * lines from concurrent threads never interleave.
 *
 * Two formats (log_format): "kv", the readable
 *   2026-12-06T16:00:00.123Z info http GET / status=200 request_id=ab12
 * and "json", one object a line for journald's readers and log shippers:
 *   {"time":"…","level":"info","msg":"http GET / status=200",
 *    "status":"200","request_id":"ab12"}
 * where every key=value word of the message is also a field of its own.
 *
 * The request id is per thread (log_set_request_id): the router sets it
 * for a request, the scheduler's workers for the submission they work on,
 * and every line the thread writes meanwhile carries it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define LINE_MAX_LEN	2048

static void	vlog(enum log_level, const char *, const char *, va_list, int);
static size_t	kv_line(char *, size_t, const char *, const char *,
		    const char *);
static size_t	json_line(char *, size_t, const char *, const char *,
		    const char *);
static void	add_fields(json_t *, const char *);

/* Changed live on SIGHUP, read by every thread. */
static _Atomic int log_level = LOG_LEVEL_INFO;
static atomic_bool log_json = false;
static _Thread_local char request_id[LOG_REQUEST_ID_LEN + 1];

void
log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
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

int
log_set_format(const char *s)
{
	if (strcmp(s, "kv") != 0 && strcmp(s, "json") != 0)
		return 0;
	atomic_store(&log_json, strcmp(s, "json") == 0);
	return 1;
}

bool
log_request_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= LOG_REQUEST_ID_LEN && strspn(id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
	    == n;
}

void
log_set_request_id(const char *id)
{
	if (id == NULL || !log_request_id_valid(id))
		request_id[0] = '\0';
	else
		memcpy(request_id, id, strlen(id) + 1);
}

const char *
log_request_id(void)
{
	return request_id;
}

/* "time level message request_id=X". */
static size_t
kv_line(char *line, size_t len, const char *when, const char *tag,
    const char *msg)
{
	int r;

	r = snprintf(line, len, "%s %s %s%s%s\n", when, tag, msg,
	    request_id[0] != '\0' && strstr(msg, "request_id=") == NULL ?
	    " request_id=" : "", request_id[0] != '\0' &&
	    strstr(msg, "request_id=") == NULL ? request_id : "");
	if (r < 0)
		return 0;
	if ((size_t)r >= len) {		/* cut, but still one line */
		line[len - 2] = '\n';
		return len - 1;
	}
	return (size_t)r;
}

/*
 * Each word key=value of the message (key: lower case letters, digits
 * and '_') as a field, unless the key is taken already.
 */
static void
add_fields(json_t *obj, const char *msg)
{
	const char *p = msg, *eq, *end;
	char key[48];
	size_t kl;

	while (*p != '\0') {
		end = p + strcspn(p, " ");
		eq = memchr(p, '=', (size_t)(end - p));
		kl = eq != NULL ? (size_t)(eq - p) : 0;
		if (kl > 0 && kl < sizeof(key) && strspn(p,
		    "abcdefghijklmnopqrstuvwxyz0123456789_") == kl) {
			memcpy(key, p, kl);
			key[kl] = '\0';
			if (json_object_get(obj, key) == NULL)
				json_object_set_new(obj, key, json_stringn(
				    eq + 1, (size_t)(end - eq - 1)));
		}
		p = *end == ' ' ? end + 1 : end;
	}
}

static size_t
json_line(char *line, size_t len, const char *when, const char *tag,
    const char *msg)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "time", when, "level", tag,
	    "msg", msg);
	size_t n = 0;
	char *text;

	if (o == NULL)		/* not UTF-8: say so rather than lose it */
		o = json_pack("{s:s, s:s, s:s}", "time", when, "level", tag,
		    "msg", "(a log message that is not UTF-8)");
	if (request_id[0] != '\0')
		json_object_set_new(o, "request_id", json_string(request_id));
	add_fields(o, msg);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL && strlen(text) < len - 1) {
		n = strlen(text);
		memcpy(line, text, n);
		line[n++] = '\n';
	} else if (text != NULL) {
		/* Too long for one line: the message alone, cut. */
		json_decref(o);
		free(text);
		o = json_pack("{s:s, s:s, s:s%}", "time", when, "level", tag,
		    "msg", msg, (size_t)len / 2);
		text = o != NULL ? json_dumps(o, JSON_COMPACT |
		    JSON_PRESERVE_ORDER) : NULL;
		if (text != NULL && strlen(text) < len - 1) {
			n = strlen(text);
			memcpy(line, text, n);
			line[n++] = '\n';
		}
	}
	free(text);
	json_decref(o);
	return n;
}

static void
vlog(enum log_level level, const char *tag, const char *fmt, va_list ap,
    int errnum)
{
	char msg[LINE_MAX_LEN], line[LINE_MAX_LEN + 512], when[40];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if ((int)level < atomic_load(&log_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	n = r < 0 ? 0 : (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	if (errnum != 0)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	/* One event, one line: a newline inside a message is a space. */
	for (n = 0; msg[n] != '\0'; n++)
		if (msg[n] == '\n' || msg[n] == '\r')
			msg[n] = ' ';
	n = atomic_load(&log_json) ? json_line(line, sizeof(line), when, tag,
	    msg) : kv_line(line, sizeof(line), when, tag, msg);
	if (n > 0)
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
