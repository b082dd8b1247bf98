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
#define AUTH_BUSY_MSG "too many sign-ins at once; try again in a few " \
	"seconds"
#define AUTH_DISABLED_MSG "This account is disabled. Ask your teacher or " \
	"the lab's admin."

/* Initialises libsodium; false if it cannot. */
bool	 auth_init(void);
/*
 * Password hashing runs through a gate: at most `workers` argon2 runs at
 * once (0: no limit); a burst waits up to wait_s in a queue of at most
 * queue_max, else the hash is refused as busy (auth_hash_busy). cheap:
 * libsodium's minimum cost instead of the interactive one (tests only).
 * Call once, before any thread hashes.
 */
void	 auth_configure(int workers, double wait_s, int queue_max,
	    bool cheap);
/* Whether this thread's last hash was refused because the gate was full. */
bool	 auth_hash_busy(void);
struct auth_hash_stats {
	long long	 done;		/* hashes and checks run */
	long long	 queued;	/* of them, after waiting their turn */
	long long	 refused;	/* turned away: queue full or wait over */
	int		 running;	/* now */
	int		 running_max;	/* the most at once since start */
	int		 waiting;	/* now */
	int		 workers;	/* the limit (0: none) */
};
void	 auth_hash_stats(struct auth_hash_stats *);
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
/*
 * A new account. False with err in words; *refused (when not NULL) is
 * true when the input was refused (a bad email, a taken one, a weak
 * password), false when the database or the hashing failed.
 */
bool	 auth_user_create(struct db *, const char *email, const char *name,
	    const char *role, const char *password, long long *id,
	    bool *refused, char *err, size_t errlen);
bool	 auth_has_admin(struct db *, bool *has, char *err, size_t errlen);
/* Why auth_login said no. */
enum auth_fail {
	AUTH_FAIL_NONE,
	AUTH_FAIL_WRONG,	/* wrong email or password */
	AUTH_FAIL_DISABLED,	/* the right password, a disabled account */
	AUTH_FAIL_DB,		/* the database failed (busy or down) */
	AUTH_FAIL_BUSY		/* the hashing gate was full */
};
/*
 * Checks the password and opens a session. On success *token is the
 * cookie value (caller frees). A wrong email or password gives the same
 * message and takes the same time. *fail says why it failed.
 */
bool	 auth_login(struct db *, const char *email, const char *password,
	    int ttl_h, char **token, enum auth_fail *fail, char *err,
	    size_t errlen);
/*
 * Looks up a live session; false for unknown, expired or malformed, and
 * with *dbfail set (if not NULL) when the database could not tell.
 */
bool	 auth_session(struct db *, const char *token, struct user *,
	    bool *dbfail);
void	 auth_logout(struct db *, const char *token);
/*
 * Which users to list; NULL and 0 mean any. q is found in the name or
 * the email, ignoring case; after_us and after_id a cursor (users
 * created before that one; after_id 0: from the newest); limit 0: all.
 */
struct auth_user_filter {
	const char	*role;
	const char	*q;
	long long	 after_us;
	long long	 after_id;
	int		 limit;
};
/*
 * Users newest first by (created_at, id): [{id, email, name, role,
 * disabled, created_at, cursor_us}] (cursor_us: created_at in
 * microseconds, for the next page's cursor). filter NULL: everyone.
 */
bool	 auth_users_json(struct db *, const struct auth_user_filter *,
	    json_t **out, char *err, size_t errlen);
/* Accounts that can sign in, by role: {student: n, teacher: n, admin: n}. */
bool	 auth_role_counts(struct db *, json_t **out, char *err,
	    size_t errlen);
/* Constant-time string comparison for tokens. */
bool	 auth_token_equal(const char *, const char *);

#endif
