/*
 * llm: the transfer side of an LLM call (see llm.h): libcurl set-up, the
 * write and progress callbacks, and what a finished transfer means.
 * llm_proto.c knows the two protocols' bodies and stream chunks.
 *
 * A generation streams: Ollama NDJSON lines or OpenAI server-sent events
 * are parsed as bytes arrive, so an error object sent mid-stream (with
 * HTTP status 200) or a body that is not the expected stream stops the
 * transfer at once. Answers with an HTTP error status are not parsed as a
 * stream: their body (capped) goes into the error message. Every message
 * names the backend and keeps curl's own error text, and every failure is
 * classified (enum llm_failure) so the pool can tell a dead server from a
 * busy one from a bad answer.
 */
#include "llm.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <threads.h>

#include "buf.h"
#include "llm_impl.h"
#include "log.h"
#include "ndjson.h"
#include "sse.h"
#include "util.h"

#define ERRBODY_MAX	4096			/* bytes of an error body kept */
#define JSON_MAX	(8 * 1024 * 1024)	/* cap on a whole JSON answer */
#define STALL_DEFAULT_S	120
#define CONNECT_MAX_S	10

static once_flag global_once = ONCE_FLAG_INIT;

static void	 global_init_once(void);
static struct llm_call *call_new(const struct llm_backend *, const char *,
		    char *, size_t);
static struct llm_call *call_stream(const struct llm_backend *, json_t *,
		    char *, size_t);
static void	 call_headers(struct llm_call *, bool);
static bool	 call_post(struct llm_call *, json_t *, char *, size_t);
static bool	 transfer_ok(struct llm_call *, CURLcode, enum llm_failure *,
		    char *, size_t);
static bool	 transport_error(struct llm_call *, CURLcode,
		    enum llm_failure *, char *, size_t);
static size_t	 write_cb(char *, size_t, size_t, void *);
static bool	 start_body(struct llm_call *);
static int	 progress_cb(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static bool	 http_error(struct llm_call *, enum llm_failure *, char *,
		    size_t);
static char	*endpoint(const struct llm_backend *, const char *);
static bool	 check_backend(const struct llm_backend *, char *, size_t);
static void	 fill_response(struct llm_call *, struct llm_response *);

void
llm_global_init(void)
{
	call_once(&global_once, global_init_once);
}

static void
global_init_once(void)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(rc));
}

void
llm_global_cleanup(void)
{
	curl_global_cleanup();
}

bool
llm_is_openai(const struct llm_backend *be)
{
	return be->type != NULL && strcmp(be->type, "openai") == 0;
}

const char *
llm_failure_name(enum llm_failure f)
{
	switch (f) {
	case LLM_FAIL_NONE:	return "none";
	case LLM_FAIL_CONNECT:	return "refused";
	case LLM_FAIL_TIMEOUT:	return "timeout";
	case LLM_FAIL_BUSY:	return "busy";
	case LLM_FAIL_HTTP:	return "http";
	case LLM_FAIL_MODEL:	return "model";
	case LLM_FAIL_STREAM:	return "stream";
	case LLM_FAIL_OTHER:	break;
	}
	return "error";
}

struct llm_call *
llm_call_generate(const struct llm_backend *be, const struct llm_request *req,
    char *err, size_t errlen)
{
	if (!check_backend(be, err, errlen))
		return NULL;
	if (req->prompt == NULL) {
		util_seterr(err, errlen, "llm: no prompt");
		return NULL;
	}
	return call_stream(be, llm_request_body(be, req, err, errlen), err,
	    errlen);
}

