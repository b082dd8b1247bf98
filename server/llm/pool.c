/*
 * pool: every configured LLM backend as one scoring service (see pool.h).
 *
 * This file owns the pool's life cycle and its one thread. The thread
 * runs libcurl's multi interface: every call to every backend (health
 * checks, generations, unloads) is an easy handle on one multi handle,
 * so no thread is ever created per request. Each turn of the loop runs
 * the timers (health checks, breaker cool-downs, unload polling), hands
 * waiting tasks to backends (pool_dispatch.c), sleeps in curl_multi_poll
 * until a socket is ready or a timer is due, then lets libcurl move the
 * bytes and handles the transfers that ended. pool_submit and the other
 * public functions take the pool's lock and wake the loop with
 * curl_multi_wakeup.
 *
 * Callers' callbacks (a task's done, the call hook) run on this thread
 * with the lock released: they are queued as notes while the lock is
 * held and delivered afterwards, so a callback may call any pool
 * function except pool_unload and pool_free.
 *
 * The reader-writer rule relies on pool_pause: generation calls start
 * only in pool_dispatch, under the lock, after checking `paused`, and
 * `running` counts them before the lock is released; so once
 * pool_pause returns, pool_running() == 0 means nothing is on the wire.
 */
#include "pool.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "pool_impl.h"
#include "util.h"

#define UNLOAD_POLL_S	0.1	/* GET /api/ps while a model unloads */

static bool	 backends_load(struct pool *, const struct config *, char *,
		    size_t);
static void	 wait_first_health(struct pool *);
static void	*pool_main(void *);
static int	 poll_timeout_ms(struct pool *, double);
static void	 reap(struct pool *);
static struct xfer *xfer_add(struct pool *, enum xfer_kind,
		    struct llm_call *, struct backend *);
static void	 xfer_unlink(struct pool *, struct xfer *);
static void	 deliver(struct pool *);
static void	 shutdown_all(struct pool *);
static void	 unload_tick(struct pool *, double);
static void	 unload_begin(struct pool *);
static void	 unload_end(struct pool *, bool);
static void	 unload_done(struct pool *, struct xfer *, CURLcode);
static void	 ps_done(struct pool *, struct xfer *, CURLcode);

struct pool *
pool_new(const struct config *cfg, char *err, size_t errlen)
{
	struct pool *p;

	if (sodium_init() < 0) {
		util_seterr(err, errlen, "pool: libsodium failed to start");
		return NULL;
	}
	llm_global_init();
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	util_cond_init_monotonic(&p->cond);
	p->notes_tail = &p->notes;
	p->least_loaded = cfg->llm_dispatch == NULL ||
	    strcmp(cfg->llm_dispatch, "round_robin") != 0;
	p->ensemble = cfg->evaluation_mode != NULL &&
	    strcmp(cfg->evaluation_mode, "ensemble") == 0;
	p->margin = cfg->ensemble_margin;
	p->health_interval_s = cfg->llm_health_interval_s > 0 ?
	    cfg->llm_health_interval_s : 10;
	p->breaker_failures = cfg->llm_breaker_failures > 0 ?
	    cfg->llm_breaker_failures : 3;
	p->cooldown_s = cfg->llm_breaker_cooldown_s > 0 ?
	    cfg->llm_breaker_cooldown_s : 30;
	p->num_ctx = cfg->llm_num_ctx > 0 ? cfg->llm_num_ctx : 4096;
	p->options = json_pack("{s:f,s:i,s:i}", "temperature", 0.0, "seed",
	    cfg->llm_seed, "num_ctx", p->num_ctx);
	if (!backends_load(p, cfg, err, errlen))
		goto fail;
	if ((p->multi = curl_multi_init()) == NULL) {
		util_seterr(err, errlen, "pool: curl_multi_init failed");
		goto fail;
	}
	p->try_budget = p->nb * 2 > 3 ? (int)p->nb * 2 : 3;
	if (pthread_create(&p->thread, NULL, pool_main, p) != 0) {
		util_seterr(err, errlen, "pool: cannot start its thread");
		goto fail;
	}
	p->thread_started = true;
	wait_first_health(p);
	log_info("pool: started backends=%zu dispatch=%s mode=%s healthy=%d",
	    p->nb, p->least_loaded ? "least_loaded" : "round_robin",
	    p->ensemble ? "ensemble" : "single", pool_healthy(p));
	return p;
fail:
	pool_free(p);
	return NULL;
}

