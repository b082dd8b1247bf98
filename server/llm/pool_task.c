/*
 * pool_task: one submission's way through the pool, from pool_submit to
 * its done callback.
 *
 * A task has members: single mode one, which may run on any backend;
 * ensemble mode one per backend in rotation when the task is first
 * dispatched, each fixed to its backend. A call's answer is validated
 * against the rubric; an invalid one gets one repair attempt on the same
 * backend (the prompt again, with the validation error appended), and an
 * invalid repair counts as a failed try. A failed try sends the member
 * back to waiting, to be retried on another backend where there is one.
 * A task gives up after try_budget failed calls (retryable, unless every
 * failure was an invalid answer) and never while it merely waits for a
 * healthy backend.
 *
 * The evaluation is rubric_validate's object plus "provenance" (which
 * backend, URL, model, digest, options, rubric version, prompt template
 * hash, mode, and every call made, failed ones included, so failover
 * never hides who graded). Ensemble mode adds "models" (each model's
 * scores), "mean", "needs_review" and "disagreement".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "pool_impl.h"
#include "rubric.h"
#include "util.h"

static void	 prompt_hash(const struct rubric *, char *);
static bool	 failed_try(struct pool *, struct task *, size_t,
		    const char *, bool);
static void	 give_up(struct pool *, struct task *, const char *);
static void	 call_failed(struct pool *, struct xfer *,
		    const struct llm_response *, const char *);
static void	 call_answered(struct pool *, struct xfer *,
		    struct llm_response *);
static void	 record_call(struct task *, const struct backend *,
		    const char *, double, const char *);
static bool	 settle(struct pool *, struct task *);
static void	 finish_ok(struct pool *, struct task *);
static json_t	*provenance(const struct pool *, const struct task *,
		    const struct backend *, const struct member *,
		    const char *);
static json_t	*ensemble_eval(const struct pool *, struct task *,
		    struct member **);
static json_t	*model_entry(const struct backend *, const struct member *);
static void	 task_end(struct pool *, struct task *, struct note *);
static void	 members_free(struct task *);
static double	 round2(double);

struct task *
pool_task_new(const struct pool_task *pt, pool_done_fn done, void *arg,
    size_t nb)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->submission_id = pt->submission_id;
	t->rubric_id = pt->rubric_id;
	t->rubric = pt->rubric;
	t->prompt = rubric_prompt(pt->rubric, pt->transcript, pt->metrics);
	t->schema = rubric_schema(pt->rubric);
	prompt_hash(pt->rubric, t->prompt_sha256);
	t->done = done;
	t->arg = arg;
	t->submitted = util_monotonic();
	t->tried = xcalloc(nb + 1, sizeof(bool));
	t->only_invalid = true;
	t->calls = json_array();
	return t;
}

/* The template: the prompt with a placeholder transcript, no metrics. */
static void
prompt_hash(const struct rubric *r, char *hex)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char *tmpl = rubric_prompt(r, "{{transcript}}", NULL);

	crypto_hash_sha256(h, (const unsigned char *)tmpl, strlen(tmpl));
	sodium_bin2hex(hex, 65, h, sizeof(h));
	free(tmpl);
}

void
pool_task_free(struct task *t)
{
	if (t == NULL)
		return;
	members_free(t);
	free(t->prompt);
	json_decref(t->schema);
	free(t->tried);
	json_decref(t->calls);
	json_decref(t->options);
	free(t);
}

static void
members_free(struct task *t)
{
	size_t i;

	for (i = 0; i < t->nm; i++) {
		json_decref(t->m[i].eval);
		free(t->m[i].model);
		free(t->m[i].repair_prompt);
	}
	free(t->m);
	t->m = NULL;
	t->nm = 0;
}

/* Chooses the members; false (wait) in ensemble mode with none healthy. */
bool
pool_task_begin(struct pool *p, struct task *t)
{
	size_t i, n = 0;

	t->m = xcalloc(p->nb + 1, sizeof(*t->m));
	if (t->fixed >= 0) {
		t->m[0].backend = t->fixed;
		n = 1;
	} else if (!p->ensemble) {
		t->m[0].backend = -1;
		n = 1;
	} else
		for (i = 0; i < p->nb; i++)
			if (pool_backend_in_rotation(&p->b[i]))
				t->m[n++].backend = (int)i;
	for (i = 0; i < n; i++)
		t->m[i].ran_on = -1;
	t->nm = t->asked = n;
	if (n > 0)
		return true;
	members_free(t);
	return false;
}

