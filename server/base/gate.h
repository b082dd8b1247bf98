/*
 * gate: at most N threads inside at a time; the others wait their turn.
 *
 * For CPU-bound child processes started from many request threads
 * (ffprobe at intake): run at once on a small machine, thirty of them
 * share the cores and all finish together at the end; through a gate of
 * one per core they finish one after another, so the first is done in
 * its own time, not in everyone's.
 */
#ifndef INTROEVAL_GATE_H
#define INTROEVAL_GATE_H

#include <pthread.h>
#include <stdbool.h>

struct gate {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cv;
	int		 free;
	int		 waiting;	/* threads in gate_enter_wait's queue */
};

/* n <= 0: one per online CPU. */
void	gate_init(struct gate *, int n);
void	gate_destroy(struct gate *);
void	gate_enter(struct gate *);
void	gate_leave(struct gate *);
/*
 * gate_enter with bounds: false at once when queue_max threads already
 * wait, or after wait_s seconds without a free place. *queued (if not
 * NULL) is set when the thread had to wait.
 */
bool	gate_enter_wait(struct gate *, double wait_s, int queue_max,
	    bool *queued);
/* Places taken and threads waiting, for metrics (a snapshot). */
void	gate_counts(struct gate *, int *free, int *waiting);

#endif