static bool
backends_load(struct pool *p, const struct config *cfg, char *err,
    size_t errlen)
{
	struct config_backend cb;
	struct aimd_cfg ac;
	double now = util_monotonic();
	json_t *v;
	size_t i;

	p->nb = json_array_size(cfg->llm_backends);
	p->b = xcalloc(p->nb + 1, sizeof(*p->b));
	json_array_foreach(cfg->llm_backends, i, v) {
		struct backend *b = &p->b[i];

		if (!config_backend_parse(v, i, &cb, err, errlen)) {
			p->nb = i;
			return false;
		}
		b->cfg.name = xstrdup(cb.name);
		b->cfg.type = xstrdup(cb.type);
		b->cfg.url = xstrdup(cb.url);
		b->cfg.model = xstrdup(cb.model);
		b->cfg.api_key = cb.api_key != NULL ? xstrdup(cb.api_key) :
		    NULL;
		b->cfg.max_concurrent = cb.max_concurrent;
		b->cfg.timeout_s = json_object_get(v, "timeout_s") != NULL ?
		    cb.timeout_s : cfg->llm_timeout_s;
		b->weight = cb.weight;
		b->index = i;
		b->state = BREAKER_DOWN;	/* until its first check */
		b->adaptive = cb.concurrency_max > 0;
		memset(&ac, 0, sizeof(ac));
		ac.min = b->adaptive ? cb.concurrency_min : cb.max_concurrent;
		ac.max = b->adaptive ? cb.concurrency_max : cb.max_concurrent;
		ac.target_p95_s = cb.target_p95_ms / 1000.0;
		ac.target_error_rate = cb.target_error_rate;
		aimd_init(&b->aimd, &ac, now);
		if (b->adaptive) {
			b->limits[0].at = util_wallclock();
			b->limits[0].limit = ac.min;
			util_strlcpy(b->limits[0].why, "start: the lowest limit",
			    sizeof(b->limits[0].why));
			b->nlimits = b->limitpos = 1;
		}
		bucket_init(&b->request_budget, cb.requests_per_minute,
		    cb.requests_burst, now);
		bucket_init(&b->token_budget, cb.tokens_per_minute,
		    cb.tokens_burst, now);
	}
	return true;
}

/* Waits (briefly) for every backend's first health check. */
static void
wait_first_health(struct pool *p)
{
	struct timespec ts;
	size_t i;

	util_deadline_monotonic(POOL_HEALTH_TIMEOUT_S + 1, &ts);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		for (i = 0; i < p->nb && p->b[i].checked; i++)
			;
		if (i == p->nb || pthread_cond_timedwait(&p->cond, &p->lock,
		    &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->lock);
}

void
pool_free(struct pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		curl_multi_wakeup(p->multi);
		pthread_join(p->thread, NULL);
	}
	if (p->multi != NULL)
		curl_multi_cleanup(p->multi);
	for (i = 0; i < p->nb; i++)
		pool_backend_free(&p->b[i]);
	free(p->b);
	json_decref(p->options);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

bool
pool_submit(struct pool *p, const struct pool_task *pt, pool_done_fn done,
    void *arg)
{
	struct task *t = pool_task_new(pt, done, arg, p->nb), **tail;
	size_t i;

	t->fixed = -1;
	if (pt->backend != NULL) {
		for (i = 0; i < p->nb && strcmp(p->b[i].cfg.name,
		    pt->backend) != 0; i++)
			;
		if (i == p->nb) {
			pool_task_free(t);
			return false;
		}
		t->fixed = (int)i;
	}
	if (pt->seed != 0) {
		t->options = json_deep_copy(p->options);
		json_object_set_new(t->options, "seed", json_integer(pt->seed));
	}
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		pool_task_free(t);
		return false;
	}
	for (tail = &p->tasks; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = t;
	p->ntasks++;
	pthread_mutex_unlock(&p->lock);
	curl_multi_wakeup(p->multi);
	return true;
}

void
pool_set_call_hook(struct pool *p, pool_call_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	p->call_hook = fn;
	p->call_arg = arg;
	pthread_mutex_unlock(&p->lock);
}

void
pool_pause(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->paused = true;
	pthread_mutex_unlock(&p->lock);
}

void
pool_hold(struct pool *p, bool on)
{
	pthread_mutex_lock(&p->lock);
	p->held = on;
	pthread_mutex_unlock(&p->lock);
}

void
pool_resume(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->paused = false;
	pthread_mutex_unlock(&p->lock);
	curl_multi_wakeup(p->multi);
}

int
pool_running(struct pool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->running;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_free_slots(struct pool *p)
{
	int n = 0, c;
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nb; i++)
		if ((c = pool_backend_capacity(&p->b[i]) -
		    p->b[i].in_flight) > 0)
			n += c;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_capacity(struct pool *p)
{
	int n = 0;
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nb; i++)
		n += pool_backend_capacity(&p->b[i]);
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_healthy(struct pool *p)
{
	int n = 0;
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nb; i++)
		n += pool_backend_in_rotation(&p->b[i]);
	pthread_mutex_unlock(&p->lock);
	return n;
}

int
pool_in_flight(struct pool *p)
{
	int n;

	pthread_mutex_lock(&p->lock);
	n = p->ntasks;
	pthread_mutex_unlock(&p->lock);
	return n;
}

json_t *
pool_stats(struct pool *p)
{
	json_t *a = json_array();
	double now = util_monotonic();
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nb; i++)
		json_array_append_new(a, pool_backend_stats(&p->b[i], now));
	pthread_mutex_unlock(&p->lock);
	return a;
}

