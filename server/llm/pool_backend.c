/*
 * pool_backend: the health of each backend in the pool.
 *
 * A backend's circuit breaker is an enum changed only by
 * pool_backend_event, one switch that logs every transition:
 *
 *   closed    --N consecutive failures-->        open
 *   open      --cool-down over-->                half-open
 *   half-open --the probe call answers-->        closed
 *   half-open --the probe call fails-->          open
 *   any       --connection refused, health
 *               check failed (model missing)-->  down
 *   down      --health check passes, or a call
 *               answers-->                       closed
 *
 * Besides the breaker, an answer of 503/429 or a timeout backs the
 * backend off for a while (doubling up to the cool-down; Retry-After is
 * honoured), so a busy server gets room without leaving the rotation.
 * Health checks (GET /api/tags or /v1/models, model present) run every
 * llm_health_interval_s on every backend, whatever its state; they only
 * read, so they never touch the GPU. Statistics for the health page are
 * kept here too: requests, errors, a ring of recent latencies (p50/p95),
 * an EWMA of the latency for dispatch, and tokens per second.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool_impl.h"
#include "util.h"

#define EWMA_ALPHA	0.3	/* weight of the newest latency sample */
#define LATENCY_PRIOR_S	1.0	/* before anything was measured */

static enum breaker	 next_state(const struct pool *,
			    const struct backend *, enum breaker_event);
static const char	*state_name(enum breaker);
static double		 percentile(const struct backend *, double);
static int		 cmp_double(const void *, const void *);

void
pool_backend_event(struct pool *p, struct backend *b, enum breaker_event ev,
    const char *why)
{
	enum breaker from = b->state, to;

	if (ev == BEV_SUCCESS) {
		b->failures = 0;
		b->backoff_s = 0;
	} else if (ev == BEV_FAILURE)
		b->failures++;
	if (why != NULL && ev != BEV_SUCCESS && ev != BEV_HEALTH_OK &&
	    ev != BEV_COOLDOWN)
		util_strlcpy(b->last_error, why, sizeof(b->last_error));
	to = next_state(p, b, ev);
	if (to == from)
		return;
	b->state = to;
	b->probing = false;
	if (to == BREAKER_OPEN)
		b->opened_at = util_monotonic();
	if (to == BREAKER_CLOSED)
		b->failures = 0;
	if (to == BREAKER_CLOSED || to == BREAKER_HALF_OPEN)
		log_info("pool: backend=%s state=%s->%s reason=\"%s\"",
		    b->cfg.name, state_name(from), state_name(to),
		    why ? why : "");
	else
		log_warnx("pool: backend=%s state=%s->%s failures=%d "
		    "reason=\"%s\"", b->cfg.name, state_name(from),
		    state_name(to), b->failures, why ? why : "");
}

/* The breaker's transition table (see the top of the file). */
static enum breaker
next_state(const struct pool *p, const struct backend *b,
    enum breaker_event ev)
{
	if (ev == BEV_REFUSED || ev == BEV_HEALTH_FAIL)
		return BREAKER_DOWN;
	switch (b->state) {
	case BREAKER_CLOSED:
		if (ev == BEV_FAILURE && b->failures >= p->breaker_failures)
			return BREAKER_OPEN;
		break;
	case BREAKER_OPEN:
		if (ev == BEV_COOLDOWN)
			return BREAKER_HALF_OPEN;
		break;
	case BREAKER_HALF_OPEN:
		if (ev == BEV_SUCCESS)
			return BREAKER_CLOSED;
		if (ev == BEV_FAILURE)
			return BREAKER_OPEN;
		break;
	case BREAKER_DOWN:
		if (ev == BEV_SUCCESS || ev == BEV_HEALTH_OK)
			return BREAKER_CLOSED;
		break;
	}
	return b->state;
}

static const char *
state_name(enum breaker s)
{
	switch (s) {
	case BREAKER_CLOSED:	return "up";
	case BREAKER_OPEN:	return "open";
	case BREAKER_HALF_OPEN:	return "half-open";
	case BREAKER_DOWN:	break;
	}
	return "down";
}

