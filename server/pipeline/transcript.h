/*
 * transcript: the transcripts table: what the STT engine heard, with word
 * timings and speech metrics.
 */
#ifndef INTROEVAL_TRANSCRIPT_H
#define INTROEVAL_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;
struct job;

/*
 * Stores the transcript of a held submission and moves it to the LLM
 * queue, in one statement. words: [{word, start, end, ...}].
 */
bool	transcript_save(struct db *, const struct job *, const char *engine,
	    const char *text, json_t *words,
	    json_t *metrics, double audio_s, double decode_s,
	    char *err, size_t errlen);
/* The text and metrics (NULL if none) of submission id's transcript. */
bool	transcript_get(struct db *, long long id, char **text,
	    json_t **metrics, char *err, size_t errlen);

/* The timed words of submission id's transcript ([] when it has none). */
bool	transcript_words(struct db *, long long id, json_t **words,
	    char *err, size_t errlen);

#endif
