/*
 * Unit tests for llm against tests/fakes/fake_ollama.py, started once on a
 * free port: success with and without a schema, every fault mode the fake
 * offers (switched at runtime through its /_control endpoint), HTTP
 * errors, busy (503), refused connections, timeouts and stalls, model
 * listing, unloading, and concurrent calls from several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <threads.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "llm.h"
#include "rubric.h"
#include "util.h"

static pid_t	 fake_pid = -1;
static int	 fake_out = -1;
static char	 fake_url[64];
static char	 fake_log[128];

struct worker {
	const struct llm_backend *be;
	const char	*prompt;
	json_t		*format;
	bool		 ok;
	struct llm_response resp;
	char		 err[512];
};

static int	 start_fake(void **);
static int	 stop_fake(void **);
static int	 reset_fake(void **);
static char	*http(const char *, const char *, const char *, long *);
static void	 control(const char *);
static size_t	 collect(char *, size_t, size_t, void *);
static struct llm_backend backend(const char *);
static json_t	*small_schema(void);
static int	 worker_main(void *);
static int	 closed_port(void);

static int
start_fake(void **state)
{
	const char *dir = getenv("INTROEVAL_SOURCE_DIR");
	char script[512], line[256];
	struct pollfd pfd;
	size_t n = 0;
	ssize_t r;
	int fds[2], tries;
	long status;
	char *body;

	llm_global_init();
	snprintf(script, sizeof(script), "%s/tests/fakes/fake_ollama.py",
	    dir ? dir : ".");
	snprintf(fake_log, sizeof(fake_log), "/tmp/test_llm_fake.%d.log",
	    (int)getpid());
	unlink(fake_log);
	if (pipe(fds) == -1)
		return -1;
	fake_pid = fork();
	if (fake_pid == -1)
		return -1;
	if (fake_pid == 0) {
		/* Do not outlive a test binary that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, "--port", "0",
		    "--model", "mistral", "--model", "llama3:8b",
		    "--log", fake_log, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	fake_out = fds[0];
	/* Wait for "listening on http://127.0.0.1:PORT\n". */
	pfd.fd = fake_out;
	pfd.events = POLLIN;
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
		if (poll(&pfd, 1, 10000) != 1)
			goto fail;
		r = read(fake_out, line + n, sizeof(line) - 1 - n);
		if (r <= 0)
			goto fail;
		n += (size_t)r;
	}
	line[n] = '\0';
	if (sscanf(line, "listening on %63s", fake_url) != 1)
		goto fail;
	for (tries = 0; tries < 100; tries++) {
		body = http("GET", "/api/version", NULL, &status);
		free(body);
		if (status == 200)
			return 0;
		util_sleep(0.05);
	}
fail:
	fprintf(stderr, "fake_ollama did not start\n");
	stop_fake(state);
	fake_pid = -1;
	fake_out = -1;
	return -1;
}

static int
stop_fake(void **state)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	if (fake_out != -1)
		close(fake_out);
	unlink(fake_log);
	llm_global_cleanup();
	return 0;
}

static int
reset_fake(void **state)
{
	long status;
	char *body;
	int tries;

	control("{\"fault\":\"none\",\"latency_ms\":0,\"token_ms\":0,"
	    "\"max_concurrent\":0}");
	/* Let requests abandoned by an earlier test drain. */
	for (tries = 0; tries < 500; tries++) {
		body = http("POST", "/_control", "{}", &status);
		if (strstr(body, "\"active\":0") != NULL) {
			free(body);
			return 0;
		}
		free(body);
		util_sleep(0.01);
	}
	return -1;
}

/* A plain HTTP call to the fake; returns the body (caller frees). */
static char *
http(const char *method, const char *path, const char *body, long *status)
{
	struct buf out = BUF_INIT;
	char *url = xasprintf("%s%s", fake_url, path);
	CURL *c = curl_easy_init();

	*status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	free(url);
	return buf_release(&out);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static void
control(const char *json)
{
	long status;
	char *body = http("POST", "/_control", json, &status);

	assert_int_equal(status, 200);
	free(body);
}

static struct llm_backend
backend(const char *model)
{
	struct llm_backend be = {
		.name = "fake", .type = "ollama", .url = fake_url,
		.model = (char *)model, .max_concurrent = 2, .timeout_s = 20,
	};

	return be;
}

static json_t *
small_schema(void)
{
	return json_pack("{s:s,s:{s:{s:s,s:i,s:i},s:{s:s}},s:[s,s],s:b}",
	    "type", "object", "properties",
	    "score", "type", "integer", "minimum", 1, "maximum", 5,
	    "note", "type", "string",
	    "required", "score", "note", "additionalProperties", 0);
}

static int
worker_main(void *arg)
{
	struct worker *w = arg;
	struct llm_request req = { .prompt = w->prompt, .format = w->format };

	w->ok = llm_generate(w->be, &req, &w->resp, w->err, sizeof(w->err));
	return 0;
}

/* A port on which nothing listens. */
static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(s);
	return port;
}

