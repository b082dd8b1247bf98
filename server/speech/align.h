/*
 * align: finds a quote (the words a scoring model says the student spoke)
 * in a timed transcript, so a score's evidence can be played.
 *
 * Both sides are compared as normalised words: lower case, letters and
 * digits only (apostrophes dropped, so "I'm" is "im"; other punctuation
 * splits, so "twenty-one" is two words). The quote may start and end
 * anywhere in the transcript (a semi-global alignment at word level);
 * inside it a word may be missing, extra or different, each costing 1,
 * except that a word spelt nearly alike (recognition noise such as
 * "colour"/"color", "studying"/"studyin") costs 1/2. A quote is found
 * when its cost is at most ALIGN_MAX_ERRORS_PER_WORD of its words
 * (rounded down, at least 1 for quotes of ALIGN_MIN_FUZZY_WORDS words or
 * more, 0 for shorter ones). When it occurs more than once, the first
 * occurrence with the lowest cost wins.
 */
#ifndef INTROEVAL_ALIGN_H
#define INTROEVAL_ALIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "stt.h"

#define ALIGN_MAX_ERRORS_PER_WORD	0.25
#define ALIGN_MIN_FUZZY_WORDS		3
#define ALIGN_MAX_QUOTE_WORDS		80	/* longer quotes: not found */

struct align_match {
	size_t	 first;		/* index of the first transcript word */
	size_t	 last;		/* index of the last one (inclusive) */
	double	 start_s;	/* first's start */
	double	 end_s;		/* last's end */
	double	 cost;		/* edit cost, 0 for an exact match */
};

/*
 * Looks for quote in words[0..n-1] (time order). Returns whether it was
 * found; *m is filled only then.
 */
bool	 align_quote(const struct stt_word *words, size_t n,
	    const char *quote, struct align_match *m);

#endif
