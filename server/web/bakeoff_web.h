/* bakeoff_web: the model bake-off's pages, CSV and API (admins only). */
#ifndef INTROEVAL_BAKEOFF_WEB_H
#define INTROEVAL_BAKEOFF_WEB_H

struct req;

int	bakeoff_list_page(struct req *);	/* GET /admin/bakeoffs */
int	bakeoff_create_form(struct req *);	/* POST /admin/bakeoffs */
int	bakeoff_page(struct req *);		/* GET /admin/bakeoffs/:id */
int	bakeoff_csv(struct req *);	/* GET /admin/bakeoffs/:id/report.csv */
int	bakeoff_cancel_form(struct req *);	/* POST .../:id/cancel */
int	bakeoff_api_get(struct req *);		/* GET /api/v1/bakeoffs/:id */
int	bakeoff_api_list(struct req *);		/* GET /api/v1/bakeoffs */
int	bakeoff_api_create(struct req *);	/* POST /api/v1/bakeoffs */

#endif
