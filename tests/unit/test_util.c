/* util: the ISO 8601 times every JSON answer uses (util_iso8601). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void
test_iso8601_utc(void **state)
{
	char buf[32];

	(void)state;
	util_iso8601(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* 2026-12-06 02:00:00 UTC, and half a second rounds up. */
	util_iso8601(1796522400.0, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-06T02:00:00Z");
	util_iso8601(1796522400.5, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-06T02:00:01Z");
}

static void
test_iso8601_short_buffer(void **state)
{
	char buf[8] = "xxxxxxx";

	(void)state;
	/* Too small for the whole time: empty, never a cut-off time. */
	util_iso8601(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso8601_utc),
		cmocka_unit_test(test_iso8601_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
