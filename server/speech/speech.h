/*
 * speech: delivery metrics from the word timings of a transcript.
 *
 * Definitions (all times in seconds):
 *  - duration_s: the length of the audio (audio_s), or the end of the
 *    last word when audio_s is not positive.
 *  - a pause is the gap between one word's end and the next one's start;
 *    a long pause is one over SPEECH_LONG_PAUSE_S. Silence before the
 *    first word and after the last is not a pause.
 *  - speaking_s: from the first word's start to the last word's end,
 *    minus every long pause. Short pauses belong to speaking.
 *  - word_count: every recognised word, fillers included.
 *  - wpm and fillers_per_min are per minute of speaking_s (0 when there
 *    is no speaking time).
 *  - fillers: "um", "umm", "uh", "er", "ah", "hmm" always; "like" unless
 *    the word before makes it a verb or a comparison ("I like", "would
 *    like", "looks like", "something like"); "you know" as a pair, one
 *    filler, unless it is a question or a clause ("do you know", "if you
 *    know"). Case and punctuation are ignored.
 *  - type_token_ratio: distinct words / words, both without fillers and
 *    ignoring case; 0 when there are no such words.
 */
#ifndef INTROEVAL_SPEECH_H
#define INTROEVAL_SPEECH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "stt.h"

#define SPEECH_LONG_PAUSE_S	1.0

struct speech_metrics {
	double	 duration_s;
	double	 speaking_s;
	double	 wpm;
	double	 fillers_per_min;
	double	 longest_pause_s;
	double	 type_token_ratio;
	int	 word_count;
	int	 filler_count;
	int	 long_pauses;
};

/* Words in time order, as stt_transcribe() returns them. */
void	 speech_metrics_compute(const struct stt_word *, size_t n,
	    double audio_s, struct speech_metrics *);

/*
 * Marks each word that is (part of) a filler in mark[0..n-1], which may
 * be NULL; returns the number of fillers ("you know" counts once).
 */
size_t	 speech_fillers(const struct stt_word *, size_t n, bool *mark);

/*
 * The words as a reader sees them marked: [{"w", "s", "e", "filler":
 * true|false, "pause": "1.4"}], where "pause" (the long pause before
 * the word, one decimal, as text) is present only after a long pause.
 */
json_t	*speech_annotate(const struct stt_word *, size_t n);

/*
 * {"duration_s":..,"speaking_s":..,"wpm":..,"fillers_per_min":..,
 *  "longest_pause_s":..,"type_token_ratio":..,"word_count":..,
 *  "filler_count":..,"long_pauses":..}; reals rounded to 2 decimals
 * (type_token_ratio to 3).
 */
json_t	*speech_metrics_to_json(const struct speech_metrics *);

#endif
