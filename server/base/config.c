/*
 * config: table-driven configuration. Every key appears once in `keys`
 * below, with its type, field, default, bounds and description; the file
 * parser, the environment overrides, --print-config and `introeval
 * --config-keys` (which generates the README's list) all walk this table.
 *
 * Precedence: built-in default < JSON file < environment variable.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cidr.h"
#include "log.h"
#include "util.h"

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL, KEY_DOUBLE, KEY_JSON };

struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;		/* default, as text (JSON for KEY_JSON) */
	double		 min, max;	/* bounds for numbers */
	bool		 secret;	/* mask in --print-config */
	const char	*env;		/* extra env name, besides INTROEVAL_<KEY> */
	const char	*help;
};

#define F(field) offsetof(struct config, field)

static const struct key keys[] = {
	{ "host", KEY_STRING, F(host), "127.0.0.1", 0, 0, false, NULL,
	  "address to listen on (IPv4; 0.0.0.0 for all interfaces)" },
	{ "port", KEY_INT, F(port), "8080", 1, 65535, false, NULL,
	  "HTTP port" },
	{ "threads", KEY_INT, F(threads), "256", 8, 4096, false, NULL,
	  "HTTP worker threads (one per open connection or WebSocket); "
	  "WebSockets may take all but max(4, threads/4) of them" },
	{ "ws_per_user", KEY_INT, F(ws_per_user), "5", 1, 1000, false, NULL,
	  "open live-page WebSockets one account may hold; opening one more "
	  "closes its oldest (close code 4008, with the reason)" },
	{ "header_timeout_s", KEY_INT, F(header_timeout_s), "10", 1, 600,
	  false, NULL, "seconds a client has to send a request's whole "
	  "header, counted from when a thread starts reading it (on a "
	  "kept-alive connection, from the previous answer); also the "
	  "longest silence allowed inside a request body or while an answer "
	  "is written" },
	{ "database_url", KEY_STRING, F(database_url), "", 0, 0, true,
	  "DATABASE_URL", "libpq connection URL (unset: the private cluster "
	  "that deploy/run started, whose URL deploy/pg-private writes to "
	  "var/pg-private.url in the checkout)" },
	{ "db_pool_size", KEY_INT, F(db_pool_size), "8", 1, 256, false, NULL,
	  "database connections kept open for requests (the scheduler has "
	  "its own)" },
	{ "db_acquire_timeout_s", KEY_DOUBLE, F(db_acquire_timeout_s), "5",
	  0.01, 600, false, NULL, "longest a request waits for a free "
	  "database connection before it is answered 503 \"busy, try "
	  "again\"" },
	{ "db_statement_timeout_s", KEY_INT, F(db_statement_timeout_s), "30",
	  1, 3600, false, NULL, "time limit for one statement of the "
	  "scheduler's own connections (heartbeats, claims, the node lock)" },
	{ "role", KEY_STRING, F(role), "all", 0, 0, false, NULL,
	  "what this process runs: all (pages, API and the scheduler), web "
	  "(pages, API and WebSockets; no scheduler) or worker (the "
	  "scheduler and a minimal health endpoint)" },
	{ "data_dir", KEY_STRING, F(data_dir), "var", 0, 0, false, NULL,
	  "where uploads/ and work/ live" },
	{ "share_dir", KEY_STRING, F(share_dir), INTROEVAL_SOURCE_DIR, 0, 0,
	  false, NULL, "where templates/, static/ and sql/ are read from" },
	{ "upload_max_mb", KEY_INT, F(upload_max_mb), "200", 1, 100000, false,
	  NULL, "largest accepted upload, in MiB" },
	{ "upload_expire_h", KEY_INT, F(upload_expire_h), "24", 1, 24 * 90,
	  false, NULL, "hours an unfinished resumable upload is kept after "
	  "its last byte arrived; then it and its file are removed" },
	{ "retention_days", KEY_INT, F(retention_days), "0", 0, 36500, false,
	  NULL, "days after an assignment closes (or, without a due date, "
	  "after the upload) that a finished submission's recording and "
	  "extracted sound are kept; transcripts, scores and comments stay "
	  "(0: keep recordings forever)" },
	{ "retention_interval_s", KEY_INT, F(retention_interval_s), "3600", 1,
	  86400, false, NULL, "how often a node that runs the scheduler "
	  "removes recordings past retention_days" },
	{ "log_level", KEY_STRING, F(log_level), "info", 0, 0, false, NULL,
	  "debug, info or warn (changes on SIGHUP)" },
	{ "log_format", KEY_STRING, F(log_format), "kv", 0, 0, false, NULL,
	  "kv (time level message key=value ...) or json (one object a "
	  "line, each key=value also a field); changes on SIGHUP" },
	{ "session_ttl_h", KEY_INT, F(session_ttl_h), "12", 1, 24 * 90, false,
	  NULL, "hours a sign-in lasts" },
	{ "reset_code_ttl_h", KEY_INT, F(reset_code_ttl_h), "72", 1, 24 * 90,
	  false, NULL, "hours a one-time code that sets a password (a staff "
	  "reset or a roster import's welcome) stays valid" },
	{ "cookie_secure", KEY_BOOL, F(cookie_secure), "false", 0, 0, false,
	  NULL, "mark the session cookie Secure (set behind HTTPS)" },
	{ "signin_account_failures", KEY_INT, F(signin_account_failures),
	  "5", 1, 1000, false, NULL, "wrong passwords in a row for one "
	  "account before each further sign-in waits (429 with Retry-After)" },
	{ "signin_address_failures", KEY_INT, F(signin_address_failures),
	  "30", 1, 100000, false, NULL, "failed sign-ins from one client "
	  "address before its further sign-ins wait" },
	{ "signin_delay_s", KEY_INT, F(signin_delay_s), "5", 1, 3600, false,
	  NULL, "the first wait after too many failures, in seconds; each "
	  "further failure doubles it" },
	{ "signin_max_delay_s", KEY_INT, F(signin_max_delay_s), "900", 1,
	  86400, false, NULL, "the longest wait between sign-in attempts, in "
	  "seconds" },
	{ "api_rate_per_minute", KEY_INT, F(api_rate_per_minute), "600", 0,
	  1000000, false, NULL, "requests a minute one API token (or one "
	  "account's bearer session tokens) may make, answered 429 with "
	  "Retry-After beyond it; pages and their cookies are not limited (0: "
	  "no limit; each web instance counts its own)" },
	{ "api_rate_burst", KEY_INT, F(api_rate_burst), "120", 1, 1000000,
	  false, NULL, "requests such a script may make at once before "
	  "api_rate_per_minute paces it" },
	{ "trusted_proxies", KEY_STRING, F(trusted_proxies), "", 0, 0, false,
	  NULL, "comma-separated addresses or CIDRs (127.0.0.1, 10.0.0.0/8) "
	  "of reverse proxies whose X-Forwarded-For names the client (empty: "
	  "the connection's address is the client's)" },
	{ "hash_workers", KEY_INT, F(hash_workers), "2", 1, 256, false, NULL,
	  "password hashes (argon2id, 64 MiB each) that run at once" },
	{ "hash_wait_s", KEY_DOUBLE, F(hash_wait_s), "60", 0.01, 600, false,
	  NULL, "longest a sign-in waits for a hashing place before it is "
	  "answered 503 with Retry-After" },
	{ "hash_queue_max", KEY_INT, F(hash_queue_max), "64", 0, 10000, false,
	  NULL, "sign-ins that may wait for a hashing place; more are "
	  "answered 503 at once" },
	{ "password_hash_cost", KEY_STRING, F(password_hash_cost),
	  "interactive", 0, 0, false, NULL, "argon2id cost of new password "
	  "hashes: interactive (libsodium's, 64 MiB; keep it) or minimum "
	  "(for test suites only: fast and weak)" },
	{ "stt_engine", KEY_STRING, F(stt_engine), "pocketsphinx", 0, 0, false,
	  NULL, "speech-to-text engine: pocketsphinx, whisper_http (a "
	  "whisper.cpp server) or openai_http (/v1/audio/transcriptions)" },
	{ "pocketsphinx_model_dir", KEY_STRING, F(pocketsphinx_model_dir), "",
	  0, 0, false, NULL, "PocketSphinx model directory (empty: Debian's "
	  "en-us model)" },
	{ "stt_url", KEY_STRING, F(stt_url), "", 0, 0, false, NULL,
	  "base URL of the STT server for whisper_http and openai_http" },
	{ "stt_model", KEY_STRING, F(stt_model), "", 0, 0, false, NULL,
	  "model name sent to an openai_http STT server" },
	{ "stt_api_key", KEY_STRING, F(stt_api_key), "", 0, 0, true, NULL,
	  "bearer token for the STT server (empty: none)" },
	{ "stt_timeout_s", KEY_INT, F(stt_timeout_s), "300", 1, 3600, false,
	  NULL, "time limit for one transcription by an STT server" },
	{ "media_timeout_s", KEY_INT, F(media_timeout_s), "300", 5, 3600,
	  false, NULL, "time limit for one ffprobe/ffmpeg run" },
	{ "media_check_video_s", KEY_INT, F(media_check_video_s), "20", 0,
	  3600, false, NULL, "seconds of an upload's picture decoded at intake "
	  "to find damage (0: none; the sound is always decoded whole)" },
	{ "min_duration_s", KEY_INT, F(min_duration_s), "5", 0, 3600, false,
	  NULL, "shortest accepted recording, in seconds" },
	{ "max_duration_s", KEY_INT, F(max_duration_s), "600", 1, 36000, false,
	  NULL, "longest accepted recording, in seconds" },
	{ "llm_backends", KEY_JSON, F(llm_backends),
	  "[{\"name\":\"mistral\",\"type\":\"ollama\","
	  "\"url\":\"http://localhost:11434\",\"model\":\"mistral\"},"
	  "{\"name\":\"llama3\",\"type\":\"ollama\","
	  "\"url\":\"http://localhost:11435\",\"model\":\"llama3\"}]",
	  0, 0, false, NULL, "LLM servers: array of {name, type (ollama or "
	  "openai), url, model, max_concurrent, timeout_s, api_key, weight, "
	  "concurrency_min, concurrency_max, target_p95_ms, "
	  "target_error_rate, requests_per_minute, requests_burst, "
	  "tokens_per_minute, tokens_burst}" },
	{ "llm_dispatch", KEY_STRING, F(llm_dispatch), "least_loaded", 0, 0,
	  false, NULL, "how the pool picks a backend: least_loaded (soonest "
	  "expected finish from free slots and measured speed) or "
	  "round_robin" },
	{ "evaluation_mode", KEY_STRING, F(evaluation_mode), "single", 0, 0,
	  false, NULL, "single (one backend scores each submission) or "
	  "ensemble (every healthy backend scores it)" },
	{ "ensemble_margin", KEY_DOUBLE, F(ensemble_margin), "1.0", 0, 100,
	  false, NULL, "ensemble: models whose scores differ by more than "
	  "this many points flag the grade for review" },
	{ "llm_health_interval_s", KEY_INT, F(llm_health_interval_s), "10", 1,
	  3600, false, NULL, "seconds between health checks of each LLM "
	  "backend" },
	{ "llm_breaker_failures", KEY_INT, F(llm_breaker_failures), "3", 1,
	  100, false, NULL, "consecutive failed calls that open a backend's "
	  "circuit breaker" },
	{ "llm_breaker_cooldown_s", KEY_INT, F(llm_breaker_cooldown_s), "30",
	  1, 3600, false, NULL, "seconds an open breaker waits before one "
	  "probe call (half-open)" },
	{ "llm_seed", KEY_INT, F(llm_seed), "42", 0, 2147483647, false, NULL,
	  "generation seed sent with every LLM call (temperature is 0)" },
	{ "llm_num_ctx", KEY_INT, F(llm_num_ctx), "4096", 512, 1048576, false,
	  NULL, "context window asked of Ollama backends (num_ctx)" },
	{ "llm_timeout_s", KEY_INT, F(llm_timeout_s), "120", 1, 3600, false,
	  NULL, "default time limit for one LLM request" },
	{ "max_retries", KEY_INT, F(max_retries), "3", 0, 20, false, NULL,
	  "tries of a failed step before the submission is failed" },
	{ "scheduler_poll_s", KEY_DOUBLE, F(scheduler_poll_s), "2", 0.05, 60,
	  false, NULL, "how often the scheduler looks for work when idle" },
	{ "node_name", KEY_STRING, F(node_name), "", 0, 0, false, NULL,
	  "this GPU node's name in the phase log (empty: the host name)" },
	{ "batch_max", KEY_INT, F(batch_max), "50", 1, 1000, false, NULL,
	  "most submissions in one STT batch (a batch takes all that wait "
	  "up to this)" },
	{ "batch_window_s", KEY_DOUBLE, F(batch_window_s), "0", 0, 3600,
	  false, NULL, "how long an STT batch collects uploads once the "
	  "first waits (0: it starts at once)" },
	{ "max_phase_s", KEY_DOUBLE, F(max_phase_s), "600", 1, 86400, false,
	  NULL, "longest a phase runs while the other side has work" },
	{ "stt_concurrency", KEY_INT, F(stt_concurrency), "1", 1, 64, false,
	  NULL, "transcriptions run at once inside the STT phase" },
	{ "media_workers", KEY_INT, F(media_workers), "0", 0, 64, false, NULL,
	  "uploads whose sound is extracted and checked at once, outside the "
	  "STT phase, and uploads examined (ffprobe) at once at intake "
	  "(0: one per CPU)" },
	{ "unload_llm_on_stt", KEY_BOOL, F(unload_llm_on_stt), "true", 0, 0,
	  false, NULL, "unload every Ollama model before an STT phase so "
	  "speech recognition has the GPU's memory" },
	{ "exclusive", KEY_BOOL, F(exclusive), "true", 0, 0, false, NULL,
	  "STT and LLM phases never overlap on this node (false: separate "
	  "STT and LLM hardware)" },
	{ "lease_s", KEY_INT, F(lease_s), "60", 5, 3600, false, NULL,
	  "a claimed submission returns to the queue this long after its "
	  "worker's last heartbeat" },
	{ "gpu_smi", KEY_STRING, F(gpu_smi), "nvidia-smi", 0, 0, false, NULL,
	  "program that reports the node's GPUs (nvidia-smi's CSV query); "
	  "none on PATH: no GPU telemetry" },
	{ "gpu_sample_s", KEY_INT, F(gpu_sample_s), "5", 0, 3600, false, NULL,
	  "seconds between GPU samples on a processing node; 0: none" },
	{ "gpu_temp_ceiling_c", KEY_INT, F(gpu_temp_ceiling_c), "85", 0, 150,
	  false, NULL, "a GPU at or above this temperature (Celsius) pauses "
	  "new LLM calls on its node until every GPU is 5 degrees below it; "
	  "0: never" },
	{ "max_attempts", KEY_INT, F(max_attempts), "3", 1, 100, false, NULL,
	  "times a submission's processing may be cut short by a crash "
	  "before it is stopped (failed) for staff to look at" },
	{ "metrics_token", KEY_STRING, F(metrics_token), "", 0, 0, true, NULL,
	  "bearer token that lets Prometheus read /metrics without a "
	  "sign-in (empty: admins' sessions only)" },
	{ "jobs_llm_timeout_s", KEY_INT, F(jobs_llm_timeout_s), "20", 0, 600,
	  false, NULL, "time limit of the language-model call that reads a "
	  "job request the rules cannot, made directly (not through the "
	  "pool) and refused while a node transcribes (0: no language model "
	  "for job requests)" },
};

