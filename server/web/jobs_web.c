/*
 * jobs_web: see jobs_web.h. Handlers parse, find who may act where
 * (course_list: a teacher's courses, every course for an admin), call
 * jobs.h and answer. The preview page is complete without JavaScript:
 * its form re-previews an edited spec by GET, a question's candidate is
 * a link that re-previews with it chosen, and Confirm posts the spec.
 */
#include "jobs_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>
#include <jansson.h>

#include "app.h"
#include "assignment.h"
#include "buf.h"
#include "course.h"
#include "dash.h"
#include "db.h"
#include "http.h"
#include "jobs.h"
#include "log.h"
#include "util.h"

#define JOBS_LIST_MAX	100

struct who {
	struct jobs_who	 w;
	long long	*ids;
	json_t		*courses;	/* course_list's answer */
};

static bool	 who_load(struct req *, struct who *);
static void	 who_free(struct who *);
static int	 api_job_answer(struct req *, struct who *, int, long long);
static const char *query(struct req *, const char *, char *, size_t);
static json_t	*spec_from_query(struct req *);
static void	 put_field(json_t *, const char *, const char *);
static void	 add_fields(json_t *, const json_t *);
static char	*spec_href(const json_t *, const char *, const char *);
static void	 add_candidates(json_t *, const json_t *);
static bool	 add_matches(struct req *, json_t *, json_t *);
static int	 preview_page(struct req *, int, struct who *, json_t *,
		    const char *);

static const char *const action_labels[][2] = {
	{ "re_evaluate", "Re-evaluate" }, { "evaluate", "Evaluate" },
	{ "retry", "Retry" }, { "cancel", "Cancel" },
	{ "prioritize", "Move to the front" }, { "export", "Export scores" },
};
static const char *const statuses[] = { "pending", "processing", "retry",
    "completed", "failed" };

static bool
who_load(struct req *r, struct who *who)
{
	char err[512];
	json_t *c;
	size_t i;

	memset(who, 0, sizeof(*who));
	if (!course_list(r->app->db, strcmp(r->user.role, "admin") == 0 ? 0 :
	    r->user.id, "teacher", &who->courses, err, sizeof(err)))
		return false;
	who->ids = xcalloc(json_array_size(who->courses) + 1,
	    sizeof(long long));
	json_array_foreach(who->courses, i, c)
		who->ids[i] = json_integer_value(json_object_get(c, "id"));
	who->w.user_id = r->user.id;
	who->w.name = r->user.name;
	who->w.course_ids = who->ids;
	who->w.n_course_ids = json_array_size(who->courses);
	return true;
}

static void
who_free(struct who *who)
{
	free(who->ids);
	json_decref(who->courses);
}

int
jobs_api_preview(struct req *r)
{
	struct who who;
	struct jobs_ctx *jc = NULL;
	json_t *body, *out = NULL, *spec;
	const char *text;
	long long course;
	char err[512];
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	text = json_string_value(json_object_get(body, "request"));
	spec = json_object_get(body, "spec");
	course = json_integer_value(json_object_get(body, "course_id"));
	if (json_is_object(spec))
		course = json_integer_value(json_object_get(spec,
		    "course_id"));
	else if (text == NULL || text[0] == '\0' || strlen(text) > 1000) {
		status = http_error_member(r, 400, body, spec != NULL ? "spec" :
		    "request", "send {\"request\": \"what to do, in words\" "
		    "(at most 1000 characters), \"course_id\": N (optional)} or "
		    "{\"spec\": {...}}");
		json_decref(body);
		return status;
	}
	if (!who_load(r, &who)) {
		json_decref(body);
		return http_db_error(r);
	}
	status = 500;
	if ((jc = jobs_ctx_load(r->app->db, r->app->cfg, &who.w, course, err,
	    sizeof(err))) != NULL && (json_is_object(spec) ?
	    jobs_preview_spec(r->app->db, jc, &who.w, spec, &out, err,
	    sizeof(err)) : jobs_preview(r->app->db, r->app->cfg, jc, &who.w,
	    text, &out, err, sizeof(err))))
		status = 200;
	jobs_ctx_free(jc);
	who_free(&who);
	json_decref(body);
	if (status != 200) {
		log_warnx("jobs: preview: %s", err);
		return http_db_error(r);
	}
	return http_json(r, 200, out);
}