bool
pool_unload(struct pool *p, double timeout_s, double *took_s, char *err,
    size_t errlen)
{
	struct unload_req req;
	double t0 = util_monotonic();

	/* The pool's thread does the work: it must not wait for itself. */
	ASSERT(!p->thread_started || !pthread_equal(pthread_self(),
	    p->thread));
	memset(&req, 0, sizeof(req));
	req.deadline = t0 + timeout_s;
	pthread_mutex_lock(&p->lock);
	while (p->unload != NULL && !p->stopping)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		*took_s = 0;
		return util_seterr(err, errlen, "pool: shutting down");
	}
	p->unload = &req;
	curl_multi_wakeup(p->multi);
	while (!req.done)
		pthread_cond_wait(&p->cond, &p->lock);
	p->unload = NULL;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	*took_s = util_monotonic() - t0;
	return req.ok || util_seterr(err, errlen, "%s", req.err);
}

/* ---- on the pool's thread ---------------------------------------------- */

static void *
pool_main(void *arg)
{
	struct pool *p = arg;
	double now;
	int still, ms;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		now = util_monotonic();
		pool_backends_tick(p, now);
		unload_tick(p, now);
		pool_dispatch(p, now);
		deliver(p);
		if (p->stopping)
			break;
		ms = poll_timeout_ms(p, now);
		pthread_mutex_unlock(&p->lock);
		curl_multi_poll(p->multi, NULL, 0, ms, NULL);
		pthread_mutex_lock(&p->lock);
		curl_multi_perform(p->multi, &still);
		reap(p);
		deliver(p);
	}
	shutdown_all(p);
	deliver(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int
poll_timeout_ms(struct pool *p, double now)
{
	double t = pool_backends_next_wakeup(p, now);

	if (p->unload != NULL && !p->unload->done)
		t = fmin(t, UNLOAD_POLL_S / 2);
	return (int)ceil(t * 1000) + 1;
}

/* Handles every transfer that ended. */
static void
reap(struct pool *p)
{
	struct CURLMsg *msg;
	struct xfer *x;
	CURLcode rc;
	char *priv;
	int left;

	while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		curl_multi_remove_handle(p->multi, msg->easy_handle);
		ASSERT(priv != NULL);
		x = (struct xfer *)(void *)priv;
		xfer_unlink(p, x);
		switch (x->kind) {
		case XFER_GENERATE:
			pool_task_call_done(p, x, rc);
			break;
		case XFER_HEALTH:
			pool_backend_health_done(p, x->b, x->call, rc);
			break;
		case XFER_UNLOAD:
			unload_done(p, x, rc);
			break;
		case XFER_PS:
			ps_done(p, x, rc);
			break;
		}
		llm_call_free(x->call);
		free(x);
	}
}

bool
pool_start_generate(struct pool *p, struct task *t, size_t i,
    struct backend *b, bool repair)
{
	struct member *m = &t->m[i];
	struct llm_request req;
	struct llm_call *call;
	struct xfer *x;
	char err[512];

