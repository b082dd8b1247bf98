/*
 * llm: Ollama client (see llm.h).
 *
 * A generation streams NDJSON: chunks {"response": "...", "done": false}
 * and a final {"done": true, "done_reason": ..., "eval_count": ...}. The
 * curl write callback feeds bytes to an ndjson parser as they arrive, so
 * a model error sent mid-stream as {"error": "..."} (with HTTP status 200)
 * or a line that is not JSON stops the transfer at once. Answers with an
 * HTTP error status are not parsed as a stream: their body (capped) goes
 * into the error message. Every message names the backend and keeps
 * curl's own error text.
 */
#include "llm.h"

#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "ndjson.h"
#include "util.h"

#define ERRBODY_MAX	4096			/* bytes of an error body kept */
#define TAGS_MAX	(8 * 1024 * 1024)	/* cap on a /api/tags body */
#define STALL_DEFAULT_S	120
#define CONNECT_MAX_S	10

/* The state of one transfer, shared with the curl callbacks. */
struct call {
	const struct llm_backend *be;
	CURL		*curl;
	struct curl_slist *hdrs;
	char		 curlerr[CURL_ERROR_SIZE];
	long		 status;
	struct ndjson	*nd;		/* NULL: collect the body in `body` */
	struct buf	 body;		/* error body, or the whole tags body */
	size_t		 body_max;
	bool		 body_overflow;
	bool		 stream_failed;	/* the ndjson parse was stopped */
	bool		 model_error;	/* ... by an {"error": ...} line */
	char		 stream_err[512];
	double		 last_data;	/* monotonic time of the last byte */
	long		 stall_s;
	bool		 stalled;
	/* From the stream. */
	struct buf	 content;
	char		*model;
	char		*done_reason;
	bool		 done;
	long		 prompt_tokens, eval_tokens;
	double		 eval_s, load_s;
};

static once_flag global_once = ONCE_FLAG_INIT;

static void	 global_init_once(void);
static bool	 call_setup(struct call *, const struct llm_backend *,
		    const char *, char *, size_t);
