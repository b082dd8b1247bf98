/*
 * test_dash: the dashboards' pure parts. dash_chip() names each step of
 * the pipeline as the progress page shows it (static/live.js mirrors the
 * same table), dash_duration() writes durations for people, and svg.c
 * turns data into chart geometry.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "dash.h"
#include "svg.h"

static void	test_chip_states(void **);
static void	test_chip_actions(void **);
static void	test_duration(void **);
static void	test_gantt_clips_to_window(void **);
static void	test_columns_scale(void **);
static void	test_line_gaps(void **);

/* {phase, status, stt_progress, batch_id, running_on, overall} -> chip */
static void
test_chip_states(void **state)
{
	static const struct {
		const char *row, *state, *group, *text;
	} cases[] = {
		{ "{}", "none", "none", "Not submitted" },
		{ "{\"phase\":\"stt\",\"status\":\"pending\"}", "uploaded",
		  "queued", "Uploaded" },
		{ "{\"phase\":\"stt\",\"status\":\"pending\",\"batch_id\":4}",
		  "queued", "queued", "Queued for transcription" },
		{ "{\"phase\":\"stt\",\"status\":\"processing\","
		  "\"stt_progress\":0}", "queued", "queued",
		  "Queued for transcription" },
		{ "{\"phase\":\"stt\",\"status\":\"processing\","
		  "\"stt_progress\":0.429}", "transcribing", "transcribing",
		  "Transcribing 42%" },
		{ "{\"phase\":\"stt\",\"status\":\"retry\"}", "retry", "queued",
		  "Transcription will be tried again" },
		{ "{\"phase\":\"llm\",\"status\":\"pending\"}", "waiting",
		  "evaluating", "Waiting for evaluation" },
		{ "{\"phase\":\"llm\",\"status\":\"processing\"}", "evaluating",
		  "evaluating", "Evaluating" },
		{ "{\"phase\":\"llm\",\"status\":\"processing\","
		  "\"running_on\":\"llama3\"}", "evaluating", "evaluating",
		  "Evaluating on llama3" },
		{ "{\"phase\":\"completed\",\"status\":\"completed\","
		  "\"overall\":3.75}", "done", "done", "Done · 3.8" },
		{ "{\"phase\":\"failed\",\"status\":\"failed\"}", "failed",
		  "failed", "Failed" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *row = json_loads(cases[i].row, 0, NULL);

		assert_non_null(row);
		dash_chip(row);
		assert_string_equal(json_string_value(json_object_get(row,
		    "state")), cases[i].state);
		assert_string_equal(json_string_value(json_object_get(row,
		    "group")), cases[i].group);
		assert_string_equal(json_string_value(json_object_get(row,
		    "chip_text")), cases[i].text);
		json_decref(row);
	}
}

static void
test_chip_actions(void **state)
{
	json_t *run = json_pack("{s:s, s:s}", "phase", "llm", "status",
	    "pending");
	json_t *bad = json_pack("{s:s, s:s}", "phase", "failed", "status",
	    "failed");
	json_t *done = json_pack("{s:s, s:s}", "phase", "completed", "status",
	    "completed");

	(void)state;
	dash_chip(run);
	dash_chip(bad);
	dash_chip(done);
	assert_true(json_is_true(json_object_get(run, "can_cancel")));
	assert_false(json_is_true(json_object_get(run, "can_retry")));
	assert_true(json_is_true(json_object_get(bad, "can_retry")));
	assert_false(json_is_true(json_object_get(bad, "can_cancel")));
	assert_false(json_is_true(json_object_get(done, "can_cancel")));
	assert_false(json_is_true(json_object_get(done, "can_retry")));
	json_decref(run);
	json_decref(bad);
	json_decref(done);
}

static void
test_duration(void **state)
{
	char b[32];

	(void)state;
	dash_duration(-3, b, sizeof(b));
	assert_string_equal(b, "0 s");
	dash_duration(59.4, b, sizeof(b));
	assert_string_equal(b, "59 s");
	dash_duration(80, b, sizeof(b));
	assert_string_equal(b, "1 min 20 s");
	dash_duration(3 * 3600 + 5 * 60 + 7, b, sizeof(b));
	assert_string_equal(b, "3 h 5 min");
}

/* Bars outside the window vanish, bars across its edges are cut. */
static void
test_gantt_clips_to_window(void **state)
{
	json_t *lanes = json_loads("[{\"label\":\"n1 · STT\",\"bars\":["
	    "{\"s\":0,\"e\":50,\"kind\":\"run-stt\"},"
	    "{\"s\":50,\"e\":150,\"kind\":\"run-stt\"},"
	    "{\"s\":3500,\"e\":null,\"kind\":\"call-stt\",\"inset\":5}]}]",
	    0, NULL);
	json_t *g = svg_gantt(lanes, 100, 3700), *bars, *b;
	double plot_x, plot_w;

	(void)state;
	assert_non_null(g);
	bars = json_object_get(g, "bars");
	assert_int_equal(json_array_size(bars), 2);
	plot_x = json_number_value(json_object_get(g, "plot_x"));
	plot_w = json_number_value(json_object_get(g, "plot_w"));
	b = json_array_get(bars, 0);
	assert_true(json_number_value(json_object_get(b, "x")) == plot_x);
	b = json_array_get(bars, 1);	/* still running: up to the end */
	assert_true(fabs(json_number_value(json_object_get(b, "x")) +
	    json_number_value(json_object_get(b, "w")) - (plot_x + plot_w)) <
	    0.2);
	assert_true(json_number_value(json_object_get(b, "h")) < 22);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(g, "ticks"), 0), "label")), "now");
	json_decref(g);
	json_decref(lanes);
}

static void
test_columns_scale(void **state)
{
	json_t *buckets = json_loads("[{\"label\":\"a\",\"parts\":["
	    "{\"v\":3,\"kind\":\"done\"},{\"v\":4,\"kind\":\"failed\"}]},"
	    "{\"label\":\"b\",\"parts\":[{\"v\":0,\"kind\":\"done\"}]}]", 0,
	    NULL);
	json_t *c = svg_columns(buckets, 5), *ticks;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(c, "cols")), 2);
	ticks = json_object_get(c, "yticks");
	/* 7 rounds up to 10, in steps of 2. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    ticks, json_array_size(ticks) - 1), "label")), "10");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    ticks, 1), "label")), "2");
	json_decref(c);
	json_decref(buckets);
}

static void
test_line_gaps(void **state)
{
	json_t *pts = json_loads("[{\"v\":1},{\"v\":null},{\"v\":3},{\"v\":4}]",
	    0, NULL);
	json_t *l = svg_line(pts, 10, "%");
	const char *path = json_string_value(json_object_get(l, "path"));

	(void)state;
	/* A gap starts a new stroke: two moves, one line. */
	assert_non_null(strchr(path, 'M'));
	assert_non_null(strchr(strchr(path, 'M') + 1, 'M'));
	assert_int_equal(json_array_size(json_object_get(l, "dots")), 3);
	json_decref(l);
	json_decref(pts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chip_states),
		cmocka_unit_test(test_chip_actions),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_gantt_clips_to_window),
		cmocka_unit_test(test_columns_scale),
		cmocka_unit_test(test_line_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