static bool	set_value(struct config *, const struct key *, json_t *,
		    const char *, char *, size_t);
static bool	set_text(struct config *, const struct key *, const char *,
		    const char *, char *, size_t);
static bool	validate(const struct config *, char *, size_t);
static bool	validate_backends(json_t *, char *, size_t);
static char	*env_name(const struct key *);
static char	*mask_url(const char *);
static void	 mask_api_keys(json_t *);

static bool
set_value(struct config *cfg, const struct key *k, json_t *v,
    const char *source, char *err, size_t errlen)
{
	char *base = (char *)cfg;
	double d;

	switch (k->type) {
	case KEY_STRING:
		if (!json_is_string(v))
			return util_seterr(err, errlen, "%s: %s must be a "
			    "string", source, k->name);
		free(*(char **)(base + k->offset));
		*(char **)(base + k->offset) = xstrdup(json_string_value(v));
		return true;
	case KEY_BOOL:
		if (!json_is_boolean(v))
			return util_seterr(err, errlen, "%s: %s must be true "
			    "or false", source, k->name);
		*(bool *)(base + k->offset) = json_is_true(v);
		return true;
	case KEY_INT:
	case KEY_DOUBLE:
		if (!json_is_number(v))
			return util_seterr(err, errlen, "%s: %s must be a "
			    "number", source, k->name);
		d = json_number_value(v);
		if (k->type == KEY_INT && d != (double)(long)d)
			return util_seterr(err, errlen, "%s: %s must be a "
			    "whole number", source, k->name);
		if (d < k->min || d > k->max)
			return util_seterr(err, errlen, "%s: %s must be "
			    "between %g and %g", source, k->name, k->min,
			    k->max);
		if (k->type == KEY_INT)
			*(int *)(base + k->offset) = (int)d;
		else
			*(double *)(base + k->offset) = d;
		return true;
	case KEY_JSON:
		json_decref(*(json_t **)(base + k->offset));
		*(json_t **)(base + k->offset) = json_incref(v);
		return true;
	}
	return false;
}

