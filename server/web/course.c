/*
 * course: courses and their members (see course.h). The lists are built
 * as JSON by PostgreSQL and parsed once here; every statement is
 * parameterised.
 */
#include "course.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define CODE_MAX	32
#define TITLE_MAX	200
#define SECTION_MAX	32

/*
 * A student's submission to the assignment ($2) that counts (the latest:
 * submission_counts, sql/014).
 */
#define LATEST_SUBMISSION \
	"LEFT JOIN LATERAL (SELECT * FROM submissions s " \
	"  WHERE s.student_id = m.user_id " \
	"  AND s.assignment_id = $2::bigint AND submission_counts(s.id) " \
	"  ORDER BY s.id DESC LIMIT 1) s ON true "

static bool	 text_ok(const char *, size_t, const char *, char *, size_t);
static bool	 update_course(struct db *, const char *, int,
		    const char *const *, bool *, char *, size_t);

static bool
text_ok(const char *s, size_t max, const char *what, char *err,
    size_t errlen)
{
	size_t i;

	if (strlen(s) > max)
		return util_seterr(err, errlen, "the %s is longer than %zu "
		    "characters", what, max);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20)
			return util_seterr(err, errlen, "the %s has control "
			    "characters", what);
	return true;
}

bool
course_create(struct db *db, const char *code, const char *title,
    long long *id, bool *refused, char *err, size_t errlen)
{
	const char *p[2] = { code, title };
	bool no;
	PGconn *c;
	PGresult *r;

	if (refused == NULL)
		refused = &no;
	*refused = true;
	if (code[0] == '\0' || title[0] == '\0')
		return util_seterr(err, errlen, "a course needs a code and a "
		    "title");
	if (!text_ok(code, CODE_MAX, "code", err, errlen) ||
	    !text_ok(title, TITLE_MAX, "title", err, errlen))
		return false;
	*refused = false;
	c = db_acquire(db);
	r = db_query(c, "INSERT INTO courses (code, title) VALUES ($1, $2) "
	    "ON CONFLICT (code) DO NOTHING RETURNING id", 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) == 0) {
		PQclear(r);
		*refused = true;
		return util_seterr(err, errlen, "a course with the code %s "
		    "exists already", code);
	}
	*id = db_get_ll(r, 0, "id");
	PQclear(r);
	log_info("course=%lld created code=%s", *id, code);
	return true;
}

bool
course_enrol(struct db *db, long long course, const char *email,
    const char *role, const char *section, bool move,
    struct course_enrolment *out, char *err, size_t errlen)
{
	/*
	 * One statement: who the email names, whether and how they are
	 * enrolled already, and the write, which changes an existing
	 * membership only when a move was asked for.
	 */
	static const char sql[] =
	    "WITH u AS (SELECT id, name FROM users "
	    "  WHERE lower(email) = lower($2) AND (role = $3 "
	    "  OR ($3 = 'teacher' AND role = 'admin')) "
	    "  AND EXISTS (SELECT 1 FROM courses WHERE id = $1::bigint "
	    "  AND NOT archived)), "
	    "old AS (SELECT m.role, m.section FROM course_members m, u "
	    "  WHERE m.course_id = $1::bigint AND m.user_id = u.id), "
	    "w AS (INSERT INTO course_members (course_id, user_id, role, "
	    "  section) SELECT $1::bigint, u.id, $3, $4 FROM u "
	    "  WHERE $5::boolean OR NOT EXISTS (SELECT 1 FROM old) "
	    "  ON CONFLICT (course_id, user_id) DO UPDATE SET role = $3, "
	    "  section = $4 RETURNING user_id) "
	    "SELECT u.id, u.name, old.role AS was_role, "
	    "  old.section AS was_section, "
	    "  (SELECT count(*) FROM w) AS written "
	    "FROM u LEFT JOIN old ON true";
	char cb[DB_NUM_LEN];
	const char *p[5] = { db_param_ll(cb, course), email, role, section,
	    move ? "true" : "false" };
	PGconn *c;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	out->refused = true;
	if (strcmp(role, "student") != 0 && strcmp(role, "teacher") != 0)
		return util_seterr(err, errlen, "the role is student or "
		    "teacher");
	if (!text_ok(section, SECTION_MAX, "section", err, errlen))
		return false;
	out->refused = false;
	c = db_acquire(db);
	r = db_query(c, sql, 5, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) == 0) {
		out->refused = true;
		PQclear(r);
		return util_seterr(err, errlen, "there is no %s account with "
		    "the email %s (or the course is archived)", role, email);
	}
	out->user_id = db_get_ll(r, 0, "id");
	util_strlcpy(out->name, db_get(r, 0, "name"), sizeof(out->name));
	util_strlcpy(out->was_section, db_get(r, 0, "was_section") ?
	    db_get(r, 0, "was_section") : "", sizeof(out->was_section));
	if (PQgetisnull(r, 0, PQfnumber(r, "was_role")))
		out->outcome = COURSE_ADDED;
	else if (strcmp(db_get(r, 0, "was_role"), role) == 0 &&
	    strcmp(out->was_section, section) == 0)
		out->outcome = COURSE_SAME;
	else
		out->outcome = db_get_ll(r, 0, "written") > 0 ? COURSE_MOVED :
		    COURSE_ELSEWHERE;
	PQclear(r);
	log_info("course=%lld enrol user=%lld role=%s outcome=%d", course,
	    out->user_id, role, (int)out->outcome);
	return true;
}

