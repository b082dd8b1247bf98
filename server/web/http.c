/*
 * http: the bottom of the web layer, the replies and request bodies every
 * handler uses (see http.h). http_send is the only place a status line
 * and the security headers are written; the other replies are built on
 * it. Nothing here knows a route or a handler: the router (router.c)
 * sits above these helpers and the handlers.
 */
#include "http.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "tmpl.h"
#include "util.h"

#define FORM_MAX	(64 * 1024)

static const char security_headers[] =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'\r\n";

#define SEND_CHUNK	(64 * 1024)	/* bytes of a file per write */
#define DB_BUSY		"the server is busy, try again in a moment"
#define DB_DOWN		"the database is unavailable; try again shortly"
#define BUILD_FAILED	"{\"error\":{\"code\":\"internal\",\"message\":" \
			"\"the server could not build its answer\"}}"

static bool	 wants_json(struct req *);
static int	 json_with(struct req *, int, json_t *, const char *);
static void	 capture(struct req *, int, const char *, const char *,
		    size_t, const char *);
static void	 answering(struct req *, int);
static int	 error_with(struct req *, int, const char *, const char *,
		    const char *, const char *);
static int	 error_va(struct req *, int, const char *, const char *,
		    const char *, const char *, va_list)
		    __attribute__((format(printf, 6, 0)));

/*
 * Every status an error is answered with has a code of its own (README's
 * table lists them; test_api_errors checks that it does).
 */
static const struct {
	int		 status;
	const char	*code;
} status_codes[] = {
	{ 400, "bad_request" }, { 401, "unauthenticated" },
	{ 403, "forbidden" }, { 404, "not_found" },
	{ 405, "method_not_allowed" }, { 408, "request_timeout" },
	{ 409, "conflict" }, { 410, "gone" },
	{ 412, "precondition_failed" }, { 413, "too_large" },
	{ 415, "unsupported_media_type" }, { 422, "invalid" },
	{ 423, "locked" }, { 429, "rate_limited" },
	{ 500, "internal" }, { 503, "unavailable" },
	{ 507, "insufficient_storage" },
};

static bool
wants_json(struct req *r)
{
	const char *accept = http_header(r, "Accept");

	return r->api || (accept != NULL && strstr(accept, "application/json")
	    != NULL && strstr(accept, "text/html") == NULL);
}

int
http_send(struct req *r, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	bool head = strcmp(r->ri->request_method, "HEAD") == 0;

	answering(r, status);
	capture(r, status, ctype, body, len, extra);
	mg_printf(r->conn, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s%s%s\r\n", status, mg_get_response_code_text(r->conn, status),
	    ctype, len, security_headers, extra != NULL ? extra :
	    "Cache-Control: no-store\r\n",
	    status == 413 ? "Connection: close\r\n" : "");
	if (!head && len > 0)
		mg_write(r->conn, body, len);
	return status;
}

int
http_send_head(struct req *r, int status, const char *ctype,
    long long length, const char *extra)
{
	answering(r, status);
	if (r->capture != NULL && !r->capture->taken) {
		r->capture->taken = true;
		r->capture->streamed = true;
		r->capture->status = status;
		if (r->capture->keep != NULL)
			r->capture->kept = r->capture->keep(r, r->capture);
	}
	mg_printf(r->conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %lld\r\n%s%s\r\n", status,
	    mg_get_response_code_text(r->conn, status), ctype, length,
	    security_headers, extra != NULL ? extra :
	    "Cache-Control: no-store\r\n");
	return status;
}

/* The request's on_answer hook, once. */
static void
answering(struct req *r, int status)
{
	void (*fn)(struct req *, int) = r->on_answer;

	r->on_answer = NULL;
	if (fn != NULL)
		fn(r, status);
}

/* Keeps the first answer for the capture, if one is set. */
static void
capture(struct req *r, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	struct http_capture *c = r->capture;

	if (c == NULL || c->taken)
		return;
	c->taken = true;
	c->status = status;
	c->ctype = xstrdup(ctype);
	c->headers = extra != NULL ? xstrdup(extra) : NULL;
	c->body = xmalloc(len + 1);
	memcpy(c->body, body, len);
	c->body[len] = '\0';
	c->len = len;
	if (c->keep != NULL)
		c->kept = c->keep(r, c);
}

void
http_capture_free(struct http_capture *c)
{
	free(c->ctype);
	free(c->headers);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

int
http_json(struct req *r, int status, json_t *body)
{
	return json_with(r, status, body, NULL);
}

int
http_json_headers(struct req *r, int status, json_t *body,
    const char *extra)
{
	return json_with(r, status, body, extra);
}

static int
json_with(struct req *r, int status, json_t *body, const char *extra)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
	int rc;

	json_decref(body);
	if (text == NULL) {
		/* json_pack failed (a NULL or non-UTF-8 string): say where. */
		log_warnx("http: %s %s: could not build its JSON answer "
		    "(status %d)", r->ri->request_method, r->ri->local_uri, status);
		return http_send(r, 500, "application/json", BUILD_FAILED,
		    sizeof(BUILD_FAILED) - 1, NULL);
	}
	rc = http_send(r, status, "application/json", text, strlen(text),
	    extra);
	free(text);
	return rc;
}

