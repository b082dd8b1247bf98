/*
 * store: the pipeline's tables. Every change of a submission's phase or
 * status is one SQL statement here, guarded by the claiming worker's id
 * where a worker holds it, so two workers can never both record an
 * outcome and a worker whose lease expired cannot overwrite the work of
 * the one that took it over. The NOTIFY that tells dashboards about a
 * change is raised by a trigger (sql/002), so no path can forget it.
 *
 * JSON for the API is built by PostgreSQL (json_build_object), so field
 * names and types are decided in one place: the queries below.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "pool.h"
#include "rubric.h"
#include "util.h"

#define NUM_LEN 32

static const char	*fmt_ll(char *, long long);
static const char	*fmt_double(char *, double);
static bool		 rubric_insert_default(PGconn *, char *, size_t);
static bool		 exec_owned(struct db *, const char *, int,
			    const char *const *, long long, char *, size_t);
static bool		 exec_action(struct db *, const char *, int,
			    const char *const *, bool *, char *, size_t);

static const char *
fmt_ll(char *buf, long long v)
{
	snprintf(buf, NUM_LEN, "%lld", v);
	return buf;
}

static const char *
fmt_double(char *buf, double v)
{
	snprintf(buf, NUM_LEN, "%.6f", v);
	return buf;
}

static bool
rubric_insert_default(PGconn *c, char *err, size_t errlen)
{
	struct rubric *rb = rubric_default();
	json_t *def = rubric_json(rb);
	char *text = json_dumps(def, JSON_COMPACT);
	char ver[NUM_LEN];
	const char *p[3] = { rubric_name(rb), fmt_ll(ver, rubric_version(rb)),
	    text };
	bool ok;

	ok = db_exec(c, "INSERT INTO rubrics (name, version, definition) "
	    "VALUES ($1, $2, $3::jsonb) ON CONFLICT (name, version) DO NOTHING",
	    3, p, err, errlen);
	free(text);
	json_decref(def);
	rubric_free(rb);
	return ok;
}

bool
store_rubric_current(struct db *db, long long *id, json_t **def, char *err,
    size_t errlen)
{
	static const char sql[] = "SELECT id, definition::text FROM rubrics "
	    "ORDER BY created_at DESC, id DESC LIMIT 1";
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;
	bool ok = false;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		PQclear(r);
		if ((r = db_query(c, sql, 0, NULL, err, errlen)) == NULL)
			goto out;
		if (PQntuples(r) > 0)
			break;
		if (!rubric_insert_default(c, err, errlen))
			goto out;
	}
	if (r == NULL || PQntuples(r) == 0) {
		util_seterr(err, errlen, "no rubric could be created");
		goto out;
	}
	*id = db_get_ll(r, 0, "id");
	if (def != NULL && (*def = json_loads(db_get(r, 0, "definition"), 0,
	    NULL)) == NULL) {
		util_seterr(err, errlen, "rubric %lld is not JSON", *id);
		goto out;
	}
	ok = true;
out:
	PQclear(r);
	db_release(db, c);
	return ok;
}

bool
store_rubric_get(struct db *db, long long id, json_t **def, char *err,
    size_t errlen)
{
	char idb[NUM_LEN];
	const char *p[1] = { fmt_ll(idb, id) };
	bool found;

	*def = db_query_json(db, "SELECT definition::text FROM rubrics "
	    "WHERE id = $1", 1, p, &found, err, errlen);
	if (*def == NULL && !found)
		util_seterr(err, errlen, "rubric %lld does not exist", id);
	return *def != NULL;
}

bool
store_submission_create(struct db *db, const struct new_submission *ns,
    long long *id, char *err, size_t errlen)
{
	char sid[NUM_LEN], size[NUM_LEN], dur[NUM_LEN], rid[NUM_LEN];
	long long rubric_id;
	const char *p[7];
	PGconn *c;
	PGresult *r;

	if (!store_rubric_current(db, &rubric_id, NULL, err, errlen))
		return false;
	p[0] = fmt_ll(sid, ns->student_id);
	p[1] = ns->stored_name;
	p[2] = ns->original_name != NULL ? ns->original_name : "";
	p[3] = ns->content_type != NULL ? ns->content_type : "";
	p[4] = fmt_ll(size, ns->size_bytes);
	p[5] = fmt_double(dur, ns->duration_s);
	p[6] = fmt_ll(rid, rubric_id);
	c = db_acquire(db);
	r = db_query(c, "INSERT INTO submissions (student_id, stored_name, "
	    "original_name, content_type, size_bytes, duration_s, rubric_id) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", 7, p, err,
	    errlen);
	if (r != NULL)
		*id = db_get_ll(r, 0, "id");
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

#define CLAIMABLE \
	"((status IN ('pending', 'retry') AND next_attempt_at <= now()) " \
	"OR (status = 'processing' AND lease_expires_at < now()))"

bool
store_claim(struct db *db, const char *phase, const char *node,
    const char *worker, int lease_s, long long batch_id, int max,
    struct job *jobs, int *n, char *err, size_t errlen)
{
	/*
	 * SKIP LOCKED lets concurrent claimers (other nodes) pass over each
	 * other's rows instead of queueing behind them; a row whose lease
	 * expired is claimable again, which is how a crashed worker's work
	 * resumes.
	 */
	static const char sql[] =
	    "UPDATE submissions s SET status = 'processing', worker_id = $2, "
	    "  node = $3, lease_expires_at = now() + make_interval(secs => "
	    "  $4::int), "
	    "  batch_id = CASE WHEN $1 = 'stt' THEN nullif($5::bigint, 0) "
	    "    ELSE s.batch_id END, "
	    "  stt_progress = CASE WHEN $1 = 'stt' THEN 0 "
	    "    ELSE s.stt_progress END, "
	    "  stt_started_at = CASE WHEN $1 = 'stt' THEN now() "
	    "    ELSE s.stt_started_at END, "
	    "  llm_started_at = CASE WHEN $1 = 'llm' THEN now() "
	    "    ELSE s.llm_started_at END, "
	    "  updated_at = now() "
	    "FROM (SELECT id FROM submissions WHERE phase = $1 AND "
	    CLAIMABLE
	    "  ORDER BY priority DESC, created_at, id "
	    "  LIMIT $6::int FOR UPDATE SKIP LOCKED) c "
	    "WHERE s.id = c.id "
	    "RETURNING s.id, s.stored_name, s.retry_count, "
	    "  coalesce(s.rubric_id, 0) AS rubric_id, s.phase, "
	    "  s.priority, s.created_at";
	char lease[NUM_LEN], bid[NUM_LEN], mx[NUM_LEN];
	const char *p[6] = { phase, worker, node, fmt_ll(lease, lease_s),
	    fmt_ll(bid, batch_id), fmt_ll(mx, max) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 6, p, err, errlen);
	int i, rows;

	*n = 0;
	rows = r != NULL ? PQntuples(r) : 0;
	for (i = 0; i < rows && i < max; i++) {
		struct job *job = &jobs[i];

		memset(job, 0, sizeof(*job));
		job->id = db_get_ll(r, i, "id");
		job->batch_id = batch_id;
		util_strlcpy(job->stored_name, db_get(r, i, "stored_name"),
		    sizeof(job->stored_name));
		job->retry_count = (int)db_get_ll(r, i, "retry_count");
		job->rubric_id = db_get_ll(r, i, "rubric_id");
		util_strlcpy(job->phase, db_get(r, i, "phase"),
		    sizeof(job->phase));
	}
	*n = i;
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
store_heartbeat(struct db *db, const char *worker, const long long *ids,
    size_t n, int lease_s, char *err, size_t errlen)
{
	char lease[NUM_LEN];
	const char *p[3];
	struct buf arr;
	size_t i;
	bool ok;

	if (n == 0)
		return true;
	buf_init(&arr);
	buf_putc(&arr, '{');
	for (i = 0; i < n; i++)
		buf_printf(&arr, "%s%lld", i > 0 ? "," : "", ids[i]);
	buf_putc(&arr, '}');
	p[0] = worker;
	p[1] = fmt_ll(lease, lease_s);
	p[2] = buf_cstr(&arr);
	ok = db_exec1(db, "UPDATE submissions SET lease_expires_at = now() "
	    "+ make_interval(secs => $2::int) WHERE worker_id = $1 "
	    "AND status = 'processing' AND id = ANY($3::bigint[])", 3, p, err,
	    errlen);
	buf_free(&arr);
	return ok;
}

