/*
 * jobspec: the validator and the summary of job specifications, and the
 * small helpers the rules parser shares (questions, labels, timestamps).
 * The validator is the one gate every spec passes, whoever wrote it, so
 * it re-checks the schema by hand (jansson has no JSON Schema) against
 * the same key list the schema's unit test compares with.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jobspec.h"
#include "tz.h"
#include "util.h"

const char *const jobspec_keys[] = {
	"action", "course_id", "section", "assignment_id", "student_ids",
	"status", "since", "until", "backend", "rubric_version", "priority",
};
const size_t jobspec_nkeys = ARRAY_LEN(jobspec_keys);

static const char *const actions[] = {
	"evaluate", "re_evaluate", "retry", "cancel", "prioritize", "export",
};
static const char *const statuses[] = {
	"pending", "processing", "retry", "completed", "failed",
};

static bool	 in_list(const char *, const char *const *, size_t);
static bool	 is_int_or_null(const json_t *);
static void	 check_schema(const json_t *, json_t *);
static void	 check_context(const json_t *, const jobspec_ctx *, json_t *);
static void	 check_course(const json_t *, const jobspec_ctx *, json_t *);
static void	 check_names(const json_t *, const jobspec_ctx *, json_t *);
static void	 check_dates(const json_t *, json_t *);
static void	 summary_time(struct buf *, const char *, time_t,
		    const struct tz *);

json_t *
jobspec_new(const char *action, long long course_id)
{
	json_t *spec;

	spec = json_pack("{s:s, s:n, s:n, s:n, s:[], s:[], s:n, s:n, s:n, "
	    "s:n, s:n}", "action", action, "course_id", "section",
	    "assignment_id", "student_ids", "status", "since", "until",
	    "backend", "rubric_version", "priority");
	if (course_id > 0)
		json_object_set_new(spec, "course_id", json_integer(course_id));
	return spec;
}

json_t *
jobspec_question(json_t *questions, const char *code, const char *field,
    const char *fmt, ...)
{
	json_t *q;
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (field != NULL)
		json_object_set_new(q, "field", json_string(field));
	json_array_append_new(questions, q);
	return q;
}

void
jobspec_candidate(json_t *q, long long id, const char *label)
{
	json_t *c = json_object_get(q, "candidates");

	if (c == NULL) {
		c = json_array();
		json_object_set_new(q, "candidates", c);
	}
	json_array_append_new(c, json_pack("{s:I, s:s}", "id", (json_int_t)id,
	    "label", label));
}

char *
jobspec_student_label(const jobspec_student *s)
{
	if (s->number != NULL && *s->number != '\0')
		return xasprintf("%s (%s, %s)", s->name, s->email ? s->email :
		    "", s->number);
	return xasprintf("%s (%s)", s->name, s->email ? s->email : "");
}

bool
jobspec_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0, oh, om;
	long off = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
	    &n) != 6 || n != 19)
		return false;
	p = s + n;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' &&
	    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
		if (oh > 23 || om > 59)
			return false;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return false;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	/* timegm normalises 31 February: refuse it. */
	return tm.tm_mday == d && tm.tm_mon == mo - 1;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static bool
is_int_or_null(const json_t *v)
{
	return json_is_integer(v) || json_is_null(v);
}

json_t *
jobspec_check(const json_t *spec, const jobspec_ctx *ctx)
{
	json_t *qs = json_array();

	if (!json_is_object(spec)) {
		jobspec_question(qs, "invalid_spec", NULL,
		    "The job specification must be a JSON object.");
		return qs;
	}
	check_schema(spec, qs);
	if (json_array_size(qs) == 0)
		check_context(spec, ctx, qs);
	return qs;
}

