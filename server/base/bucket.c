/* bucket: see bucket.h. */
#include "bucket.h"

static void	refill(struct bucket *, double);

void
bucket_init(struct bucket *b, double per_minute, double burst, double now)
{
	b->per_s = per_minute > 0 ? per_minute / 60.0 : 0;
	if (burst <= 0)
		burst = per_minute / 6.0;
	b->burst = burst >= 1 ? burst : 1;
	b->level = b->burst;
	b->at = now;
}

bool
bucket_limited(const struct bucket *b)
{
	return b->per_s > 0;
}

double
bucket_wait(struct bucket *b, double now, double n)
{
	if (b->per_s <= 0)
		return 0;
	refill(b, now);
	/* A call larger than the burst waits for a full bucket, not forever. */
	if (n > b->burst)
		n = b->burst;
	if (b->level >= n)
		return 0;
	return (n - b->level) / b->per_s;
}

void
bucket_take(struct bucket *b, double now, double n)
{
	if (b->per_s <= 0)
		return;
	refill(b, now);
	b->level -= n;
	if (b->level > b->burst)
		b->level = b->burst;
}

double
bucket_level(struct bucket *b, double now)
{
	refill(b, now);
	return b->level;
}

static void
refill(struct bucket *b, double now)
{
	if (now > b->at) {
		b->level += (now - b->at) * b->per_s;
		if (b->level > b->burst)
			b->level = b->burst;
	}
	b->at = now;
}
