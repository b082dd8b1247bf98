/*
 * ratelimit: token buckets by key (an API token, a user), for the
 * per-script request limits of /api/v1 (issue 16). A fixed table kept in
 * memory by this process: with several web instances each has its own,
 * so a script may get up to instances × the limit. When the table is
 * full, the entry idle longest gives up its place (a bucket that has
 * been idle for burst/rate seconds is full anyway, so nothing is lost
 * unless more keys than the table holds are all busy at once).
 * Thread-safe; the clock is the caller's (seconds), for tests.
 */
#ifndef INTROEVAL_RATELIMIT_H
#define INTROEVAL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct ratelimit;

#define RATELIMIT_KEY_MAX	40

/* per_minute <= 0: no limit. burst: the most requests at once (>= 1). */
struct ratelimit *ratelimit_new(double per_minute, double burst,
	    size_t slots);
void		 ratelimit_free(struct ratelimit *);
/*
 * Takes one request for key at time now. False when it must wait, with
 * *retry_after the whole seconds (>= 1) until one is there.
 */
bool		 ratelimit_take(struct ratelimit *, const char *key,
		    double now, int *retry_after);

#endif