/* The schema, key by key, in its words. */
static void
check_schema(const json_t *spec, json_t *qs)
{
	const char *key, *fmt = "%s: %s.";
	json_t *v, *e;
	size_t i;
	time_t t;

	json_object_foreach((json_t *)spec, key, v)
		if (!in_list(key, jobspec_keys, jobspec_nkeys))
			jobspec_question(qs, "invalid_spec", key,
			    "Unknown key \"%.64s\": a job specification has "
			    "only the documented keys.", key);
	for (i = 0; i < jobspec_nkeys; i++)
		if (json_object_get(spec, jobspec_keys[i]) == NULL)
			jobspec_question(qs, "invalid_spec", jobspec_keys[i],
			    "The key \"%s\" is missing.", jobspec_keys[i]);
	v = json_object_get(spec, "action");
	if (v != NULL && (!json_is_string(v) || !in_list(json_string_value(v),
	    actions, ARRAY_LEN(actions))))
		jobspec_question(qs, "invalid_spec", "action", fmt, "action",
		    "must be one of evaluate, re_evaluate, retry, cancel, "
		    "prioritize, export");
	v = json_object_get(spec, "course_id");
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 1))
		jobspec_question(qs, "invalid_spec", "course_id", fmt,
		    "course_id", "must be a course number (1 or more)");
	v = json_object_get(spec, "section");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		jobspec_question(qs, "invalid_spec", "section", fmt, "section",
		    "must be a section name or null");
	v = json_object_get(spec, "assignment_id");
	if (v != NULL && !is_int_or_null(v))
		jobspec_question(qs, "invalid_spec", "assignment_id", fmt,
		    "assignment_id", "must be an assignment id or null");
	v = json_object_get(spec, "student_ids");
	if (v != NULL && !json_is_array(v))
		jobspec_question(qs, "invalid_spec", "student_ids", fmt,
		    "student_ids", "must be a list of student ids");
	json_array_foreach(json_is_array(v) ? v : NULL, i, e)
		if (!json_is_integer(e)) {
			jobspec_question(qs, "invalid_spec", "student_ids", fmt,
			    "student_ids", "must hold student ids (integers)");
			break;
		}
	v = json_object_get(spec, "status");
	if (v != NULL && !json_is_array(v))
		jobspec_question(qs, "invalid_spec", "status", fmt, "status",
		    "must be a list of states");
	json_array_foreach(json_is_array(v) ? v : NULL, i, e)
		if (!json_is_string(e) || !in_list(json_string_value(e),
		    statuses, ARRAY_LEN(statuses))) {
			jobspec_question(qs, "invalid_spec", "status", fmt,
			    "status", "each state must be one of pending, "
			    "processing, retry, completed, failed");
			break;
		}
	for (i = 0; i < 2; i++) {
		key = i == 0 ? "since" : "until";
		v = json_object_get(spec, key);
		if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
		    !jobspec_parse_time(json_string_value(v), &t)))
			jobspec_question(qs, "invalid_spec", key, fmt, key,
			    "must be an ISO 8601 date-time such as "
			    "2026-12-05T00:00:00+01:00, or null");
	}
	v = json_object_get(spec, "backend");
	if (v != NULL && !json_is_string(v) && !json_is_null(v))
		jobspec_question(qs, "invalid_spec", "backend", fmt, "backend",
		    "must be a backend name or null");
	v = json_object_get(spec, "rubric_version");
	if (v != NULL && !is_int_or_null(v))
		jobspec_question(qs, "invalid_spec", "rubric_version", fmt,
		    "rubric_version", "must be a version number or null");
	v = json_object_get(spec, "priority");
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0 ||
	    json_integer_value(v) > JOBSPEC_PRIORITY_MAX))
		jobspec_question(qs, "invalid_spec", "priority", fmt,
		    "priority", "must be a whole number from 0 to 1000, or "
		    "null");
}

