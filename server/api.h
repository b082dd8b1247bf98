/*
 * api: the JSON API under /api/v1 (and /healthz), plus the one rule for
 * who may see a submission, which the HTML pages use too.
 */
#ifndef INTROEVAL_API_H
#define INTROEVAL_API_H

#include <jansson.h>

struct req;

int	api_healthz(struct req *);
int	api_me(struct req *);
int	api_submissions_list(struct req *);
int	api_submission_get(struct req *);

/*
 * Loads submission r->id as JSON if the signed-in user may see it: its
 * student, or any teacher or admin. Returns 0 with *out set, or the
 * status of the error response it already sent (404 for another
 * student's work, so that ids do not reveal what exists).
 */
int	api_load_submission(struct req *, json_t **out);

#endif
