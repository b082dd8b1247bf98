/*
 * health: the admin's health page and the measurements behind it and
 * /metrics (see health.h).
 *
 * Measuring: each measurement is one round trip, PostgreSQL assembling
 * the JSON. Backends: the LLM pool (pool.h) keeps every backend's live
 * state; the scheduler owns the pool and lends its statistics
 * (sched_pool_stats). For speech-to-text, and for LLM backends when no
 * scheduler runs, the phase log of the last hour stands in (calls,
 * errors, latency percentiles, the last outcome), with tokens/s from the
 * evaluations.
 *
 * The page turns the measurements into what people read (sizes,
 * durations, states) and into chart geometry (svg.c): the phase timeline
 * of the last hour as a Gantt chart with an STT and an LLM lane per node,
 * and throughput and error rate in five-minute buckets.
 */
#include "health.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "app.h"
#include "config.h"
#include "dash.h"
#include "db.h"
#include "evaluation.h"
#include "http.h"
#include "log.h"
#include "scheduler.h"
#include "svg.h"
#include "util.h"
#include "ws.h"

#define CALL_INSET	5	/* calls are drawn thinner than phases */

const double	health_buckets_s[] = { 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60,
    120, 300 };
const int	health_nbuckets = sizeof(health_buckets_s) /
    sizeof(health_buckets_s[0]);

static bool	 collect(struct app *, json_t **, char *, size_t);
static const char *scheduler_state(struct app *, char *, size_t);
static void	 round_field(json_t *, const char *, double);
static json_t	*backends(struct app *, json_t *);
static json_t	*find_name(json_t *, const char *);
static void	 add_disk(struct app *, json_t *);
static void	 bytes_text(double, char *, size_t);
static json_t	*summary(json_t *);
static void	 backend_states(json_t *);
static void	 queue_labels(json_t *);
static json_t	*lane(json_t *, const char *, const char *);
static void	 tip_ago(json_t *, double, const char *);
static void	 add_bar(json_t *, json_t *, double, const char *, int,
		    const char *);
static double	 window_s(json_t *, double);
static json_t	*timeline(json_t *);
static void	 bucket_charts(json_t *, json_t *);
static void	 limit_charts(json_t *, json_t *);
static json_t	*limit_at(json_t *, double);
static json_t	*evidence_view(struct app *);

/*
 * Every STT and LLM backend's calls of the last hour from the phase log,
 * as a JSON array; the page's measurements and health_backends share it.
 */
#define BACKENDS_SQL \
    "(SELECT coalesce(json_agg(x ORDER BY x.kind DESC, " \
    "   x.name), '[]') FROM (SELECT l.phase AS kind, " \
    "   coalesce(l.backend, l.phase) AS name, count(*) AS calls, " \
    "   count(*) FILTER (WHERE l.outcome NOT IN ('ok', 'running')) " \
    "     AS errors, " \
    "   count(*) FILTER (WHERE l.finished_at IS NULL) AS in_flight, " \
    "   round((1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY " \
    "     extract(epoch FROM l.finished_at - l.started_at)) FILTER " \
    "     (WHERE l.outcome = 'ok'))::numeric) AS p50_ms, " \
    "   round((1000 * percentile_cont(0.95) WITHIN GROUP (ORDER BY " \
    "     extract(epoch FROM l.finished_at - l.started_at)) FILTER " \
    "     (WHERE l.outcome = 'ok'))::numeric) AS p95_ms, " \
    "   (array_agg(l.outcome ORDER BY l.started_at DESC) FILTER " \
    "     (WHERE l.finished_at IS NOT NULL))[1] AS last_outcome, " \
    "   (SELECT round((sum(e.eval_tokens) / nullif(sum(e.llm_s), 0))" \
    "     ::numeric, 1) FROM evaluations e WHERE e.backend = l.backend " \
    "     AND e.created_at > now() - interval '1 hour') AS tokens_per_s " \
    "   FROM phase_log l WHERE l.started_at > now() - interval '1 hour' " \
    "   AND l.phase IN ('stt', 'llm') GROUP BY l.phase, l.backend) x)"

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
    " 'queue', (SELECT coalesce(json_agg(q ORDER BY array_position("
    "   ARRAY['prep', 'stt', 'llm'], q.phase)), '[]') "
    "   FROM (SELECT phase, "
    "   count(*) FILTER (WHERE status = 'pending') AS waiting, "
    "   count(*) FILTER (WHERE status = 'retry') AS retrying, "
    "   count(*) FILTER (WHERE status = 'processing') AS processing, "
    "   count(*) AS n FROM submissions "
    "   WHERE phase IN ('prep', 'stt', 'llm') GROUP BY phase) q), "
    " 'backends', " BACKENDS_SQL ", "
    " 'runs', (SELECT coalesce(json_agg(json_build_object('node', node, "
    "   'phase', phase, 's', extract(epoch FROM started_at), "
    "   'e', extract(epoch FROM finished_at), 'items', items, "
    "   'batch_id', batch_id, 'reason', reason) ORDER BY started_at), "
    "   '[]') FROM phase_runs "
    "   WHERE coalesce(finished_at, now()) > now() - interval '1 hour'), "
    " 'calls', (SELECT coalesce(json_agg(c ORDER BY c.s), '[]') FROM "
    "   (SELECT node, phase, backend, outcome, submission_id, "
    "   detail->'vram_before_mib' AS vram_before, "
    "   detail->'vram_after_mib' AS vram_after, "
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

