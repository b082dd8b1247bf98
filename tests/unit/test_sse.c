/*
 * Unit tests for sse, and for llm's stream handlers fed through the two
 * parsers (llm_impl.h): whole input, byte by byte and random splits
 * (fixed seed) must give the same events and the same answer; "\n",
 * "\r\n" and "\r" endings, a byte-order mark, comments, multi-line data,
 * an error object mid-stream (OpenAI's data: {"error"} and llama.cpp's
 * error: field, Ollama's {"error"} line), a cut connection (no final
 * blank line, no finish_reason), a body that is not an event stream or
 * not JSON, over-long events, and a callback that stops the parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "llm.h"
#include "llm_impl.h"
#include "ndjson.h"
#include "sse.h"
#include "util.h"

/* Every line ending, a BOM, comments, ids, multi-line data, event types. */
static const char SAMPLE[] =
    "\xef\xbb\xbf: a comment first\n"
    "retry: 1000\n"
    "data: {\"a\":1}\n"
    "\n"
    "id: 7\r\n"
    "data: line one\r\n"
    "data:line two\r\n"
    "\r\n"
    "event: ping\r"
    "data\r"
    "\r"
    "data: caf\xc3\xa9 \xf0\x9f\x8e\xa4\n"
    ": keep-alive\n"
    "\n"
    "\n"
    "unknown: ignored\n"
    "error: {\"message\":\"boom\"}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

struct collect {
	json_t	*events;	/* [[type, data], ...] */
	int	 stop_at;	/* refuse the event with this index; -1: never */
};

static bool	 collect_cb(const char *, const char *, size_t, void *, char *,
		    size_t);
static json_t	*expected_sample(void);
static json_t	*parse_splits(const char *, size_t, const size_t *, size_t,
		    bool *);
static uint32_t	 lcg(uint32_t *);
static void	 random_sizes(uint32_t *, size_t *, size_t, size_t);
static struct llm_call *fake_call(const struct llm_backend *, bool);
static bool	 feed_call(struct llm_call *, const char *, const size_t *,
		    size_t, char *, size_t);
static void	 free_call(struct llm_call *);

static const struct llm_backend openai_be = { .name = "oa", .type =
    "openai", .url = "http://x", .model = "m" };
static const struct llm_backend ollama_be = { .name = "ol", .type =
    "ollama", .url = "http://x", .model = "m" };

static bool
collect_cb(const char *event, const char *data, size_t len, void *arg,
    char *err, size_t errlen)
{
	struct collect *c = arg;

	if ((int)json_array_size(c->events) == c->stop_at)
		return util_seterr(err, errlen, "stopped at %d", c->stop_at);
	assert_int_equal(strlen(data), len);
	json_array_append_new(c->events, json_pack("[s,s%]", event, data,
	    len));
	return true;
}

static json_t *
expected_sample(void)
{
	return json_pack("[[s,s],[s,s],[s,s],[s,s],[s,s],[s,s]]",
	    "message", "{\"a\":1}",
	    "message", "line one\nline two",
	    "ping", "",
	    "message", "caf\xc3\xa9 \xf0\x9f\x8e\xa4",
	    "error", "{\"message\":\"boom\"}",
	    "message", "[DONE]");
}

/* Feeds s in pieces of the given sizes (cycled), then finishes. */
static json_t *
parse_splits(const char *s, size_t len, const size_t *sizes, size_t nsizes,
    bool *pending)
{
	struct collect c = { json_array(), -1 };
	struct sse *p = sse_new(0, collect_cb, &c);
	char err[256];
	size_t off = 0, i = 0, n;

	while (off < len) {
		n = sizes[i++ % nsizes];
		if (n > len - off)
			n = len - off;
		if (!sse_feed(p, s + off, n, err, sizeof(err)))
			fail_msg("sse_feed: %s", err);
		off += n;
	}
	assert_true(sse_finish(p, pending, err, sizeof(err)));
	assert_int_equal(sse_events(p), json_array_size(c.events));
	sse_free(p);
	return c.events;
}

