/*
 * scheduler_stt: the STT side of the phase controller. stt_concurrency
 * worker threads, each with its own engine (a PocketSphinx decoder is not
 * shared between threads), transcribe the jobs of the batch the
 * controller opened, and only those: a worker never claims work itself,
 * so no transcription can start outside an STT phase.
 *
 * An engine that fails twice in a row rests for a while; the controller
 * sees it unavailable, closes the batch and lets the LLM side go on. An
 * engine that cannot start is tried again with backoff; while one is
 * loading, the node says STT is starting, not down.
 *
 * A failure that is a property of the file (no sound track, silence,
 * nothing heard) fails the submission for good; one of the machine (a
 * fork that failed, a timeout on a busy machine, a full disk, the engine)
 * is retried with backoff through queue_fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "media.h"
#include "node.h"
#include "scheduler_impl.h"
#include "speech.h"
#include "transcript.h"
#include "stt.h"
#include "util.h"

#define ENGINE_REST_S		30.0	/* after repeated engine failures */
#define ENGINE_FAILURES		2
#define PROGRESS_EVERY_S	0.5
#define ENGINE_RETRY_MIN_S	2.0	/* first wait after a failed start */
#define ENGINE_RETRY_MAX_S	60.0

struct progress {
	struct sched		*sched;
	const struct job	*job;
	double			 last;
};

static void	*worker_main(void *);
static void	 run_job(struct sched *, struct stt_engine *,
		    const struct job *);
static void	 on_progress(double, void *);
static struct stt_engine *engine_new(const struct config *);
static struct stt_engine *engine_start(struct sched *);

bool
sched_stt_start(struct sched *s, char *err, size_t errlen)
{
	struct stt_side *st = &s->stt;
	int i;

	pthread_cond_init(&st->cv, NULL);
	atomic_init(&st->engines, 0);
	atomic_init(&st->starting, 0);
	atomic_init(&st->failures, 0);
	atomic_init(&st->down_until, 0.0);
	st->nthreads = s->cfg->stt_concurrency;
	st->threads = xcalloc((size_t)st->nthreads, sizeof(*st->threads));
	for (i = 0; i < st->nthreads; i++)
		if (pthread_create(&st->threads[i], NULL, worker_main, s) != 0)
			fatalx("cannot start STT worker %d", i);
	return true;
}

void
sched_stt_stop(struct sched *s)
{
	struct stt_side *st = &s->stt;
	int i;

	if (st->threads == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < st->nthreads; i++)
		pthread_join(st->threads[i], NULL);
	free(st->threads);
	st->threads = NULL;
	free(st->jobs);
	st->jobs = NULL;
	pthread_cond_destroy(&st->cv);
}

bool
sched_stt_available(struct sched *s)
{
	return atomic_load(&s->stt.engines) > 0 &&
	    util_monotonic() >= atomic_load(&s->stt.down_until);
}

bool
sched_stt_starting(struct sched *s)
{
	return atomic_load(&s->stt.starting) > 0;
}

bool
sched_stt_open_batch(struct sched *s, int max)
{
	struct stt_side *st = &s->stt;
	struct job *jobs = xcalloc((size_t)max, sizeof(*jobs));
	long long batch_id = node_next_batch_id(s->db);
	char err[512];
	int i, n = 0;

	if (!queue_claim(s->db, "stt", s->node, s->worker,
	    s->cfg->lease_s, batch_id, max, jobs, &n, err,
	    sizeof(err)))
		log_warnx("sched: claim stt: %s", err);
	if (n == 0) {
		free(jobs);
		return false;
	}
	for (i = 0; i < n; i++)
		sched_hold(s, &jobs[i]);
	pthread_mutex_lock(&s->lock);
	free(st->jobs);
	st->jobs = jobs;
	st->n = n;
	st->next = st->done = st->running = 0;
	st->batch_id = batch_id;
	st->open = true;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&s->lock);
	log_info("sched: stt batch=%lld size=%d", batch_id, n);
	return true;
}

