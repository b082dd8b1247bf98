/*
 * transcript_view: the result page's transcript and evidence as a reader
 * sees them: every word with its times (a control that seeks the
 * recording), fillers and long pauses marked, and under each criterion
 * the quote that supports its score with the moment it was said.
 */
#ifndef INTROEVAL_TRANSCRIPT_VIEW_H
#define INTROEVAL_TRANSCRIPT_VIEW_H

#include <stdbool.h>

#include <jansson.h>

/*
 * Adds to sub (submission_json()'s object, with "criteria" already built
 * by the page): transcript.tokens, transcript.has_words,
 * transcript.metrics.wpm_text, and per criterion "proof" {quote,
 * start, end, at} when the quote was found in the transcript, or, for
 * staff only, "proof_unverified" {quote} when it was not. A student is
 * never shown a quote they did not say. (Names no outer context has: a
 * template section looks a missing name up in the outer ones.)
 */
void	 transcript_view(json_t *sub, bool staff);

#endif
