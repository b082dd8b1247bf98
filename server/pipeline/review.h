/*
 * review: what a teacher changes on a scored introduction: score
 * adjustments (tables score_adjustments and score_audit, sql/011) and
 * the final scores they make (SQL function final_scores).
 */
#ifndef INTROEVAL_REVIEW_H
#define INTROEVAL_REVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

#define REVIEW_COMMENT_MAX	2000	/* characters */

/* One change: a criterion's new score, or back to the model's. */
struct review_change {
	const char	*criterion;	/* a key of the submission's rubric */
	bool		 to_model;	/* true: remove the adjustment */
	long long	 score;		/* within the rubric's scale */
	const char	*comment;	/* required; the student reads it */
	long long	 user_id;	/* who */
	const char	*user_name;
};

enum review_outcome {
	REVIEW_DONE,
	REVIEW_REFUSED,		/* err says why, in words for the teacher */
	REVIEW_NO_SUBMISSION,
	REVIEW_DB_ERROR		/* err has the database's message */
};

/*
 * Checks the change against the submission's rubric and newest
 * evaluation and, in one transaction, stores the adjustment (or removes
 * it), appends the audit row and bumps submissions.review_seq, so open
 * pages refresh. Only a completed, scored submission can be adjusted.
 */
enum review_outcome review_adjust(struct db *, long long submission_id,
	    const struct review_change *, char *err, size_t errlen);

/*
 * {"final": final_scores(), "adjustments": [{criterion, score,
 * model_score (the newest evaluation's), comment, by, at, and for staff
 * by_id, model_score_then, model_changed, evaluation_id}], and for staff
 * "audit": [...] as review_audit_json}. A student never gets the audit
 * trail. The caller has checked that the submission exists and may be
 * seen.
 */
bool	review_json(struct db *, long long submission_id, bool staff,
	    json_t **out, char *err, size_t errlen);

/*
 * The audit trail, oldest first: [{id, criterion, before, after (null:
 * back to the model's score), model_score, comment, by, by_id, at,
 * evaluation_id}]. *found is false when there is no such submission.
 */
bool	review_audit_json(struct db *, long long submission_id,
	    json_t **out, bool *found, char *err, size_t errlen);

#endif