static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static void
random_sizes(uint32_t *seed, size_t *sizes, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n; i++)
		sizes[i] = 1 + lcg(seed) % max;
}

static void
test_whole_bytes_and_splits(void **state)
{
	json_t *want = expected_sample(), *got;
	size_t whole = sizeof(SAMPLE) - 1, one = 1, sizes[16], round;
	uint32_t seed = 7;
	bool pending;

	got = parse_splits(SAMPLE, whole, &whole, 1, &pending);
	assert_true(json_equal(got, want));
	assert_false(pending);
	json_decref(got);
	got = parse_splits(SAMPLE, whole, &one, 1, &pending);
	assert_true(json_equal(got, want));
	json_decref(got);
	for (round = 0; round < 300; round++) {
		random_sizes(&seed, sizes, ARRAY_LEN(sizes), 17);
		got = parse_splits(SAMPLE, whole, sizes, ARRAY_LEN(sizes),
		    &pending);
		if (!json_equal(got, want))
			fail_msg("round %zu differs", round);
		json_decref(got);
	}
	json_decref(want);
}

/* "\r" at the end of one chunk and "\n" at the start of the next. */
static void
test_crlf_split(void **state)
{
	struct collect c = { json_array(), -1 };
	struct sse *p = sse_new(0, collect_cb, &c);
	char err[256];

	assert_true(sse_feed(p, "data: x\r", 8, err, sizeof(err)));
	assert_true(sse_feed(p, "\n\r", 2, err, sizeof(err)));
	assert_int_equal(json_array_size(c.events), 1);
	assert_true(sse_feed(p, "\ndata: y\r\r", 10, err, sizeof(err)));
	assert_int_equal(json_array_size(c.events), 2);
	assert_string_equal(json_string_value(json_array_get(json_array_get(
	    c.events, 1), 1)), "y");
	sse_free(p);
	json_decref(c.events);
}

/* A connection cut mid-event: the event is not dispatched. */
static void
test_cut_event_discarded(void **state)
{
	static const char s[] = "data: {\"a\":1}\n\ndata: {\"b\":";
	size_t one = 1;
	bool pending;
	json_t *got = parse_splits(s, sizeof(s) - 1, &one, 1, &pending);

	assert_int_equal(json_array_size(got), 1);
	assert_true(pending);
	json_decref(got);
	/* A complete data line without the blank line: also pending. */
	got = parse_splits("data: x\n", 8, &one, 1, &pending);
	assert_int_equal(json_array_size(got), 0);
	assert_true(pending);
	json_decref(got);
}

/* A body that is not an event stream gives no events. */
static void
test_not_an_event_stream(void **state)
{
	static const char s[] = "<html><body><h1>502 Bad Gateway</h1>"
	    "</body></html>\n";
	size_t three = 3;
	bool pending;
	json_t *got = parse_splits(s, sizeof(s) - 1, &three, 1, &pending);

	assert_int_equal(json_array_size(got), 0);
	assert_false(pending);
	json_decref(got);
}

static void
test_overlong(void **state)
{
	struct collect c = { json_array(), -1 };
	struct sse *p = sse_new(64, collect_cb, &c);
	char err[256], line[200];
	size_t i;
	bool ok = true;

	memset(line, 'x', sizeof(line));
	memcpy(line, "data: ", 6);
	for (i = 0; i < sizeof(line) && ok; i++)
		ok = sse_feed(p, line + i, 1, err, sizeof(err));
	assert_false(ok);
	assert_true(i <= 66);
	assert_non_null(strstr(err, "longer than 64 bytes"));
	assert_false(sse_feed(p, "\n\n", 2, err, sizeof(err)));
	sse_free(p);
	/* Many short data lines add up. */
	p = sse_new(64, collect_cb, &c);
	for (i = 0, ok = true; i < 20 && ok; i++)
		ok = sse_feed(p, "data: 0123456\n", 14, err, sizeof(err));
	assert_false(ok);
	assert_int_equal(json_array_size(c.events), 0);
	sse_free(p);
	json_decref(c.events);
}

