/*
 * llm_proto: the two protocols the llm client speaks (see llm.h).
 *
 * Ollama: POST /api/generate {model, prompt, system, format, options,
 * stream: true} answers NDJSON chunks {"response": "...", "done": false}
 * and a final {"done": true, "done_reason", "eval_count", ...}; an error
 * arrives as an {"error": "..."} line with status 200. GET /api/tags
 * lists {"models": [{name, model, digest, ...}]}, GET /api/ps the loaded
 * ones.
 *
 * OpenAI-compatible: POST /v1/chat/completions {model, messages, stream:
 * true, stream_options: {include_usage: true}, response_format, ...}
 * answers server-sent events `data: {"choices": [{"delta": {"content":
 * "..."}, "finish_reason": null}]}`, a last chunk with "usage", and
 * `data: [DONE]`; an error arrives as `data: {"error": {...}}` (OpenAI,
 * vLLM) or `error: {...}` (llama.cpp). GET /v1/models lists {"data":
 * [{"id": ...}]}. The rubric schema is sent with "strict": true, which
 * requires every property to be listed as required, so a strict copy of
 * the schema is made here.
 *
 * What differs between the two is written down once, in the tables
 * `ollama` and `openai` (struct llm_proto, llm_impl.h); one builder makes
 * both request bodies from them, and llm.c sets up both calls from them.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "llm.h"
#include "llm_impl.h"
#include "ndjson.h"
#include "sse.h"
#include "util.h"

static json_t	*ollama_prompt(const struct llm_request *);
static json_t	*ollama_format(json_t *, const char *);
static void	 ollama_stream(struct llm_call *);
static bool	 ollama_lists(json_t *, const char *, const char *);
static json_t	*openai_messages(const struct llm_request *);
static json_t	*openai_format(json_t *, const char *);
static void	 openai_stream(struct llm_call *);
static bool	 openai_lists(json_t *, const char *, const char *);
static void	 body_options(json_t *, const struct llm_proto *, json_t *);
static bool	 openai_chunk(struct llm_call *, json_t *, char *, size_t);
static void	 openai_choice(struct llm_call *, json_t *);
static void	 openai_usage(struct llm_call *, json_t *);
static bool	 openai_error(struct llm_call *, json_t *, char *, size_t);
static json_t	*strict_schema(json_t *);
static bool	 openai_complete(struct llm_call *, char *, size_t);
static bool	 same_model(const char *, const char *);
static double	 ns_to_s(json_t *);
static void	 set_once(char **, json_t *);

static const struct llm_proto ollama = {
	.generate_path = "/api/generate",
	.models_path = "/api/tags",
	.models_key = "models",
	.model_id_key = "name",
	.lists = ollama_lists,
	.prompt_key = "prompt",
	.prompt = ollama_prompt,
	.system_key = "system",
	.format_key = "format",
	.format = ollama_format,
	.options_key = "options",
	.stream_start = ollama_stream,
};

/* num_ctx is a server setting there, and so is not sent. */
static const struct llm_option openai_options[] = {
	{ "temperature", "temperature" },
	{ "seed", "seed" },
	{ "top_p", "top_p" },
	{ "num_predict", "max_tokens" },
	{ NULL, NULL },
};

static const struct llm_proto openai = {
	.generate_path = "/v1/chat/completions",
	.models_path = "/v1/models",
	.models_key = "data",
	.model_id_key = "id",
	.lists = openai_lists,
	.prompt_key = "messages",
	.prompt = openai_messages,
	.stream_usage = true,
	.format_key = "response_format",
	.format = openai_format,
	.options = openai_options,
	.stream_start = openai_stream,
};

const struct llm_proto *
llm_proto_of(const struct llm_backend *be)
{
	return llm_is_openai(be) ? &openai : &ollama;
}

