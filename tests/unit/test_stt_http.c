/*
 * test_stt_http: the whisper_http and openai_http engines against
 * tests/fakes/fake_stt.py, one fake per API started once on a free port
 * and switched at runtime through its /_control endpoint. The fakes
 * answer with the true text of the intro01 fixture, timed from the
 * uploaded WAV, so the words must come back exactly: whisper.cpp's
 * tokens joined into words, punctuation and annotations gone, times
 * passed through (or spread over each segment when the answer has no
 * word times). Then every fault the fakes offer, busy answers, refused
 * connections, timeouts, bad keys, several threads on one engine,
 * engines chosen by configuration, and the fakes' request logs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "llm.h"
#include "media.h"
#include "proc.h"
#include "stt.h"
#include "stt_impl.h"
#include "util.h"

/* media_extract_wav's verdict on a failure: the machine's or the file's. */
static bool transient;

#define API_KEY		"sk-test-0123456789"
#define NFAKES		2

struct fake {
	const char	*api;
	const char	*engine;
	pid_t		 pid;
	int		 out;
	char		 url[64];
	char		 log[128];
};

struct progress_log {
	double		 first;
	double		 last;
	int		 calls;
};

struct worker {
	struct stt_engine *engine;
	const char	*wav;
	bool		 ok;
	struct stt_result res;
	char		 err[512];
};

static struct fake fakes[NFAKES] = {
	{ "whisper", "whisper_http", -1, -1, "", "" },
	{ "openai", "openai_http", -1, -1, "", "" },
};
static char	 tmpdir[64];
static char	*wav01;		/* NULL when the fixture is missing */
static char	*truth01;
static char	*truth_file;

static int	 setup(void **);
static int	 teardown(void **);
static int	 reset(void **);
static char	*shared_path(const char *);
static char	*true_text(const char *);
static bool	 start_fake(struct fake *);
static void	 stop_fake(struct fake *);
static char	*http(const struct fake *, const char *, const char *, long *);
static size_t	 collect(char *, size_t, size_t, void *);
static void	 control(const struct fake *, const char *);
static int	 active(const struct fake *);
static struct stt_engine *engine(const struct fake *, int);
static size_t	 tokens(const char *, char ***);
static void	 free_tokens(char **, size_t);
static void	 check_words(const struct stt_result *, const char *);
static void	 check_times(const struct stt_result *);
static size_t	 find_word(const struct stt_result *, const char *);
static void	 expect_failure(const struct fake *, int, const char *,
		    const char *);
static void	 on_progress(double, void *);
static void	*worker_main(void *);
static int	 closed_port(void);

static char *
shared_path(const char *rel)
{
	const char *dir = getenv("INTROEVAL_SHARED_DIR");
	const char *src = getenv("INTROEVAL_SOURCE_DIR");

	if (dir && *dir)
		return xasprintf("%s/%s", dir, rel);
	if (src && *src)
		return xasprintf("%s/../shared/%s", src, rel);
	return xasprintf("../shared/%s", rel);
}

static char *
true_text(const char *id)
{
	char *path = shared_path("fixtures/intros.json"), *text = NULL;
	const char *s;
	json_t *root, *e;
	size_t i;

	root = json_load_file(path, 0, NULL);
	free(path);
	json_array_foreach(root, i, e) {
		s = json_string_value(json_object_get(e, "id"));
		if (s != NULL && strcmp(s, id) == 0)
			text = xstrdup(json_string_value(json_object_get(e,
			    "text")));
	}
	json_decref(root);
	return text;
}