static void
test_callback_stops(void **state)
{
	struct collect c = { json_array(), 2 };
	struct sse *p = sse_new(0, collect_cb, &c);
	char err[256];

	assert_false(sse_feed(p, SAMPLE, sizeof(SAMPLE) - 1, err,
	    sizeof(err)));
	assert_string_equal(err, "stopped at 2");
	assert_int_equal(json_array_size(c.events), 2);
	assert_false(sse_feed(p, "data: x\n\n", 9, err, sizeof(err)));
	assert_false(sse_finish(p, NULL, err, sizeof(err)));
	sse_free(p);
	json_decref(c.events);
}

/* ---- llm's stream handlers through the parsers ------------------------ */

static const char OPENAI_STREAM[] =
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":"
    "\"m-1\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"sc\"},"
    "\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"ore\\\": 4}\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,"
    "\"completion_tokens\":3}}\n\n"
    "data: [DONE]\n\n";

static struct llm_call *
fake_call(const struct llm_backend *be, bool openai)
{
	struct llm_call *c = xcalloc(1, sizeof(*c));

	c->be = be;
	buf_init(&c->body);
	buf_init(&c->content);
	if (openai)
		c->sse = sse_new(0, llm_openai_event, c);
	else
		c->nd = ndjson_new(0, llm_ollama_chunk, c);
	return c;
}

static void
free_call(struct llm_call *c)
{
	sse_free(c->sse);
	ndjson_free(c->nd);
	buf_free(&c->body);
	buf_free(&c->content);
	free(c->model);
	free(c->done_reason);
	free(c->fingerprint);
	free(c);
}

/* Feeds s in the given pieces; false (err) when the parser stops. */
static bool
feed_call(struct llm_call *c, const char *s, const size_t *sizes,
    size_t nsizes, char *err, size_t errlen)
{
	size_t len = strlen(s), off = 0, i = 0, n;
	bool ok;

	while (off < len) {
		n = sizes[i++ % nsizes];
		if (n > len - off)
			n = len - off;
		ok = c->sse != NULL ? sse_feed(c->sse, s + off, n, err,
		    errlen) : ndjson_feed(c->nd, s + off, n, err, errlen);
		if (!ok)
			return false;
		off += n;
	}
	return true;
}

static void
test_openai_stream_splits(void **state)
{
	size_t sizes[16], round, one = 1;
	uint32_t seed = 99;
	struct llm_call *c;
	char err[256];

	for (round = 0; round < 200; round++) {
		random_sizes(&seed, sizes, ARRAY_LEN(sizes), 29);
		c = fake_call(&openai_be, true);
		if (!feed_call(c, OPENAI_STREAM, round == 0 ? &one : sizes,
		    round == 0 ? 1 : ARRAY_LEN(sizes), err, sizeof(err)) ||
		    !llm_stream_complete(c, err, sizeof(err)))
			fail_msg("round %zu: %s", round, err);
		assert_string_equal(buf_cstr(&c->content), "{\"score\": 4}");
		assert_string_equal(c->model, "m-1");
		assert_string_equal(c->fingerprint, "fp_1");
		assert_string_equal(c->done_reason, "stop");
		assert_true(c->ended);
		assert_int_equal(c->prompt_tokens, 11);
		assert_int_equal(c->eval_tokens, 3);
		free_call(c);
	}
}

/* An error mid-stream, both ways servers send it, stops the parse. */
static void
test_openai_error_midstream(void **state)
{
	static const char *streams[] = {
	    "data: {\"choices\":[{\"delta\":{\"content\":\"{\"}}]}\n\n"
	    "data: {\"error\":{\"message\":\"CUDA out of memory\","
	    "\"type\":\"server_error\",\"code\":500}}\n\n",
	    "data: {\"choices\":[{\"delta\":{\"content\":\"{\"}}]}\n\n"
	    "error: {\"code\":500,\"message\":\"CUDA out of memory\","
	    "\"type\":\"server_error\"}\n\n",
	    "data: {\"object\":\"error\",\"message\":\"CUDA out of memory\","
	    "\"code\":500}\n\n",
	};
	struct llm_call *c;
	size_t i, one = 1;
	char err[256];

	for (i = 0; i < ARRAY_LEN(streams); i++) {
		c = fake_call(&openai_be, true);
		assert_false(feed_call(c, streams[i], &one, 1, err,
		    sizeof(err)));
		assert_true(c->model_error);
		assert_string_equal(err, "CUDA out of memory");
		free_call(c);
	}
}