json_t *
llm_request_body(const struct llm_backend *be, const struct llm_request *req,
    char *err, size_t errlen)
{
	const struct llm_proto *pr = llm_proto_of(be);
	json_t *prompt = pr->prompt(req), *body = NULL;

	if (prompt != NULL)
		body = json_pack("{s:s,s:O,s:b}", "model", be->model,
		    pr->prompt_key, prompt, "stream", 1);
	json_decref(prompt);
	if (body == NULL) {
		util_seterr(err, errlen, "llm: prompt or model name is not "
		    "valid UTF-8");
		return NULL;
	}
	if (pr->stream_usage)
		json_object_set_new(body, "stream_options", json_pack("{s:b}",
		    "include_usage", 1));
	if (pr->system_key != NULL && req->system != NULL &&
	    json_object_set_new(body, pr->system_key,
	    json_string(req->system)) != 0) {
		json_decref(body);
		util_seterr(err, errlen, "llm: system prompt is not valid "
		    "UTF-8");
		return NULL;
	}
	if (req->format != NULL)
		json_object_set_new(body, pr->format_key,
		    pr->format(req->format, req->format_name));
	body_options(body, pr, req->options);
	return body;
}

/* In the order the caller gave them, so the body is reproducible. */
static void
body_options(json_t *body, const struct llm_proto *pr, json_t *options)
{
	const struct llm_option *o;
	const char *key;
	json_t *v;

	if (pr->options_key != NULL) {
		if (options != NULL)
			json_object_set(body, pr->options_key, options);
		return;
	}
	json_object_foreach(options, key, v)
		for (o = pr->options; o->ours != NULL; o++)
			if (strcmp(key, o->ours) == 0)
				json_object_set(body, o->theirs, v);
}

static json_t *
ollama_prompt(const struct llm_request *req)
{
	return json_string(req->prompt);
}

/* Ollama takes a schema, or "json", as it is. */
static json_t *
ollama_format(json_t *format, const char *name)
{
	return json_incref(format);
}

static void
ollama_stream(struct llm_call *c)
{
	c->nd = ndjson_new(0, llm_ollama_chunk, c);
}

/* By its name or its "model" field, ":latest" implied (same_model). */
static bool
ollama_lists(json_t *m, const char *name, const char *model)
{
	return same_model(name, model) || same_model(json_string_value(
	    json_object_get(m, "model")), model);
}

/* NULL when the prompt or the system prompt is not valid UTF-8. */
static json_t *
openai_messages(const struct llm_request *req)
{
	json_t *msgs = json_array();
	size_t want = req->system != NULL ? 2 : 1;

	if (req->system != NULL)
		json_array_append_new(msgs, json_pack("{s:s,s:s}", "role",
		    "system", "content", req->system));
	json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user",
	    "content", req->prompt));
	if (json_array_size(msgs) != want) {
		json_decref(msgs);
		msgs = NULL;
	}
	return msgs;
}

static json_t *
openai_format(json_t *format, const char *name)
{
	if (json_is_string(format))
		return json_pack("{s:s}", "type", "json_object");
	return json_pack("{s:s,s:{s:s,s:o,s:b}}", "type", "json_schema",
	    "json_schema", "name", name ? name : "answer",
	    "schema", strict_schema(format), "strict", 1);
}

static void
openai_stream(struct llm_call *c)
{
	c->sse = sse_new(0, llm_openai_event, c);
}

static bool
openai_lists(json_t *m, const char *name, const char *model)
{
	return strcmp(name, model) == 0;
}

/* A copy in which every object lists all its properties as required. */
static json_t *
strict_schema(json_t *schema)
{
	json_t *out = json_deep_copy(schema), *props, *req, *sub;
	const char *key;

	props = json_object_get(out, "properties");
	if (json_is_object(props)) {
		req = json_array();
		json_object_foreach(props, key, sub) {
			json_array_append_new(req, json_string(key));
			json_object_set_new(props, key, strict_schema(sub));
		}
		json_object_set_new(out, "required", req);
		json_object_set_new(out, "additionalProperties", json_false());
	}
	if (json_is_object(json_object_get(out, "items")))
		json_object_set_new(out, "items", strict_schema(json_object_get(
		    out, "items")));
	return out;
}

/* One parsed line of an Ollama generate stream. */
bool
llm_ollama_chunk(json_t *v, void *arg, char *err, size_t errlen)
{
	struct llm_call *c = arg;
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
	c->chunks++;
	if ((s = json_string_value(json_object_get(v, "response"))) != NULL)
		buf_puts(&c->content, s);
	set_once(&c->model, json_object_get(v, "model"));
	if (!json_is_true(json_object_get(v, "done")))
		return true;
	c->done = true;
	set_once(&c->done_reason, json_object_get(v, "done_reason"));
	c->prompt_tokens = (long)json_integer_value(json_object_get(v,
	    "prompt_eval_count"));
	c->eval_tokens = (long)json_integer_value(json_object_get(v,
	    "eval_count"));
	c->eval_s = ns_to_s(json_object_get(v, "eval_duration"));
	c->load_s = ns_to_s(json_object_get(v, "load_duration"));
	return true;
}

