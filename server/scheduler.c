/*
 * scheduler: the background pipeline worker of the walking skeleton.
 *
 * One thread does one call at a time: it claims a submission waiting for
 * transcription and transcribes it (ffmpeg to 16 kHz WAV, then the STT
 * engine), or else one waiting for evaluation and has an LLM backend
 * score it, or else sleeps. Because a single thread makes every call,
 * STT and LLM work never overlap on this node (DESIGN.md's hard rule);
 * the phase controller generalises this to batches and parallel LLM
 * calls.
 *
 * Every outcome is recorded through store, guarded by this worker's id.
 * A failure a later try may cure (a backend down, a timeout) is retried
 * with backoff; one no retry can cure (no speech in the recording) fails
 * the submission at once with words the student reads.
 */
#include "scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "llm.h"
#include "log.h"
#include "media.h"
#include "rubric.h"
#include "speech.h"
#include "store.h"
#include "stt.h"
#include "util.h"

#define SCHED_LEASE_S	900	/* longer than any one call may take */

struct sched {
	struct app		*app;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	atomic_bool		 stopping;
	struct stt_engine	*stt;
	struct llm_backend	*backends;
	size_t			 nbackends;
	size_t			 next_backend;	/* round robin */
	char			 worker[128];
};

static void	*sched_main(void *);
static bool	 sched_backends(struct sched *, char *, size_t);
static bool	 step_stt(struct sched *);
static bool	 step_llm(struct sched *);
static void	 run_stt(struct sched *, const struct job *);
static void	 run_llm(struct sched *, const struct job *);
static bool	 score_once(struct sched *, const struct llm_backend *,
		    const struct rubric *, const char *, const struct job *,
		    char *, size_t);
static void	 stt_progress(double, void *);
static void	 fail(struct sched *, const struct job *, const char *, bool);
static void	 nap(struct sched *, double);

struct sched *
sched_start(struct app *app, char *err, size_t errlen)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	char host[64] = "localhost";

	s->app = app;
	gethostname(host, sizeof(host) - 1);
	snprintf(s->worker, sizeof(s->worker), "%s:%d", host, (int)getpid());
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	atomic_init(&s->stopping, false);
	if (!sched_backends(s, err, errlen))
		goto fail;
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
		util_seterr(err, errlen, "cannot start the scheduler thread");
		goto fail;
	}
	return s;
fail:
	free(s->backends);
	free(s);
	return NULL;
}

void
sched_stop(struct sched *s)
{
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	stt_engine_free(s->stt);
	for (i = 0; i < s->nbackends; i++) {
		free(s->backends[i].name);
		free(s->backends[i].type);
		free(s->backends[i].url);
		free(s->backends[i].model);
	}
	free(s->backends);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}