/*
 * One row per backend: the pool's own view when there is one, else the
 * phase log's, and every configured LLM backend even without calls.
 */
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
		round_field(b, "budget_wait_s", 1);
		round_field(b, "budget_waited_s", 1);
		/* The page says nothing of budgets that never held a call. */
		if (json_number_value(json_object_get(b, "budget_wait_s")) <= 0)
			json_object_del(b, "budget_wait_s");
		if (json_number_value(json_object_get(b, "budget_waited_s")) <=
		    0)
			json_object_del(b, "budget_waited_s");
		json_object_set_new(b, "kind", json_string("llm"));
		json_object_set_new(b, "calls", json_incref(json_object_get(b,
		    "requests")));
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

/*
 * {version, uptime_s, ws_clients,
 *  db: {size_bytes, connections, max_connections, replicas, standby,
 *       server},
 *  disk: {path, free_bytes, total_bytes},
 *  queue: [{phase, waiting, retrying, processing, n}]  (unfinished only)
 *  backends: [{name, kind ("stt"/"llm"), state, in_flight, calls, errors,
 *              p50_ms, p95_ms, tokens_per_s, last_error, source}],
 *  runs: [{node, phase, s, e, items, batch_id}]       (the last hour)
 *  calls: [{node, phase, backend, s, e, outcome}]     (the last hour)
 *  buckets: [{t, done, failed, calls, errors}]         (12 × 5 min)
 *  now}
 */
