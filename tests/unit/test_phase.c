/*
 * Unit tests for phase: the controller's decisions on a fake clock.
 * The single decisions first (windows, health, max_phase_s, estimates),
 * then a simulated node (uploads arriving, phases taking turns, the
 * lab's costs) that holds the policy to its targets: 30 uploads at once
 * within 10 % of the ideal bound with the first result in its first
 * quarter, a steady stream that starves neither side, a lone upload
 * started at once, a backend down, the STT engine down.
 *
 * PHASE_SIM_VERBOSE=1 prints the simulated figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "phase.h"

static struct phase_view base(void);

static struct phase_view
base(void)
{
	struct phase_view v = {
		.phase = PHASE_IDLE, .last_work = PHASE_LLM,
		.stt_available = true, .llm_healthy = 2, .llm_capacity = 8,
		.since_result_s = 5,
		.batch_max = 50, .batch_window_s = 0, .max_phase_s = 600,
	};
	return v;
}

/*
 * A node on a fake clock: the controller's loop (phase_next, then the
 * phase until its work is done or phase_time_up) with fixed service
 * times. STT runs stt_conc files at a time; an LLM phase runs rounds of
 * up to llm_cap calls, the first paying load_s after an unload; an STT
 * phase after an LLM phase first pays unload_s. Uploads arrive at the
 * times given and are prepared (prep_s each, media_workers at a time,
 * outside the exclusion) before STT can take them. It records what the
 * policy is judged by.
 */
#define SIM_MAX		400

struct sim {
	/* the node */
	double	 stt_s, llm_s, load_s, unload_s;
	int	 stt_conc, llm_cap, llm_healthy;
	bool	 stt_available;
	int	 batch_max;
	double	 batch_window_s, max_phase_s;
	/* the uploads */
	int	 n;
	double	 arrive[SIM_MAX];
	double	 ready[SIM_MAX];	/* prepared: claimable for STT */
	double	 prep_s;
	int	 media_workers;
	double	 result[SIM_MAX];
	/* outcome */
	double	 first_result, last_result, first_stt_start;
	int	 stt_phases, llm_phases, done;
	double	 llm_starved, stt_starved;	/* longest waits, see below */
	/* state */
	double	 t, llm_wait_t0, last_result_t;
	int	 arrived, stt_q[SIM_MAX], nstt, llm_q[SIM_MAX], nllm;
	enum phase last_work;
	bool	 loaded;
};

static void	sim_init(struct sim *, int n, double every);
static void	sim_prepare(struct sim *);
static void	sim_admit(struct sim *);
static struct phase_view sim_view(struct sim *, enum phase, double);
static void	sim_stt(struct sim *);
static void	sim_llm(struct sim *);
static void	sim_run(struct sim *, double limit);
static double	sim_ideal(const struct sim *);
static double	sim_pct(const struct sim *, double);

/* The lab at 1/10 scale, with n uploads every `every` seconds. */
static void
sim_init(struct sim *s, int n, double every)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->stt_s = 2;
	s->llm_s = 3;
	s->load_s = 1.5;
	s->unload_s = 0.1;
	s->stt_conc = 1;
	s->llm_cap = 8;
	s->llm_healthy = 2;
	s->stt_available = true;
	s->batch_max = 50;
	s->batch_window_s = 0;
	s->max_phase_s = 600;
	s->media_workers = 2;
	s->n = n;
	for (i = 0; i < n; i++)
		s->arrive[i] = i * every;
	s->first_result = s->first_stt_start = -1;
	s->last_work = PHASE_LLM;
	s->loaded = true;	/* unknown at start: unload before STT */
}

/* When each upload is prepared: in order, media_workers at a time. */
static void
sim_prepare(struct sim *s)
{
	double free_at[16] = { 0 };
	int i, w, k;

	for (i = 0; i < s->n; i++) {
		for (k = 0, w = 1; w < s->media_workers && w < 16; w++)
			if (free_at[w] < free_at[k])
				k = w;
		if (free_at[k] < s->arrive[i])
			free_at[k] = s->arrive[i];
		free_at[k] += s->prep_s;
		s->ready[i] = free_at[k];
	}
}

