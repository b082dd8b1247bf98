/*
 * api_comments: the web side of time-coded comments (issue 12): the JSON
 * API, the result page's no-script forms and the page's view of the
 * comments. The data and its rules are server/pipeline/comments.c's.
 */
#ifndef INTROEVAL_API_COMMENTS_H
#define INTROEVAL_API_COMMENTS_H

#include <jansson.h>

struct req;

/* GET /api/v1/submissions/ID/comments: {submission_id, comments}. */
int	api_comments_get(struct req *);
/* POST /api/v1/submissions/ID/comments {at_s, body}: 201 the comment. */
int	api_comment_add(struct req *);
/* POST /api/v1/comments/ID/reply {body}: 201 the comment with it. */
int	api_comment_reply(struct req *);
/* DELETE /api/v1/comments/ID: its author, or an admin. */
int	api_comment_delete(struct req *);

/* The same three as form posts from the result page; 303 back to it. */
int	api_comment_form_add(struct req *);
int	api_comment_form_reply(struct req *);
int	api_comment_form_delete(struct req *);

/*
 * Adds what templates/review_markers and review_comments show to the
 * result page's view of submission r->id (already authorized): comments
 * with their time as m:ss, their place on the timeline in percent and
 * what the viewer may do with each. A database failure leaves the page
 * without comments and says so, rather than failing the page.
 */
void	api_comments_view(struct req *, json_t *sub);

#endif