static bool
collect(struct app *app, json_t **out, char *err, size_t errlen)
{
	json_t *j;

	*out = NULL;
	if ((j = db_query_json(app->db, collect_sql, 0, NULL, NULL, err,
	    errlen)) == NULL)
		return false;
	json_object_set_new(j, "version", json_string(INTROEVAL_VERSION));
	json_object_set_new(j, "uptime_s", json_real(util_wallclock() -
	    app->started_at));
	json_object_set_new(j, "ws_clients", json_integer(ws_clients(
	    __atomic_load_n(&app->ws, __ATOMIC_ACQUIRE))));
	json_object_set_new(j, "backends", backends(app, json_object_get(j,
	    "backends")));
	add_disk(app, j);
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
	    " 'stale_writes', (SELECT coalesce(json_agg(json_build_object("
	    "   'node', node, 'n', stale_writes) ORDER BY node), '[]') "
	    "   FROM system_state), "
	    " 'crashes', (SELECT coalesce(sum(crashes), 0) FROM submissions), "
	    " 'uploads', (SELECT json_build_object('count', count(*), "
	    "   'bytes', coalesce(sum(size_bytes), 0)) FROM submissions), "
	    " 'db_size_bytes', pg_database_size(current_database()))::text";
	char bounds[256];
	const char *p[1] = { bounds };
	size_t len = 0;
	int i;

	/* The bounds as a PostgreSQL array literal: {0.25,0.5,...}. */
	bounds[len++] = '{';
	for (i = 0; i < health_nbuckets; i++)
		len += (size_t)snprintf(bounds + len, sizeof(bounds) - len,
		    "%s%g", i > 0 ? "," : "", health_buckets_s[i]);
	snprintf(bounds + len, sizeof(bounds) - len, "}");
	*out = db_query_json(app->db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}

static void
bytes_text(double b, char *out, size_t len)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(out, len, "%.1f GiB", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(out, len, "%.1f MiB", b / (1024.0 * 1024));
	else
		snprintf(out, len, "%.0f KiB", b / 1024.0);
}

static json_t *
summary(json_t *h)
{
	json_t *db = json_object_get(h, "db"), *disk = json_object_get(h,
	    "disk");
	double free_b = json_number_value(json_object_get(disk, "free_bytes"));
	double total = json_number_value(json_object_get(disk, "total_bytes"));
	char up[32], size[32], free_t[32];

	dash_duration(json_number_value(json_object_get(h, "uptime_s")), up,
	    sizeof(up));
	bytes_text(json_number_value(json_object_get(db, "size_bytes")), size,
	    sizeof(size));
	bytes_text(free_b, free_t, sizeof(free_t));
	return json_pack("{s:O, s:s, s:O, s:s, s:O, s:O, s:O, s:O?, s:s, "
	    "s:i, s:b, s:O?}", "version", json_object_get(h, "version"),
	    "uptime", up, "ws_clients", json_object_get(h, "ws_clients"),
	    "db_size", size, "connections", json_object_get(db,
	    "connections"), "max_connections", json_object_get(db,
	    "max_connections"), "replicas", json_object_get(db, "replicas"),
	    "server", json_object_get(db, "server"), "disk_free", free_t,
	    "disk_used_pct", total > 0 ? (int)(100 - 100 * free_b / total) :
	    0, "disk_low", total > 0 && free_b / total < 0.1, "disk_path",
	    json_object_get(disk, "path"));
}

/*
 * A chip class for every state the pool or the phase log reports. A
 * backend without (successful) calls has no latency or speed to show,
 * where the pool says 0; its model is named only when it differs from
 * its name.
 */
static void
backend_states(json_t *list)
{
	static const char *const measured[] = { "p50_ms", "p95_ms",
	    "tokens_per_s" };
	json_t *b;
	size_t i, k;

	json_array_foreach(list, i, b) {
		const char *model = json_string_value(json_object_get(b,
		    "model"));

		bool calls = json_integer_value(json_object_get(b, "calls")) > 0;

		for (k = 0; k < ARRAY_LEN(measured); k++)
			if (!calls || json_number_value(json_object_get(b,
			    measured[k])) <= 0)
				json_object_del(b, measured[k]);
		if (model != NULL && json_is_string(json_object_get(b,
		    "name")) && strcmp(model, json_string_value(
		    json_object_get(b, "name"))) == 0)
			json_object_del(b, "model");
		const char *st = json_string_value(json_object_get(b,
		    "state"));
		bool good = st != NULL && (strcmp(st, "up") == 0 ||
		    strcmp(st, "closed") == 0);
		bool bad = st != NULL && (strcmp(st, "down") == 0 ||
		    strcmp(st, "open") == 0 || strcmp(st, "failing") == 0);

		json_object_set_new(b, "state_class", json_string(good ? "up" :
		    bad ? "down" : "other"));
		json_object_set_new(b, "is_llm", json_boolean(strcmp(
		    json_string_value(json_object_get(b, "kind")), "llm") ==
		    0));
	}
}

/* The queue card's words for each phase of the unfinished work. */
static void
queue_labels(json_t *queue)
{
	static const struct { const char *phase, *label; } labels[] = {
		{ "prep", "Preparing the sound" },
		{ "stt", "Transcription" },
		{ "llm", "Evaluation" },
	};
	json_t *q;
	size_t i, k;

	json_array_foreach(queue, i, q)
		for (k = 0; k < ARRAY_LEN(labels); k++)
			if (strcmp(json_string_value(json_object_get(q,
			    "phase")), labels[k].phase) == 0)
				json_object_set_new(q, "label", json_string(
				    labels[k].label));
}

static json_t *
lane(json_t *lanes, const char *node, const char *which)
{
	json_t *l;
	char label[160];
	size_t i;

	snprintf(label, sizeof(label), "%s · %s", node, which);
	json_array_foreach(lanes, i, l)
		if (strcmp(json_string_value(json_object_get(l, "label")),
		    label) == 0)
			return json_object_get(l, "bars");
	l = json_pack("{s:s, s:[]}", "label", label, "bars");
	json_array_append_new(lanes, l);
	return json_object_get(l, "bars");
}

/* "STT phase, 85 s, ended 12 min ago" for a bar's tooltip. */
static void
tip_ago(json_t *bar, double now, const char *what)
{
	double s = json_number_value(json_object_get(bar, "s"));
	json_t *e = json_object_get(bar, "e");
	char dur[32], ago[32];

	dash_duration((json_is_number(e) ? json_number_value(e) : now) - s,
	    dur, sizeof(dur));
	dash_duration(now - (json_is_number(e) ? json_number_value(e) : now),
	    ago, sizeof(ago));
	json_object_set_new(bar, "tip", json_is_number(e) ? json_sprintf("%s, "
	    "%s, ended %s ago", what, dur, ago) : json_sprintf("%s, running "
	    "for %s", what, dur));
}

/*
 * The last hour, zoomed to the last 15 or 5 minutes when everything that
 * ran did so within them, so a short lab session is not a sliver.
 */
static double
window_s(json_t *h, double now)
{
	static const double spans[] = { 300, 900, 3600 };
	double first = now;
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(h, "runs"), i, it)
		if (json_number_value(json_object_get(it, "s")) < first)
			first = json_number_value(json_object_get(it, "s"));
	json_array_foreach(json_object_get(h, "calls"), i, it)
		if (json_number_value(json_object_get(it, "s")) < first)
			first = json_number_value(json_object_get(it, "s"));
	for (i = 0; i < ARRAY_LEN(spans) - 1; i++)
		if (now - first <= spans[i] * 0.95)
			return spans[i];
	return spans[ARRAY_LEN(spans) - 1];
}

