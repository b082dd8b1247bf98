/*
 * tokens_web: the pages and JSON API of API tokens (apitoken.h). Staff
 * list, make and revoke their own tokens at /api/v1/tokens and in a
 * section of /account; a new token's secret is shown once, in the
 * answer that made it. Making and revoking are written to the audit log.
 */
#ifndef INTROEVAL_TOKENS_WEB_H
#define INTROEVAL_TOKENS_WEB_H

#include <stdbool.h>

#include <jansson.h>

struct req;

int	tokens_api_list(struct req *);		/* GET    /api/v1/tokens */
int	tokens_api_create(struct req *);	/* POST   /api/v1/tokens */
int	tokens_api_revoke(struct req *);	/* DELETE /api/v1/tokens/:id */
int	tokens_form_create(struct req *);	/* POST   /account/tokens */
/* POST /account/tokens/:id/revoke */
int	tokens_form_revoke(struct req *);
/*
 * Adds the account page's token section to view for staff: tokens (the
 * list), may_tokens; false when the database failed.
 */
bool	tokens_account_view(struct req *, json_t *view);

#endif
