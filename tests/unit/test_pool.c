/*
 * Unit tests for pool's dispatch, health and failover against stand-in
 * servers (pool_fixture.h): results and provenance; max_concurrent never
 * exceeded (from the stand-ins' logs); a backend killed mid-batch; every
 * backend down (tasks wait, then complete when one returns); a 503
 * backend backed off; a refused connection out of rotation at once
 * without a retry storm; the breaker's half-open probe; least-loaded
 * preferring the fast backend; round-robin's turns.
 */
#include "pool_fixture.h"

static void
test_results_and_provenance(void **state)
{
	const char *extra[] = { "--token-ms", "1", NULL };
	json_t *r, *ev, *pv, *b;
	char digest[65];
	size_t i;

	fake_start(&fakes[0], "a", false, 0, extra);
	fake_start(&fakes[1], "b", false, 0, extra);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 10, 3, 30);
	assert_int_equal(pool_healthy(pool), 2);
	assert_int_equal(pool_capacity(pool), 4);
	assert_int_equal(pool_free_slots(pool), 4);
	submit(1, 6);
	assert_int_equal(wait_results(6, 30), 6);
	assert_all_ok(6);
	assert_int_equal(pool_in_flight(pool), 0);
	assert_int_equal(pool_running(pool), 0);
	/* fake_ollama's digest is the sha256 of the canonical name. */
	sha256_hex(digest, "mistral:latest");
	for (i = 0; i < 6; i++) {
		r = result(i);
		ev = json_object_get(r, "evaluation");
		pv = json_object_get(ev, "provenance");
		assert_int_equal(json_object_size(json_object_get(ev,
		    "scores")), rubric_count(rubric));
		assert_string_equal(json_string_value(json_object_get(pv,
		    "digest")), digest);
		assert_string_equal(json_string_value(json_object_get(pv,
		    "mode")), "single");
		assert_string_equal(json_string_value(json_object_get(pv,
		    "model")), "mistral");
		assert_true(json_number_value(json_object_get(json_object_get(
		    pv, "options"), "temperature")) == 0);
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(pv, "options"), "seed")), 42);
		assert_int_equal(json_integer_value(json_object_get(pv,
		    "num_ctx")), 4096);
		assert_int_equal(json_integer_value(json_object_get(pv,
		    "rubric_version")), 1);
		assert_int_equal(json_string_length(json_object_get(pv,
		    "prompt_sha256")), 64);
		assert_int_equal(json_array_size(json_object_get(pv, "calls")),
		    1);
		assert_string_equal(json_string_value(json_object_get(pv,
		    "backend")), json_string_value(json_object_get(r,
		    "backend")));
		assert_true(json_integer_value(json_object_get(r,
		    "eval_tokens")) > 0);
	}
	/* The same template for every task: one hash. */
	assert_true(json_equal(json_object_get(json_object_get(json_object_get(
	    result(0), "evaluation"), "provenance"), "prompt_sha256"),
	    json_object_get(json_object_get(json_object_get(result(5),
	    "evaluation"), "provenance"), "prompt_sha256")));
	assert_int_equal(count_calls(NULL, "ok"), 6);
	b = backend_stat("a");
	assert_string_equal(json_string_value(json_object_get(b, "state")),
	    "up");
	assert_true(json_integer_value(json_object_get(b, "requests")) > 0);
	assert_true(json_number_value(json_object_get(b, "p50_ms")) > 0);
	assert_true(json_number_value(json_object_get(b, "p95_ms")) >=
	    json_number_value(json_object_get(b, "p50_ms")));
	assert_true(json_number_value(json_object_get(b, "tokens_per_s")) > 0);
	json_decref(b);
}

static void
test_max_concurrent(void **state)
{
	const char *extra[] = { "--latency-ms", "250", NULL };
	int maxc0, maxc1, n0, n1;

	fake_start(&fakes[0], "a", false, 0, extra);
	fake_start(&fakes[1], "b", false, 0, extra);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 3)), "single", "least_loaded", 10, 3, 30);
	submit(1, 14);
	assert_true(pool_running(pool) <= 5);
	assert_int_equal(wait_results(14, 30), 14);
	assert_all_ok(14);
	n0 = log_count(&fakes[0], 200, &maxc0);
	n1 = log_count(&fakes[1], 200, &maxc1);
	assert_int_equal(n0 + n1, 14);
	assert_true(maxc0 >= 1 && maxc0 <= 2);
	assert_true(maxc1 >= 1 && maxc1 <= 3);
	/* Both were used at their limit. */
	assert_true(maxc0 == 2 && maxc1 == 3);
}

static void
test_kill_mid_batch(void **state)
{
	const char *extra[] = { "--latency-ms", "400", NULL };
	json_t *r;
	size_t i;

	fake_start(&fakes[0], "a", false, 0, extra);
	fake_start(&fakes[1], "b", false, 0, extra);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 30, 3, 30);
	submit(1, 10);
	assert_true(wait_results(2, 20) >= 2);
	fake_kill(&fakes[0]);
	assert_int_equal(wait_results(10, 30), 10);
	assert_all_ok(10);
	assert_true(strcmp(stat_state("a"), "up") != 0);
	/* What ended after the kill was scored by b. */
	for (i = 4; i < 10; i++) {
		r = result(i);
		assert_string_equal(json_string_value(json_object_get(r,
		    "backend")), "b");
	}
}