static int
setup(void **state)
{
	char *mp4, err[256];
	FILE *fp;
	int i;

	llm_global_init();	/* curl_global_init, once */
	util_strlcpy(tmpdir, "/tmp/test_stt_http.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	mp4 = shared_path("fixtures/intros/intro01.mp4");
	wav01 = xasprintf("%s/intro01.wav", tmpdir);
	if (access(mp4, R_OK) == -1 ||
	    !media_extract_wav(mp4, wav01, 60, &transient, err, sizeof(err))) {
		fprintf(stderr, "intro01 not available: %s\n", err);
		free(wav01);
		wav01 = NULL;
	}
	free(mp4);
	truth01 = true_text("intro01");
	if (truth01 == NULL)
		truth01 = xstrdup("Hello everyone. My name is Priya Sharma.");
	truth_file = xasprintf("%s/truth.txt", tmpdir);
	if ((fp = fopen(truth_file, "w")) == NULL)
		return -1;
	fputs(truth01, fp);
	fclose(fp);
	for (i = 0; i < NFAKES; i++)
		if (!start_fake(&fakes[i]))
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	const char *argv[] = { "rm", "-rf", tmpdir, NULL };
	struct proc_result res;
	int i;

	for (i = 0; i < NFAKES; i++)
		stop_fake(&fakes[i]);
	proc_run(argv, NULL, &res, NULL, 0);
	proc_result_free(&res);
	free(wav01);
	free(truth01);
	free(truth_file);
	llm_global_cleanup();
	return 0;
}

/* Starts fake_stt.py and reads "listening on http://127.0.0.1:PORT". */
static bool
start_fake(struct fake *f)
{
	const char *dir = getenv("INTROEVAL_SOURCE_DIR");
	char script[512], line[256];
	struct pollfd pfd;
	size_t n = 0;
	ssize_t r;
	int fds[2];

	snprintf(script, sizeof(script), "%s/tests/fakes/fake_stt.py",
	    dir ? dir : ".");
	snprintf(f->log, sizeof(f->log), "%s/fake_%s.log", tmpdir, f->api);
	if (pipe(fds) == -1 || (f->pid = fork()) == -1)
		return false;
	if (f->pid == 0) {
		/* Do not outlive a test binary that crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, "--port", "0", "--api",
		    f->api, "--transcript-file", truth_file, "--log", f->log,
		    "--api-key", API_KEY, "--model", "whisper-1",
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f->out = fds[0];
	pfd.fd = f->out;
	pfd.events = POLLIN;
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
		if (poll(&pfd, 1, 10000) != 1 ||
		    (r = read(f->out, line + n, sizeof(line) - 1 - n)) <= 0) {
			fprintf(stderr, "fake_stt --api %s did not start\n",
			    f->api);
			return false;
		}
		n += (size_t)r;
	}
	line[n] = '\0';
	return sscanf(line, "listening on %63s", f->url) == 1;
}

static void
stop_fake(struct fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
	}
	if (f->out != -1)
		close(f->out);
	f->pid = f->out = -1;
}

/* Puts both fakes back to normal and lets abandoned requests drain. */
static int
reset(void **state)
{
	json_t *j;
	char *s;
	int i, tries;
	bool idle = true;

	j = json_pack("{s:s,s:i,s:i,s:s,s:b}", "fault", "none",
	    "latency_ms", 0, "max_concurrent", 0, "text", truth01,
	    "word_times", 1);
	s = json_dumps(j, JSON_COMPACT);
	for (i = 0; i < NFAKES; i++) {
		control(&fakes[i], s);
		for (tries = 0; active(&fakes[i]) != 0; tries++) {
			if (tries == 500) {
				idle = false;
				break;
			}
			util_sleep(0.01);
		}
	}
	free(s);
	json_decref(j);
	return idle ? 0 : -1;
}

/* A plain HTTP call to a fake; returns the body (caller frees). */
static char *
http(const struct fake *f, const char *path, const char *body, long *status)
{
	struct buf out = BUF_INIT;
	char *url = xasprintf("%s%s", f->url, path);
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
control(const struct fake *f, const char *json)
{
	long status;
	char *body = http(f, "/_control", json, &status);

	if (status != 200)
		fail_msg("fake %s: /_control %s: %ld %s", f->api, json, status,
		    body);
	free(body);
}

/* Transcriptions the fake has in flight. */
static int
active(const struct fake *f)
{
	long status;
	char *body = http(f, "/_control", "{}", &status);
	json_t *j = json_loads(body, 0, NULL);
	int n = (int)json_integer_value(json_object_get(j, "active"));

	json_decref(j);
	free(body);
	return n;
}

static struct stt_engine *
engine(const struct fake *f, int timeout_s)
{
	struct stt_config cfg = { .engine = f->engine, .url = f->url,
	    .api_key = API_KEY, .timeout_s = timeout_s };
	struct stt_engine *e;
	char err[256];

	if ((e = stt_engine_new(&cfg, err, sizeof(err))) == NULL)
		fail_msg("%s: %s", f->engine, err);
	assert_string_equal(stt_engine_name(e), f->engine);
	return e;
}

/* Lower-case words; punctuation other than apostrophes separates. */
static size_t
tokens(const char *s, char ***out)
{
	char *copy = xstrdup(s), *p, *save = NULL, **v = NULL;
	size_t n = 0;

	for (p = copy; *p; p++)
		*p = isalnum((unsigned char)*p) || *p == '\'' ?
		    (char)tolower((unsigned char)*p) : ' ';
	for (p = strtok_r(copy, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrdup(p);
	}
	free(copy);
	*out = v;
	return n;
}

static void
free_tokens(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The words are exactly the tokens of want, and the text joins them. */
static void
check_words(const struct stt_result *res, const char *want)
{
	struct buf b = BUF_INIT;
	char **t;
	size_t n = tokens(want, &t), i;

	if (res->nwords != n)
		fail_msg("%zu words, expected %zu: %s", res->nwords, n,
		    res->text);
	for (i = 0; i < n; i++) {
		assert_string_equal(res->words[i].word, t[i]);
		buf_printf(&b, "%s%s", i ? " " : "", t[i]);
	}
	assert_string_equal(res->text, buf_cstr(&b));
	buf_free(&b);
	free_tokens(t, n);
}

/* In the audio, in order, not overlapping, confidences in (0, 1]. */
static void
check_times(const struct stt_result *res)
{
	const struct stt_word *w;
	size_t i;

	for (i = 0; i < res->nwords; i++) {
		w = &res->words[i];
		assert_true(w->start_s >= 0);
		assert_true(w->end_s > w->start_s);
		assert_true(w->end_s <= res->audio_s + 1e-9);
		if (i > 0)
			assert_true(w->start_s >= res->words[i - 1].end_s);
		assert_true(w->confidence > 0 && w->confidence <= 1);
	}
}

static size_t
find_word(const struct stt_result *res, const char *word)
{
	size_t i;

	for (i = 0; i < res->nwords; i++)
		if (strcmp(res->words[i].word, word) == 0)
			return i;
	fail_msg("no \"%s\" in: %s", word, res->text);
	return 0;
}

static void
on_progress(double fraction, void *arg)
{
	struct progress_log *p = arg;

	if (p->calls++ == 0)
		p->first = fraction;
	p->last = fraction;
}

static void
test_transcribe_intro01(void **state)
{
	struct progress_log pl = { -1, -1, 0 };
	struct stt_engine *e;
	struct stt_result res;
	char err[512];
	size_t i, k;
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		memset(&pl, 0, sizeof(pl));
		e = engine(&fakes[f], 30);
		if (!stt_transcribe(e, wav01, on_progress, &pl, &res, err,
		    sizeof(err)))
			fail_msg("%s: %s", fakes[f].engine, err);
		print_message("%s: %zu words, %.1f s audio in %.3f s\n",
		    fakes[f].engine, res.nwords, res.audio_s, res.decode_s);
		check_words(&res, truth01);
		check_times(&res);
		assert_true(res.audio_s > 20.7 && res.audio_s < 20.9);
		assert_true(res.decode_s > 0 && res.decode_s < 10);
		/* Times come from the answer: a pause after "everyone." */
		i = find_word(&res, "everyone");
		assert_true(res.words[i + 1].start_s - res.words[i].end_s >
		    0.3);
		assert_true(res.words[0].start_s > 0.2);
		/* "programming" was two tokens for whisper.cpp. */
		k = find_word(&res, "programming");
		assert_true(res.words[k].end_s - res.words[k].start_s > 0.2);
		assert_int_equal(pl.calls, 2);
		assert_true(pl.first == 0.0 && pl.last == 1.0);
		stt_result_free(&res);
		stt_engine_free(e);
	}
}

/* Without word times, each segment's words share its span evenly. */
static void
test_no_word_times(void **state)
{
	struct stt_engine *e;
	struct stt_result res;
	double d0, d1;
	char err[512];
	size_t i;
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"word_times\":false}");
		e = engine(&fakes[f], 30);
		if (!stt_transcribe(e, wav01, NULL, NULL, &res, err,
		    sizeof(err)))
			fail_msg("%s: %s", fakes[f].engine, err);
		check_words(&res, truth01);
		check_times(&res);
		/* "hello everyone." is the first segment: two equal halves. */
		d0 = res.words[0].end_s - res.words[0].start_s;
		d1 = res.words[1].end_s - res.words[1].start_s;
		assert_true(fabs(d0 - d1) < 1e-6);
		/* ... and the pause between segments is kept. */
		i = find_word(&res, "everyone");
		assert_true(res.words[i + 1].start_s - res.words[i].end_s >
		    0.3);
		stt_result_free(&res);
		stt_engine_free(e);
	}
}

/* Annotations, typographic quotes and apostrophes come out clean. */
static void
test_cleaning(void **state)
{
	const char *text = "[BLANK_AUDIO] Hello (upbeat music) world. "
	    "I\xe2\x80\x99m \xe2\x80\x9c" "fine\xe2\x80\x9d, thanks!";
	struct stt_engine *e;
	struct stt_result res;
	json_t *j;
	char err[512], *s;
	int f;

	if (wav01 == NULL)
		skip();
	j = json_pack("{s:s}", "text", text);
	s = json_dumps(j, JSON_COMPACT);
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], s);
		e = engine(&fakes[f], 30);
		if (!stt_transcribe(e, wav01, NULL, NULL, &res, err,
		    sizeof(err)))
			fail_msg("%s: %s", fakes[f].engine, err);
		/* OpenAI's words carry no brackets: only whisper.cpp's do. */
		assert_string_equal(res.text, f == 0 ?
		    "hello world i'm fine thanks" :
		    "blank_audio hello upbeat music world i'm fine thanks");
		check_times(&res);
		stt_result_free(&res);
		stt_engine_free(e);
	}
	free(s);
	json_decref(j);
}