bool
store_release(struct db *db, const struct job *job, const char *worker,
    char *err, size_t errlen)
{
	char idb[NUM_LEN];
	const char *p[2] = { fmt_ll(idb, job->id), worker };

	return db_exec1(db, "UPDATE submissions SET status = 'pending', "
	    "worker_id = NULL, lease_expires_at = NULL, updated_at = now() "
	    "WHERE id = $1 AND worker_id = $2 AND status = 'processing'", 2,
	    p, err, errlen);
}

bool
store_recover(struct db *db, const char *node, const char *worker, int *n,
    char *err, size_t errlen)
{
	const char *p[2] = { node, worker };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, "UPDATE submissions SET status = 'pending', "
	    "worker_id = NULL, lease_expires_at = NULL, updated_at = now() "
	    "WHERE node = $1 AND status = 'processing' AND worker_id <> $2 "
	    "RETURNING id", 2, p, err, errlen);

	*n = r != NULL ? PQntuples(r) : 0;
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
store_stt_progress(struct db *db, const struct job *job, const char *worker,
    double fraction)
{
	char idb[NUM_LEN], fb[NUM_LEN];
	const char *p[3] = { fmt_ll(idb, job->id), worker,
	    fmt_double(fb, fraction) };

	return db_exec1(db, "UPDATE submissions SET stt_progress = $3 "
	    "WHERE id = $1 AND worker_id = $2", 3, p, NULL, 0);
}

