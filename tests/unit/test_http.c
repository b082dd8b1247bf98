/*
 * http's pure parts: the one shape of an API error (http_error_body,
 * http_status_code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "http.h"

/* The body as compact JSON with sorted keys, freed by the caller. */
static char *
dump(json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(body);
	assert_non_null(s);
	return s;
}

static void
test_every_status_has_a_code(void **state)
{
	static const struct { int status; const char *code; } want[] = {
		{ 400, "bad_request" }, { 401, "unauthenticated" },
		{ 403, "forbidden" }, { 404, "not_found" },
		{ 405, "method_not_allowed" }, { 409, "conflict" },
		{ 410, "gone" }, { 413, "too_large" },
		{ 415, "unsupported_media_type" }, { 422, "invalid" },
		{ 423, "locked" }, { 429, "rate_limited" },
		{ 500, "internal" }, { 503, "unavailable" },
		{ 507, "insufficient_storage" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(http_status_code(want[i].status),
		    want[i].code);
	/* A status without a name of its own falls back by its class. */
	assert_string_equal(http_status_code(418), "bad_request");
	assert_string_equal(http_status_code(599), "internal");
}

static void
test_body_shape(void **state)
{
	char *s;

	(void)state;
	s = dump(http_error_body(404, NULL, NULL, "no such submission"));
	assert_string_equal(s, "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no such submission\"}}");
	free(s);
	s = dump(http_error_body(422, "invalid", "title", "the title is "
	    "empty"));
	assert_string_equal(s, "{\"error\":{\"code\":\"invalid\",\"field\":"
	    "\"title\",\"message\":\"the title is empty\"}}");
	free(s);
	s = dump(http_error_body(503, HTTP_DB_CODE, NULL, "down"));
	assert_string_equal(s, "{\"error\":{\"code\":"
	    "\"database_unavailable\",\"message\":\"down\"}}");
	free(s);
}

static void
test_words_that_are_not_utf8_still_make_an_error(void **state)
{
	json_t *body, *e;

	(void)state;
	body = http_error_body(400, NULL, "name", "bad \xff byte");
	e = json_object_get(body, "error");
	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "code")),
	    "internal");
	assert_non_null(json_string_value(json_object_get(e, "message")));
	assert_string_equal(json_string_value(json_object_get(e, "field")),
	    "name");
	json_decref(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_status_has_a_code),
		cmocka_unit_test(test_body_shape),
		cmocka_unit_test(test_words_that_are_not_utf8_still_make_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