/* Text from the environment or a default: parsed according to the type. */
static bool
set_text(struct config *cfg, const struct key *k, const char *text,
    const char *source, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	char *end;
	bool ok;

	switch (k->type) {
	case KEY_STRING:
		v = json_string(text);
		break;
	case KEY_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
			v = json_true();
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
			v = json_false();
		else
			return util_seterr(err, errlen, "%s: %s must be true "
			    "or false, not \"%s\"", source, k->name, text);
		break;
	case KEY_INT:
	case KEY_DOUBLE:
		errno = 0;
		double d = strtod(text, &end);
		if (errno != 0 || end == text || *end != '\0')
			return util_seterr(err, errlen, "%s: %s must be a "
			    "number, not \"%s\"", source, k->name, text);
		v = json_real(d);
		break;
	case KEY_JSON:
		v = json_loads(text, JSON_DECODE_ANY, &jerr);
		if (v == NULL)
			return util_seterr(err, errlen, "%s: %s is not valid "
			    "JSON: %s", source, k->name, jerr.text);
		break;
	default:
		return false;
	}
	if (v == NULL)
		return util_seterr(err, errlen, "%s: %s: invalid text",
		    source, k->name);
	ok = set_value(cfg, k, v, source, err, errlen);
	json_decref(v);
	return ok;
}