void
sched_wake(struct sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* The configured backends, validated by config_load already. */
static bool
sched_backends(struct sched *s, char *err, size_t errlen)
{
	const struct config *cfg = s->app->cfg;
	json_t *b;
	size_t i;

	s->nbackends = json_array_size(cfg->llm_backends);
	s->backends = xcalloc(s->nbackends + 1, sizeof(*s->backends));
	json_array_foreach(cfg->llm_backends, i, b) {
		struct llm_backend *lb = &s->backends[i];
		const char *name = NULL, *type = "ollama", *url = NULL;
		const char *model = NULL;
		int maxc = 4, timeout = cfg->llm_timeout_s;

		if (json_unpack(b, "{s:s, s?s, s:s, s:s, s?i, s?i}", "name",
		    &name, "type", &type, "url", &url, "model", &model,
		    "max_concurrent", &maxc, "timeout_s", &timeout) != 0)
			return util_seterr(err, errlen, "llm_backends[%zu] is "
			    "incomplete", i);
		lb->name = xstrdup(name);
		lb->type = xstrdup(type);
		lb->url = xstrdup(url);
		lb->model = xstrdup(model);
		lb->max_concurrent = maxc;
		lb->timeout_s = timeout;
	}
	return true;
}

static void *
sched_main(void *arg)
{
	struct sched *s = arg;
	const struct config *cfg = s->app->cfg;
	char err[512];

	if (strcmp(cfg->stt_engine, "pocketsphinx") == 0) {
		s->stt = stt_pocketsphinx_new(cfg->pocketsphinx_model_dir[0] ?
		    cfg->pocketsphinx_model_dir : NULL, err, sizeof(err));
		if (s->stt == NULL)
			log_warnx("stt: engine unavailable, transcription "
			    "waits: %s", err);
	} else
		log_warnx("stt: unknown engine \"%s\"", cfg->stt_engine);
	log_info("scheduler started worker=%s backends=%zu", s->worker,
	    s->nbackends);
	while (!atomic_load(&s->stopping)) {
		if (step_stt(s) || step_llm(s))
			continue;
		nap(s, cfg->scheduler_poll_s);
	}
	log_info("scheduler stopped");
	return NULL;
}

/* Sleeps up to secs, or until sched_wake or sched_stop. */
static void
nap(struct sched *s, double secs)
{
	struct timespec ts;
	double until = util_wallclock() + secs;

	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&s->lock);
	if (!atomic_load(&s->stopping))
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	pthread_mutex_unlock(&s->lock);
}

static bool
step_stt(struct sched *s)
{
	struct job job;
	char err[512];
	bool got;

	if (s->stt == NULL)
		return false;
	if (!store_claim(s->app->db, "stt", s->worker, SCHED_LEASE_S, &job,
	    &got, err, sizeof(err))) {
		log_warnx("sched: claim failed: %s", err);
		return false;
	}
	if (got)
		run_stt(s, &job);
	return got;
}

static bool
step_llm(struct sched *s)
{
	struct job job;
	char err[512];
	bool got;

	if (s->nbackends == 0)
		return false;
	if (!store_claim(s->app->db, "llm", s->worker, SCHED_LEASE_S, &job,
	    &got, err, sizeof(err))) {
		log_warnx("sched: claim failed: %s", err);
		return false;
	}
	if (got)
		run_llm(s, &job);
	return got;
}

static void
fail(struct sched *s, const struct job *job, const char *message,
    bool retryable)
{
	char err[512];

	log_warnx("submission=%lld phase=%s failed retryable=%d: %s", job->id,
	    job->phase, retryable, message);
	if (!store_fail(s->app->db, job, s->worker, message, retryable,
	    s->app->cfg->max_retries, err, sizeof(err)))
		log_warnx("submission=%lld: cannot record the failure: %s",
		    job->id, err);
}

static void
stt_progress(double fraction, void *arg)
{
	const struct job *job = arg;

	log_debug("submission=%lld stt progress=%.2f", job->id, fraction);
}

static void
run_stt(struct sched *s, const struct job *job)
{
	const struct app *app = s->app;
	struct stt_result res;
	struct speech_metrics m;
	char in[1024], wav[1024], err[512];
	json_t *words, *metrics;

	memset(&res, 0, sizeof(res));
	snprintf(in, sizeof(in), "%s/%s", app->uploads_dir, job->stored_name);
	snprintf(wav, sizeof(wav), "%s/%lld.wav", app->work_dir, job->id);
	log_info("submission=%lld stt start", job->id);
	if (!media_extract_wav(in, wav, app->cfg->media_timeout_s, err,
	    sizeof(err))) {
		fail(s, job, err, false);
		goto out;
	}
	if (!stt_transcribe(s->stt, wav, stt_progress, (void *)job, &res, err,
	    sizeof(err))) {
		fail(s, job, err, true);
		goto out;
	}
	if (res.nwords == 0) {
		fail(s, job, "we could not hear speech in this recording",
		    false);
		goto out;
	}
	speech_metrics_compute(res.words, res.nwords, res.audio_s, &m);
	words = stt_words_to_json(&res);
	metrics = speech_metrics_to_json(&m);
	if (!store_stt_done(app->db, job, s->worker, "pocketsphinx", res.text,
	    words, metrics, res.audio_s, res.decode_s, err, sizeof(err)))
		log_warnx("submission=%lld: transcript not stored: %s",
		    job->id, err);
	else
		log_info("submission=%lld stt done words=%zu audio_s=%.1f "
		    "decode_s=%.1f", job->id, res.nwords, res.audio_s,
		    res.decode_s);
	json_decref(words);
	json_decref(metrics);
out:
	unlink(wav);
	stt_result_free(&res);
}

