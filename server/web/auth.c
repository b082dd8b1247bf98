/*
 * auth: argon2id password hashes (libsodium's crypto_pwhash_str with the
 * interactive limits), random session tokens whose BLAKE2b hash is what
 * the database stores, so a leaked sessions table opens no accounts.
 */
#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "gate.h"
#include "log.h"
#include "util.h"

_Static_assert(AUTH_HASH_LEN == crypto_pwhash_STRBYTES, "AUTH_HASH_LEN");

/*
 * Generated passwords and one-time codes: no 0/O, 1/l/I, so they are
 * read aloud or copied from a screen without doubt.
 */
static const char easy_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

static void	random_hex(char *, size_t);
static void	token_hash(const char *, char [65]);
static bool	hash_enter(void);
static void	hash_leave(void);

/*
 * The hashing gate (auth_configure). argon2id at the interactive limits
 * takes 64 MiB and a core for a fraction of a second: unbounded, a burst
 * of sign-ins takes every request thread and gigabytes of memory.
 */
static struct {
	bool			 on;
	struct gate		 gate;
	double			 wait_s;
	int			 queue_max, workers;
	unsigned long long	 ops;
	size_t			 mem;
	long long		 done, queued, refused;	/* atomics */
	int			 running, running_max;	/* atomics */
} hashing = { .ops = crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    .mem = crypto_pwhash_MEMLIMIT_INTERACTIVE };
static _Thread_local bool hash_refused;

/* A real argon2id hash of a random string: checked against when the
 * email is unknown, so that the reply takes as long as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];

bool
auth_init(void)
{
	char pw[33];

	if (sodium_init() < 0)
		return false;
	random_hex(pw, 16);
	if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), hashing.ops,
	    hashing.mem) != 0)
		return false;
	return true;
}

void
auth_configure(int workers, double wait_s, int queue_max, bool cheap)
{
	char pw[33];

	if (cheap) {
		hashing.ops = crypto_pwhash_OPSLIMIT_MIN;
		hashing.mem = crypto_pwhash_MEMLIMIT_MIN;
		/* An unknown email must still cost what a known one does. */
		random_hex(pw, 16);
		if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), hashing.ops,
		    hashing.mem) != 0)
			fatalx("auth: cannot hash");
	}
	if (workers <= 0)
		return;
	gate_init(&hashing.gate, workers);
	hashing.workers = workers;
	hashing.wait_s = wait_s;
	hashing.queue_max = queue_max;
	hashing.on = true;
}

bool
auth_hash_busy(void)
{
	return hash_refused;
}

void
auth_hash_stats(struct auth_hash_stats *st)
{
	int free = 0;

	st->done = __atomic_load_n(&hashing.done, __ATOMIC_RELAXED);
	st->queued = __atomic_load_n(&hashing.queued, __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&hashing.refused, __ATOMIC_RELAXED);
	st->running = __atomic_load_n(&hashing.running, __ATOMIC_RELAXED);
	st->running_max = __atomic_load_n(&hashing.running_max,
	    __ATOMIC_RELAXED);
	st->workers = hashing.workers;
	st->waiting = 0;
	if (hashing.on)
		gate_counts(&hashing.gate, &free, &st->waiting);
}

