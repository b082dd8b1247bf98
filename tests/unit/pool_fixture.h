/*
 * pool_fixture: what the pool's tests share (test_pool.c, test_pool_modes.c):
 * stand-in servers (tests/fakes/fake_ollama.py and fake_openai.py) started
 * on free ports, killed and restarted on the same port; a pool built from
 * a loaded configuration; the results and calls it reports, collected
 * from its thread; the stand-ins' request logs. Functions are static
 * inline so each test program uses what it needs.
 */
#ifndef INTROEVAL_POOL_FIXTURE_H
#define INTROEVAL_POOL_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "llm.h"
#include "pool.h"
#include "rubric.h"
#include "util.h"

#define MAX_FAKES	3

struct fake {
	pid_t	 pid;
	int	 port;
	bool	 openai;
	char	 url[64];
	char	 log[160];
	char	 name[16];
};

/* What the pool reported, filled on its thread. */
struct seen {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	json_t		*results;	/* [{id, ok, retryable, error, ...}] */
	json_t		*calls;		/* [{backend, outcome, start, end}] */
};

static struct fake	 fakes[MAX_FAKES];
static struct seen	 seen;
static struct config	 cfg;
static bool		 cfg_loaded;
static struct pool	*pool;
static struct rubric	*rubric;

static inline void	 fake_start(struct fake *, const char *, bool, int,
		    const char *const *);
static inline void	 fake_kill(struct fake *);
static inline void	 control(const struct fake *, const char *);
static inline char	*http_post(const char *, const char *, long *);
static inline char	*http_get(const char *, long *);
static inline void	 sha256_hex(char *, const char *);
static inline const char *stat_state(const char *);
static inline void	 assert_all_ok(size_t);
static inline size_t	 collect(char *, size_t, size_t, void *);
static inline json_t	*backend_json(const struct fake *, int);
static inline void	 make_pool(json_t *, const char *, const char *, int,
		    int, int);
static inline void	 submit(int, int);
static inline void	 on_done(const struct pool_result *, void *);
static inline void	 on_call(const struct pool_call *, void *);
static inline size_t	 wait_results(size_t, double);
static inline int	 count_calls(const char *, const char *);
static inline json_t	*result(size_t);
static inline json_t	*backend_stat(const char *);
static inline int	 log_count(const struct fake *, int, int *);
static inline int	 setup(void **);
static inline int	 teardown(void **);
static inline void	 fixture_init(void);
static inline void	 fixture_done(void);

static inline int
setup(void **state)
{
	char err[256];

	memset(fakes, 0, sizeof(fakes));
	pthread_mutex_lock(&seen.lock);
	json_decref(seen.results);
	json_decref(seen.calls);
	seen.results = json_array();
	seen.calls = json_array();
	pthread_mutex_unlock(&seen.lock);
	if (!config_load(&cfg, NULL, err, sizeof(err)))
		fail_msg("config: %s", err);
	cfg_loaded = true;
	return 0;
}

static inline int
teardown(void **state)
{
	size_t i;

	pool_free(pool);
	pool = NULL;
	for (i = 0; i < MAX_FAKES; i++) {
		fake_kill(&fakes[i]);
		if (fakes[i].log[0] != '\0')
			unlink(fakes[i].log);
	}
	if (cfg_loaded)
		config_free(&cfg);
	cfg_loaded = false;
	return 0;
}