static void
sim_admit(struct sim *s)
{
	while (s->arrived < s->n && s->ready[s->arrived] <= s->t + 1e-9)
		s->stt_q[s->nstt++] = s->arrived++;
}

/* What the controller's view() would show at s->t. */
static struct phase_view
sim_view(struct sim *s, enum phase now, double elapsed)
{
	struct phase_view v;

	sim_admit(s);
	memset(&v, 0, sizeof(v));
	v.phase = now;
	v.last_work = s->last_work;
	v.elapsed_s = elapsed;
	v.stt_waiting = s->nstt;
	for (int i = s->arrived; i < s->n && s->arrive[i] <= s->t + 1e-9; i++)
		v.prep_waiting++;
	v.stt_oldest_s = s->nstt > 0 ? s->t - s->arrive[s->stt_q[0]] : 0;
	v.llm_waiting = s->nllm;
	if (s->nllm == 0 || now == PHASE_LLM)
		s->llm_wait_t0 = -1;
	else if (s->llm_wait_t0 < 0)
		s->llm_wait_t0 = s->t;
	v.llm_wait_s = s->llm_wait_t0 >= 0 ? s->t - s->llm_wait_t0 : 0;
	v.since_result_s = s->last_result_t >= 0 ? s->t - s->last_result_t :
	    PHASE_FRESH_S;
	v.stt_available = s->stt_available;
	v.llm_healthy = s->llm_healthy;
	v.llm_capacity = s->llm_cap;
	v.batch_max = s->batch_max;
	v.batch_window_s = s->batch_window_s;
	v.max_phase_s = s->max_phase_s;
	return v;
}

static void
sim_stt(struct sim *s)
{
	struct phase_view v;
	double t0;
	int size, i, k;

	if (s->loaded)
		s->t += s->unload_s;
	s->loaded = false;
	v = sim_view(s, PHASE_IDLE, 0);
	size = phase_batch_size(&v);
	if (size > s->nstt)
		size = s->nstt;
	s->stt_phases++;
	s->last_work = PHASE_STT;
	if (s->first_stt_start < 0)
		s->first_stt_start = s->t;
	t0 = s->t;
	while (size > 0) {
		v = sim_view(s, PHASE_STT, s->t - t0);
		if (v.llm_wait_s > s->llm_starved)
			s->llm_starved = v.llm_wait_s;
		if (phase_time_up(&v))
			break;
		k = size < s->stt_conc ? size : s->stt_conc;
		s->t += s->stt_s;
		for (i = 0; i < k; i++)
			s->llm_q[s->nllm++] = s->stt_q[i];
		memmove(s->stt_q, s->stt_q + k, (s->nstt - k) * sizeof(int));
		s->nstt -= k;
		size -= k;
	}
	v = sim_view(s, PHASE_IDLE, 0);	/* the LLM side's clock */
}

static void
sim_llm(struct sim *s)
{
	struct phase_view v;
	double t0 = s->t, w;
	int k, i;

	s->llm_phases++;
	s->last_work = PHASE_LLM;
	v = sim_view(s, PHASE_LLM, 0);
	while (s->nllm > 0) {
		v = sim_view(s, PHASE_LLM, s->t - t0);
		if (phase_time_up(&v))
			break;
		k = s->nllm < s->llm_cap ? s->nllm : s->llm_cap;
		s->t += s->llm_s + (s->loaded ? 0 : s->load_s);
		s->loaded = true;
		for (i = 0; i < k; i++) {
			s->result[s->llm_q[i]] = s->t;
			s->done++;
		}
		memmove(s->llm_q, s->llm_q + k, (s->nllm - k) * sizeof(int));
		s->nllm -= k;
		if (s->first_result < 0)
			s->first_result = s->t;
		s->last_result = s->last_result_t = s->t;
	}
	/* How long STT work waited on this LLM phase. */
	sim_admit(s);
	if (s->nstt > 0) {
		w = s->t - (s->arrive[s->stt_q[0]] > t0 ?
		    s->arrive[s->stt_q[0]] : t0);
		if (w > s->stt_starved)
			s->stt_starved = w;
	}
}

