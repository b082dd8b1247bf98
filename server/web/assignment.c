/*
 * assignment: the assignments table (see assignment.h). Every date is
 * turned into text, and text into a date, by PostgreSQL in the course's
 * time zone; every statement is parameterised.
 */
#include "assignment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "dash.h"
#include "db.h"
#include "log.h"
#include "rubrics.h"
#include "util.h"

#define TITLE_MAX	200
#define INSTR_MAX	10000

/* A date in words in the course's zone: "Thursday 10 December 2026, 17:00". */
#define WHEN(col) \
	"to_char(" col " AT TIME ZONE c.time_zone, " \
	"'FMDay FMDD FMMonth YYYY, HH24:MI') || ' (' || c.time_zone || ')'"

/* "due in 3 days", "closed": how far the due date is. */
#define DUE_WORDS \
	"CASE WHEN a.due_at IS NULL THEN 'no due date' " \
	"  WHEN a.due_at <= now() THEN 'closed' " \
	"  WHEN a.due_at - now() < interval '1 hour' THEN 'due in ' || " \
	"    ceil(extract(epoch FROM a.due_at - now()) / 60) || ' minutes' " \
	"  WHEN a.due_at - now() < interval '2 days' THEN 'due in ' || " \
	"    floor(extract(epoch FROM a.due_at - now()) / 3600) || ' hours' " \
	"  ELSE 'due in ' || floor(extract(epoch FROM a.due_at - now()) / " \
	"    86400) || ' days' END"

#define OPEN_NOW \
	"(a.opens_at <= now() AND (a.due_at IS NULL OR a.due_at > now()))"
/* An archived course takes no uploads (016: courses.archived). */
#define ACCEPTING \
	"(a.opens_at <= now() AND (a.due_at IS NULL OR a.due_at > now() " \
	"  OR a.late_ok) AND NOT c.archived)"

#define ASSIGNMENT_JSON \
	"json_build_object('id', a.id, 'course_id', a.course_id, " \
	"  'course_code', c.code, 'course_title', c.title, " \
	"  'title', a.title, 'instructions', a.instructions, " \
	"  'time_zone', c.time_zone, " \
	"  'opens_at', iso_utc(a.opens_at), 'due_at', iso_utc(a.due_at), " \
	"  'opens_local', to_char(a.opens_at AT TIME ZONE c.time_zone, " \
	"    'YYYY-MM-DD\"T\"HH24:MI'), " \
	"  'due_local', to_char(a.due_at AT TIME ZONE c.time_zone, " \
	"    'YYYY-MM-DD\"T\"HH24:MI'), " \
	"  'opens_text', " WHEN("a.opens_at") ", " \
	"  'due_text', " WHEN("a.due_at") ", " \
	"  'due_words', " DUE_WORDS ", " \
	"  'min_duration_s', a.min_duration_s, " \
	"  'max_duration_s', a.max_duration_s, " \
	"  'rubric_id', a.rubric_id, 'rubric_label', (SELECT r.name || " \
	"    ' version ' || r.version FROM rubrics r WHERE r.id = a.rubric_id), " \
	"  'late_ok', a.late_ok, 'is_open', " OPEN_NOW ", " \
	"  'accepting', " ACCEPTING ", 'not_yet', a.opens_at > now(), " \
	"  'closed', coalesce(a.due_at <= now(), false), " \
	"  'submissions', (SELECT count(*) FROM submissions s " \
	"    WHERE s.assignment_id = a.id))"

/* A local date, or one with a zone, as the instant it names. */
#define TO_INSTANT(p) \
	"CASE WHEN " p " ~ '(Z|[+-][0-9][0-9](:?[0-9][0-9])?)$' " \
	"  THEN nullif(" p ", '')::timestamptz " \
	"  ELSE nullif(" p ", '')::timestamp AT TIME ZONE c.time_zone END"

