/*
 * assign_web: the assignments' pages, forms and JSON API (see
 * assign_web.h). Handlers parse, authorize through assignment_role (a
 * teacher of the course or an admin manages; a student of the course
 * reads; anyone else gets 404, as for a missing one), call assignment.c
 * and render. The course page that lists them is dash.c's.
 */
#include "assign_web.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "app.h"
#include "assignment.h"
#include "config.h"
#include "course.h"
#include "dash.h"
#include "http.h"
#include "log.h"
#include "pages.h"
#include "submission.h"
#include "util.h"

static bool	 load(struct req *, long long, enum assignment_role,
		    json_t **, long long *, int *);
static bool	 course_role(struct req *, enum assignment_role, int *);
static void	 input_from_form(const char *, struct assignment_input *);
static bool	 input_from_json(json_t *, struct assignment_input *,
		    const char **, char *, size_t);
static int	 refused(struct req *, const char *, char *);
static json_t	*rubric_view(json_t *);
static json_t	*form_values(const struct assignment_input *);

/*
 * Assignment id if the user has at least `need` on its course: *a (may
 * be NULL) and *course filled; otherwise the answer is sent (*status).
 */
static bool
load(struct req *r, long long id, enum assignment_role need, json_t **a,
    long long *course, int *status)
{
	enum assignment_role role;
	char err[512];

	if (a != NULL)
		*a = NULL;
	if (!assignment_role(r->app->db, id, &r->user, &role, course, err,
	    sizeof(err)) || (a != NULL && role >= need &&
	    !assignment_get(r->app->db, id, a, err, sizeof(err)))) {
		*status = http_db_error(r);
		return false;
	}
	if (role < need || (a != NULL && *a == NULL)) {
		*status = http_error(r, 404, "no such assignment");
		return false;
	}
	return true;
}

/* Whether the user has `need` on course r->id; otherwise answered. */
static bool
course_role(struct req *r, enum assignment_role need, int *status)
{
	enum assignment_role role;
	char err[512];

	if (!assignment_course_role(r->app->db, r->id, &r->user, &role, err,
	    sizeof(err))) {
		*status = http_db_error(r);
		return false;
	}
	if (role < need) {
		*status = http_error(r, 404, "no such course");
		return false;
	}
	return true;
}

static void
input_from_form(const char *body, struct assignment_input *in)
{
	char v[32] = "";

	memset(in, 0, sizeof(*in));
	http_form_get(body, "title", in->title, sizeof(in->title));
	http_form_get(body, "instructions", in->instructions,
	    sizeof(in->instructions));
	http_form_get(body, "opens", in->opens, sizeof(in->opens));
	http_form_get(body, "due", in->due, sizeof(in->due));
	http_form_get(body, "min_s", in->min_s, sizeof(in->min_s));
	http_form_get(body, "max_s", in->max_s, sizeof(in->max_s));
	if (http_form_get(body, "rubric_id", v, sizeof(v)))
		in->rubric_id = atoll(v);
	v[0] = '\0';
	in->late_ok = http_form_get(body, "late_ok", v, sizeof(v)) &&
	    strcmp(v, "1") == 0;
}

/* Overlays the fields present in body onto in; *field: the one at fault. */
static bool
input_from_json(json_t *body, struct assignment_input *in,
    const char **field, char *err, size_t errlen)
{
	static const struct { const char *key; size_t off, len; } texts[] = {
		{ "title", offsetof(struct assignment_input, title), 256 },
		{ "instructions", offsetof(struct assignment_input,
		    instructions), 10001 },
		{ "opens_at", offsetof(struct assignment_input, opens), 40 },
		{ "due_at", offsetof(struct assignment_input, due), 40 },
	};
	static const struct { const char *key; size_t off; } nums[] = {
		{ "min_duration_s", offsetof(struct assignment_input, min_s) },
		{ "max_duration_s", offsetof(struct assignment_input, max_s) },
	};
	json_t *v;
	size_t i;

	*field = NULL;
	for (i = 0; i < ARRAY_LEN(texts); i++) {
		char *dst = (char *)in + texts[i].off;

		if ((v = json_object_get(body, texts[i].key)) == NULL)
			continue;
		if (json_is_null(v) && strcmp(texts[i].key, "due_at") == 0)
			dst[0] = '\0';
		else if (!json_is_string(v) || strlen(json_string_value(v)) >=
		    texts[i].len) {
			*field = texts[i].key;
			return util_seterr(err, errlen, "%s must be a string of "
			    "at most %zu bytes", texts[i].key, texts[i].len - 1);
		}
		else
			util_strlcpy(dst, json_string_value(v), texts[i].len);
	}
	for (i = 0; i < ARRAY_LEN(nums); i++) {
		char *dst = (char *)in + nums[i].off;

		if ((v = json_object_get(body, nums[i].key)) == NULL)
			continue;
		if (json_is_null(v))
			dst[0] = '\0';
		else if (json_is_number(v))
			snprintf(dst, 32, "%g", json_number_value(v));
		else {
			*field = nums[i].key;
			return util_seterr(err, errlen, "%s must be a number of "
			    "seconds or null", nums[i].key);
		}
	}
	if ((v = json_object_get(body, "rubric_id")) != NULL) {
		*field = "rubric_id";
		if (!json_is_null(v) && !json_is_integer(v))
			return util_seterr(err, errlen, "rubric_id must be a "
			    "rubric version's id or null (the newest)");
		in->rubric_id = json_integer_value(v);
	}
	if ((v = json_object_get(body, "late_ok")) != NULL) {
		*field = "late_ok";
		if (!json_is_boolean(v))
			return util_seterr(err, errlen, "late_ok must be true or "
			    "false");
		in->late_ok = json_is_true(v);
	}
	return true;
}

