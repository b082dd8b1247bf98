/*
 * pool_impl: the pool's state, shared by its files and no one else.
 *
 *   pool.c          life cycle, the thread and its curl multi loop,
 *                   transfers, callbacks, pause, unload, counters
 *   pool_backend.c  each backend's circuit breaker, health checks,
 *                   back-off and statistics
 *   pool_dispatch.c which waiting task goes to which backend, when
 *   pool_task.c     a task's calls and their outcomes: validation,
 *                   repair, retry, and the evaluation with provenance
 *
 * Locking: one mutex (pool.lock) guards everything below. The pool's
 * thread holds it except while it waits in curl_multi_poll and while it
 * runs callers' callbacks, so those may call back into the pool.
 */
#ifndef INTROEVAL_POOL_IMPL_H
#define INTROEVAL_POOL_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "aimd.h"
#include "bucket.h"
#include "llm.h"
#include "pool.h"

#define POOL_LAT_SAMPLES	256	/* latencies kept for p50/p95 */
#define POOL_HEALTH_TIMEOUT_S	5
#define POOL_LIMIT_HISTORY	64	/* limit changes kept for the chart */

/* A backend's circuit breaker; DOWN: unreachable or model missing. */
enum breaker {
	BREAKER_CLOSED,		/* in rotation */
	BREAKER_OPEN,		/* failing: out of rotation for a cool-down */
	BREAKER_HALF_OPEN,	/* one probe call decides */
	BREAKER_DOWN,		/* refused, or the health check failed */
};

enum breaker_event {
	BEV_SUCCESS,		/* a generation call answered */
	BEV_FAILURE,		/* a call failed: timeout, busy, error */
	BEV_REFUSED,		/* nobody listens: out at once */
	BEV_HEALTH_OK,		/* server up, model present */
	BEV_HEALTH_FAIL,
	BEV_COOLDOWN,		/* an open breaker's cool-down is over */
};

enum unload_step { UNLOAD_IDLE, UNLOAD_POST, UNLOAD_WAIT, UNLOAD_PS,
	UNLOAD_GONE };

struct backend {
	struct llm_backend cfg;		/* strings owned */
	size_t		 index;
	int		 weight;
	enum breaker	 state;
	int		 failures;	/* consecutive */
	double		 opened_at;	/* monotonic */
	double		 backoff_until;
	double		 backoff_s;	/* next back-off; 0: none yet */
	bool		 probing;	/* the half-open probe is running */
	int		 in_flight;	/* generation calls running */
	double		 ewma_s;	/* call latency; 0: not measured */
	char		*digest;
	char		 last_error[256];
	long		 requests, errors;
	double		 lat[POOL_LAT_SAMPLES];
	size_t		 nlat, latpos;
	double		 tokens, token_s;	/* for tokens per second */
	double		 next_health;
	bool		 health_busy;
	bool		 checked;	/* a health check has answered */
	enum unload_step unload;
	double		 unload_next;
	/* Concurrency: tuned (adaptive) or cfg.max_concurrent, fixed. */
	bool		 adaptive;
	struct aimd	 aimd;
	struct limit_change {
		double	 at;		/* wall clock */
		int	 limit;
		char	 why[96];
	}		 limits[POOL_LIMIT_HISTORY];
	size_t		 nlimits, limitpos;
	/* Budgets: requests and tokens a minute (token buckets). */
	struct bucket	 request_budget;
	struct bucket	 token_budget;
	double		 tokens_per_call;	/* estimate taken at start */
	double		 budget_since;	/* monotonic; 0: not waiting */
	double		 budget_waited_s;	/* in all */
};

enum member_state { MEMBER_WAITING, MEMBER_RUNNING, MEMBER_DONE,
	MEMBER_FAILED };

/* One scoring of a task: single mode has one, ensemble one per backend. */
struct member {
	int		 backend;	/* fixed backend, or -1: any */
	enum member_state state;
	int		 ran_on;	/* backend of the last call, or -1 */
	bool		 repair_due;	/* next call re-asks ran_on */
	char		*repair_prompt;
	json_t		*eval;		/* rubric_validate's answer */
	char		*model;
	long		 prompt_tokens, eval_tokens;
	double		 call_s;
	char		 error[256];
};

