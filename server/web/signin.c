/*
 * signin: sign-in throttling, the pre-session form token and the one
 * path of a password sign-in (see signin.h).
 *
 * Throttling is checked before any hashing, so a throttled attempt costs
 * one indexed read. Both counters go up on a wrong password; a success
 * clears the account's (the address's ages out). The counts live in
 * PostgreSQL, so every instance behind nginx sees the same ones.
 */
#include "signin.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "app.h"
#include "auth.h"
#include "cidr.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define PRE_TTL_S	(24 * 3600)
#define FORGET_AFTER	"1 day"		/* failures older than this reset */

static bool	pre_cookie(struct req *, char [65]);
static void	record_failure(struct req *, const char *, const char *);

long
signin_delay(int failures, int limit, int base_s, int max_s)
{
	long d = base_s;
	int i;

	if (failures < limit)
		return 0;
	for (i = limit; i < failures && d < max_s; i++)
		d *= 2;
	return d < max_s ? d : max_s;
}

void
signin_client_addr(struct req *r, char *out, size_t outlen)
{
	const char *trusted = r->app->cfg->trusted_proxies;
	const char *xff;
	char list[1024], *p, *one;
	size_t n;

	util_strlcpy(out, r->ri->remote_addr, outlen);
	if (trusted[0] == '\0' || !cidr_list_match(trusted, out) ||
	    (xff = http_header(r, "X-Forwarded-For")) == NULL)
		return;
	util_strlcpy(list, xff, sizeof(list));
	/* Right to left: each proxy appends the address it heard from. */
	for (;;) {
		p = strrchr(list, ',');
		one = p != NULL ? p + 1 : list;
		one += strspn(one, " \t");
		n = strcspn(one, " \t");
		one[n] = '\0';
		if (n > 0) {
			util_strlcpy(out, one, outlen);
			if (!cidr_list_match(trusted, one))
				return;
		}
		if (p == NULL)
			return;
		*p = '\0';
	}
}

/* The browser's pre-session cookie, if it sent a well-formed one. */
static bool
pre_cookie(struct req *r, char out[65])
{
	const char *cookie = http_header(r, "Cookie");

	if (cookie == NULL || mg_get_cookie(cookie, SIGNIN_PRE_COOKIE, out,
	    65) != 64)
		return false;
	return strspn(out, "0123456789abcdef") == 64;
}

void
signin_form_token(struct req *r, char token[65], char *hdr, size_t hdrlen)
{
	unsigned char raw[32];

	hdr[0] = '\0';
	if (pre_cookie(r, token))
		return;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, 65, raw, sizeof(raw));
	snprintf(hdr, hdrlen, "Set-Cookie: %s=%s; Path=/; HttpOnly; "
	    "SameSite=Lax; Max-Age=%d%s\r\n", SIGNIN_PRE_COOKIE, token,
	    PRE_TTL_S, r->app->cfg->cookie_secure ? "; Secure" : "");
}

/*
 * Login CSRF: a page elsewhere could post its own account's password to
 * /login and sign the victim in as that account. Only our form carries
 * the value of the cookie that our GET set, which another site can
 * neither read nor set.
 */
bool
signin_form_ok(struct req *r, const char *body)
{
	char cookie[65], sent[128];

	return pre_cookie(r, cookie) && http_form_get(body, SIGNIN_FORM_FIELD,
	    sent, sizeof(sent)) && auth_token_equal(sent, cookie);
}

