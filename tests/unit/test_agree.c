/*
 * Unit tests for agree: quadratic-weighted kappa against values worked
 * out by hand, mean absolute error, standard deviation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agree.h"

static void
test_qwk(void **state)
{
	int a[] = { 1, 2, 3, 4, 5 }, b[] = { 1, 2, 3, 4, 5 };
	int c[] = { 5, 4, 3, 2, 1 };
	int x[] = { 1, 2, 3, 3, 4, 5, 5, 2 }, y[] = { 1, 3, 3, 2, 4, 4, 5, 2 };
	int same[] = { 3, 3, 3 };
	int off[] = { 4, 4, 4 }, mix[] = { 2, 3, 4 };

	(void)state;
	assert_true(fabs(agree_qwk(a, b, 5, 1, 5) - 1.0) < 1e-9);
	/* Reversed ratings: perfect disagreement, -1. */
	assert_true(fabs(agree_qwk(a, c, 5, 1, 5) + 1.0) < 1e-9);
	/*
	 * By hand: three pairs one apart, sum(w*O) = 3/16; the marginals
	 * (1,2,2,1,2) and (1,2,2,2,1) give sum(w*E) = 27/16: 1 - 3/27 = 8/9.
	 */
	assert_true(fabs(agree_qwk(x, y, 8, 1, 5) - 8.0 / 9.0) < 1e-9);
	assert_true(agree_qwk(same, same, 3, 1, 5) == 1.0);
	/* A constant rater against a varying one: 0, no better than chance. */
	assert_true(agree_qwk(off, mix, 3, 1, 5) == 0.0);
	assert_true(isnan(agree_qwk(a, b, 0, 1, 5)));
	assert_true(isnan(agree_qwk(a, b, 5, 1, 4)));	/* 5 is out */
	assert_true(isnan(agree_qwk(a, b, 5, 3, 3)));
}

static void
test_mae_stddev(void **state)
{
	int a[] = { 1, 2, 3, 4 }, b[] = { 2, 2, 5, 4 };
	double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };

	(void)state;
	assert_true(fabs(agree_mae(a, b, 4) - 0.75) < 1e-9);
	assert_true(isnan(agree_mae(a, b, 0)));
	assert_true(fabs(agree_stddev(v, 8) - 2.0) < 1e-9);
	assert_true(agree_stddev(v, 1) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qwk),
		cmocka_unit_test(test_mae_stddev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
