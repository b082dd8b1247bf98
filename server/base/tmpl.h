/*
 * tmpl: Mustache templates. A template is compiled once into an opaque
 * parse tree and rendered many times against jansson data; rendering
 * never modifies a compiled template, so any number of threads may render
 * the same one at once. Covers the Mustache spec's required modules
 * (interpolation, sections, inverted sections, comments, set delimiters,
 * partials with standalone indentation); lambdas are not supported.
 *
 * Choices where the spec leaves room:
 *  - {{name}} escapes & < > " and also ' (as &#39;), so values are safe
 *    in single-quoted attributes too.
 *  - Falsy for sections: a missing name, null, false, an empty array and
 *    an empty string. Numbers are always truthy (a score of 0 is a value).
 *  - Integers render without a decimal point, reals with up to 15
 *    significant digits (1.21 -> "1.21"); true/false render as words;
 *    null, objects and arrays render as nothing.
 *  - A missing partial renders as nothing; partials nest at most
 *    TMPL_MAX_PARTIAL_DEPTH deep, beyond which rendering fails.
 */
#ifndef INTROEVAL_TMPL_H
#define INTROEVAL_TMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TMPL_MAX_PARTIAL_DEPTH	32
#define TMPL_EXT		".mustache"

struct buf;
struct tmpl;		/* a compiled template */
struct tmpl_set;	/* the compiled templates of one directory */

/* Returns the compiled partial called name, or NULL to render nothing. */
typedef const struct tmpl *(*tmpl_partial_fn)(const char *name, void *arg);

/*
 * Compiles len bytes of src (need not be NUL-terminated). On a syntax
 * error returns NULL with "line N: reason" in err.
 */
struct tmpl	*tmpl_compile(const char *src, size_t len, char *err,
		    size_t errlen);
void		 tmpl_free(struct tmpl *);

/*
 * Appends the rendering of t against ctx (borrowed; may be NULL) to out.
 * partial may be NULL (every partial then renders as nothing). Fails only
 * when partials nest too deep; out then holds a partial rendering that
 * the caller should discard.
 */
bool		 tmpl_render(const struct tmpl *t, json_t *ctx,
		    tmpl_partial_fn partial, void *arg, struct buf *out,
		    char *err, size_t errlen);

/*
 * Compiles every dir/NAME.mustache file (hidden files are skipped); the
 * template is then known as NAME, and {{>NAME}} in any template of the set
 * refers to it. Fails on an unreadable directory or file and on a syntax
 * error, naming the file and line.
 */
struct tmpl_set	*tmpl_set_load(const char *dir, char *err, size_t errlen);
void		 tmpl_set_free(struct tmpl_set *);
/* The template called name, or NULL. */
const struct tmpl *tmpl_set_get(const struct tmpl_set *, const char *name);
size_t		 tmpl_set_count(const struct tmpl_set *);
/* Renders template name of the set, partials resolved within the set. */
bool		 tmpl_set_render(const struct tmpl_set *, const char *name,
		    json_t *ctx, struct buf *out, char *err, size_t errlen);

#endif
