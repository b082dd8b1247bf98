/*
 * idem: see idem.h. A key is claimed by one INSERT: it either makes the
 * row (this request runs) or finds one, which is then read to decide
 * between a replay, 409 and 422. A row that expired, or that has been
 * "running" for an hour (its server died mid-request), is taken over
 * by the same INSERT.
 */
#include "idem.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>
#include <sodium.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define PURGE_EVERY_S	600
#define DRAIN_CHUNK	(64 * 1024)

enum claim { CLAIM_RUN, CLAIM_REPLAY, CLAIM_REUSED, CLAIM_BUSY, CLAIM_DB };

static enum claim claim(struct req *, const char *, const char *,
		    PGresult **);
static int	 replay(struct req *, PGresult *);
static bool	 keep(struct req *, struct http_capture *);
static bool	 forget(struct req *, const char *);
static void	 purge(struct db *);
static void	 drain(struct req *);
static void	 request_fingerprint(struct req *, char [65]);

static atomic_llong last_purge;

bool
idem_key_valid(const char *key)
{
	size_t n = 0;

	for (; key[n] != '\0'; n++)
		if (key[n] <= 0x20 || key[n] >= 0x7f)
			return false;
	return n > 0 && n <= IDEM_KEY_MAX;
}

void
idem_fingerprint(const char *const parts[], size_t nparts, const char *body,
    size_t len, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	char lb[32];
	size_t i, n;

	crypto_hash_sha256_init(&st);
	for (i = 0; i < nparts; i++) {
		n = parts[i] != NULL ? strlen(parts[i]) : 0;
		snprintf(lb, sizeof(lb), parts[i] != NULL ? "%zu:" : "-:", n);
		crypto_hash_sha256_update(&st, (const unsigned char *)lb,
		    strlen(lb));
		crypto_hash_sha256_update(&st, (const unsigned char *)
		    (parts[i] != NULL ? parts[i] : ""), n);
	}
	snprintf(lb, sizeof(lb), body != NULL ? "%zu:" : "-:", len);
	crypto_hash_sha256_update(&st, (const unsigned char *)lb, strlen(lb));
	if (body != NULL)
		crypto_hash_sha256_update(&st, (const unsigned char *)body, len);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static void
request_fingerprint(struct req *r, char out[65])
{
	char lb[32];
	const char *parts[8];

	snprintf(lb, sizeof(lb), "%lld", r->ri->content_length);
	parts[0] = r->ri->request_method;
	parts[1] = r->ri->local_uri;
	parts[2] = r->ri->query_string;
	parts[3] = http_header(r, "Content-Type");
	parts[4] = http_header(r, "X-Filename");
	parts[5] = http_header(r, "Upload-Length");
	parts[6] = http_header(r, "Upload-Metadata");
	parts[7] = lb;
	idem_fingerprint(parts, ARRAY_LEN(parts), r->prebody, r->prebody !=
	    NULL ? strlen(r->prebody) : 0, out);
}

int
idem_run(struct req *r, int (*handler)(struct req *), bool streams)
{
	const char *key = http_header(r, "Idempotency-Key");
	struct http_capture cap;
	char fp[65];
	PGresult *row = NULL;
	int status;

	if (key == NULL)
		return handler(r);
	if (!idem_key_valid(key)) {
		if (streams)
			drain(r);
		return http_error_code(r, 400, "invalid_idempotency_key", NULL,
		    "Idempotency-Key is 1 to %d printable characters without "
		    "spaces (a UUID, say)", IDEM_KEY_MAX);
	}
	if (!streams && !http_read_body(r, &r->prebody))
		return 413;
	request_fingerprint(r, fp);
	switch (claim(r, key, fp, &row)) {
	case CLAIM_RUN:
		break;
	case CLAIM_REPLAY:
		if (streams)
			drain(r);
		status = replay(r, row);
		PQclear(row);
		goto out;
	case CLAIM_REUSED:
		if (streams)
			drain(r);
		status = http_error_code(r, 422, "idempotency_key_reused", NULL,
		    "this Idempotency-Key was used for a different request; "
		    "use a new key for each new request");
		goto out;
	case CLAIM_BUSY:
		if (streams)
			drain(r);
		status = http_error_code(r, 409, "idempotency_in_progress",
		    "Retry-After: 1\r\nCache-Control: no-store\r\n", "the "
		    "first request with this Idempotency-Key is still running; "
		    "try again when it is done");
		goto out;
	case CLAIM_DB:
		if (streams)
			drain(r);
		status = http_db_error(r);
		goto out;
	}
	memset(&cap, 0, sizeof(cap));
	cap.keep = keep;
	cap.arg = (void *)key;
	r->capture = &cap;
	status = handler(r);
	r->capture = NULL;
	/*
	 * Nothing answered: nothing to keep. Not kept: the pool had no
	 * connection while the handler held its own; try once more now,
	 * else the key would read "running" for an hour.
	 */
	if (!cap.taken)
		forget(r, key);
	else if (!cap.kept && !keep(r, &cap))
		log_warnx("idempotency key user=%lld: left running", r->user.id);
	http_capture_free(&cap);
out:
	free(r->prebody);
	r->prebody = NULL;
	purge(r->app->db);
	return status;
}

/*
 * Claims key for this request, or reads the row that holds it (*row,
 * caller clears) and says what to answer.
 */
static enum claim
claim(struct req *r, const char *key, const char *fp, PGresult **row)
{
	static const char claim_sql[] = "INSERT INTO idempotency_keys "
	    "(user_id, key, method, path, fingerprint) VALUES ($1, $2, $3, $4, "
	    "$5) ON CONFLICT (user_id, key) DO UPDATE SET method = "
	    "EXCLUDED.method, path = EXCLUDED.path, fingerprint = "
	    "EXCLUDED.fingerprint, state = 'running', started_at = now(), "
	    "status = NULL, content_type = NULL, headers = NULL, body = NULL, "
	    "expires_at = now() + interval '24 hours' WHERE "
	    "idempotency_keys.expires_at <= now() OR (idempotency_keys.state "
	    "= 'running' AND idempotency_keys.started_at < now() - interval "
	    "'1 hour') RETURNING 1";
	static const char read_sql[] = "SELECT method, path, fingerprint, "
	    "state, status, content_type, headers, encode(body, 'hex') AS "
	    "body FROM idempotency_keys WHERE user_id = $1 AND key = $2";
	char ub[DB_NUM_LEN], err[512];
	const char *p[5] = { db_param_ll(ub, r->user.id), key,
	    r->ri->request_method, r->ri->local_uri, fp };
	PGconn *c = db_acquire(r->app->db);
	PGresult *res;
	enum claim out = CLAIM_DB;
	int tries;

	*row = NULL;
	for (tries = 0; tries < 2 && out == CLAIM_DB; tries++) {
		if ((res = db_query(c, claim_sql, 5, p, err, sizeof(err))) ==
		    NULL)
			break;
		if (PQntuples(res) == 1) {
			PQclear(res);
			out = CLAIM_RUN;
			break;
		}
		PQclear(res);
		if ((res = db_query(c, read_sql, 2, p, err, sizeof(err))) ==
		    NULL)
			break;
		if (PQntuples(res) == 0) {	/* purged meanwhile: again */
			PQclear(res);
			continue;
		}
		if (strcmp(db_get(res, 0, "method"), p[2]) != 0 ||
		    strcmp(db_get(res, 0, "path"), p[3]) != 0 ||
		    strcmp(db_get(res, 0, "fingerprint"), fp) != 0)
			out = CLAIM_REUSED;
		else if (strcmp(db_get(res, 0, "state"), "running") == 0)
			out = CLAIM_BUSY;
		else {
			*row = res;
			res = NULL;
			out = CLAIM_REPLAY;
		}
		PQclear(res);
	}
	db_release(r->app->db, c);
	if (out == CLAIM_DB && !db_last_busy())
		log_warnx("idempotency key not claimed: %s", err);
	return out;
}

/* The stored answer again, marked as a replay. */
static int
replay(struct req *r, PGresult *row)
{
	const char *hex = db_get(row, 0, "body"), *hdr;
	size_t hexlen = hex != NULL ? strlen(hex) : 0, len = 0;
	struct buf headers;
	char *body = xmalloc(hexlen / 2 + 1);
	int status;

	if (hexlen > 0 && sodium_hex2bin((unsigned char *)body, hexlen / 2,
	    hex, hexlen, NULL, &len, NULL) != 0)
		len = 0;
	buf_init(&headers);
	hdr = db_get(row, 0, "headers");
	buf_printf(&headers, "%sIdempotent-Replayed: true\r\n", hdr != NULL ?
	    hdr : "Cache-Control: no-store\r\n");
	status = http_send(r, (int)db_get_ll(row, 0, "status"),
	    db_get(row, 0, "content_type"), body, len, headers.data);
	buf_free(&headers);
	free(body);
	return status;
}

/*
 * Keeps the answer for replays (called by http_send before it sends),
 * or frees the key for a retry when the answer is not one to replay.
 */
static bool
keep(struct req *r, struct http_capture *cap)
{
	static const char sql[] = "UPDATE idempotency_keys SET state = "
	    "'done', status = $3, content_type = $4, headers = $5, body = "
	    "decode($6, 'hex') WHERE user_id = $1 AND key = $2";
	char ub[DB_NUM_LEN], sb[DB_NUM_LEN], err[512], *hex;
	const char *p[6];
	bool ok;

	if (cap->streamed || cap->status >= 500 || cap->status == 429)
		return forget(r, cap->arg);
	hex = xmalloc(cap->len * 2 + 1);
	sodium_bin2hex(hex, cap->len * 2 + 1, (const unsigned char *)cap->body,
	    cap->len);
	p[0] = db_param_ll(ub, r->user.id);
	p[1] = cap->arg;
	p[2] = db_param_ll(sb, cap->status);
	p[3] = cap->ctype;
	p[4] = cap->headers;
	p[5] = hex;
	if (!(ok = db_exec1(r->app->db, sql, 6, p, err, sizeof(err))))
		log_warnx("idempotency key user=%lld not stored: %s",
		    r->user.id, err);
	free(hex);
	return ok;
}

static bool
forget(struct req *r, const char *key)
{
	char ub[DB_NUM_LEN], err[512];
	const char *p[2] = { db_param_ll(ub, r->user.id), key };

	if (db_exec1(r->app->db, "DELETE FROM idempotency_keys WHERE user_id "
	    "= $1 AND key = $2", 2, p, err, sizeof(err)))
		return true;
	log_warnx("idempotency key user=%lld not freed: %s", r->user.id, err);
	return false;
}

/* Expired keys go, at most every PURGE_EVERY_S, on some request's time. */
static void
purge(struct db *db)
{
	long long now = (long long)util_monotonic(), last;
	char err[256];

	last = atomic_load(&last_purge);
	if (last != 0 && now - last < PURGE_EVERY_S)
		return;
	if (!atomic_compare_exchange_strong(&last_purge, &last, now))
		return;
	if (!db_exec1(db, "DELETE FROM idempotency_keys WHERE expires_at < "
	    "now()", 0, NULL, err, sizeof(err)))
		log_warnx("idempotency keys not purged: %s", err);
}

/*
 * Reads and drops a body the handler would have streamed, so the
 * answer is read by a client still sending it.
 */
static void
drain(struct req *r)
{
	char *chunk = xmalloc(DRAIN_CHUNK);

	while (mg_read(r->conn, chunk, DRAIN_CHUNK) > 0)
		;
	free(chunk);
}