/* Starts a stand-in; port 0 picks one, else it is reused (restart). */
static inline void
fake_start(struct fake *f, const char *name, bool openai, int port,
    const char *const *extra)
{
	const char *dir = getenv("INTROEVAL_SOURCE_DIR");
	const char *argv[32];
	char script[512], portarg[16], line[256];
	struct pollfd pfd;
	size_t n = 0, a = 0;
	ssize_t r = 0;
	int fds[2];

	snprintf(script, sizeof(script), "%s/tests/fakes/%s",
	    dir ? dir : ".", openai ? "fake_openai.py" : "fake_ollama.py");
	snprintf(portarg, sizeof(portarg), "%d", port);
	if (f->log[0] == '\0') {
		snprintf(f->log, sizeof(f->log), "/tmp/test_pool.%d.%s.log",
		    (int)getpid(), name);
		unlink(f->log);
	}
	util_strlcpy(f->name, name, sizeof(f->name));
	f->openai = openai;
	argv[a++] = "python3";
	argv[a++] = script;
	argv[a++] = "--port";
	argv[a++] = portarg;
	argv[a++] = "--model";
	argv[a++] = openai ? "gpt-fake" : "mistral";
	argv[a++] = "--log";
	argv[a++] = f->log;
	while (extra != NULL && *extra != NULL && a < ARRAY_LEN(argv) - 1)
		argv[a++] = *extra++;
	argv[a] = NULL;
	assert_int_equal(pipe(fds), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
		if (poll(&pfd, 1, 10000) != 1 ||
		    (r = read(fds[0], line + n, sizeof(line) - 1 - n)) <= 0)
			fail_msg("%s did not start", name);
		n += (size_t)r;
	}
	close(fds[0]);
	line[n] = '\0';
	if (sscanf(line, "listening on %63s", f->url) != 1 ||
	    sscanf(strrchr(f->url, ':') + 1, "%d", &f->port) != 1)
		fail_msg("%s: %s", name, line);
}

static inline void
fake_kill(struct fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	f->pid = 0;
}

static inline size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

static inline char *
http_post(const char *url, const char *body, long *status)
{
	struct buf out = BUF_INIT;
	CURL *c = curl_easy_init();

	*status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return buf_release(&out);
}

static inline char *
http_get(const char *url, long *status)
{
	return http_post(url, NULL, status);
}

static inline void
control(const struct fake *f, const char *json)
{
	char url[128], *body;
	long status;

	snprintf(url, sizeof(url), "%s/_control", f->url);
	body = http_post(url, json, &status);
	if (status != 200)
		fail_msg("control %s: %ld %s", f->name, status, body);
	free(body);
}

static inline json_t *
backend_json(const struct fake *f, int max_concurrent)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:i}", "name", f->name,
	    "type", f->openai ? "openai" : "ollama", "url", f->url,
	    "model", f->openai ? "gpt-fake" : "mistral",
	    "max_concurrent", max_concurrent, "timeout_s", 20);
}

static inline void
make_pool(json_t *backends, const char *mode, const char *dispatch,
    int health_s, int breaker, int cooldown_s)
{
	char err[512];

	json_decref(cfg.llm_backends);
	cfg.llm_backends = backends;
	free(cfg.evaluation_mode);
	cfg.evaluation_mode = xstrdup(mode);
	free(cfg.llm_dispatch);
	cfg.llm_dispatch = xstrdup(dispatch);
	cfg.llm_health_interval_s = health_s;
	cfg.llm_breaker_failures = breaker;
	cfg.llm_breaker_cooldown_s = cooldown_s;
	pool = pool_new(&cfg, err, sizeof(err));
	if (pool == NULL)
		fail_msg("pool_new: %s", err);
	pool_set_call_hook(pool, on_call, &seen);
}

/* Submits n tasks with ids first, first+1, ... */
static inline void
submit(int first, int n)
{
	struct pool_task t;
	char text[256];
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(text, sizeof(text), "Hello, my name is Student %d. I "
		    "study nursing and I like chess, music and hiking.", i);
		memset(&t, 0, sizeof(t));
		t.submission_id = i;
		t.rubric = rubric;
		t.rubric_id = 1;
		t.transcript = text;
		t.metrics = json_pack("{s:f}", "words_per_minute", 120.0);
		assert_true(pool_submit(pool, &t, on_done, &seen));
		json_decref(t.metrics);
	}
}

