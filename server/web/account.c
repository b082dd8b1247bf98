/*
 * account: edits, disabling, one-time codes, own password and sign-out
 * everywhere (see account.h). Every statement is parameterised; codes
 * and passwords never reach a log line, only user ids do.
 */
#include "account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "util.h"

#define NAME_MAX_CHARS	200

enum account_fail
account_load(struct db *db, const struct user *actor, long long id,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('id', u.id, 'email', u.email, "
	    "  'name', u.name, 'role', u.role, 'disabled', u.disabled, "
	    "  'created_at', iso_utc(u.created_at), "
	    "  'courses', coalesce((SELECT json_agg(json_build_object("
	    "    'id', c.id, 'code', c.code, 'title', c.title, "
	    "    'member_role', m.role) ORDER BY c.code) "
	    "    FROM course_members m JOIN courses c ON c.id = m.course_id "
	    "    WHERE m.user_id = u.id), '[]'), "
	    "  'mine', $3 = 'admin' OR EXISTS (SELECT 1 "
	    "    FROM course_members t JOIN course_members s "
	    "    ON s.course_id = t.course_id WHERE t.user_id = $2::bigint "
	    "    AND t.role = 'teacher' AND s.user_id = u.id)) "
	    "FROM users u WHERE u.id = $1::bigint";
	char ib[DB_NUM_LEN], ab[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(ib, id), db_param_ll(ab, actor->id),
	    actor->role };
	bool found;
	json_t *u;

	*out = NULL;
	if ((u = db_query_json(db, sql, 3, p, &found, err, errlen)) == NULL) {
		if (found)
			return ACCOUNT_DB;
		util_seterr(err, errlen, "no such account");
		return ACCOUNT_NOT_FOUND;
	}
	if (!json_is_true(json_object_get(u, "mine"))) {
		json_decref(u);
		util_seterr(err, errlen, "no such account");
		return ACCOUNT_NOT_FOUND;
	}
	if (strcmp(actor->role, "admin") != 0 && strcmp(json_string_value(
	    json_object_get(u, "role")), "student") != 0) {
		json_decref(u);
		util_seterr(err, errlen, "a teacher manages the accounts of "
		    "students only; ask the lab's admin");
		return ACCOUNT_FORBIDDEN;
	}
	json_object_del(u, "mine");
	*out = u;
	return ACCOUNT_OK;
}

enum account_fail
account_update(struct db *db, long long id, const char *name,
    const char *email, char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH taken AS (SELECT 1 FROM users WHERE $3::text IS NOT NULL "
	    "  AND lower(email) = lower($3) AND id <> $1::bigint), "
	    "w AS (UPDATE users SET name = coalesce($2, name), "
	    "  email = coalesce($3, email) WHERE id = $1::bigint "
	    "  AND NOT EXISTS (SELECT 1 FROM taken) RETURNING id) "
	    "SELECT (SELECT count(*) FROM taken) AS taken, "
	    "  (SELECT count(*) FROM w) AS written";
	char ib[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(ib, id), name, email };
	PGconn *c;
	PGresult *r;
	enum account_fail rc = ACCOUNT_OK;
	size_t i;

	if (name != NULL && (name[0] == '\0' || strlen(name) >
	    NAME_MAX_CHARS)) {
		util_seterr(err, errlen, "a name is needed (at most %d "
		    "characters)", NAME_MAX_CHARS);
		return ACCOUNT_INVALID;
	}
	for (i = 0; name != NULL && name[i] != '\0'; i++)
		if ((unsigned char)name[i] < 0x20) {
			util_seterr(err, errlen, "the name has control "
			    "characters");
			return ACCOUNT_INVALID;
		}
	if (email != NULL && !auth_email_valid(email)) {
		util_seterr(err, errlen, "\"%s\" is not an email address",
		    email);
		return ACCOUNT_INVALID;
	}
	c = db_acquire(db);
	r = db_query(c, sql, 3, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return ACCOUNT_DB;
	if (db_get_ll(r, 0, "taken") > 0) {
		util_seterr(err, errlen, "the email %s belongs to another "
		    "account", email);
		rc = ACCOUNT_INVALID;
	} else if (db_get_ll(r, 0, "written") == 0) {
		util_seterr(err, errlen, "no such account");
		rc = ACCOUNT_NOT_FOUND;
	}
	PQclear(r);
	if (rc == ACCOUNT_OK)
		log_info("account=%lld updated", id);
	return rc;
}

enum account_fail
account_set_disabled(struct db *db, long long id, bool disabled, char *err,
    size_t errlen)
{
	char ib[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(ib, id), disabled ? "true" :
	    "false" };
	PGconn *c;
	PGresult *r;
	bool found;

	/*
	 * One statement, so the account is never disabled with a session
	 * left; the sessions' trigger wakes the live hub.
	 */
	c = db_acquire(db);
	r = db_query_idempotent(c, "WITH u AS (UPDATE users SET disabled = "
	    "$2::boolean WHERE id = $1::bigint RETURNING id), "
	    "s AS (DELETE FROM sessions WHERE $2::boolean "
	    "  AND user_id IN (SELECT id FROM u)) "
	    "SELECT id FROM u", 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return ACCOUNT_DB;
	found = PQntuples(r) == 1;
	PQclear(r);
	if (!found) {
		util_seterr(err, errlen, "no such account");
		return ACCOUNT_NOT_FOUND;
	}
	log_info("account=%lld %s", id, disabled ? "disabled" : "enabled");
	return ACCOUNT_OK;
}

bool
account_code_create(PGconn *c, long long user, const char *purpose,
    long long created_by, int ttl_h, char **code, char *err, size_t errlen)
{
	char hash[65], ub[DB_NUM_LEN], cb[DB_NUM_LEN], ttl[32];
	const char *p[5];
	char *text = auth_code_new();
	PGresult *r;

	*code = NULL;
	if (!auth_code_hash(text, hash)) {
		free(text);
		return util_seterr(err, errlen, "a new code did not read back");
	}
	snprintf(ttl, sizeof(ttl), "%d hours", ttl_h);
	p[0] = hash;
	p[1] = db_param_ll(ub, user);
	p[2] = purpose;
	p[3] = created_by > 0 ? db_param_ll(cb, created_by) : NULL;
	p[4] = ttl;
	r = db_query(c, "INSERT INTO account_codes (code_hash, user_id, "
	    "purpose, created_by, expires_at) VALUES ($1, $2::bigint, $3, "
	    "$4::bigint, now() + $5::interval)", 5, p, err, errlen);
	if (r == NULL) {
		free(text);
		return false;
	}
	PQclear(r);
	log_info("account=%lld code made purpose=%s by=%lld", user, purpose,
	    created_by);
	*code = text;
	return true;
}

bool
account_reset_code(struct db *db, long long user, long long by, int ttl_h,
    char **code, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	bool ok = account_code_create(c, user, "reset", by, ttl_h, code, err,
	    errlen);

	db_release(db, c);
	return ok;
}

enum account_fail
account_code_redeem(struct db *db, const char *code, const char *password,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH k AS (UPDATE account_codes a SET used_at = now() "
	    "  FROM users u WHERE a.code_hash = $1 AND u.id = a.user_id "
	    "  AND a.used_at IS NULL AND a.expires_at > now() "
	    "  AND NOT u.disabled RETURNING a.user_id), "
	    "u AS (UPDATE users SET password_hash = $2 "
	    "  WHERE id IN (SELECT user_id FROM k) RETURNING id), "
	    "s AS (DELETE FROM sessions WHERE user_id IN "
	    "  (SELECT id FROM u)) "
	    "SELECT id FROM u";
	char chash[65], phash[AUTH_HASH_LEN];
	const char *p[2] = { chash, phash };
	PGconn *c;
	PGresult *r;
	long long id = 0;

	if (!auth_code_hash(code, chash)) {
		util_seterr(err, errlen, "that is not a code we give out: "
		    "check it letter by letter (it has %d letters and "
		    "digits, dashes optional)", AUTH_CODE_CHARS);
		return ACCOUNT_INVALID;
	}
	if (!auth_password_hash(password, phash, err, errlen))
		return ACCOUNT_INVALID;
	c = db_acquire(db);
	r = db_query(c, sql, 2, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return ACCOUNT_DB;
	if (PQntuples(r) == 1)
		id = db_get_ll(r, 0, "id");
	PQclear(r);
	if (id == 0) {
		util_seterr(err, errlen, "this code does not work: it was "
		    "used already, it has expired, or it was never given. "
		    "Ask your teacher or the lab's admin for a new one");
		return ACCOUNT_INVALID;
	}
	log_info("account=%lld password set with a code", id);
	return ACCOUNT_OK;
}

/*
 * The hash is read and checked with no connection held (argon2 takes
 * tens of milliseconds), then replaced only if it is still the one that
 * was checked, so two changes at once cannot both win.
 */
enum account_fail
account_password_change(struct db *db, long long user, const char *current,
    const char *password, char *err, size_t errlen)
{
	char ub[DB_NUM_LEN], old[AUTH_HASH_LEN], nhash[AUTH_HASH_LEN];
	const char *p[3] = { db_param_ll(ub, user), nhash, old };
	PGconn *c;
	PGresult *r;
	bool ok;

	c = db_acquire(db);
	r = db_query(c, "SELECT password_hash FROM users WHERE id = "
	    "$1::bigint", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return ACCOUNT_DB;
	ok = PQntuples(r) == 1 && strlen(db_get(r, 0, "password_hash")) <
	    sizeof(old);
	if (ok)
		util_strlcpy(old, db_get(r, 0, "password_hash"), sizeof(old));
	PQclear(r);
	if (!ok || !auth_password_check(old, current)) {
		util_seterr(err, errlen, "%s", ok && auth_hash_busy() ?
		    AUTH_BUSY_MSG : "the current password is not right");
		return ACCOUNT_INVALID;
	}
	if (!auth_password_hash(password, nhash, err, errlen))
		return ACCOUNT_INVALID;
	c = db_acquire(db);
	r = db_query_idempotent(c, "UPDATE users SET password_hash = $2 "
	    "WHERE id = $1::bigint AND password_hash = $3 RETURNING id", 3, p,
	    err, errlen);
	db_release(db, c);
	if (r == NULL)
		return ACCOUNT_DB;
	ok = PQntuples(r) == 1;
	PQclear(r);
	if (!ok) {
		util_seterr(err, errlen, "the password was changed meanwhile; "
		    "sign in again");
		return ACCOUNT_INVALID;
	}
	log_info("account=%lld password changed", user);
	return ACCOUNT_OK;
}

bool
account_signout_all(struct db *db, long long user, int *ended, char *err,
    size_t errlen)
{
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user) };
	PGconn *c;
	PGresult *r;

	*ended = 0;
	c = db_acquire(db);
	r = db_query_idempotent(c, "DELETE FROM sessions WHERE user_id = "
	    "$1::bigint", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	*ended = atoi(PQcmdTuples(r));
	PQclear(r);
	log_info("account=%lld signed out everywhere sessions=%d", user,
	    *ended);
	return true;
}