/* A generation call ended (x->t is NULL if its task already ended). */
void
pool_task_call_done(struct pool *p, struct xfer *x, CURLcode rc)
{
	struct llm_response r;
	char err[512];

	x->b->in_flight--;
	p->running--;
	x->b->requests++;
	if (x->b->state == BREAKER_HALF_OPEN)
		x->b->probing = false;
	if (!llm_call_generated(x->call, rc, &r, err, sizeof(err))) {
		pool_backend_call_ended(p, x->b, x, &r, false);
		call_failed(p, x, &r, err);
	} else {
		pool_backend_call_ended(p, x->b, x, &r, true);
		call_answered(p, x, &r);
		llm_response_free(&r);
	}
}

static void
call_failed(struct pool *p, struct xfer *x, const struct llm_response *r,
    const char *err)
{
	struct backend *b = x->b;
	const char *outcome = "error";

	b->errors++;
	switch (r->failure) {
	case LLM_FAIL_CONNECT:
		outcome = "refused";
		pool_backend_event(p, b, BEV_REFUSED, err);
		break;
	case LLM_FAIL_TIMEOUT:
		outcome = "timeout";
		/* FALLTHROUGH */
	case LLM_FAIL_BUSY:
		pool_backend_backoff(p, b, r->retry_after_s);
		/* FALLTHROUGH */
	default:
		pool_backend_event(p, b, BEV_FAILURE, err);
		break;
	}
	log_warnx("pool: submission=%lld backend=%s call %s: %s",
	    x->submission_id, b->cfg.name, outcome, err);
	pool_note_call(p, x, outcome, r);
	if (x->t == NULL)
		return;
	record_call(x->t, b, outcome, r->total_s, err);
	failed_try(p, x->t, x->member, err, false);
}

static void
call_answered(struct pool *p, struct xfer *x, struct llm_response *r)
{
	struct task *t = x->t;
	struct member *m;
	json_t *eval = NULL;
	char verr[256], why[300];
	bool valid;

	pool_backend_sample(x->b, r);
	pool_backend_event(p, x->b, BEV_SUCCESS, "a call answered");
	/* OpenAI-compatible servers publish no digest; their build's
	   system_fingerprint is the closest thing. */
	if (r->fingerprint != NULL && llm_is_openai(&x->b->cfg)) {
		free(x->b->digest);
		x->b->digest = r->fingerprint;
		r->fingerprint = NULL;
	}
	valid = t != NULL && rubric_validate(t->rubric, r->content, &eval,
	    verr, sizeof(verr));
	pool_note_call(p, x, valid || t == NULL ? "ok" : "invalid", r);
	if (t == NULL)
		return;
	m = &t->m[x->member];
	m->call_s += r->total_s;
	record_call(t, x->b, valid ? "ok" : "invalid", r->total_s,
	    valid ? NULL : verr);
	if (valid) {
		m->eval = eval;
		m->model = r->model;
		r->model = NULL;
		m->prompt_tokens = r->prompt_tokens;
		m->eval_tokens = r->eval_tokens;
		m->state = MEMBER_DONE;
		settle(p, t);
		return;
	}
	log_warnx("pool: submission=%lld backend=%s invalid answer%s: %s",
	    t->submission_id, x->b->cfg.name, x->repair ? " again" : "",
	    verr);
	if (x->repair) {
		snprintf(why, sizeof(why), "answer invalid twice: %s", verr);
		failed_try(p, t, x->member, why, true);
		return;
	}
	m->state = MEMBER_WAITING;
	m->repair_due = true;
	free(m->repair_prompt);
	m->repair_prompt = xasprintf("%s\nYour previous answer could not be "
	    "used: %s. Answer again with JSON only, exactly in the form "
	    "given above.\n", t->prompt, verr);
}

/* A failed try of member i; false if the task ended. */
static bool
failed_try(struct pool *p, struct task *t, size_t i, const char *why,
    bool invalid)
{
	struct member *m = &t->m[i];
	bool spent;
	size_t k;

	t->failures++;
	t->only_invalid = t->only_invalid && invalid;
	if (m->ran_on >= 0)
		t->tried[m->ran_on] = true;
	util_strlcpy(m->error, why, sizeof(m->error));
	m->repair_due = false;
	m->state = MEMBER_WAITING;
	spent = t->failures >= p->try_budget;
	if (p->ensemble) {
		/* A model that answers badly twice will not do better. */
		if (invalid || spent) {
			m->state = MEMBER_FAILED;
			return settle(p, t);
		}
		return true;
	}
	for (k = 0; k < p->nb && t->tried[k]; k++)
		;
	if (spent || (t->only_invalid && k == p->nb)) {
		give_up(p, t, why);
		return false;
	}
	return true;
}