struct task {
	struct task	*next;
	long long	 submission_id;
	long long	 rubric_id;
	const struct rubric *rubric;
	char		*prompt;
	json_t		*schema;
	char		 prompt_sha256[65];
	pool_done_fn	 done;
	void		*arg;
	double		 submitted;	/* monotonic */
	struct member	*m;		/* NULL until first dispatched */
	size_t		 nm;
	size_t		 asked;		/* ensemble: backends asked */
	bool		*tried;		/* per backend: a call failed there */
	int		 failures;
	bool		 only_invalid;	/* every failure an invalid answer */
	json_t		*calls;		/* [{backend, outcome, s, error}] */
	int		 fixed;		/* pool_task.backend's index, or -1 */
	json_t		*options;	/* seeded options; NULL: the pool's */
	bool		 finished;
};

enum xfer_kind { XFER_GENERATE, XFER_HEALTH, XFER_UNLOAD, XFER_PS };

struct xfer {
	struct xfer	*next;
	enum xfer_kind	 kind;
	struct llm_call	*call;
	struct backend	*b;
	struct task	*t;		/* NULL once the task ended */
	long long	 submission_id;
	size_t		 member;
	bool		 repair;
	bool		 saturated;	/* its start filled the limit */
	double		 tokens_taken;	/* from the token budget */
	double		 started;	/* monotonic */
	double		 started_wall;
};

/* Something to tell a caller once the lock is released. */
struct note {
	struct note	*next;
	bool		 is_call;
	struct pool_call call;
	struct pool_result res;		/* evaluation and model owned */
	pool_done_fn	 done;
	void		*arg;
};

struct unload_req {
	double		 deadline;	/* monotonic */
	bool		 started, done, ok;
	char		 err[512];
};

struct pool {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* first health round, unload */
	pthread_t	 thread;
	bool		 thread_started;
	CURLM		*multi;
	struct backend	*b;
	size_t		 nb;
	bool		 least_loaded;
	bool		 ensemble;
	double		 margin;
	int		 health_interval_s;
	int		 breaker_failures;
	int		 cooldown_s;
	int		 num_ctx;
	int		 try_budget;	/* failed calls before a task gives up */
	json_t		*options;	/* generation options sent */
	struct task	*tasks;		/* FIFO, unfinished */
	int		 ntasks;
	struct xfer	*xfers;
	int		 running;	/* generation calls on the wire */
	bool		 paused;
	bool		 held;		/* pool_hold: e.g. a GPU too hot */
	bool		 stopping;
	struct note	*notes, **notes_tail;
	pool_call_fn	 call_hook;
	void		*call_arg;
	struct unload_req *unload;
	size_t		 rr_next;	/* round robin: whose turn */
	int		 rr_used;	/* turns taken of its weight */
};

/* pool.c */
bool	 pool_start_generate(struct pool *, struct task *, size_t,
	    struct backend *, bool);
void	 pool_start_health(struct pool *, struct backend *);
void	 pool_note(struct pool *, struct note *);
void	pool_note_call(struct pool *, const struct xfer *, const char *,
	    const struct llm_response *);

/* pool_backend.c */
void	 pool_backend_event(struct pool *, struct backend *, enum breaker_event,
	    const char *);
void	 pool_backend_backoff(struct pool *, struct backend *, double);
void	 pool_backend_sample(struct backend *, const struct llm_response *);
void	 pool_backends_tick(struct pool *, double);
double	 pool_backends_next_wakeup(struct pool *, double);
void	 pool_backend_health_done(struct pool *, struct backend *,
	    struct llm_call *, CURLcode);
bool	 pool_backend_in_rotation(const struct backend *);
bool	 pool_backend_available(const struct pool *, const struct backend *,
	    double);
bool	 pool_backend_can_start(const struct pool *, const struct backend *,
	    double);
int	 pool_backend_capacity(const struct backend *);
int	 pool_backend_limit(const struct backend *);
double	 pool_backend_budget_wait(struct backend *, double);
void	 pool_backend_call_started(struct backend *, struct xfer *, double);
void	 pool_backend_call_ended(struct pool *, struct backend *,
	    const struct xfer *, const struct llm_response *, bool);
double	 pool_backend_latency(const struct pool *, const struct backend *);
json_t	*pool_backend_stats(const struct backend *, double);
void	 pool_backend_free(struct backend *);

/* pool_dispatch.c */
void	 pool_dispatch(struct pool *, double);

/* pool_task.c */
struct task *pool_task_new(const struct pool_task *, pool_done_fn, void *,
	    size_t);
void	 pool_task_free(struct task *);
bool	 pool_task_begin(struct pool *, struct task *);
void	 pool_task_call_done(struct pool *, struct xfer *, CURLcode);
bool	 pool_task_member_lost(struct pool *, struct task *, size_t,
	    const char *);
bool	 pool_task_repair_lost(struct pool *, struct task *, size_t,
	    const char *);
void	 pool_task_finish_error(struct pool *, struct task *, bool,
	    const char *);

#endif
