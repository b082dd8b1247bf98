/*
 * apitoken: named API tokens for scripts (issue 16). A teacher or an
 * admin makes one with a scope: read (GET and HEAD only) or act (their
 * role's rights). The secret, "ie_" and 48 hex digits, is shown once;
 * only a BLAKE2b hash of it is stored, which is enough for 192 random
 * bits (a password hash would only slow every request down). The "ie_"
 * prefix tells a token from a 64-hex session token in the same
 * Authorization: Bearer header. Owns the api_tokens table
 * (sql/023_api_tokens.sql).
 */
#ifndef INTROEVAL_APITOKEN_H
#define INTROEVAL_APITOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "auth.h"

struct db;

#define APITOKEN_PREFIX		"ie_"
#define APITOKEN_HEX		48
#define APITOKEN_LEN		(3 + APITOKEN_HEX)	/* without the NUL */
#define APITOKEN_NAME_MAX	100
#define APITOKEN_DAYS_MAX	3650

/* Where a bearer token is kept (struct req, the WebSocket's clients). */
_Static_assert(APITOKEN_LEN <= AUTH_TOKEN_LEN, "a token fits a session's");

/* The token a request was signed in with (id 0: none). */
struct apitoken {
	long long	 id;
	char		 name[APITOKEN_NAME_MAX * 4 + 1];
	bool		 read_only;
};

/* Whether s has the shape of a token (the prefix and 48 hex digits). */
bool	 apitoken_syntax(const char *s);
/* A new random secret (APITOKEN_LEN characters and a NUL). */
void	 apitoken_secret_new(char out[APITOKEN_LEN + 1]);
/* The stored form of a secret: BLAKE2b-256 in hex. */
void	 apitoken_hash(const char *secret, char out[65]);
/*
 * Checks a token's name (1..100 characters, no control characters),
 * scope ("read" or "act") and lifetime (0: none, else 1..3650 days);
 * false with the reason in err and the field at fault in *field.
 */
bool	 apitoken_check(const char *name, const char *scope, long long days,
	    const char **field, char *err, size_t errlen);
/*
 * Makes a token for user (the input already checked): *out is {id,
 * name, scope, created_at, expires_at, last_used_at, token} with the
 * secret in token, the only time it is ever returned.
 */
bool	 apitoken_create(struct db *, long long user, const char *name,
	    const char *scope, long long days, json_t **out, char *err,
	    size_t errlen);
/* The user's live tokens, newest first, without secrets. */
bool	 apitoken_list(struct db *, long long user, json_t **out, char *err,
	    size_t errlen);
/*
 * Revokes the user's token id; *name gets its name (caller frees) and
 * is NULL when the user has no live token id.
 */
bool	 apitoken_revoke(struct db *, long long user, long long id,
	    char **name, char *err, size_t errlen);
/*
 * The user and token a secret signs in: a live token (not revoked, not
 * expired) of an enabled account. Marks it used at most once a minute.
 * False when it signs nobody in, with *dbfail set when the database
 * could not tell.
 */
bool	 apitoken_lookup(struct db *, const char *secret, struct user *,
	    struct apitoken *, bool *dbfail);
/*
 * Who a bearer token signs in: an API token ("ie_...", *t filled in) or
 * a session token (t->id 0), as apitoken_lookup and auth_session say.
 */
bool	 apitoken_authenticate(struct db *, const char *token, struct user *,
	    struct apitoken *t, bool *dbfail);

#endif