static void	 call_cleanup(struct call *);
static bool	 call_perform(struct call *, const char *, char *, size_t);
static size_t	 write_cb(char *, size_t, size_t, void *);
static int	 progress_cb(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static bool	 chunk_cb(json_t *, void *, char *, size_t);
static bool	 http_error(struct call *, const char *, char *, size_t);
static bool	 generate_body(const struct llm_backend *, json_t *,
		    struct llm_response *, char *, size_t);
static char	*endpoint(const struct llm_backend *, const char *);
static bool	 check_backend(const struct llm_backend *, char *, size_t);
static double	 ns_to_s(json_t *);

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
llm_generate(const struct llm_backend *be, const struct llm_request *req,
    struct llm_response *resp, char *err, size_t errlen)
{
	json_t *body;
	bool ok;

	memset(resp, 0, sizeof(*resp));
	if (!check_backend(be, err, errlen))
		return false;
	if (req->prompt == NULL)
		return util_seterr(err, errlen, "llm: no prompt");
	body = json_pack("{s:s,s:s,s:b}", "model", be->model,
	    "prompt", req->prompt, "stream", 1);
	if (body == NULL)
		return util_seterr(err, errlen, "llm: prompt or model name is "
		    "not valid UTF-8");
	if (req->system != NULL &&
	    json_object_set_new(body, "system", json_string(req->system)) != 0) {
		json_decref(body);
		return util_seterr(err, errlen, "llm: system prompt is not "
		    "valid UTF-8");
	}
	if (req->format != NULL)
		json_object_set(body, "format", req->format);
	if (req->options != NULL)
		json_object_set(body, "options", req->options);
	ok = generate_body(be, body, resp, err, errlen);
	json_decref(body);
	return ok;
}

bool
llm_unload(const struct llm_backend *be, char *err, size_t errlen)
{
	struct llm_response resp;
	json_t *body;
	bool ok;

	memset(&resp, 0, sizeof(resp));
	if (!check_backend(be, err, errlen))
		return false;
	body = json_pack("{s:s,s:s,s:i}", "model", be->model, "prompt", "",
	    "keep_alive", 0);
	if (body == NULL)
		return util_seterr(err, errlen, "llm: model name is not "
		    "valid UTF-8");
	ok = generate_body(be, body, &resp, err, errlen);
	json_decref(body);
	if (ok && (resp.done_reason == NULL ||
	    strcmp(resp.done_reason, "unload") != 0))
		ok = util_seterr(err, errlen, "backend %s: unload of %s "
		    "answered done_reason \"%s\"", be->name, be->model,
		    resp.done_reason ? resp.done_reason : "");
	llm_response_free(&resp);
	return ok;
}

void
llm_response_free(struct llm_response *r)
{
	free(r->content);
	free(r->model);
	free(r->done_reason);
	r->content = r->model = r->done_reason = NULL;
}

bool
llm_list_models(const struct llm_backend *be, json_t **models_out,
    char *err, size_t errlen)
{
	struct call c;
	json_error_t jerr;
	json_t *root = NULL, *models;
	char *url;
	bool ok = false;

	*models_out = NULL;
	if (!check_backend(be, err, errlen))
		return false;
	url = endpoint(be, "/api/tags");
	if (!call_setup(&c, be, url, err, errlen))
		goto out;
	c.body_max = TAGS_MAX;
	if (!call_perform(&c, url, err, errlen))
		goto out;
	if (c.status != 200) {
		http_error(&c, url, err, errlen);
		goto out;
	}
	if (c.body_overflow) {
		util_seterr(err, errlen, "backend %s: %s: answer larger than "
		    "%d bytes", be->name, url, TAGS_MAX);
		goto out;
	}
	root = json_loadb(c.body.data ? c.body.data : "", c.body.len, 0,
	    &jerr);
	if (root == NULL) {
		util_seterr(err, errlen, "backend %s: %s: answer is not JSON "
		    "(%s): \"%.80s\"", be->name, url, jerr.text,
		    buf_cstr(&c.body));
		goto out;
	}
	models = json_object_get(root, "models");
	if (!json_is_array(models)) {
		util_seterr(err, errlen, "backend %s: %s: answer has no "
		    "\"models\" array", be->name, url);
		goto out;
	}
	*models_out = json_incref(models);
	ok = true;
out:
	json_decref(root);
	call_cleanup(&c);
	free(url);
	return ok;
}

/* POSTs body to /api/generate and reads the stream into resp. */
static bool
generate_body(const struct llm_backend *be, json_t *body,
    struct llm_response *resp, char *err, size_t errlen)
{
	struct call c;
	char *url, *text = NULL, perr[512];
	double t0 = util_monotonic();
	bool ok = false;

	url = endpoint(be, "/api/generate");
	if (!call_setup(&c, be, url, err, errlen))
		goto out;
	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL) {
		util_seterr(err, errlen, "llm: cannot serialise the request");
		goto out;
	}
	c.nd = ndjson_new(0, chunk_cb, &c);
	c.body_max = ERRBODY_MAX;
	curl_easy_setopt(c.curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c.curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	ok = call_perform(&c, url, err, errlen);
	resp->http_status = c.status;
	resp->total_s = util_monotonic() - t0;
	if (!ok)
		goto out;
	ok = false;
	if (c.status != 200) {
		http_error(&c, url, err, errlen);
		goto out;
	}
	/* A non-streamed answer may end without a newline. */
	if (!ndjson_finish(c.nd, perr, sizeof(perr))) {
		util_seterr(err, errlen, "backend %s: %s: answer is not "
		    "NDJSON: %s", be->name, url, perr);
		goto out;
	}
	if (!c.done) {
		util_seterr(err, errlen, "backend %s: %s: stream ended before "
		    "the model finished (%zu chunks, no \"done\": true)",
		    be->name, url, ndjson_lines(c.nd));
		goto out;
	}
	resp->content = buf_release(&c.content);
	resp->model = c.model ? c.model : xstrdup(be->model);
	resp->done_reason = c.done_reason ? c.done_reason : xstrdup("");
	c.model = c.done_reason = NULL;
	resp->prompt_tokens = c.prompt_tokens;
	resp->eval_tokens = c.eval_tokens;
	resp->eval_s = c.eval_s;
	resp->load_s = c.load_s;
	ok = true;
out:
	call_cleanup(&c);
	free(text);
	free(url);
	return ok;
}

static bool
call_setup(struct call *c, const struct llm_backend *be, const char *url,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->be = be;
	buf_init(&c->body);
	buf_init(&c->content);
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		return util_seterr(err, errlen, "llm: curl_easy_init failed");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
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
	c->last_data = util_monotonic();
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->hdrs == NULL || curl_slist_append(c->hdrs,
	    "Accept: application/x-ndjson, application/json") == NULL)
		fatalx("curl_slist_append: out of memory");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
	return true;
}

static void
call_cleanup(struct call *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->hdrs);
	ndjson_free(c->nd);
	buf_free(&c->body);
	buf_free(&c->content);
	free(c->model);
	free(c->done_reason);
	memset(c, 0, sizeof(*c));
}

