/*
 * assignment: the assignments table (sql/014): what a course asks its
 * students to record, when, how long, against which rubric version, and
 * whether late work is taken. Dates are stored as instants and read and
 * written in the course's time zone by PostgreSQL (AT TIME ZONE), never
 * by arithmetic here.
 *
 * assignment_pick() is the one rule for which assignment an upload is
 * filed under; upload.c calls it for every way in (raw POST, tus, the
 * page's form and recorder).
 */
#ifndef INTROEVAL_ASSIGNMENT_H
#define INTROEVAL_ASSIGNMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;
struct user;

/* What the student is told when they have nowhere to upload. */
#define ASSIGNMENT_MSG_NONE "You have no open assignment to submit to. " \
	"Your teacher adds assignments to your course."

/* Why an upload may not be filed under an assignment. */
enum assignment_verdict {
	ASSIGNMENT_OK,
	ASSIGNMENT_NONE_OPEN,	/* none named and none open */
	ASSIGNMENT_CHOOSE,	/* none named and several open */
	ASSIGNMENT_NOT_FOUND,	/* not one of the student's courses' */
	ASSIGNMENT_NOT_OPEN,	/* opens later */
	ASSIGNMENT_PAST_DUE,	/* due, and late work is not accepted */
	ASSIGNMENT_DURATION,	/* outside the accepted duration range */
};

/* Where an accepted upload goes. */
struct assignment_pick {
	long long	 id;
	long long	 course_id;
	long long	 rubric_id;	/* 0: the newest rubric */
	bool		 late;		/* past due, late work accepted */
};

/*
 * Decides the assignment of student's upload: `requested` (0: none
 * named) and the recording's duration (negative: not known yet, so the
 * range is not checked). False only when the database failed (err);
 * otherwise *verdict, and for a refusal words for the student in msg.
 */
bool	assignment_pick(struct db *, long long student, long long requested,
	    double duration_s, struct assignment_pick *,
	    enum assignment_verdict *verdict, char *msg, size_t msglen,
	    char *err, size_t errlen);

/*
 * One assignment as JSON ({id, course_id, course_code, title,
 * instructions, time_zone, opens_at, due_at (ISO 8601 UTC), opens_local,
 * due_local ("YYYY-MM-DDTHH:MM" in the course's zone), opens_text,
 * due_text, due_words, min_duration_s, max_duration_s, range_text,
 * rubric_id, rubric_label, late_ok, is_open, accepting, not_yet, closed,
 * submissions}), or *out NULL when there is none.
 */
bool	assignment_get(struct db *, long long id, json_t **out, char *err,
	    size_t errlen);
/* A course's assignments, newest first. */
bool	assignment_list(struct db *, long long course, json_t **out,
	    char *err, size_t errlen);
/* The assignments a student may upload to now, soonest due first. */
bool	assignment_open_for(struct db *, long long student, json_t **out,
	    char *err, size_t errlen);
/*
 * The assignment a course page shows: `wanted` if it is the course's,
 * else the newest open one, else the newest; *id 0 when the course has
 * none.
 */
bool	assignment_choose(struct db *, long long course, long long wanted,
	    long long *id, char *err, size_t errlen);

/* How a user relates to an assignment's (or a course's) course. */
enum assignment_role { ASSIGNMENT_NOBODY, ASSIGNMENT_STUDENT,
	ASSIGNMENT_STAFF };
bool	assignment_role(struct db *, long long id, const struct user *,
	    enum assignment_role *, long long *course, char *err,
	    size_t errlen);
bool	assignment_course_role(struct db *, long long course,
	    const struct user *, enum assignment_role *, char *err,
	    size_t errlen);

/* A new or changed assignment, as text from a form or the API. */
struct assignment_input {
	char	 title[256];
	char	 instructions[10001];
	char	 opens[40];	/* "" (create: now), local or with a zone */
	char	 due[40];	/* "": no due date */
	char	 min_s[32];	/* "" : 0 */
	char	 max_s[32];	/* "": the server's limit */
	long long rubric_id;	/* 0: the newest rubric */
	bool	 late_ok;
};
/* Fills in from an assignment's JSON (assignment_get), for an edit. */
void	assignment_input_from(struct assignment_input *, json_t *);
/*
 * Creates (*id 0) or changes (*id) an assignment of course, by user (0:
 * from the command line). False with words in err: for bad input
 * *invalid names the API member at fault ("title", "due_at", ...; ""
 * when no one member is), for a database error it is NULL.
 */
bool	assignment_save(struct db *, long long course, long long user,
	    const struct assignment_input *, long long *id,
	    const char **invalid, char *err, size_t errlen);
/* Deletes it unless it has submissions (*refused, err in words). */
bool	assignment_delete(struct db *, long long id, bool *refused,
	    char *err, size_t errlen);
/* The assignment's rubric definition (its version, or the newest). */
bool	assignment_rubric(struct db *, long long id, json_t **def,
	    long long *rubric_id, char *err, size_t errlen);
/* [{id, label}] of the stored rubric versions, newest first. */
bool	assignment_rubric_versions(struct db *, json_t **out, char *err,
	    size_t errlen);

#endif
