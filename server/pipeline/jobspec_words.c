/*
 * jobspec_words: the rules parser's tokens and vocabulary. Words are
 * compared lower-cased with hyphens removed ("Re-evaluate" and
 * "reevaluate" are one word), and a keyword of five letters or more
 * also matches a misspelling one edit away (two from eight letters;
 * a swap of neighbours is one edit), when exactly one keyword is that
 * close. Real words that sit one edit from a keyword ("restore" from
 * "rescore", "stored" from "scored") are listed so they never are.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec_impl.h"
#include "util.h"

const char *const js_statuses[5] = {
	"pending", "processing", "retry", "completed", "failed",
};

enum js_kind {
	K_ACTION,	/* value: enum js_action */
	K_STATUS,	/* value: index in js_statuses */
	K_PRIORITY,	/* prioritize cue: "urgent", "front" */
	K_AGAIN,
	K_LATE,
	K_FILLER,
};

struct js_word {
	const char	*w;
	enum js_kind	 kind;
	int		 value;
};

static const struct js_word words[] = {
	{ "evaluate", K_ACTION, JS_EVALUATE }, { "eval", K_ACTION, JS_EVALUATE },
	{ "score", K_ACTION, JS_EVALUATE }, { "grade", K_ACTION, JS_EVALUATE },
	{ "assess", K_ACTION, JS_EVALUATE }, { "run", K_ACTION, JS_EVALUATE },
	{ "process", K_ACTION, JS_EVALUATE },
	{ "reevaluate", K_ACTION, JS_RE_EVALUATE },
	{ "reeval", K_ACTION, JS_RE_EVALUATE },
	{ "rescore", K_ACTION, JS_RE_EVALUATE },
	{ "regrade", K_ACTION, JS_RE_EVALUATE },
	{ "reassess", K_ACTION, JS_RE_EVALUATE },
	{ "reprocess", K_ACTION, JS_RE_EVALUATE },
	{ "redo", K_ACTION, JS_RE_EVALUATE },
	{ "rerun", K_ACTION, JS_RE_EVALUATE },
	{ "retry", K_ACTION, JS_RETRY },
	{ "cancel", K_ACTION, JS_CANCEL }, { "stop", K_ACTION, JS_CANCEL },
	{ "drop", K_ACTION, JS_CANCEL }, { "abort", K_ACTION, JS_CANCEL },
	{ "halt", K_ACTION, JS_CANCEL },
	{ "prioritize", K_ACTION, JS_PRIORITIZE },
	{ "prioritise", K_ACTION, JS_PRIORITIZE },
	{ "bump", K_ACTION, JS_PRIORITIZE },
	{ "expedite", K_ACTION, JS_PRIORITIZE },
	{ "export", K_ACTION, JS_EXPORT }, { "download", K_ACTION, JS_EXPORT },
	{ "csv", K_ACTION, JS_EXPORT }, { "spreadsheet", K_ACTION, JS_EXPORT },
	{ "urgent", K_PRIORITY, 0 }, { "urgently", K_PRIORITY, 0 },
	{ "asap", K_PRIORITY, 0 }, { "front", K_PRIORITY, 0 },
	{ "again", K_AGAIN, 0 },
	{ "late", K_LATE, 0 },
	{ "pending", K_STATUS, 0 }, { "waiting", K_STATUS, 0 },
	{ "queued", K_STATUS, 0 }, { "unprocessed", K_STATUS, 0 },
	{ "processing", K_STATUS, 1 }, { "stuck", K_STATUS, 1 },
	{ "running", K_STATUS, 1 }, { "inprogress", K_STATUS, 1 },
	{ "hanging", K_STATUS, 1 }, { "hung", K_STATUS, 1 },
	{ "retrying", K_STATUS, 2 },
	{ "completed", K_STATUS, 3 }, { "complete", K_STATUS, 3 },
	{ "done", K_STATUS, 3 }, { "finished", K_STATUS, 3 },
	{ "scored", K_STATUS, 3 }, { "evaluated", K_STATUS, 3 },
	{ "graded", K_STATUS, 3 }, { "successful", K_STATUS, 3 },
	{ "failed", K_STATUS, 4 }, { "failing", K_STATUS, 4 },
	{ "failures", K_STATUS, 4 }, { "errored", K_STATUS, 4 },
	{ "error", K_STATUS, 4 }, { "errors", K_STATUS, 4 },
	{ "broken", K_STATUS, 4 }, { "crashed", K_STATUS, 4 },
};

/* Words that carry no filter: articles, nouns for "submissions", and
   the small words of requests. */