/* No answer: retryable unless every failure was an invalid answer. */
static void
give_up(struct pool *p, struct task *t, const char *why)
{
	char msg[512];
	bool invalid = t->failures > 0 && t->only_invalid;

	snprintf(msg, sizeof(msg), invalid ? "the scoring models gave no "
	    "usable answer (%s)" : "no scoring model could evaluate this "
	    "recording yet (%s)", why);
	pool_task_finish_error(p, t, !invalid, msg);
}

/* Ensemble: member i's backend left the rotation; false if it ended. */
bool
pool_task_member_lost(struct pool *p, struct task *t, size_t i, const char *why)
{
	t->m[i].state = MEMBER_FAILED;
	util_strlcpy(t->m[i].error, why, sizeof(t->m[i].error));
	return settle(p, t);
}

/* A repair could not be attempted: the invalid answer stands. */
bool
pool_task_repair_lost(struct pool *p, struct task *t, size_t i, const char *why)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "answer invalid, %s", why);
	return failed_try(p, t, i, msg, true);
}

/* Ends the task when every member is done or gave up; false if ended. */
static bool
settle(struct pool *p, struct task *t)
{
	size_t i, done = 0;

	for (i = 0; i < t->nm; i++) {
		if (t->m[i].state == MEMBER_WAITING ||
		    t->m[i].state == MEMBER_RUNNING)
			return true;
		done += t->m[i].state == MEMBER_DONE;
	}
	if (done > 0) {
		finish_ok(p, t);
		return false;
	}
	if (t->failures >= p->try_budget ||
	    (t->failures > 0 && t->only_invalid)) {
		give_up(p, t, t->m[t->nm - 1].error);
		return false;
	}
	/* Every ensemble member lost its backend: start over with who is
	   healthy now. */
	members_free(t);
	return true;
}

static void
finish_ok(struct pool *p, struct task *t)
{
	struct note *n = xcalloc(1, sizeof(*n));
	struct member *first = NULL;
	struct backend *b;
	size_t i;

	if (p->ensemble)
		n->res.evaluation = ensemble_eval(p, t, &first);
	else {
		first = &t->m[0];
		n->res.evaluation = first->eval;
		first->eval = NULL;
	}
	b = &p->b[first->ran_on];
	json_object_set_new(n->res.evaluation, "provenance",
	    provenance(p, t, b, first, p->ensemble ? "ensemble" : "single"));
	n->res.ok = true;
	n->res.backend = b->cfg.name;
	n->res.model = xstrdup(first->model);
	for (i = 0; i < t->nm; i++) {
		n->res.prompt_tokens += t->m[i].prompt_tokens;
		n->res.eval_tokens += t->m[i].eval_tokens;
	}
	log_info("pool: submission=%lld scored backend=%s model=%s "
	    "calls=%zu llm_s=%.2f", t->submission_id, b->cfg.name,
	    first->model, json_array_size(t->calls),
	    util_monotonic() - t->submitted);
	task_end(p, t, n);
}

void
pool_task_finish_error(struct pool *p, struct task *t, bool retryable,
    const char *msg)
{
	struct note *n = xcalloc(1, sizeof(*n));

	n->res.retryable = retryable;
	util_strlcpy(n->res.error, msg, sizeof(n->res.error));
	log_warnx("pool: submission=%lld not scored retryable=%s: %s",
	    t->submission_id, retryable ? "yes" : "no", msg);
	task_end(p, t, n);
}

/* Unlinks and frees t; its result goes out as a note. */
static void
task_end(struct pool *p, struct task *t, struct note *n)
{
	struct task **pp;
	struct xfer *x;

	n->done = t->done;
	n->arg = t->arg;
	n->res.submission_id = t->submission_id;
	n->res.llm_s = util_monotonic() - t->submitted;
	pool_note(p, n);
	for (x = p->xfers; x != NULL; x = x->next)
		if (x->t == t)
			x->t = NULL;	/* its end is not the task's any more */
	for (pp = &p->tasks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			p->ntasks--;
			break;
		}
	pool_task_free(t);
}

static json_t *
provenance(const struct pool *p, const struct task *t,
    const struct backend *b, const struct member *m, const char *mode)
{
	return json_pack("{s:s,s:s,s:s,s:s?,s:s,s:O,s:i,s:I,s:i,s:s,s:s,"
	    "s:O}", "backend", b->cfg.name, "type", b->cfg.type,
	    "url", b->cfg.url, "digest", b->digest, "model", m->model,
	    "options", t->options != NULL ? t->options : p->options,
	    "num_ctx", p->num_ctx,
	    "rubric_id", (json_int_t)t->rubric_id,
	    "rubric_version", rubric_version(t->rubric),
	    "prompt_sha256", t->prompt_sha256, "mode", mode,
	    "calls", t->calls);
}

