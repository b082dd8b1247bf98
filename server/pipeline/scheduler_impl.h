/*
 * The phase controller's shared state, private to scheduler.c (the
 * controller, the LLM side) and scheduler_stt.c (the STT workers).
 * s->lock guards the event list and the stt batch fields; everything
 * else is touched only by the controller thread.
 */
#ifndef INTROEVAL_SCHEDULER_IMPL_H
#define INTROEVAL_SCHEDULER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "gpu.h"
#include "phase.h"
#include "rubric.h"
#include "queue.h"

struct db;
struct pglisten;
struct pglock;
struct config;
struct pool;
struct event;
struct stt_engine;

/* One STT batch and the workers that transcribe it. */
struct stt_side {
	pthread_cond_t		 cv;		/* workers wait for jobs */
	pthread_t		*threads;
	int			 nthreads;
	atomic_int		 engines;	/* workers with a working engine */
	atomic_int		 starting;	/* workers loading one */
	atomic_int		 failures;	/* engine failures in a row */
	_Atomic double		 down_until;	/* monotonic; engine resting */
	/* Under the scheduler's lock: */
	struct job		*jobs;
	int			 n;		/* jobs in the batch */
	int			 next;		/* next to hand out */
	int			 done;
	int			 running;
	bool			 open;		/* handing out jobs */
	long long		 batch_id;
};

/* The media workers (scheduler_prep.c). */
struct prep_side {
	pthread_cond_t		 cv;		/* workers wait for uploads */
	pthread_t		*threads;
	int			 nthreads;
	bool			 woken;		/* under the scheduler's lock */
};

/* An evaluation in the pool, owned by the pool until on_done. */
struct llm_pending {
	struct sched		*sched;
	struct job		 job;
	struct rubric		*rubric;
	long long		 bakeoff_run;	/* a bake-off's run, not job */
};

#define GPU_HISTORY	24	/* samples kept per GPU for the health page */

/* The node's GPUs, sampled by the heartbeat thread (under sched.lock). */
struct gpu_side {
	struct gpu	 now[GPU_MAX];
	size_t		 n;
	bool		 missing;	/* no such program: no telemetry */
	double		 next;		/* monotonic: next sample */
	struct gpu_point {
		double	 at;		/* wall clock */
		long	 mem_used_mib;
		int	 util_pct;
		int	 temp_c;
	}		 hist[GPU_MAX][GPU_HISTORY];
	size_t		 nhist, histpos;
	bool		 hot;		/* LLM calls held: too hot */
	char		 hot_why[160];
	char		 error[256];
};

struct sched {
	const struct config	*cfg;
	struct db		*db;
	char			*uploads_dir;	/* where submissions' files are */
	char			*work_dir;	/* scratch: extracted audio */
	char			 node[64];
	char			 worker[128];
	pthread_t		 thread;	/* the controller */
	pthread_t		 beat;		/* lease heartbeat */
	pthread_t		 listener;	/* LISTEN work */
	struct pglisten		*listen;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* the controller waits here */
	bool			 woken;		/* a wake not yet slept on */
	atomic_bool		 stopping;
	struct event		*events;	/* from the pool's thread */
	long long		*held;		/* claim tokens whose leases we keep */
	size_t			 nheld;
	size_t			 held_cap;
	struct stt_side		 stt;
	struct prep_side	 prep;
	struct pool		*pool;
	struct gpu_side		 gpu;
	/*
	 * One controller per node: nothing is recovered, claimed or
	 * started unless node_lock is held. fenced is set until it is taken
	 * and again the moment the heartbeat finds it lost; standby (under
	 * lock) says why this process is not running its node.
	 */
	struct pglock		*node_lock;
	atomic_bool		 fenced;
	bool			 lock_taken;	/* held at least once */
	char			 standby[512];
	/* Controller thread only: */
	enum phase		 phase;
	enum phase		 last_work;
	double			 phase_t0;	/* monotonic */
	double			 phase_since;	/* wall clock */
	long long		 run_id;	/* phase_runs row */
	int			 run_items;
	int			 llm_queued;	/* submitted, result not stored */
	double			 llm_wait_t0;	/* monotonic; LLM work waits, 0 none */
	double			 last_result;	/* monotonic; 0: none yet */
	bool			 models_loaded;
	struct queue_counts	 counts;
	int			 bakeoff_waiting;	/* runs pending */
	char			 bakeoff_backend[64];	/* whose runs last */
	double			 state_written;
};

/* scheduler.c */
void	sched_fail(struct sched *, const struct job *, const char *, bool);
/*
 * The heartbeat extends the leases of held submissions only: one whose
 * outcome could not be written (the database was away) is let go, its
 * lease runs out and it is claimed again, never kept forever.
 */
void	sched_hold(struct sched *, const struct job *);
void	sched_unhold(struct sched *, const struct job *);
bool	sched_stopping(struct sched *);

/* scheduler_gpu.c */
void	 sched_gpu_tick(struct sched *);
/* For system_state: the GPUs with their history, and the thermal hold. */
void	 sched_gpu_state(struct sched *, json_t **gpus, json_t **thermal);
/* Memory used now over all GPUs (a fresh sample), MiB; -1: unknown. */
long	 sched_gpu_mem_now(struct sched *);

/* scheduler_prep.c */
void	sched_prep_start(struct sched *);
void	sched_prep_stop(struct sched *);
/* NOTIFY work said an upload waits to be prepared. */
void	sched_prep_wake(struct sched *);
/* Where the job's prepared sound is (uploads/<stored_name>.wav). */
char	*sched_prep_wav(const struct sched *, const struct job *);

/* scheduler_stt.c */
bool	sched_stt_start(struct sched *, char *, size_t);
void	sched_stt_stop(struct sched *);
bool	sched_stt_available(struct sched *);
/* An engine is loading: STT is starting, not down. */
bool	sched_stt_starting(struct sched *);
/* Claims a batch of up to max and hands it to the workers; false if
   none waited. */
bool	sched_stt_open_batch(struct sched *, int max);
/* Stops handing out; unstarted jobs go back to the queue. */
void	sched_stt_close_batch(struct sched *, const char *);
bool	sched_stt_batch_finished(struct sched *);
int	sched_stt_batch_done(struct sched *);
void	sched_stt_end_batch(struct sched *);

#endif