static bool	 date_ok(const char *);
static bool	 number_ok(const char *, double *);
static void	 range_text(double, double, char *, size_t);
static bool	 input_ok(const struct assignment_input *, const char **,
		    char *, size_t);
static void	 add_range_text(json_t *);

bool
assignment_pick(struct db *db, long long student, long long requested,
    double duration_s, struct assignment_pick *out,
    enum assignment_verdict *verdict, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT a.id, a.course_id, coalesce(a.rubric_id, 0) AS rubric_id, "
	    "  a.title, a.late_ok, a.min_duration_s, "
	    "  coalesce(a.max_duration_s, 0) AS max_duration_s, "
	    "  a.opens_at > now() AS not_yet, c.archived, c.code, "
	    "  coalesce(a.due_at <= now(), false) AS past_due, "
	    "  " WHEN("a.opens_at") " AS opens_text, "
	    "  " WHEN("a.due_at") " AS due_text "
	    "FROM assignments a JOIN courses c ON c.id = a.course_id "
	    "WHERE EXISTS (SELECT 1 FROM course_members m "
	    "  WHERE m.course_id = a.course_id AND m.user_id = $1::bigint "
	    "  AND m.role = 'student') "
	    "AND CASE WHEN $2::bigint > 0 THEN a.id = $2::bigint "
	    "  ELSE " ACCEPTING " END ORDER BY a.id";
	char sb[DB_NUM_LEN], rb[DB_NUM_LEN], range[96];
	const char *p[2] = { db_param_ll(sb, student),
	    db_param_ll(rb, requested) };
	double min, max;
	PGconn *c;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	msg[0] = '\0';
	c = db_acquire(db);
	r = db_query(c, sql, 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	*verdict = ASSIGNMENT_OK;
	if (PQntuples(r) == 0 && requested > 0) {
		*verdict = ASSIGNMENT_NOT_FOUND;
		snprintf(msg, msglen, "assignment %lld is not an assignment of "
		    "one of your courses", requested);
	} else if (PQntuples(r) == 0) {
		*verdict = ASSIGNMENT_NONE_OPEN;
		snprintf(msg, msglen, "%s", ASSIGNMENT_MSG_NONE);
	} else if (PQntuples(r) > 1) {
		*verdict = ASSIGNMENT_CHOOSE;
		snprintf(msg, msglen, "You have %d open assignments: choose the "
		    "assignment this recording is for.", PQntuples(r));
	} else if (strcmp(db_get(r, 0, "archived"), "t") == 0) {
		*verdict = ASSIGNMENT_NOT_OPEN;
		snprintf(msg, msglen, "%s is archived: its assignments take no "
		    "more uploads.", db_get(r, 0, "code"));
	} else if (strcmp(db_get(r, 0, "not_yet"), "t") == 0) {
		*verdict = ASSIGNMENT_NOT_OPEN;
		snprintf(msg, msglen, "\"%s\" is not open yet: it opens on %s.",
		    db_get(r, 0, "title"), db_get(r, 0, "opens_text"));
	} else if (strcmp(db_get(r, 0, "past_due"), "t") == 0 &&
	    strcmp(db_get(r, 0, "late_ok"), "t") != 0) {
		*verdict = ASSIGNMENT_PAST_DUE;
		snprintf(msg, msglen, "\"%s\" was due on %s, and late work is "
		    "not accepted.", db_get(r, 0, "title"),
		    db_get(r, 0, "due_text"));
	} else {
		min = atof(db_get(r, 0, "min_duration_s"));
		max = atof(db_get(r, 0, "max_duration_s"));
		if (duration_s >= 0 && (duration_s < min || (max > 0 &&
		    duration_s > max))) {
			*verdict = ASSIGNMENT_DURATION;
			range_text(min, max, range, sizeof(range));
			snprintf(msg, msglen, "This recording is %.0f s long; "
			    "\"%s\" accepts recordings %s.", duration_s,
			    db_get(r, 0, "title"), range);
		}
	}
	if (*verdict == ASSIGNMENT_OK) {
		out->id = db_get_ll(r, 0, "id");
		out->course_id = db_get_ll(r, 0, "course_id");
		out->rubric_id = db_get_ll(r, 0, "rubric_id");
		out->late = strcmp(db_get(r, 0, "past_due"), "t") == 0;
	}
	PQclear(r);
	return true;
}

/* "from 30 s to 2 min 0 s", "of at least 30 s", "of any length". */
static void
range_text(double min, double max, char *out, size_t len)
{
	char a[32], b[32];

	dash_duration(min, a, sizeof(a));
	dash_duration(max, b, sizeof(b));
	if (max > 0)
		snprintf(out, len, "from %s to %s", a, b);
	else if (min > 0)
		snprintf(out, len, "of at least %s", a);
	else
		snprintf(out, len, "of any length");
}

/* Adds range_text, the accepted durations in words. */
static void
add_range_text(json_t *a)
{
	char range[96];

	range_text(json_number_value(json_object_get(a, "min_duration_s")),
	    json_number_value(json_object_get(a, "max_duration_s")), range,
	    sizeof(range));
	json_object_set_new(a, "range_text", json_string(range));
}

bool
assignment_get(struct db *db, long long id, json_t **out, char *err,
    size_t errlen)
{
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	bool found;

	*out = db_query_json(db, "SELECT " ASSIGNMENT_JSON " FROM assignments "
	    "a JOIN courses c ON c.id = a.course_id WHERE a.id = $1::bigint",
	    1, p, &found, err, errlen);
	if (*out != NULL)
		add_range_text(*out);
	return *out != NULL || !found;
}

bool
assignment_list(struct db *db, long long course, json_t **out, char *err,
    size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(cb, course) };
	json_t *a;
	size_t i;

	*out = db_query_json(db, "SELECT coalesce(json_agg(" ASSIGNMENT_JSON
	    " ORDER BY a.opens_at DESC, a.id DESC), '[]') FROM assignments a "
	    "JOIN courses c ON c.id = a.course_id WHERE a.course_id = "
	    "$1::bigint", 1, p, NULL, err, errlen);
	json_array_foreach(*out, i, a)
		add_range_text(a);
	return *out != NULL;
}

