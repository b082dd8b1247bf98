/*
 * Unit tests for phase: the controller's decisions on a fake clock.
 * Simulates a node over time (uploads arriving, phases taking turns) and
 * checks the rules: batches wait for their window or fill up, both sides
 * alternate, max_phase_s bounds a phase, an unhealthy side is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "phase.h"

static struct phase_view base(void);

static struct phase_view
base(void)
{
	struct phase_view v = {
		.phase = PHASE_IDLE, .last_work = PHASE_LLM,
		.stt_available = true, .llm_healthy = 2,
		.batch_max = 10, .batch_window_s = 20, .max_phase_s = 600,
	};
	return v;
}

static void
test_batch_waits_for_window_or_full(void **state)
{
	struct phase_view v = base();

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

static void
test_alternates_when_both_have_work(void **state)
{
	struct phase_view v = base();

	v.stt_waiting = 10;
	v.llm_waiting = 4;
	v.last_work = PHASE_STT;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.last_work = PHASE_LLM;
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
}

static void
test_unhealthy_side_is_skipped(void **state)
{
	struct phase_view v = base();

	v.stt_waiting = 10;
	v.llm_waiting = 4;
	v.last_work = PHASE_STT;
	v.llm_healthy = 0;	/* no backend: STT goes on */
	assert_int_equal(phase_next(&v), PHASE_RUN_STT);
	v.llm_healthy = 1;
	v.stt_available = false;	/* no STT: evaluation goes on */
	v.last_work = PHASE_LLM;
	assert_int_equal(phase_next(&v), PHASE_RUN_LLM);
	v.llm_waiting = 0;
	assert_int_equal(phase_next(&v), PHASE_WAIT);
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
	v.llm_healthy = 0;
	assert_false(phase_time_up(&v));
}

/*
 * A steady stream of uploads (one every 3 s) against 12 s transcriptions
 * and evaluations: over simulated hours both phases keep running and no
 * evaluation waits longer than two phase lengths.
 */
static void
test_steady_stream_starves_neither(void **state)
{
	struct phase_view v = base();
	double t = 0, stt_turns = 0, llm_turns = 0, longest_llm_wait = 0;
	double llm_wait_since = -1;
	int arrivals = 0, stt_q = 0, llm_q = 0;

	v.max_phase_s = 120;
	while (t < 4 * 3600) {
		enum phase_action a;
		double dt = 0;

		while (arrivals * 3.0 <= t) {
			arrivals++;
			stt_q++;
		}
		v.stt_waiting = stt_q;
		v.stt_oldest_s = stt_q > 0 ? 20 : 0;
		v.llm_waiting = llm_q;
		a = phase_next(&v);
		if (a == PHASE_RUN_STT) {
			int n = stt_q < v.batch_max ? stt_q : v.batch_max;

			stt_turns++;
			stt_q -= n;
			llm_q += n;
			dt = n * 12.0;
			v.last_work = PHASE_STT;
			if (llm_wait_since < 0)
				llm_wait_since = t;
		} else if (a == PHASE_RUN_LLM) {
			llm_turns++;
			if (t - llm_wait_since > longest_llm_wait)
				longest_llm_wait = t - llm_wait_since;
			llm_wait_since = -1;
			/* Two backends, 4 slots each; max_phase_s bounds it. */
			dt = (llm_q + 7) / 8 * 12.0;
			if (dt > v.max_phase_s)
				dt = v.max_phase_s;
			llm_q -= (int)(dt / 12.0) * 8;
			if (llm_q < 0)
				llm_q = 0;
			v.last_work = PHASE_LLM;
		} else
			dt = 1;
		t += dt;
	}
	assert_true(stt_turns > 50);
	assert_true(llm_turns > 50);
	assert_true(longest_llm_wait <= 10 * 12.0 + 1);
}

static void
test_eta_orders_the_queue(void **state)
{
	struct phase_rates r = { .stt_s = 10, .llm_s = 20, .switch_s = 2,
	    .stt_concurrency = 1, .llm_capacity = 8, .batch_max = 10 };
	struct phase_position p = { .in_stt = true, .ahead = 0 };
	double first, fifth, eval;

	first = phase_eta(&r, PHASE_IDLE, 0, &p);
	p.ahead = 4;
	fifth = phase_eta(&r, PHASE_IDLE, 0, &p);
	assert_true(first >= 10 + 20);
	assert_true(fifth > first);
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
		cmocka_unit_test(test_alternates_when_both_have_work),
		cmocka_unit_test(test_unhealthy_side_is_skipped),
		cmocka_unit_test(test_max_phase_bounds_only_when_other_side_waits),
		cmocka_unit_test(test_steady_stream_starves_neither),
		cmocka_unit_test(test_eta_orders_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
