/*
 * gate: a counting semaphore on a mutex and a condition variable (see
 * gate.h). Waiters are woken one at a time, so no herd forms.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

void
gate_init(struct gate *g, int n)
{
	long cpus;

	if (n <= 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (int)cpus : 1;
	}
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->free = n;
	g->waiting = 0;
}

void
gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->lock);
}

void
gate_enter(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->free == 0)
		pthread_cond_wait(&g->cv, &g->lock);
	g->free--;
	pthread_mutex_unlock(&g->lock);
}

void
gate_leave(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->free++;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->lock);
}

bool
gate_enter_wait(struct gate *g, double wait_s, int queue_max, bool *queued)
{
	struct timespec until;
	bool ok = true;
	int rc = 0;

	if (queued != NULL)
		*queued = false;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)wait_s;
	until.tv_nsec += (long)((wait_s - (double)(time_t)wait_s) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->lock);
	if (g->free == 0) {
		if (g->waiting >= queue_max) {
			pthread_mutex_unlock(&g->lock);
			return false;
		}
		if (queued != NULL)
			*queued = true;
		g->waiting++;
		while (g->free == 0 && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&g->cv, &g->lock, &until);
		g->waiting--;
		ok = g->free > 0;
	}
	if (ok)
		g->free--;
	pthread_mutex_unlock(&g->lock);
	return ok;
}

void
gate_counts(struct gate *g, int *free, int *waiting)
{
	pthread_mutex_lock(&g->lock);
	*free = g->free;
	*waiting = g->waiting;
	pthread_mutex_unlock(&g->lock);
}
