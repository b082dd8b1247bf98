/*
 * test_stt: PocketSphinx on the shared fixtures — transcript quality
 * against the true text, word timings, progress, determinism, callers
 * on several threads, and errors for bad models and bad audio.
 *
 * Measured with this engine (splitting at pauses, whole-utterance
 * decoding): intro01 shares 0.86 of its true words with the transcript
 * (WER 0.31); over the six fixtures the mean WER is 0.50, pooled 0.42.
 * The threshold below leaves room for small differences between builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "media.h"
#include "proc.h"
#include "stt.h"
#include "util.h"

/* media_extract_wav's verdict on a failure: the machine's or the file's. */
static bool transient;

#define MIN_OVERLAP	0.70	/* measured 0.86 on intro01 */

struct fixture {
	struct stt_engine	*engine;
	char			 dir[64];
	char			*wav01;	/* NULL when fixtures are missing */
	char			*wav06;
	char			*truth01;
};

struct progress_log {
	double	 last;
	int	 calls;
	bool	 monotonic;
};

struct thread_job {
	struct stt_engine	*engine;
	const char		*wav;
	char			*text;
};

static char	*shared_path(const char *);
static char	*extract(struct fixture *, const char *);
static char	*true_text(const char *);
static size_t	 tokens(const char *, char ***);
static void	 free_tokens(char **, size_t);
static double	 overlap(const char *, const char *);
static void	 on_progress(double, void *);
static void	*transcribe_thread(void *);

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
extract(struct fixture *f, const char *id)
{
	char *mp4, *wav, rel[64], err[256];

	snprintf(rel, sizeof(rel), "fixtures/intros/%s.mp4", id);
	mp4 = shared_path(rel);
	wav = xasprintf("%s/%s.wav", f->dir, id);
	if (access(mp4, R_OK) == -1 ||
	    !media_extract_wav(mp4, wav, 60, &transient, err, sizeof(err))) {
		free(wav);
		wav = NULL;
	}
	free(mp4);
	return wav;
}

static char *
true_text(const char *id)
{
	char *path = shared_path("fixtures/intros.json"), *text = NULL;
	json_t *root, *e;
	size_t i;

	root = json_load_file(path, 0, NULL);
	free(path);
	json_array_foreach(root, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			text = xstrdup(json_string_value(json_object_get(e,
			    "text")));
	json_decref(root);
	return text;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256];

	util_strlcpy(f->dir, "/tmp/test_stt.XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if ((f->engine = stt_pocketsphinx_new(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "stt: %s\n", err);
		return -1;
	}
	f->wav01 = extract(f, "intro01");
	f->wav06 = extract(f, "intro06");
	f->truth01 = true_text("intro01");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "rm", "-rf", f->dir, NULL };
	struct proc_result res;

	proc_run(argv, NULL, &res, NULL, 0);
	proc_result_free(&res);
	stt_engine_free(f->engine);
	free(f->wav01);
	free(f->wav06);
	free(f->truth01);
	free(f);
	return 0;
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
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
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

/* Fraction of the true words (with repeats) that the transcript has. */
static double
overlap(const char *truth, const char *hyp)
{
	char **t, **h;
	size_t nt = tokens(truth, &t), nh = tokens(hyp, &h), i, j, hit = 0;
	bool *used = xcalloc(nh + 1, sizeof(*used));

	for (i = 0; i < nt; i++)
		for (j = 0; j < nh; j++)
			if (!used[j] && strcmp(t[i], h[j]) == 0) {
				used[j] = true;
				hit++;
				break;
			}
	free(used);
	free_tokens(t, nt);
	free_tokens(h, nh);
	return nt ? (double)hit / (double)nt : 0;
}

static void
on_progress(double fraction, void *arg)
{
	struct progress_log *p = arg;

	if (fraction < p->last || fraction > 1.0)
		p->monotonic = false;
	p->last = fraction;
	p->calls++;
}