static void
sim_run(struct sim *s, double limit)
{
	struct phase_view v;
	double next;

	s->llm_wait_t0 = s->last_result_t = -1;
	sim_prepare(s);
	while (s->t < limit && s->done < s->n) {
		v = sim_view(s, PHASE_IDLE, 0);
		switch (phase_next(&v)) {
		case PHASE_RUN_STT:
			sim_stt(s);
			break;
		case PHASE_RUN_LLM:
			sim_llm(s);
			break;
		case PHASE_WAIT:
			next = s->t + phase_wait_s(&v, 2.0);
			if (s->arrived < s->n && s->ready[s->arrived] < next)
				next = s->ready[s->arrived];
			s->t = next > s->t ? next : s->t + 0.01;
			break;
		}
	}
}

/* N x stt / concurrency + N x llm / slots, from the first upload. */
static double
sim_ideal(const struct sim *s)
{
	return s->n * s->stt_s / s->stt_conc + s->n * s->llm_s / s->llm_cap;
}

/* A percentile of upload-to-result. */
static double
sim_pct(const struct sim *s, double q)
{
	double w[SIM_MAX], x;
	int i, j, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->result[i] > 0)
			w[n++] = s->result[i] - s->arrive[i];
	for (i = 1; i < n; i++)		/* insertion sort: n is small */
		for (j = i; j > 0 && w[j - 1] > w[j]; j--) {
			x = w[j];
			w[j] = w[j - 1];
			w[j - 1] = x;
		}
	return n > 0 ? w[(int)(q * (n - 1) + 0.5)] : 0;
}

static void	report(const char *, const struct sim *);

static void
report(const char *what, const struct sim *s)
{
	double m = s->last_result;

	if (getenv("PHASE_SIM_VERBOSE") == NULL)
		return;
	printf("%s: makespan_s=%.2f ideal_s=%.2f makespan_ratio=%.3f "
	    "first_result_s=%.2f (%.0f%%) p50_s=%.1f p95_s=%.1f "
	    "stt_phases=%d llm_phases=%d llm_starved_s=%.1f "
	    "stt_starved_s=%.1f\n", what, m, sim_ideal(s), m / sim_ideal(s),
	    s->first_result, 100 * s->first_result / m, sim_pct(s, 0.5),
	    sim_pct(s, 0.95), s->stt_phases, s->llm_phases, s->llm_starved,
	    s->stt_starved);
}

static void
test_batch_waits_for_window_or_full(void **state)
{
	struct phase_view v = base();

	v.batch_max = 10;
	v.batch_window_s = 20;
	v.stt_waiting = 3;
	v.stt_oldest_s = 5;
	assert_false(phase_stt_ready(&v));
	assert_int_equal(phase_next(&v), PHASE_WAIT);
	/* It sleeps only until the window closes, not a whole poll. */
	assert_true(phase_wait_s(&v, 30) == 15);
	v.stt_oldest_s = 20;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	v.stt_oldest_s = 1;
	v.stt_waiting = 10;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
}

/* The default window is 0: a lone upload on an idle node starts now. */
static void
test_lone_upload_starts_at_once(void **state)
{
	struct phase_view v = base();
	struct sim s;

	v.since_result_s = 3600;
	v.stt_waiting = 1;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	/* On the simulated node, after a quiet spell: STT starts on arrival,
	   and the result is there after one switch each way. */
	sim_init(&s, 1, 0);
	s.arrive[0] = 500;
	sim_run(&s, 1000);
	assert_true(s.first_stt_start >= 500 && s.first_stt_start <= 500.2);
	assert_true(s.result[0] - 500 <= 0.1 + 2 + 1.5 + 3 + 1e-6);
	/* A 2 s window (a site's choice) delays it by that much at most. */
	sim_init(&s, 1, 0);
	s.arrive[0] = 500;
	s.batch_window_s = 2;
	sim_run(&s, 1000);
	assert_true(s.first_stt_start <= 502.2);
}

/*
 * A side with work keeps the node; a dry side hands it over, unless
 * files being prepared will refill it in a moment.
 */
