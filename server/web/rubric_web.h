/*
 * rubric_web: rubrics on the web. rubric_api.c answers the JSON API
 * (/api/v1/rubrics..., and re-evaluating an assignment with a version);
 * rubric_form.c draws the teachers' pages (/rubrics...) with the editor
 * that works without JavaScript. Both call rubrics.h (families and
 * versions), rubric.h (checking a definition) and queue.h (sending an
 * assignment's submissions back to the LLM phase).
 */
#ifndef INTROEVAL_RUBRIC_WEB_H
#define INTROEVAL_RUBRIC_WEB_H

#include <stdbool.h>

struct req;

int	rubric_api_list(struct req *);
int	rubric_api_create(struct req *);
int	rubric_api_get(struct req *);
int	rubric_api_new_version(struct req *);
int	rubric_api_reevaluate(struct req *);

int	rubric_page_list(struct req *);
int	rubric_page_new(struct req *);
int	rubric_page_create(struct req *);
int	rubric_page_view(struct req *);
int	rubric_page_save(struct req *);
int	rubric_page_reevaluate(struct req *);

/*
 * Shared by both: whether the signed-in staff member may change version
 * id's family (0) or the status of the answer already sent (404: no
 * such version, 403: someone else's rubric, 503).
 */
int	rubric_web_may_edit(struct req *, long long id);
/*
 * Re-evaluates assignment_id with version rubric_id for the signed-in
 * staff member: 0 and *queued, or the status of the answer sent (404:
 * no such assignment or not theirs, 400: no such version, 503).
 */
int	rubric_web_reevaluate(struct req *, long long assignment_id,
	    long long rubric_id, int *queued);

#endif
