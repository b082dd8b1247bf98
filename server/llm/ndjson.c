/*
 * ndjson: incremental newline-delimited JSON parser (see ndjson.h).
 *
 * A line is complete only at '\n', so bytes of a partial line, including
 * half of a UTF-8 sequence, wait in `line` until the rest arrives; jansson
 * then validates the encoding of the whole line at once. Lines that lie
 * entirely inside one fed chunk are parsed in place without copying.
 */
#include "ndjson.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct ndjson {
	struct buf	 line;		/* incomplete line so far */
	size_t		 max_line;
	size_t		 lineno;	/* physical lines seen, for messages */
	size_t		 nvalues;
	ndjson_cb	 cb;
	void		*arg;
	bool		 failed;
};

static bool	parse_line(struct ndjson *, const char *, size_t, char *,
		    size_t);
static bool	too_long(struct ndjson *, size_t, char *, size_t);
static bool	is_blank(const char *, size_t);

struct ndjson *
ndjson_new(size_t max_line, ndjson_cb cb, void *arg)
{
	struct ndjson *p = xcalloc(1, sizeof(*p));

	buf_init(&p->line);
	p->max_line = max_line ? max_line : NDJSON_DEFAULT_MAX_LINE;
	p->cb = cb;
	p->arg = arg;
	return p;
}

void
ndjson_free(struct ndjson *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	free(p);
}

size_t
ndjson_lines(const struct ndjson *p)
{
	return p->nvalues;
}

size_t
ndjson_pending(const struct ndjson *p)
{
	return p->line.len;
}

bool
ndjson_feed(struct ndjson *p, const void *data, size_t len, char *err,
    size_t errlen)
{
	const char *s = data, *end = s + len, *nl;
	size_t n;

	if (p->failed)
		return util_seterr(err, errlen, "ndjson: input after an error");
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL) {
			n = (size_t)(end - s);
			/* Allow one byte more than the cap for a '\r'. */
			if (p->line.len + n > p->max_line + 1)
				return too_long(p, p->lineno + 1, err, errlen);
			buf_append(&p->line, s, n);
			break;
		}
		n = (size_t)(nl - s);
		p->lineno++;
		if (p->line.len == 0) {
			if (!parse_line(p, s, n, err, errlen))
				return false;
		} else {
			if (p->line.len + n > p->max_line + 1)
				return too_long(p, p->lineno, err, errlen);
			buf_append(&p->line, s, n);
			if (!parse_line(p, p->line.data, p->line.len, err,
			    errlen))
				return false;
			buf_reset(&p->line);
		}
		s = nl + 1;
	}
	return true;
}

bool
ndjson_finish(struct ndjson *p, char *err, size_t errlen)
{
	bool ok;

	if (p->failed)
		return util_seterr(err, errlen, "ndjson: input after an error");
	if (p->line.len == 0)
		return true;
	p->lineno++;
	ok = parse_line(p, p->line.data, p->line.len, err, errlen);
	buf_reset(&p->line);
	return ok;
}

/* Parses one line without its '\n'; a trailing '\r' is dropped. */
static bool
parse_line(struct ndjson *p, const char *s, size_t n, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	bool ok;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > p->max_line)
		return too_long(p, p->lineno, err, errlen);
	if (is_blank(s, n))
		return true;
	v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL) {
		p->failed = true;
		return util_seterr(err, errlen,
		    "line %zu is not JSON (%s at column %d): \"%.*s%s\"",
		    p->lineno, jerr.text, jerr.column, n > 60 ? 60 : (int)n, s,
		    n > 60 ? "..." : "");
	}
	p->nvalues++;
	ok = p->cb == NULL || p->cb(v, p->arg, err, errlen);
	json_decref(v);
	if (!ok)
		p->failed = true;
	return ok;
}

static bool
too_long(struct ndjson *p, size_t lineno, char *err, size_t errlen)
{
	p->failed = true;
	buf_free(&p->line);
	return util_seterr(err, errlen, "line %zu is longer than %zu bytes",
	    lineno, p->max_line);
}

static bool
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}
