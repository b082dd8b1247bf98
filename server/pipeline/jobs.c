/*
 * jobs: see jobs.h. The SQL of tables jobs and job_items lives here; the
 * submissions' changes go through queue.h's staff actions, so a job does
 * exactly what the same action on each submission's page would do.
 *
 * Progress needs no thread: sql/018's trigger finishes an item when its
 * submission reaches an outcome, in the same transaction, and the job
 * when no item is left queued. Items are written as queued before their
 * submissions are touched, so a submission that finishes at once still
 * finds its item.
 */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "util.h"

static char	*ids_json(const long long *, size_t);
static bool	 allowed(const struct jobs_who *, long long);
static void	 add_question(json_t *, const char *, const char *,
		    const char *);
static bool	 has_question(json_t *, const char *);
static const char *jstr(const json_t *, const char *);
static bool	 run_item(struct db *, const char *, const json_t *,
		    const struct jobs_who *, long long, const char **,
		    char *, size_t, char *, size_t);
static bool	 set_item(struct db *, long long, long long, const char *,
		    const char *, char *, size_t);
static bool	 gpu_free(struct db *, char *, size_t);
static json_t	*answer(const char *, json_t *, char *, json_t *,
		    json_t *);

static const char *const actions[] = { "evaluate", "re_evaluate", "retry",
    "cancel", "prioritize", "export" };

struct jobs_ctx {
	jobspec_ctx		 ctx;
	json_t			*data;	/* owns the strings ctx points at */
	long long		*course_ids;
	jobspec_student		*students;
	jobspec_assignment	*assignments;
	const char		**sections;
	const char		**backends;
};

