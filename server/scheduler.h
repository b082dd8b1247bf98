/*
 * scheduler (functions prefixed sched_): the background scheduler. It
 * takes waiting submissions from the store, transcribes them (media +
 * stt) and has an LLM backend score them (llm + rubric), recording each
 * outcome in the store.
 */
#ifndef INTROEVAL_SCHEDULER_H
#define INTROEVAL_SCHEDULER_H

#include <stddef.h>

#include <jansson.h>

struct app;
struct sched;

struct sched	*sched_start(struct app *, char *err, size_t errlen);
/* Looks for work now (after an upload) instead of at the next poll. */
void		 sched_wake(struct sched *);
/* The LLM pool's per-backend statistics (pool_stats); caller decrefs. */
json_t		*sched_pool_stats(struct sched *);
/* Finishes the call in flight, then stops. */
void		 sched_stop(struct sched *);

#endif