/* Ollama unloads a model on a generation with keep_alive 0. */
struct llm_call *
llm_call_unload(const struct llm_backend *be, char *err, size_t errlen)
{
	json_t *body;

	if (!check_backend(be, err, errlen))
		return NULL;
	if (llm_is_openai(be)) {
		util_seterr(err, errlen, "backend %s: an OpenAI-compatible "
		    "server has no unload call", be->name);
		return NULL;
	}
	body = json_pack("{s:s,s:s,s:i}", "model", be->model, "prompt", "",
	    "keep_alive", 0);
	if (body == NULL) {
		util_seterr(err, errlen, "llm: model name is not valid UTF-8");
		return NULL;
	}
	return call_stream(be, body, err, errlen);
}

struct llm_call *
llm_call_get(const struct llm_backend *be, const char *path, char *err,
    size_t errlen)
{
	struct llm_call *c;

	if (!check_backend(be, err, errlen))
		return NULL;
	c = call_new(be, path, err, errlen);
	if (c != NULL) {
		c->body_max = JSON_MAX;
		call_headers(c, false);
	}
	return c;
}

CURL *
llm_call_easy(struct llm_call *c)
{
	return c->curl;
}

void
llm_call_free(struct llm_call *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->hdrs);
	ndjson_free(c->nd);
	sse_free(c->sse);
	buf_free(&c->body);
	buf_free(&c->content);
	free(c->url);
	free(c->request);
	free(c->model);
	free(c->done_reason);
	free(c->fingerprint);
	free(c);
}

bool
llm_call_generated(struct llm_call *c, CURLcode rc, struct llm_response *resp,
    char *err, size_t errlen)
{
	enum llm_failure f = LLM_FAIL_NONE;
	char why[512];
	curl_off_t after = 0;

	memset(resp, 0, sizeof(*resp));
	resp->total_s = util_monotonic() - c->started;
	if (!transfer_ok(c, rc, &f, err, errlen) ||
	    (c->status != 200 && !http_error(c, &f, err, errlen))) {
		resp->failure = f;
		resp->http_status = c->status;
		if (f == LLM_FAIL_BUSY && curl_easy_getinfo(c->curl,
		    CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
			resp->retry_after_s = (double)after;
		return false;
	}
	if (!llm_stream_complete(c, why, sizeof(why))) {
		resp->failure = LLM_FAIL_STREAM;
		resp->http_status = c->status;
		return util_seterr(err, errlen, "backend %s: %s: %s",
		    c->be->name, c->url, why);
	}
	fill_response(c, resp);
	return true;
}

static void
fill_response(struct llm_call *c, struct llm_response *resp)
{
	resp->http_status = c->status;
	resp->content = buf_release(&c->content);
	resp->model = c->model ? c->model : xstrdup(c->be->model);
	resp->done_reason = c->done_reason ? c->done_reason : xstrdup("");
	resp->fingerprint = c->fingerprint;
	c->model = c->done_reason = c->fingerprint = NULL;
	resp->prompt_tokens = c->prompt_tokens;
	resp->eval_tokens = c->eval_tokens;
	resp->eval_s = c->eval_s;
	resp->load_s = c->load_s;
}

bool
llm_call_json(struct llm_call *c, CURLcode rc, json_t **root,
    enum llm_failure *failure, char *err, size_t errlen)
{
	json_error_t jerr;

	*root = NULL;
	*failure = LLM_FAIL_NONE;
	if (!transfer_ok(c, rc, failure, err, errlen))
		return false;
	if (c->status != 200)
		return http_error(c, failure, err, errlen);
	*failure = LLM_FAIL_STREAM;
	if (c->body_overflow)
		return util_seterr(err, errlen, "backend %s: %s: answer larger "
		    "than %d bytes", c->be->name, c->url, JSON_MAX);
	*root = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0,
	    &jerr);
	if (*root == NULL)
		return util_seterr(err, errlen, "backend %s: %s: answer is not "
		    "JSON (%s): \"%.80s\"", c->be->name, c->url, jerr.text,
		    buf_cstr(&c->body));
	*failure = LLM_FAIL_NONE;
	return true;
}

void
llm_response_free(struct llm_response *r)
{
	free(r->content);
	free(r->model);
	free(r->done_reason);
	free(r->fingerprint);
	r->content = r->model = r->done_reason = r->fingerprint = NULL;
}

static struct llm_call *
call_new(const struct llm_backend *be, const char *path, char *err,
    size_t errlen)
{
	struct llm_call *c = xcalloc(1, sizeof(*c));

	c->be = be;
	buf_init(&c->body);
	buf_init(&c->content);
	c->url = endpoint(be, path);
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		util_seterr(err, errlen, "llm: curl_easy_init failed");
		llm_call_free(c);
		return NULL;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curlerr);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT,
	    "introeval/" INTROEVAL_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	if (be->timeout_s > 0)
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)be->timeout_s);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, (long)
	    (be->timeout_s > 0 && be->timeout_s < CONNECT_MAX_S ?
	    be->timeout_s : CONNECT_MAX_S));
	/*
	 * A server that goes silent fails the call after stall_s. curl's
	 * low-speed limit averages over several seconds including the upload,
	 * so watch the time since the last byte in the progress callback
	 * (which curl calls at least once a second) instead.
	 */
	c->stall_s = be->stall_s > 0 ? be->stall_s : STALL_DEFAULT_S;
	if (be->stall_s <= 0 && be->timeout_s > 0 &&
	    be->timeout_s < c->stall_s)
		c->stall_s = be->timeout_s;
	c->started = c->last_data = util_monotonic();
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	return c;
}