/* The job as the API shows it, with status. */
static int
api_job_answer(struct req *r, struct who *who, int status, long long id)
{
	char err[512];
	json_t *job;

	if (!jobs_get(r->app->db, id, &who->w, &job, err, sizeof(err))) {
		who_free(who);
		return http_db_error(r);
	}
	who_free(who);
	if (job == NULL)
		return http_error(r, 404, "no such job");
	return http_json(r, status, job);
}

int
jobs_api_create(struct req *r)
{
	struct who who;
	struct jobs_ctx *jc;
	json_t *body, *spec, *qs = NULL;
	const char *request, *parser;
	char err[512];
	long long id = 0;
	int status;
	bool ok;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	spec = json_object_get(body, "spec");
	request = json_string_value(json_object_get(body, "request"));
	parser = json_string_value(json_object_get(body, "parser"));
	if (parser == NULL)
		parser = "form";
	if (!json_is_object(spec) || (strcmp(parser, "rules") != 0 &&
	    strcmp(parser, "llm") != 0 && strcmp(parser, "form") != 0) ||
	    (request != NULL && strlen(request) > 1000)) {
		status = http_error_member(r, 400, body, !json_is_object(spec) ?
		    "spec" : request != NULL && strlen(request) > 1000 ?
		    "request" : "parser", "send {\"spec\": {...} (as the "
		    "preview gave it, possibly edited), \"request\": the words "
		    "(optional), \"parser\": \"rules\", \"llm\" or \"form\" "
		    "(optional)}");
		json_decref(body);
		return status;
	}
	if (!who_load(r, &who)) {
		json_decref(body);
		return http_db_error(r);
	}
	jc = jobs_ctx_load(r->app->db, r->app->cfg, &who.w,
	    json_integer_value(json_object_get(spec, "course_id")), err,
	    sizeof(err));
	ok = jc != NULL && jobs_create(r->app->db, jc, &who.w, spec, request,
	    parser, &id, &qs, err, sizeof(err));
	jobs_ctx_free(jc);
	json_decref(body);
	if (!ok) {
		who_free(&who);
		log_warnx("jobs: create: %s", err);
		return http_db_error(r);
	}
	if (qs != NULL) {
		who_free(&who);
		json_t *e = http_error_body(422, "questions", NULL, "the job "
		    "cannot run until these questions are settled");

		json_object_set_new(e, "questions", qs);
		return http_json(r, 422, e);
	}
	return api_job_answer(r, &who, 201, id);
}

int
jobs_api_list(struct req *r)
{
	struct who who;
	json_t *list;
	char err[512];
	bool ok;

	if (!who_load(r, &who))
		return http_db_error(r);
	ok = jobs_list(r->app->db, &who.w, JOBS_LIST_MAX, &list, err,
	    sizeof(err));
	who_free(&who);
	if (!ok)
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "jobs", list));
}

int
jobs_api_get(struct req *r)
{
	struct who who;

	if (!who_load(r, &who))
		return http_db_error(r);
	return api_job_answer(r, &who, 200, r->id);
}

int
jobs_api_cancel(struct req *r)
{
	struct who who;
	char err[512];
	bool found, running;

	if (!who_load(r, &who))
		return http_db_error(r);
	if (!jobs_cancel(r->app->db, r->id, &who.w, &found, &running, err,
	    sizeof(err))) {
		who_free(&who);
		log_warnx("job=%lld: cancel: %s", r->id, err);
		return http_db_error(r);
	}
	if (!found) {
		who_free(&who);
		return http_error(r, 404, "no such job");
	}
	if (!running) {
		who_free(&who);
		return http_error_code(r, 409, "finished", NULL, "job %lld has "
		    "already ended", r->id);
	}
	return api_job_answer(r, &who, 200, r->id);
}

/* ---- pages ---- */

static const char *
query(struct req *r, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, name, out, outlen);
	return out;
}

/*
 * A form value into the spec: "" is null, a number is a number, anything
 * else stays text (jobs_check then says what is wrong with it).
 */
static void
put_field(json_t *spec, const char *key, const char *v)
{
	char *end;
	long long n;

	if (v[0] == '\0') {
		json_object_set_new(spec, key, json_null());
		return;
	}
	n = strtoll(v, &end, 10);
	if (*end == '\0' && strcmp(key, "section") != 0 &&
	    strcmp(key, "backend") != 0 && strcmp(key, "since") != 0 &&
	    strcmp(key, "until") != 0)
		json_object_set_new(spec, key, json_integer(n));
	else
		json_object_set_new(spec, key, json_string(v));
}

