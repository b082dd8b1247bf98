/*
 * course: courses and who belongs to them (tables courses and
 * course_members): creating a course, enrolling people with a role and a
 * section, who may watch a course, and the course's progress and results
 * as the teacher's page and its CSV export show them.
 *
 * A course's progress and results are per assignment: each student's
 * submission to it that counts (the latest, sql/014).
 */
#ifndef INTROEVAL_COURSE_H
#define INTROEVAL_COURSE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;
struct user;

/*
 * err is a plain sentence for the form (a taken code, say); *refused
 * (when not NULL) tells such a refusal from a database failure.
 */
bool	course_create(struct db *, const char *code, const char *title,
	    long long *id, bool *refused, char *err, size_t errlen);
/* The id of the course with this code (0: none). */
bool	course_id_by_code(struct db *, const char *code, long long *id,
	    char *err, size_t errlen);
/* What enrolling someone did (course_enrol). */
enum course_outcome {
	COURSE_ADDED,		/* enrolled now */
	COURSE_SAME,		/* already enrolled so: nothing changed */
	COURSE_MOVED,		/* was elsewhere (was_section); moved */
	COURSE_ELSEWHERE	/* is elsewhere and no move was asked for */
};
struct course_enrolment {
	enum course_outcome	 outcome;
	long long		 user_id;
	char			 name[256];
	char			 was_section[64];	/* before, if enrolled */
	bool			 refused;	/* on false: the input was
						   refused (err), not the
						   database */
};
/*
 * Enrols the account with this email (role: "student" or "teacher"). Of
 * someone enrolled already, the role and section change only when move
 * is true; otherwise the outcome says where they are (COURSE_ELSEWHERE)
 * and nothing is written. false (err) for an unknown account.
 */
bool	course_enrol(struct db *, long long course, const char *email,
	    const char *role, const char *section, bool move,
	    struct course_enrolment *, char *err, size_t errlen);
/* {user_id, name, role, section} of a member, or *out NULL. */
bool	course_member(struct db *, long long course, long long user,
	    json_t **out, char *err, size_t errlen);
/* {courses, staffed}: how many courses, and with a teacher and a student. */
bool	course_setup_counts(struct db *, json_t **out, char *err,
	    size_t errlen);
/*
 * [{id, code, title, archived, students, teachers}] of the courses
 * user_id is a member of as member_role ("teacher", "student"), or of
 * every course for 0.
 */
bool	course_list(struct db *, long long user_id, const char *member_role,
	    json_t **out, char *err, size_t errlen);
/*
 * {id, code, title, time_zone, join_code, archived, sections: [..],
 * teachers: [..]}, or *out NULL.
 */
bool	course_get(struct db *, long long id, json_t **out, char *err,
	    size_t errlen);
/* Admins watch every course, teachers theirs, students none. */
bool	course_access(struct db *, long long course, const struct user *,
	    bool *allowed, char *err, size_t errlen);
/*
 * One row per enrolled student with their submission to the assignment
 * that counts: [{student_id, name, email, section, id, phase, status,
 * stt_progress, priority, late, error, version, batch_id, node, retry_count, overall, model,
 * running_on, created_at, completed_at}] (submission fields null when
 * they have none), and *version, the highest version among them.
 */
bool	course_progress(struct db *, long long course, long long assignment,
	    json_t **rows, long long *version, char *err, size_t errlen);
/*
 * Gradebook: one row per enrolled student with the completed evaluation
 * of their submission to the assignment that counts: [{student_id, name,
 * email, section, id, overall, scores: {criterion: n}, model,
 * completed_at, late}] (null fields without one).
 */
bool	course_results(struct db *, long long course, long long assignment,
	    json_t **rows, char *err, size_t errlen);
/*
 * Sets the course's time zone (an IANA name PostgreSQL knows); false
 * with *invalid and words in err for an unknown one.
 */
bool	course_set_time_zone(struct db *, long long course, const char *tz,
	    bool *invalid, char *err, size_t errlen);

/*
 * Course administration (016): a new title; archiving (an archived
 * course takes no enrolments, its join code does not work, and staff
 * list it under "Archived"); a new join code; taking a member out (their
 * submissions stay). Each false with err in words; *found false when
 * there is no such course or member.
 */
bool	course_rename(struct db *, long long course, const char *title,
	    bool *found, char *err, size_t errlen);
bool	course_set_archived(struct db *, long long course, bool archived,
	    bool *found, char *err, size_t errlen);
bool	course_new_join_code(struct db *, long long course, bool *found,
	    char *err, size_t errlen);
/*
 * Takes user out of the course. A teacher (not admin) may take out
 * students only: teacher_only_students refuses a teacher member.
 */
bool	course_unenrol(struct db *, long long course, long long user,
	    bool students_only, bool *found, char *err, size_t errlen);
/*
 * The open (not archived) course whose join code this is, typed in any
 * case with spaces or dashes: *course 0 when none.
 */
bool	course_by_join_code(struct db *, const char *code, long long *course,
	    char *err, size_t errlen);
/*
 * [{user_id, name, email, role, section, student_number, disabled}] of
 * a course, teachers first, then by section and name.
 */
bool	course_members(struct db *, long long course, json_t **out,
	    char *err, size_t errlen);

#endif