/* One server-sent event of an OpenAI chat completion stream. */
bool
llm_openai_event(const char *event, const char *data, size_t len, void *arg,
    char *err, size_t errlen)
{
	struct llm_call *c = arg;
	json_error_t jerr;
	json_t *v;
	bool ok;

	if (c->ended)
		return true;	/* nothing is expected after [DONE] */
	if (strcmp(event, "error") == 0) {
		v = json_loadb(data, len, 0, NULL);
		c->model_error = true;
		ok = v != NULL ? openai_error(c, v, err, errlen) :
		    util_seterr(err, errlen, "%.200s", data);
		json_decref(v);
		return ok;
	}
	if (strcmp(event, "message") != 0)
		return true;	/* pings and the like */
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		c->ended = true;
		return true;
	}
	v = json_loadb(data, len, 0, &jerr);
	if (v == NULL)
		return util_seterr(err, errlen, "event %zu is not JSON (%s): "
		    "\"%.60s%s\"", sse_events(c->sse), jerr.text, data,
		    len > 60 ? "..." : "");
	ok = openai_chunk(c, v, err, errlen);
	json_decref(v);
	return ok;
}

/* A chat.completion.chunk, or a whole chat.completion. */
static bool
openai_chunk(struct llm_call *c, json_t *v, char *err, size_t errlen)
{
	json_t *choices;
	const char *obj;

	if (!json_is_object(v))
		return util_seterr(err, errlen, "event is not a JSON object");
	obj = json_string_value(json_object_get(v, "object"));
	if (json_object_get(v, "error") != NULL ||
	    (obj != NULL && strcmp(obj, "error") == 0)) {
		c->model_error = true;
		return openai_error(c, v, err, errlen);
	}
	c->chunks++;
	set_once(&c->model, json_object_get(v, "model"));
	set_once(&c->fingerprint, json_object_get(v, "system_fingerprint"));
	choices = json_object_get(v, "choices");
	if (json_array_size(choices) > 0)
		openai_choice(c, json_array_get(choices, 0));
	openai_usage(c, v);
	return true;
}

static void
openai_choice(struct llm_call *c, json_t *choice)
{
	json_t *msg = json_object_get(choice, "delta");
	const char *s;
	double now = util_monotonic();

	if (msg == NULL)
		msg = json_object_get(choice, "message");
	s = json_string_value(json_object_get(msg, "content"));
	if (s != NULL && s[0] != '\0') {
		if (c->first_token == 0)
			c->first_token = now;
		c->last_token = now;
		buf_puts(&c->content, s);
	}
	if (json_is_string(json_object_get(choice, "finish_reason")) &&
	    !c->done) {
		c->done = true;
		set_once(&c->done_reason, json_object_get(choice,
		    "finish_reason"));
	}
}

/* Token counts from "usage"; llama.cpp adds its own "timings". */
static void
openai_usage(struct llm_call *c, json_t *v)
{
	json_t *u = json_object_get(v, "usage"), *t;

	if (json_is_object(u)) {
		c->prompt_tokens = (long)json_integer_value(json_object_get(u,
		    "prompt_tokens"));
		c->eval_tokens = (long)json_integer_value(json_object_get(u,
		    "completion_tokens"));
	}
	t = json_object_get(json_object_get(v, "timings"), "predicted_ms");
	if (json_is_number(t))
		c->eval_s = json_number_value(t) / 1000.0;
}

/* {"error": ...}, or (llama.cpp's error event, vLLM) the error itself. */
static bool
openai_error(struct llm_call *c, json_t *v, char *err, size_t errlen)
{
	json_t *e = json_object_get(v, "error");
	const char *msg = llm_error_text(e != NULL ? e : v);

	return util_seterr(err, errlen, "%s", msg ? msg : "(no message)");
}