/* The spec the preview form's fields describe (edit=1). */
static json_t *
spec_from_query(struct req *r)
{
	static const char *const keys[] = { "course_id", "section",
	    "assignment_id", "since", "until", "backend", "rubric_version",
	    "priority" };
	json_t *spec = json_object(), *ids = json_array(), *st = json_array();
	char v[512], name[32], *p, *tok, *save = NULL;
	size_t i;

	json_object_set_new(spec, "action", json_string(query(r, "action", v,
	    sizeof(v))));
	for (i = 0; i < ARRAY_LEN(keys); i++)
		put_field(spec, keys[i], query(r, keys[i], v, sizeof(v)));
	query(r, "student_ids", v, sizeof(v));
	for (p = v; (tok = strtok_r(p, ", ", &save)) != NULL; p = NULL)
		json_array_append_new(ids, json_integer(atoll(tok)));
	json_object_set_new(spec, "student_ids", ids);
	for (i = 0; i < ARRAY_LEN(statuses); i++) {
		snprintf(name, sizeof(name), "status_%s", statuses[i]);
		if (query(r, name, v, sizeof(v))[0] != '\0')
			json_array_append_new(st, json_string(statuses[i]));
	}
	json_object_set_new(spec, "status", st);
	return spec;
}

/* The spec's fields as the form shows them. */
static void
add_fields(json_t *view, const json_t *spec)
{
	static const char *const keys[] = { "course_id", "section",
	    "assignment_id", "since", "until", "backend", "rubric_version",
	    "priority" };
	const char *action = json_string_value(json_object_get(spec,
	    "action"));
	json_t *f = json_object(), *list = json_array(), *v;
	struct buf b = BUF_INIT;
	size_t i, k;
	char *text;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		v = json_object_get(spec, keys[i]);
		if (json_is_string(v))
			json_object_set(f, keys[i], v);
		else if (json_is_integer(v))
			json_object_set_new(f, keys[i], json_sprintf("%lld",
			    (long long)json_integer_value(v)));
	}
	json_array_foreach(json_object_get(spec, "student_ids"), i, v)
		buf_printf(&b, "%s%lld", i > 0 ? "," : "",
		    (long long)json_integer_value(v));
	json_object_set_new(f, "student_ids", json_string(buf_cstr(&b)));
	buf_free(&b);
	json_object_set_new(view, "f", f);
	for (i = 0; i < ARRAY_LEN(action_labels); i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:b}",
		    "value", action_labels[i][0], "label", action_labels[i][1],
		    "selected", action != NULL && strcmp(action,
		    action_labels[i][0]) == 0));
	json_object_set_new(view, "actions", list);
	list = json_array();
	for (i = 0; i < ARRAY_LEN(statuses); i++) {
		bool on = false;

		json_array_foreach(json_object_get(spec, "status"), k, v)
			if (json_is_string(v) && strcmp(json_string_value(v),
			    statuses[i]) == 0)
				on = true;
		json_array_append_new(list, json_pack("{s:s, s:b}", "value",
		    statuses[i], "checked", on));
	}
	json_object_set_new(view, "statuses", list);
	text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	json_object_set_new(view, "spec_json", json_string(text));
	free(text);
}

/*
 * The preview address of spec with field set to value (a candidate):
 * every value URL-encoded.
 */
static char *
spec_href(const json_t *spec, const char *field, const char *value)
{
	static const char *const keys[] = { "action", "course_id", "section",
	    "assignment_id", "since", "until", "backend", "rubric_version",
	    "priority" };
	struct buf b = BUF_INIT;
	char enc[1024], num[32];
	const char *v;
	json_t *x;
	size_t i;

	buf_puts(&b, "/jobs/new?edit=1");
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		x = json_object_get(spec, keys[i]);
		v = json_string_value(x);
		if (json_is_integer(x)) {
			snprintf(num, sizeof(num), "%lld",
			    (long long)json_integer_value(x));
			v = num;
		}
		if (strcmp(keys[i], field) == 0)
			v = value;
		if (v == NULL)
			continue;
		mg_url_encode(v, enc, sizeof(enc));
		buf_printf(&b, "&%s=%s", keys[i], enc);
	}
	if (strcmp(field, "student_ids") == 0)
		buf_printf(&b, "&student_ids=%s", value);
	else {
		buf_puts(&b, "&student_ids=");
		json_array_foreach(json_object_get(spec, "student_ids"), i, x)
			buf_printf(&b, "%s%lld", i > 0 ? "%2C" : "",
			    (long long)json_integer_value(x));
	}
	json_array_foreach(json_object_get(spec, "status"), i, x)
		if (json_is_string(x) && strspn(json_string_value(x),
		    "abcdefghijklmnopqrstuvwxyz") == strlen(json_string_value(x)))
			buf_printf(&b, "&status_%s=1", json_string_value(x));
	return buf_release(&b);
}

