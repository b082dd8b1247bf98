/*
 * scheduler (functions prefixed sched_): the background scheduler. It
 * takes waiting submissions from the store, transcribes them (media +
 * stt) and has an LLM backend score them (llm + rubric), recording each
 * outcome in the store.
 */
#ifndef INTROEVAL_SCHEDULER_H
#define INTROEVAL_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct config;
struct db;
struct sched;

/* What the scheduler works with; copied by sched_start. */
struct sched_env {
	const struct config	*cfg;
	struct db		*db;
	const char		*uploads_dir;	/* submissions' files */
	const char		*work_dir;	/* scratch for extracted audio */
};

struct sched	*sched_start(const struct sched_env *, char *err,
		    size_t errlen);
/* The LLM pool's per-backend statistics (pool_stats); caller decrefs. */
json_t		*sched_pool_stats(struct sched *);
/*
 * Whether this process runs its node's controller (it holds the node
 * lock). buf says so in words: "running node NAME", or "standby: node
 * lock held by …" naming the process that runs it. Any thread.
 */
bool		 sched_status(struct sched *, char *buf, size_t len);
/*
 * A graceful stop's first step, at once: no new claim or call starts and
 * every submission this process holds goes back to the queue (another
 * node may take it now). Any thread; sched_status still works after it.
 */
void		 sched_stop_begin(struct sched *);
/*
 * sched_stop_begin if not done, then waits for the calls in flight
 * (their results are dropped as stale), stops and frees.
 */
void		 sched_stop(struct sched *);

#endif