bool
store_counts(struct db *db, struct store_counts *out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT "
	    "  count(*) FILTER (WHERE phase = 'stt' AND " CLAIMABLE ") "
	    "    AS stt_waiting, "
	    "  count(*) FILTER (WHERE phase = 'llm' AND " CLAIMABLE ") "
	    "    AS llm_waiting, "
	    "  count(*) FILTER (WHERE phase = 'stt' AND status = 'retry' "
	    "    AND next_attempt_at > now()) AS stt_retrying, "
	    "  count(*) FILTER (WHERE phase = 'llm' AND status = 'retry' "
	    "    AND next_attempt_at > now()) AS llm_retrying, "
	    "  coalesce(extract(epoch FROM now() - min(greatest(created_at, "
	    "    next_attempt_at)) FILTER (WHERE phase = 'stt' AND "
	    CLAIMABLE ")), 0) AS stt_oldest_s "
	    "FROM submissions WHERE phase IN ('stt', 'llm')";
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 0, NULL, err, errlen);

	memset(out, 0, sizeof(*out));
	if (r != NULL) {
		out->stt_waiting = (int)db_get_ll(r, 0, "stt_waiting");
		out->llm_waiting = (int)db_get_ll(r, 0, "llm_waiting");
		out->stt_retrying = (int)db_get_ll(r, 0, "stt_retrying");
		out->llm_retrying = (int)db_get_ll(r, 0, "llm_retrying");
		out->stt_oldest_s = db_get_double(r, 0, "stt_oldest_s");
	}
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

/* A staff action: one UPDATE; *found says whether a row matched. */
static bool
exec_action(struct db *db, const char *sql, int n, const char *const *p,
    bool *found, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, p, err, errlen);

	*found = r != NULL && PQntuples(r) > 0;
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
store_cancel(struct db *db, long long id, const char *who, bool *found,
    char *err, size_t errlen)
{
	char idb[NUM_LEN], msg[300];
	const char *p[2] = { fmt_ll(idb, id), msg };

	snprintf(msg, sizeof(msg), "cancelled by %s", who);
	/* Clearing worker_id makes the holder's outcome write a no-op. */
	return exec_action(db, "UPDATE submissions SET phase = 'failed', "
	    "status = 'failed', error_message = $2, worker_id = NULL, "
	    "lease_expires_at = NULL, completed_at = now(), updated_at = now() "
	    "WHERE id = $1 AND phase IN ('stt', 'llm') RETURNING id", 2, p,
	    found, err, errlen);
}

bool
store_retry(struct db *db, long long id, bool *found, char *err,
    size_t errlen)
{
	char idb[NUM_LEN];
	const char *p[1] = { fmt_ll(idb, id) };

	/* A stored transcript is kept: only the evaluation is redone. */
	return exec_action(db, "UPDATE submissions s SET phase = CASE WHEN "
	    "EXISTS (SELECT 1 FROM transcripts t WHERE t.submission_id = s.id) "
	    "THEN 'llm' ELSE 'stt' END, status = 'pending', retry_count = 0, "
	    "error_message = NULL, next_attempt_at = now(), completed_at = NULL, "
	    "updated_at = now() WHERE id = $1 AND (phase = 'failed' OR "
	    "status = 'retry') RETURNING id", 1, p, found, err, errlen);
}