/* Each question's candidates as links that re-preview with one chosen. */
static void
add_candidates(json_t *questions, const json_t *spec)
{
	json_t *q, *c;
	const char *field;
	char value[256], *href;
	size_t i, k;

	json_array_foreach(questions, i, q) {
		field = json_string_value(json_object_get(q, "field"));
		json_object_set_new(q, "has_candidates", json_boolean(
		    json_array_size(json_object_get(q, "candidates")) > 0));
		json_array_foreach(json_object_get(q, "candidates"), k, c) {
			/* Names are chosen by name, the rest by id. */
			if (field != NULL && (strcmp(field, "section") == 0 ||
			    strcmp(field, "backend") == 0))
				util_strlcpy(value, json_string_value(
				    json_object_get(c, "label")) != NULL ?
				    json_string_value(json_object_get(c,
				    "label")) : "", sizeof(value));
			else
				snprintf(value, sizeof(value), "%lld",
				    (long long)json_integer_value(
				    json_object_get(c, "id")));
			if (field == NULL || !json_is_object(spec))
				continue;
			href = spec_href(spec, field, value);
			json_object_set_new(c, "href", json_string(href));
			free(href);
		}
	}
}

/* The matched submissions' rows (at most the first 200) for the page. */
static bool
add_matches(struct req *r, json_t *view, json_t *ids)
{
	char err[512], *text = json_dumps(ids != NULL ? ids : json_array(),
	    JSON_COMPACT);
	const char *p[1] = { text };
	json_t *rows;

	/* The rows' words only; jobs_match decided which ids. */
	rows = db_query_json(r->app->db, "SELECT coalesce(json_agg("
	    "json_build_object('id', s.id, 'student', u.name, 'section', "
	    "m.section, 'assignment', a.title, 'status', s.status, "
	    "'created_at', iso_utc(s.created_at)) ORDER BY s.id), '[]')::text "
	    "FROM (SELECT jsonb_array_elements_text($1::jsonb)::bigint AS id "
	    "LIMIT 200) x JOIN submissions s ON s.id = x.id JOIN users u ON "
	    "u.id = s.student_id LEFT JOIN course_members m ON m.course_id = "
	    "s.course_id AND m.user_id = s.student_id LEFT JOIN assignments a "
	    "ON a.id = s.assignment_id", 1, p, NULL, err, sizeof(err));
	free(text);
	if (rows == NULL)
		return false;
	json_object_set_new(view, "has_match_rows", json_boolean(
	    json_array_size(rows) > 0));
	json_object_set_new(view, "match_rows", rows);
	return true;
}

/* The preview page of out (jobs_preview's answer, stolen). */
static int
preview_page(struct req *r, int status, struct who *who, json_t *out,
    const char *request)
{
	json_t *view = json_object(), *spec = json_object_get(out, "spec");
	json_t *qs = json_object_get(out, "questions");
	json_t *ids = json_object_get(json_object_get(out, "matches"),
	    "submission_ids");
	json_t *shown, *list, *c, *shown_course;
	size_t i;

	shown = json_is_object(spec) ? spec : jobs_spec_empty();
	shown_course = json_pack("{s:O}", "v", json_object_get(shown,
	    "course_id"));
	add_fields(view, shown);
	add_candidates(qs, shown);
	if (!add_matches(r, view, ids)) {
		json_decref(shown_course);
		if (shown != spec)
			json_decref(shown);
		json_decref(view);
		json_decref(out);
		return http_db_error(r);
	}
	if (shown != spec)
		json_decref(shown);
	json_object_set_new(view, "title", json_string("New job"));
	json_object_set_new(view, "request", json_string(request));
	json_object_set(view, "parser", json_object_get(out, "parser"));
	json_object_set(view, "summary", json_object_get(out, "summary"));
	json_object_set(view, "questions", qs);
	json_object_set_new(view, "has_questions", json_boolean(
	    json_array_size(qs) > 0));
	json_object_set(view, "count", json_object_get(json_object_get(out,
	    "matches"), "count"));
	json_object_set_new(view, "can_confirm", json_boolean(
	    json_array_size(qs) == 0 && json_is_object(spec)));
	list = json_deep_copy(who->courses);
	json_array_foreach(list, i, c)
		json_object_set_new(c, "selected", json_boolean(
		    json_integer_value(json_object_get(c, "id")) ==
		    json_integer_value(json_object_get(shown_course, "v"))));
	json_object_set_new(view, "courses", list);
	json_decref(shown_course);
	json_decref(out);
	return http_render(r, status, "job_new", view);
}