static void
test_transcribe_intro01(void **state)
{
	struct fixture *f = *state;
	struct progress_log pl = { 0, 0, true };
	struct stt_result res;
	char err[256] = "";
	double ov;
	size_t i;

	if (f->wav01 == NULL || f->truth01 == NULL)
		skip();
	assert_true(stt_transcribe(f->engine, f->wav01, on_progress, &pl,
	    &res, err, sizeof(err)));
	ov = overlap(f->truth01, res.text);
	print_message("intro01: overlap %.2f, %.1f s audio in %.1f s: %s\n",
	    ov, res.audio_s, res.decode_s, res.text);
	assert_true(ov >= MIN_OVERLAP);

	assert_true(res.audio_s > 20.7 && res.audio_s < 20.9);
	assert_true(res.nwords > 20);
	for (i = 0; i < res.nwords; i++) {
		const struct stt_word *w = &res.words[i];

		assert_true(w->start_s >= 0);
		assert_true(w->end_s > w->start_s);
		assert_true(w->end_s <= res.audio_s + 0.01);
		if (i > 0)
			assert_true(w->start_s >= res.words[i - 1].end_s - 1e-9);
		assert_true(w->confidence >= 0 && w->confidence <= 1);
		/* No silence or noise tokens, no pronunciation markers. */
		assert_null(strpbrk(w->word, "<>[]()+ "));
		assert_true(w->word[0] != '\0');
	}
	/* "My name" begins after the first pause, at about 1.9 s. */
	for (i = 0; i < res.nwords; i++)
		if (strcmp(res.words[i].word, "name") == 0)
			break;
	assert_true(i < res.nwords);
	assert_true(res.words[i].start_s > 1.9 && res.words[i].start_s < 2.6);

	assert_true(pl.monotonic);
	assert_true(pl.calls >= 2);
	assert_true(pl.last == 1.0);
	stt_result_free(&res);
}

static void
test_text_matches_words(void **state)
{
	struct fixture *f = *state;
	struct stt_result res;
	struct buf b = BUF_INIT;
	char err[256] = "";
	size_t i;

	if (f->wav06 == NULL)
		skip();
	assert_true(stt_transcribe(f->engine, f->wav06, NULL, NULL, &res, err,
	    sizeof(err)));
	for (i = 0; i < res.nwords; i++)
		buf_printf(&b, "%s%s", i ? " " : "", res.words[i].word);
	assert_string_equal(res.text, buf_cstr(&b));
	buf_free(&b);
	stt_result_free(&res);
}

/* The same file gives the same words whatever was decoded before it. */
static void
test_deterministic(void **state)
{
	struct fixture *f = *state;
	struct stt_result a, b;
	char err[256] = "";

	if (f->wav06 == NULL || f->wav01 == NULL)
		skip();
	assert_true(stt_transcribe(f->engine, f->wav06, NULL, NULL, &a, err,
	    sizeof(err)));
	assert_true(stt_transcribe(f->engine, f->wav01, NULL, NULL, &b, err,
	    sizeof(err)));
	stt_result_free(&b);
	assert_true(stt_transcribe(f->engine, f->wav06, NULL, NULL, &b, err,
	    sizeof(err)));
	assert_string_equal(a.text, b.text);
	assert_int_equal(a.nwords, b.nwords);
	if (a.nwords > 0)
		assert_true(a.words[0].start_s == b.words[0].start_s);
	stt_result_free(&a);
	stt_result_free(&b);
}

static void *
transcribe_thread(void *arg)
{
	struct thread_job *job = arg;
	struct stt_result res;
	char err[256];

	if (stt_transcribe(job->engine, job->wav, NULL, NULL, &res, err,
	    sizeof(err))) {
		job->text = xstrdup(res.text);
		stt_result_free(&res);
	}
	return NULL;
}

static void
test_threads_share_engine(void **state)
{
	struct fixture *f = *state;
	struct thread_job jobs[3];
	pthread_t th[3];
	int i;

	if (f->wav06 == NULL)
		skip();
	for (i = 0; i < 3; i++) {
		jobs[i] = (struct thread_job){ f->engine, f->wav06, NULL };
		assert_int_equal(pthread_create(&th[i], NULL,
		    transcribe_thread, &jobs[i]), 0);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < 3; i++) {
		assert_non_null(jobs[i].text);
		assert_string_equal(jobs[i].text, jobs[0].text);
	}
	for (i = 0; i < 3; i++)
		free(jobs[i].text);
}

