/*
 * Unit tests for ndjson: whole input, byte-by-byte and random splits
 * (fixed seed) must give the same values; malformed, invalid UTF-8 and
 * over-long lines are errors; a callback can stop the parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ndjson.h"
#include "util.h"

/* Mixed endings, blank lines, and multi-byte UTF-8 to be split. */
static const char SAMPLE[] =
    "{\"model\":\"llama3\",\"response\":\"Hi \xc3\xa9t\xc3\xa9\",\"done\":false}\n"
    "\n"
    "{\"response\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xa4\",\"done\":false}\r\n"
    "   \r\n"
    "[1,2,3]\n"
    "\"just a string\"\n"
    "{\"done\":true,\"eval_count\":12}\n";

struct collect {
	json_t	*values;
	int	 stop_at;	/* refuse the value with this index, -1: never */
};

static bool	collect_cb(json_t *, void *, char *, size_t);
static json_t	*expected_sample(void);
static json_t	*parse_with_splits(const char *, size_t, const size_t *,
		    size_t);
static uint32_t	 lcg(uint32_t *);

static bool
collect_cb(json_t *v, void *arg, char *err, size_t errlen)
{
	struct collect *c = arg;

	if ((int)json_array_size(c->values) == c->stop_at)
		return util_seterr(err, errlen, "stopped at value %d",
		    c->stop_at);
	json_array_append(c->values, v);
	return true;
}

static json_t *
expected_sample(void)
{
	json_t *a = json_array();

	json_array_append_new(a, json_pack("{s:s,s:s,s:b}", "model", "llama3",
	    "response", "Hi \xc3\xa9t\xc3\xa9", "done", 0));
	json_array_append_new(a, json_pack("{s:s,s:b}", "response",
	    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xa4", "done", 0));
	json_array_append_new(a, json_pack("[i,i,i]", 1, 2, 3));
	json_array_append_new(a, json_string("just a string"));
	json_array_append_new(a, json_pack("{s:b,s:i}", "done", 1,
	    "eval_count", 12));
	return a;
}

/* Feeds s in pieces of the given sizes (cycled), then finishes. */
static json_t *
parse_with_splits(const char *s, size_t len, const size_t *sizes,
    size_t nsizes)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];
	size_t off = 0, i = 0, n;

	while (off < len) {
		n = sizes[i++ % nsizes];
		if (n > len - off)
			n = len - off;
		assert_true(ndjson_feed(p, s + off, n, err, sizeof(err)));
		off += n;
	}
	assert_true(ndjson_finish(p, err, sizeof(err)));
	assert_int_equal(ndjson_pending(p), 0);
	assert_int_equal(ndjson_lines(p), json_array_size(c.values));
	ndjson_free(p);
	return c.values;
}

static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void
test_whole(void **state)
{
	size_t one = sizeof(SAMPLE) - 1;
	json_t *got = parse_with_splits(SAMPLE, one, &one, 1);
	json_t *want = expected_sample();

	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
}

static void
test_byte_by_byte(void **state)
{
	size_t one = 1;
	json_t *got = parse_with_splits(SAMPLE, sizeof(SAMPLE) - 1, &one, 1);
	json_t *want = expected_sample();

	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
}

static void
test_random_splits(void **state)
{
	json_t *want = expected_sample(), *got;
	uint32_t seed = 42;
	size_t sizes[16], round, i;

	for (round = 0; round < 300; round++) {
		for (i = 0; i < ARRAY_LEN(sizes); i++)
			sizes[i] = 1 + lcg(&seed) % 23;
		got = parse_with_splits(SAMPLE, sizeof(SAMPLE) - 1, sizes,
		    ARRAY_LEN(sizes));
		assert_true(json_equal(got, want));
		json_decref(got);
	}
	json_decref(want);
}

static void
test_finish_last_line(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];
	const char *s = "{\"a\":1}\n{\"b\":\"\xc3\xa9\"}";

	assert_true(ndjson_feed(p, s, strlen(s), err, sizeof(err)));
	assert_int_equal(json_array_size(c.values), 1);
	assert_true(ndjson_pending(p) > 0);
	assert_true(ndjson_finish(p, err, sizeof(err)));
	assert_int_equal(json_array_size(c.values), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(c.values, 1), "b")), "\xc3\xa9");
	/* Finishing twice, or with only blanks pending, adds nothing. */
	assert_true(ndjson_finish(p, err, sizeof(err)));
	assert_true(ndjson_feed(p, " \r", 2, err, sizeof(err)));
	assert_true(ndjson_finish(p, err, sizeof(err)));
	assert_int_equal(json_array_size(c.values), 2);
	ndjson_free(p);
	json_decref(c.values);
}

