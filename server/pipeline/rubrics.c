/*
 * rubrics: the rubrics table. The newest rubric is the one new
 * submissions are scored against; the built-in default (rubric.h) is
 * stored on first use, so a fresh database works without set-up.
 */
#include "rubrics.h"

#include <stdlib.h>

#include "db.h"
#include "rubric.h"
#include "util.h"

static bool	 insert_default(PGconn *, char *, size_t);

static bool
insert_default(PGconn *c, char *err, size_t errlen)
{
	struct rubric *rb = rubric_default();
	json_t *def = rubric_json(rb);
	char *text = json_dumps(def, JSON_COMPACT);
	char ver[DB_NUM_LEN];
	const char *p[3] = { rubric_name(rb), db_param_ll(ver, rubric_version(rb)),
	    text };
	bool ok;

	ok = db_exec(c, "INSERT INTO rubrics (name, version, definition) "
	    "VALUES ($1, $2, $3::jsonb) ON CONFLICT (name, version) DO NOTHING",
	    3, p, err, errlen);
	free(text);
	json_decref(def);
	rubric_free(rb);
	return ok;
}

bool
rubrics_current(struct db *db, long long *id, json_t **def, char *err,
    size_t errlen)
{
	static const char sql[] = "SELECT id, definition::text FROM rubrics "
	    "ORDER BY created_at DESC, id DESC LIMIT 1";
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;
	bool ok = false;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		PQclear(r);
		if ((r = db_query(c, sql, 0, NULL, err, errlen)) == NULL)
			goto out;
		if (PQntuples(r) > 0)
			break;
		if (!insert_default(c, err, errlen))
			goto out;
	}
	if (r == NULL || PQntuples(r) == 0) {
		util_seterr(err, errlen, "no rubric could be created");
		goto out;
	}
	*id = db_get_ll(r, 0, "id");
	if (def != NULL && (*def = json_loads(db_get(r, 0, "definition"), 0,
	    NULL)) == NULL) {
		util_seterr(err, errlen, "rubric %lld is not JSON", *id);
		goto out;
	}
	ok = true;
out:
	PQclear(r);
	db_release(db, c);
	return ok;
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
