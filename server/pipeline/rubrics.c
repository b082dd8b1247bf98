/*
 * rubrics: rubric families and their versions (see rubrics.h). The
 * database guards what matters: a trigger refuses to change a used
 * version (sql/015), the unique (set_id, version) key refuses two saves
 * numbering the same version, and rubric_used() is the one definition of
 * "used" that the trigger and the editor share. The migration ships the
 * default rubric, so there is always a current one.
 */
#include "rubrics.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "rubric.h"
#include "util.h"

/* The assignments that use version r.id, of the courses $1 may see. */
#define VERSION_ASSIGNMENTS \
	"(SELECT coalesce(json_agg(json_build_object('id', a.id, " \
	"  'title', a.title, 'course_id', c.id, 'course_code', c.code) " \
	"  ORDER BY c.code, a.title, a.id), '[]') " \
	"  FROM assignments a JOIN courses c ON c.id = a.course_id " \
	"  WHERE (a.rubric_id = r.id OR (a.rubric_id IS NULL " \
	"    AND r.id = rubric_current())) " \
	"  AND ($2 = 'admin' OR EXISTS (SELECT 1 FROM course_members m " \
	"    WHERE m.course_id = c.id AND m.user_id = $1::bigint " \
	"    AND m.role = 'teacher')))"

static char	*definition_text(const struct rubric *);

/* The normalised definition as JSON text (caller frees). */
static char *
definition_text(const struct rubric *rb)
{
	json_t *def = rubric_json(rb);
	char *text = json_dumps(def, JSON_COMPACT | JSON_REAL_PRECISION(6));

	json_decref(def);
	if (text == NULL)
		fatalx("rubric: cannot serialise a definition");
	return text;
}

bool
rubrics_current(struct db *db, long long *id, json_t **def, char *err,
    size_t errlen)
{
	json_t *row;
	bool found;

	row = db_query_json(db, "SELECT json_build_object('id', r.id, "
	    "'definition', r.definition)::text FROM rubrics r "
	    "WHERE r.id = rubric_current()", 0, NULL, &found, err, errlen);
	if (row == NULL) {
		if (!found)
			util_seterr(err, errlen, "there is no rubric (the "
			    "migrations ship one: is the database migrated?)");
		return false;
	}
	*id = (long long)json_integer_value(json_object_get(row, "id"));
	if (def != NULL)
		*def = json_incref(json_object_get(row, "definition"));
	json_decref(row);
	return true;
}

bool
rubrics_get(struct db *db, long long id, json_t **def, char *err,
    size_t errlen)
{
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
	bool found;

	*def = db_query_json(db, "SELECT definition::text FROM rubrics "
	    "WHERE id = $1", 1, p, &found, err, errlen);
	if (*def == NULL && !found)
		util_seterr(err, errlen, "rubric %lld does not exist", id);
	return *def != NULL;
}

bool
rubrics_list(struct db *db, long long viewer_id, const char *role,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(x ORDER BY x.is_default DESC, "
	    "  lower(x.title), x.set_id), '[]')::text FROM ("
	    "  SELECT rs.id AS set_id, rs.title, rs.owner_id, "
	    "    u.name AS owner_name, rs.is_default, "
	    "    (SELECT json_agg(json_build_object('id', r.id, "
	    "      'version', r.version, 'used', rubric_used(r.id), "
	    "      'created_at', iso_utc(r.created_at), "
	    "      'assignments', " VERSION_ASSIGNMENTS ") "
	    "      ORDER BY r.version DESC) "
	    "     FROM rubrics r WHERE r.set_id = rs.id) AS versions "
	    "  FROM rubric_sets rs LEFT JOIN users u ON u.id = rs.owner_id) x";
	char vb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(vb, viewer_id), role };

	*out = db_query_json(db, sql, 2, p, NULL, err, errlen);
	return *out != NULL;
}

