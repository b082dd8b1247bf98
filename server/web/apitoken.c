/*
 * apitoken: see apitoken.h. A lookup is one SELECT; last_used_at is
 * written only when the stored time is a minute old, so a busy script
 * costs one row write a minute.
 */
#include "apitoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "log.h"
#include "util.h"

#define TOKEN_COLUMNS "t.id, t.name, t.scope, iso_utc(t.created_at) AS " \
	"created_at, iso_utc(t.expires_at) AS expires_at, " \
	"iso_utc(t.last_used_at) AS last_used_at"

bool
apitoken_syntax(const char *s)
{
	return s != NULL && strlen(s) == APITOKEN_LEN &&
	    strncmp(s, APITOKEN_PREFIX, 3) == 0 &&
	    strspn(s + 3, "0123456789abcdef") == APITOKEN_HEX;
}

void
apitoken_secret_new(char out[APITOKEN_LEN + 1])
{
	unsigned char raw[APITOKEN_HEX / 2];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, APITOKEN_PREFIX, 3);
	sodium_bin2hex(out + 3, APITOKEN_HEX + 1, raw, sizeof(raw));
}

void
apitoken_hash(const char *secret, char out[65])
{
	/* A fixed key separates these hashes from the sessions' ones. */
	static const unsigned char key[] = "introeval api token v1";
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
	    strlen(secret), key, sizeof(key) - 1);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

bool
apitoken_check(const char *name, const char *scope, long long days,
    const char **field, char *err, size_t errlen)
{
	size_t chars = 0;
	const unsigned char *p;

	*field = "name";
	if (name == NULL || name[0] == '\0')
		return util_seterr(err, errlen, "give the token a name, "
		    "e.g. the script that will use it");
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return util_seterr(err, errlen, "a token's name is one "
			    "line of plain text");
		chars += (*p & 0xc0) != 0x80;
	}
	if (chars > APITOKEN_NAME_MAX)
		return util_seterr(err, errlen, "a token's name has at most "
		    "%d characters", APITOKEN_NAME_MAX);
	*field = "scope";
	if (scope == NULL || (strcmp(scope, "read") != 0 &&
	    strcmp(scope, "act") != 0))
		return util_seterr(err, errlen, "scope is \"read\" (GET and "
		    "HEAD only) or \"act\" (anything your account may do)");
	*field = "expires_in_days";
	if (days < 0 || days > APITOKEN_DAYS_MAX)
		return util_seterr(err, errlen, "expires_in_days is a whole "
		    "number of days from 1 to %d (leave it out for a token "
		    "that does not expire)", APITOKEN_DAYS_MAX);
	*field = NULL;
	return true;
}

bool
apitoken_create(struct db *db, long long user, const char *name,
    const char *scope, long long days, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] = "WITH t AS (INSERT INTO api_tokens "
	    "(user_id, name, scope, secret_hash, expires_at) VALUES ($1, $2, "
	    "$3, $4, CASE WHEN $5::int > 0 THEN now() + make_interval(days "
	    "=> $5::int) END) RETURNING *) SELECT row_to_json(x)::text FROM "
	    "(SELECT " TOKEN_COLUMNS " FROM t) x";
	char secret[APITOKEN_LEN + 1], hash[65], ub[DB_NUM_LEN], db5[DB_NUM_LEN];
	const char *p[5];

	apitoken_secret_new(secret);
	apitoken_hash(secret, hash);
	p[0] = db_param_ll(ub, user);
	p[1] = name;
	p[2] = scope;
	p[3] = hash;
	p[4] = db_param_ll(db5, days);
	if ((*out = db_query_json(db, sql, 5, p, NULL, err, errlen)) == NULL)
		return false;
	json_object_set_new(*out, "token", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	return true;
}

bool
apitoken_list(struct db *db, long long user, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] = "SELECT coalesce(json_agg(x ORDER BY x.id "
	    "DESC), '[]')::text FROM (SELECT " TOKEN_COLUMNS " FROM api_tokens "
	    "t WHERE t.user_id = $1 AND t.revoked_at IS NULL AND "
	    "(t.expires_at IS NULL OR t.expires_at > now())) x";
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user) };

	*out = db_query_json(db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}

bool
apitoken_revoke(struct db *db, long long user, long long id, char **name,
    char *err, size_t errlen)
{
	static const char sql[] = "UPDATE api_tokens SET revoked_at = now() "
	    "WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL "
	    "RETURNING name";
	char ib[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(ib, id), db_param_ll(ub, user) };
	PGconn *c = db_acquire(db);
	PGresult *r;

	*name = NULL;
	r = db_query_idempotent(c, sql, 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) == 1)
		*name = xstrdup(db_get(r, 0, "name"));
	PQclear(r);
	return true;
}

bool
apitoken_lookup(struct db *db, const char *secret, struct user *u,
    struct apitoken *t, bool *dbfail)
{
	static const char sql[] = "SELECT t.id, t.name, t.scope, u.id AS "
	    "user_id, u.email, u.name AS user_name, u.role, (t.last_used_at IS "
	    "NULL OR t.last_used_at < now() - interval '1 minute') AS stale "
	    "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE "
	    "t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS "
	    "NULL OR t.expires_at > now()) AND NOT u.disabled";
	char hash[65], err[256], ib[DB_NUM_LEN];
	const char *p[1] = { hash };
	PGconn *c;
	PGresult *r;
	bool ok = false, stale = false;

	*dbfail = false;
	if (!apitoken_syntax(secret))
		return false;
	apitoken_hash(secret, hash);
	c = db_acquire(db);
	r = db_query(c, sql, 1, p, err, sizeof(err));
	if (r != NULL && PQntuples(r) == 1) {
		memset(u, 0, sizeof(*u));
		u->id = db_get_ll(r, 0, "user_id");
		util_strlcpy(u->email, db_get(r, 0, "email"), sizeof(u->email));
		util_strlcpy(u->name, db_get(r, 0, "user_name"),
		    sizeof(u->name));
		util_strlcpy(u->role, db_get(r, 0, "role"), sizeof(u->role));
		t->id = db_get_ll(r, 0, "id");
		util_strlcpy(t->name, db_get(r, 0, "name"), sizeof(t->name));
		t->read_only = strcmp(db_get(r, 0, "scope"), "read") == 0;
		stale = strcmp(db_get(r, 0, "stale"), "t") == 0;
		ok = true;
	}
	/* Marked used at most once a minute: one row write, not one a request. */
	p[0] = db_param_ll(ib, t->id);
	if (stale && !db_exec(c, "UPDATE api_tokens SET last_used_at = now() "
	    "WHERE id = $1", 1, p, err, sizeof(err)))
		log_warnx("api token=%lld: last use not noted: %s", t->id, err);
	db_release(db, c);
	if (r == NULL) {
		if (!db_last_busy())
			log_warnx("api token lookup failed: %s", err);
		*dbfail = true;
		return false;
	}
	PQclear(r);
	return ok;
}

bool
apitoken_authenticate(struct db *db, const char *token, struct user *u,
    struct apitoken *t, bool *dbfail)
{
	memset(t, 0, sizeof(*t));
	if (strncmp(token, APITOKEN_PREFIX, 3) == 0)
		return apitoken_lookup(db, token, u, t, dbfail);
	return auth_session(db, token, u, dbfail);
}
