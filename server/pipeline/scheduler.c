/*
 * scheduler: the reader-writer phase controller of one GPU node.
 *
 * The hard rule (DESIGN.md): STT work (the writer) and LLM work (the
 * readers) never overlap in time on this node. The controller thread is
 * the only one that changes the phase, and it guarantees the rule by
 * construction:
 *
 *   - STT workers take jobs only from the batch the controller hands out
 *     after it has paused the LLM pool and seen pool_running() == 0;
 *   - the pool is resumed only after every STT worker has finished its
 *     job (stt.running == 0) and the batch is closed.
 *
 * A phase switch never interrupts a call: pausing the pool stops new
 * calls and waits for those on the wire; closing a batch stops handing
 * out jobs and waits for those being transcribed. With exclusive: false
 * (separate STT and LLM hardware) both run at once.
 *
 * Phases: STT runs one batch (phase_next decides when; see phase.c),
 * LLM runs the evaluation queue on every healthy backend through the
 * pool, SWITCHING unloads the LLM models before STT so speech
 * recognition has the GPU's memory. The controller records each phase
 * (phase_runs), each call (phase_log) and its state (system_state), and
 * a heartbeat thread keeps the leases of everything this process holds,
 * so a crashed node's work is taken up again when its leases expire (or
 * at once, when the node restarts).
 *
 * One controller per node (DESIGN.md): two processes with one node name
 * would be two controllers and could overlap. The controller therefore
 * holds the advisory lock "introeval-node:NAME" (pglock.h) before it
 * recovers, claims or starts anything; a second process waits in
 * standby, names the holder once in its log and takes over when the
 * holder's session ends. The heartbeat checks the lock each beat; when
 * it is lost the heartbeat pauses the pool and closes the STT batch at
 * once (no new call starts), stops extending leases, and the controller
 * goes back to standby until it holds the lock again.
 */
#include "scheduler.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bakeoff.h"
#include "config.h"
#include "log.h"
#include "node.h"
#include "pglisten.h"
#include "pglock.h"
#include "phase.h"
#include "pool.h"
#include "scheduler_impl.h"
#include "queue.h"
#include "rubrics.h"
#include "transcript.h"
#include "evaluation.h"
#include "util.h"

#define TICK_S		0.25	/* the controller's longest sleep while busy */
#define STATE_EVERY_S	5.0	/* system_state refresh while nothing changes */
#define LISTEN_IDLE_S	30.0	/* the listener's wait between checks */
#define UNLOAD_TIMEOUT_S 15.0	/* one unload request's wait */
#define UNLOAD_TRIES	3	/* unload requests before STT goes on */
#define LOCK_RETRY_S	3.0	/* standby: how often the node lock is tried */
#define LOCK_CHECK_S	5.0	/* longest answer to a check of the lock */

/* A finished pool task or call, handed from the pool's thread. */
struct event {
	struct event		*next;
	bool			 is_call;
	struct pool_result	 res;	/* strings and json owned here */
	struct pool_call	 call;
	struct llm_pending	*pending;
};

static void	*controller(void *);
static void	*heartbeat(void *);
static void	 tick(struct sched *, double);
static void	 set_phase(struct sched *, enum phase, const char *);
static void	 write_state(struct sched *, bool);
static void	 view(struct sched *, struct phase_view *);
static void	 run_stt_phase(struct sched *);
static void	 run_llm_phase(struct sched *);
static void	 run_concurrent(struct sched *);
static int	 submit_llm(struct sched *, int);
static bool	 llm_task(struct sched *, const struct job *);
static void	 drain_events(struct sched *);
static bool	 eval_input(struct sched *, long long, long long *,
		    struct rubric **, char **, json_t **, char *, size_t);
static int	 submit_bakeoff(struct sched *, int);
static bool	 bakeoff_task(struct sched *, const struct bakeoff_run *);
static void	 bakeoff_done(struct sched *, struct event *);
static void	 on_done(const struct pool_result *, void *);
static void	 on_call(const struct pool_call *, void *);
static void	 push_event(struct sched *, struct event *);
static bool	 unload_models(struct sched *);
static bool	 store_evaluation(struct sched *, const struct job *,
		    const struct pool_result *);