static char *
env_name(const struct key *k)
{
	char *name = xasprintf("INTROEVAL_%s", k->name);
	char *p;

	for (p = name; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return name;
}

bool
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *file = NULL, *v;
	const char *name, *text;
	size_t i;
	bool ok = false;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < ARRAY_LEN(keys); i++)
		if (!set_text(cfg, &keys[i], keys[i].def, "default", err,
		    errlen))
			fatalx("config: bad built-in default for %s: %s",
			    keys[i].name, err);

	if (path != NULL) {
		file = json_load_file(path, 0, &jerr);
		if (file == NULL) {
			util_seterr(err, errlen, "%s:%d: %s", path, jerr.line,
			    jerr.text);
			goto out;
		}
		if (!json_is_object(file)) {
			util_seterr(err, errlen, "%s: must hold a JSON object",
			    path);
			goto out;
		}
		json_object_foreach(file, name, v) {
			for (i = 0; i < ARRAY_LEN(keys); i++)
				if (strcmp(keys[i].name, name) == 0)
					break;
			if (i == ARRAY_LEN(keys)) {
				util_seterr(err, errlen, "%s: unknown key "
				    "\"%s\" (see introeval --help)", path, name);
				goto out;
			}
			if (!set_value(cfg, &keys[i], v, path, err, errlen))
				goto out;
		}
	}

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		char *env = env_name(&keys[i]);

		text = getenv(env);
		if (text == NULL && keys[i].env != NULL) {
			free(env);
			env = xstrdup(keys[i].env);
			text = getenv(env);
		}
		if (text != NULL && !set_text(cfg, &keys[i], text, env, err,
		    errlen)) {
			free(env);
			goto out;
		}
		free(env);
	}
	ok = validate(cfg, err, errlen);
