/*
 * auth: users, passwords (argon2id via libsodium) and sign-in sessions.
 * Owns the users and sessions tables.
 */
#ifndef INTROEVAL_AUTH_H
#define INTROEVAL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;

struct user {
	long long	id;
	char		email[256];
	char		name[256];
	char		role[16];	/* student, teacher, admin */
	char		csrf[65];	/* the session's CSRF token */
};

#define AUTH_TOKEN_LEN 64	/* hex characters in a session token */
#define AUTH_HASH_LEN	128	/* an argon2id hash string, with its NUL */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
#define AUTH_CODE_CHARS	28	/* a one-time code, without its dashes */
#define AUTH_CODE_TEXT_LEN (AUTH_CODE_CHARS + AUTH_CODE_CHARS / 4 - 1)
#define AUTH_DISABLED_MSG "This account is disabled. Ask your teacher or " \
	"the lab's admin."

/* Initialises libsodium; false if it cannot. */
bool	 auth_init(void);
bool	 auth_role_valid(const char *);
bool	 auth_email_valid(const char *);
/*
 * Checks the length policy (AUTH_PASSWORD_MIN..MAX characters, said in
 * err) and hashes the password with argon2id into out.
 */
bool	 auth_password_hash(const char *password, char out[AUTH_HASH_LEN],
	    char *err, size_t errlen);
/* Whether password matches the stored hash (false for a malformed one). */
bool	 auth_password_check(const char *hash, const char *password);
/* A new random one-time code, "abcd-efgh-...". Caller frees. */
char	*auth_code_new(void);
/*
 * The stored form of a code as typed (any case, dashes and spaces
 * ignored): SHA-256 in hex. False when it cannot be a code.
 */
bool	 auth_code_hash(const char *typed, char out[65]);
/* A random password of 16 characters that is easy to type. Caller frees. */
char	*auth_generate_password(void);
bool	 auth_user_create(struct db *, const char *email, const char *name,
	    const char *role, const char *password, long long *id,
	    char *err, size_t errlen);
bool	 auth_has_admin(struct db *, bool *has, char *err, size_t errlen);
/*
 * Checks the password and opens a session. On success *token is the
 * cookie value (caller frees). A wrong email or password gives the same
 * message and takes the same time. *dbfail: false because the database
 * failed (busy or down), not because of the password.
 */
bool	 auth_login(struct db *, const char *email, const char *password,
	    int ttl_h, char **token, bool *dbfail, char *err, size_t errlen);
/*
 * Looks up a live session; false for unknown, expired or malformed, and
 * with *dbfail set (if not NULL) when the database could not tell.
 */
bool	 auth_session(struct db *, const char *token, struct user *,
	    bool *dbfail);
void	 auth_logout(struct db *, const char *token);
/* Every user, newest first: [{id, email, name, role, disabled, created_at}]. */
bool	 auth_users_json(struct db *, json_t **out, char *err, size_t errlen);
/* Accounts that can sign in, by role: {student: n, teacher: n, admin: n}. */
bool	 auth_role_counts(struct db *, json_t **out, char *err,
	    size_t errlen);
/* Constant-time string comparison for tokens. */
bool	 auth_token_equal(const char *, const char *);

#endif