static void
test_stay_while_there_is_work(void **state)
{
	struct phase_view v = base();

	v.stt_waiting = 10;
	v.llm_waiting = 4;
	v.last_work = PHASE_STT;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	assert_int_equal(phase_batch_size(&v), 50);	/* all that wait */
	v.llm_waiting = 30;		/* full slots: STT still goes on */
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	v.llm_waiting = 1;
	v.stt_waiting = 0;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	/* Files being prepared: wait for them, unless the slots fill. */
	v.prep_waiting = 3;
	assert_int_equal(phase_next(&v), PHASE_WAIT);
	v.llm_waiting = 8;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	/* The STT engine is down: preparing files do not hold LLM back. */
	v.llm_waiting = 1;
	v.stt_available = false;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.stt_available = true;
	/* After an LLM phase, evaluations that came in go first. */
	v.last_work = PHASE_LLM;
	v.prep_waiting = 0;
	v.stt_waiting = 10;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.llm_waiting = 0;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	v.last_work = PHASE_STT;
	/* After a quiet spell the first LLM phase is a fifth of what
	   waits, at most 3/4 of the slots. */
	v.since_result_s = 3600;
	v.stt_waiting = 30;
	v.llm_waiting = 0;
	assert_int_equal(phase_batch_size(&v), 6);
	v.stt_waiting = 28;
	v.llm_waiting = 2;
	assert_int_equal(phase_batch_size(&v), 4);
	v.stt_waiting = 24;
	v.llm_waiting = 6;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.stt_waiting = 100;
	v.llm_waiting = 0;
	assert_int_equal(phase_batch_size(&v), 6);
	v.stt_waiting = 10;
	assert_int_equal(phase_batch_size(&v), 2);
	/* A take-everything batch is bounded by batch_max. */
	v.since_result_s = 0;
	v.stt_waiting = 300;
	assert_int_equal(phase_batch_size(&v), 50);
}

static void
test_one_backend_down(void **state)
{
	struct phase_view v = base();
	struct sim s;

	/* Four slots left: they are what "full" means now. */
	v.llm_healthy = 1;
	v.llm_capacity = 4;
	v.stt_waiting = 10;
	v.llm_waiting = 4;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.since_result_s = 3600;
	v.stt_waiting = 30;
	v.llm_waiting = 0;
	assert_int_equal(phase_batch_size(&v), 3);
	/* No backend at all: STT goes on, in whole batches. */
	v.llm_healthy = 0;
	v.llm_capacity = 0;
	v.llm_waiting = 12;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	assert_int_equal(phase_batch_size(&v), 50);
	/* The lab with one backend: 30 at once within 10 % of its bound. */
	sim_init(&s, 30, 0);
	s.llm_healthy = 1;
	s.llm_cap = 4;
	sim_run(&s, 1000);
	report("one backend down, 30 at once", &s);
	assert_int_equal(s.done, 30);
	assert_true(s.last_result <= 1.10 * sim_ideal(&s));
	assert_true(s.first_result <= 0.25 * s.last_result);
}

static void
test_stt_engine_down(void **state)
{
	struct phase_view v = base();
	struct sim s;

	v.stt_waiting = 10;
	v.llm_waiting = 3;	/* not enough to fill the slots */
	v.stt_available = false;	/* but STT cannot run: LLM goes on */
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.llm_waiting = 0;
	assert_int_equal(phase_next(&v), PHASE_WAIT);
	/* A running LLM phase is not cut short for an STT that cannot run. */
	v.phase = PHASE_LLM;
	v.elapsed_s = 10000;
	v.stt_oldest_s = 10000;
	assert_false(phase_time_up(&v));
	/* The simulated node: STT never starts; evaluations all finish. */
	sim_init(&s, 12, 0);
	s.stt_available = false;
	s.arrive[10] = s.arrive[11] = 1e9;	/* never come */
	s.n = 10;
	s.nllm = 5;			/* transcribed before it went down */
	for (int i = 0; i < 5; i++)
		s.llm_q[i] = i;
	s.arrived = 5;
	s.arrive[5] = 1e9;		/* the rest wait for the engine */
	sim_run(&s, 100);
	assert_int_equal(s.stt_phases, 0);
	assert_int_equal(s.done, 5);
}

