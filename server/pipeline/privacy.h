/*
 * privacy: a student's data as they may take it away (the export) and
 * their requests to have it deleted, carried out by an admin
 * (sql/017_privacy.sql; owns deletion_requests). Both are audited.
 */
#ifndef INTROEVAL_PRIVACY_H
#define INTROEVAL_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

enum privacy_outcome {
	PRIVACY_OK,
	PRIVACY_DB_ERROR,	/* err holds the database's message */
	PRIVACY_NOT_FOUND,	/* no such request (or account) */
	PRIVACY_DONE,		/* already asked / already carried out */
};

/*
 * Everything about user_id, for data.json: {exported_at, account (no
 * password hash), consent_acceptances, submissions (each with its
 * transcript and word timings, evaluations, final scores, adjustments,
 * comments with replies, recording_file), deletion_requests}, and
 * *files: the recordings still kept, [{submission_id, stored_name,
 * zip_name, created_at (epoch)}], whose zip_name each submission's
 * recording_file names. Audits the export.
 */
bool	privacy_export(struct db *, long long user_id, json_t **data,
	    json_t **files, char *err, size_t errlen);

/* Opens user_id's request; PRIVACY_DONE when one is open already. */
enum privacy_outcome privacy_request_deletion(struct db *, long long user_id,
	    json_t **out, char *err, size_t errlen);
/* user_id's open request as {id, requested_at}, or JSON null. */
bool	privacy_open_request(struct db *, long long user_id, json_t **out,
	    char *err, size_t errlen);
/*
 * Requests, open ones first, then the newest done: [{id, user_id,
 * name, email (while the account exists), requested_at, done_at,
 * done_by_name, removed, open, submissions, in_pipeline}].
 */
bool	privacy_requests(struct db *, json_t **out, char *err,
	    size_t errlen);
/*
 * Carries out request id for admin_id: cancels the student's
 * submissions still in the pipeline, deletes the account with its
 * submissions, transcripts, evaluations, comments and replies,
 * acceptances and uploads in one transaction that also closes the
 * request, then removes their files from uploads_dir. *out: what was
 * removed, {submissions, comments, files, bytes}.
 */
enum privacy_outcome privacy_carry_out(struct db *, const char *uploads_dir,
	    long long id, long long admin_id, json_t **out, char *err,
	    size_t errlen);

#endif
