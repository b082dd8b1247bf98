/*
 * health: measurements for the health page and /metrics (see health.h).
 * Each is one round trip: PostgreSQL assembles the JSON.
 *
 * Backends: the LLM pool (pool.h) keeps every backend's live state; the
 * scheduler owns the pool and lends its statistics (sched_pool_stats).
 * For speech-to-text, and for LLM backends when no scheduler runs, the
 * phase log of the last hour stands in (calls, errors, latency
 * percentiles, the last outcome), with tokens/s from the evaluations.
 */
#include "health.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "scheduler.h"
#include "util.h"
#include "ws.h"

const double	health_buckets_s[] = { 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60,
    120, 300 };
const int	health_nbuckets = sizeof(health_buckets_s) /
    sizeof(health_buckets_s[0]);

static void	 round_field(json_t *, const char *, double);
static json_t	*backends(struct app *, json_t *);
static json_t	*find_name(json_t *, const char *);
static void	 add_disk(struct app *, json_t *);
static void	 add_nodes(struct app *, json_t *);

static const char collect_sql[] =
    "SELECT json_build_object("
    " 'now', extract(epoch FROM now()), "
    " 'db', (SELECT json_build_object("
    "   'size_bytes', pg_database_size(current_database()), "
    "   'connections', (SELECT count(*) FROM pg_stat_activity "
    "     WHERE datname = current_database()), "
    "   'max_connections', current_setting('max_connections')::int, "
    "   'replicas', (SELECT count(*) FROM pg_stat_replication), "
    "   'standby', pg_is_in_recovery(), "
    "   'server', current_setting('server_version'))), "
    " 'queue', (SELECT coalesce(json_agg(json_build_object('phase', phase, "
    "   'status', status, 'n', n) ORDER BY phase, status), '[]') "
    "   FROM (SELECT phase, status, count(*) AS n FROM submissions "
    "   GROUP BY 1, 2) q), "
    " 'backends', (SELECT coalesce(json_agg(x ORDER BY x.kind DESC, "
    "   x.name), '[]') FROM (SELECT l.phase AS kind, "
    "   coalesce(l.backend, l.phase) AS name, count(*) AS calls, "
    "   count(*) FILTER (WHERE l.outcome NOT IN ('ok', 'running')) "
    "     AS errors, "
    "   count(*) FILTER (WHERE l.finished_at IS NULL) AS in_flight, "
    "   round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY "
    "     extract(epoch FROM l.finished_at - l.started_at)) FILTER "
    "     (WHERE l.outcome = 'ok'))::numeric) AS p50_ms, "
    "   round((1000 * percentile_cont(0.95) WITHIN GROUP (ORDER BY "
    "     extract(epoch FROM l.finished_at - l.started_at)) FILTER "
    "     (WHERE l.outcome = 'ok'))::numeric) AS p95_ms, "
    "   (array_agg(l.outcome ORDER BY l.started_at DESC) FILTER "
    "     (WHERE l.finished_at IS NOT NULL))[1] AS last_outcome, "
    "   (SELECT round((sum(e.eval_tokens) / nullif(sum(e.llm_s), 0))"
    "     ::numeric, 1) FROM evaluations e WHERE e.backend = l.backend "
    "     AND e.created_at > now() - interval '1 hour') AS tokens_per_s "
    "   FROM phase_log l WHERE l.started_at > now() - interval '1 hour' "
    "   AND l.phase IN ('stt', 'llm') GROUP BY l.phase, l.backend) x), "
    " 'runs', (SELECT coalesce(json_agg(json_build_object('node', node, "
    "   'phase', phase, 's', extract(epoch FROM started_at), "
    "   'e', extract(epoch FROM finished_at), 'items', items, "
    "   'batch_id', batch_id, 'reason', reason) ORDER BY started_at), "
    "   '[]') FROM phase_runs "
    "   WHERE coalesce(finished_at, now()) > now() - interval '1 hour'), "
    " 'calls', (SELECT coalesce(json_agg(c ORDER BY c.s), '[]') FROM "
    "   (SELECT node, phase, backend, outcome, submission_id, "
    "   extract(epoch FROM started_at) AS s, "
    "   extract(epoch FROM finished_at) AS e FROM phase_log "
    "   WHERE coalesce(finished_at, now()) > now() - interval '1 hour' "
    "   ORDER BY started_at DESC LIMIT 3000) c), "
    " 'buckets', (SELECT json_agg(json_build_object('t', "
    "   extract(epoch FROM t0), "
    "   'done', (SELECT count(*) FROM submissions s WHERE s.phase = "
    "     'completed' AND s.completed_at >= t0 AND s.completed_at < t1), "
    "   'failed', (SELECT count(*) FROM submissions s WHERE s.phase = "
    "     'failed' AND s.updated_at >= t0 AND s.updated_at < t1), "
    "   'calls', (SELECT count(*) FROM phase_log l WHERE l.phase IN "
    "     ('stt', 'llm') AND l.finished_at >= t0 AND l.finished_at < t1), "
    "   'errors', (SELECT count(*) FROM phase_log l WHERE l.phase IN "
    "     ('stt', 'llm') AND l.outcome NOT IN ('ok', 'running') "
    "     AND l.finished_at >= t0 AND l.finished_at < t1)) ORDER BY g) "
    "   FROM (SELECT g, now() - interval '60 min' + g * interval '5 min' "
    "     AS t0, now() - interval '55 min' + g * interval '5 min' AS t1 "
    "     FROM generate_series(0, 11) g) b))::text";

