/*
 * jobs_web: natural-language job requests over HTTP (issue 14): the
 * JSON API under /api/v1/jobs and the pages under /jobs. Staff only; a
 * teacher acts on the courses they teach, an admin on every course
 * (jobs.h does the work).
 */
#ifndef INTROEVAL_JOBS_WEB_H
#define INTROEVAL_JOBS_WEB_H

struct req;

int	jobs_api_preview(struct req *);	/* POST /api/v1/jobs/preview */
int	jobs_api_create(struct req *);	/* POST /api/v1/jobs */
int	jobs_api_list(struct req *);	/* GET  /api/v1/jobs */
int	jobs_api_get(struct req *);	/* GET  /api/v1/jobs/:id */
int	jobs_api_cancel(struct req *);	/* POST /api/v1/jobs/:id/cancel */

int	jobs_page_new(struct req *);	/* GET  /jobs/new */
int	jobs_page_create(struct req *);	/* POST /jobs */
int	jobs_page_list(struct req *);	/* GET  /jobs */
int	jobs_page_get(struct req *);	/* GET  /jobs/:id */
int	jobs_page_cancel(struct req *);	/* POST /jobs/:id/cancel */
int	jobs_export_csv(struct req *);	/* GET  /jobs/:id/export.csv */

#endif