enum signin_result
signin_check(struct req *r, const char *email, long *retry_after)
{
	const struct config *cfg = r->app->cfg;
	char addr[64], err[256];
	const char *params[2] = { email, addr };
	PGconn *c;
	PGresult *res;
	long wait = 0, d;
	int i, limit;

	*retry_after = 0;
	signin_client_addr(r, addr, sizeof(addr));
	c = db_acquire(r->app->db);
	res = db_query(c, "SELECT kind, failures, extract(epoch FROM now() - "
	    "last_failure) AS ago FROM signin_failures WHERE last_failure > "
	    "now() - interval '" FORGET_AFTER "' AND ((kind = 'account' AND "
	    "key = lower($1)) OR (kind = 'address' AND key = $2))", 2, params,
	    err, sizeof(err));
	db_release(r->app->db, c);
	if (res == NULL) {
		log_warnx("signin: throttle check: %s", err);
		return SIGNIN_DB;
	}
	for (i = 0; i < PQntuples(res); i++) {
		limit = strcmp(db_get(res, i, "kind"), "account") == 0 ?
		    cfg->signin_account_failures :
		    cfg->signin_address_failures;
		d = signin_delay((int)db_get_ll(res, i, "failures"), limit,
		    cfg->signin_delay_s, cfg->signin_max_delay_s) -
		    (long)db_get_double(res, i, "ago");
		if (d > wait)
			wait = d;
	}
	PQclear(res);
	if (wait <= 0)
		return SIGNIN_OK;
	*retry_after = wait;
	log_info("signin: throttled email=%s addr=%s retry_after=%ld", email,
	    addr, wait);
	return SIGNIN_THROTTLED;
}

static void
record_failure(struct req *r, const char *email, const char *addr)
{
	char err[256];
	const char *params[2] = { email, addr };

	if (!db_exec1(r->app->db, "INSERT INTO signin_failures (kind, key, "
	    "failures) VALUES ('account', lower($1), 1), ('address', $2, 1) "
	    "ON CONFLICT (kind, key) DO UPDATE SET failures = CASE WHEN "
	    "signin_failures.last_failure < now() - interval '" FORGET_AFTER
	    "' THEN 1 ELSE signin_failures.failures + 1 END, last_failure = "
	    "now()", 2, params, err, sizeof(err)))
		log_warnx("signin: failure not counted: %s", err);
}

void
signin_count_failure(struct req *r, const char *email)
{
	char addr[64];

	signin_client_addr(r, addr, sizeof(addr));
	record_failure(r, email, addr);
}

enum signin_result
signin_attempt(struct req *r, const char *email, const char *password,
    char **token, long *retry_after, char *err, size_t errlen)
{
	const char *params[1] = { email };
	enum signin_result res;
	enum auth_fail fail;
	char addr[64];

	*token = NULL;
	if ((res = signin_check(r, email, retry_after)) != SIGNIN_OK) {
		if (res == SIGNIN_THROTTLED)
			signin_throttle_words(*retry_after, err, errlen);
		return res;
	}
	if (auth_login(r->app->db, email, password, r->app->cfg->session_ttl_h,
	    token, &fail, err, errlen)) {
		/* Old rows of anyone go with this account's own. */
		db_exec1(r->app->db, "DELETE FROM signin_failures WHERE (kind "
		    "= 'account' AND key = lower($1)) OR last_failure < now() - "
		    "interval '" FORGET_AFTER "'", 1, params, NULL, 0);
		return SIGNIN_OK;
	}
	switch (fail) {
	case AUTH_FAIL_WRONG:
		signin_client_addr(r, addr, sizeof(addr));
		record_failure(r, email, addr);
		log_info("signin: wrong password email=%s addr=%s", email,
		    addr);
		return SIGNIN_WRONG;
	case AUTH_FAIL_DISABLED:
		return SIGNIN_DISABLED;
	case AUTH_FAIL_BUSY:
		*retry_after = 5;
		return SIGNIN_BUSY;
	case AUTH_FAIL_NONE:
	case AUTH_FAIL_DB:
		break;
	}
	return SIGNIN_DB;
}

void
signin_throttle_words(long retry_after, char *out, size_t outlen)
{
	long min = (retry_after + 59) / 60;

	snprintf(out, outlen, "too many failed sign-ins; try again in %ld "
	    "minute%s", min, min == 1 ? "" : "s");
}