/* A place to run one hash; false (and hash_refused) when none came. */
static bool
hash_enter(void)
{
	bool queued = false;
	int n, max;

	hash_refused = false;
	if (hashing.on && !gate_enter_wait(&hashing.gate, hashing.wait_s,
	    hashing.queue_max, &queued)) {
		__atomic_add_fetch(&hashing.refused, 1, __ATOMIC_RELAXED);
		hash_refused = true;
		return false;
	}
	if (queued)
		__atomic_add_fetch(&hashing.queued, 1, __ATOMIC_RELAXED);
	n = __atomic_add_fetch(&hashing.running, 1, __ATOMIC_RELAXED);
	max = __atomic_load_n(&hashing.running_max, __ATOMIC_RELAXED);
	while (n > max && !__atomic_compare_exchange_n(&hashing.running_max,
	    &max, n, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return true;
}

static void
hash_leave(void)
{
	__atomic_sub_fetch(&hashing.running, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&hashing.done, 1, __ATOMIC_RELAXED);
	if (hashing.on)
		gate_leave(&hashing.gate);
}

/* Fills out with 2*nbytes hex characters and a NUL. */
static void
random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	ASSERT(nbytes <= sizeof(raw));
	randombytes_buf(raw, nbytes);
	sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
}

static void
token_hash(const char *token, char out[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token,
	    strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

bool
auth_token_equal(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

bool
auth_role_valid(const char *role)
{
	return strcmp(role, "student") == 0 || strcmp(role, "teacher") == 0 ||
	    strcmp(role, "admin") == 0;
}

bool
auth_email_valid(const char *email)
{
	const char *at = strchr(email, '@');
	size_t n = strlen(email);

	if (n < 3 || n > 254 || at == NULL || at == email || at[1] == '\0')
		return false;
	for (; *email != '\0'; email++)
		if (isspace((unsigned char)*email) || iscntrl((unsigned char)*email))
			return false;
	return true;
}

bool
auth_password_hash(const char *password, char out[AUTH_HASH_LEN], char *err,
    size_t errlen)
{
	size_t n = strlen(password);

	if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
		return util_seterr(err, errlen, "a password needs at least %d "
		    "characters (and at most %d)", AUTH_PASSWORD_MIN,
		    AUTH_PASSWORD_MAX);
	if (!hash_enter())
		return util_seterr(err, errlen, "%s", AUTH_BUSY_MSG);
	if (crypto_pwhash_str(out, password, n, hashing.ops,
	    hashing.mem) != 0) {
		hash_leave();
		return util_seterr(err, errlen, "out of memory hashing the "
		    "password");
	}
	hash_leave();
	return true;
}

bool
auth_password_check(const char *hash, const char *password)
{
	bool ok;

	if (!hash_enter())
		return false;
	ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	hash_leave();
	return ok;
}

/*
 * One-time codes: AUTH_CODE_CHARS characters of easy_alphabet (31
 * symbols, so about 139 random bits), shown in groups of four. Only
 * their SHA-256 is stored.
 */

char *
auth_code_new(void)
{
	char *code = xmalloc(AUTH_CODE_TEXT_LEN + 1);
	int i, o = 0;

	for (i = 0; i < AUTH_CODE_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			code[o++] = '-';
		code[o++] = easy_alphabet[randombytes_uniform(
		    sizeof(easy_alphabet) - 1)];
	}
	code[o] = '\0';
	return code;
}

bool
auth_code_hash(const char *typed, char out[65])
{
	char norm[AUTH_CODE_CHARS + 1];
	unsigned char h[crypto_hash_sha256_BYTES];
	int n = 0;

	/* Dashes, spaces and capitals are how people copy codes. */
	for (; *typed != '\0'; typed++) {
		char ch = (char)tolower((unsigned char)*typed);

		if (ch == '-' || ch == ' ')
			continue;
		if (n == AUTH_CODE_CHARS || strchr(easy_alphabet, ch) == NULL)
			return false;
		norm[n++] = ch;
	}
	if (n != AUTH_CODE_CHARS)
		return false;
	norm[n] = '\0';
	crypto_hash_sha256(h, (const unsigned char *)norm, (size_t)n);
	sodium_bin2hex(out, 65, h, sizeof(h));
	return true;
}

char *
auth_generate_password(void)
{
	char *pw = xmalloc(17);
	int i;

	for (i = 0; i < 16; i++)
		pw[i] = easy_alphabet[randombytes_uniform(
		    sizeof(easy_alphabet) - 1)];
	pw[16] = '\0';
	return pw;
}

bool
auth_user_create(struct db *db, const char *email, const char *name,
    const char *role, const char *password, long long *id, bool *refused,
    char *err, size_t errlen)
{
	char hash[AUTH_HASH_LEN];
	const char *params[4];
	bool no;
	PGconn *c;
	PGresult *r;

	if (refused == NULL)
		refused = &no;
	*refused = true;
	if (!auth_email_valid(email))
		return util_seterr(err, errlen, "\"%s\" is not an email "
		    "address", email);
	if (name[0] == '\0' || strlen(name) > 200)
		return util_seterr(err, errlen, "a name is needed (at most "
		    "200 characters)");
	if (!auth_role_valid(role))
		return util_seterr(err, errlen, "role must be student, "
		    "teacher or admin");
	if (!auth_password_hash(password, hash, err, errlen)) {
		*refused = !auth_hash_busy();
		return false;
	}
	*refused = false;

	params[0] = email;
	params[1] = name;
	params[2] = role;
	params[3] = hash;
	c = db_acquire(db);
	r = db_query(c, "INSERT INTO users (email, name, role, password_hash) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id", 4,
	    params, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) == 0) {
		PQclear(r);
		*refused = true;
		return util_seterr(err, errlen, "a user with the email %s "
		    "already exists", email);
	}
	if (id != NULL)
		*id = db_get_ll(r, 0, "id");
	PQclear(r);
	return true;
}

bool
auth_has_admin(struct db *db, bool *has, char *err, size_t errlen)
{
	return db_exists(db, "SELECT 1 FROM users WHERE role = 'admin' AND "
	    "NOT disabled LIMIT 1", 0, NULL, has, err, errlen);
}

/*
 * The hash is checked with no connection held: argon2 takes tens of
 * milliseconds and 64 MiB, and a few sign-ins must not hold the pool.
 */
bool
auth_login(struct db *db, const char *email, const char *password,
    int ttl_h, char **token, enum auth_fail *fail, char *err, size_t errlen)
{
	char tok[AUTH_TOKEN_LEN + 1], csrf[65], hash[65], ttl[32];
	char stored[crypto_pwhash_STRBYTES], uid[DB_NUM_LEN];
	const char *params[4] = { email };
	PGconn *c;
	PGresult *r;
	bool known, disabled, ok = false;

	*token = NULL;
	*fail = AUTH_FAIL_DB;
	c = db_acquire(db);
	r = db_query(c, "SELECT id, password_hash, disabled FROM users "
	    "WHERE lower(email) = lower($1)", 1, params, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	known = PQntuples(r) == 1 && strlen(db_get(r, 0, "password_hash")) <
	    sizeof(stored);
	util_strlcpy(stored, known ? db_get(r, 0, "password_hash") :
	    dummy_hash, sizeof(stored));
	db_param_ll(uid, known ? db_get_ll(r, 0, "id") : 0);
	disabled = known && strcmp(db_get(r, 0, "disabled"), "t") == 0;
	PQclear(r);
	*fail = AUTH_FAIL_WRONG;
	if (!auth_password_check(stored, password) || !known) {
		if (auth_hash_busy()) {
			*fail = AUTH_FAIL_BUSY;
			return util_seterr(err, errlen, "%s", AUTH_BUSY_MSG);
		}
		return util_seterr(err, errlen, "wrong email or password");
	}
	/* Said only to whoever knows the password. */
	if (disabled) {
		*fail = AUTH_FAIL_DISABLED;
		return util_seterr(err, errlen, "%s", AUTH_DISABLED_MSG);
	}
	*fail = AUTH_FAIL_DB;

	random_hex(tok, AUTH_TOKEN_LEN / 2);
	random_hex(csrf, 32);
	token_hash(tok, hash);
	snprintf(ttl, sizeof(ttl), "%d hours", ttl_h);
	params[0] = hash;
	params[1] = uid;
	params[2] = csrf;
	params[3] = ttl;
	c = db_acquire(db);
	/* A new random token: inserting it twice after a reconnect is
	 * harmless (the key refuses the second), so it may be re-run. */
	if ((r = db_query_idempotent(c, "INSERT INTO sessions (token_hash, "
	    "user_id, csrf_token, expires_at) VALUES ($1, $2, $3, now() + "
	    "$4::interval) ON CONFLICT DO NOTHING", 4, params, err,
	    errlen)) == NULL)
		goto out;
	PQclear(r);
	/* Sweep expired sessions now and then, piggybacking on sign-ins. */
	db_exec(c, "DELETE FROM sessions WHERE expires_at < now()", 0, NULL,
	    NULL, 0);
	*token = xstrdup(tok);
	*fail = AUTH_FAIL_NONE;
	ok = true;
out:
	db_release(db, c);
	return ok;
}

bool
auth_session(struct db *db, const char *token, struct user *u, bool *dbfail)
{
	char hash[65], err[256];
	const char *params[1] = { hash };
	PGconn *c;
	PGresult *r;
	bool ok = false;

	if (dbfail != NULL)
		*dbfail = false;
	if (token == NULL || strlen(token) != AUTH_TOKEN_LEN ||
	    strspn(token, "0123456789abcdef") != AUTH_TOKEN_LEN)
		return false;
	token_hash(token, hash);
	c = db_acquire(db);
	r = db_query(c, "SELECT u.id, u.email, u.name, u.role, s.csrf_token "
	    "FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT "
	    "u.disabled", 1, params, err, sizeof(err));
	db_release(db, c);
	if (r == NULL) {
		if (!db_last_busy())
			log_warnx("session lookup failed: %s", err);
		if (dbfail != NULL)
			*dbfail = true;
		return false;
	}
	if (PQntuples(r) == 1) {
		u->id = db_get_ll(r, 0, "id");
		util_strlcpy(u->email, db_get(r, 0, "email"), sizeof(u->email));
		util_strlcpy(u->name, db_get(r, 0, "name"), sizeof(u->name));
		util_strlcpy(u->role, db_get(r, 0, "role"), sizeof(u->role));
		util_strlcpy(u->csrf, db_get(r, 0, "csrf_token"),
		    sizeof(u->csrf));
		ok = true;
	}
	PQclear(r);
	return ok;
}

void
auth_logout(struct db *db, const char *token)
{
	char hash[65];
	const char *params[1] = { hash };

	if (token == NULL || strlen(token) != AUTH_TOKEN_LEN)
		return;
	token_hash(token, hash);
	db_exec1(db, "DELETE FROM sessions WHERE token_hash = $1", 1, params,
	    NULL, 0);
}

bool
auth_users_json(struct db *db, const struct auth_user_filter *f,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(u ORDER BY u.cursor_us DESC, u.id DESC), "
	    "  '[]') FROM (SELECT id, email, name, role, disabled, "
	    "  iso_utc(created_at) AS created_at, "
	    "  (extract(epoch FROM created_at) * 1000000)::bigint AS cursor_us "
	    "  FROM users WHERE ($1::text IS NULL OR role = $1::text) "
	    "  AND ($2::text IS NULL OR strpos(lower(name), lower($2)) > 0 "
	    "    OR strpos(lower(email), lower($2)) > 0) "
	    "  AND ($3::bigint IS NULL OR (created_at, id) < "
	    "    (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', "
	    "    $4::bigint)) "
	    "  ORDER BY created_at DESC, id DESC LIMIT $5::int) u";
	static const struct auth_user_filter all;
	char us[DB_NUM_LEN], id[DB_NUM_LEN], lim[DB_NUM_LEN];
	const char *p[5];

	if (f == NULL)
		f = &all;
	p[0] = f->role;
	p[1] = f->q;
	p[2] = f->after_id > 0 ? db_param_ll(us, f->after_us) : NULL;
	p[3] = f->after_id > 0 ? db_param_ll(id, f->after_id) : NULL;
	p[4] = f->limit > 0 ? db_param_ll(lim, f->limit) : NULL;
	*out = db_query_json(db, sql, 5, p, NULL, err, errlen);
	return *out != NULL;
}

bool
auth_role_counts(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object("
	    "  'student', count(*) FILTER (WHERE role = 'student'), "
	    "  'teacher', count(*) FILTER (WHERE role = 'teacher'), "
	    "  'admin', count(*) FILTER (WHERE role = 'admin')) "
	    "FROM users WHERE NOT disabled";

	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}
