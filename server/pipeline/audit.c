/*
 * audit: see audit.h. Entries are never changed; the table has no
 * foreign key on the actor so that an entry outlives the account.
 */
#include "audit.h"

#include <stdlib.h>

#include "db.h"
#include "util.h"

bool
audit_write(struct db *db, PGconn *c, long long actor, const char *action,
    const char *subject, json_t *details, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO audit_log (actor, action, "
	    "subject, details) VALUES (nullif($1::bigint, 0), $2, $3, "
	    "coalesce($4::jsonb, '{}'))";
	char ab[DB_NUM_LEN], *text = NULL;
	const char *p[4];
	bool ok;

	if (details != NULL)
		text = json_dumps(details, JSON_COMPACT);
	p[0] = db_param_ll(ab, actor);
	p[1] = action;
	p[2] = subject != NULL ? subject : "";
	p[3] = text;
	ok = c != NULL ? db_exec(c, sql, 4, p, err, errlen) :
	    db_exec1(db, sql, 4, p, err, errlen);
	free(text);
	return ok;
}

bool
audit_page(struct db *db, long long offset, int limit, json_t **out,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('total', (SELECT count(*) FROM "
	    "  audit_log), 'entries', coalesce((SELECT json_agg(x ORDER BY "
	    "  x.at_ts DESC, x.id DESC) FROM (SELECT a.id, a.at AS at_ts, "
	    "  iso_utc(a.at) AS at, a.actor, u.name AS actor_name, a.action, "
	    "  a.subject, a.details FROM audit_log a LEFT JOIN users u ON "
	    "  u.id = a.actor ORDER BY a.at DESC, a.id DESC OFFSET $1 "
	    "  LIMIT $2) x), '[]'))::text";
	char ob[DB_NUM_LEN], lb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(ob, offset), db_param_ll(lb, limit) };

	*out = db_query_json(db, sql, 2, p, NULL, err, errlen);
	return *out != NULL;
}
