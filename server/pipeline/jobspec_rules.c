/*
 * jobspec_rules: the deterministic parser of job requests. It reads a
 * request in passes, each claiming the words it understands: dates
 * (jobspec_dates.c), then names and numbers (jobspec_resolve.c), then
 * the vocabulary of actions, states and small words (jobspec_words.c).
 * A word no pass claims makes the request not understood, so the
 * caller asks the LLM rather than the rules guessing: "make the feedback
 * kinder" has no action, "what is the average score" has words outside
 * the vocabulary.
 *
 * The action: one of the verbs, or only the priority words ("bump",
 * "urgent", "to the front", "priority 5") for prioritize. "Again" turns
 * evaluate into re-evaluate; "rerun" of only the failed ones is a retry.
 * A priority with evaluate, re-evaluate or retry is kept with it;
 * two different actions, or a priority with cancel or export, are not
 * understood.
 */
#include <stdlib.h>
#include <string.h>

#include "jobspec_impl.h"
#include "util.h"

static const char *const action_names[JS_NACTIONS] = {
	"evaluate", "re_evaluate", "retry", "cancel", "prioritize", "export",
};

static int	 decide(struct js_parse *);
static void	 finish(struct js_parse *, int action);

/* The action, or -1 when the words do not settle one. */
static int
decide(struct js_parse *p)
{
	unsigned primary = p->actions & ~(1u << JS_PRIORITIZE);
	bool prio = (p->actions & (1u << JS_PRIORITIZE)) != 0 ||
	    p->priority >= 0;
	int action;

	if ((primary & (1u << JS_EVALUATE)) && (p->again ||
	    (primary & (1u << JS_RE_EVALUATE))))
		primary = (primary & ~(1u << JS_EVALUATE)) |
		    1u << JS_RE_EVALUATE;
	if ((primary & (1u << JS_RETRY)) && (primary & (1u << JS_RE_EVALUATE))
	    && p->rerun)
		primary &= ~(1u << JS_RE_EVALUATE);
	if (primary == 0)
		return prio ? JS_PRIORITIZE : -1;
	if ((primary & (primary - 1)) != 0)
		return -1;
	action = __builtin_ctz(primary);
	if (action == JS_RE_EVALUATE && p->rerun &&
	    p->status == 1u << 4 /* failed */)
		action = JS_RETRY;
	if (prio && (action == JS_CANCEL || action == JS_EXPORT))
		return -1;
	if (prio && p->priority < 0)
		p->priority = JOBSPEC_PRIORITY_MAX;
	return action;
}

static void
finish(struct js_parse *p, int action)
{
	const jobspec_ctx *c = p->ctx;
	json_t *st, *course;
	size_t i;

	json_object_set_new(p->spec, "action",
	    json_string(action_names[action]));
	st = json_object_get(p->spec, "status");
	for (i = 0; i < ARRAY_LEN(js_statuses); i++)
		if (p->status & (1u << i))
			json_array_append_new(st, json_string(js_statuses[i]));
	json_object_set(p->spec, "student_ids", p->students);
	if (p->priority >= 0 || action == JS_PRIORITIZE)
		json_object_set_new(p->spec, "priority", json_integer(
		    p->priority >= 0 ? p->priority : JOBSPEC_PRIORITY_MAX));
	course = json_object_get(p->spec, "course_id");
	if (json_is_null(course) && c->course_id > 0)
		json_object_set_new(p->spec, "course_id",
		    json_integer(c->course_id));
	else if (json_is_null(course) && c->n_course_ids == 1)
		json_object_set_new(p->spec, "course_id",
		    json_integer(c->course_ids[0]));
	if (p->late)
		jobspec_question(p->qs, "unsupported_filter", "status",
		    "\"Late\" cannot be part of a job: the job specification "
		    "has no due-date filter. Remove it, or narrow the job by "
		    "date (since, until) instead.");
}

int
jobspec_parse(const char *text, const jobspec_ctx *ctx, json_t **spec,
    json_t **questions)
{
	struct js_parse p;
	json_t *checked;
	int action = -1;

	*spec = *questions = NULL;
	memset(&p, 0, sizeof(p));
	p.ctx = ctx;
	p.priority = -1;
	if (text == NULL || (p.n = js_tokenize(text, &p.t)) == 0)
		goto out;
	if ((p.tz = tz_load(ctx->tz, NULL, 0)) == NULL)
		p.tz = tz_load(NULL, NULL, 0);
	p.spec = jobspec_new("evaluate", 0);
	p.qs = json_array();
	p.students = json_array();
	js_dates(&p);
	js_resolve(&p);
	js_vocabulary(&p);
	js_leftovers(&p);
	if (p.fail || (action = decide(&p)) < 0)
		goto out;
	finish(&p, action);
	checked = jobspec_check(p.spec, ctx);
	json_array_extend(p.qs, checked);
	json_decref(checked);
	*spec = p.spec;
	*questions = p.qs;
	p.spec = p.qs = NULL;
out:
	json_decref(p.spec);
	json_decref(p.qs);
	json_decref(p.students);
	tz_free(p.tz);
	free(p.t);
	return *spec != NULL;
}