static void
test_empty_transcript(void **state)
{
	struct stt_engine *e;
	struct stt_result res;
	char err[512];
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"text\":\"\"}");
		e = engine(&fakes[f], 30);
		assert_true(stt_transcribe(e, wav01, NULL, NULL, &res, err,
		    sizeof(err)));
		assert_int_equal(res.nwords, 0);
		assert_null(res.words);
		assert_string_equal(res.text, "");
		assert_true(res.audio_s > 20);
		stt_result_free(&res);
		stt_engine_free(e);
	}
}

/* One transcription that must fail with both substrings in the error. */
static void
expect_failure(const struct fake *f, int timeout_s, const char *want1,
    const char *want2)
{
	struct stt_engine *e = engine(f, timeout_s);
	struct progress_log pl = { -1, -1, 0 };
	struct stt_result res;
	char err[512] = "";

	assert_false(stt_transcribe(e, wav01, on_progress, &pl, &res, err,
	    sizeof(err)));
	if (strstr(err, want1) == NULL || (want2 && !strstr(err, want2)))
		fail_msg("%s: unexpected error: %s", f->engine, err);
	if (strstr(err, f->url) == NULL && strstr(err, "cannot reach") == NULL)
		fail_msg("%s: the error does not name the server: %s",
		    f->engine, err);
	/* Nothing to free, and progress never claimed the end. */
	assert_null(res.words);
	assert_null(res.text);
	assert_int_equal(res.nwords, 0);
	assert_true(pl.calls == 1 && pl.last == 0.0);
	assert_null(strstr(err, "s3cret"));
	assert_null(strstr(err, API_KEY));
	stt_engine_free(e);
}