bool
rubrics_version(struct db *db, long long id, long long viewer_id,
    const char *role, json_t **out, char *err, size_t errlen)
{
	static const char staff_sql[] =
	    "SELECT json_build_object('id', r.id, 'set_id', r.set_id, "
	    "  'title', rs.title, 'name', r.name, 'version', r.version, "
	    "  'definition', r.definition, 'used', rubric_used(r.id), "
	    "  'is_default', rs.is_default, 'owner_id', rs.owner_id, "
	    "  'created_at', iso_utc(r.created_at), "
	    "  'versions', (SELECT json_agg(json_build_object('id', v.id, "
	    "    'version', v.version) ORDER BY v.version) FROM rubrics v "
	    "    WHERE v.set_id = r.set_id), "
	    "  'assignments', " VERSION_ASSIGNMENTS ", "
	    "  'family_assignments', (SELECT coalesce(json_agg("
	    "    json_build_object('id', a.id, 'title', a.title, "
	    "    'course_id', c.id, 'course_code', c.code, "
	    "    'rubric_id', u.id, 'version', u.version) "
	    "    ORDER BY c.code, a.title, a.id), '[]') "
	    "    FROM assignments a JOIN courses c ON c.id = a.course_id "
	    "    JOIN rubrics u ON u.id = coalesce(a.rubric_id, "
	    "      rubric_current()) "
	    "    WHERE u.set_id = r.set_id AND ($2 = 'admin' OR EXISTS ("
	    "      SELECT 1 FROM course_members m WHERE m.course_id = c.id "
	    "      AND m.user_id = $1::bigint AND m.role = 'teacher'))))::text "
	    "FROM rubrics r JOIN rubric_sets rs ON rs.id = r.set_id "
	    "WHERE r.id = $3";
	static const char student_sql[] =
	    "SELECT json_build_object('id', r.id, 'name', r.name, "
	    "  'version', r.version, 'definition', r.definition)::text "
	    "FROM rubrics r WHERE r.id = $1";
	char vb[DB_NUM_LEN], ib[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(vb, viewer_id), role,
	    db_param_ll(ib, id) };
	bool found;

	if (strcmp(role, "student") == 0)
		*out = db_query_json(db, student_sql, 1, p + 2, &found, err,
		    errlen);
	else
		*out = db_query_json(db, staff_sql, 3, p, &found, err,
		    errlen);
	return *out != NULL || !found;
}

