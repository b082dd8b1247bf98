/*
 * config: the server's configuration, one table of keys (name, type,
 * default, description) that drives the JSON file parser, the environment
 * overrides (INTROEVAL_<KEY>, and DATABASE_URL), --print-config and the
 * README's key list. Loaded once at start-up; read-only afterwards.
 */
#ifndef INTROEVAL_CONFIG_H
#define INTROEVAL_CONFIG_H

#include <stdbool.h>
#include <jansson.h>

struct config {
	char	*host;
	int	 port;
	int	 threads;
	int	 ws_per_user;		/* open WebSockets per account */
	int	 header_timeout_s;	/* CivetWeb's request_timeout_ms */
	char	*database_url;
	int	 db_pool_size;
	double	 db_acquire_timeout_s;	/* a request's wait for a connection */
	int	 db_statement_timeout_s;	/* control plane: heartbeats, claims */
	char	*role;			/* "all", "web" or "worker" */
	char	*data_dir;
	char	*share_dir;
	int	 upload_max_mb;
	int	 upload_expire_h;
	int	 retention_days;		/* 0: keep recordings forever */
	int	 retention_interval_s;
	char	*log_level;
	char	*log_format;		/* "kv" or "json" */
	int	 session_ttl_h;
	int	 reset_code_ttl_h;	/* one-time password codes */
	bool	 cookie_secure;
	int	 signin_account_failures;	/* before the delays start */
	int	 signin_address_failures;
	int	 signin_delay_s;		/* the first delay, doubled */
	int	 signin_max_delay_s;
	int	 api_rate_per_minute;	/* per API token; 0: none */
	int	 api_rate_burst;
	char	*trusted_proxies;	/* addresses/CIDRs, comma-separated */
	int	 hash_workers;		/* argon2 runs at once */
	double	 hash_wait_s;
	int	 hash_queue_max;
	char	*password_hash_cost;	/* "interactive" or "minimum" */
	char	*stt_engine;
	char	*pocketsphinx_model_dir;
	char	*stt_url;
	char	*stt_model;
	char	*stt_api_key;
	int	 stt_timeout_s;
	int	 media_timeout_s;
	int	 media_check_video_s;
	int	 min_duration_s;
	int	 max_duration_s;
	json_t	*llm_backends;		/* array of backend objects */
	/* The LLM backend pool (pool.c). */
	char	*llm_dispatch;		/* "least_loaded" or "round_robin" */
	char	*evaluation_mode;	/* "single" or "ensemble" */
	double	 ensemble_margin;
	int	 llm_health_interval_s;
	int	 llm_breaker_failures;
	int	 llm_breaker_cooldown_s;
	int	 llm_seed;
	int	 llm_num_ctx;
	int	 llm_timeout_s;
	int	 max_retries;
	double	 scheduler_poll_s;
	/* The phase controller (scheduler.c). */
	char	*node_name;
	int	 batch_max;
	double	 batch_window_s;
	double	 max_phase_s;
	int	 stt_concurrency;
	int	 media_workers;		/* 0: one per CPU */
	bool	 unload_llm_on_stt;
	bool	 exclusive;
	int	 lease_s;
	int	 max_attempts;		/* crashes before quarantine */
	char	*gpu_smi;		/* nvidia-smi, or a stand-in */
	int	 gpu_sample_s;		/* 0: no GPU telemetry */
	int	 gpu_temp_ceiling_c;	/* 0: no thermal pause */
	char	*metrics_token;		/* GET /metrics without a session */
	int	 jobs_llm_timeout_s;	/* job requests' LLM call; 0: none */
};

/*
 * Fills cfg from defaults, then the file (NULL: none), then the environment.
 * Returns false with a message naming the key on any invalid value.
 */
bool	 config_load(struct config *, const char *path, char *err, size_t);
void	 config_free(struct config *);
/* The effective configuration as JSON; secrets (passwords in URLs) masked. */
json_t	*config_to_json(const struct config *);
/* Prints one line per key: name, env variable, default, description. */
void	 config_print_keys(void);

/*
 * One entry of llm_backends, read and checked in one place (the
 * configuration's validation and the pool both use it). Strings are
 * borrowed from the JSON. With concurrency_max set the backend's limit is
 * tuned between concurrency_min and concurrency_max to the latency and
 * error targets; otherwise it is max_concurrent, fixed. A rate of 0 is no
 * limit; a burst of 0, a sixth of a minute's rate.
 */
struct config_backend {
	const char	*name, *type, *url, *model, *api_key;
	int		 max_concurrent, timeout_s, weight;
	int		 concurrency_min, concurrency_max;	/* 0: fixed */
	int		 target_p95_ms;
	double		 target_error_rate;
	double		 requests_per_minute, requests_burst;
	double		 tokens_per_minute, tokens_burst;
};
bool	 config_backend_parse(json_t *, size_t index, struct config_backend *,
	    char *err, size_t);
/* The configured LLM backend named name, parsed; false when none is. */
bool	 config_backend_find(const struct config *, const char *name,
	    struct config_backend *);

#endif