/* Cut before the end, a non-JSON event, and an HTML body. */
static void
test_openai_cut_and_garbage(void **state)
{
	static const char cut[] = "data: {\"choices\":[{\"delta\":"
	    "{\"content\":\"{\\\"a\"}}]}\n\ndata: {\"choices\":[{\"del";
	struct llm_call *c;
	size_t one = 1, seven = 7;
	char err[256];

	c = fake_call(&openai_be, true);
	assert_true(feed_call(c, cut, &one, 1, err, sizeof(err)));
	assert_false(llm_stream_complete(c, err, sizeof(err)));
	assert_non_null(strstr(err, "stream ended before the model finished"));
	free_call(c);

	c = fake_call(&openai_be, true);
	assert_false(feed_call(c, "data: {\"choices\": [tru\n\n", &seven, 1,
	    err, sizeof(err)));
	assert_false(c->model_error);
	assert_non_null(strstr(err, "event 1 is not JSON"));
	free_call(c);

	c = fake_call(&openai_be, true);
	assert_true(feed_call(c, "<html><h1>502 Bad Gateway</h1></html>\n",
	    &seven, 1, err, sizeof(err)));
	assert_false(llm_stream_complete(c, err, sizeof(err)));
	assert_non_null(strstr(err, "not an event stream"));
	free_call(c);
}

static void
test_ollama_stream_splits(void **state)
{
	static const char ok[] =
	    "{\"model\":\"m\",\"response\":\"{\\\"sc\",\"done\":false}\n"
	    "{\"model\":\"m\",\"response\":\"ore\\\": 2}\",\"done\":false}\r\n"
	    "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"done_reason\":"
	    "\"stop\",\"eval_count\":2,\"eval_duration\":500000000}";
	static const char midstream[] =
	    "{\"model\":\"m\",\"response\":\"{\",\"done\":false}\n"
	    "{\"error\":\"an error was encountered while running the model\"}\n";
	size_t sizes[16], round;
	uint32_t seed = 5;
	struct llm_call *c;
	char err[256];

	for (round = 0; round < 200; round++) {
		random_sizes(&seed, sizes, ARRAY_LEN(sizes), 13);
		c = fake_call(&ollama_be, false);
		if (!feed_call(c, ok, sizes, ARRAY_LEN(sizes), err,
		    sizeof(err)) || !llm_stream_complete(c, err, sizeof(err)))
			fail_msg("round %zu: %s", round, err);
		assert_string_equal(buf_cstr(&c->content), "{\"score\": 2}");
		assert_int_equal(c->eval_tokens, 2);
		assert_true(c->eval_s > 0.49 && c->eval_s < 0.51);
		free_call(c);

		c = fake_call(&ollama_be, false);
		assert_false(feed_call(c, midstream, sizes, ARRAY_LEN(sizes),
		    err, sizeof(err)));
		assert_true(c->model_error);
		assert_non_null(strstr(err, "error was encountered"));
		free_call(c);
	}
	/* Cut: no "done": true. */
	c = fake_call(&ollama_be, false);
	assert_true(feed_call(c, "{\"response\":\"{\",\"done\":false}\n",
	    sizes, 1, err, sizeof(err)));
	assert_false(llm_stream_complete(c, err, sizeof(err)));
	assert_non_null(strstr(err, "no \"done\": true"));
	free_call(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_bytes_and_splits),
		cmocka_unit_test(test_crlf_split),
		cmocka_unit_test(test_cut_event_discarded),
		cmocka_unit_test(test_not_an_event_stream),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_openai_stream_splits),
		cmocka_unit_test(test_openai_error_midstream),
		cmocka_unit_test(test_openai_cut_and_garbage),
		cmocka_unit_test(test_ollama_stream_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
