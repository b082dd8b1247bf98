/*
 * api_courses: courses and enrolment in the JSON API (see api_courses.h),
 * with the rules of the pages: staff watch the courses they teach (admins
 * every course) and see their members, a student sees the courses they
 * are enrolled in and no one's membership; only an admin creates a
 * course or enrols a teacher. Anything a caller may not see is 404, as
 * for a course that does not exist. The loaders are course.c's and
 * dash.c's, the ones the pages use.
 */
#include "api_courses.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_query.h"
#include "app.h"
#include "course.h"
#include "dash.h"
#include "http.h"
#include "util.h"

static const char *jstr(json_t *, const char *);
static int	 student_course(struct req *);

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

int
api_courses_list(struct req *r)
{
	char err[512];
	bool admin = strcmp(r->user.role, "admin") == 0;
	json_t *list;

	if (!course_list(r->app->db, admin ? 0 : r->user.id,
	    strcmp(r->user.role, "student") == 0 ? "student" : "teacher",
	    &list, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "courses", list));
}

int
api_course_create(struct req *r)
{
	char err[512];
	long long id;
	bool refused;
	json_t *body, *course;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (!json_is_string(json_object_get(body, "code")) ||
	    !json_is_string(json_object_get(body, "title"))) {
		status = http_error_member(r, 400, body, !json_is_string(
		    json_object_get(body, "code")) ? "code" : "title", "send "
		    "{\"code\": \"...\", \"title\": \"...\"}");
		json_decref(body);
		return status;
	}
	if (!course_create(r->app->db, jstr(body, "code"), jstr(body, "title"),
	    &id, &refused, err, sizeof(err))) {
		json_decref(body);
		return refused ? http_error_code(r, 422, "invalid", NULL, "%s",
		    err) : http_db_error(r);
	}
	json_decref(body);
	if (!course_get(r->app->db, id, &course, err, sizeof(err)) ||
	    course == NULL)
		return http_db_error(r);
	return http_json(r, 201, course);
}

/*
 * A student's view of a course they are enrolled in: no join code, no
 * members, no sections but their own.
 */
static int
student_course(struct req *r)
{
	char err[512];
	json_t *me, *course;

	if (!course_member(r->app->db, r->id, r->user.id, &me, err,
	    sizeof(err)))
		return http_db_error(r);
	if (me == NULL)
		return http_error(r, 404, "no such course");
	if (!course_get(r->app->db, r->id, &course, err, sizeof(err))) {
		json_decref(me);
		return http_db_error(r);
	}
	if (course == NULL) {
		json_decref(me);
		return http_error(r, 404, "no such course");
	}
	json_object_del(course, "join_code");
	json_object_del(course, "sections");
	json_object_set(course, "section", json_object_get(me, "section"));
	json_decref(me);
	return http_json(r, 200, course);
}

int
api_course_get(struct req *r)
{
	char err[512];
	json_t *course, *members;
	int rc;

	if (strcmp(r->user.role, "student") == 0)
		return student_course(r);
	if (!dash_load_course(r, &course, &rc))
		return rc;
	if (!course_members(r->app->db, r->id, &members, err, sizeof(err))) {
		json_decref(course);
		return http_db_error(r);
	}
	json_object_set_new(course, "members", members);
	return http_json(r, 200, course);
}

/*
 * POST /api/v1/courses/:id/members {email, role, section, move}: as the
 * course page's form. Someone enrolled elsewhere in the course moves
 * only with move: true; without it the answer is 409 saying where they
 * are. 201 when added, 200 when already so or moved.
 */
int
api_course_enrol(struct req *r)
{
	static const char *const outcome[] = { "added", "same", "moved",
	    "elsewhere" };
	char err[512];
	struct course_enrolment e;
	json_t *body, *course, *member;
	const char *role;
	int rc;

	if (!dash_load_course(r, &course, &rc))
		return rc;
	json_decref(course);
	if ((body = http_read_json(r, &rc)) == NULL)
		return rc;
	role = json_is_string(json_object_get(body, "role")) ?
	    jstr(body, "role") : "student";
	if (!json_is_string(json_object_get(body, "email")) ||
	    (json_object_get(body, "section") != NULL &&
	    !json_is_string(json_object_get(body, "section"))) ||
	    (json_object_get(body, "move") != NULL &&
	    !json_is_boolean(json_object_get(body, "move")))) {
		rc = http_error_member(r, 400, body, !json_is_string(
		    json_object_get(body, "email")) ? "email" :
		    json_object_get(body, "move") != NULL &&
		    !json_is_boolean(json_object_get(body, "move")) ? "move" :
		    "section", "send {\"email\": \"...\", \"role\": "
		    "\"student\" or \"teacher\", \"section\": \"...\", "
		    "\"move\": true or false}");
		json_decref(body);
		return rc;
	}
	if (strcmp(role, "student") != 0 && strcmp(r->user.role, "admin") != 0) {
		json_decref(body);
		return http_error_field(r, 403, "forbidden", "role", "only an "
		    "admin enrols teachers");
	}
	if (!course_enrol(r->app->db, r->id, jstr(body, "email"), role,
	    jstr(body, "section"), json_is_true(json_object_get(body, "move")),
	    &e, err, sizeof(err))) {
		json_decref(body);
		return e.refused ? http_error_code(r, 422, "invalid", NULL, "%s",
		    err) : http_db_error(r);
	}
	json_decref(body);
	if (e.outcome == COURSE_ELSEWHERE)
		return http_error_code(r, 409, "enrolled_elsewhere", NULL,
		    "%s is enrolled already (%s%s); send \"move\": true to move "
		    "them", e.name, e.was_section[0] ? "section " : "without a "
		    "section", e.was_section);
	if (!course_member(r->app->db, r->id, e.user_id, &member, err,
	    sizeof(err)) || member == NULL)
		return http_db_error(r);
	json_object_set_new(member, "outcome", json_string(
	    outcome[e.outcome]));
	return http_json(r, e.outcome == COURSE_ADDED ? 201 : 200, member);
}