out:
	json_decref(file);
	return ok;
}

static bool
validate(const struct config *cfg, char *err, size_t errlen)
{
	enum log_level level;

	if (!log_parse_level(cfg->log_level, &level))
		return util_seterr(err, errlen, "log_level must be debug, info "
		    "or warn, not \"%s\"", cfg->log_level);
	if (strcmp(cfg->log_format, "kv") != 0 &&
	    strcmp(cfg->log_format, "json") != 0)
		return util_seterr(err, errlen, "log_format must be kv or "
		    "json, not \"%s\"", cfg->log_format);
	if (strcmp(cfg->stt_engine, "pocketsphinx") != 0 &&
	    strcmp(cfg->stt_engine, "whisper_http") != 0 &&
	    strcmp(cfg->stt_engine, "openai_http") != 0)
		return util_seterr(err, errlen, "stt_engine \"%s\" is not "
		    "supported (pocketsphinx, whisper_http, openai_http)",
		    cfg->stt_engine);
	if (strcmp(cfg->stt_engine, "pocketsphinx") != 0 &&
	    strncmp(cfg->stt_url, "http://", 7) != 0 &&
	    strncmp(cfg->stt_url, "https://", 8) != 0)
		return util_seterr(err, errlen, "stt_engine %s needs stt_url "
		    "(http://host:port)", cfg->stt_engine);
	if (cfg->min_duration_s >= cfg->max_duration_s)
		return util_seterr(err, errlen, "min_duration_s must be less "
		    "than max_duration_s");
	if (cfg->data_dir[0] == '\0' || cfg->share_dir[0] == '\0')
		return util_seterr(err, errlen, "data_dir and share_dir must "
		    "not be empty");
	if (strcmp(cfg->llm_dispatch, "least_loaded") != 0 &&
	    strcmp(cfg->llm_dispatch, "round_robin") != 0)
		return util_seterr(err, errlen, "llm_dispatch must be "
		    "least_loaded or round_robin, not \"%s\"",
		    cfg->llm_dispatch);
	if (strcmp(cfg->role, "all") != 0 && strcmp(cfg->role, "web") != 0 &&
	    strcmp(cfg->role, "worker") != 0)
		return util_seterr(err, errlen, "role must be all, web or "
		    "worker, not \"%s\"", cfg->role);
	if (strcmp(cfg->password_hash_cost, "interactive") != 0 &&
	    strcmp(cfg->password_hash_cost, "minimum") != 0)
		return util_seterr(err, errlen, "password_hash_cost must be "
		    "interactive or minimum, not \"%s\"",
		    cfg->password_hash_cost);
	if (!cidr_list_valid(cfg->trusted_proxies, err, errlen))
		return false;
	if (strcmp(cfg->evaluation_mode, "single") != 0 &&
	    strcmp(cfg->evaluation_mode, "ensemble") != 0)
		return util_seterr(err, errlen, "evaluation_mode must be "
		    "single or ensemble, not \"%s\"", cfg->evaluation_mode);
	return validate_backends(cfg->llm_backends, err, errlen);
}