/* A run's or a call's bar with its tooltip, in its node's lane. */
static void
add_bar(json_t *lanes, json_t *it, double now, const char *kind, int inset,
    const char *what)
{
	const char *ph = json_string_value(json_object_get(it, "phase"));
	json_t *bar = json_pack("{s:O, s:O, s:s}", "s", json_object_get(it,
	    "s"), "e", json_object_get(it, "e"), "kind", kind);

	if (inset > 0)
		json_object_set_new(bar, "inset", json_integer(inset));
	tip_ago(bar, now, what);
	json_array_append_new(lane(lanes, json_string_value(json_object_get(
	    it, "node")), strcmp(ph, "llm") == 0 ? "LLM" : "STT"), bar);
}

/*
 * Two lanes per node: phases (runs) are wide bars, the calls inside
 * them thin bars on top, so an STT call inside an LLM phase (or the
 * reverse) would show at a glance.
 */
static json_t *
timeline(json_t *h)
{
	double now = json_number_value(json_object_get(h, "now"));
	json_t *lanes = json_array(), *it, *out;
	size_t i;

	json_array_foreach(json_object_get(h, "runs"), i, it) {
		const char *ph = json_string_value(json_object_get(it,
		    "phase"));
		bool llm = strcmp(ph, "llm") == 0, stt = strcmp(ph, "stt") == 0;
		char what[96];

		snprintf(what, sizeof(what), "%s phase, %lld items", llm ?
		    "LLM" : stt ? "STT" : "switch", (long long)
		    json_integer_value(json_object_get(it, "items")));
		add_bar(lanes, it, now, llm ? "run-llm" : stt ? "run-stt" :
		    "run-switch", 0, what);
	}
	json_array_foreach(json_object_get(h, "calls"), i, it) {
		const char *ph = json_string_value(json_object_get(it,
		    "phase"));
		const char *be = json_string_value(json_object_get(it,
		    "backend"));
		bool llm = strcmp(ph, "llm") == 0;
		char what[160];

		if (strcmp(ph, "unload") == 0 && json_is_integer(
		    json_object_get(it, "vram_before")))
			snprintf(what, sizeof(what), "unload (%s): GPU memory "
			    "%lld MiB before, %lld MiB after",
			    json_string_value(json_object_get(it, "outcome")),
			    (long long)json_integer_value(json_object_get(it,
			    "vram_before")), (long long)json_integer_value(
			    json_object_get(it, "vram_after")));
		else
			snprintf(what, sizeof(what), "%s call on %s for #%lld "
			    "(%s)", strcmp(ph, "unload") == 0 ? "unload" :
			    llm ? "LLM" : "STT", be != NULL ? be : "?",
			    (long long)json_integer_value(json_object_get(it,
			    "submission_id")), json_string_value(
			    json_object_get(it, "outcome")));
		add_bar(lanes, it, now, llm ? "call-llm" : strcmp(ph, "stt") ==
		    0 ? "call-stt" : "call-unload", CALL_INSET, what);
	}
	out = svg_gantt(lanes, now - window_s(h, now), now);
	json_object_set_new(out, "minutes", json_integer((json_int_t)
	    window_s(h, now) / 60));
	json_object_set_new(out, "empty", json_boolean(json_array_size(lanes)
	    == 0));
	json_decref(lanes);
	return out;
}

