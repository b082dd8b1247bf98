/*
 * rubrics: the rubrics a lab and its teachers own (tables rubric_sets
 * and rubrics, sql/015). A rubric is a family with a title and an owner,
 * and numbered versions; a version is immutable once used (a submission,
 * an evaluation, or an assignment with submissions refers to it), so an
 * edit of a used version is saved as the family's next version and past
 * results keep the version they were scored with. rubric.h parses and
 * applies one definition.
 */
#ifndef INTROEVAL_RUBRICS_H
#define INTROEVAL_RUBRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;
struct rubric;

/* The rubric new work is scored with: the default family's newest. */
bool	rubrics_current(struct db *, long long *id, json_t **def,
	    char *err, size_t errlen);
bool	rubrics_get(struct db *, long long id, json_t **def,
	    char *err, size_t errlen);

/*
 * Every family, the lab's default first: [{set_id, title, owner_id,
 * owner_name, is_default, versions: [{id, version, used, created_at,
 * assignments: [{id, title, course_id, course_code}]}]}], newest version
 * first. Assignments are listed only of the courses viewer_id teaches
 * (every course for an admin).
 */
bool	rubrics_list(struct db *, long long viewer_id, const char *role,
	    json_t **out, char *err, size_t errlen);
/*
 * One version: {id, set_id, title, name, version, definition, used,
 * is_default, owner_id, created_at, versions: [{id, version}],
 * assignments: [...] (using this version), family_assignments: [{id,
 * title, course_id, course_code, rubric_id, version}] (using any version
 * of the family)}, or for a student only {id, name, version,
 * definition}. *out NULL when there is no such version.
 */
bool	rubrics_version(struct db *, long long id, long long viewer_id,
	    const char *role, json_t **out, char *err, size_t errlen);
/*
 * Starts a family with version 1 of the parsed rubric (its name is the
 * family's title); *id is the version's id.
 */
bool	rubrics_create(struct db *, const struct rubric *, long long owner_id,
	    long long *id, char *err, size_t errlen);
/*
 * Saves an edit of version from_id: in place when in_place is asked for
 * and the version is unused, else as the family's next version. *id and
 * *version are what was written, *edited_in_place says which; *found
 * false when from_id does not exist.
 */
bool	rubrics_save(struct db *, long long from_id, const struct rubric *,
	    long long user_id, bool in_place, long long *id, int *version,
	    bool *edited_in_place, bool *found, char *err, size_t errlen);
/*
 * Who may change a family: its owner, an admin, and for the lab's own
 * (no owner) any teacher. *found false when the version does not exist.
 */
bool	rubrics_may_edit(struct db *, long long id, long long user_id,
	    const char *role, bool *allowed, bool *found, char *err,
	    size_t errlen);
/* Whether an assignment of one of the student's courses uses version id. */
bool	rubrics_student_may_read(struct db *, long long id,
	    long long student_id, bool *allowed, char *err, size_t errlen);
/* The course of an assignment; *found false when there is none. */
bool	rubrics_assignment_course(struct db *, long long assignment_id,
	    long long *course_id, bool *found, char *err, size_t errlen);

#endif
