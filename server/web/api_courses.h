/*
 * api_courses: courses and enrolment in the JSON API (api_courses.c),
 * under the course pages' rules.
 */
#ifndef INTROEVAL_API_COURSES_H
#define INTROEVAL_API_COURSES_H

struct req;

int	api_courses_list(struct req *);	/* GET  /api/v1/courses */
int	api_course_create(struct req *);	/* POST /api/v1/courses */
int	api_course_get(struct req *);		/* GET  /api/v1/courses/:id */
/* POST /api/v1/courses/:id/members */
int	api_course_enrol(struct req *);

#endif
