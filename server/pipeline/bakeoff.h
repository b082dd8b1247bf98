/*
 * bakeoff: a model bake-off. An admin picks backends and completed
 * submissions (an assignment's, or the last N a teacher adjusted); each
 * backend re-scores each submission `trials` times (temperature 0, seed
 * llm_seed + trial), one model after the other with the GPU's memory
 * cleared in between (the scheduler unloads the models when the next
 * model's runs start). The runs go through the scheduler at low priority
 * (only into room regular evaluations leave, and only when no STT work
 * waits) under the phase rule, and their answers are stored in
 * bakeoff_runs only: a student's result never changes. The report, per
 * backend: mean latency, tokens per second, invalid-answer rate, score
 * stability across trials (mean standard deviation of a criterion's
 * score), and agreement with the teachers' final scores (mean absolute
 * error per criterion, quadratic-weighted kappa over all criteria).
 */
#ifndef INTROEVAL_BAKEOFF_H
#define INTROEVAL_BAKEOFF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

struct bakeoff_run {
	long long	 id;
	long long	 bakeoff_id;
	long long	 submission_id;
	long long	 rubric_id;	/* the one its latest evaluation used */
	char		 backend[64];
	int		 trial;
};

/*
 * Creates a bake-off: backends (array of names, checked by the caller
 * against the configuration), trials 1..10, and either assignment_id > 0
 * (its completed submissions) or last_n > 0 (the last N completed
 * submissions with a teacher's adjustment). *id 0 with a message in err
 * when the selection finds no submission.
 */
bool	 bakeoff_create(struct db *, long long user_id, json_t *backends,
	    int trials, long long assignment_id, int last_n, long long *id,
	    char *err, size_t errlen);
/* Pending runs of running bake-offs, for the phase controller. */
int	 bakeoff_pending(struct db *);
/*
 * One model at a time: the backend whose runs come next (the oldest
 * running bake-off, its backends in their order); false when none wait.
 */
bool	 bakeoff_next_backend(struct db *, char *out, size_t len);
/* Claims up to max of backend's pending runs for node; how many, -1. */
int	 bakeoff_claim(struct db *, const char *node, const char *backend,
	    struct bakeoff_run *, int max, char *err, size_t errlen);
/* Puts runs a node claimed back (after a crash or at shutdown). */
void	 bakeoff_release_node(struct db *, const char *node);
/*
 * Stores one run's outcome: evaluation (scores, overall) when ok, else
 * the error and whether the answer was invalid. Closes the bake-off when
 * its last run ends.
 */
bool	 bakeoff_finish(struct db *, long long run_id, bool ok, bool invalid,
	    const json_t *evaluation, const char *model, double latency_s,
	    long eval_tokens, const char *error, char *err, size_t errlen);
/* [{id, created_at, state, trials, backends, selection, runs, done}] */
json_t	*bakeoff_list(struct db *, char *err, size_t errlen);
/*
 * {id, state, trials, backends, selection, created_at, finished_at,
 *  runs, done, failed, submissions, models: [{backend, model, runs, done,
 *  invalid, invalid_rate, mean_latency_s, tokens_per_s, stability_sd,
 *  mae: {criterion: x}, mae_mean, qwk, compared}]}; NULL with *found
 * false when there is no such bake-off.
 */
json_t	*bakeoff_report(struct db *, long long id, bool *found, char *err,
	    size_t errlen);
/* For the form: {assignments: [{id, label, completed}], adjusted: N}. */
json_t	*bakeoff_choices(struct db *, char *err, size_t errlen);
bool	 bakeoff_cancel(struct db *, long long id, char *err, size_t errlen);

#endif
