/*
 * rubric: a scoring rubric (named criteria on one integer scale) and its
 * use with an LLM: the JSON schema passed as Ollama's "format", the
 * instruction prompt, and validation of the model's answer into a
 * normalised evaluation object. A parsed rubric is immutable, so one may
 * be shared by threads.
 */
#ifndef INTROEVAL_RUBRIC_H
#define INTROEVAL_RUBRIC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define RUBRIC_MAX_CRITERIA	20
#define RUBRIC_QUOTE_MAX	300	/* bytes of one evidence quote */

struct rubric;

/*
 * Parses a definition such as
 *   {"name": "Self-introduction", "version": 1, "scale": {"min": 1,
 *    "max": 5}, "criteria": [{"key": "content", "title": "Content",
 *    "description": "..."}, ...]}
 * Keys match [a-z_]+ and are unique; 1..20 criteria; min < max; version
 * defaults to 1 and description to "". def is borrowed.
 */
struct rubric	*rubric_parse(json_t *def, char *err, size_t errlen);
/* The lab's default rubric, parsed from rubric_default_json(). */
struct rubric	*rubric_default(void);
void		 rubric_free(struct rubric *);

const char	*rubric_name(const struct rubric *);
int		 rubric_version(const struct rubric *);
int		 rubric_min(const struct rubric *);
int		 rubric_max(const struct rubric *);
size_t		 rubric_count(const struct rubric *);
const char	*rubric_key(const struct rubric *, size_t);
const char	*rubric_title(const struct rubric *, size_t);
const char	*rubric_description(const struct rubric *, size_t);

/* The normalised definition, in the format rubric_parse reads. */
json_t		*rubric_json(const struct rubric *);

/*
 * JSON schema for the answer: {"scores": {<key>: integer min..max, ...},
 * "evidence": {<key>: string (a verbatim quote from the transcript)},
 * "feedback": string, "strengths": [string], "improvements": [string]},
 * scores, evidence and feedback required, no other properties.
 */
json_t		*rubric_schema(const struct rubric *);

/*
 * The instruction prompt for one transcript (caller frees). metrics is an
 * object of speech measurements (words per minute, pauses, ...) or NULL.
 */
char		*rubric_prompt(const struct rubric *, const char *transcript,
		    json_t *metrics);

/*
 * Checks a model's answer (JSON, possibly in a ```json fence) and on
 * success sets *evaluation_out to
 *   {"scores": {...}, "quotes": {<key>: "quote", ...}, "overall":
 *    <mean, 2 decimals>, "feedback": "...", "strengths": [...],
 *    "improvements": [...]}
 * (a criterion without a usable quote has none in "quotes")
 * (caller decrefs). On failure err names the offending criterion.
 */
bool		 rubric_validate(const struct rubric *, const char *content,
		    json_t **evaluation_out, char *err, size_t errlen);

/* The default rubric definition as JSON text. */
const char	*rubric_default_json(void);

#endif
