/*
 * llm: a client for LLM servers: Ollama's HTTP API (POST /api/generate
 * streaming NDJSON, GET /api/tags, GET /api/ps) and OpenAI-compatible
 * servers such as llama.cpp, vLLM or LM Studio (POST /v1/chat/completions
 * streaming server-sent events, GET /v1/models).
 *
 * One call is one libcurl transfer held in a struct llm_call: the request
 * built, the answer parsed incrementally as it arrives. The pool adds the
 * call's easy handle to its multi handle; the blocking functions at the
 * end run it with curl_easy_perform on the calling thread. Calls share no
 * state, so any number of threads may make them at once. llm_global_init()
 * must run once at program start, before any thread makes a call.
 */
#ifndef INTROEVAL_LLM_H
#define INTROEVAL_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

struct llm_backend {
	char	*name;		/* for messages and metrics */
	char	*type;		/* "ollama" (NULL means "ollama") or "openai" */
	char	*url;		/* http://host:port, no path */
	char	*model;
	char	*api_key;	/* sent as "Authorization: Bearer"; NULL: none */
	int	 max_concurrent;
	int	 timeout_s;	/* whole call; 0: no limit */
	int	 stall_s;	/* no byte for this long fails the call;
				   0: min(timeout_s, 120) */
};

struct llm_request {
	const char	*prompt;
	const char	*system;	/* NULL: the model's default */
	json_t		*format;	/* JSON schema, "json", or NULL */
	const char	*format_name;	/* OpenAI json_schema name; NULL:
					   "answer" */
	/*
	 * Ollama's options, e.g. {"temperature":0,"seed":42,"num_ctx":4096}.
	 * OpenAI-compatible servers get temperature, seed and top_p as
	 * top-level fields and num_predict as max_tokens; num_ctx is a server
	 * setting there and is not sent.
	 */
	json_t		*options;
};

/* Why a call failed, for the pool's health decisions. */
enum llm_failure {
	LLM_FAIL_NONE,
	LLM_FAIL_CONNECT,	/* refused or unresolvable: nobody there */
	LLM_FAIL_TIMEOUT,	/* the call's time limit, or a stall */
	LLM_FAIL_BUSY,		/* HTTP 503 or 429 */
	LLM_FAIL_HTTP,		/* any other HTTP error status */
	LLM_FAIL_MODEL,		/* an error object in the stream */
	LLM_FAIL_STREAM,	/* not NDJSON/SSE, cut, or ended early */
	LLM_FAIL_OTHER,		/* anything else libcurl reports */
};

struct llm_response {
	char	*content;	/* the concatenated answer text */
	char	*model;		/* as reported by the server */
	char	*done_reason;	/* "stop", "length", "unload", ... */
	char	*fingerprint;	/* OpenAI system_fingerprint, or NULL */
	long	 prompt_tokens;	/* prompt_eval_count, usage.prompt_tokens */
	long	 eval_tokens;	/* eval_count, usage.completion_tokens */
	double	 eval_s;	/* eval_duration (OpenAI: first to last
				   token, measured here) */
	double	 total_s;	/* wall time of the call, measured here */
	double	 load_s;	/* load_duration */
	long	 http_status;	/* 0 if no answer; kept on failure */
	enum llm_failure failure;	/* kept on failure */
	double	 retry_after_s;	/* from a 503/429 Retry-After; 0: none */
};

struct llm_call;

void	llm_global_init(void);
void	llm_global_cleanup(void);

/* True for type "openai". */
bool	llm_is_openai(const struct llm_backend *);
const char *llm_failure_name(enum llm_failure);

/*
 * A streaming generation, ready to run: the caller performs
 * llm_call_easy() (alone or in a multi handle), then calls
 * llm_call_generated with the transfer's result code. The backend is
 * borrowed for the call's life. NULL (with the reason) for a request
 * that cannot be sent.
 */
struct llm_call	*llm_call_generate(const struct llm_backend *,
		    const struct llm_request *, char *err, size_t errlen);
/* A GET of path ("/api/tags", "/v1/models", "/api/ps"); JSON answer. */
struct llm_call	*llm_call_get(const struct llm_backend *, const char *path,
		    char *err, size_t errlen);
/* Ollama: unloads the backend's model (empty prompt, keep_alive 0). */
struct llm_call	*llm_call_unload(const struct llm_backend *, char *err,
		    size_t errlen);
CURL		*llm_call_easy(struct llm_call *);
/*
 * Ends a generation (or unload) call: on success fills *resp (free it
 * with llm_response_free). On failure false with the reason in err, and
 * *resp holds no allocations but keeps http_status, failure, total_s and
 * retry_after_s, so callers can decide where to retry.
 */
bool		 llm_call_generated(struct llm_call *, CURLcode,
		    struct llm_response *resp, char *err, size_t errlen);
/* Ends a GET call: *root is the parsed answer (caller decrefs). */
bool		 llm_call_json(struct llm_call *, CURLcode, json_t **root,
		    enum llm_failure *, char *err, size_t errlen);
void		 llm_call_free(struct llm_call *);

/*
 * The path that lists the server's models, and a check of its answer:
 * true when the backend's model is served; *digest (caller frees; NULL
 * when the server gives none) is Ollama's digest of it.
 */
const char	*llm_models_path(const struct llm_backend *);
bool		 llm_model_listed(const struct llm_backend *, json_t *root,
		    char **digest, char *err, size_t errlen);
/* Whether an /api/ps answer lists the backend's model as loaded. */
bool		 llm_model_loaded(const struct llm_backend *, json_t *root);

/* Blocking forms, on the calling thread. */
bool	llm_generate(const struct llm_backend *, const struct llm_request *,
	    struct llm_response *, char *err, size_t errlen);
void	llm_response_free(struct llm_response *);
/* The server's model list: Ollama's "models", OpenAI's "data" array. */
bool	llm_list_models(const struct llm_backend *, json_t **models_out,
	    char *err, size_t errlen);
/* Unloads the backend's model (Ollama only). */
bool	llm_unload(const struct llm_backend *, char *err, size_t errlen);

#endif
