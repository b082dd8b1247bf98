/*
 * account: what happens to an account after it is made. Staff edit a
 * name and email, disable and enable, and hand out one-time codes that
 * set a password; every user changes their own password and signs out
 * everywhere. Owns the account_codes table and the writes to users and
 * sessions these need (auth.c owns sign-in and the session lookup).
 *
 * Who may manage whom is decided here, in account_may_manage: an admin
 * every account, a teacher the students of the courses they teach.
 */
#ifndef INTROEVAL_ACCOUNT_H
#define INTROEVAL_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "auth.h"

struct db;

/* What a failed call means for its caller's reply. */
enum account_fail {
	ACCOUNT_OK,
	ACCOUNT_INVALID,	/* the input; err says what (422) */
	ACCOUNT_NOT_FOUND,	/* no such account, or not yours (404) */
	ACCOUNT_FORBIDDEN,	/* a teacher and an admin or teacher (403) */
	ACCOUNT_DB		/* the database failed (503) */
};

/*
 * The account id as actor may see it: {id, email, name, role, disabled,
 * created_at, courses: [{id, code, title}]} (the courses it is a member
 * of). ACCOUNT_NOT_FOUND when it does not exist or actor may not manage
 * it; ACCOUNT_FORBIDDEN when a teacher names a teacher or admin of their
 * own course.
 */
enum account_fail account_load(struct db *, const struct user *actor,
	    long long id, json_t **out, char *err, size_t errlen);
/*
 * Changes name and email (NULL: keep). The email is unique without
 * regard to case; a taken one is refused in words.
 */
enum account_fail account_update(struct db *, long long id,
	    const char *name, const char *email, char *err, size_t errlen);
/* Disabling also ends every session of the account at once. */
enum account_fail account_set_disabled(struct db *, long long id,
	    bool disabled, char *err, size_t errlen);
/*
 * A new one-time code for user (purpose "reset" or "welcome") valid for
 * ttl_h hours, on connection c (so the roster import can make it inside
 * its transaction). *code is the code to show once; caller frees.
 */
bool	 account_code_create(PGconn *c, long long user, const char *purpose,
	    long long created_by, int ttl_h, char **code, char *err,
	    size_t errlen);
/* A staff member's reset code for user (account_code_create). */
bool	 account_reset_code(struct db *, long long user, long long by,
	    int ttl_h, char **code, char *err, size_t errlen);
/*
 * Sets the password of the code's account and uses the code up; every
 * session of the account ends. ACCOUNT_INVALID for a bad password, or a
 * code that is unknown, used, expired or of a disabled account.
 */
enum account_fail account_code_redeem(struct db *, const char *code,
	    const char *password, char *err, size_t errlen);
/* Changes the user's own password; the current one must match. */
enum account_fail account_password_change(struct db *, long long user,
	    const char *current, const char *password, char *err,
	    size_t errlen);
/* Ends every session of user, the caller's own too. */
bool	 account_signout_all(struct db *, long long user, int *ended,
	    char *err, size_t errlen);

#endif
