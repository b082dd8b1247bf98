/*
 * dash: the dashboards' HTTP handlers. Courses (a list, creating one,
 * enrolling people) and a course's live progress page for its teachers
 * with a results table and its CSV export. Each page is complete without
 * JavaScript; static/live.js then keeps it current over the WebSocket hub
 * (ws.h). The admin's health page is health.h's.
 */
#ifndef INTROEVAL_DASH_H
#define INTROEVAL_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;
struct req;

int	dash_courses(struct req *);		/* GET  /courses */
int	dash_course_create(struct req *);	/* POST /courses */
int	dash_course(struct req *);		/* GET  /courses/:id */
/* The course page r->id with status and view (stolen) added: a form's
   error shown on it. */
int	dash_course_with(struct req *, int status, json_t *view);
/*
 * The course of r->id as JSON if this user may see it as staff (its
 * teachers, admins); otherwise false with the answer sent (*status: 404
 * or a database error).
 */
bool	dash_load_course(struct req *, json_t **course, int *status);
/* POST /courses/:id/members */
int	dash_course_enrol(struct req *);
/* GET /courses/:id/results.csv */
int	dash_results_csv(struct req *);
/*
 * The results CSV of an assignment of course (course_get's JSON) with
 * title; only: the submission ids whose rows to keep (NULL: all).
 */
int	dash_send_results_csv(struct req *, const json_t *course,
	    long long assignment, const char *title, const json_t *only);
/* GET /api/v1/courses/:id/progress */
int	dash_course_progress(struct req *);
/*
 * Display fields of one progress row (a submission, or a student without
 * one): state, group, chip_text, progress_pct, can_cancel, can_retry.
 * static/live.js computes the same from a WebSocket event.
 */
void	dash_chip(json_t *row);
/*
 * Every node's phase, how long it has run and its batch, as
 * events_system gives them, with display fields (phase_label, phase_for,
 * has_batch, batch_pct, stale). An empty array when the database does not
 * answer. *lab (when lab is not NULL) gets the lab-wide count of
 * unfinished submissions, {stt, llm}, as the system event carries it.
 */
json_t	*dash_nodes(struct db *, json_t **lab);
/* "1 min 20 s", "3 h 5 min": a duration for people. */
void	dash_duration(double seconds, char *out, size_t outlen);

#endif
