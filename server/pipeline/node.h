/*
 * node: what a GPU node tells the database about itself: its current
 * phase (system_state), the phases it ran (phase_runs), every STT and LLM
 * call it made (phase_log), the rates measured from that log, and from
 * those the queue position and expected time of a waiting submission.
 * The phase controller writes; pages, the API and tests read.
 */
#ifndef INTROEVAL_NODE_H
#define INTROEVAL_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "phase.h"

struct db;

/* A node's lock (pglock) is named this and the node's name. */
#define NODE_LOCK_PREFIX	"introeval-node:"

struct node_state {
	enum phase	 phase;
	double		 phase_since;	/* wall clock */
	long long	 batch_id;
	int		 batch_size;
	int		 batch_done;
	int		 queue_stt;
	int		 queue_llm;
	int		 active_workers;
	bool		 stt_available;
	int		 llm_healthy;
	int		 llm_capacity;
	int		 stt_concurrency;
	int		 batch_max;
	double		 batch_window_s;
	json_t		*gpus;		/* borrowed; NULL: no telemetry */
	json_t		*thermal;	/* borrowed; {paused, reason} or NULL */
	const char	*role;		/* the process's role: all, worker */
};

bool		 node_state_write(struct db *, const char *node,
		    const char *worker, const struct node_state *,
		    char *err, size_t errlen);
long long	 node_next_batch_id(struct db *);
/*
 * At start, with the node's lock held: the calls and phases an earlier
 * process of this node left open are closed as "interrupted".
 */
void		 node_log_interrupted(struct db *, const char *node);
/* A phase run; node_phase_end closes it. 0 on a database error. */
long long	 node_phase_begin(struct db *, const char *node, enum phase,
		    long long batch_id, const char *reason);
void		 node_phase_end(struct db *, long long run_id, int items);
/* A call in the phase log: started now, finished later. */
long long	 node_log_start(struct db *, const char *node, const char *phase,
		    long long submission_id, const char *backend,
		    double started_at);
void		 node_log_finish(struct db *, long long log_id,
		    double finished_at, const char *outcome, json_t *detail);
/* A call known only once it ended (LLM calls, unloads). */
void		 node_log_call(struct db *, const char *node, const char *phase,
		    long long submission_id, const char *backend,
		    double started_at, double finished_at, const char *outcome,
		    json_t *detail);
/*
 * Where submission id stands: {position, ahead, eta_s, eta_at, phase,
 * node_phase} for a submission still in the pipeline, or JSON null.
 */
bool		 node_queue_json(struct db *, long long id, json_t **out,
		    char *err, size_t errlen);

/*
 * {nodes: [system_state rows], submissions: {phase/status: count},
 *  phases: the phase runs of the last hour}.
 */
bool		 node_system_json(struct db *, json_t **out, char *err,
		    size_t errlen);
/*
 * Every node that ever ran a scheduler: [{name, role, phase,
 * phase_since, phase_s, worker_id, lock_holder (the session holding the node's
 * lock: its description, or null when none does), last_heartbeat,
 * heartbeat_age_s, started_at, batch_id, batch_size, batch_done,
 * queue_stt, queue_llm, stt_available, llm_healthy, gpus, thermal}].
 */
bool		 node_list_json(struct db *, json_t **out, char *err,
		    size_t errlen);
/*
 * The phase timeline of node as data: [{id, phase, backend,
 * submission_id, started_at, finished_at, duration_s, outcome}] of the
 * phase log, started in [since, until) (timestamptz text), oldest first,
 * at most limit. *found false when no such node ever wrote its state.
 */
bool		 node_phases_json(struct db *, const char *node,
		    const char *since, const char *until, int limit,
		    json_t **out, bool *found, char *err, size_t errlen);

#endif