/*
 * A POST of body (NULL: it could not be made, err says why) to the
 * protocol's generate path, its answer parsed as the protocol's stream.
 * Takes body.
 */
static struct llm_call *
call_stream(const struct llm_backend *be, json_t *body, char *err,
    size_t errlen)
{
	const struct llm_proto *pr = llm_proto_of(be);
	struct llm_call *c = NULL;

	if (body != NULL)
		c = call_new(be, pr->generate_path, err, errlen);
	if (c != NULL) {
		pr->stream_start(c);
		if (!call_post(c, body, err, errlen)) {
			llm_call_free(c);
			c = NULL;
		}
	}
	json_decref(body);
	return c;
}

static void
call_headers(struct llm_call *c, bool post)
{
	const char *accept = c->sse != NULL ?
	    "Accept: text/event-stream, application/json" :
	    c->nd != NULL ? "Accept: application/x-ndjson, application/json" :
	    "Accept: application/json";
	char *auth;

	c->hdrs = curl_slist_append(NULL, accept);
	if (c->hdrs == NULL || (post && curl_slist_append(c->hdrs,
	    "Content-Type: application/json") == NULL))
		fatalx("curl_slist_append: out of memory");
	if (c->be->api_key != NULL && c->be->api_key[0] != '\0') {
		auth = xasprintf("Authorization: Bearer %s", c->be->api_key);
		if (curl_slist_append(c->hdrs, auth) == NULL)
			fatalx("curl_slist_append: out of memory");
		free(auth);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
}

static bool
call_post(struct llm_call *c, json_t *body, char *err, size_t errlen)
{
	c->request = json_dumps(body, JSON_COMPACT);
	if (c->request == NULL)
		return util_seterr(err, errlen, "llm: cannot serialise the "
		    "request");
	c->body_max = ERRBODY_MAX;
	call_headers(c, true);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->request);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(c->request));
	return true;
}

/* False for transport failures and stream errors, with the reason. */
static bool
transfer_ok(struct llm_call *c, CURLcode rc, enum llm_failure *f, char *err,
    size_t errlen)
{
	if (c->status == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->stream_failed) {
		*f = c->model_error ? LLM_FAIL_MODEL : LLM_FAIL_STREAM;
		return util_seterr(err, errlen, c->model_error ?
		    "backend %s: %s: model error: %s" : c->sse != NULL ?
		    "backend %s: %s: answer is not an event stream: %s" :
		    "backend %s: %s: answer is not NDJSON: %s",
		    c->be->name, c->url, c->stream_err);
	}
	if (rc == CURLE_OK)
		return true;
	return transport_error(c, rc, f, err, errlen);
}