static inline void
on_done(const struct pool_result *r, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	json_array_append_new(s->results, json_pack("{s:I,s:b,s:b,s:s,s:O?,"
	    "s:s?,s:s?,s:I,s:I,s:f}", "id", (json_int_t)r->submission_id,
	    "ok", r->ok, "retryable", r->retryable, "error", r->error,
	    "evaluation", r->evaluation, "backend", r->backend,
	    "model", r->model, "prompt_tokens", (json_int_t)r->prompt_tokens,
	    "eval_tokens", (json_int_t)r->eval_tokens, "llm_s", r->llm_s));
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static inline void
on_call(const struct pool_call *c, void *arg)
{
	struct seen *s = arg;

	if (c->started)
		return;		/* the same call is reported when it ends */
	pthread_mutex_lock(&s->lock);
	json_array_append_new(s->calls, json_pack("{s:I,s:s,s:s,s:f,s:f}",
	    "id", (json_int_t)c->submission_id, "backend", c->backend,
	    "outcome", c->outcome, "start", c->started_at, "end",
	    c->finished_at));
	pthread_mutex_unlock(&s->lock);
}

/* Waits until n results arrived or timeout_s passed; returns how many. */
static inline size_t
wait_results(size_t n, double timeout_s)
{
	struct timespec ts;
	double until = util_wallclock() + timeout_s;
	size_t got;

	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&seen.lock);
	while ((got = json_array_size(seen.results)) < n)
		if (pthread_cond_timedwait(&seen.cond, &seen.lock, &ts) ==
		    ETIMEDOUT)
			break;
	got = json_array_size(seen.results);
	pthread_mutex_unlock(&seen.lock);
	return got;
}

static inline json_t *
result(size_t i)
{
	json_t *r;

	pthread_mutex_lock(&seen.lock);
	r = json_incref(json_array_get(seen.results, i));
	pthread_mutex_unlock(&seen.lock);
	json_decref(r);		/* seen keeps it alive */
	return r;
}

/* Calls seen by the hook with this backend (NULL: any) and outcome. */
static inline int
count_calls(const char *backend, const char *outcome)
{
	json_t *c;
	size_t i;
	int n = 0;

	pthread_mutex_lock(&seen.lock);
	json_array_foreach(seen.calls, i, c)
		if ((backend == NULL || strcmp(json_string_value(
		    json_object_get(c, "backend")), backend) == 0) &&
		    (outcome == NULL || strcmp(json_string_value(
		    json_object_get(c, "outcome")), outcome) == 0))
			n++;
	pthread_mutex_unlock(&seen.lock);
	return n;
}

static inline json_t *
backend_stat(const char *name)
{
	json_t *stats = pool_stats(pool), *b, *out = NULL;
	size_t i;

	json_array_foreach(stats, i, b)
		if (strcmp(json_string_value(json_object_get(b, "name")),
		    name) == 0)
			out = json_deep_copy(b);
	json_decref(stats);
	assert_non_null(out);
	return out;
}

static inline const char *
stat_state(const char *name)
{
	static char state[32];
	json_t *b = backend_stat(name);

	util_strlcpy(state, json_string_value(json_object_get(b, "state")),
	    sizeof(state));
	json_decref(b);
	return state;
}

/* Model requests in a stand-in's log with this status (0: any); *maxc
   is the highest concurrency it saw. */
static inline int
log_count(const struct fake *f, int status, int *maxc)
{
	FILE *fp = fopen(f->log, "r");
	char line[4096];
	json_t *v;
	const char *path;
	int n = 0, c;

	if (maxc != NULL)
		*maxc = 0;
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((v = json_loads(line, 0, NULL)) == NULL)
			continue;
		path = json_string_value(json_object_get(v, "path"));
		if (strcmp(path, "/api/generate") == 0 ||
		    strcmp(path, "/v1/chat/completions") == 0) {
			if (status == 0 || json_integer_value(json_object_get(v,
			    "status")) == status)
				n++;
			c = (int)json_integer_value(json_object_get(v,
			    "concurrency"));
			if (maxc != NULL && c > *maxc)
				*maxc = c;
		}
		json_decref(v);
	}
	fclose(fp);
	return n;
}

static inline void
sha256_hex(char *hex, const char *s)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

static inline void
assert_all_ok(size_t n)
{
	json_t *r;
	size_t i;

	for (i = 0; i < n; i++) {
		r = result(i);
		if (!json_is_true(json_object_get(r, "ok")))
			fail_msg("result %zu: %s", i, json_string_value(
			    json_object_get(r, "error")));
	}
}


static inline void
fixture_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	llm_global_init();
	pthread_mutex_init(&seen.lock, NULL);
	pthread_cond_init(&seen.cond, NULL);
	rubric = rubric_default();
}

static inline void
fixture_done(void)
{
	rubric_free(rubric);
	json_decref(seen.results);
	json_decref(seen.calls);
}

#endif
