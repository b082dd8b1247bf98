/*
 * jobs: natural-language job requests once they are understood (issue
 * 14; tables jobs and job_items, sql/018). jobspec.h turns words into a
 * job specification and checks it; this module gives it what it checks
 * against (the requester's courses, roster, assignments, sections and
 * backends), finds the submissions a spec matches, and runs a confirmed
 * spec through the queue's own staff actions:
 *
 *   evaluate     failed ones are retried; waiting ones are followed;
 *                evaluated ones are skipped
 *   re_evaluate  evaluated ones go back to the LLM phase (rubric_version,
 *                a rubrics row id, when given); failed ones are retried;
 *                waiting ones are followed
 *   retry        queue_retry
 *   cancel       queue_cancel
 *   prioritize   queue_set_priority (JOBSPEC_PRIORITY_MAX: the front)
 *   export       nothing changes; the job's CSV is its matched results
 *
 * `backend` pins are not supported by the scheduler: a spec that names a
 * backend for work that would be evaluated gets the question
 * backend_not_supported and cannot run.
 *
 * Who may ask: the caller passes the ids of the courses the requester
 * may act on (web's course_list: a teacher's own, every course for an
 * admin); nothing outside them is ever matched or loaded.
 */
#ifndef INTROEVAL_JOBS_H
#define INTROEVAL_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "jobspec.h"

struct config;
struct db;

/* The courses a requester may act on, and who they are. */
struct jobs_who {
	long long	 user_id;
	const char	*name;		/* for "cancelled by" */
	const long long	*course_ids;
	size_t		 n_course_ids;
};

/* A jobspec_ctx and the storage it points into. */
struct jobs_ctx;

/*
 * Loads the context for requests about course_id (0: any of the
 * requester's courses): roster, assignments, sections of the allowed
 * courses (only course_id's when it is one of them), the configured
 * backend names, the course's time zone and now.
 */
struct jobs_ctx	*jobs_ctx_load(struct db *, const struct config *,
		    const struct jobs_who *, long long course_id, char *err,
		    size_t errlen);
const jobspec_ctx *jobs_ctx_spec(const struct jobs_ctx *);
void		 jobs_ctx_free(struct jobs_ctx *);

/*
 * jobspec_check and this module's own refusals (a backend pin, a course
 * outside the requester's): an array of questions, empty when the spec
 * can run. Caller decrefs.
 */
json_t		*jobs_check(const json_t *spec, const struct jobs_ctx *);

/* A spec with every filter at "any" and action re_evaluate. */
json_t		*jobs_spec_empty(void);

/* The ids of the submissions a checked spec matches, oldest first. */
bool		 jobs_match(struct db *, const json_t *spec,
		    const struct jobs_who *, json_t **ids, char *err,
		    size_t errlen);

/*
 * Understands a request: the rules first, then (when they cannot) the
 * language model (jobs_llm.c); checks it and matches it. Nothing
 * changes. *out: {parser, spec, summary, matches: {count,
 * submission_ids}, questions}.
 */
bool		 jobs_preview(struct db *, const struct config *,
		    const struct jobs_ctx *, const struct jobs_who *,
		    const char *request, json_t **out, char *err,
		    size_t errlen);

/*
 * The preview of a spec sent as it is (a form, an edit): the same
 * answer with parser "form".
 */
bool		 jobs_preview_spec(struct db *, const struct jobs_ctx *,
		    const struct jobs_who *, const json_t *spec,
		    json_t **out, char *err, size_t errlen);

/*
 * Confirms a spec: when jobs_check has questions, *questions holds them
 * (caller decrefs) and nothing is written; otherwise the job is stored
 * and run, and *id is its id. parser: "rules", "llm" or "form".
 */
bool		 jobs_create(struct db *, const struct jobs_ctx *,
		    const struct jobs_who *, const json_t *spec,
		    const char *request, const char *parser, long long *id,
		    json_t **questions, char *err, size_t errlen);

/*
 * One job with its progress: {id, course_id, course_code, requested_by,
 * requested_by_name, request_text, parser, action, spec, summary, state,
 * error, created_at, finished_at, matched, queued, done, failed,
 * skipped, cancelled, items: [{submission_id, state, detail, student_id,
 * student_name, section, phase, status}]}. *out NULL when there is no
 * such job among who's courses.
 */
bool		 jobs_get(struct db *, long long id, const struct jobs_who *,
		    json_t **out, char *err, size_t errlen);
/* The course of a job; *found false when there is no such job. */
bool		 jobs_course(struct db *, long long id, long long *course,
		    bool *found, char *err, size_t errlen);
/* The newest jobs of who's courses (no items), at most limit. */
bool		 jobs_list(struct db *, const struct jobs_who *, int limit,
		    json_t **out, char *err, size_t errlen);
/*
 * Cancels a running job: what has not started is withdrawn from the
 * queue (queue_withdraw); what is being worked on finishes. *found false
 * when there is no such job among who's courses, *running false when it
 * had already ended.
 */
bool		 jobs_cancel(struct db *, long long id,
		    const struct jobs_who *, bool *found, bool *running,
		    char *err, size_t errlen);

/*
 * jobs_llm.c: asks the configured language models, one after another,
 * for a spec (the schema as Ollama's format / OpenAI's json_schema).
 * true with *spec when one answered with JSON; false with the reason in
 * err when none could (none configured, all down, jobs_llm_timeout_s 0).
 * The answer is not checked here.
 */
bool		 jobs_llm_parse(const struct config *, const char *request,
		    const jobspec_ctx *, json_t **spec, char *err,
		    size_t errlen);

#endif
