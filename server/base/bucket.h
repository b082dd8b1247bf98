/*
 * bucket: a token bucket, for a backend's request and token budgets.
 *
 * rate tokens a minute flow in, up to burst; a call takes what it uses.
 * Tokens a call will use are only known when it ends, so the pool takes
 * an estimate when it starts and settles the difference after: the level
 * may go below zero, and then the next call waits until it is back up.
 * Pure logic on a caller's clock (seconds); the caller locks.
 */
#ifndef INTROEVAL_BUCKET_H
#define INTROEVAL_BUCKET_H

#include <stdbool.h>

struct bucket {
	double	 per_s;		/* refill rate; 0: no limit */
	double	 burst;		/* capacity */
	double	 level;
	double	 at;		/* when level was computed */
};

/* per_minute <= 0: unlimited. burst <= 0: one minute's worth / 6, >= 1. */
void	bucket_init(struct bucket *, double per_minute, double burst,
	    double now);
bool	bucket_limited(const struct bucket *);
/* Seconds until n tokens are there (0: now). Takes nothing. */
double	bucket_wait(struct bucket *, double now, double n);
/* Takes n (may be negative, to give back an over-estimate). */
void	bucket_take(struct bucket *, double now, double n);
double	bucket_level(struct bucket *, double now);

#endif
