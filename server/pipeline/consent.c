/*
 * consent: see consent.h. "Current" is the highest version; a student
 * is up to date when an acceptance of that version exists.
 */
#include "consent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "util.h"

static size_t	utf8_chars(const char *, size_t);

bool
consent_status(struct db *db, long long user_id, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce((SELECT json_build_object('version', t.version, "
	    "  'text', t.body, 'created_at', iso_utc(t.created_at), "
	    "  'author_name', t.author_name, "
	    "  'accepted', a.accepted_at IS NOT NULL, "
	    "  'accepted_at', iso_utc(a.accepted_at), "
	    "  'required', a.accepted_at IS NULL) "
	    "  FROM consent_texts t LEFT JOIN consent_acceptances a "
	    "  ON a.version = t.version AND a.user_id = $1 "
	    "  ORDER BY t.version DESC LIMIT 1), "
	    "  json_build_object('version', NULL, 'required', false))::text";
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user_id) };

	*out = db_query_json(db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}

bool
consent_needed(struct db *db, long long user_id, bool *needed, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT 1 FROM (SELECT max(version) AS v FROM consent_texts) c "
	    "WHERE c.v IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
	    "consent_acceptances a WHERE a.user_id = $1 AND a.version = c.v)";
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user_id) };

	*needed = false;
	return db_exists(db, sql, 1, p, needed, err, errlen);
}

/* Characters of valid-enough UTF-8 (continuation bytes not counted). */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

enum consent_outcome
consent_set(struct db *db, long long author_id, const char *text,
    long long *version, char *err, size_t errlen)
{
	static const char sql[] = "INSERT INTO consent_texts (body, "
	    "created_by, author_name) SELECT $2, u.id, u.name FROM users u "
	    "WHERE u.id = $1 RETURNING version";
	enum consent_outcome rc = CONSENT_DB_ERROR;
	const char *b = text, *e;
	char ab[DB_NUM_LEN], subject[64], *body;
	const char *p[2];
	json_t *details;
	PGconn *c;
	PGresult *r = NULL;

	while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
		b++;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	if (e == b) {
		util_seterr(err, errlen, "the consent text is empty: write "
		    "what students agree to");
		return CONSENT_INVALID;
	}
	if (utf8_chars(b, (size_t)(e - b)) > CONSENT_TEXT_MAX) {
		util_seterr(err, errlen, "the consent text is longer than %d "
		    "characters", CONSENT_TEXT_MAX);
		return CONSENT_INVALID;
	}
	body = xmalloc((size_t)(e - b) + 1);
	memcpy(body, b, (size_t)(e - b));
	body[e - b] = '\0';
	p[0] = db_param_ll(ab, author_id);
	p[1] = body;
	c = db_acquire(db);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen) ||
	    (r = db_query(c, sql, 2, p, err, errlen)) == NULL)
		goto out;
	if (PQntuples(r) != 1) {
		util_seterr(err, errlen, "your account no longer exists");
		rc = CONSENT_INVALID;
		goto out;
	}
	*version = db_get_ll(r, 0, "version");
	snprintf(subject, sizeof(subject), "consent version %lld", *version);
	details = json_pack("{s:I, s:I}", "version", (json_int_t)*version,
	    "characters", (json_int_t)utf8_chars(body, strlen(body)));
	if (audit_write(db, c, author_id, "consent.set", subject, details,
	    err, errlen) && db_exec(c, "COMMIT", 0, NULL, err, errlen))
		rc = CONSENT_OK;
	json_decref(details);
out:
	if (rc != CONSENT_OK)
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
	PQclear(r);
	db_release(db, c);
	free(body);
	return rc;
}

enum consent_outcome
consent_accept(struct db *db, long long user_id, long long version,
    char *err, size_t errlen)
{
	/* Only the current version; accepting it twice changes nothing. */
	static const char sql[] =
	    "WITH cur AS (SELECT max(version) AS v FROM consent_texts), "
	    "ins AS (INSERT INTO consent_acceptances (user_id, version) "
	    "  SELECT $1, v FROM cur WHERE v = $2 "
	    "  ON CONFLICT DO NOTHING RETURNING version) "
	    "SELECT coalesce((SELECT v FROM cur) = $2, false) AS current, "
	    "  (SELECT count(*) FROM ins) AS added";
	enum consent_outcome rc = CONSENT_DB_ERROR;
	char ub[DB_NUM_LEN], vb[DB_NUM_LEN], subject[64];
	const char *p[2] = { db_param_ll(ub, user_id), db_param_ll(vb,
	    version) };
	json_t *details;
	PGconn *c;
	PGresult *r = NULL;

	c = db_acquire(db);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen) ||
	    (r = db_query(c, sql, 2, p, err, errlen)) == NULL)
		goto out;
	if (strcmp(db_get(r, 0, "current"), "t") != 0) {
		util_seterr(err, errlen, "the consent text has changed since "
		    "you opened the page (or none is set): read the current "
		    "version and accept that");
		rc = CONSENT_STALE;
		goto out;
	}
	snprintf(subject, sizeof(subject), "user %lld", user_id);
	details = json_pack("{s:I}", "version", (json_int_t)version);
	if ((db_get_ll(r, 0, "added") == 0 || audit_write(db, c, user_id,
	    "consent.accepted", subject, details, err, errlen)) &&
	    db_exec(c, "COMMIT", 0, NULL, err, errlen))
		rc = CONSENT_OK;
	json_decref(details);
out:
	if (rc != CONSENT_OK)
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
	PQclear(r);
	db_release(db, c);
	return rc;
}

bool
consent_history(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('version', t.version, "
	    "  'text', t.body, 'created_at', iso_utc(t.created_at), "
	    "  'author_name', t.author_name, 'accepted_by', (SELECT count(*) "
	    "  FROM consent_acceptances a WHERE a.version = t.version)) "
	    "  ORDER BY t.version DESC), '[]')::text FROM consent_texts t";

	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}
