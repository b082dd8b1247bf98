/*
 * jobspec: the job specification of a natural-language job request
 * (issue 14): its schema, the deterministic rules parser that turns a
 * teacher's words into a spec, the validator every spec passes (the
 * rules', an LLM's, or one the teacher edited) and a plain-words summary.
 *
 * Pure functions of their inputs: everything the parser needs about the
 * course (students, assignments, sections, backends, the time zone and
 * the clock) comes in a jobspec_ctx the caller fills from the database,
 * so it is testable without one. Never a guess: whatever the words leave
 * open (a name matching two students, a backend that does not exist)
 * becomes a question, and a spec with questions may not run.
 *
 * The schema's single source is schemas/job_spec.schema.json, compiled
 * in as jobspec_schema_json; jobspec_keys lists the keys the validator
 * knows, in the schema's order (a unit test holds the two equal).
 */
#ifndef INTROEVAL_JOBSPEC_H
#define INTROEVAL_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define JOBSPEC_PRIORITY_MAX 1000

typedef struct {
	long long	 id;
	const char	*name;		/* "Priya Shah" */
	const char	*email;
	const char	*number;	/* student number, may be NULL */
	const char	*section;	/* may be NULL */
} jobspec_student;

typedef struct {
	long long	 id;
	int		 number;	/* "assignment 2" */
	const char	*title;
} jobspec_assignment;

typedef struct {
	long long	 course_id;	/* the request's course, 0 = none given */
	const long long	*course_ids;	/* courses the requester may act on */
	size_t		 n_course_ids;
	const char	*tz;		/* IANA name; NULL or "" = UTC */
	time_t		 now;
	const jobspec_student *students;	/* of course_id */
	size_t		 n_students;
	const jobspec_assignment *assignments;
	size_t		 n_assignments;
	const char *const *sections;
	size_t		 n_sections;
	const char *const *backends;	/* configured backend names */
	size_t		 n_backends;
	const char *const *actions_allowed;	/* NULL = all */
	size_t		 n_actions_allowed;
} jobspec_ctx;

extern const char jobspec_schema_json[];
/* The spec's keys, in the schema's order. */
extern const char *const jobspec_keys[];
extern const size_t jobspec_nkeys;

/*
 * The rules parser. Returns 1 when it understood the request: *spec is a
 * complete spec (every key present) and *questions an array (possibly
 * empty) of things to settle before it can run; both new references.
 * Returns 0 when it did not understand (the caller goes to the LLM);
 * *spec and *questions NULL. Every word must be understood: a request
 * with a word outside the vocabulary and the context's names is not
 * guessed at.
 *
 * A request without a course (ctx->course_id 0) acts on the requester's
 * only course; with several, course_id is null and a "missing_course"
 * question asks which. "Late" is a question ("unsupported_filter"): the
 * context has no due dates and the spec no such filter.
 */
int	 jobspec_parse(const char *text, const jobspec_ctx *ctx, json_t **spec,
	    json_t **questions);
/*
 * Validates any spec against the schema AND the context: unknown keys,
 * wrong types, bad enum values, bad timestamps give "invalid_spec"; a
 * null course_id "missing_course"; a course not in course_ids
 * "course_not_yours"; a student id not in students "unknown_student";
 * an assignment id not in assignments "unknown_assignment"; a section
 * not in sections "unknown_section"; an unknown backend
 * "unknown_backend" (with candidates); an action not allowed
 * "action_not_allowed"; since after until "invalid_dates". The context
 * describes the spec's course. Returns a new array (empty = runnable);
 * never modifies spec.
 */
json_t	*jobspec_check(const json_t *spec, const jobspec_ctx *ctx);
/* The spec in plain words, e.g. "Re-evaluate the failed submissions of
   section B since Sat 5 Dec 2026 00:00 (Europe/Berlin) with backend
   llama3". Caller frees. */
char	*jobspec_summary(const json_t *spec, const jobspec_ctx *ctx);

/* A spec with every key at its "any" value (null, []); course_id null
   when 0. New reference. */
json_t	*jobspec_new(const char *action, long long course_id);
/* Appends {"code", "message", "field"} to questions (field may be NULL);
   returns the question so candidates can be added. */
json_t	*jobspec_question(json_t *questions, const char *code,
	    const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Appends {"id", "label"} to the question's "candidates". */
void	 jobspec_candidate(json_t *question, long long id, const char *label);
/* The label of a student in questions: "Priya Shah (priya@x, s123)". */
char	*jobspec_student_label(const jobspec_student *);
/* ISO 8601 date-time ("2026-12-05T00:00:00+01:00", "...Z", fractions
   allowed) to an instant; false when malformed. */
bool	 jobspec_parse_time(const char *, time_t *);

#endif