static bool
validate_backends(json_t *arr, char *err, size_t errlen)
{
	struct config_backend cb;
	json_t *b;
	size_t i, j;

	if (!json_is_array(arr))
		return util_seterr(err, errlen, "llm_backends must be an "
		    "array");
	if (json_array_size(arr) > 64)
		return util_seterr(err, errlen, "llm_backends: at most 64");
	json_array_foreach(arr, i, b) {
		if (!config_backend_parse(b, i, &cb, err, errlen))
			return false;
		for (j = 0; j < i; j++)
			if (strcmp(cb.name, json_string_value(json_object_get(
			    json_array_get(arr, j), "name"))) == 0)
				return util_seterr(err, errlen, "llm_backends: "
				    "name \"%s\" used twice", cb.name);
	}
	return true;
}

bool
config_backend_parse(json_t *b, size_t i, struct config_backend *cb,
    char *err, size_t errlen)
{
	json_error_t jerr;

	memset(cb, 0, sizeof(*cb));
	cb->type = "ollama";
	cb->max_concurrent = 4;
	cb->weight = 1;
	cb->target_p95_ms = 2500;
	cb->target_error_rate = 0.03;
	if (json_unpack_ex(b, &jerr, JSON_STRICT, "{s:s, s?:s, s:s, s:s, "
	    "s?:i, s?:i, s?:s, s?:i, s?:i, s?:i, s?:i, s?:F, s?:F, s?:F, "
	    "s?:F, s?:F}", "name", &cb->name, "type", &cb->type,
	    "url", &cb->url, "model", &cb->model,
	    "max_concurrent", &cb->max_concurrent,
	    "timeout_s", &cb->timeout_s, "api_key", &cb->api_key,
	    "weight", &cb->weight,
	    "concurrency_min", &cb->concurrency_min,
	    "concurrency_max", &cb->concurrency_max,
	    "target_p95_ms", &cb->target_p95_ms,
	    "target_error_rate", &cb->target_error_rate,
	    "requests_per_minute", &cb->requests_per_minute,
	    "requests_burst", &cb->requests_burst,
	    "tokens_per_minute", &cb->tokens_per_minute,
	    "tokens_burst", &cb->tokens_burst) != 0)
		return util_seterr(err, errlen, "llm_backends[%zu]: %s "
		    "(keys: name, type, url, model, max_concurrent, "
		    "timeout_s, api_key, weight, concurrency_min, "
		    "concurrency_max, target_p95_ms, target_error_rate, "
		    "requests_per_minute, requests_burst, tokens_per_minute, "
		    "tokens_burst)", i, jerr.text);
	if (strcmp(cb->type, "ollama") != 0 && strcmp(cb->type, "openai") != 0)
		return util_seterr(err, errlen, "llm_backends[%zu]: "
		    "type \"%s\" is not supported (ollama, openai)", i,
		    cb->type);
	if (cb->weight < 1 || cb->weight > 100)
		return util_seterr(err, errlen, "llm_backends[%zu]: "
		    "weight must be 1..100", i);
	if (strncmp(cb->url, "http://", 7) != 0 &&
	    strncmp(cb->url, "https://", 8) != 0)
		return util_seterr(err, errlen, "llm_backends[%zu]: url "
		    "must start with http:// or https://", i);
	if (cb->max_concurrent < 1 || cb->max_concurrent > 256 ||
	    cb->timeout_s < 0)
		return util_seterr(err, errlen, "llm_backends[%zu]: "
		    "max_concurrent must be 1..256, timeout_s >= 0", i);
	if (cb->concurrency_max != 0 || cb->concurrency_min != 0) {
		if (cb->concurrency_min == 0)
			cb->concurrency_min = 1;
		if (cb->concurrency_min < 1 || cb->concurrency_max <
		    cb->concurrency_min || cb->concurrency_max > 256)
			return util_seterr(err, errlen, "llm_backends[%zu]: "
			    "concurrency_min and concurrency_max must satisfy "
			    "1 <= min <= max <= 256", i);
		/* The most it may ever run, for whoever sizes by it. */
		cb->max_concurrent = cb->concurrency_max;
	}
	if (cb->target_p95_ms < 1 || cb->target_error_rate < 0 ||
	    cb->target_error_rate > 1)
		return util_seterr(err, errlen, "llm_backends[%zu]: "
		    "target_p95_ms must be >= 1 and target_error_rate 0..1",
		    i);
	if (cb->requests_per_minute < 0 || cb->requests_burst < 0 ||
	    cb->tokens_per_minute < 0 || cb->tokens_burst < 0)
		return util_seterr(err, errlen, "llm_backends[%zu]: rates "
		    "and bursts must be >= 0", i);
	return true;
}