static void
test_generate_plain(void **state)
{
	struct llm_backend be = backend("mistral");
	struct llm_request req = {
		.prompt = "Hello, my name is Maria and I study nursing.",
		.system = "You are a kind teacher.",
	};
	struct llm_response r;
	char err[512];

	assert_true(llm_generate(&be, &req, &r, err, sizeof(err)));
	assert_non_null(strstr(r.content, "\""));
	assert_true(strstr(r.content, "Maria") || strstr(r.content, "nursing")
	    || strstr(r.content, "Hello") || strstr(r.content, "name") ||
	    strstr(r.content, "study"));
	assert_string_equal(r.model, "mistral");
	assert_string_equal(r.done_reason, "stop");
	assert_int_equal(r.http_status, 200);
	assert_true(r.prompt_tokens > 0);
	assert_true(r.eval_tokens > 0);
	assert_true(r.eval_s > 0);
	assert_true(r.load_s >= 0);
	assert_true(r.total_s > 0 && r.total_s < 10);
	llm_response_free(&r);
}

static void
test_generate_schema(void **state)
{
	struct llm_backend be = backend("mistral");
	json_t *schema = small_schema(), *v, *opts;
	struct llm_request req = { .prompt = "Rate: I like chess and tea." };
	struct llm_response r1, r2;
	char err[512];
	json_int_t score;

	opts = json_pack("{s:i,s:i}", "temperature", 0, "seed", 42);
	req.format = schema;
	req.options = opts;
	assert_true(llm_generate(&be, &req, &r1, err, sizeof(err)));
	v = json_loads(r1.content, 0, NULL);
	assert_non_null(v);
	score = json_integer_value(json_object_get(v, "score"));
	assert_true(score >= 1 && score <= 5);
	assert_true(json_is_integer(json_object_get(v, "score")));
	assert_true(json_string_length(json_object_get(v, "note")) > 0);
	json_decref(v);
	/* Streamed in many chunks, and deterministic for one prompt. */
	assert_true(r1.eval_tokens > 5);
	assert_true(llm_generate(&be, &req, &r2, err, sizeof(err)));
	assert_string_equal(r1.content, r2.content);
	llm_response_free(&r1);
	llm_response_free(&r2);
	json_decref(schema);
	json_decref(opts);
}

static void
test_generate_format_json(void **state)
{
	struct llm_backend be = backend("llama3:8b");
	json_t *fmt = json_string("json"), *v;
	struct llm_request req = { .prompt = "Say something", .format = fmt };
	struct llm_response r;
	char err[512];

	assert_true(llm_generate(&be, &req, &r, err, sizeof(err)));
	v = json_loads(r.content, 0, NULL);
	assert_true(json_is_object(v));
	assert_string_equal(r.model, "llama3:8b");
	json_decref(v);
	llm_response_free(&r);
	json_decref(fmt);
}

/* Runs one generation that must fail; returns it for more checks. */
static void
expect_failure(const char *model, int timeout_s, const char *want1,
    const char *want2, long want_status)
{
	struct llm_backend be = backend(model);
	json_t *schema = small_schema();
	struct llm_request req = { .prompt = "Tell me about you.",
	    .format = schema };
	struct llm_response r;
	char err[512];

	be.timeout_s = timeout_s;
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	if (strstr(err, want1) == NULL || (want2 && !strstr(err, want2)))
		fail_msg("unexpected error: %s", err);
	assert_int_equal(r.http_status, want_status);
	assert_null(r.content);
	assert_null(r.model);
	json_decref(schema);
}

static void
test_unknown_model(void **state)
{
	expect_failure("nope", 20, "HTTP 404",
	    "model \"nope\" not found, try pulling it first", 404);
}

static void
test_error_midstream(void **state)
{
	control("{\"fault\":\"error-midstream\"}");
	expect_failure("mistral", 20, "model error: an error was encountered",
	    "unexpected EOF", 200);
}

static void
test_cut(void **state)
{
	control("{\"fault\":\"cut\"}");
	expect_failure("mistral", 20, "stream ended before the model finished",
	    "backend fake", 200);
}

static void
test_no_done(void **state)
{
	control("{\"fault\":\"no-done\"}");
	expect_failure("mistral", 20, "stream ended before the model finished",
	    "no \"done\": true", 200);
}

static void
test_garbage(void **state)
{
	control("{\"fault\":\"garbage\"}");
	expect_failure("mistral", 20, "not NDJSON", "502 Bad Gateway", 200);
}

