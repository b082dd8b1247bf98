/*
 * llm_impl: what llm.c (the transfer: libcurl set-up, callbacks, failure
 * classification) and llm_proto.c (the two protocols: request bodies and
 * stream chunks of Ollama and OpenAI-compatible servers) share. Not for
 * other modules.
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

/* llm_proto.c */
json_t	*llm_ollama_body(const struct llm_backend *,
	    const struct llm_request *, char *, size_t);
json_t	*llm_openai_body(const struct llm_backend *,
	    const struct llm_request *, char *, size_t);
bool	 llm_ollama_chunk(json_t *, void *, char *, size_t);
bool	 llm_openai_event(const char *, const char *, size_t, void *, char *,
	    size_t);
/* Ends the stream: false if it stopped before the model finished. */
bool	 llm_stream_complete(struct llm_call *, char *, size_t);

#endif
