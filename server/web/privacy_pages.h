/*
 * privacy_pages: the pages and API of consent, data export, deletion
 * requests and the audit log (domain logic in pipeline/consent.c,
 * privacy.c, audit.c), and privacy_consent_gate, the one check every
 * upload path makes.
 */
#ifndef INTROEVAL_PRIVACY_PAGES_H
#define INTROEVAL_PRIVACY_PAGES_H

#include <stdbool.h>

#include <jansson.h>

struct req;

/*
 * 0 when r's user may upload; otherwise the 403 (or 503) already sent,
 * CONSENT_REFUSAL in words, for a student who has not accepted the
 * current consent text. Call it right after authentication.
 */
int	privacy_consent_gate(struct req *);
/* Adds the student home page's consent, export and deletion fields. */
bool	privacy_home_view(struct req *, json_t *view);

int	privacy_consent_page(struct req *);		/* GET /admin/consent */
int	privacy_consent_save(struct req *);		/* POST /admin/consent */
int	privacy_consent_accept_form(struct req *);	/* POST /consent */
int	privacy_deletion_form(struct req *);	/* POST /me/deletion-request */
int	privacy_requests_page(struct req *);		/* GET /admin/requests */
int	privacy_carry_out_form(struct req *);	/* POST /admin/requests/:id */
int	privacy_audit_page(struct req *);		/* GET /admin/audit */

int	privacy_api_consent(struct req *);		/* GET /api/v1/consent */
int	privacy_api_consent_accept(struct req *);	/* POST /api/v1/consent */
int	privacy_api_consent_set(struct req *);	/* POST /api/v1/admin/consent */
int	privacy_api_export(struct req *);		/* GET /api/v1/me/export */
int	privacy_api_deletion(struct req *);	/* POST .../me/deletion-request */
int	privacy_api_audit(struct req *);		/* GET /api/v1/admin/audit */

#endif
