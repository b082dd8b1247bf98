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

struct job {
	long long	 id;
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
 * Claims the most urgent waiting submission of `phase` ("stt" or "llm"),
 * or one whose lease expired, for `lease_s` seconds. *got is false when
 * nothing is waiting.
 */
bool	store_claim(struct db *, const char *phase, const char *worker,
	    int lease_s, struct job *, bool *got, char *err, size_t errlen);
bool	store_stt_done(struct db *, const struct job *, const char *worker,
	    const char *engine, const char *text, json_t *words,
	    json_t *metrics, double audio_s, double decode_s,
	    char *err, size_t errlen);
bool	store_transcript(struct db *, long long id, char **text,
	    json_t **metrics, char *err, size_t errlen);
bool	store_llm_done(struct db *, const struct job *, const char *worker,
	    const char *backend, const char *model, json_t *evaluation,
	    long prompt_tokens, long eval_tokens, double llm_s,
	    char *err, size_t errlen);
/*
 * Records a failed attempt. A retryable failure waits with exponential
 * backoff while retries remain; otherwise the submission is failed with
 * `message`, which students read: plain words.
 */
bool	store_fail(struct db *, const struct job *, const char *worker,
	    const char *message, bool retryable, int max_retries,
	    char *err, size_t errlen);

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