/*
 * One pass over the five-minute buckets for both charts: submissions
 * scored and failed as columns ("throughput"), and the share of STT and
 * LLM calls that failed as a line with gaps where there were no calls
 * ("errors").
 */
static void
bucket_charts(json_t *h, json_t *view)
{
	json_t *cols = json_array(), *points = json_array(), *b, *label, *line;
	json_int_t done, failed, calls, errors;
	bool any = false;
	size_t i;

	json_array_foreach(json_object_get(h, "buckets"), i, b) {
		done = json_integer_value(json_object_get(b, "done"));
		failed = json_integer_value(json_object_get(b, "failed"));
		calls = json_integer_value(json_object_get(b, "calls"));
		errors = json_integer_value(json_object_get(b, "errors"));
		label = json_sprintf("−%d min", 60 - 5 * (int)i);
		any = any || calls > 0;
		json_array_append_new(cols, json_pack("{s:O, s:[{s:I, s:s, "
		    "s:o}, {s:I, s:s, s:o}]}", "label", label, "parts", "v",
		    done, "kind", "done", "tip", json_sprintf("%lld scored",
		    (long long)done), "v", failed, "kind", "failed", "tip",
		    json_sprintf("%lld failed", (long long)failed)));
		json_array_append_new(points, calls > 0 ? json_pack("{s:f, "
		    "s:O, s:o}", "v", 100.0 * (double)errors / (double)calls,
		    "label", label, "tip", json_sprintf("%lld of %lld calls "
		    "failed", (long long)errors, (long long)calls)) :
		    json_pack("{s:n, s:O}", "v", "label", label));
		json_decref(label);
	}
	json_object_set_new(view, "throughput", svg_columns(cols, 5));
	line = svg_line(points, 10, "%");
	json_object_set_new(line, "empty", json_boolean(!any));
	json_object_set_new(view, "errors", line);
	json_decref(cols);
	json_decref(points);
}

/*
 * Per tuned backend (the pool's adaptive concurrency), its limit at the
 * end of each five-minute bucket of the last hour as a line, and its
 * latest changes with their reasons, newest first.
 */
