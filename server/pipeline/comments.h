/*
 * comments: time-coded comments on a submission's recording and the
 * student's one reply to each (sql/012_comments.sql). Owns the comments
 * and comment_replies tables.
 *
 * A comment as JSON (the list's elements and what the writes return):
 *   {id, submission_id, at_s, body, author_id, author_name, created_at,
 *    reply: null | {id, body, author_id, author_name, created_at}}
 *
 * Who may call what is the caller's to enforce for roles (only staff
 * comment); what depends on the data (only the submission's own student
 * replies, once) is decided here and reported as an outcome, so the web
 * layer turns it into a status in one place.
 */
#ifndef INTROEVAL_COMMENTS_H
#define INTROEVAL_COMMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

#define COMMENTS_BODY_MAX	2000	/* characters, not bytes */

enum comments_outcome {
	COMMENTS_OK,
	COMMENTS_DB_ERROR,	/* err holds the database's message */
	COMMENTS_NOT_FOUND,	/* no such submission or comment */
	COMMENTS_INVALID,	/* err says what is wrong, in words */
	COMMENTS_NOT_OWNER,	/* not the submission's student / author */
	COMMENTS_DUPLICATE	/* this comment already has its reply */
};

/*
 * Adds author_id's comment at at_s seconds into submission_id's
 * recording. at_s must be finite and not negative; when the recording's
 * duration is known, a moment just past its end (the player's clock can
 * run a little beyond the rounded duration) is clamped to the end, one
 * further out is refused. The body is trimmed of surrounding blanks and
 * must then hold 1 to COMMENTS_BODY_MAX characters of UTF-8. *out (the
 * new comment) is set on COMMENTS_OK only; the caller decrefs it.
 */
enum comments_outcome	comments_add(struct db *, long long submission_id,
			    long long author_id, double at_s,
			    const char *body, json_t **out, char *err,
			    size_t errlen);
/*
 * Adds student_id's reply to comment_id: COMMENTS_NOT_OWNER unless the
 * comment is on one of student_id's own submissions, COMMENTS_DUPLICATE
 * when it was answered already. *out is the comment with its reply.
 */
enum comments_outcome	comments_reply(struct db *, long long comment_id,
			    long long student_id, const char *body,
			    json_t **out, char *err, size_t errlen);
/*
 * Deletes comment_id (and its reply) for its author, or for anyone when
 * any_author is set (admins). *submission_id names where it was.
 */
enum comments_outcome	comments_delete(struct db *, long long comment_id,
			    long long author_id, bool any_author,
			    long long *submission_id, char *err,
			    size_t errlen);
/*
 * The comments of submission_id with their replies, in the order of the
 * recording (at_s, then as written), and the submission's student for
 * the caller's authorization. COMMENTS_NOT_FOUND: no such submission.
 */
enum comments_outcome	comments_list(struct db *, long long submission_id,
			    long long *student_id, json_t **out, char *err,
			    size_t errlen);
/*
 * Reads a moment as a person types it: seconds ("75", "75.5") or
 * minutes and seconds ("1:15", "1:15.5"). False for anything else.
 */
bool	comments_parse_time(const char *, double *seconds);

#endif