bool
store_set_priority(struct db *db, long long id, int priority, bool *found,
    char *err, size_t errlen)
{
	char idb[NUM_LEN], pb[NUM_LEN];
	const char *p[2] = { fmt_ll(idb, id), fmt_ll(pb, priority) };

	return exec_action(db, "UPDATE submissions SET priority = $2, "
	    "updated_at = now() WHERE id = $1 RETURNING id", 2, p, found, err,
	    errlen);
}

/* One statement: it moves only while this worker still holds the row. */
static bool
exec_owned(struct db *db, const char *sql, int n, const char *const *p,
    long long id, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, p, err, errlen);
	bool ok = r != NULL;

	if (ok && PQntuples(r) == 0) {
		ok = util_seterr(err, errlen, "submission %lld is no longer "
		    "held by this worker (lease expired or cancelled)", id);
	}
	PQclear(r);
	db_release(db, c);
	return ok;
}

bool
store_stt_done(struct db *db, const struct job *job, const char *worker,
    const char *engine, const char *text, json_t *words, json_t *metrics,
    double audio_s, double decode_s, char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH s AS (UPDATE submissions SET phase = 'llm', "
	    "  status = 'pending', worker_id = NULL, lease_expires_at = NULL, "
	    "  retry_count = 0, error_message = NULL, next_attempt_at = now(), "
	    "  stt_finished_at = now(), updated_at = now() "
	    "  WHERE id = $1 AND worker_id = $2 AND phase = 'stt' "
	    "    AND status = 'processing' RETURNING id) "
	    "INSERT INTO transcripts (submission_id, engine, text, words, "
	    "  metrics, audio_s, decode_s) "
	    "SELECT id, $3, $4, $5::jsonb, $6::jsonb, $7, $8 FROM s "
	    "ON CONFLICT (submission_id) DO UPDATE SET engine = $3, "
	    "  text = $4, words = $5::jsonb, metrics = $6::jsonb, "
	    "  audio_s = $7, decode_s = $8, created_at = now() "
	    "RETURNING submission_id";
	char idb[NUM_LEN], ab[NUM_LEN], db_[NUM_LEN];
	char *w = json_dumps(words, JSON_COMPACT | JSON_REAL_PRECISION(6));
	char *m = metrics != NULL ? json_dumps(metrics, JSON_COMPACT |
	    JSON_REAL_PRECISION(6)) : NULL;
	const char *p[8] = { fmt_ll(idb, job->id), worker, engine, text, w, m,
	    fmt_double(ab, audio_s), fmt_double(db_, decode_s) };
	bool ok;

	ok = exec_owned(db, sql, 8, p, job->id, err, errlen);
	free(w);
	free(m);
	return ok;
}

bool
store_transcript(struct db *db, long long id, char **text, json_t **metrics,
    char *err, size_t errlen)
{
	char idb[NUM_LEN];
	const char *p[1] = { fmt_ll(idb, id) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, "SELECT text, metrics::text AS metrics "
	    "FROM transcripts WHERE submission_id = $1", 1, p, err, errlen);
	bool ok = false;

	*text = NULL;
	*metrics = NULL;
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		util_seterr(err, errlen, "submission %lld has no transcript",
		    id);
		goto out;
	}
	*text = xstrdup(db_get(r, 0, "text"));
	if (db_get(r, 0, "metrics") != NULL)
		*metrics = json_loads(db_get(r, 0, "metrics"), 0, NULL);
	ok = true;
out:
	PQclear(r);
	db_release(db, c);
	return ok;
}

