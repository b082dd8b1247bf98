/*
 * Unit tests for the pool's tuning parts on a fake clock: the AIMD
 * concurrency controller (latency rising -> limit falls; errors -> falls;
 * 429/503 -> falls at once, once per burst; recovery -> rises; never
 * outside min/max; an unused limit is not raised) and the token bucket
 * (burst, refill, waiting, settling an estimate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "aimd.h"
#include "bucket.h"

static void	 feed(struct aimd *, double *, int, double, bool, bool);

/* n calls, each latency_s long, one after another on the fake clock. */
static void
feed(struct aimd *a, double *now, int n, double latency_s, bool ok,
    bool saturated)
{
	int i;

	for (i = 0; i < n; i++) {
		*now += latency_s;
		aimd_sample(a, *now, latency_s, ok, false, saturated);
	}
}

static struct aimd_cfg
cfg_2_6(void)
{
	struct aimd_cfg c;

	memset(&c, 0, sizeof(c));
	c.min = 2;
	c.max = 6;
	c.target_p95_s = 2.5;
	c.target_error_rate = 0.03;
	c.window = 10;
	return c;
}

static void
test_rises_while_within_target(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;

	(void)state;
	aimd_init(&a, &c, now);
	assert_int_equal(aimd_limit(&a), 2);
	feed(&a, &now, 9, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 2);	/* not a whole window yet */
	feed(&a, &now, 1, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 3);
	assert_non_null(strstr(aimd_why(&a), "within target"));
	feed(&a, &now, 100, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 6);	/* never above max */
}

static void
test_unused_limit_not_raised(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;

	(void)state;
	aimd_init(&a, &c, now);
	feed(&a, &now, 50, 0.5, true, false);
	assert_int_equal(aimd_limit(&a), 2);
}

static void
test_latency_rising_lowers(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;

	(void)state;
	aimd_init(&a, &c, now);
	feed(&a, &now, 40, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 6);
	/* One slow call in ten is the p95 at ten samples. */
	feed(&a, &now, 9, 1.0, true, true);
	feed(&a, &now, 1, 4.0, true, true);
	assert_int_equal(aimd_limit(&a), 4);	/* floor(6 * 0.7) */
	assert_non_null(strstr(aimd_why(&a), "p95 latency 4000 ms"));
	feed(&a, &now, 10, 3.0, true, true);
	assert_int_equal(aimd_limit(&a), 2);
	feed(&a, &now, 50, 3.0, true, true);
	assert_int_equal(aimd_limit(&a), 2);	/* never below min */
	/* Recovery: back under the target, it climbs again. */
	feed(&a, &now, 10, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 3);
}

/* 2.2 s at 5 calls might be 2.64 s at 6: above 2.5, so it stays. */
static void
test_no_raise_into_the_target(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;

	(void)state;
	aimd_init(&a, &c, now);
	feed(&a, &now, 10, 1.0, true, true);
	feed(&a, &now, 10, 1.4, true, true);
	feed(&a, &now, 10, 1.8, true, true);
	assert_int_equal(aimd_limit(&a), 5);
	feed(&a, &now, 100, 2.2, true, true);
	assert_int_equal(aimd_limit(&a), 5);
}

static void
test_errors_lower(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;

	(void)state;
	aimd_init(&a, &c, now);
	feed(&a, &now, 40, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 6);
	feed(&a, &now, 9, 1.0, true, true);
	feed(&a, &now, 1, 1.0, false, true);	/* 10% > 3% */
	assert_int_equal(aimd_limit(&a), 4);
	assert_non_null(strstr(aimd_why(&a), "error rate 10%"));
}

static void
test_busy_answers_lower_once(void **state)
{
	struct aimd_cfg c = cfg_2_6();
	struct aimd a;
	double now = 0;
	int i;

	(void)state;
	aimd_init(&a, &c, now);
	feed(&a, &now, 40, 1.0, true, true);
	assert_int_equal(aimd_limit(&a), 6);
	/* Six calls sent together all come back 429 at about once. */
	now += 1.0;
	assert_int_equal(aimd_sample(&a, now, 1.0, false, true, true),
	    AIMD_DOWN);
	for (i = 0; i < 5; i++)
		assert_int_equal(aimd_sample(&a, now + 0.01 * i, 1.0, false,
		    true, true), AIMD_SAME);
	assert_int_equal(aimd_limit(&a), 4);
	assert_non_null(strstr(aimd_why(&a), "429/503"));
	/* The next busy answer, from a call sent under 4, lowers again. */
	now += 2.0;
	assert_int_equal(aimd_sample(&a, now, 1.0, false, true, true),
	    AIMD_DOWN);
	assert_int_equal(aimd_limit(&a), 2);
	now += 2.0;
	assert_int_equal(aimd_sample(&a, now, 1.0, false, true, true),
	    AIMD_SAME);
	assert_int_equal(aimd_limit(&a), 2);
}

static void
test_bad_config_clamped(void **state)
{
	struct aimd_cfg c;
	struct aimd a;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.min = 0;
	c.max = -3;
	c.target_p95_s = 1;
	aimd_init(&a, &c, 0);
	assert_int_equal(aimd_limit(&a), 1);
	assert_int_equal(a.cfg.max, 1);
	assert_int_equal(a.cfg.window, 10);
}

static void
test_bucket(void **state)
{
	struct bucket b;

	(void)state;
	/* 60 a minute, burst 5: five at once, then one a second. */
	bucket_init(&b, 60, 5, 100);
	assert_true(bucket_limited(&b));
	for (int i = 0; i < 5; i++) {
		assert_true(bucket_wait(&b, 100, 1) == 0);
		bucket_take(&b, 100, 1);
	}
	assert_true(bucket_wait(&b, 100, 1) > 0.99 &&
	    bucket_wait(&b, 100, 1) < 1.01);
	assert_true(bucket_wait(&b, 100.5, 1) > 0.49 &&
	    bucket_wait(&b, 100.5, 1) < 0.51);
	assert_true(bucket_wait(&b, 101, 1) == 0);
	/* Never more than the burst, however long it rested. */
	assert_true(bucket_level(&b, 10000) == 5);
	/* An estimate settled after the call: below zero waits longer. */
	bucket_take(&b, 10000, 8);
	assert_true(bucket_wait(&b, 10000, 1) > 3.99 &&
	    bucket_wait(&b, 10000, 1) < 4.01);
	bucket_take(&b, 10000, -8);	/* it used nothing after all */
	assert_true(bucket_wait(&b, 10000, 1) == 0);
	/* A call bigger than the burst waits for a full bucket only. */
	bucket_take(&b, 10000, 5);
	assert_true(bucket_wait(&b, 10000, 50) > 4.99 &&
	    bucket_wait(&b, 10000, 50) < 5.01);
	/* No rate: no limit. */
	bucket_init(&b, 0, 0, 0);
	assert_false(bucket_limited(&b));
	bucket_take(&b, 0, 1000);
	assert_true(bucket_wait(&b, 0, 1000) == 0);
	/* Default burst: a sixth of a minute's worth, at least one. */
	bucket_init(&b, 3, 0, 0);
	assert_true(bucket_level(&b, 0) == 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rises_while_within_target),
		cmocka_unit_test(test_unused_limit_not_raised),
		cmocka_unit_test(test_latency_rising_lowers),
		cmocka_unit_test(test_no_raise_into_the_target),
		cmocka_unit_test(test_errors_lower),
		cmocka_unit_test(test_busy_answers_lower_once),
		cmocka_unit_test(test_bad_config_clamped),
		cmocka_unit_test(test_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