static void
test_words_json(void **state)
{
	struct stt_word words[] = {
		{ "hello", 0.1234, 0.5, 0.98765 },
		{ "world", 0.6, 1.25, 0.5 },
	};
	struct stt_result res = { "hello world", words, 2, 1.5, 0.3 };
	json_t *j;
	char *s;

	j = stt_words_to_json(&res);
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	assert_string_equal(s, "[{\"w\":\"hello\",\"s\":0.123,\"e\":0.5,"
	    "\"c\":0.988},{\"w\":\"world\",\"s\":0.6,\"e\":1.25,\"c\":0.5}]");
	free(s);
	json_decref(j);

	res.nwords = 0;
	j = stt_words_to_json(&res);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

static void
test_silence(void **state)
{
	struct fixture *f = *state;
	static int16_t zeros[16000];
	struct stt_result res;
	char err[256] = "", *path;
	FILE *fp;
	unsigned char hdr[44] = {
		'R', 'I', 'F', 'F', 0x24, 0x7d, 0, 0,	/* 36 + 32000 */
		'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
		0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0,
		'd', 'a', 't', 'a', 0x00, 0x7d, 0, 0,	/* 32000 */
	};

	path = xasprintf("%s/silence.wav", f->dir);
	assert_non_null(fp = fopen(path, "wb"));
	fwrite(hdr, 1, sizeof(hdr), fp);
	fwrite(zeros, sizeof(zeros[0]), 16000, fp);
	fclose(fp);
	assert_true(stt_transcribe(f->engine, path, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_true(res.audio_s == 1.0);
	assert_int_equal(res.nwords, 0);
	assert_string_equal(res.text, "");
	stt_result_free(&res);
	free(path);
}

/* 25 s without a pause is cut in two, so progress moves half-way. */
static void
test_long_utterance_cut(void **state)
{
	struct fixture *f = *state;
	struct progress_log pl = { 0, 0, true };
	struct stt_result res;
	struct proc_result pres;
	char err[256] = "", *path;
	const char *argv[] = { "sox", "-n", "-r", "16000", "-c", "1", "-b",
	    "16", NULL, "synth", "25", "sine", "300", "vol", "0.3", NULL };
	size_t i;

	path = xasprintf("%s/tone.wav", f->dir);
	argv[8] = path;
	if (!proc_run(argv, NULL, &pres, err, sizeof(err))) {
		proc_result_free(&pres);
		free(path);
		skip();
	}
	proc_result_free(&pres);
	assert_true(stt_transcribe(f->engine, path, on_progress, &pl, &res,
	    err, sizeof(err)));
	assert_true(pl.monotonic);
	assert_int_equal(pl.calls, 2);
	assert_true(res.audio_s == 25.0);
	for (i = 0; i < res.nwords; i++)
		assert_true(res.words[i].end_s <= 25.0);
	stt_result_free(&res);
	free(path);
}

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct stt_result res;
	char err[256] = "", *path;
	unsigned char hdr8k[44] = {
		'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
		'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
		0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0,
		'd', 'a', 't', 'a', 0, 0, 0, 0,
	};
	FILE *fp;

	assert_null(stt_pocketsphinx_new("/nonexistent/model", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "speech model not found"));

	path = xasprintf("%s/missing.wav", f->dir);
	assert_false(stt_transcribe(f->engine, path, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	free(path);

	path = xasprintf("%s/8k.wav", f->dir);
	assert_non_null(fp = fopen(path, "wb"));
	fwrite(hdr8k, 1, sizeof(hdr8k), fp);
	fclose(fp);
	assert_false(stt_transcribe(f->engine, path, NULL, NULL, &res, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "8000 Hz audio, expected 16000"));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transcribe_intro01),
		cmocka_unit_test(test_text_matches_words),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_threads_share_engine),
		cmocka_unit_test(test_words_json),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_long_utterance_cut),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
