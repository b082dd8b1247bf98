/*
 * signin: every way of signing in goes through here (the sign-in form,
 * the JSON POST /login of scripts, the sign-up form's first sign-in):
 * the pre-session CSRF token of the sign-in and sign-up forms, the
 * client's address (behind trusted proxies), throttling per account and
 * per address (the signin_failures table, 019), and the password check
 * itself (auth_login, whose hashing is bounded by auth's gate).
 */
#ifndef INTROEVAL_SIGNIN_H
#define INTROEVAL_SIGNIN_H

#include <stdbool.h>
#include <stddef.h>

struct req;

#define SIGNIN_PRE_COOKIE	"introeval_pre"
#define SIGNIN_FORM_FIELD	"signin_csrf"

enum signin_result {
	SIGNIN_OK,
	SIGNIN_WRONG,		/* wrong email or password (counted) */
	SIGNIN_DISABLED,	/* the right password, a disabled account */
	SIGNIN_THROTTLED,	/* too many failures: wait *retry_after s */
	SIGNIN_BUSY,		/* no hashing place came free: 503 */
	SIGNIN_DB		/* the database failed: 503 */
};

/*
 * The seconds a client waits after `failures` failures in a row when
 * `limit` are allowed: 0 below the limit, then base_s doubled for each
 * failure past it, at most max_s.
 */
long	signin_delay(int failures, int limit, int base_s, int max_s);
/*
 * The client's address: the connection's peer, or when that peer is a
 * trusted proxy (trusted_proxies), the nearest X-Forwarded-For entry
 * that is not one.
 */
void	signin_client_addr(struct req *, char *out, size_t outlen);
/*
 * The sign-in and sign-up forms' token: the pre-session cookie's value,
 * made (and its Set-Cookie line written to hdr, else hdr is "") when the
 * browser has none.
 */
void	signin_form_token(struct req *, char token[65], char *hdr,
	    size_t hdrlen);
/* Whether a form body carries the token of this browser's cookie. */
bool	signin_form_ok(struct req *, const char *body);
/*
 * Whether this account and address may try now: SIGNIN_OK, or
 * SIGNIN_THROTTLED with *retry_after, or SIGNIN_DB.
 */
enum signin_result signin_check(struct req *, const char *email,
	    long *retry_after);
/* Counts a failure that was not a wrong password (a wrong join code). */
void	signin_count_failure(struct req *, const char *email);
/*
 * Throttle, check the password, count the outcome and on success open
 * a session (*token, caller frees) and clear the account's failures.
 * err holds words for the reader.
 */
enum signin_result signin_attempt(struct req *, const char *email,
	    const char *password, char **token, long *retry_after,
	    char *err, size_t errlen);
/* "too many failed sign-ins; try again in N minutes" into out. */
void	signin_throttle_words(long retry_after, char *out, size_t outlen);

#endif