/* 503/429/timeout: no new call for a while, doubling up to cool-down. */
void
pool_backend_backoff(struct pool *p, struct backend *b, double retry_after_s)
{
	double cap = (double)p->cooldown_s, d;

	b->backoff_s = b->backoff_s == 0 ? 1.0 : fmin(b->backoff_s * 2, cap);
	d = fmax(b->backoff_s, fmin(retry_after_s, cap));
	b->backoff_until = util_monotonic() + d;
	log_info("pool: backend=%s backed off for %.1f s", b->cfg.name, d);
}

/*
 * A successful call's latency and speed. Dispatch's estimate leaves out
 * the model's load time (Ollama's load_duration): the first call after an
 * unload pays it once, and it must not make the backend look slow for
 * the calls after it.
 */
void
pool_backend_sample(struct backend *b, const struct llm_response *r)
{
	double s = fmax(r->total_s - r->load_s, 0.001);

	b->lat[b->latpos] = r->total_s;
	b->latpos = (b->latpos + 1) % POOL_LAT_SAMPLES;
	if (b->nlat < POOL_LAT_SAMPLES)
		b->nlat++;
	b->ewma_s = b->ewma_s == 0 ? s :
	    (1 - EWMA_ALPHA) * b->ewma_s + EWMA_ALPHA * s;
	if (r->eval_s > 0 && r->eval_tokens > 0) {
		b->tokens += (double)r->eval_tokens;
		b->token_s += r->eval_s;
	}
}

/* Timers: breakers whose cool-down ended, health checks due. */
void
pool_backends_tick(struct pool *p, double now)
{
	struct backend *b;
	size_t i;

	for (i = 0; i < p->nb; i++) {
		b = &p->b[i];
		if (b->state == BREAKER_OPEN &&
		    now >= b->opened_at + p->cooldown_s)
			pool_backend_event(p, b, BEV_COOLDOWN,
			    "cool-down over");
		if (!b->health_busy && now >= b->next_health)
			pool_start_health(p, b);
	}
}

/* Seconds until the next timer of any backend, at most 1. */
double
pool_backends_next_wakeup(struct pool *p, double now)
{
	const struct backend *b;
	double t = 1.0;
	size_t i;

	for (i = 0; i < p->nb; i++) {
		b = &p->b[i];
		if (!b->health_busy)
			t = fmin(t, b->next_health - now);
		if (b->state == BREAKER_OPEN)
			t = fmin(t, b->opened_at + p->cooldown_s - now);
		if (b->backoff_until > now)
			t = fmin(t, b->backoff_until - now);
		if (b->budget_since > 0)
			t = fmin(t, pool_backend_budget_wait(
			    (struct backend *)b, now));
	}
	return fmax(t, 0.0);
}

void
pool_backend_health_done(struct pool *p, struct backend *b, struct llm_call *c,
    CURLcode rc)
{
	enum llm_failure f;
	json_t *root = NULL;
	char err[512], why[600], *digest = NULL;
	bool ok;

	ok = llm_call_json(c, rc, &root, &f, err, sizeof(err)) &&
	    llm_model_listed(&b->cfg, root, &digest, err, sizeof(err));
	json_decref(root);
	b->health_busy = false;
	b->checked = true;
	b->next_health = util_monotonic() + p->health_interval_s;
	if (ok) {
		if (digest != NULL) {
			free(b->digest);
			b->digest = digest;
		}
		pool_backend_event(p, b, BEV_HEALTH_OK, "health check passed");
	} else {
		/* llm's messages name the backend; the model check's not. */
		if (strncmp(err, "backend ", 8) == 0)
			util_strlcpy(why, err, sizeof(why));
		else
			snprintf(why, sizeof(why), "backend %s: %s",
			    b->cfg.name, err);
		pool_backend_event(p, b, BEV_HEALTH_FAIL, why);
	}
	pthread_cond_broadcast(&p->cond);
}