/* A well-formed spec against what the requester may do and name. */
static void
check_context(const json_t *spec, const jobspec_ctx *ctx, json_t *qs)
{
	const char *action = json_string_value(json_object_get(spec,
	    "action"));

	if (ctx->actions_allowed != NULL && !in_list(action,
	    ctx->actions_allowed, ctx->n_actions_allowed))
		jobspec_question(qs, "action_not_allowed", "action",
		    "You may not %s submissions here.", action);
	check_course(spec, ctx, qs);
	check_names(spec, ctx, qs);
	check_dates(spec, qs);
}

static void
check_course(const json_t *spec, const jobspec_ctx *ctx, json_t *qs)
{
	json_t *v = json_object_get(spec, "course_id"), *q;
	long long id;
	size_t i;
	char label[64];

	if (json_is_null(v)) {
		q = jobspec_question(qs, "missing_course", "course_id",
		    "Which course is this for?");
		for (i = 0; i < ctx->n_course_ids; i++) {
			snprintf(label, sizeof(label), "course %lld",
			    ctx->course_ids[i]);
			jobspec_candidate(q, ctx->course_ids[i], label);
		}
		return;
	}
	id = json_integer_value(v);
	for (i = 0; i < ctx->n_course_ids; i++)
		if (ctx->course_ids[i] == id)
			return;
	jobspec_question(qs, "course_not_yours", "course_id",
	    "Course %lld is not one of your courses, so the job matches "
	    "nothing there.", id);
}

/* Students, assignment, section and backend name things the context
   has. */
static void
check_names(const json_t *spec, const jobspec_ctx *ctx, json_t *qs)
{
	json_t *v, *e, *q;
	const char *s;
	size_t i, j;
	long long id;

	json_array_foreach(json_object_get(spec, "student_ids"), i, e) {
		id = json_integer_value(e);
		for (j = 0; j < ctx->n_students; j++)
			if (ctx->students[j].id == id)
				break;
		if (j == ctx->n_students)
			jobspec_question(qs, "unknown_student", "student_ids",
			    "There is no student %lld in this course.", id);
	}
	v = json_object_get(spec, "assignment_id");
	if (json_is_integer(v)) {
		id = json_integer_value(v);
		for (j = 0; j < ctx->n_assignments; j++)
			if (ctx->assignments[j].id == id)
				break;
		if (j == ctx->n_assignments)
			jobspec_question(qs, "unknown_assignment",
			    "assignment_id", "There is no assignment %lld in "
			    "this course.", id);
	}
	if ((s = json_string_value(json_object_get(spec, "section"))) != NULL) {
		for (j = 0; j < ctx->n_sections; j++)
			if (strcmp(ctx->sections[j], s) == 0)
				break;
		if (j == ctx->n_sections) {
			q = jobspec_question(qs, "unknown_section", "section",
			    "There is no section \"%.64s\" in this course.", s);
			for (j = 0; j < ctx->n_sections; j++)
				jobspec_candidate(q, (long long)j + 1,
				    ctx->sections[j]);
		}
	}
	if ((s = json_string_value(json_object_get(spec, "backend"))) != NULL &&
	    !in_list(s, ctx->backends, ctx->n_backends)) {
		q = jobspec_question(qs, "unknown_backend", "backend",
		    "There is no backend \"%.64s\".", s);
		for (j = 0; j < ctx->n_backends; j++)
			jobspec_candidate(q, (long long)j + 1, ctx->backends[j]);
	}
}

static void
check_dates(const json_t *spec, json_t *qs)
{
	const char *s = json_string_value(json_object_get(spec, "since"));
	const char *u = json_string_value(json_object_get(spec, "until"));
	time_t ts, tu;

	if (s != NULL && u != NULL && jobspec_parse_time(s, &ts) &&
	    jobspec_parse_time(u, &tu) && ts > tu)
		jobspec_question(qs, "invalid_dates", "since",
		    "The start (%s) is after the end (%s).", s, u);
}

