/*
 * Unit tests for pool's answers and modes against stand-in servers
 * (pool_fixture.h): an invalid answer repaired, invalid everywhere (not
 * retryable); ensemble agreement, a deliberate disagreement and a member
 * down; OpenAI-compatible servers (429 with Retry-After, llama.cpp's
 * error event); pause; unload; cancellation on pool_free.
 */
#include "pool_fixture.h"

static void
test_invalid_repaired(void **state)
{
	json_t *calls;

	fake_start(&fakes[0], "a", false, 0, NULL);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 3, 30);
	control(&fakes[0], "{\"fault\":\"invalid-json-once\"}");
	submit(1, 1);
	assert_int_equal(wait_results(1, 20), 1);
	assert_all_ok(1);
	calls = json_object_get(json_object_get(json_object_get(result(0),
	    "evaluation"), "provenance"), "calls");
	assert_int_equal(json_array_size(calls), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    calls, 0), "outcome")), "invalid");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(calls, 0), "error")), "outside"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    calls, 1), "outcome")), "ok");
	assert_int_equal(count_calls("a", "invalid"), 1);
	assert_int_equal(count_calls("a", "ok"), 1);
	/* An invalid answer is not the server's failure. */
	assert_string_equal(stat_state("a"), "up");
}

static void
test_invalid_everywhere(void **state)
{
	json_t *r;

	fake_start(&fakes[0], "a", false, 0, NULL);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 3, 30);
	control(&fakes[0], "{\"fault\":\"invalid-json\"}");
	submit(1, 1);
	assert_int_equal(wait_results(1, 20), 1);
	r = result(0);
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_false(json_is_true(json_object_get(r, "retryable")));
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
	    "no usable answer"));
	assert_int_equal(count_calls("a", "invalid"), 2);
}

static void
test_ensemble(void **state)
{
	const char *five[] = { "--score", "5", NULL };
	const char *one[] = { "--score", "1", NULL };
	json_t *ev, *models, *m;
	const char *key;
	size_t i;

	fake_start(&fakes[0], "a", false, 0, five);
	fake_start(&fakes[1], "b", false, 0, one);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "ensemble", "least_loaded", 10, 3, 30);
	submit(1, 2);
	assert_int_equal(wait_results(2, 20), 2);
	assert_all_ok(2);
	ev = json_object_get(result(0), "evaluation");
	models = json_object_get(ev, "models");
	assert_int_equal(json_array_size(models), 2);
	json_array_foreach(models, i, m) {
		assert_string_equal(json_string_value(json_object_get(m,
		    "backend")), i == 0 ? "a" : "b");
		key = rubric_key(rubric, 0);
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(m, "scores"), key)), i == 0 ? 5 : 1);
		assert_non_null(json_object_get(m, "digest"));
	}
	assert_true(json_is_true(json_object_get(ev, "needs_review")));
	assert_true(json_number_value(json_object_get(ev, "disagreement")) ==
	    4.0);
	assert_true(json_number_value(json_object_get(ev, "overall")) == 3.0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev,
	    "scores"), rubric_key(rubric, 0))), 3);
	assert_true(json_number_value(json_object_get(json_object_get(ev,
	    "mean"), rubric_key(rubric, 0))) == 3.0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    ev, "provenance"), "mode")), "ensemble");
	assert_non_null(json_object_get(ev, "review_reason"));
	/* Within the margin: no review. */
	control(&fakes[1], "{\"score\":4}");
	submit(3, 1);
	assert_int_equal(wait_results(3, 20), 3);
	ev = json_object_get(result(2), "evaluation");
	assert_false(json_is_true(json_object_get(ev, "needs_review")));
	assert_true(json_number_value(json_object_get(ev, "overall")) == 4.5);
	assert_int_equal(count_calls(NULL, "ok"), 6);
}

static void
test_ensemble_member_down(void **state)
{
	json_t *ev;

	fake_start(&fakes[0], "a", false, 0, NULL);
	fake_start(&fakes[1], "b", false, 0, NULL);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "ensemble", "least_loaded", 60, 3, 30);
	fake_kill(&fakes[1]);
	submit(1, 1);
	assert_int_equal(wait_results(1, 20), 1);
	assert_all_ok(1);
	ev = json_object_get(result(0), "evaluation");
	assert_int_equal(json_array_size(json_object_get(ev, "models")), 2);
	assert_non_null(json_object_get(json_array_get(json_object_get(ev,
	    "models"), 1), "error"));
	assert_true(json_is_true(json_object_get(ev, "needs_review")));
	assert_non_null(strstr(json_string_value(json_object_get(ev,
	    "review_reason")), "only 1 of 2"));
}

