/*
 * http: every request introevalctl makes, through one libcurl handle (so
 * a submit's chunks reuse one connection), with the bearer token, and the
 * server's errors read in both of the API's shapes: {"error": "words"}
 * and {"error": {"code", "message", "field"}}.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "ctl.h"

#define USER_AGENT	"introevalctl/" INTROEVALCTL_VERSION
#define RETRIES		3
#define RETRY_MAX_S	30

struct sink {
	char	*buf;
	size_t	 len;
};

struct prog {
	const struct ctl_req *req;
};

static size_t	 on_data(char *, size_t, size_t, void *);
static int	 on_xfer(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static bool	 append(struct sink *, const char *, size_t);
static bool	 http_once(struct ctl *, const struct ctl_req *,
		    struct ctl_resp *);

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("introevalctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool
append(struct sink *s, const char *p, size_t n)
{
	char *nb = realloc(s->buf, s->len + n + 1);

	if (nb == NULL)
		return false;
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return true;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	return append(arg, p, size * n) ? size * n : 0;
}

static int
on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	const struct ctl_req *req = arg;

	req->on_progress(req->arg, (double)ulnow);
	return 0;
}

/*
 * Sends req and fills resp (free it with ctl_resp_free). False only when
 * no answer came (resp->err says why); any HTTP status is true. A 429
 * (the API's rate limit) or a 503 that names a Retry-After of at most
 * RETRY_MAX_S is waited out and sent again, up to RETRIES times: the
 * server did nothing with it, and a POST carries its Idempotency-Key.
 */
bool
ctl_http(struct ctl *c, const struct ctl_req *req, struct ctl_resp *resp)
{
	char v[32];
	long wait;
	int i;

	for (i = 0;; i++) {
		if (!http_once(c, req, resp))
			return false;
		if ((resp->status != 429 && resp->status != 503) ||
		    i == RETRIES || !ctl_resp_header(resp, "Retry-After", v,
		    sizeof(v)) || (wait = atol(v)) > RETRY_MAX_S)
			return true;
		if (wait < 1)
			wait = 1;
		ctl_warnx("%s: the server asks to wait %ld s (HTTP %ld); "
		    "trying again then", req->path, wait, resp->status);
		ctl_resp_free(resp);
		sleep((unsigned)wait);
	}
}

static bool
http_once(struct ctl *c, const struct ctl_req *req, struct ctl_resp *resp)
{
	struct sink body = { NULL, 0 }, hdrs = { NULL, 0 };
	struct curl_slist *h = NULL;
	char url[2048], line[600];
	const char *const *x;
	CURLcode rc;
	CURL *cu;

	memset(resp, 0, sizeof(*resp));
	if (c->curl == NULL && (c->curl = curl_easy_init()) == NULL) {
		snprintf(resp->err, sizeof(resp->err), "libcurl failed to start");
		return false;
	}
	cu = c->curl;
	curl_easy_reset(cu);
	snprintf(url, sizeof(url), "%s%s", c->url, req->path);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, &hdrs);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, NULL);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PATCH") == 0) {
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, req->body ? req->body :
		    "");
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->len);
	}
	if (c->o != NULL && c->o->limit_rate > 0)
		curl_easy_setopt(cu, CURLOPT_MAX_SEND_SPEED_LARGE,
		    (curl_off_t)c->o->limit_rate);
	if (req->progress && req->on_progress != NULL) {
		curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(cu, CURLOPT_XFERINFODATA, (void *)req);
	}
	if (c->token[0] != '\0') {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    c->token);
		h = curl_slist_append(h, line);
	}
	if (req->ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->ctype);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	for (x = req->headers; x != NULL && *x != NULL; x++)
		h = curl_slist_append(h, *x);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(cu);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(resp->err, sizeof(resp->err), "%s: %s", c->url,
		    curl_easy_strerror(rc));
		free(body.buf);
		free(hdrs.buf);
		return false;
	}
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = body.buf ? body.buf : calloc(1, 1);
	resp->len = body.len;
	resp->headers = hdrs.buf ? hdrs.buf : calloc(1, 1);
	return true;
}

void
ctl_resp_free(struct ctl_resp *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

/* The last value of header name (a redirect's headers come first). */
bool
ctl_resp_header(const struct ctl_resp *r, const char *name, char *buf,
    size_t len)
{
	const char *p = r->headers, *end, *v;
	size_t n = strlen(name);
	bool found = false;

	while (p != NULL && *p != '\0') {
		end = p + strcspn(p, "\r\n");
		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			v = p + n + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			snprintf(buf, len, "%.*s", (int)(end - v), v);
			found = true;
		}
		p = end + strspn(end, "\r\n");
	}
	return found;
}

/*
 * An API error's words: "words" for {"error": "words"}, "message (field)"
 * for {"error": {"code", "message", "field"}} (the code without a
 * message); false when e is neither.
 */
bool
ctl_error_text(json_t *e, char *buf, size_t len)
{
	const char *msg = NULL, *field = NULL;

	if (json_is_string(e))
		msg = json_string_value(e);
	else if (json_is_object(e)) {
		msg = json_string_value(json_object_get(e, "message"));
		field = json_string_value(json_object_get(e, "field"));
		if (msg == NULL)
			msg = json_string_value(json_object_get(e, "code"));
	}
	if (msg == NULL)
		return false;
	if (field != NULL && field[0] != '\0')
		snprintf(buf, len, "%s (%s)", msg, field);
	else
		snprintf(buf, len, "%s", msg);
	return true;
}