void
sched_stt_close_batch(struct sched *s, const char *why)
{
	struct stt_side *st = &s->stt;
	struct job *back = NULL;
	char err[512];
	int i, released = 0;

	/* Unstarted jobs leave the batch under the lock, the queue after. */
	pthread_mutex_lock(&s->lock);
	if (st->open) {
		released = st->n - st->next;
		back = xcalloc((size_t)released + 1, sizeof(*back));
		memcpy(back, &st->jobs[st->next], (size_t)released *
		    sizeof(*back));
		st->n = st->next;
		st->open = false;
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < released; i++) {
		if (!queue_release(s->db, &back[i], err, sizeof(err)))
			log_warnx("sched: release: %s", err);
		sched_unhold(s, &back[i]);
	}
	free(back);
	if (released > 0)
		log_info("sched: stt batch=%lld closed early (%s), %d back in "
		    "the queue", st->batch_id, why, released);
}

bool
sched_stt_batch_finished(struct sched *s)
{
	bool fin;

	pthread_mutex_lock(&s->lock);
	fin = s->stt.done >= s->stt.n && s->stt.running == 0;
	pthread_mutex_unlock(&s->lock);
	return fin;
}

int
sched_stt_batch_done(struct sched *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->stt.done;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
sched_stt_end_batch(struct sched *s)
{
	struct stt_side *st = &s->stt;

	pthread_mutex_lock(&s->lock);
	free(st->jobs);
	st->jobs = NULL;
	st->n = st->next = st->done = st->running = 0;
	st->batch_id = 0;
	st->open = false;
	pthread_mutex_unlock(&s->lock);
}

static struct stt_engine *
engine_new(const struct config *cfg)
{
	struct stt_config sc;
	struct stt_engine *e;
	char err[512];

	memset(&sc, 0, sizeof(sc));
	sc.engine = cfg->stt_engine;
	sc.model_dir = cfg->pocketsphinx_model_dir;
	sc.url = cfg->stt_url;
	sc.model = cfg->stt_model;
	sc.api_key = cfg->stt_api_key;
	sc.timeout_s = cfg->stt_timeout_s;
	if ((e = stt_engine_new(&sc, err, sizeof(err))) == NULL)
		log_warnx("stt: engine %s unavailable, transcription waits: "
		    "%s", cfg->stt_engine, err);
	return e;
}

/* Starts an engine, trying again with backoff until stopped. */
static struct stt_engine *
engine_start(struct sched *s)
{
	struct stt_side *st = &s->stt;
	struct stt_engine *e = NULL;
	double wait = ENGINE_RETRY_MIN_S, until;

	while (!atomic_load(&s->stopping)) {
		atomic_fetch_add(&st->starting, 1);
		e = engine_new(s->cfg);
		atomic_fetch_sub(&st->starting, 1);
		if (e != NULL) {
			stt_engine_set_cancel(e, &s->stopping);
			break;
		}
		log_info("stt: trying the engine again in %.0f s", wait);
		until = util_monotonic() + wait;
		while (!atomic_load(&s->stopping) && util_monotonic() < until)
			util_sleep(0.2);
		wait = wait * 2 < ENGINE_RETRY_MAX_S ? wait * 2 :
		    ENGINE_RETRY_MAX_S;
	}
	return e;
}

static void *
worker_main(void *arg)
{
	struct sched *s = arg;
	struct stt_side *st = &s->stt;
	struct stt_engine *engine = engine_start(s);
	struct job job;

	if (engine == NULL)
		return NULL;
	atomic_fetch_add(&st->engines, 1);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!atomic_load(&s->stopping) &&
		    !(st->open && st->next < st->n))
			pthread_cond_wait(&st->cv, &s->lock);
		if (atomic_load(&s->stopping)) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		job = st->jobs[st->next++];
		st->running++;
		pthread_mutex_unlock(&s->lock);

		log_set_request_id(job.request_id);
		run_job(s, engine, &job);
		log_set_request_id(NULL);

		pthread_mutex_lock(&s->lock);
		st->running--;
		st->done++;
		pthread_cond_broadcast(&s->wake);
		pthread_mutex_unlock(&s->lock);
	}
	atomic_fetch_sub(&st->engines, 1);
	stt_engine_free(engine);
	return NULL;
}

