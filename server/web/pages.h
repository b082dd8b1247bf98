/*
 * pages: the server-rendered HTML pages (sign-in, home, result, users).
 */
#ifndef INTROEVAL_PAGES_H
#define INTROEVAL_PAGES_H

#include <stdbool.h>
#include <jansson.h>

struct req;

int	pages_login_form(struct req *);
int	pages_login(struct req *);
#define PAGES_COOKIE	"introeval_session"
/* The Set-Cookie header line that holds a new session's token. */
void	pages_session_cookie(struct req *, const char *token, char *out,
	    size_t outlen);
int	pages_logout(struct req *);
int	pages_home(struct req *);
int	pages_submission(struct req *);
/* The result page with a status; flash (stolen, may be NULL) is a
   refused score adjustment to show again (adjust.h). */
int	pages_submission_with(struct req *, int status, json_t *flash);
int	pages_submission_action(struct req *);
int	pages_users(struct req *);
int	pages_user_create(struct req *);

/*
 * Adds display fields (status words, the score, "late", "superseded by
 * Introduction N") to each row of a submissions list; returns it.
 */
json_t	*pages_list_view(json_t *list, bool student);

/* Words a student reads for a submission's phase and status. */
const char *pages_status_label(const char *phase, const char *status);

#endif