bool
course_member(struct db *db, long long course, long long user,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('user_id', u.id, 'name', u.name, "
	    "  'role', m.role, 'section', m.section) "
	    "FROM course_members m JOIN users u ON u.id = m.user_id "
	    "WHERE m.course_id = $1::bigint AND m.user_id = $2::bigint";
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), db_param_ll(ub, user) };
	bool found;

	*out = db_query_json(db, sql, 2, p, &found, err, errlen);
	return *out != NULL || !found;
}

bool
course_setup_counts(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('courses', count(*), "
	    "  'staffed', count(*) FILTER (WHERE EXISTS (SELECT 1 "
	    "    FROM course_members m WHERE m.course_id = c.id "
	    "    AND m.role = 'teacher') AND EXISTS (SELECT 1 "
	    "    FROM course_members m WHERE m.course_id = c.id "
	    "    AND m.role = 'student'))) FROM courses c";

	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}

bool
course_list(struct db *db, long long user_id, const char *member_role,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('id', c.id, "
	    "  'code', c.code, 'title', c.title, 'archived', c.archived, "
	    "  'students', (SELECT count(*) FROM course_members m "
	    "    WHERE m.course_id = c.id AND m.role = 'student'), "
	    "  'teachers', (SELECT coalesce(string_agg(u.name, ', ' "
	    "    ORDER BY u.name), '') FROM course_members m JOIN users u "
	    "    ON u.id = m.user_id WHERE m.course_id = c.id "
	    "    AND m.role = 'teacher')) ORDER BY c.code), '[]') "
	    "FROM courses c WHERE $1::bigint = 0 OR EXISTS (SELECT 1 "
	    "  FROM course_members m WHERE m.course_id = c.id "
	    "  AND m.user_id = $1::bigint AND m.role = $2)";
	char tb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(tb, user_id), member_role };

	*out = db_query_json(db, sql, 2, p, NULL, err, errlen);
	return *out != NULL;
}

bool
course_get(struct db *db, long long id, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('id', c.id, 'code', c.code, "
	    "  'title', c.title, 'time_zone', c.time_zone, "
	    "  'join_code', c.join_code, "
	    "  'archived', c.archived, "
	    "  'sections', coalesce((SELECT json_agg(DISTINCT m.section "
	    "    ORDER BY m.section) "
	    "    FROM course_members m WHERE m.course_id = c.id "
	    "    AND m.role = 'student' AND m.section <> ''), '[]'), "
	    "  'teachers', coalesce((SELECT json_agg(u.name ORDER BY u.name) "
	    "    FROM course_members m JOIN users u ON u.id = m.user_id "
	    "    WHERE m.course_id = c.id AND m.role = 'teacher'), '[]')) "
	    "FROM courses c WHERE c.id = $1::bigint";
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	bool found;

	*out = db_query_json(db, sql, 1, p, &found, err, errlen);
	return *out != NULL || !found;
}

bool
course_access(struct db *db, long long course, const struct user *u,
    bool *allowed, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(cb, course), db_param_ll(ub, u->id),
	    u->role };

	*allowed = false;
	if (strcmp(u->role, "student") == 0)
		return true;
	return db_exists(db, "SELECT 1 FROM courses c WHERE c.id = $1::bigint "
	    "AND ($3 = 'admin' OR EXISTS (SELECT 1 FROM course_members m "
	    "WHERE m.course_id = c.id AND m.user_id = $2::bigint "
	    "AND m.role = 'teacher'))", 3, p, allowed, err, errlen);
}

bool
course_progress(struct db *db, long long course, long long assignment,
    json_t **rows, long long *version, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('version', coalesce(max(x.version), 0), "
	    "  'rows', coalesce(json_agg(x ORDER BY x.section, x.name), "
	    "  '[]')) FROM ("
	    "SELECT m.user_id AS student_id, u.name, u.email, m.section, "
	    "  s.id, s.phase, s.status, s.stt_progress, s.priority, s.late, "
	    "  s.error_message AS error, s.version, s.batch_id, s.node, "
	    "  s.retry_count, e.overall, e.model, run.backend AS running_on, "
	    "  iso_utc(s.created_at) AS created_at, "
	    "  iso_utc(s.completed_at) AS completed_at "
	    "FROM course_members m JOIN users u ON u.id = m.user_id "
	    LATEST_SUBMISSION
	    "LEFT JOIN LATERAL (SELECT round((final_scores(s.id) ->> "
	    "  'overall')::numeric, 1) AS overall, "
	    "  model FROM evaluations WHERE submission_id = s.id "
	    "  ORDER BY created_at DESC, id DESC LIMIT 1) e ON true "
	    "LEFT JOIN LATERAL (SELECT backend FROM phase_log "
	    "  WHERE submission_id = s.id AND phase = 'llm' "
	    "  AND finished_at IS NULL AND s.status = 'processing' "
	    "  AND s.phase = 'llm' ORDER BY started_at DESC LIMIT 1) run "
	    "  ON true "
	    "WHERE m.course_id = $1::bigint AND m.role = 'student') x";
	char cb[DB_NUM_LEN], ab[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course),
	    db_param_ll(ab, assignment) };
	json_t *j;

	*rows = NULL;
	if ((j = db_query_json(db, sql, 2, p, NULL, err, errlen)) == NULL)
		return false;
	*version = json_integer_value(json_object_get(j, "version"));
	*rows = json_incref(json_object_get(j, "rows"));
	json_decref(j);
	return true;
}

bool
course_results(struct db *db, long long course, long long assignment,
    json_t **rows, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(x ORDER BY x.section, x.name), '[]') "
	    "FROM (SELECT m.user_id AS student_id, u.name, u.email, "
	    "  m.section, d.id, d.overall, d.scores, d.adjusted, d.model, "
	    "  d.completed_at, d.late "
	    "FROM course_members m JOIN users u ON u.id = m.user_id "
	    "LEFT JOIN LATERAL (SELECT s.id, round((f.f ->> 'overall')::numeric, "
	    "    1) AS overall, f.f -> 'scores' AS scores, "
	    "    f.f -> 'adjusted' AS adjusted, e.model, "
	    "    iso_utc(s.completed_at) AS completed_at, s.late "
	    "  FROM submissions s JOIN LATERAL (SELECT * FROM evaluations "
	    "    WHERE submission_id = s.id ORDER BY created_at DESC, id DESC "
	    "    LIMIT 1) e ON true "
	    "  CROSS JOIN final_scores(s.id) f "
	    "  WHERE s.student_id = m.user_id AND s.phase = 'completed' "
	    "  AND s.assignment_id = $2::bigint AND submission_counts(s.id) "
	    "  ORDER BY s.completed_at DESC, s.id DESC LIMIT 1) d ON true "
	    "WHERE m.course_id = $1::bigint AND m.role = 'student') x";
	char cb[DB_NUM_LEN], ab[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course),
	    db_param_ll(ab, assignment) };

	*rows = db_query_json(db, sql, 2, p, NULL, err, errlen);
	return *rows != NULL;
}