bool
store_llm_done(struct db *db, const struct job *job, const char *worker,
    const struct pool_result *res, char *err, size_t errlen)
{
	/* Provenance and ensemble detail come out of the evaluation JSON
	   (pool.h documents its shape), so they are stored as produced. */
	static const char sql[] =
	    "WITH s AS (UPDATE submissions SET phase = 'completed', "
	    "  status = 'completed', worker_id = NULL, lease_expires_at = NULL, "
	    "  error_message = NULL, llm_finished_at = now(), "
	    "  completed_at = now(), updated_at = now() "
	    "  WHERE id = $1 AND worker_id = $2 AND phase = 'llm' "
	    "    AND status = 'processing' RETURNING id, rubric_id), "
	    "e AS (SELECT $5::jsonb AS v) "
	    "INSERT INTO evaluations (submission_id, rubric_id, backend, model, "
	    "  scores, overall, feedback, strengths, improvements, "
	    "  prompt_tokens, eval_tokens, llm_s, backend_url, model_digest, "
	    "  options, rubric_version, prompt_sha256, mode, needs_review, "
	    "  ensemble, provenance) "
	    "SELECT s.id, coalesce(s.rubric_id, "
	    "    (e.v #>> '{provenance,rubric_id}')::bigint), $3, $4, "
	    "  e.v -> 'scores', (e.v ->> 'overall')::float8, "
	    "  coalesce(e.v ->> 'feedback', ''), "
	    "  coalesce(e.v -> 'strengths', '[]'), "
	    "  coalesce(e.v -> 'improvements', '[]'), $6, $7, $8, "
	    "  e.v #>> '{provenance,url}', e.v #>> '{provenance,digest}', "
	    "  e.v #> '{provenance,options}', "
	    "  (e.v #>> '{provenance,rubric_version}')::int, "
	    "  e.v #>> '{provenance,prompt_sha256}', "
	    "  coalesce(e.v #>> '{provenance,mode}', 'single'), "
	    "  coalesce((e.v ->> 'needs_review')::boolean, false), "
	    "  e.v -> 'models', e.v -> 'provenance' "
	    "FROM s, e RETURNING id";
	char idb[NUM_LEN], pt[NUM_LEN], et[NUM_LEN], ls[NUM_LEN];
	char *ev;
	const char *p[8];
	bool ok;

	if (!res->ok || res->evaluation == NULL)
		return util_seterr(err, errlen, "store: no evaluation to store "
		    "for submission %lld", job->id);
	ev = json_dumps(res->evaluation, JSON_COMPACT |
	    JSON_REAL_PRECISION(6));
	p[0] = fmt_ll(idb, job->id);
	p[1] = worker;
	p[2] = res->backend != NULL ? res->backend : "";
	p[3] = res->model != NULL ? res->model : "";
	p[4] = ev;
	p[5] = fmt_ll(pt, res->prompt_tokens);
	p[6] = fmt_ll(et, res->eval_tokens);
	p[7] = fmt_double(ls, res->llm_s);
	ok = ev != NULL && exec_owned(db, sql, 8, p, job->id, err, errlen);
	free(ev);
	return ok;
}

bool
store_fail(struct db *db, const struct job *job, const char *worker,
    const char *message, bool retryable, int max_retries, char *err,
    size_t errlen)
{
	/*
	 * Every SET expression sees the row as it was, so "again" is decided
	 * once from the old retry_count. Backoff: 5 s, 10 s, 20 s, ...
	 */
	static const char sql[] =
	    "WITH x AS (SELECT $4::bool AND retry_count < $5::int AS again "
	    "  FROM submissions WHERE id = $1) "
	    "UPDATE submissions s SET "
	    "  status = CASE WHEN x.again THEN 'retry' ELSE 'failed' END, "
	    "  phase = CASE WHEN x.again THEN s.phase ELSE 'failed' END, "
	    "  retry_count = s.retry_count + CASE WHEN x.again THEN 1 "
	    "    ELSE 0 END, "
	    "  next_attempt_at = now() + make_interval(secs => "
	    "    5 * power(2, least(s.retry_count, 10))), "
	    "  completed_at = CASE WHEN x.again THEN NULL ELSE now() END, "
	    "  error_message = $3, worker_id = NULL, lease_expires_at = NULL, "
	    "  updated_at = now() "
	    "FROM x WHERE s.id = $1 AND s.worker_id = $2 "
	    "  AND s.status = 'processing' RETURNING s.status";
	char idb[NUM_LEN], mr[NUM_LEN];
	const char *p[5] = { fmt_ll(idb, job->id), worker, message,
	    retryable ? "true" : "false", fmt_ll(mr, max_retries) };

	return exec_owned(db, sql, 5, p, job->id, err, errlen);
}