static void
test_faults(void **state)
{
	const struct fake *w = &fakes[0], *o = &fakes[1];
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"fault\":\"503\"}");
		expect_failure(&fakes[f], 30, "is busy: it answered 503", NULL);
		control(&fakes[f], "{\"fault\":\"garbage\"}");
		expect_failure(&fakes[f], 30, "sent an answer that is not JSON",
		    "502 Bad Gateway");
		control(&fakes[f], "{\"fault\":\"cut\"}");
		expect_failure(&fakes[f], 30, "closed the connection before "
		    "its answer was complete", NULL);
		control(&fakes[f], "{\"fault\":\"refuse-once\"}");
		expect_failure(&fakes[f], 30, "closed the connection without "
		    "answering", NULL);
	}
	/* whisper.cpp reports some errors under status 200. */
	control(w, "{\"fault\":\"error\"}");
	expect_failure(w, 30, "reported an error: failed to read audio data",
	    NULL);
	control(o, "{\"fault\":\"error\"}");
	expect_failure(o, 30, "answered 400: Audio file might be corrupted",
	    NULL);
}

/* A "-once" fault strikes one call; the next one succeeds. */
static void
test_once_then_ok(void **state)
{
	struct stt_engine *e;
	struct stt_result res;
	char err[512];
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"fault\":\"503-once\"}");
		expect_failure(&fakes[f], 30, "answered 503", NULL);
		e = engine(&fakes[f], 30);
		if (!stt_transcribe(e, wav01, NULL, NULL, &res, err,
		    sizeof(err)))
			fail_msg("%s: %s", fakes[f].engine, err);
		check_words(&res, truth01);
		stt_result_free(&res);
		stt_engine_free(e);
	}
}