/* A JSON array of ids, for a "$n::jsonb" parameter. Caller frees. */
static char *
ids_json(const long long *ids, size_t n)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static bool
allowed(const struct jobs_who *who, long long course)
{
	size_t i;

	for (i = 0; i < who->n_course_ids; i++)
		if (who->course_ids[i] == course)
			return true;
	return false;
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

struct jobs_ctx *
jobs_ctx_load(struct db *db, const struct config *cfg,
    const struct jobs_who *who, long long course_id, char *err,
    size_t errlen)
{
	/*
	 * The scope is the one course asked about when the requester may act
	 * on it, else all of theirs. Assignments are numbered 1, 2, ... in
	 * each course in the order they were made, as teachers count them.
	 */
	static const char sql[] =
	    "WITH allowed AS (SELECT jsonb_array_elements_text($2::jsonb)"
	    "  ::bigint AS id), "
	    "scope AS (SELECT id FROM allowed WHERE id = $1::bigint "
	    "  UNION ALL SELECT id FROM allowed WHERE NOT EXISTS "
	    "  (SELECT 1 FROM allowed WHERE id = $1::bigint)) "
	    "SELECT json_build_object("
	    " 'tz', coalesce((SELECT time_zone FROM courses "
	    "   WHERE id = $1::bigint AND id IN (SELECT id FROM scope)), "
	    "   (SELECT min(time_zone) FROM courses WHERE id IN "
	    "   (SELECT id FROM scope) HAVING count(DISTINCT time_zone) = 1), "
	    "   'UTC'), "
	    " 'students', coalesce((SELECT json_agg(x ORDER BY x.name, x.id) "
	    "   FROM (SELECT DISTINCT ON (u.id) u.id, u.name, u.email, "
	    "   m.student_number AS number, m.section FROM course_members m "
	    "   JOIN users u ON u.id = m.user_id WHERE m.role = 'student' "
	    "   AND m.course_id IN (SELECT id FROM scope) "
	    "   ORDER BY u.id, m.course_id) x), '[]'), "
	    " 'assignments', coalesce((SELECT json_agg(x ORDER BY x.id) FROM "
	    "   (SELECT a.id, a.title, row_number() OVER (PARTITION BY "
	    "   a.course_id ORDER BY a.id) AS number FROM assignments a "
	    "   WHERE a.course_id IN (SELECT id FROM scope)) x), '[]'), "
	    " 'sections', coalesce((SELECT json_agg(DISTINCT m.section) "
	    "   FROM course_members m WHERE m.section <> '' "
	    "   AND m.course_id IN (SELECT id FROM scope)), '[]'))::text";
	struct jobs_ctx *jc;
	char cb[DB_NUM_LEN], *ids = ids_json(who->course_ids,
	    who->n_course_ids);
	const char *p[2] = { db_param_ll(cb, course_id), ids };
	json_t *d, *v, *backends = cfg->llm_backends;
	size_t i, n;

	d = db_query_json(db, sql, 2, p, NULL, err, errlen);
	free(ids);
	if (d == NULL)
		return NULL;
	jc = xcalloc(1, sizeof(*jc));
	jc->data = d;
	jc->ctx.course_id = allowed(who, course_id) ? course_id : 0;
	jc->course_ids = xcalloc(who->n_course_ids + 1, sizeof(long long));
	memcpy(jc->course_ids, who->course_ids,
	    who->n_course_ids * sizeof(long long));
	jc->ctx.course_ids = jc->course_ids;
	jc->ctx.n_course_ids = who->n_course_ids;
	jc->ctx.tz = jstr(d, "tz");
	jc->ctx.now = time(NULL);

	n = json_array_size(json_object_get(d, "students"));
	jc->students = xcalloc(n + 1, sizeof(*jc->students));
	json_array_foreach(json_object_get(d, "students"), i, v) {
		jc->students[i].id = json_integer_value(json_object_get(v,
		    "id"));
		jc->students[i].name = jstr(v, "name");
		jc->students[i].email = jstr(v, "email");
		jc->students[i].number = jstr(v, "number");
		jc->students[i].section = jstr(v, "section");
	}
	jc->ctx.students = jc->students;
	jc->ctx.n_students = n;

	n = json_array_size(json_object_get(d, "assignments"));
	jc->assignments = xcalloc(n + 1, sizeof(*jc->assignments));
	json_array_foreach(json_object_get(d, "assignments"), i, v) {
		jc->assignments[i].id = json_integer_value(json_object_get(v,
		    "id"));
		jc->assignments[i].number = (int)json_integer_value(
		    json_object_get(v, "number"));
		jc->assignments[i].title = jstr(v, "title");
	}
	jc->ctx.assignments = jc->assignments;
	jc->ctx.n_assignments = n;

	n = json_array_size(json_object_get(d, "sections"));
	jc->sections = xcalloc(n + 1, sizeof(char *));
	json_array_foreach(json_object_get(d, "sections"), i, v)
		jc->sections[i] = json_string_value(v);
	jc->ctx.sections = jc->sections;
	jc->ctx.n_sections = n;

	/* Backend names are the configuration's, which outlives requests. */
	n = json_array_size(backends);
	jc->backends = xcalloc(n + 1, sizeof(char *));
	json_array_foreach(backends, i, v)
		jc->backends[i] = jstr(v, "name");
	jc->ctx.backends = jc->backends;
	jc->ctx.n_backends = n;

	jc->ctx.actions_allowed = actions;
	jc->ctx.n_actions_allowed = ARRAY_LEN(actions);
	return jc;
}

const jobspec_ctx *
jobs_ctx_spec(const struct jobs_ctx *jc)
{
	return &jc->ctx;
}

void
jobs_ctx_free(struct jobs_ctx *jc)
{
	if (jc == NULL)
		return;
	free(jc->course_ids);
	free(jc->students);
	free(jc->assignments);
	free(jc->sections);
	free(jc->backends);
	json_decref(jc->data);
	free(jc);
}

static void
add_question(json_t *qs, const char *code, const char *field,
    const char *message)
{
	json_array_append_new(qs, json_pack("{s:s, s:s, s:s, s:[]}", "code",
	    code, "message", message, "field", field, "candidates"));
}

static bool
has_question(json_t *qs, const char *field)
{
	json_t *q;
	size_t i;

	json_array_foreach(qs, i, q)
		if (jstr(q, "field") != NULL && strcmp(jstr(q, "field"),
		    field) == 0)
			return true;
	return false;
}

json_t *
jobs_check(const json_t *spec, const struct jobs_ctx *jc)
{
	json_t *qs = jobspec_check(spec, &jc->ctx);
	const char *action = jstr(spec, "action");
	json_t *course = json_object_get(spec, "course_id");
	size_t i;
	bool mine = false;

	if (qs == NULL)
		qs = json_array();
	/* Never trust one check alone with another teacher's course. */
	for (i = 0; i < jc->ctx.n_course_ids; i++)
		if (json_is_integer(course) && json_integer_value(course) ==
		    jc->ctx.course_ids[i])
			mine = true;
	if (!mine && !has_question(qs, "course_id"))
		add_question(qs, "course_not_allowed", "course_id",
		    "that course is not one you teach, so the request can "
		    "match nothing there");
	if (json_is_string(json_object_get(spec, "backend")) &&
	    action != NULL && (strcmp(action, "evaluate") == 0 ||
	    strcmp(action, "re_evaluate") == 0 ||
	    strcmp(action, "retry") == 0))
		add_question(qs, "backend_not_supported", "backend",
		    "the scheduler chooses the language model for each "
		    "evaluation and cannot be pinned to one yet; clear the "
		    "backend to let it choose");
	return qs;
}

json_t *
jobs_spec_empty(void)
{
	return json_pack("{s:s, s:n, s:n, s:n, s:[], s:[], s:n, s:n, s:n, "
	    "s:n, s:n}", "action", "re_evaluate", "course_id", "section",
	    "assignment_id", "student_ids", "status", "since", "until",
	    "backend", "rubric_version", "priority");
}

bool
jobs_match(struct db *db, const json_t *spec, const struct jobs_who *who,
    json_t **ids, char *err, size_t errlen)
{
	/*
	 * Only submissions that count (the latest of a student for an
	 * assignment, sql/014): an earlier one is superseded. The spec has
	 * passed jobs_check, so its values have the schema's types.
	 */
	static const char sql[] =
	    "WITH sp AS (SELECT $1::jsonb AS j) "
	    "SELECT coalesce(json_agg(s.id ORDER BY s.id), '[]')::text "
	    "FROM sp, submissions s LEFT JOIN course_members m "
	    "  ON m.course_id = s.course_id AND m.user_id = s.student_id "
	    "WHERE s.course_id = (j ->> 'course_id')::bigint "
	    "  AND s.course_id IN (SELECT jsonb_array_elements_text($2::jsonb)"
	    "    ::bigint) "
	    "  AND (j ->> 'section' IS NULL OR m.section = j ->> 'section') "
	    "  AND (j ->> 'assignment_id' IS NULL "
	    "    OR s.assignment_id = (j ->> 'assignment_id')::bigint) "
	    "  AND (jsonb_array_length(j -> 'student_ids') = 0 OR s.student_id "
	    "    IN (SELECT jsonb_array_elements_text(j -> 'student_ids')"
	    "    ::bigint)) "
	    "  AND (jsonb_array_length(j -> 'status') = 0 OR s.status IN "
	    "    (SELECT jsonb_array_elements_text(j -> 'status'))) "
	    "  AND (j ->> 'since' IS NULL "
	    "    OR s.created_at >= (j ->> 'since')::timestamptz) "
	    "  AND (j ->> 'until' IS NULL "
	    "    OR s.created_at < (j ->> 'until')::timestamptz) "
	    "  AND submission_counts(s.id)";
	char *sp = json_dumps(spec, JSON_COMPACT), *allow = ids_json(
	    who->course_ids, who->n_course_ids);
	const char *p[2] = { sp, allow };

	*ids = db_query_json(db, sql, 2, p, NULL, err, errlen);
	free(sp);
	free(allow);
	return *ids != NULL;
}

/* The preview's answer; takes the references it is given. */
static json_t *
answer(const char *parser, json_t *spec, char *summary, json_t *ids,
    json_t *questions)
{
	json_t *out = json_pack("{s:s, s:o, s:s, s:{s:I, s:o}, s:o}",
	    "parser", parser, "spec", spec != NULL ? spec : json_null(),
	    "summary", summary != NULL ? summary : "", "matches", "count",
	    (json_int_t)json_array_size(ids), "submission_ids",
	    ids != NULL ? ids : json_array(), "questions", questions);

	free(summary);
	return out;
}

bool
jobs_preview_spec(struct db *db, const struct jobs_ctx *jc,
    const struct jobs_who *who, const json_t *spec, json_t **out,
    char *err, size_t errlen)
{
	json_t *qs = jobs_check(spec, jc), *ids = NULL;

	if (json_array_size(qs) == 0 && !jobs_match(db, spec, who, &ids, err,
	    errlen)) {
		json_decref(qs);
		return false;
	}
	*out = answer("form", json_deep_copy(spec), jobspec_summary(spec,
	    &jc->ctx), ids, qs);
	return true;
}

/*
 * Whether no node is transcribing now (jobs_llm.c: its call is not
 * gated by the phase controller). false with the reason in why.
 */
static bool
gpu_free(struct db *db, char *why, size_t whylen)
{
	bool busy = false;

	if (!db_exists(db, "SELECT 1 FROM system_state WHERE phase IN "
	    "('stt', 'switching') AND updated_at > now() - interval "
	    "'2 minutes'", 0, NULL, &busy, why, whylen))
		return false;
	if (busy)
		return util_seterr(why, whylen, "the GPU is transcribing "
		    "recordings; try again in a minute");
	return true;
}

bool
jobs_preview(struct db *db, const struct config *cfg,
    const struct jobs_ctx *jc, const struct jobs_who *who,
    const char *request, json_t **out, char *err, size_t errlen)
{
	json_t *spec = NULL, *qs = NULL, *ids = NULL, *checked;
	const char *parser = "rules";
	char why[512], msg[1024];

	if (jobspec_parse(request, &jc->ctx, &spec, &qs) != 1) {
		/* The rules could not: the language model may. */
		json_decref(spec);
		spec = NULL;
		parser = "llm";
		if (!gpu_free(db, why, sizeof(why)) ||
		    !jobs_llm_parse(cfg, request, &jc->ctx, &spec, why,
		    sizeof(why))) {
			if (qs == NULL)
				qs = json_array();
			snprintf(msg, sizeof(msg), "could not understand "
			    "\"%.200s\"; the language model is unavailable "
			    "(%s). Try the usual words (re-evaluate, retry, "
			    "cancel, prioritize, export, a section, a "
			    "student, a status, a day) or fill in the form",
			    request, why);
			add_question(qs, "not_understood", "request", msg);
			*out = answer(parser, NULL, NULL, NULL, qs);
			return true;
		}
		json_decref(qs);
		qs = NULL;
	}
	checked = jobs_check(spec, jc);
	if (strcmp(parser, "llm") == 0 && json_array_size(checked) > 0) {
		/* Refused whole: a model's answer is never half-applied. */
		qs = json_array();
		snprintf(msg, sizeof(msg), "the language model's answer is not "
		    "a valid job (%s); say it again in other words or fill "
		    "in the form", jstr(json_array_get(checked, 0),
		    "message") != NULL ? jstr(json_array_get(checked, 0),
		    "message") : "it does not fit the schema");
		add_question(qs, "invalid_spec", "spec", msg);
		json_array_extend(qs, checked);
		json_decref(checked);
		log_info("jobs: the language model's spec was refused");
		*out = answer(parser, spec, NULL, NULL, qs);
		return true;
	}
	if (qs == NULL)
		qs = json_array();
	json_array_extend(qs, checked);
	json_decref(checked);
	if (json_array_size(qs) == 0 && !jobs_match(db, spec, who, &ids, err,
	    errlen)) {
		json_decref(spec);
		json_decref(qs);
		return false;
	}
	*out = answer(parser, spec, jobspec_summary(spec, &jc->ctx), ids, qs);
	return true;
}

/*
 * Applies the job's action to one matched submission: *state is the
 * item's state ("queued" when it goes through the scheduler), detail
 * says why it was skipped.
 */
static bool
run_item(struct db *db, const char *action, const json_t *spec,
    const struct jobs_who *who, long long sub, const char **state,
    char *detail, size_t detaillen, char *err, size_t errlen)
{
	json_t *prio = json_object_get(spec, "priority");
	long long rubric = json_integer_value(json_object_get(spec,
	    "rubric_version"));
	bool found = false, ok = true, queued = false;

	*state = "done";
	detail[0] = '\0';
	if (strcmp(action, "cancel") == 0) {
		ok = queue_cancel(db, sub, who->name, &found, err, errlen);
		if (ok && !found)
			*state = "skipped", util_strlcpy(detail, "already "
			    "finished", detaillen);
	} else if (strcmp(action, "prioritize") == 0) {
		ok = queue_set_priority(db, sub, json_is_integer(prio) ?
		    (int)json_integer_value(prio) : QUEUE_PRIORITY_MAX, &found,
		    err, errlen);
	} else if (strcmp(action, "export") == 0) {
		/* Nothing changes: the job's CSV reads its items. */
	} else if (strcmp(action, "retry") == 0) {
		ok = queue_retry(db, sub, &found, err, errlen);
		queued = found;
		if (ok && !found)
			*state = "skipped", util_strlcpy(detail, "not failed, "
			    "so nothing to retry", detaillen);
	} else {
		/* evaluate, re_evaluate */
		if (strcmp(action, "re_evaluate") == 0)
			ok = queue_reevaluate_one(db, sub, rubric, &found, err,
			    errlen);
		if (ok && !found)
			ok = queue_retry(db, sub, &found, err, errlen);
		queued = found;
		/* One still on its way is followed to its outcome. */
		if (ok && !found) {
			char sb[DB_NUM_LEN];
			const char *p[1] = { db_param_ll(sb, sub) };

			ok = db_exists(db, "SELECT 1 FROM submissions WHERE "
			    "id = $1::bigint AND phase NOT IN ('completed', "
			    "'failed')", 1, p, &queued, err, errlen);
		}
		if (ok && !queued)
			*state = "skipped", util_strlcpy(detail, "already "
			    "evaluated", detaillen);
	}
	if (ok && queued) {
		*state = "queued";
		if (json_is_integer(prio))
			ok = queue_set_priority(db, sub,
			    (int)json_integer_value(prio), &found, err, errlen);
	}
	return ok;
}

static bool
set_item(struct db *db, long long job, long long sub, const char *state,
    const char *detail, char *err, size_t errlen)
{
	char jb[DB_NUM_LEN], sb[DB_NUM_LEN];
	const char *p[4] = { db_param_ll(jb, job), db_param_ll(sb, sub),
	    state, detail };

	/* A queued item the trigger already finished keeps its outcome. */
	return db_exec1(db, "UPDATE job_items SET state = $3, detail = $4, "
	    "updated_at = now() WHERE job_id = $1 AND submission_id = $2 "
	    "AND (state = 'queued' AND $3 <> 'queued')", 4, p, err, errlen);
}

bool
jobs_create(struct db *db, const struct jobs_ctx *jc,
    const struct jobs_who *who, const json_t *spec, const char *request,
    const char *parser, long long *id, json_t **questions, char *err,
    size_t errlen)
{
	static const char ins[] =
	    "WITH j AS (INSERT INTO jobs (course_id, requested_by, "
	    "  request_text, parser, action, spec, summary) VALUES "
	    "  ($1, $2, $3, $4, $5, $6::jsonb, $7) RETURNING id), "
	    "i AS (INSERT INTO job_items (job_id, submission_id) "
	    "  SELECT j.id, jsonb_array_elements_text($8::jsonb)::bigint "
	    "  FROM j) SELECT id FROM j";
	json_t *ids = NULL, *v;
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN], jb[DB_NUM_LEN], detail[128];
	char *sp = NULL, *idtext = NULL, *summary = NULL;
	const char *action = jstr(spec, "action"), *state;
	const char *p[8];
	size_t i;
	bool ok = false;

	*id = 0;
	*questions = jobs_check(spec, jc);
	if (json_array_size(*questions) > 0)
		return true;
	json_decref(*questions);
	*questions = NULL;
	if (!jobs_match(db, spec, who, &ids, err, errlen))
		return false;
	sp = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	idtext = json_dumps(ids, JSON_COMPACT);
	summary = jobspec_summary(spec, &jc->ctx);
	p[0] = db_param_ll(cb, json_integer_value(json_object_get(spec,
	    "course_id")));
	p[1] = db_param_ll(ub, who->user_id);
	p[2] = request != NULL ? request : "";
	p[3] = parser;
	p[4] = action;
	p[5] = sp;
	p[6] = summary != NULL ? summary : "";
	p[7] = idtext;
	if (!db_query_id(db, ins, 8, p, id, err, errlen))
		goto out;
	log_info("job=%lld action=%s matched=%zu parser=%s by user=%lld", *id,
	    action, json_array_size(ids), parser, who->user_id);
	json_array_foreach(ids, i, v) {
		long long sub = json_integer_value(v);

		if (!run_item(db, action, spec, who, sub, &state, detail,
		    sizeof(detail), err, errlen) ||
		    !set_item(db, *id, sub, state, detail, err, errlen)) {
			log_warnx("job=%lld submission=%lld: %s", *id, sub,
			    err);
			const char *fp[2] = { db_param_ll(jb, *id), err };
			db_exec1(db, "UPDATE jobs SET state = 'failed', "
			    "error = $2, finished_at = now() WHERE id = $1",
			    2, fp, NULL, 0);
			goto out;
		}
	}
	/* Nothing went through the scheduler, or all of it is back already. */
	p[0] = db_param_ll(jb, *id);
	ok = db_exec1(db, "UPDATE jobs SET state = 'done', finished_at = now() "
	    "WHERE id = $1 AND state = 'running' AND NOT EXISTS (SELECT 1 "
	    "FROM job_items WHERE job_id = $1 AND state = 'queued')", 1, p,
	    err, errlen);
out:
	json_decref(ids);
	free(sp);
	free(idtext);
	free(summary);
	return ok;
}