bool
store_submission_json(struct db *db, long long id, json_t **out, bool *found,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object("
	    "  'id', s.id, 'student_id', s.student_id, "
	    "  'student_name', u.name, 'original_name', s.original_name, "
	    "  'content_type', s.content_type, 'size_bytes', s.size_bytes, "
	    "  'duration_s', round(s.duration_s::numeric, 1), "
	    "  'phase', s.phase, 'status', s.status, "
	    "  'priority', s.priority, 'retry_count', s.retry_count, "
	    "  'error', s.error_message, "
	    "  'created_at', iso_utc(s.created_at), "
	    "  'updated_at', iso_utc(s.updated_at), "
	    "  'completed_at', iso_utc(s.completed_at), "
	    "  'stt_s', (SELECT round(extract(epoch FROM l.finished_at "
	    "    - l.started_at), 2) FROM phase_log l WHERE l.submission_id "
	    "    = s.id AND l.phase = 'stt' AND l.outcome = 'ok' "
	    "    ORDER BY l.id DESC LIMIT 1), "
	    "  'llm_s', (SELECT round(e.llm_s::numeric, 2) FROM evaluations e "
	    "    WHERE e.submission_id = s.id ORDER BY e.id DESC LIMIT 1), "
	    "  'transcript', (SELECT json_build_object('engine', t.engine, "
	    "    'text', t.text, 'words', t.words, 'metrics', t.metrics, "
	    "    'audio_s', round(t.audio_s::numeric, 1), "
	    "    'decode_s', round(t.decode_s::numeric, 2)) "
	    "    FROM transcripts t WHERE t.submission_id = s.id), "
	    "  'evaluation', (SELECT json_build_object('id', e.id, "
	    "    'backend', e.backend, 'model', e.model, 'scores', e.scores, "
	    "    'overall', e.overall, 'feedback', e.feedback, "
	    "    'strengths', e.strengths, 'improvements', e.improvements, "
	    "    'prompt_tokens', e.prompt_tokens, "
	    "    'eval_tokens', e.eval_tokens, 'llm_s', e.llm_s, "
	    "    'mode', e.mode, 'needs_review', e.needs_review, "
	    "    'ensemble', e.ensemble, 'model_digest', e.model_digest, "
	    "    'provenance', e.provenance, "
	    "    'created_at', iso_utc(e.created_at)) FROM evaluations e "
	    "    WHERE e.submission_id = s.id "
	    "    ORDER BY e.created_at DESC, e.id DESC LIMIT 1), "
	    "  'rubric', (SELECT r.definition || jsonb_build_object('id', r.id, "
	    "    'min', r.definition -> 'scale' -> 'min', "
	    "    'max', r.definition -> 'scale' -> 'max') "
	    "    FROM rubrics r WHERE r.id = s.rubric_id)"
	    ")::text FROM submissions s JOIN users u ON u.id = s.student_id "
	    "WHERE s.id = $1";
	char idb[NUM_LEN];
	const char *p[1] = { fmt_ll(idb, id) };

	*out = db_query_json(db, sql, 1, p, found, err, errlen);
	return *out != NULL || !*found;
}

bool
store_submissions_list(struct db *db, long long student_id, int limit,
    json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text FROM ("
	    "  SELECT s.id, s.student_id, u.name AS student_name, "
	    "    s.original_name, s.phase, s.status, s.priority, "
	    "    s.error_message AS error, "
	    "    iso_utc(s.created_at) AS created_at, "
	    "    iso_utc(s.completed_at) AS completed_at, "
	    "    (SELECT round(e.overall::numeric, 1) FROM evaluations e "
	    "      WHERE e.submission_id = s.id "
	    "      ORDER BY e.created_at DESC, e.id DESC LIMIT 1) AS overall "
	    "  FROM submissions s JOIN users u ON u.id = s.student_id "
	    "  WHERE $1::bigint = 0 OR s.student_id = $1::bigint "
	    "  ORDER BY s.id DESC LIMIT $2::int) x";
	char sid[NUM_LEN], lim[NUM_LEN];
	const char *p[2] = { fmt_ll(sid, student_id), fmt_ll(lim, limit) };
	bool found;

	*out = db_query_json(db, sql, 2, p, &found, err, errlen);
	return *out != NULL;
}