static void
test_max_phase_bounds_only_when_other_side_waits(void **state)
{
	struct phase_view v = base();

	v.phase = PHASE_LLM;
	v.elapsed_s = 700;
	v.llm_waiting = 50;
	assert_false(phase_time_up(&v));	/* nothing else to do */
	v.stt_waiting = 1;
	v.stt_oldest_s = 30;
	assert_true(phase_time_up(&v));
	v.elapsed_s = 100;
	assert_false(phase_time_up(&v));
	v.phase = PHASE_STT;
	v.elapsed_s = 601;
	assert_true(phase_time_up(&v));
	/* Counted from the LLM side's wait, not the batch: batches that
	   follow one another do not reset it. */
	v.elapsed_s = 5;
	v.llm_waiting = 3;
	v.llm_wait_s = 600;
	assert_true(phase_time_up(&v));
	v.phase = PHASE_IDLE;
	v.stt_waiting = 40;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.llm_healthy = 0;
	v.phase = PHASE_STT;
	assert_false(phase_time_up(&v));
	/* Both sides waited max_phase_s: they take turns. */
	v.llm_healthy = 2;
	v.phase = PHASE_IDLE;
	v.stt_oldest_s = 700;
	v.last_work = PHASE_LLM;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	v.last_work = PHASE_STT;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
}

/* The lab: 30 uploads at once, against the targets of issue 11. */
static void
test_all_at_once(void **state)
{
	struct sim s;
	int n;

	sim_init(&s, 30, 0);
	sim_run(&s, 1000);
	report("30 at once", &s);
	assert_int_equal(s.done, 30);
	assert_true(sim_ideal(&s) == 71.25);
	assert_true(s.last_result <= 1.10 * sim_ideal(&s));
	assert_true(s.first_result <= 0.25 * s.last_result);
	/* Three phases, not six: one small first pair, then one of each. */
	assert_int_equal(s.llm_phases, 2);
	/* Whole classes of other sizes: no worse than 15 % over the bound
	   (a partly filled last round weighs more in a small class). */
	for (n = 20; n <= 60; n += 5) {
		char what[32];

		sim_init(&s, n, 0);
		sim_run(&s, 2000);
		snprintf(what, sizeof(what), "%d at once", n);
		report(what, &s);
		assert_int_equal(s.done, n);
		assert_true(s.last_result <= 1.15 * sim_ideal(&s));
		assert_true(s.first_result <= 0.25 * s.last_result);
	}
	/* As the benchmark sees it: 30 uploads stored over 4 s, each
	   prepared in 0.4 s on two media workers, first STT at the first
	   prepared file. */
	sim_init(&s, 30, 4.0 / 29);
	s.prep_s = 0.4;
	sim_run(&s, 1000);
	report("30 over 4 s, prepared", &s);
	assert_int_equal(s.done, 30);
	assert_true(s.last_result <= 1.10 * sim_ideal(&s));
	assert_true(s.first_result <= 0.25 * s.last_result);
	/* Uploads ready over the first 6 s (media preparation). */
	sim_init(&s, 30, 0.2);
	sim_run(&s, 1000);
	report("30 over 6 s", &s);
	assert_true(s.last_result - s.arrive[0] <= 1.10 * sim_ideal(&s));
	assert_true(s.first_result <= 0.25 * s.last_result);
}

/*
 * A steady stream (one upload every 3 s for two hours): both sides keep
 * running, and no side waits on the other much longer than max_phase_s
 * (plus the call in flight and a switch).
 */
static void
test_steady_stream_starves_neither(void **state)
{
	struct sim s;

	sim_init(&s, SIM_MAX, 3);
	s.max_phase_s = 30;
	sim_run(&s, SIM_MAX * 3 + 600);
	report("one every 3 s", &s);
	assert_int_equal(s.done, SIM_MAX);
	assert_true(s.stt_phases > 50 && s.llm_phases > 50);
	assert_true(sim_pct(&s, 0.95) < 30);
	/* Overloaded STT (one every 1.5 s, 2 s each) and 64 slots that never
	   fill: the LLM side still runs every max_phase_s. */
	sim_init(&s, SIM_MAX, 1.5);
	s.max_phase_s = 30;
	s.llm_cap = 64;
	sim_run(&s, 1e5);
	report("STT overloaded", &s);
	assert_int_equal(s.done, SIM_MAX);
	assert_true(s.llm_phases > SIM_MAX * 2 / 30 - 2);
	assert_true(s.llm_starved <= 30 + s.stt_s + 1e-6);
	/* Overloaded LLM (30 s calls on one slot): STT still runs. */
	sim_init(&s, 100, 3);
	s.max_phase_s = 30;
	s.llm_s = 30;
	s.llm_cap = 1;
	sim_run(&s, 1e5);
	report("LLM overloaded", &s);
	assert_int_equal(s.done, 100);
	assert_true(s.stt_phases >= 5);
	assert_true(s.stt_starved <= 30 + s.llm_s + s.load_s + 1e-6);
	assert_true(s.llm_starved <= 30 + s.stt_s + 1e-6);
}