bool
pool_backend_in_rotation(const struct backend *b)
{
	return b->state == BREAKER_CLOSED || b->state == BREAKER_HALF_OPEN;
}

/* Whether b takes calls now, free slots aside. */
bool
pool_backend_available(const struct pool *p, const struct backend *b,
    double now)
{
	if (p->paused || p->held || now < b->backoff_until)
		return false;
	return b->state == BREAKER_CLOSED ||
	    (b->state == BREAKER_HALF_OPEN && !b->probing);
}

/* Whether a generation call may start on b now. */
bool
pool_backend_can_start(const struct pool *p, const struct backend *b,
    double now)
{
	return pool_backend_available(p, b, now) &&
	    b->in_flight < pool_backend_limit(b) &&
	    pool_backend_budget_wait((struct backend *)b, now) == 0;
}

/* Slots offered: a half-open backend takes its one probe. */
int
pool_backend_capacity(const struct backend *b)
{
	if (b->state == BREAKER_HALF_OPEN)
		return 1;
	return pool_backend_in_rotation(b) ? pool_backend_limit(b) : 0;
}

/* Calls that may run at once now: tuned, or max_concurrent. */
int
pool_backend_limit(const struct backend *b)
{
	return b->adaptive ? aimd_limit(&b->aimd) : b->cfg.max_concurrent;
}

/*
 * Seconds until the request and token budgets allow one more call (0:
 * now). The token cost of a call is not known before it ends: the
 * estimate is the mean of the calls so far (prompt and answer).
 */
double
pool_backend_budget_wait(struct backend *b, double now)
{
	return fmax(bucket_wait(&b->request_budget, now, 1),
	    bucket_wait(&b->token_budget, now, b->tokens_per_call));
}

void
pool_backend_call_started(struct backend *b, struct xfer *x, double now)
{
	bucket_take(&b->request_budget, now, 1);
	x->tokens_taken = b->tokens_per_call;
	bucket_take(&b->token_budget, now, x->tokens_taken);
	x->saturated = b->in_flight + 1 >= pool_backend_limit(b);
	if (b->budget_since > 0) {
		b->budget_waited_s += now - b->budget_since;
		b->budget_since = 0;
	}
}

/*
 * A generation call ended: settle the token estimate, and let the
 * controller judge the call. A refused connection says nothing about
 * load (the breaker takes the backend out); a busy answer (429/503) is
 * overload; a timeout or error counts against the error target; an
 * answer, valid or not, is a latency sample.
 */
void
pool_backend_call_ended(struct pool *p, struct backend *b,
    const struct xfer *x, const struct llm_response *r, bool answered)
{
	double now = util_monotonic(), used;
	enum aimd_change c;
	int from = pool_backend_limit(b);
	struct limit_change *lc;

	(void)p;
	used = (double)(r->prompt_tokens + r->eval_tokens);
	if (answered && used > 0) {
		bucket_take(&b->token_budget, now, used - x->tokens_taken);
		b->tokens_per_call = b->tokens_per_call == 0 ? used :
		    0.8 * b->tokens_per_call + 0.2 * used;
	} else
		bucket_take(&b->token_budget, now, -x->tokens_taken);
	if (!b->adaptive || (!answered && r->failure == LLM_FAIL_CONNECT))
		return;
	c = aimd_sample(&b->aimd, now, now - x->started, answered,
	    !answered && r->failure == LLM_FAIL_BUSY, x->saturated);
	if (c == AIMD_SAME)
		return;
	lc = &b->limits[b->limitpos];
	lc->at = util_wallclock();
	lc->limit = aimd_limit(&b->aimd);
	util_strlcpy(lc->why, aimd_why(&b->aimd), sizeof(lc->why));
	b->limitpos = (b->limitpos + 1) % POOL_LIMIT_HISTORY;
	if (b->nlimits < POOL_LIMIT_HISTORY)
		b->nlimits++;
	log_info("pool: backend=%s limit=%d->%d reason=\"%s\"", b->cfg.name,
	    from, lc->limit, lc->why);
}

