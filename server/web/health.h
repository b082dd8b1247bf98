/*
 * health: the admin's health page (GET /admin/health) and what it and
 * /metrics measure. Read-only queries over the pipeline's tables
 * (submissions, evaluations, the phase log and phase runs), PostgreSQL's
 * own statistics and the upload disk; the LLM pool's live statistics
 * when the scheduler exposes them.
 */
#ifndef INTROEVAL_HEALTH_H
#define INTROEVAL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct app;
struct req;

/* GET /admin/health: the page, complete without JavaScript. */
int	health_page(struct req *);
/*
 * GET /healthz, for load balancers and people: 200 {status: "ok",
 * version, role, scheduler: "running", "standby" or "none",
 * scheduler_detail} when the database answers (a scheduler in standby
 * is healthy: another process runs the node), 503 when it does not.
 */
int	health_healthz(struct req *);
/*
 * GET /readyz, for load balancers and orchestrators: may this process
 * take traffic? 200 {status: "ready", role, checks: {NAME: {ok, detail}},
 * failed: []} or 503 with failed naming the checks that failed:
 * accepting (not stopping after SIGTERM), database (answers), migrations
 * (every sql/ file of this version applied), node_lock (for role worker,
 * it holds its node's lock; role all reports it without requiring it).
 */
int	health_readyz(struct req *);

/*
 * For /metrics, over all time: {submissions: [{phase, status, n}],
 * latency: [{phase, backend, b, n, s}] (b: how many bounds of
 * health_buckets_s lie at or below the call's duration; n calls taking
 * s seconds in all), calls: [{phase, backend, outcome, n}], switches:
 * [{node, phase, n}], uploads: {count, bytes}, db_size_bytes}.
 */
bool	health_metrics(struct app *, json_t **out, char *err,
	    size_t errlen);
/*
 * Every backend as the health page shows it: [{name, kind ("stt",
 * "llm"), state, calls, errors, in_flight, p50_ms, p95_ms, source
 * ("pool": the scheduler's live pool, with its limit, max_concurrent,
 * budget waits, model...; "phase log": the last hour's calls;
 * "configuration": an LLM backend without calls)}].
 */
bool	health_backends(struct app *, json_t **out, char *err,
	    size_t errlen);
/* The latency histogram's upper bounds, in seconds (ascending). */
extern const double	health_buckets_s[];
extern const int	health_nbuckets;

#endif