static void	 wake(struct sched *);
static void	 hand_back(struct sched *);
static void	*listener(void *);
static void	 on_work(const char *, const char *, void *);
static bool	 take_node(struct sched *);
static void	 leave_node(struct sched *);
static void	 lock_lost(struct sched *, const char *);
static void	 set_standby(struct sched *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

struct sched *
sched_start(const struct sched_env *env, char *err, size_t errlen)
{
	static const char *const work_channel[] = { "work", NULL };
	const struct config *cfg = env->cfg;
	struct sched *s = xcalloc(1, sizeof(*s));
	char host[64] = "localhost", desc[256], *lock_name;

	s->cfg = cfg;
	s->db = env->db;
	s->uploads_dir = xstrdup(env->uploads_dir);
	s->work_dir = xstrdup(env->work_dir);
	gethostname(host, sizeof(host) - 1);
	util_strlcpy(s->node, cfg->node_name[0] != '\0' ? cfg->node_name :
	    host, sizeof(s->node));
	snprintf(s->worker, sizeof(s->worker), "%s:%d", s->node,
	    (int)getpid());
	pthread_mutex_init(&s->lock, NULL);
	util_cond_init_monotonic(&s->wake);
	atomic_init(&s->stopping, false);
	s->phase = PHASE_IDLE;
	s->last_work = PHASE_LLM;
	s->phase_since = util_wallclock();
	s->phase_t0 = util_monotonic();
	s->models_loaded = true;	/* unknown: unload before the first STT */

	if ((s->pool = pool_new(cfg, err, errlen)) == NULL)
		goto fail;
	pool_set_call_hook(s->pool, on_call, s);
	if (cfg->exclusive)
		pool_pause(s->pool);
	if (!sched_stt_start(s, err, errlen))
		goto fail;
	sched_prep_start(s);
	/* The pid first: PostgreSQL keeps 63 bytes of application_name. */
	snprintf(desc, sizeof(desc), "introeval pid=%d node=%s host=%s",
	    (int)getpid(), s->node, host);
	lock_name = xasprintf(NODE_LOCK_PREFIX "%s", s->node);
	s->node_lock = pglock_new(cfg->database_url, lock_name, desc);
	free(lock_name);
	atomic_init(&s->fenced, true);
	set_standby(s, "starting: the node lock is not taken yet");
	s->listen = pglisten_new(cfg->database_url, "introeval-sched",
	    work_channel);
	if (pthread_create(&s->thread, NULL, controller, s) != 0 ||
	    pthread_create(&s->beat, NULL, heartbeat, s) != 0 ||
	    pthread_create(&s->listener, NULL, listener, s) != 0)
		fatalx("cannot start the scheduler threads");
	return s;
fail:
	sched_stt_stop(s);
	pool_free(s->pool);
	free(s->uploads_dir);
	free(s->work_dir);
	free(s);
	return NULL;
}

void
sched_stop_begin(struct sched *s)
{
	if (s == NULL || atomic_load(&s->stopping))
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_cond_broadcast(&s->wake);
	pthread_cond_broadcast(&s->stt.cv);
	pthread_mutex_unlock(&s->lock);
	pglisten_wake(s->listen);
	/*
	 * Hand back what this process holds at once, rather than leave it
	 * to the lease: another node may take it now. A call in flight
	 * still ends (sched_stop), and its result is a stale write.
	 */
	hand_back(s);
}

void
sched_stop(struct sched *s)
{
	if (s == NULL)
		return;
	sched_stop_begin(s);
	pthread_join(s->thread, NULL);
	pthread_join(s->beat, NULL);
	pthread_join(s->listener, NULL);
	pglisten_free(s->listen);
	sched_prep_stop(s);
	sched_stt_stop(s);
	/* Tasks still queued in the pool keep their rows "processing";
	   queue_rescue hands them back when the node starts again. */
	pool_free(s->pool);
	drain_events(s);
	hand_back(s);	/* what was claimed while the threads stopped */
	/* Last: the node is free for another process once nothing runs. */
	pglock_free(s->node_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s->held);
	free(s->uploads_dir);
	free(s->work_dir);
	free(s);
}

/* Graceful stop: this worker's claims go back to the queue. */
static void
hand_back(struct sched *s)
{
	char err[512];
	int n;

	if (!queue_release_worker(s->db, s->worker, &n, err, sizeof(err)))
		log_warnx("sched: stopping: cannot hand back this process's "
		    "submissions (their leases will expire): %s", err);
	else if (n > 0)
		log_info("sched: stopping: handed back %d submission(s) to the "
		    "queue", n);
}

/* Ends the controller's sleep; a wake before it sleeps is kept. */
static void
wake(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->woken = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The listener thread: NOTIFY work (sql/007) says a submission became
 * claimable, whoever made it so (an upload on any instance, a staff
 * retry), and wakes the controller. A new connection wakes it too, for
 * what arrived while the database was away.
 */
static void *
listener(void *arg)
{
	struct sched *s = arg;
	bool fresh;

	while (!atomic_load(&s->stopping)) {
		if (!pglisten_connect(s->listen, &fresh))
			continue;
		if (fresh) {
			wake(s);
			sched_prep_wake(s);
		}
		else
			pglisten_wait(s->listen, LISTEN_IDLE_S, on_work, s);
	}
	return NULL;
}

static void
on_work(const char *channel, const char *payload, void *arg)
{
	if (payload != NULL && strcmp(payload, "prep") == 0)
		sched_prep_wake(arg);
	else
		wake(arg);
}

json_t *
sched_pool_stats(struct sched *s)
{
	return s != NULL && s->pool != NULL ? pool_stats(s->pool) : NULL;
}

bool
sched_status(struct sched *s, char *buf, size_t len)
{
	bool running;

	pthread_mutex_lock(&s->lock);
	running = s->standby[0] == '\0';
	if (running)
		snprintf(buf, len, "running node %s", s->node);
	else
		util_strlcpy(buf, s->standby, len);
	pthread_mutex_unlock(&s->lock);
	return running;
}

bool
sched_stopping(struct sched *s)
{
	return atomic_load(&s->stopping);
}

void
sched_hold(struct sched *s, const struct job *job)
{
	pthread_mutex_lock(&s->lock);
	if (s->nheld == s->held_cap) {
		s->held_cap = s->held_cap ? s->held_cap * 2 : 64;
		s->held = xrealloc(s->held, s->held_cap * sizeof(*s->held));
	}
	s->held[s->nheld++] = job->claim_token;
	pthread_mutex_unlock(&s->lock);
}

void
sched_unhold(struct sched *s, const struct job *job)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nheld; i++)
		if (s->held[i] == job->claim_token) {
			s->held[i] = s->held[--s->nheld];
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Keeps the leases of the claims this process is working on, checks
 * that it still holds its node (a process without the node lock keeps
 * no lease, so whatever it held goes to the lock's holder), and once
 * per beat rescues any submission whose lease ran out (its holder, on
 * any node, stopped beating: it died or hangs).
 */
static void *
heartbeat(void *arg)
{
	struct sched *s = arg;
	double every = s->cfg->lease_s / 3.0, next = 0;
	double check_s = s->cfg->db_statement_timeout_s < LOCK_CHECK_S ?
	    s->cfg->db_statement_timeout_s : LOCK_CHECK_S;
	long long *tokens = NULL;
	size_t n;
	char err[512];
	int rescued, quarantined;

	while (!atomic_load(&s->stopping)) {
		if (util_monotonic() >= next) {
			if (!atomic_load(&s->fenced) && !pglock_check(
			    s->node_lock, check_s, err, sizeof(err)))
				lock_lost(s, err);
			pthread_mutex_lock(&s->lock);
			n = atomic_load(&s->fenced) ? 0 : s->nheld;
			tokens = xrealloc(tokens, (n + 1) * sizeof(*tokens));
			if (n > 0)	/* s->held is NULL before the first claim */
				memcpy(tokens, s->held, n * sizeof(*tokens));
			pthread_mutex_unlock(&s->lock);
			if (!queue_heartbeat(s->db, tokens, n, s->cfg->lease_s,
			    err, sizeof(err)))
				log_warnx("sched: heartbeat: %s", err);
			if (atomic_load(&s->fenced))
				;	/* standby: the holder rescues */
			else if (!queue_rescue(s->db, NULL,
			    s->cfg->max_attempts, &rescued, &quarantined, err,
			    sizeof(err)))
				log_warnx("sched: rescue: %s", err);
			else if (rescued + quarantined > 0)
				log_info("sched: rescued %d submission(s) whose "
				    "lease ran out; %d stopped after "
				    "max_attempts", rescued, quarantined);
			next = util_monotonic() + every;
		}
		sched_gpu_tick(s);
		util_sleep(0.2);
	}
	free(tokens);
	return NULL;
}

static void *
controller(void *arg)
{
	struct sched *s = arg;
	struct phase_view v;
	enum phase_action a;

	if (!take_node(s))
		return NULL;
	log_info("sched: node=%s worker=%s exclusive=%d batch_max=%d "
	    "batch_window_s=%.1f max_phase_s=%.0f", s->node, s->worker,
	    s->cfg->exclusive, s->cfg->batch_max, s->cfg->batch_window_s,
	    s->cfg->max_phase_s);
	write_state(s, true);
	while (!atomic_load(&s->stopping)) {
		if (atomic_load(&s->fenced)) {
			leave_node(s);
			if (!take_node(s))
				break;
			continue;
		}
		if (!s->cfg->exclusive) {
			run_concurrent(s);
			continue;
		}
		view(s, &v);
		a = phase_next(&v);
		if (atomic_load(&s->stopping))
			break;		/* shutdown never starts a phase */
		if (a == PHASE_RUN_STT)
			run_stt_phase(s);
		else if (a == PHASE_RUN_LLM)
			run_llm_phase(s);
		else {
			set_phase(s, PHASE_IDLE, "nothing ready");
			tick(s, phase_wait_s(&v, s->cfg->scheduler_poll_s));
		}
	}
	set_phase(s, PHASE_IDLE, "stopping");
	return NULL;
}

/*
 * Standby until this process holds the node lock: tries it every
 * LOCK_RETRY_S, naming the holder in the log once (again only when the
 * holder changes). Once held, takes back at once what earlier processes
 * of this node held. False when the scheduler stops first.
 */
static bool
take_node(struct sched *s)
{
	char holder[512], said[512] = "", said_err[512] = "", err[512];
	enum pglock_state st;
	double until;
	int n, quarantined;

	/*
	 * Each message once per holder (or per error): a failed try in
	 * between (a slow database) does not make the holder news again.
	 */
	while ((st = pglock_try(s->node_lock, holder, sizeof(holder))) !=
	    PGLOCK_HELD) {
		if (st == PGLOCK_BUSY && strcmp(holder, said) != 0) {
			log_warnx("sched: node %s is already run by %s; this "
			    "process will not run a scheduler for it until that "
			    "one stops", s->node, holder);
			util_strlcpy(said, holder, sizeof(said));
		} else if (st != PGLOCK_BUSY && strcmp(holder, said_err) != 0) {
			log_warnx("sched: node %s: cannot take the node lock, "
			    "retrying every %.0f s: %s", s->node, LOCK_RETRY_S,
			    holder);
			util_strlcpy(said_err, holder, sizeof(said_err));
		}
		set_standby(s, st == PGLOCK_BUSY ? "standby: node lock held "
		    "by %s" : "standby: cannot take the node lock: %s", holder);
		until = util_monotonic() + LOCK_RETRY_S;
		while (util_monotonic() < until)
			if (atomic_load(&s->stopping))
				return false;
			else
				util_sleep(0.1);
	}
	/* What an earlier process of this node left behind. */
	node_log_interrupted(s->db, s->node);
	if (!queue_rescue(s->db, s->node, s->cfg->max_attempts, &n,
	    &quarantined, err, sizeof(err)))
		log_warnx("sched: recover: %s (their leases will expire)", err);
	else if (n + quarantined > 0)
		log_info("sched: recovered %d submission(s) held by an earlier "
		    "process of node %s; %d stopped after max_attempts", n,
		    s->node, quarantined);
	bakeoff_release_node(s->db, s->node);
	set_standby(s, "%s", "");
	atomic_store(&s->fenced, false);
	/* Said once the scheduler runs: /healthz says "running" from here. */
	log_info("sched: node %s: holding the node lock%s", s->node,
	    s->lock_taken ? " again" : said[0] != '\0' || said_err[0] != '\0' ?
	    " (took over)" : "");
	s->lock_taken = true;
	return true;
}

/*
 * The lock was lost (lock_lost already stopped new calls): waits for the
 * calls on the wire, records their outcomes and ends the phase.
 */
static void
leave_node(struct sched *s)
{
	pool_pause(s->pool);
	sched_stt_close_batch(s, "node lock lost");
	while ((pool_running(s->pool) > 0 || !sched_stt_batch_finished(s)) &&
	    !atomic_load(&s->stopping))
		util_sleep(0.05);
	if (atomic_load(&s->stopping))
		return;
	sched_stt_end_batch(s);
	drain_events(s);
	set_phase(s, PHASE_IDLE, "node lock lost");
}

/* On the heartbeat's thread: no new call starts from now on. */
static void
lock_lost(struct sched *s, const char *why)
{
	atomic_store(&s->fenced, true);
	pool_pause(s->pool);
	log_warnx("sched: node %s: lost the node lock (%s); no call starts "
	    "until it is held again", s->node, why);
	sched_stt_close_batch(s, "node lock lost");
	set_standby(s, "standby: node lock lost (%s); taking it again", why);
	wake(s);
}

static void
set_standby(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	va_start(ap, fmt);
	vsnprintf(s->standby, sizeof(s->standby), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&s->lock);
}

/* Sleeps up to secs or until woken (upload, result, stop). */
static void
tick(struct sched *s, double secs)
{
	struct timespec ts;

	util_deadline_monotonic(secs, &ts);
	pthread_mutex_lock(&s->lock);
	if (!atomic_load(&s->stopping) && s->events == NULL && !s->woken)
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	s->woken = false;
	pthread_mutex_unlock(&s->lock);
	if (atomic_load(&s->stopping))
		util_sleep(secs < 0.05 ? secs : 0.05);	/* no spinning */
	drain_events(s);
	write_state(s, false);
}

/* The one transition function: every phase change is logged here. */
static void
set_phase(struct sched *s, enum phase to, const char *reason)
{
	if (s->phase == to)
		return;
	log_info("sched: phase %s -> %s (%s) after %.1f s", phase_name(
	    s->phase), phase_name(to), reason, util_monotonic() - s->phase_t0);
	node_phase_end(s->db, s->run_id, s->run_items);
	s->run_id = 0;
	s->run_items = 0;
	if (to == PHASE_STT || to == PHASE_LLM)
		s->last_work = to;
	s->phase = to;
	s->phase_t0 = util_monotonic();
	s->phase_since = util_wallclock();
	if (to == PHASE_STT || to == PHASE_LLM || to == PHASE_SWITCHING)
		s->run_id = node_phase_begin(s->db, s->node, to,
		    to == PHASE_STT ? s->stt.batch_id : 0, reason);
	write_state(s, true);
}

static void
view(struct sched *s, struct phase_view *v)
{
	struct queue_counts c;
	char err[512];

	if (!queue_counts(s->db, &c, err, sizeof(err)))
		log_warnx("sched: counts: %s", err);
	s->counts = c;
	memset(v, 0, sizeof(*v));
	v->phase = s->phase;
	v->last_work = s->last_work;
	v->elapsed_s = util_monotonic() - s->phase_t0;
	v->stt_waiting = c.stt_waiting;
	v->prep_waiting = c.prep_waiting;
	v->stt_oldest_s = c.stt_oldest_s;
	v->llm_waiting = c.llm_waiting + s->llm_queued;
	/* Bake-off runs are LLM work of the lowest priority: they count
	   only while no transcription waits. */
	s->bakeoff_waiting = bakeoff_pending(s->db);
	if (c.stt_waiting == 0 && c.prep_waiting == 0)
		v->llm_waiting += s->bakeoff_waiting;
	/* How long LLM work has waited with no LLM phase to take it. */
	if (v->llm_waiting == 0 || s->phase == PHASE_LLM)
		s->llm_wait_t0 = 0;
	else if (s->llm_wait_t0 == 0)
		s->llm_wait_t0 = util_monotonic();
	v->llm_wait_s = s->llm_wait_t0 > 0 ? util_monotonic() -
	    s->llm_wait_t0 : 0;
	v->since_result_s = s->last_result > 0 ? util_monotonic() -
	    s->last_result : PHASE_FRESH_S;
	v->stt_available = sched_stt_available(s);
	v->llm_healthy = pool_healthy(s->pool);
	v->llm_capacity = pool_capacity(s->pool);
	v->batch_max = s->cfg->batch_max;
	v->batch_window_s = s->cfg->batch_window_s;
	v->max_phase_s = s->cfg->max_phase_s;
}

static void
write_state(struct sched *s, bool changed)
{
	struct node_state st;
	char err[512];
	double now = util_monotonic();

	if (!changed && now - s->state_written < STATE_EVERY_S)
		return;
	memset(&st, 0, sizeof(st));
	st.phase = s->phase;
	st.phase_since = s->phase_since;
	pthread_mutex_lock(&s->lock);
	st.batch_id = s->stt.batch_id;
	st.batch_size = s->stt.n;
	st.batch_done = s->stt.done;
	st.active_workers = s->stt.running;
	pthread_mutex_unlock(&s->lock);
	st.active_workers += pool_running(s->pool);
	st.queue_stt = s->counts.stt_waiting + s->counts.stt_retrying;
	st.queue_llm = s->counts.llm_waiting + s->counts.llm_retrying +
	    s->llm_queued;
	st.stt_available = sched_stt_available(s) || sched_stt_starting(s);
	st.llm_healthy = pool_healthy(s->pool);
	st.llm_capacity = pool_capacity(s->pool);
	st.stt_concurrency = s->cfg->stt_concurrency;
	st.batch_max = s->cfg->batch_max;
	st.batch_window_s = s->cfg->batch_window_s;
	st.role = s->cfg->role;
	sched_gpu_state(s, &st.gpus, &st.thermal);
	if (!node_state_write(s->db, s->node, s->worker, &st, err,
	    sizeof(err)))
		log_warnx("sched: state: %s", err);
	json_decref(st.gpus);
	json_decref(st.thermal);
	s->state_written = now;
}

/*
 * Unloads every Ollama model so STT has the GPU's memory; the wait is
 * recorded in the phase log, and the first LLM call afterwards pays the
 * load time (Ollama's load_duration, in that call's phase log row). An
 * unload that hangs is sent again, UNLOAD_TRIES times at most, so the
 * wait is bounded; if the models are still loaded after that, STT goes
 * on and the phase log says so. Returns whether every model is gone.
 */
static bool
unload_models(struct sched *s)
{
	double t0 = util_wallclock(), took = 0;
	char err[512] = "";
	json_t *detail;
	bool ok = false;
	int tries;
	long before, after;

	if (!s->cfg->unload_llm_on_stt || !s->models_loaded)
		return true;
	set_phase(s, PHASE_SWITCHING, "unloading LLM models");
	before = sched_gpu_mem_now(s);
	for (tries = 1; tries <= UNLOAD_TRIES && !ok &&
	    !atomic_load(&s->stopping); tries++) {
		if (!(ok = pool_unload(s->pool, UNLOAD_TIMEOUT_S, &took, err,
		    sizeof(err))))
			log_warnx("sched: unload (try %d of %d): %s", tries,
			    UNLOAD_TRIES, err);
	}
	after = before >= 0 ? sched_gpu_mem_now(s) : -1;
	detail = json_pack("{s:i, s:b}", "tries", tries - 1, "models_loaded",
	    !ok);
	/* The exclusion exists to free this memory: the timeline shows it. */
	if (before >= 0 && after >= 0) {
		json_object_set_new(detail, "vram_before_mib",
		    json_integer(before));
		json_object_set_new(detail, "vram_after_mib",
		    json_integer(after));
	}
	node_log_call(s->db, s->node, "unload", 0, NULL, t0,
	    util_wallclock(), ok ? "ok" : "error", detail);
	json_decref(detail);
	s->models_loaded = !ok;
	return ok;
}

static void
run_stt_phase(struct sched *s)
{
	struct phase_view v;
	double seen;
	bool unloaded;

	/* The writer enters only when no reader is left. */
	pool_pause(s->pool);
	while (pool_running(s->pool) > 0 && !atomic_load(&s->stopping))
		tick(s, 0.05);
	if (atomic_load(&s->stopping))
		return;		/* shutdown never starts a phase */
	unloaded = unload_models(s);
	view(s, &v);
	if (atomic_load(&s->stopping) || atomic_load(&s->fenced) ||
	    !sched_stt_open_batch(s, phase_batch_size(&v))) {
		set_phase(s, PHASE_IDLE, "no STT work after all");
		return;
	}
	set_phase(s, PHASE_STT, unloaded ? "batch ready" : "batch ready; an "
	    "LLM model may still be loaded (the unload did not finish)");
	seen = util_monotonic();
	for (;;) {
		tick(s, TICK_S);
		if (sched_stt_batch_finished(s))
			break;
		/* The queue is counted every TICK_S, not after every file:
		   max_phase_s is minutes, a count is a round trip. */
		if (util_monotonic() - seen >= TICK_S) {
			view(s, &v);
			seen = util_monotonic();
		}
		if (atomic_load(&s->stopping) || phase_time_up(&v) ||
		    !sched_stt_available(s))
			sched_stt_close_batch(s, atomic_load(&s->stopping) ?
			    "stopping" : "phase time up or engine down");
	}
	/* Back-to-back batches are one run: its items are all of theirs. */
	s->run_items += sched_stt_batch_done(s);
	sched_stt_end_batch(s);
}

static void
run_llm_phase(struct sched *s)
{
	struct phase_view v;
	double seen = 0;
	int cap;

	set_phase(s, PHASE_LLM, "evaluations waiting");
	s->models_loaded = true;
	pool_resume(s->pool);
	while (!atomic_load(&s->stopping)) {
		/* Counted every TICK_S, and at once when the pool runs low. */
		cap = pool_capacity(s->pool);
		if (util_monotonic() - seen >= TICK_S || s->llm_queued < cap) {
			view(s, &v);
			seen = util_monotonic();
		}
		/* Claims in batches: a round waits in the pool behind the
		   calls on the wire, and the next is claimed when it starts,
		   so a slot that frees finds its work already here. */
		if (s->counts.llm_waiting > 0 && s->llm_queued <= cap)
			submit_llm(s, 2 * cap - s->llm_queued);
		else if (s->counts.llm_waiting == 0 && s->bakeoff_waiting >
		    0 && s->llm_queued < cap && !phase_stt_ready(&v))
			submit_bakeoff(s, cap - s->llm_queued);
		else if (s->llm_queued == 0 && s->counts.llm_waiting == 0 &&
		    (s->bakeoff_waiting == 0 || phase_stt_ready(&v)))
			break;		/* the evaluation queue is empty */
		if (phase_time_up(&v) || atomic_load(&s->fenced))
			break;		/* time up, or the node lock lost */
		if (v.llm_healthy == 0 && phase_stt_ready(&v))
			break;		/* no backend: let STT go on */
		tick(s, TICK_S);
	}
	/* Readers leave: no new call starts, calls on the wire finish. */
	pool_pause(s->pool);
	while (pool_running(s->pool) > 0)
		tick(s, 0.05);
}

/* exclusive: false: STT batches and LLM calls side by side. */
static void
run_concurrent(struct sched *s)
{
	struct phase_view v;

	if (atomic_load(&s->fenced))
		return;		/* the controller's loop takes the lock again */
	set_phase(s, PHASE_CONCURRENT, "exclusive is off");
	pool_resume(s->pool);
	view(s, &v);
	if (sched_stt_batch_finished(s)) {
		sched_stt_end_batch(s);
		if (phase_stt_ready(&v))
			sched_stt_open_batch(s, v.batch_max);
	}
	if (v.llm_waiting > s->llm_queued)
		submit_llm(s, pool_capacity(s->pool) - s->llm_queued);
	if (s->counts.llm_waiting == 0 && s->bakeoff_waiting > 0)
		submit_bakeoff(s, pool_capacity(s->pool) - s->llm_queued);
	tick(s, phase_wait_s(&v, TICK_S));
}

/* Claims up to room evaluations and queues them in the pool. */
static int
submit_llm(struct sched *s, int room)
{
	struct job *jobs;
	char err[512];
	int n = 0, i, sent = 0;

	if (room <= 0 || pool_healthy(s->pool) == 0)
		return 0;
	jobs = xcalloc((size_t)room, sizeof(*jobs));
	if (!queue_claim(s->db, "llm", s->node, s->worker,
	    s->cfg->lease_s, 0, room, jobs, &n, err, sizeof(err)))
		log_warnx("sched: claim llm: %s", err);
	for (i = 0; i < n; i++) {
		sched_hold(s, &jobs[i]);
		log_set_request_id(jobs[i].request_id);
		if (llm_task(s, &jobs[i]))
			sent++;
		else
			sched_unhold(s, &jobs[i]);
	}
	log_set_request_id(NULL);
	free(jobs);
	return sent;
}

/*
 * What scoring a submission needs: its rubric (*rid, or the current one
 * when 0, which *rid then names) and its transcript with the speech
 * metrics. False with the reason; the caller frees what it got.
 */
static bool
eval_input(struct sched *s, long long sid, long long *rid,
    struct rubric **rubric, char **text, json_t **metrics, char *err,
    size_t errlen)
{
	json_t *def = NULL;
	bool ok;

	ok = (*rid == 0 ? rubrics_current(s->db, rid, &def, err, errlen) :
	    rubrics_get(s->db, *rid, &def, err, errlen)) &&
	    (*rubric = rubric_parse(def, err, errlen)) != NULL &&
	    transcript_get(s->db, sid, text, metrics, err, errlen);
	json_decref(def);
	return ok;
}

/* Loads what one evaluation needs and submits it to the pool. */
static bool
llm_task(struct sched *s, const struct job *job)
{
	struct llm_pending *lp = xcalloc(1, sizeof(*lp));
	struct pool_task t;
	json_t *metrics = NULL;
	char *text = NULL, err[512];
	long long rid = job->rubric_id;
	bool ok = false;

	lp->job = *job;
	lp->sched = s;
	if (!eval_input(s, job->id, &rid, &lp->rubric, &text, &metrics, err,
	    sizeof(err))) {
		sched_fail(s, job, err, true);
		goto out;
	}
	if (!queue_begin(s->db, job, err, sizeof(err)))
		goto out;	/* no longer ours: logged and counted */
	memset(&t, 0, sizeof(t));
	t.submission_id = job->id;
	t.rubric = lp->rubric;
	t.rubric_id = rid;
	t.transcript = text;
	t.metrics = metrics;
	if (!pool_submit(s->pool, &t, on_done, lp)) {
		queue_release(s->db, job, err, sizeof(err));
		goto out;
	}
	s->llm_queued++;
	lp = NULL;	/* on_done owns it now */
	ok = true;
	log_info("submission=%lld llm queued", job->id);
out:
	if (lp != NULL) {
		rubric_free(lp->rubric);
		free(lp);
	}
	free(text);
	json_decref(metrics);
	return ok;
}

/* Claims up to room bake-off runs and queues them in the pool. */
static int
submit_bakeoff(struct sched *s, int room)
{
	struct bakeoff_run runs[16];
	char err[512];
	int n, i, sent = 0;

	char next[64];

	if (room <= 0 || pool_healthy(s->pool) == 0 ||
	    !bakeoff_next_backend(s->db, next, sizeof(next)))
		return 0;
	/*
	 * One model at a time, the memory cleared in between, so each is
	 * measured on its own: the next model's runs wait for the last
	 * model's calls to end, then the models are unloaded.
	 */
	if (strcmp(next, s->bakeoff_backend) != 0) {
		if (s->llm_queued > 0)
			return 0;
		if (s->bakeoff_backend[0] != '\0') {
			enum phase was = s->phase;

			s->models_loaded = true;
			unload_models(s);
			set_phase(s, was, "bake-off: the next model");
			pool_resume(s->pool);
		}
		util_strlcpy(s->bakeoff_backend, next,
		    sizeof(s->bakeoff_backend));
	}
	n = bakeoff_claim(s->db, s->node, next, runs, room < 16 ? room : 16,
	    err, sizeof(err));
	if (n < 0)
		log_warnx("sched: claim bake-off runs: %s", err);
	for (i = 0; i < n; i++)
		sent += bakeoff_task(s, &runs[i]);
	return sent;
}

/*
 * One bake-off run: the submission's transcript and the rubric of its
 * evaluation, to the run's backend with the trial's seed. Its calls are
 * logged without the submission (submission_id 0), so nothing of it
 * shows on the student's timeline.
 */
static bool
bakeoff_task(struct sched *s, const struct bakeoff_run *run)
{
	struct llm_pending *lp = xcalloc(1, sizeof(*lp));
	struct pool_task t;
	json_t *metrics = NULL;
	char *text = NULL, err[512], why[600];
	long long rid = run->rubric_id;
	bool ok = false;

	lp->sched = s;
	lp->bakeoff_run = run->id;
	if (!eval_input(s, run->submission_id, &rid, &lp->rubric, &text,
	    &metrics, err, sizeof(err))) {
		bakeoff_finish(s->db, run->id, false, false, NULL, NULL, 0, 0,
		    err, why, sizeof(why));
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.submission_id = 0;
	t.rubric = lp->rubric;
	t.rubric_id = rid;
	t.transcript = text;
	t.metrics = metrics;
	t.backend = run->backend;
	t.seed = s->cfg->llm_seed + run->trial;
	if (!pool_submit(s->pool, &t, on_done, lp)) {
		snprintf(why, sizeof(why), "backend %s is not configured on "
		    "node %s", run->backend, s->node);
		bakeoff_finish(s->db, run->id, false, false, NULL, NULL, 0, 0,
		    why, err, sizeof(err));
		goto out;
	}
	s->llm_queued++;
	lp = NULL;	/* on_done owns it now */
	ok = true;
	log_info("bakeoff=%lld run=%lld submission=%lld backend=%s trial=%d "
	    "queued", run->bakeoff_id, run->id, run->submission_id,
	    run->backend, run->trial);
out:
	if (lp != NULL) {
		rubric_free(lp->rubric);
		free(lp);
	}
	free(text);
	json_decref(metrics);
	return ok;
}

/* A bake-off run's answer: stored with the run, never as a result. */
static void
bakeoff_done(struct sched *s, struct event *e)
{
	struct llm_pending *lp = e->pending;
	char err[512];

	if (!e->res.ok && atomic_load(&s->stopping))
		return;		/* put back when the node is taken again */
	/* Not retryable: every answer was invalid, repair included. */
	if (!bakeoff_finish(s->db, lp->bakeoff_run, e->res.ok,
	    !e->res.ok && !e->res.retryable, e->res.evaluation, e->res.model,
	    e->res.llm_s, e->res.eval_tokens, e->res.ok ? NULL : e->res.error,
	    err, sizeof(err)))
		log_warnx("sched: bake-off run %lld: %s", lp->bakeoff_run,
		    err);
}

/* On the pool's thread: copy the result and hand it over. */
static void
on_done(const struct pool_result *r, void *arg)
{
	struct llm_pending *lp = arg;
	struct event *e = xcalloc(1, sizeof(*e));

	e->res = *r;
	e->res.evaluation = json_incref(r->evaluation);
	e->res.backend = r->backend != NULL ? xstrdup(r->backend) : NULL;
	e->res.model = r->model != NULL ? xstrdup(r->model) : NULL;
	e->pending = lp;
	push_event(lp->sched, e);
}

static void
on_call(const struct pool_call *c, void *arg)
{
	struct event *e = xcalloc(1, sizeof(*e));

	e->is_call = true;
	e->call = *c;
	e->call.backend = c->backend != NULL ? xstrdup(c->backend) : NULL;
	e->call.outcome = xstrdup(c->outcome != NULL ? c->outcome : "?");
	push_event(arg, e);
}

static void
push_event(struct sched *s, struct event *e)
{
	struct event **tail;

	pthread_mutex_lock(&s->lock);
	for (tail = &s->events; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = e;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* On the controller's thread: record finished calls and results. */
static void
drain_events(struct sched *s)
{
	struct event *e, *next;
	char err[512];

	pthread_mutex_lock(&s->lock);
	e = s->events;
	s->events = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; e != NULL; e = next) {
		next = e->next;
		if (e->is_call) {
			json_t *d = json_pack("{s:f, s:I, s:I}", "load_s",
			    e->call.load_s, "prompt_tokens",
			    (json_int_t)e->call.prompt_tokens, "eval_tokens",
			    (json_int_t)e->call.eval_tokens);

			if (e->call.started)
				node_log_start(s->db, s->node, "llm",
				    e->call.submission_id, e->call.backend,
				    e->call.started_at);
			else
				node_log_call(s->db, s->node, "llm",
				    e->call.submission_id, e->call.backend,
				    e->call.started_at, e->call.finished_at,
				    e->call.outcome, d);
			json_decref(d);
			free((char *)e->call.backend);
			free((char *)e->call.outcome);
		} else {
			struct llm_pending *lp = e->pending;

			s->llm_queued--;
			s->run_items++;
			log_set_request_id(lp->job.request_id);
			if (lp->bakeoff_run != 0)
				bakeoff_done(s, e);
			else if (!e->res.ok && atomic_load(&s->stopping))
				/* Cancelled by the shutdown: not a failed try. */
				queue_release(s->db, &lp->job, err,
				    sizeof(err));
			else if (!e->res.ok)
				sched_fail(s, &lp->job, e->res.error,
				    e->res.retryable);
			else if (store_evaluation(s, &lp->job, &e->res)) {
				s->last_result = util_monotonic();
				log_info("submission=%lld llm done backend=%s "
				    "model=%s llm_s=%.2f", lp->job.id,
				    e->res.backend, e->res.model, e->res.llm_s);
			}
			if (lp->bakeoff_run == 0)
				sched_unhold(s, &lp->job);
			json_decref(e->res.evaluation);
			free((char *)e->res.backend);
			free((char *)e->res.model);
			rubric_free(lp->rubric);
			free(lp);
			log_set_request_id(NULL);
		}
		free(e);
	}
}

void
sched_fail(struct sched *s, const struct job *job, const char *message,
    bool retryable)
{
	char err[512];

	log_warnx("submission=%lld phase=%s failed retryable=%d: %s", job->id,
	    job->phase, retryable, message);
	if (!queue_fail(s->db, job, message, retryable, s->cfg->max_retries,
	    err, sizeof(err)))
		log_warnx("submission=%lld: cannot record the failure: %s",
		    job->id, err);
}

/* The pool's answer, stored as the pipeline's evaluation. */
static bool
store_evaluation(struct sched *s, const struct job *job,
    const struct pool_result *res)
{
	struct evaluation_result ev = {
		.evaluation = res->evaluation,
		.backend = res->backend,
		.model = res->model,
		.prompt_tokens = res->prompt_tokens,
		.eval_tokens = res->eval_tokens,
		.llm_s = res->llm_s,
	};
	char err[512];

	if (evaluation_save(s->db, job, &ev, err, sizeof(err)))
		return true;
	log_warnx("submission=%lld: evaluation not stored: %s", job->id, err);
	return false;
}