static void
on_progress(double fraction, void *arg)
{
	struct progress *p = arg;
	double now = util_monotonic();

	/* The end needs no write: the transcript moves the row on. */
	if (now - p->last < PROGRESS_EVERY_S || fraction >= 1)
		return;
	p->last = now;
	queue_progress(p->sched->db, p->job, fraction);
}

static void
run_job(struct sched *s, struct stt_engine *engine, const struct job *job)
{
	struct progress prog = { s, job, 0 };
	struct stt_result res;
	struct speech_metrics m;
	char in[1024], err[512], *wav = sched_prep_wav(s, job);
	const char *outcome = "error";
	json_t *words, *metrics;
	long long log_id;
	bool transient, keep = false;

	memset(&res, 0, sizeof(res));
	snprintf(in, sizeof(in), "%s/%s", s->uploads_dir, job->stored_name);
	log_info("submission=%lld stt start batch=%lld attempt=%d", job->id,
	    job->batch_id, job->attempts);
	if (!queue_begin(s->db, job, err, sizeof(err)))
		goto out;	/* no longer ours: logged and counted */
	/* Prepared at intake (scheduler_prep.c); from before that, not. */
	if (access(wav, R_OK) != 0) {
		log_info("submission=%lld: sound not prepared; extracting it "
		    "now", job->id);
		if (!media_extract_wav(in, wav, s->cfg->media_timeout_s,
		    &transient, err, sizeof(err))) {
			sched_fail(s, job, err, transient);
			goto out;
		}
	}
	log_id = node_log_start(s->db, s->node, "stt", job->id,
	    stt_engine_name(engine), util_wallclock());
	if (!stt_transcribe(engine, wav, on_progress, &prog, &res, err,
	    sizeof(err))) {
		node_log_finish(s->db, log_id, util_wallclock(), atomic_load(
		    &s->stopping) ? "interrupted" : "error", NULL);
		keep = true;	/* for the next try */
		/* Cut short by a graceful stop: handed back, not failed. */
		if (atomic_load(&s->stopping)) {
			log_info("submission=%lld stt cancelled: this server "
			    "is stopping", job->id);
			goto out;
		}
		if (atomic_fetch_add(&s->stt.failures, 1) + 1 >=
		    ENGINE_FAILURES)
			atomic_store(&s->stt.down_until, util_monotonic() +
			    ENGINE_REST_S);
		sched_fail(s, job, err, true);
		goto out;
	}
	atomic_store(&s->stt.failures, 0);
	node_log_finish(s->db, log_id, util_wallclock(), "ok", NULL);
	if (res.nwords == 0) {
		sched_fail(s, job, "we could not hear speech in this recording",
		    false);
		goto out;
	}
	speech_metrics_compute(res.words, res.nwords, res.audio_s, &m);
	words = stt_words_to_json(&res);
	metrics = speech_metrics_to_json(&m);
	if (transcript_save(s->db, job, stt_engine_name(engine),
	    res.text, words, metrics, res.audio_s, res.decode_s, err,
	    sizeof(err)))
		outcome = "ok";
	else
		log_warnx("submission=%lld: transcript not stored: %s",
		    job->id, err);
	log_info("submission=%lld stt %s words=%zu audio_s=%.1f decode_s=%.1f",
	    job->id, outcome, res.nwords, res.audio_s, res.decode_s);
	json_decref(words);
	json_decref(metrics);
out:
	sched_unhold(s, job);
	if (!keep)
		unlink(wav);
	free(wav);
	stt_result_free(&res);
}
