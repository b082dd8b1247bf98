/*
 * llm: a client for Ollama's HTTP API (POST /api/generate with streaming
 * NDJSON, GET /api/tags). One call is one blocking libcurl transfer on the
 * calling thread; calls share no state, so any number of threads may call
 * at once (the scheduler enforces each backend's max_concurrent).
 * llm_global_init() must run once at program start, before any thread
 * makes a call.
 */
#ifndef INTROEVAL_LLM_H
#define INTROEVAL_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct llm_backend {
	char	*name;		/* for messages and metrics */
	char	*type;		/* "ollama" (NULL means "ollama") */
	char	*url;		/* http://host:port, no path */
	char	*model;
	int	 max_concurrent;
	int	 timeout_s;	/* whole call; 0: no limit */
	int	 stall_s;	/* no byte for this long fails the call;
				   0: min(timeout_s, 120) */
};

struct llm_request {
	const char	*prompt;
	const char	*system;	/* NULL: the model's default */
	json_t		*format;	/* JSON schema, "json", or NULL */
	json_t		*options;	/* {"temperature":0,"seed":42} or NULL */
};

struct llm_response {
	char	*content;	/* the concatenated "response" text */
	char	*model;		/* as reported by the server */
	char	*done_reason;	/* "stop", "length", "unload", ... */
	long	 prompt_tokens;	/* prompt_eval_count */
	long	 eval_tokens;	/* eval_count */
	double	 eval_s;	/* eval_duration */
	double	 total_s;	/* wall time of the call, measured here */
	double	 load_s;	/* load_duration */
	long	 http_status;	/* 0 if no answer; kept on failure */
};

void	llm_global_init(void);
void	llm_global_cleanup(void);

/*
 * Runs one generation. On success fills *resp (free it with
 * llm_response_free). On failure returns false with the reason in err,
 * and *resp holds no allocations but keeps http_status (503: busy, 404:
 * unknown model, 0: no HTTP answer), so callers can decide to retry.
 */
bool	llm_generate(const struct llm_backend *, const struct llm_request *,
	    struct llm_response *, char *err, size_t errlen);
void	llm_response_free(struct llm_response *);

/* GET /api/tags: *models_out is the "models" array (caller decrefs). */
bool	llm_list_models(const struct llm_backend *, json_t **models_out,
	    char *err, size_t errlen);

/* Unloads the backend's model (empty prompt, keep_alive 0). */
bool	llm_unload(const struct llm_backend *, char *err, size_t errlen);

#endif