bool
rubrics_create(struct db *db, const struct rubric *rb, long long owner_id,
    long long *id, char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH s AS (INSERT INTO rubric_sets (title, owner_id) "
	    "  VALUES ($1, $3) RETURNING id) "
	    "INSERT INTO rubrics (name, version, definition, set_id, created_by) "
	    "SELECT $1, 1, jsonb_set($2::jsonb, '{version}', '1'), s.id, $3 "
	    "FROM s RETURNING id";
	char ob[DB_NUM_LEN];
	char *text = definition_text(rb);
	const char *p[3] = { rubric_name(rb), text, db_param_ll(ob, owner_id) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 3, p, err, errlen);

	if (r != NULL)
		*id = db_get_ll(r, 0, "id");
	PQclear(r);
	db_release(db, c);
	free(text);
	return r != NULL;
}

bool
rubrics_save(struct db *db, long long from_id, const struct rubric *rb,
    long long user_id, bool in_place, long long *id, int *version,
    bool *edited_in_place, bool *found, char *err, size_t errlen)
{
	/*
	 * The family's row is locked first, so two saves of one family
	 * take turns; the unique (set_id, version) key and the trigger stay
	 * the backstop. An unused version asked to be edited in place is
	 * updated; anything else becomes max(version) + 1.
	 */
	static const char sql[] =
	    "WITH src AS (SELECT r.id, r.set_id, rubric_used(r.id) AS used "
	    "  FROM rubrics r WHERE r.id = $1), "
	    "lck AS (SELECT rs.id FROM rubric_sets rs JOIN src "
	    "  ON rs.id = src.set_id FOR UPDATE OF rs), "
	    "t AS (UPDATE rubric_sets SET title = $3 "
	    "  WHERE id = (SELECT id FROM lck) RETURNING id), "
	    "upd AS (UPDATE rubrics r SET definition = jsonb_set($2::jsonb, "
	    "  '{version}', to_jsonb(r.version)), name = $3, updated_at = now() "
	    "  FROM src WHERE r.id = src.id AND NOT src.used AND $5::boolean "
	    "  RETURNING r.id, r.version), "
	    "ins AS (INSERT INTO rubrics (name, version, definition, set_id, "
	    "  created_by) SELECT $3, v.n, jsonb_set($2::jsonb, '{version}', "
	    "  to_jsonb(v.n)), src.set_id, $4 FROM src CROSS JOIN LATERAL "
	    "  (SELECT max(version) + 1 AS n FROM rubrics "
	    "   WHERE set_id = src.set_id) v "
	    "  WHERE src.used OR NOT $5::boolean RETURNING id, version) "
	    "SELECT json_build_object('id', x.id, 'version', x.version, "
	    "  'in_place', x.in_place, 'set', (SELECT count(*) FROM t))::text "
	    "FROM (SELECT id, version, true AS in_place FROM upd UNION ALL "
	    "  SELECT id, version, false FROM ins) x";
	char fb[DB_NUM_LEN], ub[DB_NUM_LEN];
	char *text = definition_text(rb);
	const char *p[5] = { db_param_ll(fb, from_id), text, rubric_name(rb),
	    db_param_ll(ub, user_id), in_place ? "true" : "false" };
	json_t *row;

	row = db_query_json(db, sql, 5, p, found, err, errlen);
	free(text);
	if (row == NULL)
		return !*found;
	*id = (long long)json_integer_value(json_object_get(row, "id"));
	*version = (int)json_integer_value(json_object_get(row, "version"));
	*edited_in_place = json_is_true(json_object_get(row, "in_place"));
	json_decref(row);
	return true;
}

bool
rubrics_may_edit(struct db *db, long long id, long long user_id,
    const char *role, bool *allowed, bool *found, char *err, size_t errlen)
{
	char ib[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(ib, id), db_param_ll(ub, user_id),
	    role };
	json_t *row;

	*allowed = false;
	row = db_query_json(db, "SELECT to_json($3 = 'admin' "
	    "OR rs.owner_id IS NULL OR rs.owner_id = $2::bigint)::text "
	    "FROM rubrics r JOIN rubric_sets rs ON rs.id = r.set_id "
	    "WHERE r.id = $1", 3, p, found, err, errlen);
	if (row == NULL)
		return !*found;
	*allowed = json_is_true(row);
	json_decref(row);
	return true;
}

bool
rubrics_student_may_read(struct db *db, long long id, long long student_id,
    bool *allowed, char *err, size_t errlen)
{
	char ib[DB_NUM_LEN], sb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(ib, id), db_param_ll(sb, student_id) };

	return db_exists(db, "SELECT 1 FROM assignments a "
	    "JOIN course_members m ON m.course_id = a.course_id "
	    "  AND m.user_id = $2::bigint AND m.role = 'student' "
	    "WHERE a.rubric_id = $1::bigint OR (a.rubric_id IS NULL "
	    "  AND $1::bigint = rubric_current())", 2, p, allowed, err, errlen);
}

bool
rubrics_assignment_course(struct db *db, long long assignment_id,
    long long *course_id, bool *found, char *err, size_t errlen)
{
	char ab[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ab, assignment_id) };
	json_t *v;

	v = db_query_json(db, "SELECT to_json(course_id)::text "
	    "FROM assignments WHERE id = $1", 1, p, found, err, errlen);
	if (v == NULL)
		return !*found;
	*course_id = (long long)json_integer_value(v);
	json_decref(v);
	return true;
}
