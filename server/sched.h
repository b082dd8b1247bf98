/*
 * sched: the background scheduler. It takes waiting submissions from the
 * store, transcribes them (media + stt) and has an LLM backend score them
 * (llm + rubric), recording each outcome in the store.
 */
#ifndef INTROEVAL_SCHED_H
#define INTROEVAL_SCHED_H

#include <stddef.h>

struct app;
struct sched;

struct sched	*sched_start(struct app *, char *err, size_t errlen);
/* Finishes the call in flight, then stops. */
void		 sched_stop(struct sched *);

#endif
