/*
 * node: a node's state and phase log (see node.h). Timestamps measured
 * by the controller (wall clock, seconds) go in with to_timestamp, so the
 * phase log holds when a call really started, not when it was written.
 */
#include "node.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "pglock.h"
#include "log.h"
#include "util.h"

static long long	 insert_id(struct db *, const char *, int,
			    const char *const *);

static long long
insert_id(struct db *db, const char *sql, int n, const char *const *p)
{
	char err[512];
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, p, err, sizeof(err));
	long long id = 0;

	if (r == NULL)
		log_warnx("node: %s", err);
	else if (PQntuples(r) > 0)
		id = db_get_ll(r, 0, "id");
	PQclear(r);
	db_release(db, c);
	return id;
}

bool
node_state_write(struct db *db, const char *node, const char *worker,
    const struct node_state *st, char *err, size_t errlen)
{
	static const char sql[] =
	    "INSERT INTO system_state (node, worker_id, phase, phase_since, "
	    "  batch_id, batch_size, batch_done, queue_stt, queue_llm, "
	    "  active_workers, stt_available, llm_healthy, detail, updated_at) "
	    "VALUES ($1, $2, $3, to_timestamp($4), nullif($5::bigint, 0), $6, "
	    "  $7, $8, $9, $10, $11, $12, $13::jsonb, now()) "
	    "ON CONFLICT (node) DO UPDATE SET worker_id = $2, phase = $3, "
	    "  phase_since = to_timestamp($4), batch_id = nullif($5::bigint, 0), "
	    "  batch_size = $6, batch_done = $7, queue_stt = $8, queue_llm = $9, "
	    "  active_workers = $10, stt_available = $11, llm_healthy = $12, "
	    "  detail = $13::jsonb, updated_at = now(), "
	    "  started_at = CASE WHEN system_state.worker_id = $2 "
	    "    THEN system_state.started_at ELSE now() END";
	char since[DB_NUM_LEN], bid[DB_NUM_LEN], bs[DB_NUM_LEN];
	char bd[DB_NUM_LEN], qs[DB_NUM_LEN], ql[DB_NUM_LEN], aw[DB_NUM_LEN];
	char lh[DB_NUM_LEN];
	json_t *d = json_pack("{s:i, s:i, s:i, s:f, s:s?}", "llm_capacity",
	    st->llm_capacity, "stt_concurrency", st->stt_concurrency,
	    "batch_max", st->batch_max, "batch_window_s", st->batch_window_s,
	    "role", st->role);
	char *detail;

	if (st->gpus != NULL)
		json_object_set(d, "gpus", st->gpus);
	if (st->thermal != NULL)
		json_object_set(d, "thermal", st->thermal);
	detail = json_dumps(d, JSON_COMPACT);
	const char *p[13] = { node, worker, phase_name(st->phase),
	    db_param_double(since, st->phase_since),
	    db_param_ll(bid, st->batch_id), db_param_ll(bs, st->batch_size),
	    db_param_ll(bd, st->batch_done), db_param_ll(qs, st->queue_stt),
	    db_param_ll(ql, st->queue_llm),
	    db_param_ll(aw, st->active_workers),
	    st->stt_available ? "true" : "false",
	    db_param_ll(lh, st->llm_healthy), detail };
	bool ok;

	ok = db_exec1(db, sql, 13, p, err, errlen);
	free(detail);
	json_decref(d);
	return ok;
}

long long
node_next_batch_id(struct db *db)
{
	return insert_id(db, "SELECT nextval('stt_batch_seq') AS id", 0, NULL);
}

long long
node_phase_begin(struct db *db, const char *node, enum phase phase,
    long long batch_id, const char *reason)
{
	char bid[DB_NUM_LEN];
	const char *p[4] = { node, phase_name(phase), db_param_ll(bid,
	    batch_id), reason };

	return insert_id(db, "INSERT INTO phase_runs (node, phase, batch_id, "
	    "reason) VALUES ($1, $2, nullif($3::bigint, 0), $4) RETURNING id",
	    4, p);
}

void
node_log_interrupted(struct db *db, const char *node)
{
	const char *p[1] = { node };
	char err[512];

	if (!db_exec1(db, "UPDATE phase_log SET outcome = 'interrupted', "
	    "finished_at = now() WHERE node = $1 AND outcome = 'running'", 1,
	    p, err, sizeof(err)) ||
	    !db_exec1(db, "UPDATE phase_runs SET finished_at = now(), "
	    "reason = reason || ' (interrupted)' WHERE node = $1 AND "
	    "finished_at IS NULL", 1, p, err, sizeof(err)))
		log_warnx("node: closing what an earlier process left open: %s",
		    err);
}

