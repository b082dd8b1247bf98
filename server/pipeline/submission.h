/*
 * submission: submissions as the pages and the API read them (JSON built
 * by PostgreSQL).
 */
#ifndef INTROEVAL_SUBMISSION_H
#define INTROEVAL_SUBMISSION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

/*
 * One submission as JSON (row, transcript, newest evaluation, rubric).
 * *found is false when there is no such id.
 */
bool	submission_json(struct db *, long long id, json_t **out,
	    bool *found, char *err, size_t errlen);
/* Where a submission's recording is, for serving it. */
struct submission_media {
	long long	 student_id;
	char		 stored_name[128];	/* under uploads/, ours */
	char		 content_type[64];	/* from the content */
	char		 removed_on[16];	/* YYYY-MM-DD (UTC) when the
						   retention run removed it,
						   else "" */
};
bool	submission_media(struct db *, long long id,
	    struct submission_media *, bool *found, char *err,
	    size_t errlen);
/*
 * Newest first, what the viewer (user id and role) may see: a student
 * their own, a teacher their courses', an admin everyone's.
 */
bool	submission_list(struct db *, long long viewer, const char *role,
	    int limit, json_t **out, char *err, size_t errlen);
/*
 * What the API's list may narrow to; 0 and NULL mean any. since and
 * until are timestamptz text (created at or after since, before until);
 * after_us and after_id a cursor (rows older than that row; after_id 0:
 * from the newest). Status and phase are checked by the caller.
 */
struct submission_filter {
	long long	 student_id;
	long long	 assignment_id;
	long long	 course_id;
	const char	*status;
	const char	*phase;
	const char	*since;
	const char	*until;
	long long	 after_us;
	long long	 after_id;
	int		 limit;
};
/*
 * submission_list with filters, newest first by (created_at, id); each
 * row has cursor_us, its created_at in microseconds, for the next
 * page's cursor.
 */
bool	submission_list_where(struct db *, long long viewer,
	    const char *role, const struct submission_filter *, json_t **out,
	    char *err, size_t errlen);
/*
 * The one authorization rule for a submission (sql/022,
 * submission_visible): *visible false also when there is no such
 * submission. False on a database error.
 */
bool	submission_visible(struct db *, long long id, long long viewer,
	    const char *role, bool *visible, char *err, size_t errlen);
/* A student's submissions to one assignment, newest first. */
bool	submission_list_for(struct db *, long long student_id,
	    long long assignment_id, json_t **out, char *err, size_t errlen);

#endif