/* An UPDATE of one course; *found false when no row matched. */
static bool
update_course(struct db *db, const char *sql, int n, const char *const *p,
    bool *found, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query_idempotent(c, sql, n, p, err, errlen);

	db_release(db, c);
	*found = false;
	if (r == NULL)
		return false;
	*found = PQntuples(r) > 0;
	PQclear(r);
	return *found || util_seterr(err, errlen, "no such course");
}

bool
course_rename(struct db *db, long long course, const char *title,
    bool *found, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), title };

	*found = true;
	if (title[0] == '\0')
		return util_seterr(err, errlen, "a course needs a title");
	if (!text_ok(title, TITLE_MAX, "title", err, errlen))
		return false;
	if (!update_course(db, "UPDATE courses SET title = $2 WHERE id = "
	    "$1::bigint RETURNING id", 2, p, found, err, errlen))
		return false;
	log_info("course=%lld renamed", course);
	return true;
}

bool
course_set_archived(struct db *db, long long course, bool archived,
    bool *found, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), archived ? "true" :
	    "false" };

	if (!update_course(db, "UPDATE courses SET archived = $2::boolean "
	    "WHERE id = $1::bigint RETURNING id", 2, p, found, err, errlen))
		return false;
	log_info("course=%lld %s", course, archived ? "archived" :
	    "unarchived");
	return true;
}

