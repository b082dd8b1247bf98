/*
 * evaluation: the evaluations table, and the result an LLM worker hands
 * back to the pipeline (whatever produced it: the pool fills one in).
 */
#ifndef INTROEVAL_EVALUATION_H
#define INTROEVAL_EVALUATION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;
struct job;

struct evaluation_result {
	/*
	 * The evaluation as stored and shown:
	 *   {scores: {criterion: int}, overall, feedback, strengths,
	 *    improvements, needs_review (ensemble), models: [{backend,
	 *    model, digest, scores, overall}] (ensemble),
	 *    provenance: {backend, url, model, digest, options, num_ctx,
	 *    rubric_id, rubric_version, prompt_sha256, mode}}
	 * Borrowed.
	 */
	json_t		*evaluation;
	const char	*backend;	/* the (first) backend's name */
	const char	*model;		/* the model as the server named it */
	long		 prompt_tokens;
	long		 eval_tokens;
	double		 llm_s;		/* submit to result */
};

/* Stores the evaluation of a held submission and completes it. */
bool	evaluation_save(struct db *, const struct job *,
	    const struct evaluation_result *, char *err, size_t errlen);

/*
 * Evidence quotes per backend, over every evaluation: [{"backend",
 * "quotes", "unverified"}] ordered by backend; "unverified" counts the
 * quotes not found in the transcript (see align.h).
 */
bool	evaluation_evidence_stats(struct db *, json_t **out, char *err,
	    size_t errlen);

#endif