static void
test_all_down_then_back(void **state)
{
	int port_b;

	fake_start(&fakes[0], "a", false, 0, NULL);
	fake_start(&fakes[1], "b", false, 0, NULL);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 1, 3, 30);
	port_b = fakes[1].port;
	fake_kill(&fakes[0]);
	fake_kill(&fakes[1]);
	util_sleep(1.5);	/* health checks notice */
	assert_int_equal(pool_healthy(pool), 0);
	submit(1, 4);
	assert_int_equal(wait_results(1, 2.0), 0);
	assert_int_equal(pool_in_flight(pool), 4);	/* waiting, not failed */
	fake_start(&fakes[1], "b", false, port_b, NULL);
	assert_int_equal(wait_results(4, 20), 4);
	assert_all_ok(4);
	assert_string_equal(json_string_value(json_object_get(result(3),
	    "backend")), "b");
	assert_string_equal(stat_state("b"), "up");
	assert_string_equal(stat_state("a"), "down");
}

static void
test_busy_backed_off(void **state)
{
	const char *busy[] = { "--fault", "busy", NULL };
	const char *slow[] = { "--latency-ms", "100", NULL };
	json_t *b;
	size_t i;

	fake_start(&fakes[0], "a", false, 0, busy);
	fake_start(&fakes[1], "b", false, 0, slow);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 10, 3, 30);
	submit(1, 8);
	assert_int_equal(wait_results(8, 30), 8);
	assert_all_ok(8);
	for (i = 0; i < 8; i++)
		assert_string_equal(json_string_value(json_object_get(
		    result(i), "backend")), "b");
	/* A few 503s, then a's back-off or open breaker kept calls away. */
	assert_true(log_count(&fakes[0], 503, NULL) >= 1);
	assert_true(log_count(&fakes[0], 503, NULL) <= 4);
	b = backend_stat("a");
	assert_true(json_number_value(json_object_get(b, "backoff_s")) > 0 ||
	    strcmp(json_string_value(json_object_get(b, "state")), "open") ==
	    0);
	assert_non_null(strstr(json_string_value(json_object_get(b,
	    "last_error")), "server busy"));
	json_decref(b);
}

static void
test_refused_out_at_once(void **state)
{
	int refused;

	fake_start(&fakes[0], "a", false, 0, NULL);
	fake_start(&fakes[1], "b", false, 0, NULL);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 60, 3, 30);
	assert_int_equal(pool_healthy(pool), 2);
	fake_kill(&fakes[0]);	/* nothing listens on its port now */
	submit(1, 10);
	assert_int_equal(wait_results(10, 30), 10);
	assert_all_ok(10);
	refused = count_calls("a", "refused");
	assert_true(refused >= 1 && refused <= 2);	/* its free slots */
	assert_string_equal(stat_state("a"), "down");
	assert_int_equal(pool_healthy(pool), 1);
	submit(11, 4);
	assert_int_equal(wait_results(14, 30), 14);
	assert_int_equal(count_calls("a", NULL), refused);	/* no storm */
}

static void
test_breaker_half_open(void **state)
{
	const char *broken[] = { "--fault", "http500", NULL };

	fake_start(&fakes[0], "a", false, 0, broken);
	make_pool(json_pack("[o]", backend_json(&fakes[0], 1)), "single",
	    "least_loaded", 60, 2, 1);
	submit(1, 1);
	util_sleep(0.5);
	assert_string_equal(stat_state("a"), "open");
	assert_int_equal(count_calls("a", "error"), 2);
	assert_int_equal(wait_results(1, 0.1), 0);	/* waits */
	control(&fakes[0], "{\"fault\":\"none\"}");
	assert_int_equal(wait_results(1, 10), 1);	/* the probe */
	assert_all_ok(1);
	assert_string_equal(stat_state("a"), "up");
}

static void
test_least_loaded_prefers_fast(void **state)
{
	const char *fast[] = { "--latency-ms", "100", NULL };
	const char *slow[] = { "--latency-ms", "300", NULL };
	int nf, ns;

	fake_start(&fakes[0], "fast", false, 0, fast);
	fake_start(&fakes[1], "slow", false, 0, slow);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "least_loaded", 10, 3, 30);
	submit(1, 16);
	assert_int_equal(wait_results(16, 30), 16);
	assert_all_ok(16);
	nf = count_calls("fast", "ok");
	ns = count_calls("slow", "ok");
	if (nf < 2 * ns)
		fail_msg("fast %d, slow %d", nf, ns);
}

static void
test_round_robin(void **state)
{
	fake_start(&fakes[0], "a", false, 0, NULL);
	fake_start(&fakes[1], "b", false, 0, NULL);
	make_pool(json_pack("[o,o]", backend_json(&fakes[0], 2),
	    backend_json(&fakes[1], 2)), "single", "round_robin", 10, 3, 30);
	submit(1, 10);
	assert_int_equal(wait_results(10, 30), 10);
	assert_all_ok(10);
	assert_int_equal(count_calls("a", "ok"), 5);
	assert_int_equal(count_calls("b", "ok"), 5);
}

