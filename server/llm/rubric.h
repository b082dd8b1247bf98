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
#define RUBRIC_MAX_LEVELS	11	/* levels a scale with descriptors has */

struct rubric;

/*
 * Where a definition is wrong, for a form that shows the words next to
 * the field: criterion is the index in "criteria" (-1: the rubric's own
 * name, version, scale or criteria list), field the member's name, msg
 * the reason as it reads after the field's name ("must not be empty").
 */
struct rubric_fault {
	int	 criterion;
	char	 key[64];	/* the criterion's key, when it had one */
	char	 field[16];
	char	 msg[200];
};

/*
 * Parses a definition such as
 *   {"name": "Self-introduction", "version": 1, "scale": {"min": 1,
 *    "max": 5}, "criteria": [{"key": "content", "title": "Content",
 *    "description": "...", "weight": 2, "descriptors": ["...", ...]},
 *    ...]}
 * Keys match [a-z_]+ and are unique; 1..20 criteria; min < max; version
 * defaults to 1 and description to "". weight is a number in (0, 1000],
 * 1 when absent; descriptors, when present, are one non-empty text per
 * level from min to max (at most RUBRIC_MAX_LEVELS). def is borrowed.
 */
struct rubric	*rubric_parse(json_t *def, char *err, size_t errlen);
/* rubric_parse, saying where the definition is wrong in *fault. */
struct rubric	*rubric_parse_fault(json_t *def, struct rubric_fault *fault);
/* The fault in the words rubric_parse puts in err. */
void		 rubric_fault_text(const struct rubric_fault *, char *err,
		    size_t errlen);
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
double		 rubric_weight(const struct rubric *, size_t);
/* What a score of level means for criterion i, or NULL (none given). */
const char	*rubric_descriptor(const struct rubric *, size_t, int level);

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
 *    <weighted mean, 2 decimals>, "feedback": "...", "strengths": [...],
 *    "improvements": [...]}
 * (a criterion without a usable quote has none in "quotes")
 * (caller decrefs). On failure err names the offending criterion.
 */
bool		 rubric_validate(const struct rubric *, const char *content,
		    json_t **evaluation_out, char *err, size_t errlen);

/* The default rubric definition as JSON text. */
const char	*rubric_default_json(void);

#endif