#define JOB_FIELDS \
	"'id', j.id, 'course_id', j.course_id, 'course_code', c.code, " \
	"'requested_by', j.requested_by, 'requested_by_name', u.name, " \
	"'request_text', j.request_text, 'parser', j.parser, " \
	"'action', j.action, 'spec', j.spec, 'summary', j.summary, " \
	"'state', j.state, 'error', j.error, " \
	"'created_at', iso_utc(j.created_at), " \
	"'finished_at', iso_utc(j.finished_at), " \
	"'matched', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id), " \
	"'queued', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id " \
	"  AND i.state = 'queued'), " \
	"'done', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id " \
	"  AND i.state = 'done'), " \
	"'failed', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id " \
	"  AND i.state = 'failed'), " \
	"'skipped', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id " \
	"  AND i.state = 'skipped'), " \
	"'cancelled', (SELECT count(*) FROM job_items i WHERE i.job_id = j.id " \
	"  AND i.state = 'cancelled')"

bool
jobs_get(struct db *db, long long id, const struct jobs_who *who,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object(" JOB_FIELDS ", 'items', "
	    "  coalesce((SELECT json_agg(json_build_object('submission_id', "
	    "  i.submission_id, 'state', i.state, 'detail', i.detail, "
	    "  'student_id', s.student_id, 'student_name', su.name, "
	    "  'section', m.section, 'phase', s.phase, 'status', s.status) "
	    "  ORDER BY i.submission_id) FROM job_items i "
	    "  JOIN submissions s ON s.id = i.submission_id "
	    "  JOIN users su ON su.id = s.student_id "
	    "  LEFT JOIN course_members m ON m.course_id = s.course_id "
	    "  AND m.user_id = s.student_id WHERE i.job_id = j.id), '[]'))"
	    "::text FROM jobs j LEFT JOIN courses c ON c.id = j.course_id "
	    "LEFT JOIN users u ON u.id = j.requested_by WHERE j.id = $1 "
	    "AND j.course_id IN (SELECT jsonb_array_elements_text($2::jsonb)"
	    "::bigint)";
	char jb[DB_NUM_LEN], *allow = ids_json(who->course_ids,
	    who->n_course_ids);
	const char *p[2] = { db_param_ll(jb, id), allow };
	bool found;

	*out = db_query_json(db, sql, 2, p, &found, err, errlen);
	free(allow);
	return *out != NULL || !found;
}

bool
jobs_course(struct db *db, long long id, long long *course, bool *found,
    char *err, size_t errlen)
{
	char jb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(jb, id) };

	*course = 0;
	if (!db_query_id(db, "SELECT course_id FROM jobs WHERE id = $1 "
	    "AND course_id IS NOT NULL", 1, p, course, err, errlen))
		return false;
	*found = *course != 0;
	return true;
}