static json_t *
find_name(json_t *list, const char *name)
{
	json_t *it;
	size_t i;

	json_array_foreach(list, i, it)
		if (json_is_string(json_object_get(it, "name")) &&
		    strcmp(json_string_value(json_object_get(it, "name")),
		    name) == 0)
			return it;
	return NULL;
}

/*
 * One row per backend: the pool's own view when there is one, else the
 * phase log's, and every configured LLM backend even without calls.
 */
/* A figure for reading: to whole units (scale 1) or tenths (10). */
static void
round_field(json_t *o, const char *key, double scale)
{
	json_t *v = json_object_get(o, key);

	if (json_is_number(v) && scale == 1)
		json_object_set_new(o, key, json_integer((json_int_t)round(
		    json_number_value(v))));
	else if (json_is_number(v))
		json_object_set_new(o, key, json_real(round(
		    json_number_value(v) * scale) / scale));
}

static json_t *
backends(struct app *app, json_t *from_log)
{
	json_t *out = json_array(), *pool = NULL, *b, *cfg;
	const char *last;
	size_t i;

	if (app->sched != NULL)
		pool = sched_pool_stats(app->sched);
	json_array_foreach(from_log, i, b) {
		bool llm = strcmp(json_string_value(json_object_get(b, "kind")),
		    "llm") == 0;

		if (llm && pool != NULL)
			continue;
		last = json_string_value(json_object_get(b, "last_outcome"));
		json_object_set_new(b, "state", json_string(last == NULL ?
		    "busy" : strcmp(last, "ok") == 0 ? "up" : "failing"));
		json_object_set_new(b, "source", json_string("phase log"));
		json_array_append(out, b);
	}
	json_array_foreach(pool, i, b) {
		round_field(b, "p50_ms", 1);
		round_field(b, "p95_ms", 1);
		round_field(b, "tokens_per_s", 10);
		json_object_set_new(b, "kind", json_string("llm"));
		json_object_set_new(b, "calls", json_incref(json_object_get(b,
		    "requests")));
		json_object_set_new(b, "circuit", json_incref(json_object_get(b,
		    "state")));
		json_object_set_new(b, "source", json_string("pool"));
		json_array_append(out, b);
	}
	json_array_foreach(app->cfg->llm_backends, i, cfg) {
		const char *name = json_string_value(json_object_get(cfg,
		    "name"));

		if (name != NULL && find_name(out, name) == NULL)
			json_array_append_new(out, json_pack("{s:s, s:s, s:s, "
			    "s:i, s:i, s:s}", "name", name, "kind", "llm",
			    "state", "no calls in the last hour", "calls", 0,
			    "errors", 0, "source", "configuration"));
	}
	json_decref(pool);
	return out;
}