bool
assignment_open_for(struct db *db, long long student, json_t **out,
    char *err, size_t errlen)
{
	char sb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(sb, student) };
	json_t *a;
	size_t i;

	*out = db_query_json(db, "SELECT coalesce(json_agg(" ASSIGNMENT_JSON
	    " ORDER BY a.due_at NULLS LAST, a.id), '[]') FROM assignments a "
	    "JOIN courses c ON c.id = a.course_id JOIN course_members m "
	    "ON m.course_id = a.course_id AND m.user_id = $1::bigint "
	    "AND m.role = 'student' WHERE " ACCEPTING, 1, p, NULL, err,
	    errlen);
	json_array_foreach(*out, i, a)
		add_range_text(a);
	return *out != NULL;
}

bool
assignment_choose(struct db *db, long long course, long long wanted,
    long long *id, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN], wb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), db_param_ll(wb, wanted) };
	return db_query_id(db, "SELECT a.id FROM assignments a "
	    "WHERE a.course_id = $1::bigint ORDER BY a.id = $2::bigint DESC, "
	    OPEN_NOW " DESC, a.opens_at DESC, a.id DESC LIMIT 1", 2, p, id, err,
	    errlen);
}

bool
assignment_course_role(struct db *db, long long course, const struct user *u,
    enum assignment_role *role, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(cb, course), db_param_ll(ub, u->id) };
	PGconn *c;
	PGresult *r;

	*role = ASSIGNMENT_NOBODY;
	c = db_acquire(db);
	r = db_query(c, "SELECT (SELECT m.role FROM course_members m "
	    "WHERE m.course_id = c.id AND m.user_id = $2::bigint) AS role "
	    "FROM courses c WHERE c.id = $1::bigint", 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) > 0) {
		const char *m = db_get(r, 0, "role");

		if (strcmp(u->role, "admin") == 0 || (m != NULL &&
		    strcmp(m, "teacher") == 0 && strcmp(u->role, "teacher") == 0))
			*role = ASSIGNMENT_STAFF;
		else if (m != NULL && strcmp(m, "student") == 0 &&
		    strcmp(u->role, "student") == 0)
			*role = ASSIGNMENT_STUDENT;
	}
	PQclear(r);
	return true;
}

