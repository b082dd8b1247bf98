/*
 * assign_web: assignments in the browser and the JSON API.
 *
 *   GET    /assignments/:id                  the assignment page (its
 *          instructions, its rubric; for a student, their submissions)
 *   POST   /courses/:id/assignments          create (form)
 *   POST   /assignments/:id                  edit (form)
 *   POST   /assignments/:id/delete           delete (form)
 *   POST   /courses/:id/time-zone            the course's time zone (form)
 *   GET    /api/v1/courses/:id/assignments   list (staff and students of
 *          the course)
 *   POST   /api/v1/courses/:id/assignments   create
 *   PATCH  /api/v1/courses/:id               the course's time zone
 *   GET, PATCH, DELETE /api/v1/assignments/:id
 */
#ifndef INTROEVAL_ASSIGN_WEB_H
#define INTROEVAL_ASSIGN_WEB_H

#include <stdbool.h>
#include <jansson.h>

struct req;

/*
 * The assignment a course page (r->id) is about: ?assignment=ID when it
 * is the course's, else the newest open one, else the newest (*id 0:
 * none yet); *list gets the course's assignments.
 */
bool	assign_pick(struct req *, long long *id, json_t **list);
/*
 * Adds the course page's assignments part to view: the selector, the
 * list (list, stolen) with edit forms (a refused edit, view's
 * assign_edit, shows what was typed), the rubric versions and the
 * assignment shown (id).
 */
bool	assign_course_view(struct req *, json_t *view, json_t *list,
	    long long id);

int	assign_page(struct req *);
int	assign_form_create(struct req *);
int	assign_form_edit(struct req *);
int	assign_form_delete(struct req *);
int	assign_form_time_zone(struct req *);
int	assign_api_list(struct req *);
int	assign_api_create(struct req *);
int	assign_api_get(struct req *);
int	assign_api_patch(struct req *);
int	assign_api_delete(struct req *);

#endif
