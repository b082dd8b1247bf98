/*
 * pool: every configured LLM backend as one scoring service.
 *
 * The pool owns one thread running libcurl's multi interface: all calls
 * to all backends are transfers on it (no thread per request), streamed
 * and parsed incrementally (Ollama NDJSON, OpenAI server-sent events).
 * It dispatches each task to a backend (least-loaded by default,
 * round-robin as the alternative), keeps every backend's health (periodic
 * checks, a circuit breaker, back-off on 503/429/timeouts, a refused
 * connection out of rotation at once), retries a failed call on another
 * backend, gives an invalid answer one repair attempt, and in ensemble
 * mode asks every healthy backend and combines the scores.
 *
 * The phase controller decides *when* LLM work may run (never during an
 * STT phase on this node); the pool decides *where* each call goes. It
 * never starts a call on its own except health checks, which are not
 * generations and so do not touch the GPU's memory.
 *
 * Threads: every function may be called from any thread. Callbacks run on
 * the pool's thread and must not block (enqueue and return).
 */
#ifndef INTROEVAL_POOL_H
#define INTROEVAL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct config;
struct rubric;
struct pool;

struct pool_task {
	long long		 submission_id;
	const struct rubric	*rubric;	/* borrowed until the callback */
	long long		 rubric_id;
	const char		*transcript;	/* copied by pool_submit */
	json_t			*metrics;	/* speech metrics; copied */
	/* Optional, for comparing models (the bake-off): */
	const char		*backend;	/* only this backend; NULL: any */
	long			 seed;		/* this seed; 0: llm_seed */
};

struct pool_result {
	long long	 submission_id;
	bool		 ok;
	/* When !ok: whether a later try may succeed (all backends down,
	   timeouts) or not (every backend's answer was invalid twice). */
	bool		 retryable;
	char		 error[512];	/* plain words for the student/teacher */
	/*
	 * When ok, the evaluation as stored and shown:
	 *   {scores: {criterion: int}, overall, feedback, strengths,
	 *    improvements, needs_review (ensemble), models: [{backend,
	 *    model, digest, scores, overall}] (ensemble),
	 *    provenance: {backend, url, model, digest, options, num_ctx,
	 *    rubric_id, rubric_version, prompt_sha256, mode}}
	 */
	json_t		*evaluation;
	const char	*backend;	/* the (first) backend's name */
	const char	*model;		/* the model as the server named it */
	/* evaluation, backend and model are valid during the callback
	   only: incref or copy to keep them. In ensemble mode "scores" are
	   the per-criterion means rounded to integers, "mean" holds them
	   unrounded and "overall" is the mean of the models' overalls. */
	long		 prompt_tokens;
	long		 eval_tokens;
	double		 llm_s;		/* submit to result */
};

/*
 * One HTTP generation call, reported when it starts (started: true,
 * outcome "running") and again when it ends (for the phase log).
 */
struct pool_call {
	bool		 started;
	long long	 submission_id;
	const char	*backend;
	double		 started_at;	/* wall clock, seconds */
	double		 finished_at;
	const char	*outcome;	/* "ok", "invalid", "error", "timeout",
					   "refused", "cancelled" */
	double		 load_s;	/* the model's load time it paid */
	long		 prompt_tokens;
	long		 eval_tokens;
};

typedef void (*pool_done_fn)(const struct pool_result *, void *arg);
typedef void (*pool_call_fn)(const struct pool_call *, void *arg);

/* Reads llm_backends and the llm_* keys; starts the pool's thread. */
struct pool	*pool_new(const struct config *, char *err, size_t errlen);
/* Cancels what is in flight (each task's callback runs, retryable). */
void		 pool_free(struct pool *);

/*
 * Queues a task; done runs exactly once, on the pool's thread. A task
 * waits (it is not failed) while no backend is healthy. False only when
 * the pool is shutting down, or the task names a backend there is not.
 * A task with a backend runs there alone, in any mode; if that backend
 * leaves the rotation while others are up, it fails (retryable).
 */
bool		 pool_submit(struct pool *, const struct pool_task *,
		    pool_done_fn done, void *arg);
/* Observes every generation call; set before the first submit. */
void		 pool_set_call_hook(struct pool *, pool_call_fn, void *arg);

/*
 * The exclusion gate. While paused the pool starts no generation call
 * (queued and retried tasks and repair attempts wait; health checks go
 * on); pool_running() counts the generation calls on the wire, and every
 * call started before pool_pause returned is counted, so the phase
 * controller pauses, waits for pool_running() == 0, and only then starts
 * STT. A new pool is running (not paused).
 */
void		 pool_pause(struct pool *);
void		 pool_resume(struct pool *);
/*
 * A second gate, independent of pause/resume (the phase controller's):
 * while held no new generation call starts; calls on the wire finish.
 * For a GPU above its temperature ceiling.
 */
void		 pool_hold(struct pool *, bool);
int		 pool_running(struct pool *);

/* Free slots over healthy backends: sum of max_concurrent - in flight. */
int		 pool_free_slots(struct pool *);
/* Sum of max_concurrent over healthy backends. */
int		 pool_capacity(struct pool *);
int		 pool_healthy(struct pool *);	/* backends in rotation */
int		 pool_in_flight(struct pool *);	/* tasks submitted, not done */

/*
 * Asks every Ollama backend to unload its model (keep_alive 0) and waits
 * until /api/ps lists none, at most timeout_s. *took_s is the wait.
 * False (with the reason) if a backend still holds a model at the end;
 * backends that are down count as unloaded, and OpenAI-compatible ones
 * (which have no unload call) are skipped. Not from a pool callback.
 */
bool		 pool_unload(struct pool *, double timeout_s, double *took_s,
		    char *err, size_t errlen);

/*
 * Per backend: {name, type, url, model, state ("up", "down", "open",
 * "half-open"), in_flight, max_concurrent, requests, errors, p50_ms,
 * p95_ms, tokens_per_s, last_error, digest, weight, ewma_ms (the latency
 * dispatch expects), backoff_s (left), checked (a health check has
 * answered)}. Caller decrefs.
 */
json_t		*pool_stats(struct pool *);

#endif