bool
assignment_role(struct db *db, long long id, const struct user *u,
    enum assignment_role *role, long long *course, char *err, size_t errlen)
{
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	PGconn *c;
	PGresult *r;

	*role = ASSIGNMENT_NOBODY;
	*course = 0;
	c = db_acquire(db);
	r = db_query(c, "SELECT course_id FROM assignments WHERE id = "
	    "$1::bigint", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) > 0)
		*course = db_get_ll(r, 0, "course_id");
	PQclear(r);
	if (*course == 0)
		return true;
	return assignment_course_role(db, *course, u, role, err, errlen);
}

/* "2026-12-10T17:00", with optional seconds and zone ("Z", "+01:00"). */
static bool
date_ok(const char *s)
{
	int y, mo, d, h, mi, n = 0;

	if (s[0] == '\0')
		return true;
	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi,
	    &n) != 5 || n != 16)
		return false;
	if (y < 2000 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || h < 0 || mi < 0)
		return false;
	s += n;
	if (s[0] == ':' && strspn(s + 1, "0123456789") >= 2)
		s += 3;
	if (s[0] == '.')
		s += 1 + strspn(s + 1, "0123456789");
	if (s[0] == '\0' || strcmp(s, "Z") == 0)
		return true;
	return (s[0] == '+' || s[0] == '-') && strspn(s + 1,
	    "0123456789:") == strlen(s + 1) && strlen(s + 1) >= 2 &&
	    strlen(s + 1) <= 5;
}

static bool
number_ok(const char *s, double *v)
{
	char *end;

	*v = 0;
	if (s[0] == '\0')
		return true;
	*v = strtod(s, &end);
	return *end == '\0' && *v >= 0 && *v < 1e7;
}

/* False with words in err and the API member at fault in *field. */
static bool
input_ok(const struct assignment_input *in, const char **field, char *err,
    size_t errlen)
{
	double min, max;
	size_t i;

	*field = "title";
	if (in->title[0] == '\0')
		return util_seterr(err, errlen, "an assignment needs a title");
	if (strlen(in->title) > TITLE_MAX)
		return util_seterr(err, errlen, "the title is longer than %d "
		    "characters", TITLE_MAX);
	for (i = 0; in->title[i] != '\0'; i++)
		if ((unsigned char)in->title[i] < 0x20)
			return util_seterr(err, errlen, "the title has control "
			    "characters");
	*field = "instructions";
	if (strlen(in->instructions) > INSTR_MAX)
		return util_seterr(err, errlen, "the instructions are longer "
		    "than %d characters", INSTR_MAX);
	*field = "opens_at";
	if (!date_ok(in->opens))
		return util_seterr(err, errlen, "the opening date \"%s\" is not "
		    "a date and time such as 2026-12-10T09:00", in->opens);
	*field = "due_at";
	if (!date_ok(in->due))
		return util_seterr(err, errlen, "the due date \"%s\" is not a "
		    "date and time such as 2026-12-17T17:00", in->due);
	*field = !number_ok(in->min_s, &min) ? "min_duration_s" :
	    "max_duration_s";
	if (!number_ok(in->min_s, &min) || !number_ok(in->max_s, &max))
		return util_seterr(err, errlen, "the duration range is given "
		    "in whole seconds, 0 or more");
	if (in->max_s[0] != '\0' && max <= min)
		return util_seterr(err, errlen, "the longest accepted recording "
		    "(%s s) must be longer than the shortest (%s s)", in->max_s,
		    in->min_s[0] != '\0' ? in->min_s : "0");
	*field = NULL;
	return true;
}