static bool
transport_error(struct llm_call *c, CURLcode rc, enum llm_failure *f,
    char *err, size_t errlen)
{
	const struct llm_backend *be = c->be;
	const char *detail = c->curlerr[0] ? c->curlerr : curl_easy_strerror(rc);
	bool streaming = c->nd != NULL || c->sse != NULL;

	*f = LLM_FAIL_OTHER;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		*f = LLM_FAIL_CONNECT;
		return util_seterr(err, errlen, "backend %s: cannot connect "
		    "to %s: %s", be->name, be->url, detail);
	case CURLE_OPERATION_TIMEDOUT:
		*f = LLM_FAIL_TIMEOUT;
		return util_seterr(err, errlen, "backend %s: %s: timed out "
		    "after %d s: %s", be->name, c->url, be->timeout_s, detail);
	case CURLE_ABORTED_BY_CALLBACK:
		if (!c->stalled)
			break;
		*f = LLM_FAIL_TIMEOUT;
		return util_seterr(err, errlen, "backend %s: %s: stalled, no "
		    "data for %ld s", be->name, c->url, c->stall_s);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		if (!streaming || (c->status != 0 && c->status != 200))
			break;
		*f = LLM_FAIL_STREAM;
		return util_seterr(err, errlen, "backend %s: %s: stream ended "
		    "before the model finished (%ld chunks): %s", be->name,
		    c->url, c->chunks, detail);
	default:
		break;
	}
	if (c->status >= 300)
		return http_error(c, f, err, errlen);
	return util_seterr(err, errlen, "backend %s: %s: %s", be->name, c->url,
	    detail);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct llm_call *c = arg;
	size_t len = size * nmemb, room;
	bool ok;

	c->last_data = util_monotonic();
	if (c->status == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (!start_body(c)) {
		room = c->body_max > c->body.len ? c->body_max - c->body.len : 0;
		if (len > room)
			c->body_overflow = true;
		buf_append(&c->body, data, len < room ? len : room);
		return len;
	}
	if (c->nd != NULL)
		ok = ndjson_feed(c->nd, data, len, c->stream_err,
		    sizeof(c->stream_err));
	else
		ok = sse_feed(c->sse, data, len, c->stream_err,
		    sizeof(c->stream_err));
	if (!ok) {
		c->stream_failed = true;
		return 0;	/* aborts the transfer */
	}
	return len;
}

/*
 * Whether the answer is a stream to parse (else its body is collected).
 * An OpenAI-compatible server that ignores "stream" answers with one JSON
 * completion; that is collected and read whole at the end.
 */
static bool
start_body(struct llm_call *c)
{
	const char *ctype = NULL;

	if ((c->nd == NULL && c->sse == NULL) || c->status != 200)
		return false;
	if (c->sse != NULL && c->chunks == 0 && sse_events(c->sse) == 0 &&
	    c->body.len == 0 && curl_easy_getinfo(c->curl,
	    CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL &&
	    strncasecmp(ctype, "application/json", 16) == 0) {
		sse_free(c->sse);
		c->sse = NULL;
		c->body_max = JSON_MAX;
		return false;
	}
	return true;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct llm_call *c = arg;

	if (util_monotonic() - c->last_data < (double)c->stall_s)
		return 0;
	c->stalled = true;
	return 1;	/* aborts with CURLE_ABORTED_BY_CALLBACK */
}

/* Formats an HTTP error answer: status and the server's message. */
static bool
http_error(struct llm_call *c, enum llm_failure *f, char *err, size_t errlen)
{
	json_t *root;
	const char *msg;
	char *text;
	size_t n;
	bool r;

	*f = c->status == 503 || c->status == 429 ? LLM_FAIL_BUSY :
	    LLM_FAIL_HTTP;
	root = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0,
	    NULL);
	msg = llm_error_text(json_object_get(root, "error"));
	if (msg != NULL) {
		r = util_seterr(err, errlen, "backend %s: %s: HTTP %ld: %s",
		    c->be->name, c->url, c->status, msg);
		json_decref(root);
		return r;
	}
	json_decref(root);
	/* Not JSON: quote the start of the body on one line. */
	text = xstrndup(buf_cstr(&c->body), c->body.len > 200 ? 200 :
	    c->body.len);
	for (n = 0; text[n] != '\0'; n++)
		if (text[n] == '\n' || text[n] == '\r')
			text[n] = ' ';
	r = util_seterr(err, errlen, "backend %s: %s: HTTP %ld: %s",
	    c->be->name, c->url, c->status, text[0] ? text : "(empty body)");
	free(text);
	return r;
}