static const char *const fillers[] = {
	"the", "a", "an", "all", "every", "everything", "everyone", "each",
	"any", "of", "for", "from", "in", "on", "at", "with", "using", "use",
	"via", "by", "to", "into", "and", "or", "please", "pls", "that",
	"which", "who", "those", "these", "this", "ones", "one", "them", "it",
	"its", "their", "they", "submission", "submissions", "upload",
	"uploads", "uploaded", "submitted", "video", "videos", "recording",
	"recordings", "intro", "intros", "job", "jobs", "work", "student",
	"students", "now", "me", "my", "our", "can", "could", "would", "you",
	"i", "we", "want", "just", "only", "right", "away", "immediately",
	"queue", "line", "is", "are", "was", "were", "have", "has", "been",
	"be", "results", "scores", "grades", "marks", "evaluations", "course",
	"class", "section", "sections", "assignment", "model", "backend",
	"llm", "move", "put", "get", "go", "send", "up", "top", "ahead",
	"thing", "things", "stuff", "status", "whole", "entire", "entries",
	"list", "as", "so", "too", "also", "again", "try", "kindly", "file",
	"files", "people", "data", "table", "sheet", "ok", "okay",
};

/* Real words near a keyword that must never be read as it. */
static const char *const near_words[] = {
	"restore", "restored", "restores", "stored", "store", "expert",
	"experts", "cancer", "deleted", "delete", "scares", "retire",
	"ranked", "rated", "grader", "rescue",
};

size_t
js_tokenize(const char *text, struct js_tok **out)
{
	struct js_tok *t = NULL;
	size_t n = 0, cap = 0, len;
	char raw[JS_WORD];
	const char *p = text;

	while (*p != '\0') {
		len = 0;
		while (*p != '\0' && (isspace((unsigned char)*p) ||
		    strchr(",;!?()\"[]{}", *p) != NULL))
			p++;
		while (*p != '\0' && !isspace((unsigned char)*p) &&
		    strchr(",;!?()\"[]{}", *p) == NULL) {
			/* The typographic apostrophe is an apostrophe. */
			if ((unsigned char)p[0] == 0xe2 &&
			    (unsigned char)p[1] == 0x80 &&
			    (unsigned char)p[2] == 0x99) {
				if (len + 1 < sizeof(raw))
					raw[len++] = '\'';
				p += 3;
				continue;
			}
			if (len + 1 < sizeof(raw))
				raw[len++] = *p;
			p++;
		}
		raw[len] = '\0';
		if (len == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			t = xrealloc(t, cap * sizeof(*t));
		}
		memset(&t[n], 0, sizeof(t[n]));
		/* Trailing and leading punctuation is not the word's. */
		while (len > 0 && strchr(".:'#-", raw[len - 1]) != NULL)
			raw[--len] = '\0';
		if (len >= 2 && raw[len - 2] == '\'' &&
		    (raw[len - 1] == 's' || raw[len - 1] == 'S')) {
			raw[len -= 2] = '\0';
			t[n].poss = true;
		}
		js_norm(raw + strspn(raw, ".:'#-"), t[n].w, sizeof(t[n].w));
		if (t[n].w[0] != '\0')
			n++;
	}
	*out = t;
	return n;
}

void
js_norm(const char *in, char *out, size_t len)
{
	size_t o = 0;
	bool date = true;
	const char *p;

	/* A date (2026-11-30) keeps its hyphens. */
	for (p = in; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && *p != '-')
			date = false;
	for (p = in; *p != '\0' && o + 1 < len; p++)
		if (*p != '-' || date)
			out[o++] = (char)tolower((unsigned char)*p);
	out[o] = '\0';
}

void
js_key(const char *in, char *out, size_t len)
{
	char w[JS_WORD * 4];
	size_t o = 0, i;

	js_norm(in, w, sizeof(w));
	for (i = 0; w[i] != '\0' && o + 1 < len; i++)
		if (isalnum((unsigned char)w[i]) || (unsigned char)w[i] >= 0x80
		    || strchr("@._:", w[i]) != NULL)
			out[o++] = w[i];
	out[o] = '\0';
}

/* Optimal string alignment distance: edits, with a swap of two
   neighbouring letters one edit. Three rows, so a request thread's
   stack stays small. */