/* What a form showed, to show again with an error. */
static json_t *
form_values(const struct assignment_input *in)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "title",
	    in->title, "instructions", in->instructions, "opens_local",
	    in->opens, "due_local", in->due, "min_text", in->min_s,
	    "max_text", in->max_s, "rubric_id", (json_int_t)in->rubric_id,
	    "late_ok", in->late_ok);
}

/* assignment_save's refusal: 422 naming the member at fault, if one. */
static int
refused(struct req *r, const char *field, char *err)
{
	if (field == NULL)
		return http_db_error(r);
	return http_error_field(r, 422, "invalid", field[0] != '\0' ? field :
	    NULL, "%s", err);
}

int
assign_api_list(struct req *r)
{
	char err[512];
	json_t *list;
	int status;

	if (!course_role(r, ASSIGNMENT_STUDENT, &status))
		return status;
	if (!assignment_list(r->app->db, r->id, &list, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "assignments", list));
}

int
assign_api_create(struct req *r)
{
	struct assignment_input in;
	const char *field;
	char err[512];
	long long id = 0;
	json_t *body, *a;
	int status;

	if (!course_role(r, ASSIGNMENT_STAFF, &status))
		return status;
	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	memset(&in, 0, sizeof(in));
	if (!input_from_json(body, &in, &field, err, sizeof(err))) {
		json_decref(body);
		return http_error_field(r, 400, "invalid", field, "%s", err);
	}
	json_decref(body);
	if (!assignment_save(r->app->db, r->id, r->user.id, &in, &id, &field,
	    err, sizeof(err)))
		return refused(r, field, err);
	if (!assignment_get(r->app->db, id, &a, err, sizeof(err)) || a == NULL)
		return http_db_error(r);
	return http_json(r, 201, a);
}

int
assign_api_get(struct req *r)
{
	json_t *a;
	long long course;
	int status;

	if (!load(r, r->id, ASSIGNMENT_STUDENT, &a, &course, &status))
		return status;
	return http_json(r, 200, a);
}

int
assign_api_patch(struct req *r)
{
	struct assignment_input in;
	const char *field;
	char err[512];
	long long course, id = r->id;
	json_t *a, *body;
	int status;

	if (!load(r, r->id, ASSIGNMENT_STAFF, &a, &course, &status))
		return status;
	assignment_input_from(&in, a);
	json_decref(a);
	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (!input_from_json(body, &in, &field, err, sizeof(err))) {
		json_decref(body);
		return http_error_field(r, 400, "invalid", field, "%s", err);
	}
	json_decref(body);
	if (!assignment_save(r->app->db, course, r->user.id, &in, &id,
	    &field, err, sizeof(err)))
		return refused(r, field, err);
	if (!assignment_get(r->app->db, id, &a, err, sizeof(err)) || a == NULL)
		return http_db_error(r);
	return http_json(r, 200, a);
}

int
assign_api_delete(struct req *r)
{
	char err[512];
	long long course;
	bool refused;
	int status;

	if (!load(r, r->id, ASSIGNMENT_STAFF, NULL, &course, &status))
		return status;
	if (!assignment_delete(r->app->db, r->id, &refused, err, sizeof(err)))
		return refused ? http_error_code(r, 409, "has_submissions",
		    NULL, "%s", err) : http_db_error(r);
	return http_json(r, 200, json_pack("{s:I}", "deleted",
	    (json_int_t)r->id));
}