static void
limit_charts(json_t *h, json_t *view)
{
	json_t *charts = json_array(), *b, *changes, *points, *line, *recent,
	    *c, *label;
	double now = util_wallclock(), at;
	size_t i, k, n;

	json_array_foreach(json_object_get(h, "backends"), i, b) {
		if (!json_is_true(json_object_get(b, "adaptive")))
			continue;
		changes = json_object_get(b, "limit_changes");
		points = json_array();
		for (k = 0; k < 12; k++) {
			label = k == 11 ? json_string("now") :
			    json_sprintf("−%d min", 55 - 5 * (int)k);
			c = limit_at(changes, now - 3600 + 300 * (double)(k + 1));
			json_array_append_new(points, c != NULL ? json_pack(
			    "{s:O, s:O, s:o}", "v", c, "label", label, "tip",
			    json_sprintf("limit %lld", (long long)
			    json_integer_value(c))) : json_pack("{s:n, s:O}",
			    "v", "label", label));
			json_decref(label);
		}
		line = svg_line(points, (double)json_integer_value(
		    json_object_get(b, "concurrency_max")), "");
		json_decref(points);
		recent = json_array();
		n = json_array_size(changes);
		for (k = n; k > 0 && n - k < 5; k--) {
			c = json_array_get(changes, k - 1);
			at = json_real_value(json_object_get(c, "at"));
			json_array_append_new(recent, json_pack("{s:O, s:O, "
			    "s:o}", "limit", json_object_get(c, "limit"), "why",
			    json_object_get(c, "why"), "ago", json_sprintf(
			    "%.0f min ago", floor((now - at) / 60))));
		}
		json_array_append_new(charts, json_pack("{s:O, s:o, s:o}",
		    "name", json_object_get(b, "name"), "chart", line,
		    "changes", recent));
	}
	json_object_set_new(view, "limit_charts", charts);
}

/* The limit in force at time t (a JSON integer, borrowed), or NULL. */
static json_t *
limit_at(json_t *changes, double t)
{
	json_t *c, *v = NULL;
	size_t i;

	json_array_foreach(changes, i, c)
		if (json_real_value(json_object_get(c, "at")) <= t)
			v = json_object_get(c, "limit");
	return v;
}

/* This instance's scheduler in a word, and in words in detail. */
static const char *
scheduler_state(struct app *app, char *detail, size_t len)
{
	if (app->sched == NULL) {
		snprintf(detail, len, "none: this instance's role is %s",
		    app->cfg->role);
		return "none";
	}
	return sched_status(app->sched, detail, len) ? "running" : "standby";
}

int
health_healthz(struct req *r)
{
	char err[512], detail[512];
	const char *state = scheduler_state(r->app, detail, sizeof(detail));
	bool ok = db_exec1(r->app->db, "SELECT 1", 0, NULL, err, sizeof(err));

	return http_json(r, ok ? 200 : 503, json_pack("{s:s, s:s, s:s, s:s, "
	    "s:s, s:s?}", "status", ok ? "ok" : "unavailable", "version",
	    INTROEVAL_VERSION, "role", r->app->cfg->role, "scheduler", state,
	    "scheduler_detail", detail, "error", ok ? NULL : err));
}

/* One check of /readyz: {ok, detail}; a failed one is named in failed. */
static void
ready_check(json_t *checks, json_t *failed, const char *name, bool ok,
    const char *detail)
{
	json_object_set_new(checks, name, json_pack("{s:b, s:s}", "ok", ok,
	    "detail", detail));
	if (!ok)
		json_array_append_new(failed, json_string(name));
}