static void
add_disk(struct app *app, json_t *out)
{
	struct statvfs sv;

	if (statvfs(app->uploads_dir, &sv) != 0)
		return;
	json_object_set_new(out, "disk", json_pack("{s:s, s:I, s:I}", "path",
	    app->uploads_dir, "free_bytes", (json_int_t)sv.f_bavail *
	    (json_int_t)sv.f_frsize, "total_bytes", (json_int_t)sv.f_blocks *
	    (json_int_t)sv.f_frsize));
}

static void
add_nodes(struct app *app, json_t *out)
{
	char err[512], *text;
	PGconn *c = db_acquire(app->db);
	json_t *sys;

	text = events_system(c, err, sizeof(err));
	db_release(app->db, c);
	sys = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	json_object_set(out, "nodes", json_is_array(json_object_get(sys,
	    "nodes")) ? json_object_get(sys, "nodes") : json_array());
	json_decref(sys);
}

bool
health_collect(struct app *app, json_t **out, char *err, size_t errlen)
{
	json_t *j;

	*out = NULL;
	if ((j = db_query_json(app->db, collect_sql, 0, NULL, NULL, err,
	    errlen)) ==
	    NULL)
		return false;
	json_object_set_new(j, "version", json_string(INTROEVAL_VERSION));
	json_object_set_new(j, "uptime_s", json_real(util_wallclock() -
	    app->started_at));
	json_object_set_new(j, "ws_clients", json_integer(ws_clients(
	    __atomic_load_n(&app->ws, __ATOMIC_ACQUIRE))));
	json_object_set_new(j, "backends", backends(app, json_object_get(j,
	    "backends")));
	add_disk(app, j);
	add_nodes(app, j);
	*out = j;
	return true;
}

bool
health_metrics(struct app *app, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object("
	    " 'submissions', (SELECT coalesce(json_agg(json_build_object("
	    "   'phase', phase, 'status', status, 'n', n) ORDER BY phase, "
	    "   status), '[]') FROM (SELECT phase, status, count(*) AS n "
	    "   FROM submissions GROUP BY 1, 2) q), "
	    " 'latency', (SELECT coalesce(json_agg(json_build_object("
	    "   'phase', phase, 'backend', backend, 'b', b, 'n', n, 's', s) "
	    "   ORDER BY phase, backend, b), '[]') FROM (SELECT phase, "
	    "   coalesce(backend, phase) AS backend, width_bucket(extract("
	    "   epoch FROM finished_at - started_at)::float8, $1::float8[]) "
	    "   AS b, count(*) AS n, sum(extract(epoch FROM finished_at - "
	    "   started_at)) AS s FROM phase_log WHERE finished_at IS NOT "
	    "   NULL AND phase IN ('stt', 'llm') GROUP BY 1, 2, 3) l), "
	    " 'calls', (SELECT coalesce(json_agg(json_build_object('phase', "
	    "   phase, 'backend', backend, 'outcome', outcome, 'n', n) "
	    "   ORDER BY phase, backend, outcome), '[]') FROM (SELECT phase, "
	    "   coalesce(backend, phase) AS backend, outcome, count(*) AS n "
	    "   FROM phase_log GROUP BY 1, 2, 3) c), "
	    " 'switches', (SELECT coalesce(json_agg(json_build_object("
	    "   'node', node, 'phase', phase, 'n', n) ORDER BY node, phase), "
	    "   '[]') FROM (SELECT node, phase, count(*) AS n FROM phase_runs "
	    "   GROUP BY 1, 2) p), "
	    " 'uploads', (SELECT json_build_object('count', count(*), "
	    "   'bytes', coalesce(sum(size_bytes), 0)) FROM submissions), "
	    " 'db_size_bytes', pg_database_size(current_database()))::text";
	char bounds[256];
	const char *p[1] = { bounds };
	size_t len = 0;
	int i;

	bounds[len++] = '{';
	for (i = 0; i < health_nbuckets; i++)
		len += (size_t)snprintf(bounds + len, sizeof(bounds) - len,
		    "%s%g", i > 0 ? "," : "", health_buckets_s[i]);
	snprintf(bounds + len, sizeof(bounds) - len, "}");
	*out = db_query_json(app->db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}