	memset(&req, 0, sizeof(req));
	req.prompt = repair ? m->repair_prompt : t->prompt;
	req.format = t->schema;
	req.format_name = "evaluation";
	req.options = t->options != NULL ? t->options : p->options;
	if ((call = llm_call_generate(&b->cfg, &req, err, sizeof(err))) ==
	    NULL) {
		log_warnx("pool: submission=%lld: %s", t->submission_id, err);
		pool_task_finish_error(p, t, false, "the evaluation request "
		    "could not be built");
		return false;
	}
	x = xfer_add(p, XFER_GENERATE, call, b);
	x->t = t;
	x->submission_id = t->submission_id;
	pool_note_call(p, x, "running", NULL);
	x->member = i;
	x->repair = repair;
	pool_backend_call_started(b, x, x->started);
	b->in_flight++;
	p->running++;
	if (b->state == BREAKER_HALF_OPEN)
		b->probing = true;
	m->state = MEMBER_RUNNING;
	m->ran_on = (int)b->index;
	log_debug("pool: submission=%lld call backend=%s%s",
	    t->submission_id, b->cfg.name, repair ? " (repair)" : "");
	return true;
}

void
pool_start_health(struct pool *p, struct backend *b)
{
	struct llm_call *call;
	char err[512];

	call = llm_call_get(&b->cfg, llm_models_path(&b->cfg), err,
	    sizeof(err));
	if (call == NULL) {
		b->checked = true;
		b->next_health = util_monotonic() + p->health_interval_s;
		pool_backend_event(p, b, BEV_HEALTH_FAIL, err);
		return;
	}
	curl_easy_setopt(llm_call_easy(call), CURLOPT_TIMEOUT,
	    (long)POOL_HEALTH_TIMEOUT_S);
	xfer_add(p, XFER_HEALTH, call, b);
	b->health_busy = true;
}

static struct xfer *
xfer_add(struct pool *p, enum xfer_kind kind, struct llm_call *call,
    struct backend *b)
{
	struct xfer *x = xcalloc(1, sizeof(*x));
	CURLMcode mc;