static void
test_http500(void **state)
{
	control("{\"fault\":\"http500\"}");
	expect_failure("mistral", 20, "HTTP 500",
	    "llama runner process has terminated", 500);
}

static void
test_timeout(void **state)
{
	double t0 = util_monotonic();

	/* The answer would take 20 s: giving up well before it is the
	 * behaviour; the bound is generous for loaded machines. */
	control("{\"latency_ms\":20000}");
	expect_failure("mistral", 1, "timed out after 1 s", "/api/generate",
	    0);
	assert_true(util_monotonic() - t0 < 15.0);
}

static void
test_stall(void **state)
{
	struct llm_backend be = backend("mistral");
	struct llm_request req = { .prompt = "Hello there." };
	struct llm_response r;
	char err[512];
	double t0 = util_monotonic();

	control("{\"latency_ms\":20000}");
	be.timeout_s = 30;
	be.stall_s = 1;
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	if (strstr(err, "stalled, no data for 1 s") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_true(util_monotonic() - t0 < 15.0);	/* not the 20 s */
	assert_int_equal(r.http_status, 0);
}

static void
test_refused(void **state)
{
	struct llm_backend be = backend("mistral");
	struct llm_request req = { .prompt = "Hello there." };
	struct llm_response r;
	char url[64], err[512];
	json_t *models;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", closed_port());
	be.url = url;
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	if (strstr(err, "cannot connect to http://127.0.0.1:") == NULL ||
	    strstr(err, "Failed to connect") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(r.http_status, 0);
	assert_false(llm_list_models(&be, &models, err, sizeof(err)));
	assert_null(models);
	assert_non_null(strstr(err, "cannot connect"));
}

static void
test_busy(void **state)
{
	struct llm_backend be = backend("mistral");
	struct worker first = { .be = &be, .prompt = "first caller" };
	struct llm_request req = { .prompt = "second caller" };
	struct llm_response r;
	thrd_t t;
	char err[512], *body;
	long status;
	int tries;

	control("{\"max_concurrent\":1,\"latency_ms\":1500}");
	assert_int_equal(thrd_create(&t, worker_main, &first), thrd_success);
	/* Wait until the fake counts the first request in flight. */
	for (tries = 0; tries < 200; tries++) {
		body = http("POST", "/_control", "{}", &status);
		if (strstr(body, "\"active\":1") != NULL) {
			free(body);
			break;
		}
		free(body);
		util_sleep(0.01);
	}
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	if (strstr(err, "HTTP 503") == NULL || strstr(err,
	    "server busy, please try again.  maximum pending requests "
	    "exceeded") == NULL)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(r.http_status, 503);
	thrd_join(t, NULL);
	if (!first.ok)
		fail_msg("first caller: %s", first.err);
	llm_response_free(&first.resp);
}

static void
test_concurrent(void **state)
{
	struct llm_backend be = backend("mistral");
	static const char *prompts[] = { "alpha speaker one", "beta speaker",
	    "gamma introduction", "delta presentation", "epsilon talk",
	    "zeta greeting" };
	struct worker w[6];
	thrd_t t[6];
	json_t *schema = small_schema(), *v;
	struct llm_response again;
	struct llm_request req = { .format = schema };
	char err[512];
	size_t i;

	control("{\"token_ms\":2}");
	for (i = 0; i < ARRAY_LEN(w); i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].be = &be;
		w[i].prompt = prompts[i];
		w[i].format = schema;
		assert_int_equal(thrd_create(&t[i], worker_main, &w[i]),
		    thrd_success);
	}
	for (i = 0; i < ARRAY_LEN(w); i++) {
		thrd_join(t[i], NULL);
		if (!w[i].ok)
			fail_msg("worker %zu: %s", i, w[i].err);
		v = json_loads(w[i].resp.content, 0, NULL);
		assert_true(json_is_integer(json_object_get(v, "score")));
		json_decref(v);
	}
	/* Each thread got its own answer: compare with a serial call. */
	control("{\"token_ms\":0}");
	for (i = 0; i < ARRAY_LEN(w); i++) {
		req.prompt = prompts[i];
		assert_true(llm_generate(&be, &req, &again, err, sizeof(err)));
		assert_string_equal(again.content, w[i].resp.content);
		llm_response_free(&again);
		llm_response_free(&w[i].resp);
	}
	json_decref(schema);
}

static void
test_list_models(void **state)
{
	struct llm_backend be = backend("mistral");
	json_t *models, *m;
	char err[512];

	assert_true(llm_list_models(&be, &models, err, sizeof(err)));
	assert_int_equal(json_array_size(models), 2);
	m = json_array_get(models, 0);
	assert_string_equal(json_string_value(json_object_get(m, "name")),
	    "mistral:latest");
	assert_true(json_is_object(json_object_get(m, "details")));
	assert_true(json_integer_value(json_object_get(m, "size")) > 0);
	m = json_array_get(models, 1);
	assert_string_equal(json_string_value(json_object_get(m, "model")),
	    "llama3:8b");
	json_decref(models);
}

static void
test_unload(void **state)
{
	struct llm_backend be = backend("mistral");
	struct llm_request req = { .prompt = "Load the model please." };
	struct llm_response r;
	char err[512], *body;
	long status;

	assert_true(llm_generate(&be, &req, &r, err, sizeof(err)));
	llm_response_free(&r);
	body = http("GET", "/api/ps", NULL, &status);
	assert_non_null(strstr(body, "mistral:latest"));
	free(body);
	assert_true(llm_unload(&be, err, sizeof(err)));
	body = http("GET", "/api/ps", NULL, &status);
	assert_int_equal(status, 200);
	assert_null(strstr(body, "mistral:latest"));
	free(body);
	be.model = "unknown-model";
	assert_false(llm_unload(&be, err, sizeof(err)));
	assert_non_null(strstr(err, "HTTP 404"));
}

static void
test_bad_backend(void **state)
{
	struct llm_backend be = backend("mistral");
	struct llm_request req = { .prompt = "x" };
	struct llm_response r;
	char err[512];

	be.type = "bogus";
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "type \"bogus\" is not supported"));
	be.type = NULL;
	be.url = "";
	assert_false(llm_generate(&be, &req, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "no url"));
}