bool
course_new_join_code(struct db *db, long long course, bool *found,
    char *err, size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(cb, course) };

	/* new_join_code() (016) is the one source of codes. */
	if (!update_course(db, "UPDATE courses SET join_code = "
	    "new_join_code() WHERE id = $1::bigint RETURNING id", 1, p, found,
	    err, errlen))
		return false;
	log_info("course=%lld new join code", course);
	return true;
}

bool
course_unenrol(struct db *db, long long course, long long user,
    bool students_only, bool *found, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(cb, course), db_param_ll(ub, user),
	    students_only ? "true" : "false" };
	PGconn *c;
	PGresult *r;
	bool teacher;

	c = db_acquire(db);
	r = db_query(c, "WITH m AS (SELECT role FROM course_members "
	    "  WHERE course_id = $1::bigint AND user_id = $2::bigint), "
	    "d AS (DELETE FROM course_members WHERE course_id = $1::bigint "
	    "  AND user_id = $2::bigint AND (NOT $3::boolean "
	    "  OR role = 'student') RETURNING 1) "
	    "SELECT m.role, (SELECT count(*) FROM d) AS deleted FROM m", 3, p,
	    err, errlen);
	db_release(db, c);
	*found = false;
	if (r == NULL)
		return false;
	*found = PQntuples(r) == 1;
	teacher = *found && db_get_ll(r, 0, "deleted") == 0;
	PQclear(r);
	if (!*found)
		return util_seterr(err, errlen, "that account is not a member "
		    "of this course");
	if (teacher)
		return util_seterr(err, errlen, "only an admin takes a "
		    "teacher out of a course");
	log_info("course=%lld unenrol user=%lld", course, user);
	return true;
}

bool
course_id_by_code(struct db *db, const char *code, long long *id,
    char *err, size_t errlen)
{
	const char *p[1] = { code };

	return db_query_id(db, "SELECT id FROM courses WHERE code = $1", 1, p,
	    id, err, errlen);
}

bool
course_by_join_code(struct db *db, const char *code, long long *course,
    char *err, size_t errlen)
{
	char norm[CODE_MAX + 1];
	const char *p[1] = { norm };
	size_t n = 0;

	*course = 0;
	for (; *code != '\0' && n < sizeof(norm) - 1; code++)
		if (*code != ' ' && *code != '-')
			norm[n++] = (char)toupper((unsigned char)*code);
	norm[n] = '\0';
	if (n == 0)
		return true;
	return db_query_id(db, "SELECT id FROM courses WHERE join_code = $1 "
	    "AND NOT archived", 1, p, course, err, errlen);
}

bool
course_members(struct db *db, long long course, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('user_id', u.id, "
	    "  'name', u.name, 'email', u.email, 'role', m.role, "
	    "  'section', m.section, 'student_number', m.student_number, "
	    "  'disabled', u.disabled) ORDER BY m.role DESC, m.section, "
	    "  u.name), '[]') "
	    "FROM course_members m JOIN users u ON u.id = m.user_id "
	    "WHERE m.course_id = $1::bigint";
	char cb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(cb, course) };

	*out = db_query_json(db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}

bool
course_set_time_zone(struct db *db, long long course, const char *tz,
    bool *invalid, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), tz };
	PGconn *c;
	PGresult *r;
	bool ok;

	*invalid = true;
	if (tz[0] == '\0' || !text_ok(tz, 64, "time zone", err, errlen))
		return tz[0] != '\0' ? false : util_seterr(err, errlen,
		    "name a time zone, such as Europe/Berlin");
	*invalid = false;
	c = db_acquire(db);
	r = db_query_idempotent(c, "UPDATE courses SET time_zone = $2 "
	    "WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM pg_timezone_names "
	    "WHERE name = $2) RETURNING id", 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (!(ok = PQntuples(r) > 0)) {
		*invalid = true;
		util_seterr(err, errlen, "\"%s\" is not a time zone this server "
		    "knows: give an IANA name such as Europe/Berlin or "
		    "America/New_York", tz);
	} else
		log_info("course=%lld time_zone=%s", course, tz);
	PQclear(r);
	return ok;
}