const char *
http_status_code(int status)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(status_codes); i++)
		if (status_codes[i].status == status)
			return status_codes[i].code;
	return status >= 500 ? "internal" : "bad_request";
}

json_t *
http_error_body(int status, const char *code, const char *field,
    const char *msg)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code != NULL ? code :
	    http_status_code(status), "message", msg);

	if (e == NULL)		/* words that are not UTF-8 */
		e = json_pack("{s:s, s:s}", "code", "internal", "message",
		    "the server could not put its answer into words");
	if (field != NULL)
		json_object_set_new(e, "field", json_string(field));
	return json_pack("{s:o}", "error", e);
}

int
http_error(struct req *r, int status, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_va(r, status, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
http_error_field(struct req *r, int status, const char *code,
    const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_va(r, status, NULL, code, field, fmt, ap);
	va_end(ap);
	return rc;
}

static int
error_va(struct req *r, int status, const char *extra, const char *code,
    const char *field, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (status >= 500)
		log_warnx("http %s %s status=%d: %s", r->ri->request_method,
		    r->ri->local_uri, status, msg);
	return error_with(r, status, extra, code, field, msg);
}

int
http_error_member(struct req *r, int status, json_t *body,
    const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_va(r, status, NULL, json_object_get(body, field) == NULL ?
	    "missing_field" : "invalid", field, fmt, ap);
	va_end(ap);
	return rc;
}

int
http_error_code(struct req *r, int status, const char *code,
    const char *extra, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = error_va(r, status, extra, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
http_error_headers(struct req *r, int status, const char *extra,
    const char *msg)
{
	return error_with(r, status, extra, NULL, NULL, msg);
}

/*
 * The one place an error answer is built: an error page, or for the API
 * and scripts http_error_body's {"error": {"code", "message", "field"}}.
 */
static int
error_with(struct req *r, int status, const char *extra, const char *code,
    const char *field, const char *msg)
{
	char num[8];

	if (wants_json(r))
		return json_with(r, status, http_error_body(status, code, field,
		    msg), extra);
	snprintf(num, sizeof(num), "%d", status);
	return http_render_with(r, status, "error", json_pack("{s:s, s:s, s:s}",
	    "title", mg_get_response_code_text(r->conn, status), "status",
	    num, "message", msg), extra);
}

int
http_db_status(const char **msg, const char **headers)
{
	bool busy = db_last_busy();

	*msg = busy ? DB_BUSY : DB_DOWN;
	*headers = busy ? "Retry-After: 1\r\n" : "Retry-After: 5\r\n";
	return 503;
}

int
http_db_error(struct req *r)
{
	const char *msg, *retry;
	char headers[128];
	int status = http_db_status(&msg, &retry);

	/* A busy pool is logged once by the pool, not per request. */
	if (!db_last_busy())
		log_warnx("http %s %s status=%d: %s", r->ri->request_method,
		    r->ri->local_uri, status, msg);
	snprintf(headers, sizeof(headers), "%sCache-Control: no-store\r\n",
	    retry);
	return error_with(r, status, headers, HTTP_DB_CODE, NULL, msg);
}

int
http_redirect(struct req *r, const char *location, const char *extra)
{
	char hdr[1024];

	snprintf(hdr, sizeof(hdr), "Location: %s\r\nCache-Control: no-store"
	    "\r\n%s", location, extra != NULL ? extra : "");
	return http_send(r, 303, "text/plain", "", 0, hdr);
}

int
http_render(struct req *r, int status, const char *name, json_t *ctx)
{
	return http_render_with(r, status, name, ctx, NULL);
}

int
http_render_with(struct req *r, int status, const char *name, json_t *ctx,
    const char *extra)
{
	struct buf out;
	char err[256];
	int rc;

	if (r->authed) {
		const char *role = r->user.role;

		json_object_set_new(ctx, "user", json_pack("{s:I, s:s, s:s, "
		    "s:s, s:b, s:b, s:b}", "id", (json_int_t)r->user.id, "name",
		    r->user.name, "email", r->user.email, "role", role,
		    "is_student", strcmp(role, "student") == 0, "is_staff",
		    strcmp(role, "student") != 0, "is_admin",
		    strcmp(role, "admin") == 0));
		json_object_set_new(ctx, "csrf", json_string(r->user.csrf));
	}
	buf_init(&out);
	if (!tmpl_set_render(r->app->tmpl, name, ctx, &out, err,
	    sizeof(err))) {
		log_warnx("template %s: %s", name, err);
		rc = http_send(r, 500, "text/plain; charset=utf-8",
		    "the page could not be drawn\n", 28, NULL);
	} else
		rc = http_send(r, status, "text/html; charset=utf-8",
		    buf_cstr(&out), out.len, extra);
	buf_free(&out);
	json_decref(ctx);
	return rc;
}

bool
http_read_body(struct req *r, char **body)
{
	struct buf b;
	char chunk[4096];
	int n;

	if (r->prebody != NULL) {
		*body = r->prebody;
		r->prebody = NULL;
		return true;
	}
	*body = NULL;
	buf_init(&b);
	while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)n > FORM_MAX) {
			buf_free(&b);
			http_error(r, 413, "this request body is too large");
			return false;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	*body = buf_release(&b);
	return true;
}

json_t *
http_read_json(struct req *r, int *status)
{
	json_t *body;
	char *text;

	if (!http_read_body(r, &text)) {
		*status = 413;
		return NULL;
	}
	body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(body)) {
		json_decref(body);
		*status = http_error_code(r, 400, "invalid_json", NULL, "the "
		    "body must be a JSON object");
		return NULL;
	}
	return body;
}

bool
http_read_form(struct req *r, char **body)
{
	char csrf[128];

	if (!http_read_body(r, body))
		return false;
	if (r->authed && (!http_form_get(*body, "csrf", csrf, sizeof(csrf)) ||
	    !auth_token_equal(csrf, r->user.csrf))) {
		free(*body);
		*body = NULL;
		http_error_code(r, 403, "csrf_failed", NULL, "this form has "
		    "expired; reload the page and try again");
		return false;
	}
	return true;
}

bool
http_form_get(const char *body, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = body, *end;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=')
			return mg_url_decode(p + nlen + 1, (int)(end - p -
			    (ptrdiff_t)nlen - 1), out, (int)outlen, 1) >= 0;
		if ((size_t)(end - p) == nlen && strncmp(p, name, nlen) == 0) {
			out[0] = '\0';
			return true;
		}
		p = *end == '&' ? end + 1 : NULL;
	}
	return false;
}

const char *
http_header(struct req *r, const char *name)
{
	return mg_get_header(r->conn, name);
}

/* A non-negative decimal at *p, advancing it; false if none. */
static bool
range_num(const char **p, long long *out)
{
	long long v = 0;

	if (**p < '0' || **p > '9')
		return false;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		if (v > (LLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

enum http_range
http_range_parse(const char *h, long long size, long long *from,
    long long *to)
{
	const char *p;
	long long a, b;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') {		/* the last N bytes */
		p++;
		if (!range_num(&p, &b) || (*p != '\0' && *p != ' '))
			return HTTP_RANGE_NONE;
		if (b == 0 || size == 0)
			return HTTP_RANGE_BAD;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return HTTP_RANGE_OK;
	}
	if (!range_num(&p, &a) || *p++ != '-')
		return HTTP_RANGE_NONE;
	b = size - 1;
	if (*p >= '0' && *p <= '9' && !range_num(&p, &b))
		return HTTP_RANGE_NONE;
	while (*p == ' ')
		p++;
	if (*p != '\0')		/* several ranges, or nonsense */
		return HTTP_RANGE_NONE;
	if (a >= size)
		return HTTP_RANGE_BAD;
	if (b < a)
		return HTTP_RANGE_NONE;
	*from = a;
	*to = b < size ? b : size - 1;
	return HTTP_RANGE_OK;
}

int
http_send_file(struct req *r, int fd, long long size, const char *ctype)
{
	bool head = strcmp(r->ri->request_method, "HEAD") == 0;
	long long from = 0, to = size - 1, left;
	char *buf, range[96] = "";
	int status = 200;
	ssize_t n;

	switch (http_range_parse(http_header(r, "Range"), size, &from, &to)) {
	case HTTP_RANGE_BAD:
		snprintf(range, sizeof(range), "Content-Range: bytes */%lld\r\n",
		    size);
		mg_printf(r->conn, "HTTP/1.1 416 %s\r\nContent-Length: 0\r\n"
		    "Accept-Ranges: bytes\r\n%s%sCache-Control: private\r\n"
		    "\r\n", mg_get_response_code_text(r->conn, 416), range,
		    security_headers);
		return 416;
	case HTTP_RANGE_OK:
		status = 206;
		snprintf(range, sizeof(range), "Content-Range: bytes "
		    "%lld-%lld/%lld\r\n", from, to, size);
		break;
	case HTTP_RANGE_NONE:
		break;
	}
	left = size > 0 ? to - from + 1 : 0;
	mg_printf(r->conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %lld\r\nAccept-Ranges: bytes\r\n%s%s"
	    "Cache-Control: private\r\n\r\n", status,
	    mg_get_response_code_text(r->conn, status), ctype, left, range,
	    security_headers);
	if (head)
		return status;
	buf = xmalloc(SEND_CHUNK);	/* request threads have small stacks */
	while (left > 0) {
		n = pread(fd, buf, left < SEND_CHUNK ? (size_t)left :
		    SEND_CHUNK, from);
		if (n <= 0) {
			log_warn("http: reading a file to send");
			break;		/* the length tells the client */
		}
		if (mg_write(r->conn, buf, (size_t)n) <= 0)
			break;		/* the client went away */
		from += n;
		left -= n;
	}
	free(buf);
	return status;
}