/* A rubric schema answer: invalid once (fault), then valid. */
static void
test_rubric_roundtrip(void **state)
{
	struct llm_backend be = backend("mistral");
	json_t *def, *schema, *eval = NULL;
	struct rubric *rb;
	struct llm_request req = { 0 };
	struct llm_response r;
	char err[512], *prompt;

	def = json_loads(rubric_default_json(), 0, NULL);
	rb = rubric_parse(def, err, sizeof(err));
	assert_non_null(rb);
	schema = rubric_schema(rb);
	prompt = rubric_prompt(rb, "Hi, I am Ana. I study biology.", NULL);
	req.prompt = prompt;
	req.format = schema;
	control("{\"fault\":\"invalid-json-once\"}");
	assert_true(llm_generate(&be, &req, &r, err, sizeof(err)));
	assert_false(rubric_validate(rb, r.content, &eval, err, sizeof(err)));
	assert_non_null(strstr(err, "outside"));
	llm_response_free(&r);
	assert_true(llm_generate(&be, &req, &r, err, sizeof(err)));
	if (!rubric_validate(rb, r.content, &eval, err, sizeof(err)))
		fail_msg("%s: %s", err, r.content);
	assert_true(json_is_real(json_object_get(eval, "overall")));
	json_decref(eval);
	llm_response_free(&r);
	free(prompt);
	json_decref(schema);
	json_decref(def);
	rubric_free(rb);
}

/* The fake's request log: one JSON object per request, in time order. */
static void
test_fake_log(void **state)
{
	FILE *f = fopen(fake_log, "r");
	char line[2048];
	json_t *v;
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		v = json_loads(line, 0, NULL);
		assert_non_null(v);
		assert_true(json_number_value(json_object_get(v, "start")) <=
		    json_number_value(json_object_get(v, "end")));
		assert_true(json_is_integer(json_object_get(v, "concurrency")));
		assert_true(json_is_string(json_object_get(v, "path")));
		json_decref(v);
		n++;
	}
	fclose(f);
	assert_true(n > 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_generate_plain, reset_fake),
		cmocka_unit_test_setup(test_generate_schema, reset_fake),
		cmocka_unit_test_setup(test_generate_format_json, reset_fake),
		cmocka_unit_test_setup(test_unknown_model, reset_fake),
		cmocka_unit_test_setup(test_error_midstream, reset_fake),
		cmocka_unit_test_setup(test_cut, reset_fake),
		cmocka_unit_test_setup(test_no_done, reset_fake),
		cmocka_unit_test_setup(test_garbage, reset_fake),
		cmocka_unit_test_setup(test_http500, reset_fake),
		cmocka_unit_test_setup(test_timeout, reset_fake),
		cmocka_unit_test_setup(test_stall, reset_fake),
		cmocka_unit_test_setup(test_refused, reset_fake),
		cmocka_unit_test_setup(test_busy, reset_fake),
		cmocka_unit_test_setup(test_concurrent, reset_fake),
		cmocka_unit_test_setup(test_list_models, reset_fake),
		cmocka_unit_test_setup(test_unload, reset_fake),
		cmocka_unit_test_setup(test_bad_backend, reset_fake),
		cmocka_unit_test_setup(test_rubric_roundtrip, reset_fake),
		cmocka_unit_test_setup(test_fake_log, reset_fake),
	};

	return cmocka_run_group_tests(tests, start_fake, stop_fake);
}
