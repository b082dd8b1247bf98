/*
 * store: the pipeline's tables (submissions, transcripts, evaluations,
 * rubrics). Every state change of a submission goes through here, as one
 * UPDATE guarded by the claiming worker's id, so a worker whose lease was
 * taken over cannot overwrite the new owner's progress.
 */
#ifndef INTROEVAL_STORE_H
#define INTROEVAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;
struct pool_result;

struct job {
	long long	 id;
	long long	 batch_id;
	char		 stored_name[96];
	int		 retry_count;
	long long	 rubric_id;
	char		 phase[16];
};

struct new_submission {
	long long	 student_id;
	const char	*stored_name;
	const char	*original_name;
	const char	*content_type;
	long long	 size_bytes;
	double		 duration_s;
};

/* The newest rubric, creating the default one on first use. */
bool	store_rubric_current(struct db *, long long *id, json_t **def,
	    char *err, size_t errlen);
bool	store_rubric_get(struct db *, long long id, json_t **def,
	    char *err, size_t errlen);

bool	store_submission_create(struct db *, const struct new_submission *,
	    long long *id, char *err, size_t errlen);
/*
 * Claims up to max waiting submissions of `phase` ("stt" or "llm"),
 * most urgent first (priority, then upload time), including any whose
 * lease expired, for this node's worker for lease_s seconds. batch_id
 * (0: none) is recorded on STT claims. *n is how many were claimed.
 */
bool	store_claim(struct db *, const char *phase, const char *node,
	    const char *worker, int lease_s, long long batch_id, int max,
	    struct job *jobs, int *n, char *err, size_t errlen);
/* Extends the leases of these submissions, where this worker holds them. */
bool	store_heartbeat(struct db *, const char *worker, const long long *ids,
	    size_t n, int lease_s, char *err, size_t errlen);
/* Gives a claimed but unstarted submission back to the queue. */
bool	store_release(struct db *, const struct job *, const char *worker,
	    char *err, size_t errlen);
/*
 * After a restart: what earlier processes of this node held goes back to
 * the queue at once (without waiting for their leases). *n is how many.
 */
bool	store_recover(struct db *, const char *node, const char *worker,
	    int *n, char *err, size_t errlen);
bool	store_stt_progress(struct db *, const struct job *, const char *worker,
	    double fraction);

struct store_counts {
	int	 stt_waiting;	/* claimable now */
	int	 llm_waiting;
	double	 stt_oldest_s;	/* how long the oldest claimable STT waited */
	int	 stt_retrying;	/* waiting for a retry's backoff */
	int	 llm_retrying;
};
bool	store_counts(struct db *, struct store_counts *, char *err,
	    size_t errlen);

bool	store_stt_done(struct db *, const struct job *, const char *worker,
	    const char *engine, const char *text, json_t *words,
	    json_t *metrics, double audio_s, double decode_s,
	    char *err, size_t errlen);
bool	store_transcript(struct db *, long long id, char **text,
	    json_t **metrics, char *err, size_t errlen);
/*
 * Completes a submission with the pool's evaluation (res->ok) and stores
 * its provenance (backend URL, model digest, options, rubric version,
 * prompt hash, mode) and, in ensemble mode, every model's scores.
 */
bool	store_llm_done(struct db *, const struct job *, const char *worker,
	    const struct pool_result *res, char *err, size_t errlen);
/*
 * Records a failed attempt. A retryable failure waits with exponential
 * backoff while retries remain; otherwise the submission is failed with
 * `message`, which students read: plain words.
 */
bool	store_fail(struct db *, const struct job *, const char *worker,
	    const char *message, bool retryable, int max_retries,
	    char *err, size_t errlen);

/*
 * Staff actions. *found is false when the submission does not exist or
 * is not in a state the action applies to.
 */
bool	store_cancel(struct db *, long long id, const char *who, bool *found,
	    char *err, size_t errlen);
bool	store_retry(struct db *, long long id, bool *found, char *err,
	    size_t errlen);
bool	store_set_priority(struct db *, long long id, int priority,
	    bool *found, char *err, size_t errlen);

/*
 * One submission as JSON (row, transcript, newest evaluation, rubric).
 * *found is false when there is no such id.
 */
bool	store_submission_json(struct db *, long long id, json_t **out,
	    bool *found, char *err, size_t errlen);
/* Newest first; student_id 0 lists everyone's. */
bool	store_submissions_list(struct db *, long long student_id, int limit,
	    json_t **out, char *err, size_t errlen);

#endif
