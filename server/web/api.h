/*
 * api: the JSON API under /api/v1, plus the one rule for
 * who may see a submission, which the HTML pages use too.
 */
#ifndef INTROEVAL_API_H
#define INTROEVAL_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct req;

int	api_me(struct req *);
int	api_submissions_list(struct req *);
int	api_submission_get(struct req *);
int	api_submission_cancel(struct req *);
int	api_submission_retry(struct req *);
/* The recording itself, for its student and staff (Range, HEAD). */
int	api_submission_media(struct req *);
int	api_submission_priority(struct req *);
int	api_system(struct req *);

/*
 * A staff action on submission r->id ("cancel", "retry", "priority"),
 * shared by the API and the page's forms. False with the HTTP status and
 * a message in words when it cannot be done.
 */
bool	api_apply_action(struct req *, const char *action, int priority,
	    int *status, char *msg, size_t msglen);

/*
 * Loads submission r->id as JSON if the signed-in user may see it: its
 * student, or any teacher or admin. Returns 0 with *out set, or the
 * status of the error response it already sent (404 for another
 * student's work, so that ids do not reveal what exists).
 */
int	api_load_submission(struct req *, json_t **out);

#endif
