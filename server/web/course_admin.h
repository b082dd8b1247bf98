/*
 * course_admin: a course's settings page and JSON API (course_admin.c):
 * title, archive, join code, members, roster import.
 */
#ifndef INTROEVAL_COURSE_ADMIN_H
#define INTROEVAL_COURSE_ADMIN_H

struct req;

int	course_admin_page(struct req *);	/* GET  /courses/:id/manage */
int	course_admin_update(struct req *);	/* POST /courses/:id/manage */
int	course_admin_roster(struct req *);	/* POST /courses/:id/roster */
int	course_admin_api_patch(struct req *);	/* PATCH /api/v1/courses/:id */
/* DELETE /api/v1/courses/:id/members/:uid */
int	course_admin_api_unenrol(struct req *);
int	course_admin_api_roster(struct req *);	/* POST .../courses/:id/roster */

#endif