static void
summary_time(struct buf *b, const char *word, time_t t, const struct tz *tz)
{
	struct tm tm;
	char when[64];

	tz_localtime(tz, t, &tm);
	strftime(when, sizeof(when), "%a %-d %b %Y %H:%M", &tm);
	buf_printf(b, " %s %s (%s)", word, when, tz_name(tz));
}

char *
jobspec_summary(const json_t *spec, const jobspec_ctx *ctx)
{
	static const char *const verbs[] = { "Evaluate", "Re-evaluate",
	    "Retry", "Cancel", "Prioritize", "Export the results of" };
	const char *action, *s;
	struct tz *tz;
	struct buf b;
	json_t *v, *e;
	size_t i, j, n;
	time_t t;

	buf_init(&b);
	action = json_string_value(json_object_get(spec, "action"));
	for (i = 0; i < ARRAY_LEN(actions); i++)
		if (action != NULL && strcmp(action, actions[i]) == 0)
			break;
	buf_printf(&b, "%s the", i < ARRAY_LEN(actions) ? verbs[i] :
	    "Act on");
	v = json_object_get(spec, "status");
	n = json_array_size(v);
	json_array_foreach(v, i, e)
		buf_printf(&b, "%s%s", i == 0 ? " " : i + 1 == n ? " or " :
		    ", ", json_string_value(e));
	buf_printf(&b, " submissions");
	v = json_object_get(spec, "student_ids");
	n = json_array_size(v);
	json_array_foreach(v, i, e) {
		s = NULL;
		for (j = 0; j < ctx->n_students; j++)
			if (ctx->students[j].id == json_integer_value(e))
				s = ctx->students[j].name;
		buf_printf(&b, "%s", i == 0 ? " of " : i + 1 == n ? " and " :
		    ", ");
		if (s != NULL)
			buf_printf(&b, "%s", s);
		else
			buf_printf(&b, "student %lld",
			    (long long)json_integer_value(e));
	}
	if ((s = json_string_value(json_object_get(spec, "section"))) != NULL)
		buf_printf(&b, " %s section %s", n > 0 ? "in" : "of", s);
	v = json_object_get(spec, "assignment_id");
	if (json_is_integer(v)) {
		for (j = 0; j < ctx->n_assignments; j++)
			if (ctx->assignments[j].id == json_integer_value(v))
				break;
		if (j < ctx->n_assignments)
			buf_printf(&b, " for assignment %d \"%s\"",
			    ctx->assignments[j].number,
			    ctx->assignments[j].title);
		else
			buf_printf(&b, " for assignment id %lld",
			    (long long)json_integer_value(v));
	}
	if ((tz = tz_load(ctx->tz, NULL, 0)) == NULL)
		tz = tz_load(NULL, NULL, 0);
	if ((s = json_string_value(json_object_get(spec, "since"))) != NULL &&
	    jobspec_parse_time(s, &t))
		summary_time(&b, "since", t, tz);
	if ((s = json_string_value(json_object_get(spec, "until"))) != NULL &&
	    jobspec_parse_time(s, &t))
		summary_time(&b, "until", t, tz);
	tz_free(tz);
	if ((s = json_string_value(json_object_get(spec, "backend"))) != NULL)
		buf_printf(&b, " with backend %s", s);
	v = json_object_get(spec, "rubric_version");
	if (json_is_integer(v))
		buf_printf(&b, " against rubric version %lld",
		    (long long)json_integer_value(v));
	v = json_object_get(spec, "priority");
	if (json_is_integer(v))
		buf_printf(&b, json_integer_value(v) == JOBSPEC_PRIORITY_MAX ?
		    " at priority %lld (the front of the queue)" :
		    " at priority %lld", (long long)json_integer_value(v));
	v = json_object_get(spec, "course_id");
	if (json_is_integer(v) && json_integer_value(v) != ctx->course_id)
		buf_printf(&b, " in course %lld",
		    (long long)json_integer_value(v));
	return buf_release(&b);
}