/*
 * What a batch window buys: uploads seconds apart onto an idle node
 * (a small lab, one every 2.5 s). Printed with PHASE_SIM_VERBOSE; the
 * test only holds that a window never makes the class finish sooner
 * by more than a switch or two.
 */
static void
test_window_buys_little(void **state)
{
	static const double windows[] = { 0, 2, 5, 20 };
	double makespan[4];
	struct sim s;
	size_t i;

	for (i = 0; i < 4; i++) {
		char what[48];

		sim_init(&s, 12, 2.5);
		s.batch_window_s = windows[i];
		sim_run(&s, 1000);
		snprintf(what, sizeof(what), "12 every 2.5 s, window %.0f s",
		    windows[i]);
		report(what, &s);
		makespan[i] = s.last_result;
	}
	assert_true(makespan[0] <= makespan[1] + 2 * 1.6);
	assert_true(makespan[0] <= makespan[3]);
}

static void
test_eta_orders_the_queue(void **state)
{
	struct phase_rates r = { .stt_s = 10, .llm_s = 20, .switch_s = 2,
	    .stt_concurrency = 1, .llm_capacity = 8, .batch_max = 50 };
	struct phase_position p = { .in_stt = true, .ahead = 0,
	    .stt_queue = 5 };
	double first, fifth, eval;

	first = phase_eta(&r, PHASE_IDLE, 0, &p);
	p.ahead = 4;
	fifth = phase_eta(&r, PHASE_IDLE, 0, &p);
	assert_true(first >= 10 + 20);
	/* The whole STT run goes first, then one LLM phase: 5 x 10 s of
	   transcription, a switch and one round, for all five. */
	assert_true(fifth == 5 * 10 + 2 + 20);
	assert_true(first == fifth);
	/* Beyond the first round of the LLM phase, and beyond a run. */
	p.ahead = 11;
	p.stt_queue = 12;
	assert_true(phase_eta(&r, PHASE_IDLE, 0, &p) > fifth);
	p.ahead = 60;
	p.stt_queue = 70;
	assert_true(phase_eta(&r, PHASE_IDLE, 0, &p) > 500 + 20);
	p.ahead = 4;
	p.stt_queue = 5;
	/* A batch still collecting uploads adds what is left of its window. */
	p.window_left_s = 15;
	assert_true(phase_eta(&r, PHASE_IDLE, 0, &p) == fifth + 15);
	p.window_left_s = 0;
	/* Waiting for evaluation behind an STT phase pays what is left. */
	p.in_stt = false;
	p.ahead = 0;
	eval = phase_eta(&r, PHASE_STT, 30, &p);
	assert_true(eval >= 20 && eval < first + 100);
	/* A running evaluation half done needs about half its time. */
	p.processing = true;
	p.progress = 0.5;
	assert_true(phase_eta(&r, PHASE_LLM, 0, &p) == 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_waits_for_window_or_full),
		cmocka_unit_test(test_lone_upload_starts_at_once),
		cmocka_unit_test(test_stay_while_there_is_work),
		cmocka_unit_test(test_one_backend_down),
		cmocka_unit_test(test_stt_engine_down),
		cmocka_unit_test(test_max_phase_bounds_only_when_other_side_waits),
		cmocka_unit_test(test_all_at_once),
		cmocka_unit_test(test_steady_stream_starves_neither),
		cmocka_unit_test(test_window_buys_little),
		cmocka_unit_test(test_eta_orders_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
