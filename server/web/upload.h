/*
 * upload: how a received file becomes a submission, and the one-request
 * upload POST /api/v1/submissions.
 *
 * Both ways in (the raw request body here, and the resumable tus uploads
 * of tus.c) end in upload_accept(): the file is examined (media.h:
 * ffprobe, then a decoding pass and the level check), renamed to its final server-made name and recorded as a
 * submission; the database then tells the scheduler (NOTIFY work,
 * sql/007). Nothing else creates submissions from files.
 */
#ifndef INTROEVAL_UPLOAD_H
#define INTROEVAL_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct assignment_pick;
struct req;

#define UPLOAD_NAME_LEN	32	/* hex digits of a stored name */

/* A completely received file, not yet a submission. */
struct upload_file {
	const char	*path;		/* where it was received, in uploads/ */
	const char	*name;		/* its stored name once accepted */
	const char	*label;		/* the client's file name, as sent:
					   only ever shown; may be NULL */
	long long	 size;
	long long	 student_id;
	long long	 assignment_id;	/* as the client named it; 0: none */
};

/* Why upload_accept() did not make a submission. */
enum upload_fail {
	UPLOAD_REFUSED,		/* the content or the assignment: err
				   says why, in words */
	UPLOAD_NOT_FOUND,	/* the assignment is not the student's */
	UPLOAD_NO_DISK,		/* the file could not be moved */
	UPLOAD_NO_DB,		/* the database did not take the row */
	UPLOAD_BUSY,		/* the file could not be examined now */
};

struct upload_done {
	long long	 id;		/* the submission */
	double		 duration_s;
	char		 url[64];	/* its page, /submissions/ID */
	enum upload_fail fail;		/* when upload_accept() failed */
};

/*
 * A client's file name made fit to store and show: its last path
 * segment, valid UTF-8 without control characters, at most outlen-1
 * bytes ("" for NULL).
 */
void	upload_label(const char *in, char *out, size_t outlen);

/* A fresh random stored name: UPLOAD_NAME_LEN hex digits. */
void	upload_new_name(char out[UPLOAD_NAME_LEN + 1]);

/*
 * Examines f->path (media_probe, media_check) under the configured
 * limits, renames it to uploads/<f->name>, creates the submission and
 * wakes the scheduler. On failure out->fail says why and err holds words
 * for the student; a refused file is removed, while after UPLOAD_BUSY,
 * UPLOAD_NO_DISK or UPLOAD_NO_DB the file is left at f->path so the caller may try again or remove it.
 */
bool	upload_accept(struct app *, const struct upload_file *f,
	    struct upload_done *out, char *err, size_t errlen);
/*
 * The one rule for which assignment an upload is filed under, for every
 * way in: the one the client named (0: none), else the student's only
 * open one; the recording's duration (negative before the file is in)
 * must be in its range. False with *fail and words for the student in
 * err. Callers check early (before the bytes arrive) and
 * upload_accept() again with the duration.
 */
bool	upload_assignment(struct app *, long long student, long long requested,
	    double duration_s, struct assignment_pick *, enum upload_fail *fail,
	    char *err, size_t errlen);
/*
 * The HTTP status for a failure of upload_accept(): 404, 422, 500 or
 * 503.
 */
int	upload_fail_status(enum upload_fail);
/* Its API error code: upload_refused, not_found, database_unavailable... */
const char *upload_fail_code(enum upload_fail);

/*
 * Removes the .part files in dir that no request is receiving (a crash
 * cut them short); *removed says how many.
 */
bool	upload_sweep_parts(const char *dir, int *removed);

/*
 * The ?assignment_id=N of the request in *id (0 when absent); false
 * when it is not a number.
 */
bool	upload_query_assignment(struct req *, long long *id);

/*
 * POST /api/v1/submissions: the video as the raw request body, filed
 * under ?assignment_id=N (see upload_assignment).
 */
int	upload_submission(struct req *);

#endif