int
assign_form_create(struct req *r)
{
	struct assignment_input in;
	char err[512], loc[96], *body;
	long long id = 0;
	const char *invalid;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	input_from_form(body, &in);
	free(body);
	if (!course_role(r, ASSIGNMENT_STAFF, &status))
		return status;
	if (!assignment_save(r->app->db, r->id, r->user.id, &in, &id, &invalid,
	    err, sizeof(err)))
		return invalid != NULL ? dash_course_with(r, 422, json_pack(
		    "{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
		    "assign_error", err, "assign_new", 1, "new_title", in.title,
		    "new_instructions", in.instructions, "new_opens", in.opens,
		    "new_due", in.due, "new_min", in.min_s, "new_max",
		    in.max_s, "new_late_ok", in.late_ok)) : http_db_error(r);
	snprintf(loc, sizeof(loc), "/courses/%lld?assignment=%lld#assignments",
	    r->id, id);
	return http_redirect(r, loc, NULL);
}

int
assign_form_edit(struct req *r)
{
	struct assignment_input in;
	char err[512], loc[96], *body;
	long long course, id = r->id;
	json_t *edit;
	const char *invalid;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	input_from_form(body, &in);
	free(body);
	if (!load(r, r->id, ASSIGNMENT_STAFF, NULL, &course, &status))
		return status;
	if (!assignment_save(r->app->db, course, r->user.id, &in, &id,
	    &invalid, err, sizeof(err))) {
		if (invalid == NULL)
			return http_db_error(r);
		edit = form_values(&in);
		json_object_set_new(edit, "id", json_integer(r->id));
		r->id = course;
		return dash_course_with(r, 422, json_pack("{s:s, s:o}",
		    "assign_error", err, "assign_edit", edit));
	}
	snprintf(loc, sizeof(loc), "/courses/%lld?assignment=%lld#assignments",
	    course, id);
	return http_redirect(r, loc, NULL);
}

int
assign_form_delete(struct req *r)
{
	char err[512], loc[96], *body;
	long long course;
	bool refused;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	free(body);
	if (!load(r, r->id, ASSIGNMENT_STAFF, NULL, &course, &status))
		return status;
	if (!assignment_delete(r->app->db, r->id, &refused, err,
	    sizeof(err))) {
		if (!refused)
			return http_db_error(r);
		r->id = course;
		return dash_course_with(r, 409, json_pack("{s:s}",
		    "assign_error", err));
	}
	snprintf(loc, sizeof(loc), "/courses/%lld#assignments", course);
	return http_redirect(r, loc, NULL);
}

int
assign_form_time_zone(struct req *r)
{
	char tz[80] = "", err[512], loc[96], *body;
	bool invalid;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "time_zone", tz, sizeof(tz));
	free(body);
	if (!course_role(r, ASSIGNMENT_STAFF, &status))
		return status;
	if (!course_set_time_zone(r->app->db, r->id, tz, &invalid, err,
	    sizeof(err)))
		return invalid ? dash_course_with(r, 422, json_pack("{s:s, "
		    "s:s}", "tz_error", err, "tz_value", tz)) :
		    http_db_error(r);
	snprintf(loc, sizeof(loc), "/courses/%lld#assignments", r->id);
	return http_redirect(r, loc, NULL);
}

/*
 * The rubric as students read it: each criterion's title, description
 * and weight, and what each level of the scale means when the
 * definition says (criteria[i].descriptors, one per level from min).
 */
static json_t *
rubric_view(json_t *def)
{
	json_t *scale = json_object_get(def, "scale"), *crit = json_array();
	json_t *c, *levels, *d;
	json_int_t min = json_integer_value(json_object_get(scale, "min"));
	json_int_t max = json_integer_value(json_object_get(scale, "max"));
	double w;
	size_t i, k;

	json_array_foreach(json_object_get(def, "criteria"), i, c) {
		levels = json_array();
		json_array_foreach(json_object_get(c, "descriptors"), k, d)
			if (json_is_string(d) && min + (json_int_t)k <= max)
				json_array_append_new(levels, json_pack("{s:I, "
				    "s:O}", "level", min + (json_int_t)k,
				    "text", d));
		w = json_is_number(json_object_get(c, "weight")) ?
		    json_number_value(json_object_get(c, "weight")) : 1;
		json_array_append_new(crit, json_pack("{s:O?, s:O?, s:O?, "
		    "s:o, s:b, s:o}", "key", json_object_get(c, "key"),
		    "crit_title", json_object_get(c, "title"),
		    "crit_description", json_object_get(c, "description"),
		    "weight_text", json_sprintf("%g", w), "has_levels",
		    json_array_size(levels) > 0, "levels", levels));
	}
	return json_pack("{s:O?, s:O?, s:I, s:I, s:o}", "name",
	    json_object_get(def, "name"), "version", json_object_get(def,
	    "version"), "min", min, "max", max, "criteria", crit);
}