/*
 * Every model's scores, their per-criterion mean, and needs_review when
 * any criterion (or the overall score) differs by more than the margin,
 * or when a model asked did not answer. Feedback is the first answering
 * model's, in configuration order (*first).
 */
static json_t *
ensemble_eval(const struct pool *p, struct task *t, struct member **first)
{
	const struct rubric *r = t->rubric;
	json_t *models = json_array(), *mean = json_object(), *scores =
	    json_object(), *ev, *s;
	double sum, lo, hi, spread = 0, osum = 0, olo = 0, ohi = 0, v, ov;
	size_t i, k, n = 0;

	*first = NULL;
	for (i = 0; i < t->nm; i++) {
		json_array_append_new(models, model_entry(&p->b[t->m[i].backend],
		    &t->m[i]));
		if (t->m[i].state != MEMBER_DONE)
			continue;
		ov = json_number_value(json_object_get(t->m[i].eval,
		    "overall"));
		olo = n == 0 || ov < olo ? ov : olo;
		ohi = n == 0 || ov > ohi ? ov : ohi;
		osum += ov;
		if (n++ == 0)
			*first = &t->m[i];
	}
	for (k = 0; k < rubric_count(r); k++) {
		sum = 0;
		lo = hi = 0;
		for (i = 0, n = 0; i < t->nm; i++) {
			if (t->m[i].state != MEMBER_DONE)
				continue;
			s = json_object_get(json_object_get(t->m[i].eval,
			    "scores"), rubric_key(r, k));
			v = json_number_value(s);
			lo = n == 0 || v < lo ? v : lo;
			hi = n == 0 || v > hi ? v : hi;
			sum += v;
			n++;
		}
		spread = fmax(spread, hi - lo);
		json_object_set_new(mean, rubric_key(r, k),
		    json_real(round2(sum / (double)n)));
		json_object_set_new(scores, rubric_key(r, k),
		    json_integer((json_int_t)floor(sum / (double)n + 0.5)));
	}
	spread = fmax(spread, ohi - olo);
	/* The words quoted as evidence come with the feedback they
	   support: from the first model that answered. */
	ev = json_pack("{s:o,s:o,s:f,s:O,s:O,s:O,s:O,s:s,s:b,s:f,s:o}",
	    "scores", scores, "mean", mean, "overall", round2(osum / (double)n),
	    "quotes", json_object_get((*first)->eval, "quotes"),
	    "feedback", json_object_get((*first)->eval, "feedback"),
	    "strengths", json_object_get((*first)->eval, "strengths"),
	    "improvements", json_object_get((*first)->eval, "improvements"),
	    "feedback_by", p->b[(*first)->backend].cfg.name,
	    "needs_review", spread > p->margin || n < t->asked,
	    "disagreement", round2(spread), "models", models);
	if (n < t->asked)
		json_object_set_new(ev, "review_reason", json_sprintf("only %zu "
		    "of %zu models answered", n, t->asked));
	else if (spread > p->margin)
		json_object_set_new(ev, "review_reason", json_sprintf("the "
		    "models differ by %.2f points (margin %.2f)", spread,
		    p->margin));
	return ev;
}

static json_t *
model_entry(const struct backend *b, const struct member *m)
{
	if (m->state != MEMBER_DONE)
		return json_pack("{s:s,s:s,s:s,s:s}", "backend", b->cfg.name,
		    "url", b->cfg.url, "model", b->cfg.model, "error",
		    m->error);
	return json_pack("{s:s,s:s,s:s,s:s?,s:O,s:O,s:O,s:I,s:I,s:f}",
	    "backend", b->cfg.name, "url", b->cfg.url, "model", m->model,
	    "digest", b->digest, "scores", json_object_get(m->eval, "scores"),
	    "overall", json_object_get(m->eval, "overall"),
	    "feedback", json_object_get(m->eval, "feedback"),
	    "prompt_tokens", (json_int_t)m->prompt_tokens,
	    "eval_tokens", (json_int_t)m->eval_tokens,
	    "llm_s", round2(m->call_s));
}

static void
record_call(struct task *t, const struct backend *b, const char *outcome,
    double secs, const char *err)
{
	json_array_append_new(t->calls, json_pack("{s:s,s:s,s:f,s:s?}",
	    "backend", b->cfg.name, "outcome", outcome, "s", round2(secs),
	    "error", err));
}

static double
round2(double v)
{
	return round(v * 100.0) / 100.0;
}