static void
test_timeout(void **state)
{
	double t0;
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"fault\":\"timeout\"}");
		t0 = util_monotonic();
		expect_failure(&fakes[f], 1, "did not answer within 1 s", NULL);
		assert_true(util_monotonic() - t0 < 3.0);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->ok = stt_transcribe(w->engine, w->wav, NULL, NULL, &w->res, w->err,
	    sizeof(w->err));
	return NULL;
}

/* Over the server's limit: 503 from whisper.cpp, 429 from OpenAI. */
static void
test_busy(void **state)
{
	struct worker first;
	struct stt_engine *e;
	pthread_t t;
	int f, tries;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f],
		    "{\"max_concurrent\":1,\"latency_ms\":1500}");
		e = engine(&fakes[f], 30);
		memset(&first, 0, sizeof(first));
		first.engine = e;
		first.wav = wav01;
		assert_int_equal(pthread_create(&t, NULL, worker_main, &first),
		    0);
		for (tries = 0; tries < 300 && active(&fakes[f]) < 1; tries++)
			util_sleep(0.01);
		expect_failure(&fakes[f], 30, "is busy: it answered",
		    f == 0 ? "503" : "429: Rate limit reached");
		pthread_join(t, NULL);
		if (!first.ok)
			fail_msg("first caller: %s", first.err);
		check_words(&first.res, truth01);
		stt_result_free(&first.res);
		stt_engine_free(e);
	}
}