const char *
llm_error_text(json_t *e)
{
	return json_is_object(e) ? json_string_value(json_object_get(e,
	    "message")) : json_string_value(e);
}

bool
llm_stream_complete(struct llm_call *c, char *err, size_t errlen)
{
	char perr[512];

	if (c->nd != NULL) {
		/* A non-streamed answer may end without a newline. */
		if (!ndjson_finish(c->nd, perr, sizeof(perr)))
			return util_seterr(err, errlen, "answer is not "
			    "NDJSON: %s", perr);
		if (!c->done)
			return util_seterr(err, errlen, "stream ended before "
			    "the model finished (%zu chunks, no \"done\": "
			    "true)", ndjson_lines(c->nd));
		return true;
	}
	return openai_complete(c, err, errlen);
}

static bool
openai_complete(struct llm_call *c, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	bool ok;

	if (c->sse == NULL) {
		/* The server answered one JSON completion, not a stream. */
		v = json_loadb(c->body.data ? c->body.data : "", c->body.len,
		    0, &jerr);
		if (v == NULL)
			return util_seterr(err, errlen, "answer is not JSON "
			    "(%s): \"%.80s\"", jerr.text, buf_cstr(&c->body));
		ok = openai_chunk(c, v, err, errlen);
		json_decref(v);
		if (!ok)
			return false;
	} else if (sse_events(c->sse) == 0)
		return util_seterr(err, errlen, "answer is not an event "
		    "stream (no \"data:\" event)");
	if (!c->done && !c->ended)
		return util_seterr(err, errlen, "stream ended before the model "
		    "finished (%ld chunks, no finish_reason)", c->chunks);
	/* Servers without timings or usage: measure here, count chunks. */
	if (c->eval_s == 0 && c->last_token > c->first_token)
		c->eval_s = c->last_token - c->first_token;
	if (c->eval_tokens == 0)
		c->eval_tokens = c->chunks;
	return true;
}

const char *
llm_models_path(const struct llm_backend *be)
{
	return llm_proto_of(be)->models_path;
}

bool
llm_model_listed(const struct llm_backend *be, json_t *root, char **digest,
    char *err, size_t errlen)
{
	const struct llm_proto *pr = llm_proto_of(be);
	json_t *list = json_object_get(root, pr->models_key), *m;
	struct buf names = BUF_INIT;
	const char *name;
	size_t i;

	*digest = NULL;
	if (!json_is_array(list))
		return util_seterr(err, errlen, "the model list has no \"%s\" "
		    "array", pr->models_key);
	json_array_foreach(list, i, m) {
		name = json_string_value(json_object_get(m, pr->model_id_key));
		if (name != NULL && pr->lists(m, name, be->model)) {
			set_once(digest, json_object_get(m, "digest"));
			buf_free(&names);
			return true;
		}
		if (name != NULL && names.len < 200)
			buf_printf(&names, "%s%s", names.len ? ", " : "", name);
	}
	util_seterr(err, errlen, "model %s is not on the server (it has: %s)",
	    be->model, names.len ? names.data : "none");
	buf_free(&names);
	return false;
}

bool
llm_model_loaded(const struct llm_backend *be, json_t *root)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(root, "models"), i, m)
		if (ollama_lists(m, json_string_value(json_object_get(m,
		    "name")), be->model))
			return true;
	return false;
}

/* Ollama's names: "mistral" means "mistral:latest". */
static bool
same_model(const char *a, const char *b)
{
	size_t na, nb;
	const char *base;

	if (a == NULL || b == NULL)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	na = strlen(a);
	nb = strlen(b);
	if (na == nb + 7 && strncmp(a, b, nb) == 0 &&
	    strcmp(a + nb, ":latest") == 0) {
		/* Only if b has no tag of its own ("host:port/" is no tag). */
		base = strrchr(b, '/');
		return strchr(base != NULL ? base + 1 : b, ':') == NULL;
	}
	if (nb == na + 7)
		return same_model(b, a);
	return false;
}

static double
ns_to_s(json_t *v)
{
	return json_is_number(v) ? json_number_value(v) / 1e9 : 0.0;
}

static void
set_once(char **dst, json_t *v)
{
	if (*dst == NULL && json_is_string(v))
		*dst = xstrdup(json_string_value(v));
}