int
assign_page(struct req *r)
{
	bool student = strcmp(r->user.role, "student") == 0;
	char err[512];
	json_t *a, *def, *subs = NULL, *view;
	long long course, rid;
	int status;

	if (!load(r, r->id, ASSIGNMENT_STUDENT, &a, &course, &status))
		return status;
	if (!assignment_rubric(r->app->db, r->id, &def, &rid, err,
	    sizeof(err)) || (student && !submission_list_for(r->app->db,
	    r->user.id, r->id, &subs, err, sizeof(err)))) {
		json_decref(a);
		json_decref(def);
		return http_db_error(r);
	}
	view = json_pack("{s:o, s:O, s:o, s:b, s:b, s:i, s:i}", "title",
	    json_sprintf("%s · %s", json_string_value(json_object_get(a,
	    "title")), json_string_value(json_object_get(a, "course_code"))),
	    "assignment", a, "rubric", rubric_view(def), "student", student,
	    "can_upload", student && json_is_true(json_object_get(a,
	    "accepting")), "upload_max_mb", r->app->cfg->upload_max_mb,
	    "max_duration_s", r->app->cfg->max_duration_s);
	json_decref(def);
	if (subs != NULL) {
		pages_list_view(subs, true);
		json_object_set_new(view, "has_submissions", json_boolean(
		    json_array_size(subs) > 0));
		json_object_set_new(view, "submissions", subs);
	}
	/* The upload form's choice: this assignment only. */
	json_object_set_new(view, "upload_choices", json_pack("[{s:O, s:O, "
	    "s:O, s:b}]", "choice_id", json_object_get(a, "id"),
	    "choice_title", json_object_get(a, "title"), "choice_course",
	    json_object_get(a, "course_code"), "choice_selected", 1));
	json_object_set_new(view, "single_choice", json_true());
	json_decref(a);
	return http_render(r, 200, "assignment", view);
}

/*
 * The assignment the page is about: ?assignment=ID when it is the
 * course's, else the newest open one, else the newest (0: none yet);
 * *list gets the course's assignments.
 */
bool
assign_pick(struct req *r, long long *id, json_t **list)
{
	char v[32] = "", err[512];

	*list = NULL;
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "assignment", v, sizeof(v));
	if (!assignment_choose(r->app->db, r->id, atoll(v), id, err,
	    sizeof(err)))
		return false;
	return assignment_list(r->app->db, r->id, list, err, sizeof(err));
}

/*
 * The assignments part of the course page: the selector, the list with
 * its edit forms (a refused edit shows what was typed), the rubric
 * versions to choose from and the course's time zone.
 */
bool
assign_course_view(struct req *r, json_t *view, json_t *list, long long id)
{
	json_t *a, *versions, *edit = json_object_get(view, "assign_edit");
	json_t *v, *k, *opts;
	const char *key;
	char err[512];
	size_t i, j;

	if (!assignment_rubric_versions(r->app->db, &versions, err,
	    sizeof(err))) {
		json_decref(list);
		return false;
	}
	json_array_foreach(list, i, a) {
		bool editing = json_integer_value(json_object_get(edit, "id")) ==
		    json_integer_value(json_object_get(a, "id"));

		if (editing)
			json_object_foreach(edit, key, k)
				json_object_set(a, key, k);
		json_object_set_new(a, "editing", json_boolean(editing));
		json_object_set_new(a, "selected", json_boolean(
		    json_integer_value(json_object_get(a, "id")) == id));
		if (id == json_integer_value(json_object_get(a, "id")))
			json_object_set(view, "assignment", a);
		if (!editing) {
			json_object_set_new(a, "min_text", json_sprintf("%g",
			    json_number_value(json_object_get(a,
			    "min_duration_s"))));
			if (json_is_number(json_object_get(a,
			    "max_duration_s")))
				json_object_set_new(a, "max_text",
				    json_sprintf("%g", json_number_value(
				    json_object_get(a, "max_duration_s"))));
		}
		opts = json_array();
		json_array_foreach(versions, j, v)
			json_array_append_new(opts, json_pack("{s:O, s:O, s:b}",
			    "version_id", json_object_get(v, "id"),
			    "version_label", json_object_get(v, "label"),
			    "version_selected", json_integer_value(
			    json_object_get(v, "id")) == json_integer_value(
			    json_object_get(a, "rubric_id"))));
		json_object_set_new(a, "rubric_options", opts);
	}
	json_object_set_new(view, "rubric_versions", versions);
	json_object_set_new(view, "assignments", list);
	json_object_set_new(view, "has_assignments", json_boolean(
	    json_array_size(list) > 0));
	json_object_set_new(view, "assignment_id", json_integer(id));
	return true;
}
