/*
 * scheduler_prep: media preparation, the CPU work of a submission that
 * needs neither the GPU nor the exclusion. media_workers threads each
 * claim one submission in phase "prep" at a time, extract its sound to a
 * 16 kHz mono WAV beside the upload (uploads/<stored_name>.wav) with the
 * level and silence checks of media_extract_wav, and move it to the STT
 * queue. They run whenever this process holds its node, in any phase, so
 * the STT phase is left with engine calls back to back.
 *
 * Claims are the queue's (fenced, leased, kept by the heartbeat,
 * rescued after a crash), so a restart re-prepares what was cut short and
 * nothing is prepared twice. A failure of the machine is retried with
 * backoff; one of the file fails the submission with the student's words.
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
#include "util.h"

#define PREP_IDLE_S	2.0	/* longest sleep without a wake */

static void	*prep_main(void *);
static void	 prep_one(struct sched *, const struct job *);

void
sched_prep_start(struct sched *s)
{
	struct prep_side *pr = &s->prep;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	util_cond_init_monotonic(&pr->cv);
	pr->nthreads = s->cfg->media_workers > 0 ? s->cfg->media_workers :
	    cpus > 0 ? (int)cpus : 1;
	pr->threads = xcalloc((size_t)pr->nthreads, sizeof(*pr->threads));
	for (i = 0; i < pr->nthreads; i++)
		if (pthread_create(&pr->threads[i], NULL, prep_main, s) != 0)
			fatalx("cannot start media worker %d", i);
}

void
sched_prep_stop(struct sched *s)
{
	struct prep_side *pr = &s->prep;
	int i;

	if (pr->threads == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&pr->cv);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < pr->nthreads; i++)
		pthread_join(pr->threads[i], NULL);
	free(pr->threads);
	pr->threads = NULL;
	pthread_cond_destroy(&pr->cv);
}

void
sched_prep_wake(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->prep.woken = true;
	pthread_cond_broadcast(&s->prep.cv);
	pthread_mutex_unlock(&s->lock);
}

char *
sched_prep_wav(const struct sched *s, const struct job *job)
{
	return xasprintf("%s/%s.wav", s->uploads_dir, job->stored_name);
}

static void *
prep_main(void *arg)
{
	struct sched *s = arg;
	struct prep_side *pr = &s->prep;
	struct timespec until;
	struct job job;
	char err[512];
	int n;

	while (!atomic_load(&s->stopping)) {
		n = 0;
		/* Only while this process holds its node (not in standby). */
		if (!atomic_load(&s->fenced) && !queue_claim(s->db, "prep",
		    s->node, s->worker, s->cfg->lease_s, 0, 1, &job, &n, err,
		    sizeof(err)))
			log_warnx("prep: claim: %s", err);
		if (n == 1) {
			sched_hold(s, &job);
			log_set_request_id(job.request_id);
			prep_one(s, &job);
			log_set_request_id(NULL);
			sched_unhold(s, &job);
			continue;
		}
		util_deadline_monotonic(PREP_IDLE_S, &until);
		pthread_mutex_lock(&s->lock);
		if (!atomic_load(&s->stopping) && !pr->woken)
			pthread_cond_timedwait(&pr->cv, &s->lock, &until);
		pr->woken = false;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void
prep_one(struct sched *s, const struct job *job)
{
	char in[1024], err[512], *wav = sched_prep_wav(s, job);
	long long log_id;
	bool transient;

	snprintf(in, sizeof(in), "%s/%s", s->uploads_dir, job->stored_name);
	if (!queue_begin(s->db, job, err, sizeof(err)))
		goto out;	/* no longer ours: logged and counted */
	log_id = node_log_start(s->db, s->node, "prep", job->id, "ffmpeg",
	    util_wallclock());
	if (!media_extract_wav(in, wav, s->cfg->media_timeout_s, &transient,
	    err, sizeof(err))) {
		node_log_finish(s->db, log_id, util_wallclock(), "error", NULL);
		sched_fail(s, job, err, transient);
		goto out;
	}
	node_log_finish(s->db, log_id, util_wallclock(), "ok", NULL);
	if (!queue_prep_done(s->db, job, err, sizeof(err))) {
		log_warnx("submission=%lld: preparation not recorded: %s",
		    job->id, err);
		unlink(wav);
	} else
		log_info("submission=%lld prepared", job->id);
out:
	free(wav);
}
