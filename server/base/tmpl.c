/*
 * tmpl: the Mustache compiler and renderer (semantics in tmpl.h).
 *
 * Compiling turns the source into a tree of nodes. Standalone lines (a
 * section, inverted, close, comment, partial or set-delimiter tag alone on
 * its line with only blanks around it) are removed while compiling, so
 * rendering never looks at the line structure again, with one exception:
 * a partial included standalone must have each of its source lines
 * indented. For that the compiler leaves a LINE node at the start of every
 * source line that produces output, and rendering writes the current
 * indentation there (nothing outside standalone partials). Text coming
 * from data is never indented, as the spec requires.
 *
 * A compiled tree is never written after tmpl_compile returns: all
 * rendering state (context stack, indentation, partial depth) lives in a
 * struct render on the renderer's stack, which makes concurrent rendering
 * of one template safe. A tmpl_set is likewise read-only once loaded.
 */
#include "tmpl.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define MAX_DELIM	16		/* bytes in a set delimiter */
#define MAX_NESTING	100		/* sections inside sections */
#define MAX_FILE	(4 * 1024 * 1024)

enum node_type {
	NODE_TEXT,		/* literal bytes */
	NODE_LINE,		/* a source line starts: indent here */
	NODE_VAR,		/* {{name}}, HTML-escaped */
	NODE_RAW,		/* {{{name}}} or {{&name}} */
	NODE_SECTION,		/* {{#name}} kids {{/name}} */
	NODE_INVERTED,		/* {{^name}} kids {{/name}} */
	NODE_PARTIAL		/* {{>name}} */
};

struct node;

struct nodes {
	struct node	*v;
	size_t		 n, cap;
};

struct node {
	enum node_type	 type;
	char		*text;		/* TEXT bytes, else the name */
	size_t		 len;		/* of text */
	char		**parts;	/* name split on '.'; none for "." */
	size_t		 nparts;
	char		*indent;	/* PARTIAL: standalone indent */
	size_t		 at;		/* source offset of the tag */
	struct nodes	 kids;		/* SECTION, INVERTED */
};

struct tmpl {
	struct nodes	 root;
};

struct parser {
	const char	*src;
	size_t		 len;
	size_t		 pos;		/* first byte not yet compiled */
	char		 otag[MAX_DELIM + 1];
	char		 ctag[MAX_DELIM + 1];
	size_t		 olen, clen;
	int		 nesting;
	char		*err;	/* where failures are described */
	size_t		 errlen;
};

struct tag {
	char		 type;		/* one of "!#^/>={&", 0: variable */
	size_t		 open;		/* offset of the opening delimiter */
	size_t		 end;		/* offset past the closing delimiter */
	size_t		 cstart;	/* content, blanks trimmed */
	size_t		 cend;
};

struct render {
	tmpl_partial_fn	 partial;
	void		*arg;
	struct buf	*out;
	json_t		**stack;	/* context stack, borrowed values */
	size_t		 depth, cap;
	const char	*indent;	/* written at every LINE node */
	size_t		 indentlen;
	int		 pdepth;	/* partials being rendered */
	bool		 failed;
	char		*err;	/* where failures are described */
	size_t		 errlen;
};

struct entry {
	char		*name;
	struct tmpl	*t;
};

struct tmpl_set {
	struct entry	*v;
	size_t		 n;
};

