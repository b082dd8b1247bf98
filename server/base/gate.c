/*
 * gate: a counting semaphore on a mutex and a condition variable (see
 * gate.h). Waiters are woken one at a time, so no herd forms.
 */
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
