/*
 * llm_impl: what llm.c (the transfer: libcurl set-up, callbacks, failure
 * classification) and llm_proto.c (the two protocols: request bodies and
 * stream chunks of Ollama and OpenAI-compatible servers) share. Not for
 * other modules.
 *
 * What differs between the protocols is written down in one struct
 * llm_proto for each, so the request body, the call set-up and the
 * model-list check are each written once; adding a protocol means
 * adding a table and its stream handler.
 */
#ifndef INTROEVAL_LLM_IMPL_H
#define INTROEVAL_LLM_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "llm.h"

struct ndjson;
struct sse;

/* The state of one transfer, shared with the curl callbacks. */
struct llm_call {
	const struct llm_backend *be;
	CURL		*curl;
	struct curl_slist *hdrs;
	char		 curlerr[CURL_ERROR_SIZE];
	char		*url;
	char		*request;	/* the POST body, if any */
	long		 status;
	struct ndjson	*nd;		/* Ollama stream parser, or */
	struct sse	*sse;		/* OpenAI stream parser, or neither:
					   collect the body in `body` */
	struct buf	 body;		/* error body, or a whole JSON answer */
	size_t		 body_max;
	bool		 body_overflow;
	bool		 stream_failed;	/* the stream parse was stopped */
	bool		 model_error;	/* ... by an error object */
	char		 stream_err[512];
	double		 started;	/* monotonic */
	double		 last_data;	/* monotonic time of the last byte */
	long		 stall_s;
	bool		 stalled;
	/* From the stream. */
	struct buf	 content;
	char		*model;
	char		*done_reason;
	char		*fingerprint;
	bool		 done;		/* the model finished */
	bool		 ended;		/* OpenAI: "data: [DONE]" seen */
	long		 chunks;
	long		 prompt_tokens, eval_tokens;
	double		 eval_s, load_s;
	double		 first_token, last_token;	/* monotonic */
};

/* An option renamed for a protocol that takes options as fields. */
struct llm_option {
	const char	*ours;		/* the key in llm_request.options */
	const char	*theirs;	/* the body's field */
};

struct llm_proto {
	const char	*generate_path;	/* POST: a generation, streamed */
	const char	*models_path;	/* GET: the models served */
	const char	*models_key;	/* ... the array in its answer */
	const char	*model_id_key;	/* ... a model's name in that array */
	/* Whether an entry of that array, so named, is the model. */
	bool		(*lists)(json_t *entry, const char *name,
			    const char *model);
	/*
	 * The request body, with its fields in this order: "model"; the
	 * prompt under prompt_key as prompt() makes it (NULL: not valid
	 * UTF-8); "stream": true; OpenAI's stream_options if stream_usage;
	 * the system prompt under system_key (NULL: prompt() carries it);
	 * format() of the format under format_key; the options under
	 * options_key, or, where that is NULL, those listed in options as
	 * top-level fields.
	 */
	const char	*prompt_key;
	json_t		*(*prompt)(const struct llm_request *);
	bool		 stream_usage;	/* token counts at the stream's end */
	const char	*system_key;
	const char	*format_key;
	json_t		*(*format)(json_t *format, const char *name);
	const char	*options_key;
	const struct llm_option *options;
	/* Sets up the call's stream parser for a generation's answer. */
	void		(*stream_start)(struct llm_call *);
};

/* llm_proto.c */
const struct llm_proto *llm_proto_of(const struct llm_backend *);
/* The generation request for be in its protocol (caller decrefs). */
json_t	*llm_request_body(const struct llm_backend *,
	    const struct llm_request *, char *, size_t);
/* The text of an error value: a string (Ollama), or an object's
   "message" (OpenAI); NULL if neither. */
const char *llm_error_text(json_t *);
bool	 llm_ollama_chunk(json_t *, void *, char *, size_t);
bool	 llm_openai_event(const char *, const char *, size_t, void *, char *,
	    size_t);
/* Ends the stream: false if it stopped before the model finished. */
bool	 llm_stream_complete(struct llm_call *, char *, size_t);

#endif
