/*
 * align: a quote found in a timed transcript (see align.h for the rules).
 *
 * Costs are kept doubled, as integers: a near miss is 1, a wrong, missing
 * or extra word 2. The dynamic programme keeps two rows of costs and, per
 * cell, the transcript token where the cell's alignment began, so the
 * match's first word comes out without a traceback.
 */
#include "align.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TOKEN_MAX	48	/* bytes kept of one normalised word */

struct tokens {
	char	(*t)[TOKEN_MAX];
	size_t	*word;		/* transcript word each token came from */
	size_t	 n, cap;
};

static void	 tokenize(struct tokens *, const char *, size_t word);
static size_t	 unicode_punct(const unsigned char *);
static void	 push(struct tokens *, const char *, size_t, size_t);
static int	 sub_cost(const char *, const char *);
static size_t	 edit_distance(const char *, const char *);
static void	 tokens_free(struct tokens *);

bool
align_quote(const struct stt_word *words, size_t n, const char *quote,
    struct align_match *m)
{
	struct tokens q = { 0 }, t = { 0 };
	size_t i, j, best_j = 0, *sprev, *scur, *stmp;
	int *dprev, *dcur, *dtmp, best = -1, allowed;
	bool found = false;

	tokenize(&q, quote != NULL ? quote : "", 0);
	for (i = 0; i < n; i++)
		tokenize(&t, words[i].word != NULL ? words[i].word : "", i);
	if (q.n == 0 || q.n > ALIGN_MAX_QUOTE_WORDS || t.n == 0)
		goto out;
	allowed = q.n < ALIGN_MIN_FUZZY_WORDS ? 0 :
	    2 * (int)(ALIGN_MAX_ERRORS_PER_WORD * (double)q.n);
	if (q.n >= ALIGN_MIN_FUZZY_WORDS && allowed < 2)
		allowed = 2;
	dprev = xcalloc(t.n + 1, sizeof(*dprev));
	dcur = xcalloc(t.n + 1, sizeof(*dcur));
	sprev = xcalloc(t.n + 1, sizeof(*sprev));
	scur = xcalloc(t.n + 1, sizeof(*scur));
	/* Row 0: the quote may begin before any transcript token. */
	for (j = 0; j <= t.n; j++)
		sprev[j] = j;
	for (i = 1; i <= q.n; i++) {
		dcur[0] = (int)(2 * i);
		scur[0] = 0;
		for (j = 1; j <= t.n; j++) {
			int diag = dprev[j - 1] + sub_cost(q.t[i - 1],
			    t.t[j - 1]);
			int up = dprev[j] + 2, left = dcur[j - 1] + 2;

			if (diag <= up && diag <= left) {
				dcur[j] = diag;
				scur[j] = sprev[j - 1];
			} else if (up <= left) {
				dcur[j] = up;
				scur[j] = sprev[j];
			} else {
				dcur[j] = left;
				scur[j] = scur[j - 1];
			}
		}
		dtmp = dprev, dprev = dcur, dcur = dtmp;
		stmp = sprev, sprev = scur, scur = stmp;
	}
	/* The first end with the lowest cost: the first occurrence. */
	for (j = 1; j <= t.n; j++)
		if (best < 0 || dprev[j] < best) {
			best = dprev[j];
			best_j = j;
		}
	if (best >= 0 && best <= allowed && sprev[best_j] < best_j) {
		m->first = t.word[sprev[best_j]];
		m->last = t.word[best_j - 1];
		m->start_s = words[m->first].start_s;
		m->end_s = words[m->last].end_s;
		m->cost = best / 2.0;
		found = true;
	}
	free(dprev);
	free(dcur);
	free(sprev);
	free(scur);
out:
	tokens_free(&q);
	tokens_free(&t);
	return found;
}

/*
 * Splits s into normalised words: ASCII letters lowered, digits and
 * non-ASCII bytes kept, apostrophes (' and U+2019) dropped, anything else
 * a separator.
 */
static void
tokenize(struct tokens *tk, const char *s, size_t word)
{
	char cur[TOKEN_MAX];
	size_t len = 0;
	const unsigned char *p = (const unsigned char *)s;

	for (;; p++) {
		if (*p == '\'' || (p[0] == 0xE2 && p[1] == 0x80 &&
		    p[2] == 0x99)) {
			if (*p == 0xE2)
				p += 2;
			continue;
		}
		if (unicode_punct(p) > 0) {
			p += unicode_punct(p) - 1;
			if (len > 0)
				push(tk, cur, len, word);
			len = 0;
			continue;
		}
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p >= 0x80) {
			if (len < TOKEN_MAX - 1)
				cur[len++] = (char)*p;
			continue;
		}
		if (*p >= 'A' && *p <= 'Z') {
			if (len < TOKEN_MAX - 1)
				cur[len++] = (char)(*p - 'A' + 'a');
			continue;
		}
		if (len > 0)
			push(tk, cur, len, word);
		len = 0;
		if (*p == '\0')
			break;
	}
}

/*
 * The length of the UTF-8 punctuation at p (Latin-1's U+00A0..U+00BF:
 * no-break space, guillemets, inverted marks; General Punctuation's
 * U+2000..U+206F: dashes, curly quotes, ellipsis), else 0. U+2019, the
 * typographic apostrophe, is handled by the caller.
 */
static size_t
unicode_punct(const unsigned char *p)
{
	if (p[0] == 0xC2 && p[1] >= 0xA0 && p[1] <= 0xBF)
		return 2;
	if (p[0] == 0xE2 && (p[1] == 0x80 || p[1] == 0x81) &&
	    p[2] >= 0x80 && p[2] <= 0xBF)
		return 3;
	return 0;
}

static void
push(struct tokens *tk, const char *s, size_t len, size_t word)
{
	if (tk->n == tk->cap) {
		tk->cap = tk->cap ? tk->cap * 2 : 64;
		tk->t = xrealloc(tk->t, tk->cap * sizeof(*tk->t));
		tk->word = xrealloc(tk->word, tk->cap *
		    sizeof(*tk->word));
	}
	memcpy(tk->t[tk->n], s, len);
	tk->t[tk->n][len] = '\0';
	tk->word[tk->n++] = word;
}

/* 0 for the same word, 1 for one spelt nearly alike, else 2. */
static int
sub_cost(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), shorter = la < lb ? la : lb;
	size_t limit;

	if (strcmp(a, b) == 0)
		return 0;
	if (shorter < 4)
		return 2;
	limit = (la > lb ? la : lb) / 4;
	return edit_distance(a, b) <= (limit ? limit : 1) ? 1 : 2;
}

/* Levenshtein distance of two words of under TOKEN_MAX bytes. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[TOKEN_MAX + 1], diag, up;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = a[i - 1] == b[j - 1] ? diag : 1 + (diag < up ?
			    (diag < row[j - 1] ? diag : row[j - 1]) :
			    (up < row[j - 1] ? up : row[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

static void
tokens_free(struct tokens *tk)
{
	free(tk->t);
	free(tk->word);
	memset(tk, 0, sizeof(*tk));
}