/* One engine, several threads: the calls overlap on the server. */
static void
test_concurrent(void **state)
{
	struct worker w[4];
	pthread_t t[4];
	struct stt_engine *e;
	char line[1024];
	double since;
	json_t *v;
	FILE *fp;
	int f, i, most;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		control(&fakes[f], "{\"latency_ms\":400}");
		since = util_wallclock();
		e = engine(&fakes[f], 30);
		for (i = 0; i < 4; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].engine = e;
			w[i].wav = wav01;
			assert_int_equal(pthread_create(&t[i], NULL,
			    worker_main, &w[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			if (!w[i].ok)
				fail_msg("worker %d: %s", i, w[i].err);
			check_words(&w[i].res, truth01);
			stt_result_free(&w[i].res);
		}
		stt_engine_free(e);
		/* The fake saw them in flight together. */
		assert_non_null(fp = fopen(fakes[f].log, "r"));
		most = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			v = json_loads(line, 0, NULL);
			if (json_number_value(json_object_get(v, "start")) >=
			    since && json_integer_value(json_object_get(v,
			    "concurrency")) > most)
				most = (int)json_integer_value(
				    json_object_get(v, "concurrency"));
			json_decref(v);
		}
		fclose(fp);
		assert_true(most >= 2);
	}
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
test_refused(void **state)
{
	struct fake dead = fakes[0];
	int f;

	if (wav01 == NULL)
		skip();
	for (f = 0; f < NFAKES; f++) {
		dead.engine = fakes[f].engine;
		snprintf(dead.url, sizeof(dead.url), "http://127.0.0.1:%d/",
		    closed_port());
		expect_failure(&dead, 5, "cannot reach the speech server at "
		    "http://127.0.0.1:", "Failed to connect");
	}
	/* A password in the url stays out of messages. */
	snprintf(dead.url, sizeof(dead.url), "http://ann:s3cret@127.0.0.1:%d",
	    closed_port());
	expect_failure(&dead, 5, "cannot reach the speech server at "
	    "http://***@127.0.0.1:", NULL);
}

static void
test_openai_key_and_model(void **state)
{
	struct stt_config cfg = { .engine = "openai_http",
	    .url = fakes[1].url, .api_key = "sk-wrong-key-0000" };
	struct stt_engine *e;
	struct stt_result res;
	char err[512];

	if (wav01 == NULL)
		skip();
	e = stt_engine_new(&cfg, err, sizeof(err));
	assert_false(stt_transcribe(e, wav01, NULL, NULL, &res, err,
	    sizeof(err)));
	if (strstr(err, "answered 401: Incorrect API key provided") == NULL)
		fail_msg("unexpected error: %s", err);
	stt_engine_free(e);

	cfg.api_key = NULL;
	e = stt_engine_new(&cfg, err, sizeof(err));
	assert_false(stt_transcribe(e, wav01, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "You didn't provide an API key"));
	stt_engine_free(e);

	cfg.api_key = API_KEY;
	cfg.model = "nope";
	e = stt_engine_new(&cfg, err, sizeof(err));
	assert_false(stt_transcribe(e, wav01, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "answered 404: The model `nope` does not "
	    "exist"));
	stt_engine_free(e);
}

/* Bad audio is refused before anything is sent. */
static void
test_bad_audio(void **state)
{
	struct stt_engine *e = engine(&fakes[0], 30);
	struct stt_result res;
	char err[512], *path;
	unsigned char hdr8k[44] = {
		'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
		'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
		0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0,
		'd', 'a', 't', 'a', 0, 0, 0, 0,
	};
	FILE *fp;

	path = xasprintf("%s/missing.wav", tmpdir);
	assert_false(stt_transcribe(e, path, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	free(path);

	path = xasprintf("%s/8k.wav", tmpdir);
	assert_non_null(fp = fopen(path, "wb"));
	fwrite(hdr8k, 1, sizeof(hdr8k), fp);
	fclose(fp);
	assert_false(stt_transcribe(e, path, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "8000 Hz audio, expected 16000"));
	free(path);
	stt_engine_free(e);
}

static void
test_config(void **state)
{
	struct stt_config cfg = { 0 };
	struct stt_engine *e;
	char err[256];

	cfg.engine = "kaldi";
	assert_null(stt_engine_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "speech engine \"kaldi\" is unknown"));

	cfg.engine = "whisper_http";
	assert_null(stt_engine_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "whisper_http speech engine needs the "
	    "server's url"));
	cfg.url = "ftp://gpu1:8080";
	assert_null(stt_engine_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "must start with http://"));

	cfg.engine = "openai_http";
	cfg.url = "https://api.example.com/";
	assert_non_null(e = stt_engine_new(&cfg, err, sizeof(err)));
	assert_string_equal(stt_engine_name(e), "openai_http");
	stt_engine_free(e);

	/* NULL means PocketSphinx; a bad model directory is its error. */
	cfg.engine = NULL;
	cfg.model_dir = "/nonexistent/model";
	assert_null(stt_engine_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "speech model not found"));
	cfg.engine = "pocketsphinx";
	cfg.model_dir = "";
	assert_non_null(e = stt_engine_new(&cfg, err, sizeof(err)));
	assert_string_equal(stt_engine_name(e), "pocketsphinx");
	stt_engine_free(e);
}

