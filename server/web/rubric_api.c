/*
 * rubric_api: the rubrics JSON API (see rubric_web.h). Staff list,
 * create and version rubrics; a student reads a version only when an
 * assignment of one of their courses uses it (404 otherwise, as for a
 * version that does not exist). A definition that does not parse is
 * refused with the words and where: {"error": {"code": "invalid",
 * "message", "field", "criterion"}}.
 */
#include "rubric_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "course.h"
#include "http.h"
#include "log.h"
#include "queue.h"
#include "rubric.h"
#include "rubrics.h"
#include "util.h"

static struct rubric *read_definition(struct req *, int *);
static int	 answer_version(struct req *, int, long long);

int
rubric_web_may_edit(struct req *r, long long id)
{
	char err[512];
	bool allowed, found;

	if (!rubrics_may_edit(r->app->db, id, r->user.id, r->user.role,
	    &allowed, &found, err, sizeof(err)))
		return http_db_error(r);
	if (!found)
		return http_error(r, 404, "no such rubric version");
	if (!allowed)
		return http_error_code(r, 403, "not_owner", NULL, "this rubric "
		    "belongs to another teacher: only they or an admin may "
		    "change it (start your own rubric instead)");
	return 0;
}

int
rubric_web_reevaluate(struct req *r, long long assignment_id,
    long long rubric_id, int *queued)
{
	char err[512];
	long long course = 0;
	bool found, allowed = false;
	json_t *version;

	if (!rubrics_assignment_course(r->app->db, assignment_id, &course,
	    &found, err, sizeof(err)) || (found && !course_access(
	    r->app->db, course, &r->user, &allowed, err, sizeof(err))))
		return http_db_error(r);
	if (!found || !allowed)
		return http_error(r, 404, "no such assignment among the "
		    "courses you teach");
	if (!rubrics_version(r->app->db, rubric_id, r->user.id, r->user.role,
	    &version, err, sizeof(err)))
		return http_db_error(r);
	if (version == NULL)
		return http_error_field(r, 400, "not_found", "rubric_id",
		    "there is no rubric version %lld", rubric_id);
	json_decref(version);
	if (!queue_reevaluate(r->app->db, assignment_id, rubric_id, &found,
	    queued, err, sizeof(err))) {
		log_warnx("reevaluate assignment=%lld: %s", assignment_id,
		    err);
		return http_db_error(r);
	}
	if (!found)
		return http_error(r, 404, "no such assignment");
	return 0;
}

/*
 * The request body as a checked rubric; NULL with the answer sent
 * (*status) when it is not JSON or not a valid definition.
 */
static struct rubric *
read_definition(struct req *r, int *status)
{
	struct rubric_fault f;
	struct rubric *rb;
	json_error_t jerr;
	json_t *def;
	char *text, why[512];

	if (!http_read_body(r, &text)) {
		*status = 413;
		return NULL;
	}
	def = json_loads(text, 0, &jerr);
	free(text);
	if (def == NULL) {
		*status = http_error_code(r, 400, "invalid_json", NULL, "the "
		    "body is not JSON (%s)", jerr.text);
		return NULL;
	}
	if ((rb = rubric_parse_fault(def, &f)) == NULL) {
		rubric_fault_text(&f, why, sizeof(why));
		json_t *e = http_error_body(400, "invalid", f.field[0] != '\0' ?
		    f.field : NULL, why);

		json_object_set_new(json_object_get(e, "error"), "criterion",
		    json_integer(f.criterion));
		*status = http_json(r, 400, e);
	}
	json_decref(def);
	return rb;
}

/* The version just written, as GET answers it. */
static int
answer_version(struct req *r, int status, long long id)
{
	char err[512];
	json_t *v;

	if (!rubrics_version(r->app->db, id, r->user.id, r->user.role, &v,
	    err, sizeof(err)) || v == NULL)
		return http_db_error(r);
	return http_json(r, status, v);
}

int
rubric_api_list(struct req *r)
{
	char err[512];
	json_t *list;

	if (!rubrics_list(r->app->db, r->user.id, r->user.role, &list, err,
	    sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "rubrics", list));
}

int
rubric_api_create(struct req *r)
{
	struct rubric *rb;
	char err[512];
	long long id;
	int status;

	if ((rb = read_definition(r, &status)) == NULL)
		return status;
	if (!rubrics_create(r->app->db, rb, r->user.id, &id, err,
	    sizeof(err))) {
		rubric_free(rb);
		log_warnx("rubric create: %s", err);
		return http_db_error(r);
	}
	rubric_free(rb);
	return answer_version(r, 201, id);
}

int
rubric_api_get(struct req *r)
{
	char err[512];
	bool allowed = true;
	json_t *v;

	if (strcmp(r->user.role, "student") == 0 &&
	    !rubrics_student_may_read(r->app->db, r->id, r->user.id,
	    &allowed, err, sizeof(err)))
		return http_db_error(r);
	if (!allowed)
		return http_error(r, 404, "no such rubric among your courses' "
		    "assignments");
	if (!rubrics_version(r->app->db, r->id, r->user.id, r->user.role, &v,
	    err, sizeof(err)))
		return http_db_error(r);
	if (v == NULL)
		return http_error(r, 404, "no such rubric version");
	return http_json(r, 200, v);
}

int
rubric_api_new_version(struct req *r)
{
	struct rubric *rb;
	char err[512];
	long long id;
	bool in_place, found;
	int status, version;

	if ((status = rubric_web_may_edit(r, r->id)) != 0)
		return status;
	if ((rb = read_definition(r, &status)) == NULL)
		return status;
	if (!rubrics_save(r->app->db, r->id, rb, r->user.id, false, &id,
	    &version, &in_place, &found, err, sizeof(err))) {
		rubric_free(rb);
		log_warnx("rubric %lld new version: %s", r->id, err);
		return http_db_error(r);
	}
	rubric_free(rb);
	if (!found)
		return http_error(r, 404, "no such rubric version");
	return answer_version(r, 201, id);
}

int
rubric_api_reevaluate(struct req *r)
{
	json_int_t rubric_id = 0;
	json_t *body;
	int status, queued = 0;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (json_unpack(body, "{s:I}", "rubric_id", &rubric_id) != 0 ||
	    rubric_id <= 0) {
		status = http_error_member(r, 400, body, "rubric_id", "send "
		    "{\"rubric_id\": the id of the rubric version to evaluate "
		    "with}");
		json_decref(body);
		return status;
	}
	json_decref(body);
	if ((status = rubric_web_reevaluate(r, r->id, rubric_id, &queued))
	    != 0)
		return status;
	return http_json(r, 200, json_pack("{s:I, s:I, s:i}", "assignment_id",
	    (json_int_t)r->id, "rubric_id", rubric_id, "queued", queued));
}
