/*
 * util: allocation that never returns NULL, small string helpers and clocks.
 * Allocation failure is fatal (STYLE.md rule 6): callers never check.
 */
#ifndef INTROEVAL_UTIL_H
#define INTROEVAL_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stddef.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t	 util_strlcpy(char *, const char *, size_t);
/* Formats into err (may be NULL) and returns false, for one-line error exits. */
bool	 util_seterr(char *err, size_t errlen, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* Writes all n bytes, restarting on EINTR; false with errno set. */
bool	 util_write_all(int fd, const void *, size_t n);

double	 util_monotonic(void);	/* seconds, CLOCK_MONOTONIC */
double	 util_wallclock(void);	/* seconds since the epoch */
/* t (seconds since the epoch) as ISO 8601 in UTC: 2026-12-06T02:00:00Z. */
void	 util_iso8601(double t, char *buf, size_t len);
void	 util_sleep(double);	/* seconds; restarts on EINTR */

/*
 * Timed condition waits on the monotonic clock, so a step of the wall
 * clock neither stalls nor hurries them: a condition variable made by
 * util_cond_init_monotonic, waited on with pthread_cond_timedwait until
 * util_deadline_monotonic(secs from now).
 */
void	 util_cond_init_monotonic(pthread_cond_t *);
void	 util_deadline_monotonic(double secs, struct timespec *);

#endif