	x->kind = kind;
	x->call = call;
	x->b = b;
	x->started = util_monotonic();
	x->started_wall = util_wallclock();
	curl_easy_setopt(llm_call_easy(call), CURLOPT_PRIVATE, (char *)x);
	if ((mc = curl_multi_add_handle(p->multi, llm_call_easy(call))) !=
	    CURLM_OK)
		fatalx("pool: curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
	x->next = p->xfers;
	p->xfers = x;
	return x;
}

static void
xfer_unlink(struct pool *p, struct xfer *x)
{
	struct xfer **pp;

	for (pp = &p->xfers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			return;
		}
}

/* Reports a generation call that ended to the call hook. */
void
pool_note_call(struct pool *p, const struct xfer *x, const char *outcome,
    const struct llm_response *r)
{
	struct note *n;

	if (p->call_hook == NULL)
		return;
	n = xcalloc(1, sizeof(*n));
	n->is_call = true;
	n->call.submission_id = x->submission_id;
	n->call.backend = x->b->cfg.name;
	n->call.started_at = x->started_wall;
	n->call.started = strcmp(outcome, "running") == 0;
	n->call.finished_at = n->call.started ? 0 : util_wallclock();
	n->call.outcome = outcome;
	if (r != NULL) {
		n->call.load_s = r->load_s;
		n->call.prompt_tokens = r->prompt_tokens;
		n->call.eval_tokens = r->eval_tokens;
	}
	pool_note(p, n);
}

void
pool_note(struct pool *p, struct note *n)
{
	n->next = NULL;
	*p->notes_tail = n;
	p->notes_tail = &n->next;
}

/* Runs the queued callbacks with the lock released, in order. */
static void
deliver(struct pool *p)
{
	struct note *n, *next;
	pool_call_fn hook;
	void *hook_arg;

	while ((n = p->notes) != NULL) {
		p->notes = NULL;
		p->notes_tail = &p->notes;
		hook = p->call_hook;
		hook_arg = p->call_arg;
		pthread_mutex_unlock(&p->lock);
		for (; n != NULL; n = next) {
			next = n->next;
			if (n->is_call && hook != NULL)
				hook(&n->call, hook_arg);
			else if (!n->is_call && n->done != NULL)
				n->done(&n->res, n->arg);
			json_decref(n->res.evaluation);
			free((char *)n->res.model);
			free(n);
		}
		pthread_mutex_lock(&p->lock);
	}
}

/* pool_free: every call cancelled, every task answered (retryable). */
static void
shutdown_all(struct pool *p)
{
	struct xfer *x;

	while ((x = p->xfers) != NULL) {
		p->xfers = x->next;
		curl_multi_remove_handle(p->multi, llm_call_easy(x->call));
		if (x->kind == XFER_GENERATE) {
			x->b->in_flight--;
			p->running--;
			pool_note_call(p, x, "cancelled", NULL);
		}
		llm_call_free(x->call);
		free(x);
	}
	while (p->tasks != NULL)
		pool_task_finish_error(p, p->tasks, true, "the evaluation was "
		    "interrupted: the server is shutting down");
	if (p->unload != NULL && !p->unload->done) {
		util_strlcpy(p->unload->err, "pool: shutting down",
		    sizeof(p->unload->err));
		p->unload->done = true;
	}
	pthread_cond_broadcast(&p->cond);
}

/* ---- pool_unload, driven from the loop --------------------------------- */

static void
unload_tick(struct pool *p, double now)
{
	struct unload_req *req = p->unload;
	struct llm_call *call;
	struct backend *b;
	char err[512];
	size_t i, left = 0;

	if (req == NULL || req->done)
		return;
	if (!req->started)
		unload_begin(p);
	for (i = 0; i < p->nb; i++) {
		b = &p->b[i];
		if (b->unload == UNLOAD_WAIT && now >= b->unload_next) {
			call = llm_call_get(&b->cfg, "/api/ps", err,
			    sizeof(err));
			if (call == NULL)
				b->unload = UNLOAD_GONE;
			else {
				xfer_add(p, XFER_PS, call, b);
				b->unload = UNLOAD_PS;
			}
		}
		left += b->unload != UNLOAD_GONE;
	}
	if (left == 0)
		unload_end(p, true);
	else if (now >= req->deadline)
		unload_end(p, false);
}

/* POSTs keep_alive 0 to every Ollama backend not down. */
static void
unload_begin(struct pool *p)
{
	struct llm_call *call;
	struct backend *b;
	char err[512];
	size_t i;

	p->unload->started = true;
	for (i = 0; i < p->nb; i++) {
		b = &p->b[i];
		b->unload = UNLOAD_GONE;
		if (llm_is_openai(&b->cfg) || b->state == BREAKER_DOWN)
			continue;
		if ((call = llm_call_unload(&b->cfg, err, sizeof(err))) ==
		    NULL) {
			log_warnx("pool: unload: %s", err);
			continue;
		}
		xfer_add(p, XFER_UNLOAD, call, b);
		b->unload = UNLOAD_POST;
	}
}

static void
unload_end(struct pool *p, bool ok)
{
	struct unload_req *req = p->unload;
	struct buf names = BUF_INIT;
	size_t i;

	for (i = 0; i < p->nb; i++) {
		if (p->b[i].unload != UNLOAD_GONE)
			buf_printf(&names, "%s%s (%s)", names.len ? ", " : "",
			    p->b[i].cfg.name, p->b[i].cfg.model);
		p->b[i].unload = UNLOAD_IDLE;
	}
	req->ok = ok;
	if (!ok)
		snprintf(req->err, sizeof(req->err), "pool: still loaded "
		    "after the time limit: %s", buf_cstr(&names));
	buf_free(&names);
	req->done = true;
	pthread_cond_broadcast(&p->cond);
}

static void
unload_done(struct pool *p, struct xfer *x, CURLcode rc)
{
	struct llm_response r;
	char err[512];
	bool ok = llm_call_generated(x->call, rc, &r, err, sizeof(err));

	if (ok)
		llm_response_free(&r);
	else
		log_warnx("pool: unload: %s", err);
	if (x->b->unload != UNLOAD_POST)
		return;		/* the request already ended */
	/* Nobody listening, or the model is not there: nothing loaded. */
	if (!ok && (r.failure == LLM_FAIL_CONNECT || r.http_status == 404))
		x->b->unload = UNLOAD_GONE;
	else {
		x->b->unload = UNLOAD_WAIT;
		x->b->unload_next = util_monotonic();
	}
}

static void
ps_done(struct pool *p, struct xfer *x, CURLcode rc)
{
	enum llm_failure f;
	json_t *root = NULL;
	char err[512];
	bool ok = llm_call_json(x->call, rc, &root, &f, err, sizeof(err));

	if (x->b->unload != UNLOAD_PS) {
		json_decref(root);
		return;
	}
	if (ok && !llm_model_loaded(&x->b->cfg, root))
		x->b->unload = UNLOAD_GONE;
	else if (!ok && f == LLM_FAIL_CONNECT)
		x->b->unload = UNLOAD_GONE;
	else {
		x->b->unload = UNLOAD_WAIT;
		x->b->unload_next = util_monotonic() + UNLOAD_POLL_S;
	}
	json_decref(root);
}
