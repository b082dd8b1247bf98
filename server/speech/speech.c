/*
 * speech: pace, pauses, fillers and vocabulary from word timings (the
 * definitions are in speech.h). Pure functions of their input: no
 * state, safe from any thread.
 */
#include "speech.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SPEECH_WORDLEN	48	/* longer words are compared truncated */

static void	 norm(const char *, char *);
static bool	 in_list(const char *, const char *const *);
static double	 type_token_ratio(const struct stt_word *, size_t,
		    const bool *);
static int	 cmp_str(const void *, const void *);
static double	 round_to(double, double);

/* Hesitation sounds: fillers wherever they occur. */
static const char *const always_fillers[] = {
	"um", "umm", "uh", "er", "ah", "hmm", NULL,
};

/* After these, "like" is a verb or a comparison, not a filler. */
static const char *const like_governors[] = {
	"i", "you", "we", "they", "he", "she", "who", "i'd", "you'd", "we'd",
	"they'd", "he'd", "she'd", "would", "really", "also", "do", "does",
	"did", "don't", "doesn't", "didn't", "to", "not", "just", "things",
	"something", "anything", "nothing", "look", "looks", "looked",
	"feel", "feels", "felt", "seem", "seems", "seemed", "sound", "sounds",
	"sounded", "more", "much", "people", NULL,
};

/* After these, "you know" is a question or a clause. */
static const char *const know_governors[] = {
	"do", "did", "don't", "didn't", "if", "what", "how", "whether", "as",
	NULL,
};

void
speech_metrics_compute(const struct stt_word *w, size_t n, double audio_s,
    struct speech_metrics *m)
{
	double first, last, gap, long_total = 0;
	bool *mark;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->duration_s = audio_s > 0 ? audio_s : 0;
	if (n == 0)
		return;
	first = w[0].start_s;
	last = w[0].end_s;
	for (i = 1; i < n; i++) {
		gap = w[i].start_s - w[i - 1].end_s;
		if (gap > m->longest_pause_s)
			m->longest_pause_s = gap;
		if (gap > SPEECH_LONG_PAUSE_S) {
			m->long_pauses++;
			long_total += gap;
		}
		if (w[i].end_s > last)
			last = w[i].end_s;
	}
	if (audio_s <= 0)
		m->duration_s = last;
	m->speaking_s = last - first - long_total;
	if (m->speaking_s < 0)
		m->speaking_s = 0;

	mark = xcalloc(n, sizeof(*mark));
	m->word_count = (int)n;
	m->filler_count = (int)speech_fillers(w, n, mark);
	if (m->speaking_s > 0) {
		m->wpm = m->word_count * 60.0 / m->speaking_s;
		m->fillers_per_min = m->filler_count * 60.0 / m->speaking_s;
	}
	m->type_token_ratio = type_token_ratio(w, n, mark);
	free(mark);
}

json_t *
speech_annotate(const struct stt_word *w, size_t n)
{
	json_t *out = json_array(), *tok;
	bool *mark = xcalloc(n + 1, sizeof(*mark));
	size_t i;

	speech_fillers(w, n, mark);
	for (i = 0; i < n; i++) {
		tok = json_pack("{s:s, s:f, s:f, s:b}", "w", w[i].word,
		    "s", w[i].start_s, "e", w[i].end_s, "filler", mark[i]);
		if (i > 0 && w[i].start_s - w[i - 1].end_s >
		    SPEECH_LONG_PAUSE_S)
			json_object_set_new(tok, "pause", json_sprintf("%.1f",
			    w[i].start_s - w[i - 1].end_s));
		json_array_append_new(out, tok);
	}
	free(mark);
	return out;
}

size_t
speech_fillers(const struct stt_word *w, size_t n, bool *mark)
{
	char prev[SPEECH_WORDLEN] = "", cur[SPEECH_WORDLEN];
	char next[SPEECH_WORDLEN];
	size_t i, count = 0;

	if (mark)
		memset(mark, 0, n * sizeof(*mark));
	for (i = 0; i < n; i++) {
		norm(w[i].word, cur);
		next[0] = '\0';
		if (i + 1 < n)
			norm(w[i + 1].word, next);
		if (in_list(cur, always_fillers) ||
		    (strcmp(cur, "like") == 0 &&
		    !in_list(prev, like_governors))) {
			if (mark)
				mark[i] = true;
			count++;
		} else if (strcmp(cur, "you") == 0 &&
		    strcmp(next, "know") == 0 &&
		    !in_list(prev, know_governors)) {
			if (mark)
				mark[i] = mark[i + 1] = true;
			count++;
			i++;
			util_strlcpy(cur, next, sizeof(cur));
		}
		util_strlcpy(prev, cur, sizeof(prev));
	}
	return count;
}

json_t *
speech_metrics_to_json(const struct speech_metrics *m)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:i}",
	    "duration_s", round_to(m->duration_s, 100),
	    "speaking_s", round_to(m->speaking_s, 100),
	    "wpm", round_to(m->wpm, 100),
	    "fillers_per_min", round_to(m->fillers_per_min, 100),
	    "longest_pause_s", round_to(m->longest_pause_s, 100),
	    "type_token_ratio", round_to(m->type_token_ratio, 1000),
	    "word_count", m->word_count,
	    "filler_count", m->filler_count,
	    "long_pauses", m->long_pauses);
}

/* Lower-case letters, digits and apostrophes only ("Hello," -> "hello"). */
static void
norm(const char *in, char *out)
{
	size_t j = 0;

	for (; in && *in && j + 1 < SPEECH_WORDLEN; in++)
		if (isalnum((unsigned char)*in) || *in == '\'')
			out[j++] = (char)tolower((unsigned char)*in);
	out[j] = '\0';
}

static bool
in_list(const char *word, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(word, *list) == 0)
			return true;
	return false;
}

/* Sorts the non-filler words and counts the distinct ones. */
static double
type_token_ratio(const struct stt_word *w, size_t n, const bool *mark)
{
	char (*v)[SPEECH_WORDLEN];
	size_t i, tokens = 0, types = 0;

	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (mark[i])
			continue;
		norm(w[i].word, v[tokens]);
		if (v[tokens][0] != '\0')
			tokens++;
	}
	qsort(v, tokens, sizeof(*v), cmp_str);
	for (i = 0; i < tokens; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			types++;
	free(v);
	return tokens ? (double)types / (double)tokens : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static double
round_to(double x, double scale)
{
	return round(x * scale) / scale;
}