void
node_phase_end(struct db *db, long long run_id, int items)
{
	char idb[DB_NUM_LEN], nb[DB_NUM_LEN], err[512];
	const char *p[2] = { db_param_ll(idb, run_id), db_param_ll(nb, items) };

	if (run_id == 0)
		return;
	if (!db_exec1(db, "UPDATE phase_runs SET finished_at = now(), "
	    "items = $2 WHERE id = $1", 2, p, err, sizeof(err)))
		log_warnx("node: %s", err);
}

long long
node_log_start(struct db *db, const char *node, const char *phase,
    long long submission_id, const char *backend, double started_at)
{
	char sid[DB_NUM_LEN], st[DB_NUM_LEN];
	const char *p[5] = { node, phase, db_param_ll(sid, submission_id),
	    backend, db_param_double(st, started_at) };

	return insert_id(db, "INSERT INTO phase_log (node, phase, "
	    "submission_id, backend, started_at) VALUES ($1, $2, "
	    "nullif($3::bigint, 0), $4, to_timestamp($5)) RETURNING id", 5, p);
}

void
node_log_finish(struct db *db, long long log_id, double finished_at,
    const char *outcome, json_t *detail)
{
	char idb[DB_NUM_LEN], fin[DB_NUM_LEN], err[512];
	char *d = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
	const char *p[4] = { db_param_ll(idb, log_id), db_param_double(fin,
	    finished_at), outcome, d != NULL ? d : "{}" };

	if (log_id != 0) {
		if (!db_exec1(db, "UPDATE phase_log SET finished_at = "
		    "to_timestamp($2), outcome = $3, detail = $4::jsonb "
		    "WHERE id = $1", 4, p, err, sizeof(err)))
			log_warnx("node: %s", err);
	}
	free(d);
}

void
node_log_call(struct db *db, const char *node, const char *phase,
    long long submission_id, const char *backend, double started_at,
    double finished_at, const char *outcome, json_t *detail)
{
	char sid[DB_NUM_LEN], st[DB_NUM_LEN];
	const char *p[5] = { node, phase, db_param_ll(sid, submission_id),
	    backend, db_param_double(st, started_at) };
	long long id;

	/* The row its start made, if it was reported; else a new one. */
	id = insert_id(db, "SELECT id FROM phase_log WHERE node = $1 AND "
	    "phase = $2 AND submission_id IS NOT DISTINCT FROM "
	    "nullif($3::bigint, 0) AND backend IS NOT DISTINCT FROM $4 AND "
	    "started_at = to_timestamp($5) AND outcome = 'running' "
	    "ORDER BY id DESC LIMIT 1", 5, p);
	if (id == 0)
		id = node_log_start(db, node, phase, submission_id, backend,
		    started_at);
	node_log_finish(db, id, finished_at, outcome, detail);
}

/*
 * Measured rates are medians over the last two hours of the phase log;
 * where a submission stands comes from the queue order the claim uses.
 */
