/*
 * queue: a submission's life in the submissions table: added by an
 * upload, claimed by a node's workers under a lease that a heartbeat
 * extends, and moved to its outcome only by the worker that holds it.
 * Staff actions (cancel, retry, priority) change it too.
 */
#ifndef INTROEVAL_QUEUE_H
#define INTROEVAL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct db;

/* A claimed submission, as a worker holds it. */
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

/* A new submission in phase stt, scored against the newest rubric. */
bool	queue_add(struct db *, const struct new_submission *, long long *id,
	    char *err, size_t errlen);
/*
 * Claims up to max waiting submissions of `phase` ("stt" or "llm"),
 * most urgent first (priority, then upload time), including any whose
 * lease expired, for this node's worker for lease_s seconds. batch_id
 * (0: none) is recorded on STT claims. *n is how many were claimed.
 */
bool	queue_claim(struct db *, const char *phase, const char *node,
	    const char *worker, int lease_s, long long batch_id, int max,
	    struct job *jobs, int *n, char *err, size_t errlen);
/* Extends the leases of these submissions, where this worker holds them. */
bool	queue_heartbeat(struct db *, const char *worker, const long long *ids,
	    size_t n, int lease_s, char *err, size_t errlen);
/* Gives a claimed but unstarted submission back to the queue. */
bool	queue_release(struct db *, const struct job *, const char *worker,
	    char *err, size_t errlen);
/*
 * After a restart: what earlier processes of this node held goes back to
 * the queue at once (without waiting for their leases). *n is how many.
 */
bool	queue_recover(struct db *, const char *node, const char *worker,
	    int *n, char *err, size_t errlen);
/* Transcription progress (0..1) of a held submission; best effort. */
bool	queue_progress(struct db *, const struct job *, const char *worker,
	    double fraction);

struct queue_counts {
	int	 stt_waiting;	/* claimable now */
	int	 llm_waiting;
	double	 stt_oldest_s;	/* how long the oldest claimable STT waited */
	int	 stt_retrying;	/* waiting for a retry's backoff */
	int	 llm_retrying;
};
bool	queue_counts(struct db *, struct queue_counts *, char *err,
	    size_t errlen);

/*
 * Runs one statement that changes submission id only while this worker
 * holds it (the statement's WHERE says so and it RETURNs a row when it
 * did); no row is an error: the lease expired or staff cancelled it.
 * Every outcome (transcript, evaluation, failure) is written this way.
 */
bool	queue_write_owned(struct db *, const char *sql, int nparams,
	    const char *const *params, long long id, char *err,
	    size_t errlen);
/*
 * Records a failed attempt. A retryable failure waits with exponential
 * backoff while retries remain; otherwise the submission is failed with
 * `message`, which students read: plain words.
 */
bool	queue_fail(struct db *, const struct job *, const char *worker,
	    const char *message, bool retryable, int max_retries,
	    char *err, size_t errlen);

/*
 * Staff actions. *found is false when the submission does not exist or
 * is not in a state the action applies to.
 */
bool	queue_cancel(struct db *, long long id, const char *who, bool *found,
	    char *err, size_t errlen);
bool	queue_retry(struct db *, long long id, bool *found, char *err,
	    size_t errlen);
bool	queue_set_priority(struct db *, long long id, int priority,
	    bool *found, char *err, size_t errlen);

#endif
