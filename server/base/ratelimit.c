/* ratelimit: see ratelimit.h. A linear scan: the table is small. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "util.h"

struct slot {
	char		 key[RATELIMIT_KEY_MAX + 1];
	struct bucket	 b;
	double		 last;		/* last request */
};

struct ratelimit {
	pthread_mutex_t	 lock;
	double		 per_minute, burst;
	size_t		 n, used;
	struct slot	*slots;
};

static struct slot	*find(struct ratelimit *, const char *, double);

struct ratelimit *
ratelimit_new(double per_minute, double burst, size_t slots)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	pthread_mutex_init(&rl->lock, NULL);
	rl->per_minute = per_minute;
	rl->burst = burst >= 1 ? burst : 1;
	rl->n = slots > 0 ? slots : 1;
	rl->slots = xcalloc(rl->n, sizeof(*rl->slots));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

/* The key's slot, or a fresh one in place of the idlest. */
static struct slot *
find(struct ratelimit *rl, const char *key, double now)
{
	struct slot *s, *idlest = NULL;
	size_t i;

	for (i = 0; i < rl->used; i++) {
		s = &rl->slots[i];
		if (strcmp(s->key, key) == 0)
			return s;
		if (idlest == NULL || s->last < idlest->last)
			idlest = s;
	}
	s = rl->used < rl->n ? &rl->slots[rl->used++] : idlest;
	util_strlcpy(s->key, key, sizeof(s->key));
	bucket_init(&s->b, rl->per_minute, rl->burst, now);
	return s;
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, double now,
    int *retry_after)
{
	struct slot *s;
	double wait;

	*retry_after = 0;
	if (rl->per_minute <= 0)
		return true;
	pthread_mutex_lock(&rl->lock);
	s = find(rl, key, now);
	s->last = now;
	wait = bucket_wait(&s->b, now, 1);
	if (wait <= 0)
		bucket_take(&s->b, now, 1);
	pthread_mutex_unlock(&rl->lock);
	if (wait <= 0)
		return true;
	*retry_after = (int)ceil(wait);
	if (*retry_after < 1)
		*retry_after = 1;
	return false;
}
