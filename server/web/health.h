/*
 * health: what the admin's health page and /metrics measure. Read-only
 * queries over the pipeline's tables (submissions, evaluations, the
 * phase log and phase runs), PostgreSQL's own statistics and the upload
 * disk; the LLM pool's live statistics when the scheduler exposes them.
 */
#ifndef INTROEVAL_HEALTH_H
#define INTROEVAL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct app;

/*
 * {version, uptime_s, ws_clients,
 *  db: {size_bytes, connections, max_connections, replicas, standby,
 *       server},
 *  disk: {path, free_bytes, total_bytes},
 *  queue: [{phase, status, n}],
 *  backends: [{name, kind ("stt"/"llm"), state, in_flight, calls, errors,
 *              p50_ms, p95_ms, tokens_per_s, last_error, circuit, source}],
 *  nodes: [system_state rows, as events_system gives them],
 *  runs: [{node, phase, s, e, items, batch_id}]       (the last hour)
 *  calls: [{node, phase, backend, s, e, outcome}]     (the last hour)
 *  buckets: [{t, done, failed, calls, errors}]         (12 × 5 min)
 *  now}
 */
bool	health_collect(struct app *, json_t **out, char *err,
	    size_t errlen);

/*
 * For /metrics, over all time: {submissions: [{phase, status, n}],
 * latency: [{phase, backend, b, n, s}] (b: how many bounds of
 * health_buckets_s lie at or below the call's duration; n calls taking
 * s seconds in all), calls: [{phase, backend, outcome, n}], switches:
 * [{node, phase, n}], uploads: {count, bytes}, db_size_bytes}.
 */
bool	health_metrics(struct app *, json_t **out, char *err,
	    size_t errlen);
/* The latency histogram's upper bounds, in seconds (ascending). */
extern const double	health_buckets_s[];
extern const int	health_nbuckets;

#endif