/*
 * The error's words from an answer's body (ctl_error_text); else the
 * body's first line, else the status.
 */
void
ctl_api_error(const char *body, size_t len, long status, char *buf,
    size_t buflen)
{
	json_t *j = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
	size_t n;

	if (!ctl_error_text(json_object_get(j, "error"), buf, buflen)) {
		n = body != NULL ? strcspn(body, "\r\n") : 0;
		if (j == NULL && n > 0 && body[0] != '<')
			snprintf(buf, buflen, "%.*s", (int)(n < 200 ? n : 200),
			    body);
		else
			snprintf(buf, buflen, "the server answered HTTP %ld",
			    status);
	}
	json_decref(j);
}

int
ctl_exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return CTL_OK;
	if (status == 401 || status == 403)
		return CTL_AUTH;
	if (status == 404 || status == 410)
		return CTL_NOTFOUND;
	if (status == 0 || status >= 500 || status == 429 || status == 408)
		return CTL_UNAVAILABLE;
	return CTL_FAILED;
}

/* Says why a request failed (on stderr) and returns the exit code. */
int
ctl_report(struct ctl *c, const char *what, struct ctl_resp *r)
{
	char msg[512];
	json_t *j, *e;

	if (r->status == 0) {
		ctl_warnx("%s: cannot reach the server: %s", what, r->err);
		snprintf(msg, sizeof(msg), "cannot reach the server: %s",
		    r->err);
	} else {
		ctl_api_error(r->body, r->len, r->status, msg, sizeof(msg));
		if (r->status == 401)
			ctl_warnx("%s: %s (HTTP 401; sign in with "
			    "\"introevalctl login\" or set INTROEVAL_TOKEN)",
			    what, msg);
		else
			ctl_warnx("%s: %s (HTTP %ld)", what, msg, r->status);
	}
	/* --json: the same on standard output, for scripts */
	if (c->o != NULL && c->o->json) {
		j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
		e = json_object_get(j, "error");
		ctl_print_json(c, json_pack("{s:{s:s, s:I, s:s, s:O?, s:O?}}",
		    "error", "request", what, "status", (json_int_t)r->status,
		    "message", msg, "code", json_object_get(e, "code"),
		    "field", json_object_get(e, "field")));
		json_decref(j);
	}
	return ctl_exit_for_status(r->status);
}

static json_t *
get_json(struct ctl *c, const char *path, int *code, bool quiet404)
{
	struct ctl_req req = { .method = "GET", .path = path };
	struct ctl_resp r;
	json_t *j = NULL;

	*code = CTL_OK;
	if (!ctl_http(c, &req, &r) || r.status != 200) {
		if (quiet404 && r.status == 404)
			*code = CTL_NOTFOUND;
		else
			*code = ctl_report(c, path, &r);
		ctl_resp_free(&r);
		return NULL;
	}
	if ((j = json_loadb(r.body, r.len, 0, NULL)) == NULL) {
		ctl_warnx("%s: the answer is not JSON", path);
		*code = CTL_UNAVAILABLE;
	}
	ctl_resp_free(&r);
	return j;
}

/* GET path as JSON; NULL with *code set (and the reason said). */
json_t *
ctl_get_json(struct ctl *c, const char *path, int *code)
{
	return get_json(c, path, code, false);
}

/* The same, silent about a 404 (a route this server may not have). */
json_t *
ctl_try_json(struct ctl *c, const char *path, int *code)
{
	return get_json(c, path, code, true);
}

/*
 * method path with the JSON body (stolen); the answer's JSON, or NULL.
 * *status is the HTTP status; a 4xx answer's JSON is returned too (the
 * job preview's 422 carries questions), with *code set from the status.
 */
json_t *
ctl_send_json(struct ctl *c, const char *method, const char *path,
    json_t *body, long *status, int *code)
{
	char *text = json_dumps(body, JSON_COMPACT), key[64];
	const char *hdr[] = { key, NULL };
	struct ctl_req req = { .method = method, .path = path,
	    .ctype = "application/json", .body = text,
	    .len = text ? strlen(text) : 0, .headers = hdr };
	struct ctl_resp r;
	json_t *j = NULL;

	json_decref(body);
	ctl_idempotency_key(key, sizeof(key));
	*code = CTL_OK;
	*status = 0;
	if (!ctl_http(c, &req, &r)) {
		*code = ctl_report(c, path, &r);
		goto out;
	}
	*status = r.status;
	j = json_loadb(r.body, r.len, 0, NULL);
	if (r.status < 200 || r.status >= 300)
		*code = ctl_report(c, path, &r);
	else if (j == NULL) {
		ctl_warnx("%s: the answer is not JSON", path);
		*code = CTL_UNAVAILABLE;
	}
out:
	ctl_resp_free(&r);
	free(text);
	return j;
}

/* "Idempotency-Key: <32 hex digits>": one per request a script makes,
 * so that its retries are done once (the API keeps answers 24 h). */
void
ctl_idempotency_key(char *line, size_t len)
{
	unsigned char rnd[16];
	char hex[33];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(line, len, "Idempotency-Key: %s", hex);
}

/* Prints j as one line and releases it. */
void
ctl_print_json(struct ctl *c, json_t *j)
{
	json_dumpf(j, c->out, JSON_COMPACT);
	fputc('\n', c->out);
	fflush(c->out);
	json_decref(j);
}