bool
jobs_list(struct db *db, const struct jobs_who *who, int limit,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(y.o ORDER BY y.id DESC), '[]')::text "
	    "FROM (SELECT json_build_object(" JOB_FIELDS ") AS o, j.id "
	    "FROM jobs j LEFT JOIN courses c ON c.id = j.course_id "
	    "LEFT JOIN users u ON u.id = j.requested_by "
	    "WHERE j.course_id IN (SELECT jsonb_array_elements_text("
	    "$1::jsonb)::bigint) ORDER BY j.id DESC LIMIT $2::int) y";
	char lb[DB_NUM_LEN], *allow = ids_json(who->course_ids,
	    who->n_course_ids);
	const char *p[2] = { allow, db_param_ll(lb, limit) };

	*out = db_query_json(db, sql, 2, p, NULL, err, errlen);
	free(allow);
	return *out != NULL;
}

bool
jobs_cancel(struct db *db, long long id, const struct jobs_who *who,
    bool *found, bool *running, char *err, size_t errlen)
{
	json_t *job, *item;
	char jb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(jb, id), db_param_ll(ub,
	    who->user_id) };
	bool ok = true, gone;
	long long stop = 0;
	size_t i;

	*found = *running = false;
	if (!jobs_get(db, id, who, &job, err, errlen))
		return false;
	if (job == NULL)
		return true;
	*found = true;
	/* First the job, so the trigger leaves its state alone. */
	if (!db_query_id(db, "UPDATE jobs SET state = 'cancelled', "
	    "cancelled_by = $2::bigint, finished_at = now() WHERE id = $1 "
	    "AND state = 'running' RETURNING id", 2, p, &stop, err, errlen)) {
		json_decref(job);
		return false;
	}
	*running = stop != 0;
	json_array_foreach(json_object_get(job, "items"), i, item) {
		long long sub = json_integer_value(json_object_get(item,
		    "submission_id"));

		if (!*running || strcmp(jstr(item, "state"), "queued") != 0)
			continue;
		if (!(ok = queue_withdraw(db, sub, who->name, &gone, err,
		    errlen)))
			break;
		if (!gone)	/* being worked on: it finishes */
			continue;
		{
			char sb[DB_NUM_LEN];
			const char *ip[2] = { jb, db_param_ll(sb, sub) };

			ok = db_exec1(db, "UPDATE job_items SET state = "
			    "'cancelled', detail = 'the job was cancelled "
			    "before it started', updated_at = now() WHERE "
			    "job_id = $1 AND submission_id = $2", 2, ip, err,
			    errlen);
		}
		if (!ok)
			break;
	}
	json_decref(job);
	if (*running)
		log_info("job=%lld cancelled by user=%lld", id, who->user_id);
	return ok;
}