void
assignment_input_from(struct assignment_input *in, json_t *a)
{
	const char *s;
	json_t *v;

	memset(in, 0, sizeof(*in));
	util_strlcpy(in->title, (s = json_string_value(json_object_get(a,
	    "title"))) != NULL ? s : "", sizeof(in->title));
	util_strlcpy(in->instructions, (s = json_string_value(json_object_get(
	    a, "instructions"))) != NULL ? s : "", sizeof(in->instructions));
	util_strlcpy(in->opens, (s = json_string_value(json_object_get(a,
	    "opens_local"))) != NULL ? s : "", sizeof(in->opens));
	util_strlcpy(in->due, (s = json_string_value(json_object_get(a,
	    "due_local"))) != NULL ? s : "", sizeof(in->due));
	snprintf(in->min_s, sizeof(in->min_s), "%g", json_number_value(
	    json_object_get(a, "min_duration_s")));
	if (json_is_number(v = json_object_get(a, "max_duration_s")))
		snprintf(in->max_s, sizeof(in->max_s), "%g",
		    json_number_value(v));
	in->rubric_id = json_integer_value(json_object_get(a, "rubric_id"));
	in->late_ok = json_is_true(json_object_get(a, "late_ok"));
}

bool
assignment_save(struct db *db, long long course, long long user,
    const struct assignment_input *in, long long *id, const char **invalid,
    char *err, size_t errlen)
{
	/*
	 * One statement: the dates as instants in the course's zone, the
	 * checks the table would refuse with a database message, and the
	 * write, done only when they pass.
	 */
	static const char sql[] =
	    "WITH v AS (SELECT c.id AS course_id, "
	    "  coalesce(" TO_INSTANT("$4") ", now()) AS opens, "
	    "  " TO_INSTANT("$5") " AS due, "
	    "  ($8::bigint IS NULL OR EXISTS (SELECT 1 FROM rubrics "
	    "    WHERE id = $8::bigint)) AS rubric_ok "
	    "  FROM courses c WHERE c.id = $1::bigint), "
	    "ok AS (SELECT * FROM v WHERE rubric_ok "
	    "  AND (due IS NULL OR due > opens)), "
	    "ins AS (INSERT INTO assignments (course_id, title, instructions, "
	    "  opens_at, due_at, min_duration_s, max_duration_s, rubric_id, "
	    "  late_ok, created_by) SELECT course_id, $2, $3, opens, due, "
	    "  $6::float8, $7::float8, $8::bigint, $9::boolean, nullif($11::bigint, 0) "
	    "  FROM ok WHERE $10::bigint = 0 RETURNING id), "
	    "upd AS (UPDATE assignments a SET title = $2, instructions = $3, "
	    "  opens_at = ok.opens, due_at = ok.due, "
	    "  min_duration_s = $6::float8, max_duration_s = $7::float8, "
	    "  rubric_id = $8::bigint, late_ok = $9::boolean, "
	    "  updated_at = now() FROM ok WHERE $10::bigint > 0 "
	    "  AND a.id = $10::bigint AND a.course_id = ok.course_id "
	    "  RETURNING a.id) "
	    "SELECT coalesce((SELECT id FROM ins), (SELECT id FROM upd), 0) "
	    "  AS id, v.rubric_ok, v.due IS NULL OR v.due > v.opens AS order_ok "
	    "FROM v";
	char cb[DB_NUM_LEN], rb[DB_NUM_LEN], ib[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[11] = { db_param_ll(cb, course), in->title,
	    in->instructions, in->opens, in->due,
	    in->min_s[0] != '\0' ? in->min_s : "0",
	    in->max_s[0] != '\0' ? in->max_s : NULL,
	    in->rubric_id > 0 ? db_param_ll(rb, in->rubric_id) : NULL,
	    in->late_ok ? "true" : "false", db_param_ll(ib, *id),
	    db_param_ll(ub, user) };
	PGconn *c;
	PGresult *r;
	bool ok = false;

	if (!input_ok(in, invalid, err, errlen))
		return false;
	c = db_acquire(db);
	r = db_query(c, sql, 11, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	*invalid = "";
	if (PQntuples(r) == 0)
		util_seterr(err, errlen, "no such course");
	else if (strcmp(db_get(r, 0, "rubric_ok"), "t") != 0) {
		*invalid = "rubric_id";
		util_seterr(err, errlen, "there is no rubric version %lld",
		    in->rubric_id);
	} else if (strcmp(db_get(r, 0, "order_ok"), "t") != 0) {
		*invalid = "due_at";
		util_seterr(err, errlen, "the due date must be after the "
		    "opening date");
	} else if (db_get_ll(r, 0, "id") == 0)
		util_seterr(err, errlen, "no such assignment");
	else {
		*invalid = NULL;
		*id = db_get_ll(r, 0, "id");
		ok = true;
		log_info("assignment=%lld saved course=%lld user=%lld", *id,
		    course, user);
	}
	PQclear(r);
	return ok;
}

bool
assignment_delete(struct db *db, long long id, bool *refused, char *err,
    size_t errlen)
{
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	long long n;
	PGconn *c;
	PGresult *r;

	*refused = false;
	c = db_acquire(db);
	r = db_query_idempotent(c, "WITH d AS (DELETE FROM assignments a "
	    "WHERE a.id = $1::bigint AND NOT EXISTS (SELECT 1 FROM submissions "
	    "s WHERE s.assignment_id = a.id) RETURNING id) "
	    "SELECT (SELECT count(*) FROM d) AS deleted, (SELECT count(*) "
	    "FROM submissions WHERE assignment_id = $1::bigint) AS subs", 1, p,
	    err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	n = db_get_ll(r, 0, "subs");
	if (db_get_ll(r, 0, "deleted") == 0 && n > 0) {
		*refused = true;
		util_seterr(err, errlen, "this assignment has %lld submission%s, "
		    "so it cannot be deleted: students' work and scores would "
		    "lose their assignment", n, n == 1 ? "" : "s");
	} else
		log_info("assignment=%lld deleted", id);
	PQclear(r);
	return !*refused;
}

bool
assignment_rubric(struct db *db, long long id, json_t **def,
    long long *rubric_id, char *err, size_t errlen)
{
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	PGconn *c;
	PGresult *r;

	*def = NULL;
	*rubric_id = 0;
	c = db_acquire(db);
	r = db_query(c, "SELECT coalesce(rubric_id, 0) AS rubric_id FROM "
	    "assignments WHERE id = $1::bigint", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) > 0)
		*rubric_id = db_get_ll(r, 0, "rubric_id");
	PQclear(r);
	if (*rubric_id > 0)
		return rubrics_get(db, *rubric_id, def, err, errlen);
	return rubrics_current(db, rubric_id, def, err, errlen);
}

bool
assignment_rubric_versions(struct db *db, json_t **out, char *err,
    size_t errlen)
{
	long long id;

	/* The default rubric is stored on first use: make sure it is. */
	if (!rubrics_current(db, &id, NULL, err, errlen))
		return false;
	*out = db_query_json(db, "SELECT coalesce(json_agg(json_build_object("
	    "'id', id, 'label', name || ' version ' || version) "
	    "ORDER BY created_at DESC, id DESC), '[]') FROM rubrics", 0, NULL,
	    NULL, err, errlen);
	return *out != NULL;
}