static int	 line_of(const struct parser *, size_t);
static bool	 perr(struct parser *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static bool	 is_blank(char);
static bool	 is_word(const char *, size_t);
static struct node *add_node(struct nodes *, enum node_type);
static void	 emit_text(struct parser *, struct nodes *, size_t, size_t,
		    bool);
static bool	 parse_block(struct parser *, struct nodes *,
		    const struct node *);
static bool	 parse_tag(struct parser *, size_t, struct tag *);
static bool	 standalone(const struct parser *, const struct tag *,
		    size_t *, size_t *);
static bool	 set_name(struct parser *, const struct tag *, struct node *,
		    bool);
static bool	 set_delims(struct parser *, const struct tag *);
static bool	 parse_section(struct parser *, struct nodes *,
		    const struct tag *);
static bool	 close_section(struct parser *, const struct tag *,
		    const struct node *);
static void	 free_node(struct node *);
static void	 free_nodes(struct nodes *);
static void	 render_nodes(struct render *, const struct nodes *);
static void	 render_section(struct render *, const struct node *);
static void	 render_partial(struct render *, const struct node *);
static json_t	*lookup(const struct render *, const struct node *);
static bool	 truthy(const json_t *);
static void	 push(struct render *, json_t *);
static void	 put_value(struct buf *, const json_t *, bool);
static bool	 set_add(struct tmpl_set *, const char *, const char *,
		    char *, size_t);
static int	 entry_cmp(const void *, const void *);
static const struct tmpl *set_partial(const char *, void *);

/* --- compiling --- */

struct tmpl *
tmpl_compile(const char *src, size_t len, char *err, size_t errlen)
{
	struct parser p;
	struct tmpl *t;

	memset(&p, 0, sizeof(p));
	p.src = src != NULL ? src : "";
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	memcpy(p.otag, "{{", 3);
	memcpy(p.ctag, "}}", 3);
	p.olen = p.clen = 2;
	t = xcalloc(1, sizeof(*t));
	if (!parse_block(&p, &t->root, NULL)) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free_nodes(&t->root);
	free(t);
}

static int
line_of(const struct parser *p, size_t at)
{
	size_t i;
	int line = 1;

	for (i = 0; i < at && i < p->len; i++)
		if (p->src[i] == '\n')
			line++;
	return line;
}

/* Writes "line N: message" for the source offset at; returns false. */
static bool
perr(struct parser *p, size_t at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return util_seterr(p->err, p->errlen, "line %d: %s", line_of(p, at),
	    msg);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A name or delimiter: at least one byte, no blanks, no NUL. */
static bool
is_word(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (is_blank(s[i]) || s[i] == '\0')
			return false;
	return n > 0;
}

static struct node *
add_node(struct nodes *l, enum node_type type)
{
	struct node *n;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	n = &l->v[l->n++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/*
 * Adds the source bytes [a, b) as text, with a LINE node before each
 * source line that starts in it. tail says a tag that produces output
 * follows at b, so a line starting exactly at b gets its LINE node too.
 */
static void
emit_text(struct parser *p, struct nodes *l, size_t a, size_t b, bool tail)
{
	const char *s = p->src, *nl;
	struct node *n;
	size_t end;

	while (a < b) {
		if (a == 0 || s[a - 1] == '\n')
			add_node(l, NODE_LINE);
		nl = memchr(s + a, '\n', b - a);
		end = nl != NULL ? (size_t)(nl - s) + 1 : b;
		n = add_node(l, NODE_TEXT);
		n->text = xstrndup(s + a, end - a);
		n->len = end - a;
		a = end;
	}
	if (tail && (b == 0 || s[b - 1] == '\n'))
		add_node(l, NODE_LINE);
}

/*
 * Compiles nodes into l up to the end of the source or, inside a section
 * (open != NULL), up to and including its close tag.
 */
static bool
parse_block(struct parser *p, struct nodes *l, const struct node *open)
{
	struct tag t;
	struct node *n;
	const char *hit;
	size_t ws, next;
	bool alone;

	for (;;) {
		hit = memmem(p->src + p->pos, p->len - p->pos, p->otag,
		    p->olen);
		if (hit == NULL) {
			emit_text(p, l, p->pos, p->len, false);
			p->pos = p->len;
			if (open != NULL)
				return perr(p, open->at, "section \"%s\" is "
				    "not closed", open->text);
			return true;
		}
		if (!parse_tag(p, (size_t)(hit - p->src), &t))
			return false;
		if ((alone = standalone(p, &t, &ws, &next)))
			emit_text(p, l, p->pos, ws, false);
		else {
			emit_text(p, l, p->pos, t.open, true);
			next = t.end;
		}
		p->pos = next;

		switch (t.type) {
		case '!':
			break;
		case '=':
			if (!set_delims(p, &t))
				return false;
			break;
		case '/':
			return close_section(p, &t, open);
		case '#':
		case '^':
			if (!parse_section(p, l, &t))
				return false;
			break;
		case '>':
			n = add_node(l, NODE_PARTIAL);
			if (!set_name(p, &t, n, false))
				return false;
			if (alone)
				n->indent = xstrndup(p->src + ws, t.open - ws);
			break;
		default:
			n = add_node(l, t.type == 0 ? NODE_VAR : NODE_RAW);
			if (!set_name(p, &t, n, true))
				return false;
			break;
		}
	}
}

/* Reads the tag whose opening delimiter is at offset open. */
static bool
parse_tag(struct parser *p, size_t open, struct tag *t)
{
	const char *s = p->src, *hit;
	char closer[MAX_DELIM + 2];
	size_t i = open + p->olen, cl = 0;

	memset(t, 0, sizeof(*t));
	t->open = open;
	if (i < p->len && s[i] != '\0' && strchr("!#^/>={&", s[i]) != NULL)
		t->type = s[i++];
	if (t->type == '{' || t->type == '=')
		closer[cl++] = t->type == '{' ? '}' : '=';
	memcpy(closer + cl, p->ctag, p->clen + 1);
	cl += p->clen;
	hit = memmem(s + i, p->len - i, closer, cl);
	if (hit == NULL)
		return perr(p, open, "tag is not closed (no \"%s\" follows "
		    "\"%s\")", closer, p->otag);
	t->cstart = i;
	t->cend = (size_t)(hit - s);
	t->end = t->cend + cl;
	while (t->cstart < t->cend && is_blank(s[t->cstart]))
		t->cstart++;
	while (t->cend > t->cstart && is_blank(s[t->cend - 1]))
		t->cend--;
	return true;
}

/*
 * A tag that produces no output is standalone when only spaces and tabs
 * share its line. Then the line, from *ws up to *next (past its newline),
 * is dropped from the output.
 */
static bool
standalone(const struct parser *p, const struct tag *t, size_t *ws,
    size_t *next)
{
	const char *s = p->src;
	size_t a = t->open, e = t->end;

	if (t->type == 0 || t->type == '{' || t->type == '&')
		return false;
	while (a > p->pos && (s[a - 1] == ' ' || s[a - 1] == '\t'))
		a--;
	if (a > 0 && s[a - 1] != '\n')
		return false;
	while (e < p->len && (s[e] == ' ' || s[e] == '\t'))
		e++;
	if (e + 1 < p->len && s[e] == '\r' && s[e + 1] == '\n')
		e += 2;
	else if (e < p->len && s[e] == '\n')
		e++;
	else if (e < p->len)
		return false;
	*ws = a;
	*next = e;
	return true;
}

/* Stores the tag's content as the node's name; split says on dots. */
static bool
set_name(struct parser *p, const struct tag *t, struct node *n, bool split)
{
	const char *s = p->src + t->cstart, *dot;
	size_t len = t->cend - t->cstart, plen;

	n->at = t->open;
	if (len == 0)
		return perr(p, t->open, "tag has no name");
	if (!is_word(s, len))
		return perr(p, t->open, "bad name \"%.*s\"", (int)len, s);
	n->text = xstrndup(s, len);
	n->len = len;
	if (!split || strcmp(n->text, ".") == 0)
		return true;
	n->parts = xcalloc(len / 2 + 1, sizeof(*n->parts));
	for (;;) {
		dot = memchr(s, '.', len);
		plen = dot != NULL ? (size_t)(dot - s) : len;
		if (plen == 0)
			return perr(p, t->open, "bad name \"%s\"", n->text);
		n->parts[n->nparts++] = xstrndup(s, plen);
		if (dot == NULL)
			return true;
		s += plen + 1;
		len -= plen + 1;
		if (len == 0)
			return perr(p, t->open, "bad name \"%s\"", n->text);
	}
}

/* {{=open close=}}: two non-blank words of at most MAX_DELIM bytes. */
static bool
set_delims(struct parser *p, const struct tag *t)
{
	const char *s = p->src;
	size_t i = t->cstart, o, c;

	while (i < t->cend && !is_blank(s[i]))
		i++;
	o = i - t->cstart;
	while (i < t->cend && is_blank(s[i]))
		i++;
	c = t->cend - i;
	if (!is_word(s + t->cstart, o) || !is_word(s + i, c) ||
	    o > MAX_DELIM || c > MAX_DELIM)
		return perr(p, t->open, "bad delimiters \"%.*s\": expected "
		    "two words of 1 to %d characters", (int)(t->cend -
		    t->cstart), s + t->cstart, MAX_DELIM);
	memcpy(p->otag, s + t->cstart, o);
	p->otag[o] = '\0';
	p->olen = o;
	memcpy(p->ctag, s + i, c);
	p->ctag[c] = '\0';
	p->clen = c;
	return true;
}

static bool
parse_section(struct parser *p, struct nodes *l, const struct tag *t)
{
	struct node sec;

	/* Built aside: l->v may move while the kids are compiled. */
	memset(&sec, 0, sizeof(sec));
	sec.type = t->type == '#' ? NODE_SECTION : NODE_INVERTED;
	if (!set_name(p, t, &sec, true))
		goto fail;
	if (++p->nesting > MAX_NESTING) {
		perr(p, t->open, "sections nested more than %d deep",
		    MAX_NESTING);
		goto fail;
	}
	if (!parse_block(p, &sec.kids, &sec))
		goto fail;
	p->nesting--;
	*add_node(l, sec.type) = sec;
	return true;
fail:
	free_node(&sec);
	return false;
}

static bool
close_section(struct parser *p, const struct tag *t, const struct node *open)
{
	size_t len = t->cend - t->cstart;
	const char *name = p->src + t->cstart;

	if (open == NULL)
		return perr(p, t->open, "\"%.*s\" closes no open section",
		    (int)len, name);
	if (len != open->len || memcmp(name, open->text, len) != 0)
		return perr(p, t->open, "\"%.*s\" closes section \"%s\" "
		    "opened on line %d", (int)len, name, open->text,
		    line_of(p, open->at));
	return true;
}

static void
free_node(struct node *n)
{
	size_t i;

	free(n->text);
	for (i = 0; i < n->nparts; i++)
		free(n->parts[i]);
	free(n->parts);
	free(n->indent);
	free_nodes(&n->kids);
}

static void
free_nodes(struct nodes *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free_node(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* --- rendering --- */

bool
tmpl_render(const struct tmpl *t, json_t *ctx, tmpl_partial_fn partial,
    void *arg, struct buf *out, char *err, size_t errlen)
{
	struct render r;

	memset(&r, 0, sizeof(r));
	r.partial = partial;
	r.arg = arg;
	r.out = out;
	r.indent = "";
	r.err = err;
	r.errlen = errlen;
	if (ctx != NULL)
		push(&r, ctx);
	render_nodes(&r, &t->root);
	free(r.stack);
	return !r.failed;
}

static void
render_nodes(struct render *r, const struct nodes *l)
{
	const struct node *n;
	size_t i;

	for (i = 0; i < l->n && !r->failed; i++) {
		n = &l->v[i];
		switch (n->type) {
		case NODE_TEXT:
			buf_append(r->out, n->text, n->len);
			break;
		case NODE_LINE:
			buf_append(r->out, r->indent, r->indentlen);
			break;
		case NODE_VAR:
		case NODE_RAW:
			put_value(r->out, lookup(r, n), n->type == NODE_VAR);
			break;
		case NODE_SECTION:
			render_section(r, n);
			break;
		case NODE_INVERTED:
			if (!truthy(lookup(r, n)))
				render_nodes(r, &n->kids);
			break;
		case NODE_PARTIAL:
			render_partial(r, n);
			break;
		}
	}
}

/* A list renders once per item, any other truthy value once, on top. */
static void
render_section(struct render *r, const struct node *n)
{
	json_t *v = lookup(r, n), *item;
	size_t i;

	if (!truthy(v))
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			push(r, item);
			render_nodes(r, &n->kids);
			r->depth--;
		}
		return;
	}
	push(r, v);
	render_nodes(r, &n->kids);
	r->depth--;
}

/*
 * A standalone partial adds its own indentation to the current one; an
 * inline partial's lines are not indented at all (its source is not part
 * of the lines of the including partial).
 */
static void
render_partial(struct render *r, const struct node *n)
{
	const struct tmpl *t;
	const char *saved = r->indent;
	size_t savedlen = r->indentlen, own;
	char *indent = NULL;

	if (r->partial == NULL || (t = r->partial(n->text, r->arg)) == NULL)
		return;
	if (r->pdepth >= TMPL_MAX_PARTIAL_DEPTH) {
		r->failed = true;
		util_seterr(r->err, r->errlen, "partial \"%s\": partials "
		    "nested more than %d deep", n->text,
		    TMPL_MAX_PARTIAL_DEPTH);
		return;
	}
	if (n->indent == NULL) {
		r->indent = "";
		r->indentlen = 0;
	} else if ((own = strlen(n->indent)) > 0) {
		indent = xmalloc(savedlen + own + 1);
		memcpy(indent, saved, savedlen);
		memcpy(indent + savedlen, n->indent, own + 1);
		r->indent = indent;
		r->indentlen = savedlen + own;
	}
	r->pdepth++;
	render_nodes(r, &t->root);
	r->pdepth--;
	r->indent = saved;
	r->indentlen = savedlen;
	free(indent);
}

/*
 * The first part of a name is looked up from the top of the context stack
 * down; the other parts only inside what the first one found.
 */
static json_t *
lookup(const struct render *r, const struct node *n)
{
	json_t *v = NULL;
	size_t i;

	if (r->depth == 0)
		return NULL;
	if (n->nparts == 0)
		return r->stack[r->depth - 1];
	for (i = r->depth; i > 0 && v == NULL; i--)
		if (json_is_object(r->stack[i - 1]))
			v = json_object_get(r->stack[i - 1], n->parts[0]);
	for (i = 1; i < n->nparts && v != NULL; i++)
		v = json_is_object(v) ? json_object_get(v, n->parts[i]) : NULL;
	return v;
}

static bool
truthy(const json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return true;
}

static void
push(struct render *r, json_t *v)
{
	if (r->depth == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->stack = xrealloc(r->stack, r->cap * sizeof(*r->stack));
	}
	r->stack[r->depth++] = v;
}

static void
put_value(struct buf *out, const json_t *v, bool escape)
{
	char num[64];
	double d;

	if (v == NULL)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (escape)
			buf_put_html(out, json_string_value(v),
			    json_string_length(v));
		else
			buf_append(out, json_string_value(v),
			    json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		/* 15 digits print 1.21 as "1.21"; more only if needed. */
		d = json_real_value(v);
		snprintf(num, sizeof(num), "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof(num), "%.17g", d);
		buf_puts(out, num);
		break;
	case JSON_TRUE:
		buf_puts(out, "true");
		break;
	case JSON_FALSE:
		buf_puts(out, "false");
		break;
	default:
		break;
	}
}

/* --- template sets --- */

struct tmpl_set *
tmpl_set_load(const char *dir, char *err, size_t errlen)
{
	struct tmpl_set *set;
	struct dirent *de;
	DIR *d;
	size_t nlen, elen = strlen(TMPL_EXT);
	bool ok = true;

	if ((d = opendir(dir)) == NULL) {
		util_seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	set = xcalloc(1, sizeof(*set));
	while (ok && (de = readdir(d)) != NULL) {
		nlen = strlen(de->d_name);
		if (de->d_name[0] == '.' || nlen <= elen ||
		    strcmp(de->d_name + nlen - elen, TMPL_EXT) != 0)
			continue;
		ok = set_add(set, dir, de->d_name, err, errlen);
	}
	closedir(d);
	if (!ok) {
		tmpl_set_free(set);
		return NULL;
	}
	if (set->n > 0)
		qsort(set->v, set->n, sizeof(*set->v), entry_cmp);
	return set;
}

/* Compiles dir/file and adds it under its name without the extension. */
static bool
set_add(struct tmpl_set *set, const char *dir, const char *file, char *err,
    size_t errlen)
{
	struct stat st;
	struct tmpl *t = NULL;
	char *path, *src = NULL, cerr[256];
	size_t n;
	FILE *f;

	path = xasprintf("%s/%s", dir, file);
	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1)
		util_seterr(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE)
		util_seterr(err, errlen, "%s: not a file of at most %d bytes",
		    path, MAX_FILE);
	else {
		src = xmalloc((size_t)st.st_size + 1);
		n = fread(src, 1, (size_t)st.st_size, f);
		if (ferror(f))
			util_seterr(err, errlen, "%s: read error", path);
		else if ((t = tmpl_compile(src, n, cerr, sizeof(cerr))) == NULL)
			util_seterr(err, errlen, "%s: %s", path, cerr);
	}
	if (t != NULL) {
		set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
		set->v[set->n].name = xstrndup(file,
		    strlen(file) - strlen(TMPL_EXT));
		set->v[set->n].t = t;
		set->n++;
	}
	if (f != NULL)
		fclose(f);
	free(src);
	free(path);
	return t != NULL;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void
tmpl_set_free(struct tmpl_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->v[i].name);
		tmpl_free(set->v[i].t);
	}
	free(set->v);
	free(set);
}

const struct tmpl *
tmpl_set_get(const struct tmpl_set *set, const char *name)
{
	struct entry key, *e;

	if (set->n == 0)
		return NULL;
	key.name = (char *)name;
	key.t = NULL;
	e = bsearch(&key, set->v, set->n, sizeof(*set->v), entry_cmp);
	return e != NULL ? e->t : NULL;
}

size_t
tmpl_set_count(const struct tmpl_set *set)
{
	return set->n;
}

static const struct tmpl *
set_partial(const char *name, void *arg)
{
	return tmpl_set_get(arg, name);
}

bool
tmpl_set_render(const struct tmpl_set *set, const char *name, json_t *ctx,
    struct buf *out, char *err, size_t errlen)
{
	const struct tmpl *t;
	char rerr[256];

	if ((t = tmpl_set_get(set, name)) == NULL)
		return util_seterr(err, errlen, "no template \"%s\"", name);
	if (!tmpl_render(t, ctx, set_partial, (void *)set, out, rerr,
	    sizeof(rerr)))
		return util_seterr(err, errlen, "template \"%s\": %s", name,
		    rerr);
	return true;
}