bool
node_queue_json(struct db *db, long long id, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "WITH me AS (SELECT * FROM submissions WHERE id = $1), "
	    "st AS (SELECT * FROM system_state ORDER BY updated_at DESC "
	    "  LIMIT 1), "
	    "rates AS (SELECT "
	    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
	    "    finished_at - started_at)) FILTER (WHERE phase = 'stt' "
	    "    AND outcome = 'ok') AS stt_s, "
	    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
	    "    finished_at - started_at)) FILTER (WHERE phase = 'llm' "
	    "    AND outcome = 'ok') AS llm_s, "
	    "  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
	    "    finished_at - started_at)) FILTER (WHERE phase = 'unload') "
	    "    AS switch_s "
	    "  FROM phase_log WHERE started_at > now() - interval '2 hours' "
	    "    AND finished_at IS NOT NULL) "
	    "SELECT me.phase, me.status, coalesce(me.stt_progress, 0) AS progress, "
	    "  (SELECT count(*) FROM submissions s WHERE (s.phase = me.phase "
	    "    OR (me.phase IN ('prep', 'stt') AND s.phase IN ('prep', "
	    "    'stt'))) "
	    "    AND (s.status IN ('pending', 'retry') OR (s.phase = 'prep' "
	    "    AND s.status = 'processing')) AND (s.priority > "
	    "    me.priority OR (s.priority = me.priority AND (s.created_at, "
	    "    s.id) < (me.created_at, me.id)))) AS ahead, "
	    "  (SELECT count(*) FROM submissions WHERE phase = 'llm') "
	    "    AS llm_queue, "
	    "  (SELECT count(*) FROM submissions WHERE phase IN ('prep', "
	    "    'stt') AND status IN ('pending', 'retry', 'processing')) "
	    "    AS stt_queue, "
	    "  coalesce((SELECT phase FROM st), 'idle') AS node_phase, "
	    "  coalesce((SELECT llm_healthy FROM st), 1) AS llm_healthy, "
	    "  coalesce((SELECT stt_available FROM st), true) AS stt_ok, "
	    "  coalesce((SELECT extract(epoch FROM now() - phase_since) "
	    "    FROM st), 0) AS elapsed_s, "
	    "  coalesce((SELECT (detail->>'llm_capacity')::int FROM st), 0) "
	    "    AS llm_capacity, "
	    "  coalesce((SELECT (detail->>'stt_concurrency')::int FROM st), 0) "
	    "    AS stt_concurrency, "
	    "  coalesce((SELECT (detail->>'batch_max')::int FROM st), 0) "
	    "    AS batch_max, "
	    "  coalesce((SELECT (detail->>'batch_window_s')::float8 FROM st) "
	    "    - (SELECT extract(epoch FROM now() - min(greatest(created_at, "
	    "    next_attempt_at))) FROM submissions WHERE phase = 'stt' "
	    "    AND status IN ('pending', 'retry')), 0) AS window_left_s, "
	    "  coalesce(rates.stt_s, 0) AS stt_s, "
	    "  coalesce(rates.llm_s, 0) AS llm_s, "
	    "  coalesce(rates.switch_s, 0) AS switch_s "
	    "FROM me, rates";
	static const enum phase phases[] = { PHASE_IDLE, PHASE_STT,
	    PHASE_SWITCHING, PHASE_LLM, PHASE_CONCURRENT };
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
	struct phase_rates rates;
	struct phase_position pos;
	enum phase now = PHASE_IDLE;
	const char *phase, *node_phase;
	PGconn *c;
	PGresult *r;
	double eta;
	char eta_at[32];
	size_t i;

	*out = NULL;
	c = db_acquire(db);
	if ((r = db_query(c, sql, 1, p, err, errlen)) == NULL) {
		db_release(db, c);
		return false;
	}
	phase = PQntuples(r) > 0 ? db_get(r, 0, "phase") : "completed";
	if (strcmp(phase, "prep") != 0 && strcmp(phase, "stt") != 0 &&
	    strcmp(phase, "llm") != 0) {
		*out = json_null();
		goto out;
	}
	node_phase = db_get(r, 0, "node_phase");
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (strcmp(phase_name(phases[i]), node_phase) == 0)
			now = phases[i];
	memset(&rates, 0, sizeof(rates));
	rates.stt_s = db_get_double(r, 0, "stt_s");
	rates.llm_s = db_get_double(r, 0, "llm_s");
	rates.switch_s = db_get_double(r, 0, "switch_s");
	rates.llm_capacity = (int)db_get_ll(r, 0, "llm_capacity");
	rates.stt_concurrency = (int)db_get_ll(r, 0, "stt_concurrency");
	rates.batch_max = (int)db_get_ll(r, 0, "batch_max");
	memset(&pos, 0, sizeof(pos));
	/* Being prepared counts as waiting for transcription. */
	pos.in_stt = strcmp(phase, "llm") != 0;
	pos.processing = strcmp(phase, "prep") != 0 &&
	    strcmp(db_get(r, 0, "status"), "processing") == 0;
	pos.progress = pos.in_stt ? db_get_double(r, 0, "progress") : 0.5;
	pos.ahead = (int)db_get_ll(r, 0, "ahead");
	pos.llm_queue = (int)db_get_ll(r, 0, "llm_queue");
	pos.stt_queue = (int)db_get_ll(r, 0, "stt_queue");
	if (now == PHASE_IDLE)
		pos.window_left_s = db_get_double(r, 0, "window_left_s");
	eta = phase_eta(&rates, now, db_get_double(r, 0, "elapsed_s"), &pos);
	util_iso8601(util_wallclock() + eta, eta_at, sizeof(eta_at));
	*out = json_pack("{s:s, s:b, s:i, s:i, s:f, s:s, s:s}", "phase", phase,
	    "processing", pos.processing, "position", pos.ahead + 1,
	    "ahead", pos.ahead, "eta_s", (double)(long long)(eta + 0.5),
	    "eta_at", eta_at, "node_phase", node_phase);
	/* No estimate while what it waits for is down: say so instead. */
	if ((!pos.in_stt && db_get_ll(r, 0, "llm_healthy") == 0) ||
	    (pos.in_stt && strcmp(db_get(r, 0, "stt_ok"), "f") == 0)) {
		json_object_set_new(*out, "eta_s", json_null());
		json_object_set_new(*out, "eta_at", json_null());
		json_object_set_new(*out, "waiting_for", json_string(
		    pos.in_stt ? "stt_engine" : "llm_backend"));
	}
out:
	PQclear(r);
	db_release(db, c);
	return true;
}