static void
test_openai(void **state)
{
	const char *extra[] = { "--max-concurrent", "1", "--latency-ms", "150",
	    NULL };
	json_t *pv, *b, *r;

	fake_start(&fakes[0], "oa", true, 0, extra);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 10, 30);
	assert_int_equal(pool_healthy(pool), 1);
	/* The stand-in serves one at a time: the other gets 429 with
	   Retry-After: 1, backs the backend off, and is served after. */
	submit(1, 2);
	assert_int_equal(wait_results(2, 30), 2);
	assert_all_ok(2);
	assert_int_equal(log_count(&fakes[0], 429, NULL), 1);
	assert_int_equal(count_calls("oa", "error"), 1);
	pv = json_object_get(json_object_get(result(0), "evaluation"),
	    "provenance");
	assert_string_equal(json_string_value(json_object_get(pv, "type")),
	    "openai");
	assert_string_equal(json_string_value(json_object_get(pv, "model")),
	    "gpt-fake");
	assert_string_equal(json_string_value(json_object_get(pv, "digest")),
	    "fp_fake_gpt-fake");
	b = backend_stat("oa");
	assert_int_equal(json_integer_value(json_object_get(b, "errors")), 1);
	assert_true(json_number_value(json_object_get(b, "tokens_per_s")) > 0);
	json_decref(b);
	/* llama.cpp's error: event mid-stream: every try fails, retryable. */
	control(&fakes[0], "{\"fault\":\"error-event\"}");
	submit(3, 1);
	assert_int_equal(wait_results(3, 30), 3);
	r = result(2);
	assert_false(json_is_true(json_object_get(r, "ok")));
	assert_true(json_is_true(json_object_get(r, "retryable")));
	/*
	 * Each try met the crash; the last one may instead meet the
	 * stand-in's 429 while it still counts the crashed stream as
	 * running (its limit is one), so the words are either.
	 */
	assert_true(count_calls("oa", "error") >= 3);
	assert_true(strstr(json_string_value(json_object_get(r, "error")),
	    "model error: the model crashed") != NULL ||
	    strstr(json_string_value(json_object_get(r, "error")),
	    "HTTP 429") != NULL);
}

static void
test_pause(void **state)
{
	fake_start(&fakes[0], "a", false, 0, NULL);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 3, 30);
	pool_pause(pool);
	submit(1, 3);
	util_sleep(0.5);
	assert_int_equal(pool_running(pool), 0);
	assert_int_equal(count_calls(NULL, NULL), 0);
	assert_int_equal(log_count(&fakes[0], 0, NULL), 0);
	assert_int_equal(pool_in_flight(pool), 3);
	pool_resume(pool);
	assert_int_equal(wait_results(3, 20), 3);
	assert_all_ok(3);
}

static void
test_unload(void **state)
{
	const char *extra[] = { "--unload-ms", "300", "--load-ms", "100",
	    NULL };
	char url[128], err[512], *body;
	double took;
	long status;

	fake_start(&fakes[0], "a", false, 0, extra);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 3, 30);
	submit(1, 1);
	assert_int_equal(wait_results(1, 20), 1);
	snprintf(url, sizeof(url), "%s/api/ps", fakes[0].url);
	body = http_get(url, &status);
	assert_non_null(strstr(body, "mistral:latest"));
	free(body);
	if (!pool_unload(pool, 5, &took, err, sizeof(err)))
		fail_msg("unload: %s", err);
	assert_true(took >= 0.25 && took < 5);	/* within its 5 s limit */
	body = http_get(url, &status);
	assert_null(strstr(body, "mistral:latest"));
	free(body);
	/* Too slow to free: reported, not waited for ever. */
	control(&fakes[0], "{\"unload_ms\":5000}");
	submit(2, 1);
	assert_int_equal(wait_results(2, 20), 2);
	assert_false(pool_unload(pool, 0.4, &took, err, sizeof(err)));
	assert_non_null(strstr(err, "a (mistral)"));
	/* A backend that is down counts as unloaded. */
	fake_kill(&fakes[0]);
	util_sleep(0.2);
	assert_true(pool_unload(pool, 2, &took, err, sizeof(err)));
}

static void
test_cancel_on_free(void **state)
{
	const char *extra[] = { "--latency-ms", "3000", NULL };
	json_t *r;
	size_t i;

	fake_start(&fakes[0], "a", false, 0, extra);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 2)), "single",
	    "least_loaded", 10, 3, 30);
	submit(1, 4);
	util_sleep(0.3);
	assert_int_equal(pool_running(pool), 2);
	pool_free(pool);
	pool = NULL;
	assert_int_equal(wait_results(4, 1), 4);
	for (i = 0; i < 4; i++) {
		r = result(i);
		assert_false(json_is_true(json_object_get(r, "ok")));
		assert_true(json_is_true(json_object_get(r, "retryable")));
	}
	assert_int_equal(count_calls("a", "cancelled"), 2);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_invalid_repaired),
		T(test_invalid_everywhere),
		T(test_ensemble),
		T(test_ensemble_member_down),
		T(test_openai),
		T(test_pause),
		T(test_unload),
		T(test_cancel_on_free),
#undef T
	};

	fixture_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	fixture_done();
	return rc;
}
