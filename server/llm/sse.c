/*
 * sse: incremental server-sent events parser (see sse.h).
 *
 * Bytes of an unfinished line wait in `line`; data fields of an event not
 * yet dispatched wait in `data`. A "\r" that ends one chunk may be the
 * first half of "\r\n", so the parser remembers it (`after_cr`) and drops
 * a "\n" that starts the next chunk. Both buffers are capped together by
 * max_event, so a server that never sends a line end or a blank line
 * cannot make us buffer without bound.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct sse {
	struct buf	 line;		/* incomplete line so far */
	struct buf	 data;		/* data lines of the current event */
	struct buf	 event;		/* its type; empty means "message" */
	size_t		 max_event;
	size_t		 lineno;
	size_t		 nevents;
	sse_cb		 cb;
	void		*arg;
	bool		 after_cr;
	bool		 failed;
};

static bool	feed_line(struct sse *, const char *, size_t, char *, size_t);
static bool	field(struct sse *, const char *, size_t, const char *,
		    size_t, char *, size_t);
static bool	dispatch(struct sse *, char *, size_t);
static bool	too_long(struct sse *, char *, size_t);
static void	reset_event(struct sse *);

struct sse *
sse_new(size_t max_event, sse_cb cb, void *arg)
{
	struct sse *p = xcalloc(1, sizeof(*p));

	buf_init(&p->line);
	buf_init(&p->data);
	buf_init(&p->event);
	p->max_event = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
	p->cb = cb;
	p->arg = arg;
	return p;
}

void
sse_free(struct sse *p)
{
	if (p == NULL)
		return;
	buf_free(&p->line);
	buf_free(&p->data);
	buf_free(&p->event);
	free(p);
}

size_t
sse_events(const struct sse *p)
{
	return p->nevents;
}

bool
sse_feed(struct sse *p, const void *bytes, size_t len, char *err,
    size_t errlen)
{
	const char *s = bytes, *end = s + len, *eol;

	if (p->failed)
		return util_seterr(err, errlen, "sse: input after an error");
	while (s < end) {
		if (p->after_cr) {
			p->after_cr = false;
			if (*s == '\n' && ++s == end)
				break;
		}
		for (eol = s; eol < end && *eol != '\n' && *eol != '\r'; eol++)
			;
		if (p->line.len + (size_t)(eol - s) + p->data.len >
		    p->max_event)
			return too_long(p, err, errlen);
		if (eol == end) {
			buf_append(&p->line, s, (size_t)(eol - s));
			break;
		}
		p->after_cr = *eol == '\r';
		if (p->line.len == 0) {
			if (!feed_line(p, s, (size_t)(eol - s), err, errlen))
				return false;
		} else {
			buf_append(&p->line, s, (size_t)(eol - s));
			if (!feed_line(p, p->line.data, p->line.len, err,
			    errlen))
				return false;
			buf_reset(&p->line);
		}
		s = eol + 1;
	}
	return true;
}

bool
sse_finish(struct sse *p, bool *pending, char *err, size_t errlen)
{
	if (pending != NULL)
		*pending = p->line.len > 0 || p->data.len > 0;
	if (p->failed)
		return util_seterr(err, errlen, "sse: input after an error");
	buf_reset(&p->line);
	reset_event(p);
	return true;
}

/* One line without its end; a blank line dispatches the event. */
static bool
feed_line(struct sse *p, const char *s, size_t n, char *err, size_t errlen)
{
	const char *colon, *value;
	size_t vlen;

	/* A byte-order mark may open the stream. */
	if (p->lineno++ == 0 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n == 0)
		return dispatch(p, err, errlen);
	if (s[0] == ':')
		return true;	/* a comment, often a keep-alive */
	colon = memchr(s, ':', n);
	if (colon == NULL)
		return field(p, s, n, "", 0, err, errlen);
	value = colon + 1;
	vlen = n - (size_t)(value - s);
	if (vlen > 0 && *value == ' ') {
		value++;
		vlen--;
	}
	return field(p, s, (size_t)(colon - s), value, vlen, err, errlen);
}

static bool
field(struct sse *p, const char *name, size_t nlen, const char *value,
    size_t vlen, char *err, size_t errlen)
{
#define IS(lit) (nlen == sizeof(lit) - 1 && memcmp(name, lit, nlen) == 0)
	if (IS("data") || IS("error")) {
		if (IS("error")) {
			buf_reset(&p->event);
			buf_puts(&p->event, "error");
		}
		if (p->data.len + vlen + 1 > p->max_event)
			return too_long(p, err, errlen);
		buf_append(&p->data, value, vlen);
		buf_putc(&p->data, '\n');
	} else if (IS("event")) {
		buf_reset(&p->event);
		buf_append(&p->event, value, vlen);
	}
	/* id, retry and unknown fields are ignored. */
	return true;
#undef IS
}

static bool
dispatch(struct sse *p, char *err, size_t errlen)
{
	bool ok;

	if (p->data.len == 0) {
		reset_event(p);
		return true;
	}
	p->data.data[--p->data.len] = '\0';	/* the last "\n" */
	p->nevents++;
	ok = p->cb == NULL || p->cb(p->event.len ? p->event.data : "message",
	    p->data.data, p->data.len, p->arg, err, errlen);
	reset_event(p);
	if (!ok)
		p->failed = true;
	return ok;
}

static bool
too_long(struct sse *p, char *err, size_t errlen)
{
	p->failed = true;
	buf_free(&p->line);
	buf_free(&p->data);
	return util_seterr(err, errlen, "event near line %zu is longer than "
	    "%zu bytes", p->lineno + 1, p->max_event);
}

static void
reset_event(struct sse *p)
{
	buf_reset(&p->data);
	buf_reset(&p->event);
}