int
jobs_page_new(struct req *r)
{
	struct who who;
	struct jobs_ctx *jc = NULL;
	json_t *out = NULL, *spec = NULL;
	char request[1024], course[32], edit[8], err[512];
	int rc;
	bool ok = false;

	query(r, "request", request, sizeof(request));
	query(r, "course", course, sizeof(course));
	query(r, "edit", edit, sizeof(edit));
	if (!who_load(r, &who))
		return http_db_error(r);
	if (strcmp(edit, "1") == 0) {
		spec = spec_from_query(r);
		jc = jobs_ctx_load(r->app->db, r->app->cfg, &who.w,
		    json_integer_value(json_object_get(spec, "course_id")),
		    err, sizeof(err));
		ok = jc != NULL && jobs_preview_spec(r->app->db, jc, &who.w,
		    spec, &out, err, sizeof(err));
	} else if (request[0] != '\0') {
		jc = jobs_ctx_load(r->app->db, r->app->cfg, &who.w,
		    atoll(course), err, sizeof(err));
		ok = jc != NULL && jobs_preview(r->app->db, r->app->cfg, jc,
		    &who.w, request, &out, err, sizeof(err));
	} else {
		/* An empty request box: the form with nothing chosen. */
		spec = jobs_spec_empty();
		json_object_set_new(spec, "course_id", atoll(course) > 0 ?
		    json_integer(atoll(course)) : json_null());
		out = json_pack("{s:s, s:O, s:s, s:{s:i, s:[]}, s:[]}",
		    "parser", "form", "spec", spec, "summary", "", "matches",
		    "count", 0, "submission_ids", "questions");
		ok = true;
	}
	jobs_ctx_free(jc);
	json_decref(spec);
	if (!ok) {
		who_free(&who);
		log_warnx("jobs: preview page: %s", err);
		return http_db_error(r);
	}
	if (strcmp(edit, "1") == 0)
		json_object_set_new(out, "parser", json_string("form"));
	rc = preview_page(r, 200, &who, out, request);
	who_free(&who);
	return rc;
}

int
jobs_page_create(struct req *r)
{
	struct who who;
	struct jobs_ctx *jc;
	json_t *spec, *qs = NULL, *out;
	char *body, request[1024] = "", parser[16] = "form", err[512];
	char loc[64];
	char *spec_text;
	long long id = 0;
	int rc;
	bool ok;

	if (!http_read_form(r, &body))
		return 403;
	spec_text = xmalloc(strlen(body) + 1);
	http_form_get(body, "spec", spec_text, strlen(body) + 1);
	http_form_get(body, "request", request, sizeof(request));
	http_form_get(body, "parser", parser, sizeof(parser));
	free(body);
	spec = json_loads(spec_text, 0, NULL);
	free(spec_text);
	if (!json_is_object(spec)) {
		json_decref(spec);
		return http_error(r, 400, "the form sent no job; go back to "
		    "the preview and confirm again");
	}
	if (strcmp(parser, "rules") != 0 && strcmp(parser, "llm") != 0)
		util_strlcpy(parser, "form", sizeof(parser));
	if (!who_load(r, &who)) {
		json_decref(spec);
		return http_db_error(r);
	}
	jc = jobs_ctx_load(r->app->db, r->app->cfg, &who.w,
	    json_integer_value(json_object_get(spec, "course_id")), err,
	    sizeof(err));
	ok = jc != NULL && jobs_create(r->app->db, jc, &who.w, spec, request,
	    parser, &id, &qs, err, sizeof(err));
	if (ok && qs != NULL) {
		/* Back to the preview, with what must be settled. */
		ok = jobs_preview_spec(r->app->db, jc, &who.w, spec, &out, err,
		    sizeof(err));
		json_decref(qs);
		jobs_ctx_free(jc);
		json_decref(spec);
		rc = ok ? preview_page(r, 422, &who, out, request) :
		    http_db_error(r);
		who_free(&who);
		return rc;
	}
	jobs_ctx_free(jc);
	json_decref(spec);
	who_free(&who);
	if (!ok) {
		log_warnx("jobs: create: %s", err);
		return http_db_error(r);
	}
	snprintf(loc, sizeof(loc), "/jobs/%lld", id);
	return http_redirect(r, loc, NULL);
}

