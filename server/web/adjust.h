/*
 * adjust: teachers' score adjustments on the web (issue 12): the JSON
 * routes, the result page's form, and what the result page shows of
 * them. review.c (pipeline) stores them.
 */
#ifndef INTROEVAL_ADJUST_H
#define INTROEVAL_ADJUST_H

#include <jansson.h>

struct req;

/* POST /api/v1/submissions/ID/scores {"criterion", "score", "comment"} */
int	adjust_api_scores(struct req *);
/* GET /api/v1/submissions/ID/audit */
int	adjust_api_audit(struct req *);
/* POST /submissions/ID/scores, the result page's form */
int	adjust_page_scores(struct req *);

/*
 * Decorates the result page's view: each criterion's score becomes its
 * final score, with the model's beside it and who adjusted it and why;
 * the overall becomes the final overall; staff get the adjust form and
 * the audit trail. sub is api_load_submission's JSON after
 * pages' submission_view, with "staff" set. flash (may be NULL, not
 * stolen) is a refused form to show again: {criterion, comment, error}.
 */
void	adjust_view(json_t *sub, json_t *flash);

#endif
