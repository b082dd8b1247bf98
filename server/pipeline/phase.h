/*
 * phase: the phase controller's decisions, as pure functions of what the
 * controller sees (queue counts, clocks, health, capacity), so they can
 * be tested on a fake clock without threads, a database or a GPU.
 *
 * The rule they serve (DESIGN.md): on one node the STT phase (the
 * writer) and the LLM phase (the readers) never overlap. The policy that
 * decides when to switch, and why, is written down once, at the top of
 * phase.c.
 */
#ifndef INTROEVAL_PHASE_H
#define INTROEVAL_PHASE_H

#include <stdbool.h>

enum phase {
	PHASE_IDLE,
	PHASE_STT,
	PHASE_SWITCHING,	/* unloading LLM models before STT */
	PHASE_LLM,
	PHASE_CONCURRENT,	/* exclusive: false */
};

struct phase_view {
	enum phase	 phase;		/* running now */
	enum phase	 last_work;	/* PHASE_STT or PHASE_LLM last run */
	double		 elapsed_s;	/* in the current phase */
	int		 stt_waiting;	/* claimable now */
	int		 prep_waiting;	/* being prepared: claimable soon */
	double		 stt_oldest_s;	/* how long the oldest has waited */
	int		 llm_waiting;	/* claimable or queued in the pool */
	double		 llm_wait_s;	/* LLM work waited, no LLM phase ran */
	double		 since_result_s; /* since the last evaluation stored */
	bool		 stt_available;	/* the STT engine works */
	int		 llm_healthy;	/* backends in rotation */
	int		 llm_capacity;	/* parallel calls on those backends */
	int		 batch_max;
	double		 batch_window_s;
	double		 max_phase_s;
};

enum phase_action {
	PHASE_WAIT,		/* nothing is ready: sleep */
	PHASE_RUN_STT,
	PHASE_RUN_LLM,
};

/* Nothing evaluated for this long: the next burst is a new audience. */
#define PHASE_FRESH_S	60.0

const char		*phase_name(enum phase);
/* An STT batch may start: the engine works and the batch is full or
   its window has passed. */
bool			 phase_stt_ready(const struct phase_view *);
/* Evaluations wait and a backend can take them. */
bool			 phase_llm_ready(const struct phase_view *);
/* What to run next once the current phase has finished its work. */
enum phase_action	 phase_next(const struct phase_view *);
/* How many submissions the next STT batch claims (at least 1). */
int			 phase_batch_size(const struct phase_view *);
/* During a phase: stop taking new work because the other side has
   waited max_phase_s. Work in flight still finishes. */
bool			 phase_time_up(const struct phase_view *);
/* Seconds to wait before looking again when phase_next says WAIT. */
double			 phase_wait_s(const struct phase_view *, double poll_s);

/* Measured rates for estimates; zero fields fall back to defaults. */
struct phase_rates {
	double	 stt_s;		/* one transcription */
	double	 llm_s;		/* one evaluation call */
	double	 switch_s;	/* unloading models before STT */
	int	 stt_concurrency;
	int	 llm_capacity;	/* parallel LLM calls */
	int	 batch_max;
};

/* Where a waiting submission stands. */
struct phase_position {
	bool	 in_stt;	/* waiting for (or in) transcription */
	bool	 processing;	/* its step runs now */
	double	 progress;	/* 0..1 of that step, when known */
	int	 ahead;		/* waiting before it in its queue */
	int	 stt_queue;	/* transcriptions waiting or running in all */
	int	 llm_queue;	/* evaluations waiting in all */
	double	 window_left_s;	/* until its STT batch may start */
};

/*
 * Seconds until a submission's result, from the current phase, how long
 * that phase has run and the measured rates, following the policy of
 * phase_next.
 */
double			 phase_eta(const struct phase_rates *, enum phase now,
			    double elapsed_s, const struct phase_position *);

#endif