bool
node_system_json(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object("
	    "  'nodes', coalesce((SELECT json_agg(json_build_object("
	    "    'node', node, 'worker_id', worker_id, 'phase', phase, "
	    "    'phase_since', iso_utc(phase_since), 'phase_s', "
	    "    round(extract(epoch FROM now() - phase_since)::numeric, 1), "
	    "    'batch_id', batch_id, 'batch_size', batch_size, "
	    "    'batch_done', batch_done, 'queue_stt', queue_stt, "
	    "    'queue_llm', queue_llm, 'active_workers', active_workers, "
	    "    'stt_available', stt_available, 'llm_healthy', llm_healthy, "
	    "    'detail', detail, 'updated_at', iso_utc(updated_at), "
	    "    'started_at', iso_utc(started_at)) ORDER BY node) "
	    "    FROM system_state), '[]'), "
	    "  'submissions', coalesce((SELECT json_object_agg(k, n) FROM "
	    "    (SELECT phase || '/' || status AS k, count(*) AS n "
	    "     FROM submissions GROUP BY 1) c), '{}'), "
	    "  'phases', coalesce((SELECT json_agg(json_build_object("
	    "    'node', node, 'phase', phase, 'batch_id', batch_id, "
	    "    'started_at', iso_utc(started_at), "
	    "    'finished_at', iso_utc(finished_at), 'items', items, "
	    "    'reason', reason) ORDER BY started_at) FROM phase_runs "
	    "    WHERE started_at > now() - interval '1 hour'), '[]'))::text";
	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}

bool
node_list_json(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('name', s.node, "
	    "  'role', coalesce(s.detail->>'role', 'all'), 'phase', s.phase, "
	    "  'phase_since', iso_utc(s.phase_since), "
	    "  'phase_s', round(extract(epoch FROM now() - s.phase_since)"
	    "    ::numeric, 1), 'worker_id', s.worker_id, "
	    "  'lock_holder', (SELECT coalesce(nullif(a.application_name, ''), "
	    "    'an unnamed client') "
	    "    " PGLOCK_HOLDER_FROM("'" NODE_LOCK_PREFIX "' || s.node") " "
	    "    LIMIT 1), "
	    "  'last_heartbeat', iso_utc(s.updated_at), "
	    "  'heartbeat_age_s', round(extract(epoch FROM now() - s.updated_at)"
	    "    ::numeric, 1), "
	    "  'started_at', iso_utc(s.started_at), 'batch_id', s.batch_id, "
	    "  'batch_size', s.batch_size, 'batch_done', s.batch_done, "
	    "  'queue_stt', s.queue_stt, 'queue_llm', s.queue_llm, "
	    "  'stt_available', s.stt_available, "
	    "  'llm_healthy', s.llm_healthy, "
	    "  'gpus', coalesce(s.detail->'gpus', '[]'), "
	    "  'thermal', s.detail->'thermal') ORDER BY s.node), '[]')::text "
	    "FROM system_state s";

	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}

bool
node_phases_json(struct db *db, const char *node, const char *since,
    const char *until, int limit, json_t **out, bool *found, char *err,
    size_t errlen)
{
	/* Microseconds: the timeline is what proves phases never overlap. */
	static const char sql[] =
	    "SELECT CASE WHEN EXISTS (SELECT 1 FROM system_state "
	    "  WHERE node = $1) THEN coalesce((SELECT json_agg(x "
	    "  ORDER BY x.t, x.id) FROM (SELECT l.id, l.phase, "
	    "  l.backend, l.submission_id, l.outcome, l.started_at AS t, "
	    "  to_char(l.started_at AT TIME ZONE 'UTC', "
	    "    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS started_at, "
	    "  to_char(l.finished_at AT TIME ZONE 'UTC', "
	    "    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS finished_at, "
	    "  round(extract(epoch FROM l.finished_at - l.started_at)"
	    "    ::numeric, 3) AS duration_s "
	    "  FROM phase_log l WHERE l.node = $1 "
	    "  AND l.started_at >= $2::timestamptz "
	    "  AND l.started_at < $3::timestamptz "
	    "  ORDER BY l.started_at, l.id LIMIT $4::int) x), '[]') END::text";
	char lim[DB_NUM_LEN];
	const char *p[4] = { node, since, until, db_param_ll(lim, limit) };
	json_t *rows;
	size_t i;
	json_t *row;

	*found = false;
	if ((*out = db_query_json(db, sql, 4, p, NULL, err, errlen)) == NULL)
		return false;
	if (json_is_null(*out)) {
		json_decref(*out);
		*out = NULL;
		return true;
	}
	*found = true;
	rows = *out;
	json_array_foreach(rows, i, row)
		json_object_del(row, "t");
	return true;
}