static char *
endpoint(const struct llm_backend *be, const char *path)
{
	size_t n = strlen(be->url);

	while (n > 0 && be->url[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, be->url, path);
}

static bool
check_backend(const struct llm_backend *be, char *err, size_t errlen)
{
	const char *name = be->name ? be->name : "(unnamed)";

	if (be->type != NULL && strcmp(be->type, "ollama") != 0 &&
	    strcmp(be->type, "openai") != 0)
		return util_seterr(err, errlen, "backend %s: type \"%s\" is "
		    "not supported (ollama, openai)", name, be->type);
	if (be->url == NULL || be->url[0] == '\0')
		return util_seterr(err, errlen, "backend %s: no url", name);
	if (be->model == NULL || be->model[0] == '\0')
		return util_seterr(err, errlen, "backend %s: no model", name);
	if (be->name == NULL)
		return util_seterr(err, errlen, "backend at %s: no name",
		    be->url);
	return true;
}

/* ---- blocking forms ---------------------------------------------------- */

bool
llm_generate(const struct llm_backend *be, const struct llm_request *req,
    struct llm_response *resp, char *err, size_t errlen)
{
	struct llm_call *c;
	bool ok;

	memset(resp, 0, sizeof(*resp));
	if ((c = llm_call_generate(be, req, err, errlen)) == NULL)
		return false;
	ok = llm_call_generated(c, curl_easy_perform(c->curl), resp, err,
	    errlen);
	llm_call_free(c);
	return ok;
}

bool
llm_unload(const struct llm_backend *be, char *err, size_t errlen)
{
	struct llm_response resp;
	struct llm_call *c;
	bool ok;

	memset(&resp, 0, sizeof(resp));
	if ((c = llm_call_unload(be, err, errlen)) == NULL)
		return false;
	ok = llm_call_generated(c, curl_easy_perform(c->curl), &resp, err,
	    errlen);
	llm_call_free(c);
	if (ok && strcmp(resp.done_reason, "unload") != 0)
		ok = util_seterr(err, errlen, "backend %s: unload of %s "
		    "answered done_reason \"%s\"", be->name, be->model,
		    resp.done_reason);
	llm_response_free(&resp);
	return ok;
}

bool
llm_list_models(const struct llm_backend *be, json_t **models_out,
    char *err, size_t errlen)
{
	struct llm_call *c;
	enum llm_failure f;
	json_t *root = NULL, *models;
	const char *key = llm_proto_of(be)->models_key;
	bool ok = false;

	*models_out = NULL;
	if ((c = llm_call_get(be, llm_models_path(be), err, errlen)) == NULL)
		return false;
	if (!llm_call_json(c, curl_easy_perform(c->curl), &root, &f, err,
	    errlen))
		goto out;
	models = json_object_get(root, key);
	if (!json_is_array(models)) {
		util_seterr(err, errlen, "backend %s: %s: answer has no \"%s\" "
		    "array", be->name, c->url, key);
		goto out;
	}
	*models_out = json_incref(models);
	ok = true;
out:
	json_decref(root);
	llm_call_free(c);
	return ok;
}