static void
test_malformed_line(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];
	const char *s = "{\"a\":1}\n<html>502 Bad Gateway</html>\n{\"b\":2}\n";

	assert_false(ndjson_feed(p, s, strlen(s), err, sizeof(err)));
	assert_non_null(strstr(err, "line 2 is not JSON"));
	assert_non_null(strstr(err, "<html>502"));
	assert_int_equal(json_array_size(c.values), 1);
	/* The parser stays failed. */
	assert_false(ndjson_feed(p, "{}\n", 3, err, sizeof(err)));
	assert_false(ndjson_finish(p, err, sizeof(err)));
	ndjson_free(p);
	json_decref(c.values);
}

static void
test_malformed_split_and_final(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];
	const char *s = "{\"done\":fal";

	/* A line cut short and never completed fails at finish. */
	assert_true(ndjson_feed(p, s, strlen(s), err, sizeof(err)));
	assert_false(ndjson_finish(p, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1 is not JSON"));
	assert_int_equal(json_array_size(c.values), 0);
	ndjson_free(p);

	/* Split inside a malformed line: the error comes at the newline. */
	p = ndjson_new(0, collect_cb, &c);
	assert_true(ndjson_feed(p, "{\"x\":", 5, err, sizeof(err)));
	assert_false(ndjson_feed(p, "}\n", 2, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1 is not JSON"));
	ndjson_free(p);
	json_decref(c.values);
}

static void
test_invalid_utf8(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];
	const char s[] = "{\"r\":\"\xc3\"}\n";

	assert_false(ndjson_feed(p, s, sizeof(s) - 1, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON"));
	ndjson_free(p);
	json_decref(c.values);
}

static void
test_overlong_line(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p;
	char err[256], line[128];

	/* Exactly at the cap, with \r\n: fine. */
	memset(line, ' ', sizeof(line));
	line[0] = '"';
	line[99] = '"';
	line[100] = '\r';
	line[101] = '\n';
	p = ndjson_new(100, collect_cb, &c);
	assert_true(ndjson_feed(p, line, 102, err, sizeof(err)));
	assert_int_equal(json_array_size(c.values), 1);
	ndjson_free(p);

	/* One byte more, fed in one piece as a complete line. */
	memmove(line + 1, line, 102);
	line[0] = ' ';
	p = ndjson_new(100, collect_cb, &c);
	assert_false(ndjson_feed(p, line, 103, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than 100 bytes"));
	ndjson_free(p);

	/* No newline ever: caught while buffering, byte by byte. */
	p = ndjson_new(100, collect_cb, &c);
	memset(line, 'x', sizeof(line));
	{
		size_t i;
		bool ok = true;

		for (i = 0; i < sizeof(line) && ok; i++)
			ok = ndjson_feed(p, line + i, 1, err, sizeof(err));
		assert_false(ok);
		assert_true(i <= 103);
	}
	assert_non_null(strstr(err, "line 1 is longer than 100 bytes"));
	ndjson_free(p);
	json_decref(c.values);
}

static void
test_default_cap(void **state)
{
	struct collect c = { json_array(), -1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	size_t big = NDJSON_DEFAULT_MAX_LINE - 16;
	char *s = xmalloc(NDJSON_DEFAULT_MAX_LINE + 64), err[256];

	/* Just under 1 MiB parses, in 4 KiB pieces. */
	memset(s, 'a', big);
	s[0] = '"';
	s[big - 1] = '"';
	s[big] = '\n';
	{
		size_t four = 4096;
		json_t *got = parse_with_splits(s, big + 1, &four, 1);

		assert_int_equal(json_array_size(got), 1);
		assert_int_equal(json_string_length(json_array_get(got, 0)),
		    big - 2);
		json_decref(got);
	}
	/* Over 1 MiB does not. */
	memset(s, 'a', NDJSON_DEFAULT_MAX_LINE + 64);
	assert_false(ndjson_feed(p, s, NDJSON_DEFAULT_MAX_LINE + 64, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "longer than"));
	ndjson_free(p);
	free(s);
	json_decref(c.values);
}

static void
test_callback_stops(void **state)
{
	struct collect c = { json_array(), 1 };
	struct ndjson *p = ndjson_new(0, collect_cb, &c);
	char err[256];

	assert_false(ndjson_feed(p, SAMPLE, sizeof(SAMPLE) - 1, err,
	    sizeof(err)));
	assert_string_equal(err, "stopped at value 1");
	assert_int_equal(json_array_size(c.values), 1);
	ndjson_free(p);
	json_decref(c.values);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_finish_last_line),
		cmocka_unit_test(test_malformed_line),
		cmocka_unit_test(test_malformed_split_and_final),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_overlong_line),
		cmocka_unit_test(test_default_cap),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
