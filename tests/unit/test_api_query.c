/*
 * Unit tests for api_query, the API lists' query parameters: ids,
 * enumerated words, ISO 8601 times (normalised for PostgreSQL, and days
 * that do not exist refused), limit and the opaque cursor (a round trip,
 * and anything else refused), each refusal naming its parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "api_query.h"

static void
test_ids(void **state)
{
	struct api_bad bad;
	long long id;

	(void)state;
	assert_true(api_query_id("a=1&course_id=42", "course_id", &id, &bad));
	assert_int_equal(id, 42);
	assert_true(api_query_id("a=1", "course_id", &id, &bad));
	assert_int_equal(id, 0);
	assert_true(api_query_id(NULL, "course_id", &id, &bad));
	assert_true(api_query_id("course_id=", "course_id", &id, &bad));
	assert_int_equal(id, 0);
	/* A longer name that starts the same is another parameter. */
	assert_true(api_query_id("course_idx=7", "course_id", &id, &bad));
	assert_int_equal(id, 0);
	assert_false(api_query_id("course_id=abc", "course_id", &id, &bad));
	assert_string_equal(bad.field, "course_id");
	assert_false(api_query_id("x=1&student_id=0", "student_id", &id,
	    &bad));
	assert_string_equal(bad.field, "student_id");
	assert_false(api_query_id("student_id=-4", "student_id", &id, &bad));
	assert_false(api_query_id("student_id=1234567890123456",
	    "student_id", &id, &bad));
}

static void
test_words_and_text(void **state)
{
	static const char *const st[] = { "pending", "failed", NULL };
	char out[16], longq[700];
	struct api_bad bad;
	bool present;

	(void)state;
	assert_true(api_query_word("status=failed", "status", st, out,
	    sizeof(out), &bad));
	assert_string_equal(out, "failed");
	assert_true(api_query_word("", "status", st, out, sizeof(out), &bad));
	assert_string_equal(out, "");
	assert_false(api_query_word("status=done", "status", st, out,
	    sizeof(out), &bad));
	assert_string_equal(bad.field, "status");
	assert_non_null(strstr(bad.msg, "pending, failed"));
	assert_true(api_query_text("q=Ann%20Lee", "q", out, sizeof(out),
	    &present, &bad));
	assert_true(present);
	assert_string_equal(out, "Ann Lee");
	assert_false(api_query_text("q=aaaaaaaaaaaaaaaaaaaa", "q", out,
	    sizeof(out), &present, &bad));
	assert_string_equal(bad.field, "q");
	memset(longq, 'a', sizeof(longq) - 1);
	memcpy(longq, "q=", 2);
	longq[sizeof(longq) - 1] = '\0';
	assert_false(api_query_text(longq, "q", out, sizeof(out), &present,
	    &bad));
}

static void
test_times(void **state)
{
	char out[API_TIME_LEN];
	struct api_bad bad;
	size_t i;
	static const char *const good[][2] = {
		{ "2026-12-06", "2026-12-06T00:00:00Z" },
		{ "2026-12-06T14:30", "2026-12-06T14:30Z" },
		{ "2026-12-06T14:30:05Z", "2026-12-06T14:30:05Z" },
		{ "2026-12-06 14:30:05.123456+01:00",
		    "2026-12-06T14:30:05.123456+01:00" },
		{ "2024-02-29T00:00:00-0530", "2024-02-29T00:00:00-0530" },
	};
	static const char *const bad_times[] = { "", "yesterday",
	    "2026-02-30", "2025-02-29", "2026-13-01", "2026-12-06T24:00",
	    "2026-12-06T10:60", "2026-12-06T10:00:00.1234567Z",
	    "2026-12-06T10:00+25:00", "2026-12-06T10:00Zulu", "1969-12-31",
	    "2026-12-06T10:00:00Z; DROP TABLE users" };

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(api_time_parse(good[i][0], out));
		assert_string_equal(out, good[i][1]);
	}
	for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
		assert_false(api_time_parse(bad_times[i], out));
	assert_true(api_query_time("since=2026-12-06T10%3A00%2B01%3A00",
	    "since", out, &bad));
	assert_string_equal(out, "2026-12-06T10:00+01:00");
	assert_false(api_query_time("until=2026-02-30", "until", out, &bad));
	assert_string_equal(bad.field, "until");
}

static void
test_page_and_cursor(void **state)
{
	char c[API_CURSOR_LEN], q[128];
	struct api_page pg;
	struct api_bad bad;
	long long us, id;

	(void)state;
	assert_true(api_query_page(NULL, 50, 200, &pg, &bad));
	assert_int_equal(pg.limit, 50);
	assert_false(pg.after);
	assert_true(api_query_page("limit=200", 50, 200, &pg, &bad));
	assert_int_equal(pg.limit, 200);
	assert_false(api_query_page("limit=201", 50, 200, &pg, &bad));
	assert_string_equal(bad.field, "limit");
	assert_false(api_query_page("limit=0", 50, 200, &pg, &bad));
	assert_false(api_query_page("limit=1e2", 50, 200, &pg, &bad));
	api_cursor_encode(1796000000123456LL, 9876, c);
	assert_null(strpbrk(c, "+/=&%"));	/* safe in a query as it is */
	assert_true(api_cursor_decode(c, &us, &id));
	assert_int_equal(us, 1796000000123456LL);
	assert_int_equal(id, 9876);
	snprintf(q, sizeof(q), "limit=3&cursor=%s", c);
	assert_true(api_query_page(q, 50, 200, &pg, &bad));
	assert_true(pg.after);
	assert_int_equal(pg.after_id, 9876);
	assert_int_equal(pg.limit, 3);
	assert_false(api_query_page("cursor=not-a-cursor", 50, 200, &pg,
	    &bad));
	assert_string_equal(bad.field, "cursor");
	assert_false(api_cursor_decode("MTIz", &us, &id));	/* "123" */
	assert_false(api_cursor_decode("MS4w", &us, &id));	/* "1.0" */
	assert_false(api_cursor_decode("", &us, &id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_words_and_text),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_page_and_cursor),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
