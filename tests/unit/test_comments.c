/* Unit tests for comments: how a typed moment is read (seconds or m:ss). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "comments.h"

static void
test_parse_time_accepts(void **state)
{
	static const struct { const char *in; double want; } ok[] = {
		{ "0", 0 }, { "75", 75 }, { "75.5", 75.5 }, { " 12 ", 12 },
		{ "12.", 12 }, { "1:15", 75 }, { "1:15.5", 75.5 },
		{ "0:03", 3 }, { "10:00", 600 }, { "2:5", 125 },
	};
	double v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		assert_true(comments_parse_time(ok[i].in, &v));
		assert_float_equal(v, ok[i].want, 1e-9);
	}
}

static void
test_parse_time_refuses(void **state)
{
	static const char *const bad[] = {
		"", " ", "-1", "-0:05", "1:60", "1:75", "abc", "1e3", "inf",
		"nan", "0x10", ".5", "1:2:3", "1.5:10", ":30", "1:", "12 s",
		"1234567890",
	};
	double v = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(comments_parse_time(bad[i], &v));
		assert_float_equal(v, 42, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time_accepts),
		cmocka_unit_test(test_parse_time_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