/* The cleaning both kinds of engine share (stt_impl.h). */
static void
test_clean_word(void **state)
{
	static const char *const cases[][2] = {
		{ "hello", "hello" }, { " Hello,", "hello" },
		{ "read(2)", "read" }, { "<s>", NULL }, { "</s>", NULL },
		{ "<sil>", NULL }, { "[NOISE]", NULL }, { "++GARBAGE++", NULL },
		{ "'cause", "'cause" }, { "actors'", "actors'" },
		{ "a.m.", "a.m." }, { "etc.", "etc" }, { "3.5", "3.5" },
		{ "self-introduction", "self-introduction" },
		{ "--", NULL }, { "...", NULL }, { "'", NULL }, { "", NULL },
		{ "'Hello'", "hello" }, { "Don\xe2\x80\x99t", "don't" },
		{ "\xe2\x80\x9c" "Fine\xe2\x80\x9d,", "fine" },
		{ "\xe2\x80\xa6", NULL },
		{ "\xc2\xbfQu\xc3\xa9?", "qu\xc3\xa9" },
	};
	char *w;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		w = stt_clean_word(cases[i][0]);
		if (cases[i][1] == NULL && w != NULL)
			fail_msg("\"%s\" gave \"%s\", expected nothing",
			    cases[i][0], w);
		if (cases[i][1] != NULL && (w == NULL ||
		    strcmp(w, cases[i][1]) != 0))
			fail_msg("\"%s\" gave \"%s\", expected \"%s\"",
			    cases[i][0], w ? w : "(nothing)", cases[i][1]);
		free(w);
	}
}

/* The fakes' request logs: one JSON object per request. */
static void
test_fake_log(void **state)
{
	char line[2048];
	json_t *v;
	FILE *fp;
	int f, n;

	for (f = 0; f < NFAKES; f++) {
		assert_non_null(fp = fopen(fakes[f].log, "r"));
		n = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			v = json_loads(line, 0, NULL);
			assert_non_null(v);
			assert_true(json_number_value(json_object_get(v,
			    "start")) <= json_number_value(json_object_get(v,
			    "end")));
			assert_true(json_is_integer(json_object_get(v,
			    "concurrency")));
			assert_string_equal(json_string_value(json_object_get(v,
			    "api")), fakes[f].api);
			json_decref(v);
			n++;
		}
		fclose(fp);
		assert_true(n > 10);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_transcribe_intro01, reset),
		cmocka_unit_test_setup(test_no_word_times, reset),
		cmocka_unit_test_setup(test_cleaning, reset),
		cmocka_unit_test_setup(test_empty_transcript, reset),
		cmocka_unit_test_setup(test_faults, reset),
		cmocka_unit_test_setup(test_once_then_ok, reset),
		cmocka_unit_test_setup(test_timeout, reset),
		cmocka_unit_test_setup(test_busy, reset),
		cmocka_unit_test_setup(test_concurrent, reset),
		cmocka_unit_test_setup(test_refused, reset),
		cmocka_unit_test_setup(test_openai_key_and_model, reset),
		cmocka_unit_test_setup(test_bad_audio, reset),
		cmocka_unit_test_setup(test_config, reset),
		cmocka_unit_test(test_clean_word),
		cmocka_unit_test_setup(test_fake_log, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