/*
 * Expected latency of one call. Before a backend was measured, assume it
 * is as fast as the fastest measured one (so it gets tried), scaled by
 * its configured weight.
 */
double
pool_backend_latency(const struct pool *p, const struct backend *b)
{
	double best = 0;
	size_t i;

	if (b->ewma_s > 0)
		return b->ewma_s;
	for (i = 0; i < p->nb; i++)
		if (p->b[i].ewma_s > 0 && (best == 0 || p->b[i].ewma_s < best))
			best = p->b[i].ewma_s;
	return (best > 0 ? best : LATENCY_PRIOR_S) / b->weight;
}

json_t *
pool_backend_stats(const struct backend *b, double now)
{
	const struct limit_change *lc;
	json_t *o, *limits;
	size_t k, i;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:f,s:f,"
	    "s:f,s:f,s:s,s:s?,s:i,s:f,s:b}",
	    "name", b->cfg.name, "type", b->cfg.type, "url", b->cfg.url,
	    "model", b->cfg.model, "state", state_name(b->state),
	    "in_flight", b->in_flight, "max_concurrent", b->cfg.max_concurrent,
	    "requests", (json_int_t)b->requests,
	    "errors", (json_int_t)b->errors,
	    "p50_ms", percentile(b, 0.50) * 1000,
	    "p95_ms", percentile(b, 0.95) * 1000,
	    "ewma_ms", b->ewma_s * 1000,
	    "tokens_per_s", b->token_s > 0 ? b->tokens / b->token_s : 0.0,
	    "last_error", b->last_error, "digest", b->digest,
	    "weight", b->weight,
	    "backoff_s", b->backoff_until > now ? b->backoff_until - now : 0.0,
	    "checked", b->checked);
	limits = json_array();
	for (k = 0; k < b->nlimits; k++) {
		i = (b->limitpos + POOL_LIMIT_HISTORY - b->nlimits + k) %
		    POOL_LIMIT_HISTORY;
		lc = &b->limits[i];
		json_array_append_new(limits, json_pack("{s:f,s:i,s:s}",
		    "at", lc->at, "limit", lc->limit, "why", lc->why));
	}
	json_object_set_new(o, "limit", json_integer(pool_backend_limit(b)));
	json_object_set_new(o, "adaptive", json_boolean(b->adaptive));
	json_object_set_new(o, "concurrency_min",
	    json_integer(b->aimd.cfg.min));
	json_object_set_new(o, "concurrency_max",
	    json_integer(b->aimd.cfg.max));
	json_object_set_new(o, "target_p95_ms",
	    json_real(b->aimd.cfg.target_p95_s * 1000));
	json_object_set_new(o, "target_error_rate",
	    json_real(b->aimd.cfg.target_error_rate));
	json_object_set_new(o, "limit_changes", limits);
	json_object_set_new(o, "requests_per_minute",
	    json_real(b->request_budget.per_s * 60));
	json_object_set_new(o, "tokens_per_minute",
	    json_real(b->token_budget.per_s * 60));
	json_object_set_new(o, "budget_wait_s", json_real(b->budget_since > 0 ?
	    now - b->budget_since : 0.0));
	json_object_set_new(o, "budget_waited_s", json_real(
	    b->budget_waited_s + (b->budget_since > 0 ? now -
	    b->budget_since : 0.0)));
	return o;
}

/* Nearest-rank percentile of the recent latencies; 0 with none. */
static double
percentile(const struct backend *b, double q)
{
	double v[POOL_LAT_SAMPLES];
	size_t k;

	if (b->nlat == 0)
		return 0;
	memcpy(v, b->lat, b->nlat * sizeof(v[0]));
	qsort(v, b->nlat, sizeof(v[0]), cmp_double);
	k = (size_t)ceil(q * (double)b->nlat);
	return v[k > 0 ? k - 1 : 0];
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
pool_backend_free(struct backend *b)
{
	free(b->cfg.name);
	free(b->cfg.type);
	free(b->cfg.url);
	free(b->cfg.model);
	free(b->cfg.api_key);
	free(b->digest);
}