static void
run_llm(struct sched *s, const struct job *job)
{
	struct rubric *rb = NULL;
	json_t *def = NULL, *metrics = NULL;
	char *text = NULL, *prompt = NULL;
	char err[512] = "", last[512] = "no backend answered";
	long long rid = job->rubric_id;
	size_t i;

	log_info("submission=%lld llm start", job->id);
	if ((rid == 0 ? store_rubric_current(s->app->db, &rid, &def, err,
	    sizeof(err)) : store_rubric_get(s->app->db, rid, &def, err,
	    sizeof(err))) == false ||
	    (rb = rubric_parse(def, err, sizeof(err))) == NULL ||
	    !store_transcript(s->app->db, job->id, &text, &metrics, err,
	    sizeof(err))) {
		fail(s, job, err, true);
		goto out;
	}
	prompt = rubric_prompt(rb, text, metrics);
	/* Each backend once, starting where the last submission stopped. */
	for (i = 0; i < s->nbackends; i++) {
		const struct llm_backend *b =
		    &s->backends[(s->next_backend + i) % s->nbackends];

		if (score_once(s, b, rb, prompt, job, last, sizeof(last))) {
			s->next_backend = (s->next_backend + i + 1) %
			    s->nbackends;
			goto out;
		}
		if (atomic_load(&s->stopping))
			break;
	}
	s->next_backend = (s->next_backend + 1) % s->nbackends;
	snprintf(err, sizeof(err), "no scoring model could evaluate this "
	    "recording yet (%s)", last);
	fail(s, job, err, true);
out:
	free(prompt);
	free(text);
	json_decref(metrics);
	json_decref(def);
	rubric_free(rb);
}

/* One call to one backend; true once the evaluation is stored. */
static bool
score_once(struct sched *s, const struct llm_backend *b,
    const struct rubric *rb, const char *prompt, const struct job *job,
    char *last, size_t lastlen)
{
	struct llm_request req;
	struct llm_response res;
	json_t *ev = NULL;
	char err[512];
	bool ok = false;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.prompt = prompt;
	req.format = rubric_schema(rb);
	req.options = json_pack("{s:i, s:i}", "temperature", 0, "seed", 42);
	if (!llm_generate(b, &req, &res, err, sizeof(err))) {
		snprintf(last, lastlen, "%s: %s", b->name, err);
		log_warnx("submission=%lld backend=%s: %s", job->id, b->name,
		    err);
		goto out;
	}
	if (!rubric_validate(rb, res.content, &ev, err, sizeof(err))) {
		snprintf(last, lastlen, "%s gave an unusable answer: %s",
		    b->name, err);
		log_warnx("submission=%lld backend=%s invalid answer: %s",
		    job->id, b->name, err);
		goto out;
	}
	ok = true;
	if (!store_llm_done(s->app->db, job, s->worker, b->name,
	    res.model != NULL ? res.model : b->model, ev, res.prompt_tokens,
	    res.eval_tokens, res.total_s, err, sizeof(err)))
		log_warnx("submission=%lld: evaluation not stored: %s",
		    job->id, err);
	else
		log_info("submission=%lld llm done backend=%s model=%s "
		    "llm_s=%.2f", job->id, b->name, b->model, res.total_s);
out:
	json_decref(ev);
	json_decref(req.format);
	json_decref(req.options);
	llm_response_free(&res);
	return ok;
}