void
config_free(struct config *cfg)
{
	char *base = (char *)cfg;
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		if (keys[i].type == KEY_STRING)
			free(*(char **)(base + keys[i].offset));
		else if (keys[i].type == KEY_JSON)
			json_decref(*(json_t **)(base + keys[i].offset));
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* postgresql://user:secret@host/db -> postgresql://user:***@host/db */
static char *
mask_url(const char *url)
{
	const char *scheme = strstr(url, "://"), *at, *colon;
	struct buf b = BUF_INIT;

	if (scheme == NULL || (at = strchr(scheme + 3, '@')) == NULL)
		return xstrdup(url);
	colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
	if (colon == NULL)
		return xstrdup(url);
	buf_append(&b, url, (size_t)(colon - url) + 1);
	buf_puts(&b, "***");
	buf_puts(&b, at);
	return buf_release(&b);
}

/* llm_backends: an api_key is a secret too. */
static void
mask_api_keys(json_t *v)
{
	json_t *b;
	size_t i;

	json_array_foreach(v, i, b)
		if (json_is_string(json_object_get(b, "api_key")))
			json_object_set_new(b, "api_key", json_string("***"));
}

json_t *
config_to_json(const struct config *cfg)
{
	const char *base = (const char *)cfg;
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		const void *p = base + k->offset;
		json_t *v = NULL;

		switch (k->type) {
		case KEY_STRING:
			if (k->secret) {
				char *m = mask_url(*(char *const *)p);
				v = json_string(m);
				free(m);
			} else
				v = json_string(*(char *const *)p);
			break;
		case KEY_INT: v = json_integer(*(const int *)p); break;
		case KEY_BOOL: v = json_boolean(*(const bool *)p); break;
		case KEY_DOUBLE: v = json_real(*(const double *)p); break;
		case KEY_JSON:
			v = json_deep_copy(*(json_t *const *)p);
			mask_api_keys(v);
			break;
		}
		json_object_set_new(o, k->name, v);
	}
	return o;
}

void
config_print_keys(void)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		char *env = env_name(&keys[i]);

		printf("| `%s` | `%s`%s%s%s | `%s` | %s |\n", keys[i].name, env,
		    keys[i].env ? " or `" : "", keys[i].env ? keys[i].env : "",
		    keys[i].env ? "`" : "",
		    keys[i].type == KEY_JSON ? "see below" : keys[i].def,
		    keys[i].help);
		free(env);
	}
}

bool
config_backend_find(const struct config *cfg, const char *name,
    struct config_backend *out)
{
	json_t *b;
	size_t i;

	json_array_foreach(cfg->llm_backends, i, b)
		if (config_backend_parse(b, i, out, NULL, 0) &&
		    name != NULL && strcmp(out->name, name) == 0)
			return true;
	return false;
}
