/*
 * jobspec_impl: what the rules parser's files share. The request is cut
 * into normalised tokens; each pass (dates, names, vocabulary) claims
 * the tokens it understands by marking them used, and a token nobody
 * claims means the request is not understood (jobspec_rules.c).
 */
#ifndef INTROEVAL_JOBSPEC_IMPL_H
#define INTROEVAL_JOBSPEC_IMPL_H

#include "jobspec.h"
#include "tz.h"

#define JS_WORD	96

struct js_tok {
	char		 w[JS_WORD];	/* lower case, hyphens removed */
	bool		 poss;		/* written with 's: "Priya's" */
	bool		 used;
};

enum js_action {
	JS_EVALUATE, JS_RE_EVALUATE, JS_RETRY, JS_CANCEL, JS_PRIORITIZE,
	JS_EXPORT, JS_NACTIONS
};

struct js_parse {
	const jobspec_ctx *ctx;
	struct tz	*tz;
	struct js_tok	*t;
	size_t		 n;
	json_t		*spec;
	json_t		*qs;
	bool		 fail;		/* something is not understood */
	unsigned	 actions;	/* 1 << enum js_action */
	bool		 rerun;		/* the verb was "rerun" */
	bool		 again;
	long long	 priority;	/* -1: not said */
	unsigned	 status;	/* 1 << index in js_statuses */
	bool		 late;
	json_t		*students;	/* ids found */
};

extern const char *const js_statuses[5];

/* jobspec_words.c */
size_t	 js_tokenize(const char *, struct js_tok **);
void	 js_norm(const char *, char *, size_t);
/* The words of s normalised and concatenated, for multi-word names. */
void	 js_key(const char *, char *, size_t);
int	 js_distance(const char *, const char *);
/* 0..999 from digits or one..twenty; -1 otherwise. */
int	 js_number(const char *);
/* Claims action, status, priority and filler words. */
void	 js_vocabulary(struct js_parse *);
bool	 js_is_filler(const char *);
/* A word of the vocabulary (keyword, filler, date word), exactly. */
bool	 js_is_keyword(const char *);
int	 js_weekday(const char *);	/* 0 = Sunday; -1 */

/* jobspec_dates.c: claims date words, sets since/until. */
void	 js_dates(struct js_parse *);
/* jobspec_resolve.c: claims names, sets the spec's filters or asks. */
void	 js_resolve(struct js_parse *);
/* The tokens left unclaimed: cues for unknown names, or failure. */
void	 js_leftovers(struct js_parse *);

#endif