int
js_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int r0[JS_WORD + 1], r1[JS_WORD + 1], r2[JS_WORD + 1];
	int *pp = r0, *pr = r1, *cur = r2, *tmp, c, v;

	if (la > JS_WORD || lb > JS_WORD)
		return 99;
	for (j = 0; j <= lb; j++)
		pr[j] = (int)j;
	for (i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] != b[j - 1];
			v = pr[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (pr[j - 1] + c < v)
				v = pr[j - 1] + c;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
		tmp = pp;
		pp = pr;
		pr = cur;
		cur = tmp;
	}
	return pr[lb];
}

int
js_number(const char *w)
{
	static const char *const names[] = { "zero", "one", "two", "three",
	    "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
	    "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
	    "seventeen", "eighteen", "nineteen", "twenty" };
	size_t i, n = strlen(w);

	if (n > 0 && n <= 3 && strspn(w, "0123456789") == n)
		return atoi(w);
	for (i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(w, names[i]) == 0)
			return (int)i;
	return -1;
}

int
js_weekday(const char *w)
{
	static const char *const days[] = { "sunday", "monday", "tuesday",
	    "wednesday", "thursday", "friday", "saturday" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(days); i++)
		if (strcmp(w, days[i]) == 0)
			return (int)i;
	return -1;
}

bool
js_is_filler(const char *w)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(fillers); i++)
		if (strcmp(w, fillers[i]) == 0)
			return true;
	return false;
}

bool
js_is_keyword(const char *w)
{
	static const char *const dates[] = { "today", "yesterday", "since",
	    "until", "till", "before", "after", "last", "past", "week",
	    "month", "day", "days", "hours", "between", "priority" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(w, words[i].w) == 0)
			return true;
	for (i = 0; i < ARRAY_LEN(dates); i++)
		if (strcmp(w, dates[i]) == 0)
			return true;
	return js_is_filler(w) || js_weekday(w) >= 0;
}

/* The keyword w is, or is a misspelling of; NULL when none or two. */
static const struct js_word *
lookup(const char *w)
{
	const struct js_word *best = NULL;
	size_t i, n = strlen(w);
	int d, bestd = 99, max;
	bool tie = false;

	for (i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(w, words[i].w) == 0)
			return &words[i];
	if (n < 5 || js_is_filler(w))
		return NULL;
	for (i = 0; i < ARRAY_LEN(near_words); i++)
		if (strcmp(w, near_words[i]) == 0)
			return NULL;
	for (i = 0; i < ARRAY_LEN(words); i++) {
		if (strlen(words[i].w) < 5)
			continue;
		max = n >= 8 && strlen(words[i].w) >= 8 ? 2 : 1;
		d = js_distance(w, words[i].w);
		if (d > max || d > bestd)
			continue;
		if (d == bestd && best != NULL && best->kind == words[i].kind &&
		    best->value == words[i].value)
			continue;
		tie = d == bestd;
		bestd = d;
		best = &words[i];
	}
	return tie ? NULL : best;
}

void
js_vocabulary(struct js_parse *p)
{
	const struct js_word *k;
	struct js_tok *t;
	size_t i;

	for (i = 0; i < p->n; i++) {
		t = &p->t[i];
		if (t->used)
			continue;
		/* "re evaluate", "re run": one word. */
		if (strcmp(t->w, "re") == 0 && i + 1 < p->n && !p->t[i + 1].used) {
			char w[JS_WORD * 2];

			snprintf(w, sizeof(w), "re%s", p->t[i + 1].w);
			if ((k = lookup(w)) != NULL && k->kind == K_ACTION) {
				t->used = p->t[i + 1].used = true;
				p->actions |= 1u << k->value;
				p->rerun |= strcmp(k->w, "rerun") == 0;
				continue;
			}
		}
		/* "try again" is retry; "again" alone makes it a re-run. */
		if (strcmp(t->w, "try") == 0 && i + 1 < p->n &&
		    strcmp(p->t[i + 1].w, "again") == 0) {
			t->used = p->t[i + 1].used = true;
			p->actions |= 1u << JS_RETRY;
			continue;
		}
		if ((k = lookup(t->w)) == NULL) {
			if (js_is_filler(t->w))
				t->used = true;
			continue;
		}
		t->used = true;
		switch (k->kind) {
		case K_ACTION:
			p->actions |= 1u << k->value;
			p->rerun |= strcmp(k->w, "rerun") == 0;
			break;
		case K_STATUS:
			p->status |= 1u << k->value;
			break;
		case K_PRIORITY:
			p->actions |= 1u << JS_PRIORITIZE;
			break;
		case K_AGAIN:
			p->again = true;
			break;
		case K_LATE:
			p->late = true;
			break;
		case K_FILLER:
			break;
		}
	}
}