/* Tuned concurrency: waiting calls and good latency raise the limit. */
static void
test_adaptive_limit_rises(void **state)
{
	const char *extra[] = { "--latency-ms", "100", NULL };
	json_t *b, *be, *changes;
	int maxc;

	(void)state;
	fake_start(&fakes[0], "a", false, 0, extra);
	be = backend_json(&fakes[0], 1);
	json_object_del(be, "max_concurrent");
	json_object_set_new(be, "concurrency_min", json_integer(1));
	json_object_set_new(be, "concurrency_max", json_integer(3));
	json_object_set_new(be, "target_p95_ms", json_integer(20000));
	make_pool(json_pack("[o]", be), "single", "least_loaded", 10, 3, 30);
	submit(1, 40);
	assert_int_equal(wait_results(40, 60), 40);
	assert_all_ok(40);
	log_count(&fakes[0], 200, &maxc);
	assert_true(maxc <= 3);
	b = backend_stat("a");
	assert_int_equal(json_integer_value(json_object_get(b, "limit")), 3);
	assert_true(json_is_true(json_object_get(b, "adaptive")));
	changes = json_object_get(b, "limit_changes");
	/* The start, then 1 -> 2 -> 3, each with its reason. */
	assert_int_equal(json_array_size(changes), 3);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(changes, 2), "why")), "within target"));
	json_decref(b);
}

/* A server that refuses (503) above 2 calls pulls the limit back. */
static void
test_adaptive_limit_falls_on_busy(void **state)
{
	const char *extra[] = { "--latency-ms", "100", "--max-concurrent",
	    "2", NULL };
	json_t *b, *be, *c;
	size_t i;
	bool busy = false;

	(void)state;
	fake_start(&fakes[0], "a", false, 0, extra);
	be = backend_json(&fakes[0], 1);
	json_object_del(be, "max_concurrent");
	json_object_set_new(be, "concurrency_min", json_integer(1));
	json_object_set_new(be, "concurrency_max", json_integer(6));
	json_object_set_new(be, "target_p95_ms", json_integer(20000));
	json_object_set_new(be, "target_error_rate", json_real(0.5));
	make_pool(json_pack("[o]", be), "single", "least_loaded", 10, 50, 2);
	submit(1, 40);
	assert_int_equal(wait_results(40, 120), 40);
	assert_all_ok(40);
	assert_true(log_count(&fakes[0], 503, NULL) >= 1);
	b = backend_stat("a");
	assert_true(json_integer_value(json_object_get(b, "limit")) <= 3);
	json_array_foreach(json_object_get(b, "limit_changes"), i, c)
		busy = busy || strstr(json_string_value(json_object_get(c,
		    "why")), "429/503") != NULL;
	assert_true(busy);
	json_decref(b);
}

/* A request budget spaces the calls out instead of sending them. */
static void
test_request_budget(void **state)
{
	json_t *be, *call, *b;
	double starts[6], t;
	size_t i, j, n = 0;

	(void)state;
	fake_start(&fakes[0], "a", false, 0, NULL);
	be = backend_json(&fakes[0], 4);
	json_object_set_new(be, "requests_per_minute", json_integer(120));
	json_object_set_new(be, "requests_burst", json_integer(1));
	make_pool(json_pack("[o]", be), "single", "least_loaded", 10, 3, 30);
	submit(1, 5);
	assert_int_equal(wait_results(5, 60), 5);
	assert_all_ok(5);
	pthread_mutex_lock(&seen.lock);
	json_array_foreach(seen.calls, i, call)
		if (n < 6)
			starts[n++] = json_real_value(json_object_get(call,
			    "start"));
	pthread_mutex_unlock(&seen.lock);
	assert_int_equal(n, 5);
	for (i = 1; i < n; i++)		/* sort the starts */
		for (j = i; j > 0 && starts[j] < starts[j - 1]; j--) {
			t = starts[j];
			starts[j] = starts[j - 1];
			starts[j - 1] = t;
		}
	/* Two a second, one at a time: never closer than half a second. */
	for (i = 1; i < n; i++)
		assert_true(starts[i] - starts[i - 1] > 0.45);
	b = backend_stat("a");
	assert_true(json_real_value(json_object_get(b, "requests_per_minute"))
	    == 120);
	assert_true(json_real_value(json_object_get(b, "budget_waited_s")) >
	    1.0);
	json_decref(b);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_results_and_provenance),
		T(test_max_concurrent),
		T(test_kill_mid_batch),
		T(test_all_down_then_back),
		T(test_busy_backed_off),
		T(test_refused_out_at_once),
		T(test_breaker_half_open),
		T(test_least_loaded_prefers_fast),
		T(test_round_robin),
		T(test_adaptive_limit_rises),
		T(test_adaptive_limit_falls_on_busy),
		T(test_request_budget),
#undef T
	};

	fixture_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	fixture_done();
	return rc;
}