int
jobs_page_list(struct req *r)
{
	struct who who;
	json_t *list, *view;
	char err[512];
	bool ok;

	if (!who_load(r, &who))
		return http_db_error(r);
	ok = jobs_list(r->app->db, &who.w, JOBS_LIST_MAX, &list, err,
	    sizeof(err));
	who_free(&who);
	if (!ok)
		return http_db_error(r);
	view = json_pack("{s:s, s:o, s:b}", "title", "Jobs", "jobs", list,
	    "has_jobs", json_array_size(list) > 0);
	return http_render(r, 200, "jobs", view);
}

int
jobs_page_get(struct req *r)
{
	struct who who;
	json_t *job, *view;
	char err[512], *spec;
	bool ok;

	if (!who_load(r, &who))
		return http_db_error(r);
	ok = jobs_get(r->app->db, r->id, &who.w, &job, err, sizeof(err));
	who_free(&who);
	if (!ok)
		return http_db_error(r);
	if (job == NULL)
		return http_error(r, 404, "no such job");
	spec = json_dumps(json_object_get(job, "spec"), JSON_COMPACT |
	    JSON_SORT_KEYS);
	view = json_pack("{s:s, s:o, s:s, s:b, s:b}", "title", "Job",
	    "job", job, "spec_json", spec, "is_running", strcmp(
	    json_string_value(json_object_get(job, "state")), "running") == 0,
	    "is_export", strcmp(json_string_value(json_object_get(job,
	    "action")), "export") == 0);
	free(spec);
	return http_render(r, 200, "job", view);
}

int
jobs_page_cancel(struct req *r)
{
	struct who who;
	char *body, err[512], loc[64];
	bool found, running, ok;

	if (!http_read_form(r, &body))
		return 403;
	free(body);
	if (!who_load(r, &who))
		return http_db_error(r);
	ok = jobs_cancel(r->app->db, r->id, &who.w, &found, &running, err,
	    sizeof(err));
	who_free(&who);
	if (!ok)
		return http_db_error(r);
	if (!found)
		return http_error(r, 404, "no such job");
	snprintf(loc, sizeof(loc), "/jobs/%lld", r->id);
	return http_redirect(r, loc, NULL);
}

/*
 * The results CSV of the job's course and assignment (the course's
 * current one when the spec names none), rows of its matched
 * submissions only.
 */
int
jobs_export_csv(struct req *r)
{
	struct who who;
	json_t *job, *course = NULL, *list = NULL, *a, *ids, *item;
	char err[512] = "", title[256] = "";
	long long course_id, aid = 0;
	size_t i;
	int rc;
	bool ok;

	if (!who_load(r, &who))
		return http_db_error(r);
	ok = jobs_get(r->app->db, r->id, &who.w, &job, err, sizeof(err));
	who_free(&who);
	if (!ok)
		return http_db_error(r);
	if (job == NULL)
		return http_error(r, 404, "no such job");
	course_id = json_integer_value(json_object_get(job, "course_id"));
	if (!course_get(r->app->db, course_id, &course, err, sizeof(err)) ||
	    !assignment_choose(r->app->db, course_id, json_integer_value(
	    json_object_get(json_object_get(job, "spec"), "assignment_id")),
	    &aid, err, sizeof(err)) || !assignment_list(r->app->db,
	    course_id, &list, err, sizeof(err)) || course == NULL) {
		json_decref(course);
		json_decref(list);
		json_decref(job);
		return course == NULL && err[0] == '\0' ?
		    http_error(r, 404, "no such course") : http_db_error(r);
	}
	json_array_foreach(list, i, a)
		if (json_integer_value(json_object_get(a, "id")) == aid)
			util_strlcpy(title, json_string_value(json_object_get(a,
			    "title")), sizeof(title));
	ids = json_array();
	json_array_foreach(json_object_get(job, "items"), i, item)
		json_array_append(ids, json_object_get(item,
		    "submission_id"));
	rc = dash_send_results_csv(r, course, aid, title, ids);
	json_decref(ids);
	json_decref(list);
	json_decref(course);
	json_decref(job);
	return rc;
}