int
health_readyz(struct req *r)
{
	struct app *app = r->app;
	char err[512], detail[512], first[4], *dir;
	json_t *checks = json_object(), *failed = json_array();
	bool ok, running;
	int pending = 0;

	ready_check(checks, failed, "accepting", !atomic_load(&app->stopping),
	    atomic_load(&app->stopping) ? "stopping: this process received "
	    "SIGTERM" : "serving");
	ok = db_exec1(app->db, "SELECT 1", 0, NULL, err, sizeof(err));
	ready_check(checks, failed, "database", ok, ok ? "answers" : err);
	if (ok) {
		dir = xasprintf("%s/sql", app->cfg->share_dir);
		ok = db_migrations_pending(app->db, dir, &pending, first, err,
		    sizeof(err));
		free(dir);
		if (ok && pending > 0)
			snprintf(err, sizeof(err), "%d migration(s) of this "
			    "version not applied, from %s: run introeval "
			    "migrate", pending, first);
		ready_check(checks, failed, "migrations", ok && pending == 0,
		    ok && pending == 0 ? "current" : err);
	}
	/* A worker is there to run its node; role all serves pages too. */
	if (app->sched != NULL) {
		running = sched_status(app->sched, detail, sizeof(detail));
		ready_check(checks, failed, "node_lock", running ||
		    strcmp(app->cfg->role, "worker") != 0, detail);
	}
	ok = json_array_size(failed) == 0;
	return http_json(r, ok ? 200 : 503, json_pack("{s:s, s:s, s:o, s:o}",
	    "status", ok ? "ready" : "not ready", "role", app->cfg->role,
	    "checks", checks, "failed", failed));
}

/*
 * Evidence quotes by backend, with the share not found in the
 * transcript: a model that makes quotes up shows here. NULL (the section
 * is left out) when there are none or they cannot be read.
 */
static json_t *
evidence_view(struct app *app)
{
	char err[512];
	json_t *rows, *row;
	json_int_t q, u;
	size_t i;

	if (!evaluation_evidence_stats(app->db, &rows, err, sizeof(err))) {
		log_warnx("health: evidence: %s", err);
		return NULL;
	}
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return NULL;
	}
	json_array_foreach(rows, i, row) {
		q = json_integer_value(json_object_get(row, "quotes"));
		u = json_integer_value(json_object_get(row, "unverified"));
		json_object_set_new(row, "share", json_sprintf("%.0f%%",
		    q > 0 ? 100.0 * (double)u / (double)q : 0.0));
		json_object_set_new(row, "many", json_boolean(q > 0 &&
		    u * 10 > q));
	}
	return json_pack("{s:o}", "rows", rows);
}

int
health_page(struct req *r)
{
	char err[512], detail[512];
	const char *state;
	json_t *h, *nodes, *view;

	if (!collect(r->app, &h, err, sizeof(err)))
		return http_db_error(r);
	nodes = dash_nodes(r->app->db, NULL);
	backend_states(json_object_get(h, "backends"));
	queue_labels(json_object_get(h, "queue"));
	view = json_pack("{s:s, s:o, s:b, s:o, s:O, s:O, s:o}", "title",
	    "Health", "summary", summary(h), "has_nodes",
	    json_array_size(nodes) > 0, "nodes", nodes, "backends",
	    json_object_get(h, "backends"), "queue", json_object_get(h,
	    "queue"), "timeline", timeline(h));
	bucket_charts(h, view);
	limit_charts(h, view);
	state = scheduler_state(r->app, detail, sizeof(detail));
	json_object_set_new(view, "has_queue", json_boolean(json_array_size(
	    json_object_get(h, "queue")) > 0));
	json_object_set_new(view, "scheduler", json_string(detail));
	json_object_set_new(view, "scheduler_standby", json_boolean(
	    strcmp(state, "standby") == 0));
	json_object_set_new(view, "evidence", evidence_view(r->app));
	/* Where the figures come from: the first backend says it for all. */
	json_object_set(view, "figures_source", json_object_get(json_array_get(
	    json_object_get(h, "backends"), 0), "source"));
	json_decref(h);
	return http_render(r, 200, "health", view);
}

bool
health_backends(struct app *app, json_t **out, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " BACKENDS_SQL "::text";
	json_t *log;

	if ((log = db_query_json(app->db, sql, 0, NULL, NULL, err,
	    errlen)) == NULL)
		return false;
	*out = backends(app, log);
	json_decref(log);
	return true;
}