/* Runs the transfer; false for transport failures and stream errors. */
static bool
call_perform(struct call *c, const char *url, char *err, size_t errlen)
{
	const struct llm_backend *be = c->be;
	const char *detail;
	CURLcode rc;

	rc = curl_easy_perform(c->curl);
	if (c->status == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->stream_failed)
		return util_seterr(err, errlen, c->model_error ?
		    "backend %s: %s: model error: %s" :
		    "backend %s: %s: answer is not NDJSON: %s",
		    be->name, url, c->stream_err);
	if (rc == CURLE_OK)
		return true;
	detail = c->curlerr[0] ? c->curlerr : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return util_seterr(err, errlen, "backend %s: cannot connect "
		    "to %s: %s", be->name, be->url, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return util_seterr(err, errlen, "backend %s: %s: timed out "
		    "after %d s: %s", be->name, url, be->timeout_s, detail);
	case CURLE_ABORTED_BY_CALLBACK:
		if (!c->stalled)
			break;
		return util_seterr(err, errlen, "backend %s: %s: stalled, no "
		    "data for %ld s", be->name, url, c->stall_s);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		if (c->nd == NULL || (c->status != 0 && c->status != 200))
			break;
		return util_seterr(err, errlen, "backend %s: %s: stream ended "
		    "before the model finished (%zu chunks): %s", be->name,
		    url, c->nd ? ndjson_lines(c->nd) : 0, detail);
	default:
		break;
	}
	if (c->status >= 300)
		return http_error(c, url, err, errlen);
	return util_seterr(err, errlen, "backend %s: %s: %s", be->name, url,
	    detail);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct call *c = arg;
	size_t len = size * nmemb, room;

	c->last_data = util_monotonic();
	if (c->status == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->nd == NULL || c->status != 200) {
		room = c->body_max > c->body.len ? c->body_max - c->body.len : 0;
		if (len > room)
			c->body_overflow = true;
		buf_append(&c->body, data, len < room ? len : room);
		return len;
	}
	if (!ndjson_feed(c->nd, data, len, c->stream_err,
	    sizeof(c->stream_err))) {
		c->stream_failed = true;
		return 0;	/* aborts the transfer */
	}
	return len;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct call *c = arg;

	if (util_monotonic() - c->last_data < (double)c->stall_s)
		return 0;
	c->stalled = true;
	return 1;	/* aborts with CURLE_ABORTED_BY_CALLBACK */
}

/* One parsed line of a generate stream. */
static bool
chunk_cb(json_t *v, void *arg, char *err, size_t errlen)
{
	struct call *c = arg;
	json_t *e;
	const char *s;

	if (!json_is_object(v))
		return util_seterr(err, errlen, "line %zu is not a JSON object",
		    ndjson_lines(c->nd));
	if ((e = json_object_get(v, "error")) != NULL) {
		c->model_error = true;
		s = json_string_value(e);
		return util_seterr(err, errlen, "%s", s ? s : "(no message)");
	}
	if (c->done)
		return true;	/* nothing is expected after the end */
	if ((s = json_string_value(json_object_get(v, "response"))) != NULL)
		buf_puts(&c->content, s);
	if (c->model == NULL &&
	    (s = json_string_value(json_object_get(v, "model"))) != NULL)
		c->model = xstrdup(s);
	if (!json_is_true(json_object_get(v, "done")))
		return true;
	c->done = true;
	s = json_string_value(json_object_get(v, "done_reason"));
	c->done_reason = xstrdup(s ? s : "");
	c->prompt_tokens = (long)json_integer_value(json_object_get(v,
	    "prompt_eval_count"));
	c->eval_tokens = (long)json_integer_value(json_object_get(v,
	    "eval_count"));
	c->eval_s = ns_to_s(json_object_get(v, "eval_duration"));
	c->load_s = ns_to_s(json_object_get(v, "load_duration"));
	return true;
}

/* Formats an HTTP error answer: status and the server's message. */
static bool
http_error(struct call *c, const char *url, char *err, size_t errlen)
{
	json_t *root;
	const char *msg = NULL;
	char *text;
	size_t n;
	bool r;

	root = json_loadb(c->body.data ? c->body.data : "", c->body.len, 0,
	    NULL);
	msg = json_string_value(json_object_get(root, "error"));
	if (msg != NULL) {
		r = util_seterr(err, errlen, "backend %s: %s: HTTP %ld: %s",
		    c->be->name, url, c->status, msg);
		json_decref(root);
		return r;
	}
	json_decref(root);
	/* Not Ollama's JSON: quote the start of the body on one line. */
	text = xstrndup(buf_cstr(&c->body), c->body.len > 200 ? 200 :
	    c->body.len);
	for (n = 0; text[n] != '\0'; n++)
		if (text[n] == '\n' || text[n] == '\r')
			text[n] = ' ';
	r = util_seterr(err, errlen, "backend %s: %s: HTTP %ld: %s",
	    c->be->name, url, c->status, text[0] ? text : "(empty body)");
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

	if (be->type != NULL && strcmp(be->type, "ollama") != 0)
		return util_seterr(err, errlen, "backend %s: type \"%s\" is "
		    "not supported by this client", name, be->type);
	if (be->url == NULL || be->url[0] == '\0')
		return util_seterr(err, errlen, "backend %s: no url", name);
	if (be->model == NULL || be->model[0] == '\0')
		return util_seterr(err, errlen, "backend %s: no model", name);
	if (be->name == NULL)
		return util_seterr(err, errlen, "backend at %s: no name",
		    be->url);
	return true;
}

static double
ns_to_s(json_t *v)
{
	return json_is_number(v) ? json_number_value(v) / 1e9 : 0.0;
}
