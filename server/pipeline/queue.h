/*
 * queue: a submission's life in the submissions table: added by an
 * upload, claimed by a node's workers under a lease that a heartbeat
 * extends, and moved to its outcome only by the worker that holds it.
 * Staff actions (cancel, retry, priority) change it too.
 *
 * Claims are fenced: each claim gets a fresh token (job.claim_token), and
 * every later write for it names that token, so a worker whose row was
 * taken over, cancelled or claimed again changes nothing.
 */
#ifndef INTROEVAL_QUEUE_H
#define INTROEVAL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "jobspec.h"

struct db;

/* SQL SET items that end a claim: the row is no longer held. */
#define QUEUE_UNHELD \
	"worker_id = NULL, claim_token = NULL, lease_expires_at = NULL, " \
	"work_started_at = NULL"

/*
 * queue_cancel's error_message starts with this, then names who
 * cancelled: pages tell a cancellation from a failure by it.
 */
#define QUEUE_CANCELLED_PREFIX	"cancelled by "

/* A claimed submission, as a worker holds it. */
struct job {
	long long	 id;
	long long	 claim_token;	/* this claim's fence */
	int		 attempts;	/* claims of the row in this phase */
	long long	 batch_id;
	char		 stored_name[96];
	int		 retry_count;
	long long	 rubric_id;
	char		 phase[16];
	char		 node[64];	/* the claiming node */
	char		 request_id[72]; /* the upload's, for the log; "" */
};

struct new_submission {
	long long	 student_id;
	const char	*stored_name;
	const char	*original_name;
	const char	*content_type;
	long long	 size_bytes;
	double		 duration_s;
	long long	 course_id;	/* 0: none */
	long long	 assignment_id;	/* 0: none */
	long long	 rubric_id;	/* 0: the newest rubric */
	bool		 late;		/* after the assignment's due date */
	const char	*request_id;	/* the upload request's; NULL: none */
};

/*
 * A new submission in phase stt, scored against ns->rubric_id (the
 * assignment's version) or else the newest rubric.
 */
bool	queue_add(struct db *, const struct new_submission *, long long *id,
	    char *err, size_t errlen);
/*
 * Claims up to max waiting submissions of `phase` ("stt" or "llm"),
 * most urgent first (priority, then upload time), for this node's
 * worker for lease_s seconds (an expired lease is queue_rescue's). batch_id
 * (0: none) is recorded on STT claims. *n is how many were claimed.
 */
bool	queue_claim(struct db *, const char *phase, const char *node,
	    const char *worker, int lease_s, long long batch_id, int max,
	    struct job *jobs, int *n, char *err, size_t errlen);
/*
 * Says that the holder begins the work (an attempt that a crash would
 * now cut short). False with a message when the claim is no longer the
 * row's (the work must then not be done).
 */
bool	queue_begin(struct db *, const struct job *, char *err, size_t errlen);
/* Extends the leases of these claims, where they are still the rows'. */
bool	queue_heartbeat(struct db *, const long long *tokens, size_t n,
	    int lease_s, char *err, size_t errlen);
/* Gives a claimed but unstarted submission back to the queue. */
bool	queue_release(struct db *, const struct job *, char *err,
	    size_t errlen);
/*
 * A graceful stop: gives every submission this worker holds back to the
 * queue at once (pending, claimable by any node now; the claim is not
 * counted as an attempt or a crash). Its late results are then stale
 * writes and change nothing. *n is how many.
 */
bool	queue_release_worker(struct db *, const char *worker, int *n,
	    char *err, size_t errlen);
/*
 * Hands back what no live worker holds: submissions of `node` (the
 * caller holds that node's lock, so no other process of it runs; NULL:
 * none) and any whose lease expired. One whose work had begun (in any
 * phase but prep, whose ffmpeg cannot take the server down) counts a
 * crash; at max_attempts crashes it is failed with a message for staff
 * instead. *rescued and *quarantined say how many of each.
 */
bool	queue_rescue(struct db *, const char *node, int max_attempts,
	    int *rescued, int *quarantined, char *err, size_t errlen);
/*
 * The job's sound is prepared (phase prep): it moves to the STT queue,
 * fenced like every outcome.
 */
bool	queue_prep_done(struct db *, const struct job *, char *err,
	    size_t errlen);
/* Transcription progress (0..1) of a held submission; best effort. */
bool	queue_progress(struct db *, const struct job *, double fraction);

struct queue_counts {
	int	 stt_waiting;	/* claimable now */
	int	 llm_waiting;
	int	 prep_waiting;	/* being prepared or claimable for it */
	double	 stt_oldest_s;	/* how long the oldest claimable STT waited */
	int	 stt_retrying;	/* waiting for a retry's backoff */
	int	 llm_retrying;
};
bool	queue_counts(struct db *, struct queue_counts *, char *err,
	    size_t errlen);

/*
 * Runs one statement that changes the job's submission only while its
 * claim is still the row's: the statement's WHERE names the claim token
 * ($2 by convention) and it RETURNs a row when it did. No row is an
 * error: the result is dropped (the row was taken over, cancelled or
 * claimed again), logged and counted in system_state.stale_writes. Every
 * outcome (transcript, evaluation, failure) is written this way, and each
 * clears the token, so running it twice cannot count anything twice.
 */
bool	queue_write_owned(struct db *, const char *sql, int nparams,
	    const char *const *params, const struct job *, char *err,
	    size_t errlen);
/*
 * Records a failed attempt. A retryable failure waits with exponential
 * backoff while retries remain; otherwise the submission is failed with
 * `message`, which students read: plain words.
 */
bool	queue_fail(struct db *, const struct job *, const char *message,
	    bool retryable, int max_retries, char *err, size_t errlen);

/*
 * Staff actions. *found is false when the submission does not exist or
 * is not in a state the action applies to.
 */
bool	queue_cancel(struct db *, long long id, const char *who, bool *found,
	    char *err, size_t errlen);
bool	queue_retry(struct db *, long long id, bool *found, char *err,
	    size_t errlen);
/*
 * Re-evaluation of an assignment with rubric version rubric_id: the
 * assignment takes that version, and each of its counting submissions
 * that is completed and has a transcript goes back to the LLM phase
 * (pending, normal priority) with the new version, for the scheduler to
 * take up; one not yet evaluated and not being worked on takes the new
 * version too. *found false when there is no such assignment; *queued
 * is how many go back.
 */
bool	queue_reevaluate(struct db *, long long assignment_id,
	    long long rubric_id, bool *found, int *queued, char *err,
	    size_t errlen);
/*
 * The highest priority a submission can have ("to the front"); the
 * lowest is its negative. One constant for the API and the jobs.
 */
#define QUEUE_PRIORITY_MAX	JOBSPEC_PRIORITY_MAX
bool	queue_set_priority(struct db *, long long id, int priority,
	    bool *found, char *err, size_t errlen);
/*
 * One evaluated submission (completed, with a transcript) goes back to
 * the LLM phase, with rubric version rubric_id (0: the one it has).
 * *found false when it is not in that state.
 */
bool	queue_reevaluate_one(struct db *, long long id, long long rubric_id,
	    bool *found, char *err, size_t errlen);
/*
 * Takes a waiting submission that no worker holds out of the queue: one
 * that was evaluated before goes back to completed (its evaluations are
 * kept), any other is cancelled like queue_cancel. *found false when it
 * is held or finished.
 */
bool	queue_withdraw(struct db *, long long id, const char *who,
	    bool *found, char *err, size_t errlen);

#endif
