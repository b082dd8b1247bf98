/*
 * queue: a submission's life in the submissions table, from the upload
 * (queue_add) through claims and leases to its outcome. Every change of
 * a submission's phase or status is one SQL statement here or in a
 * module that writes through queue_write_owned, guarded by the claim's
 * token where a worker holds the row, so two workers can never both
 * record an outcome, and a worker whose lease expired, or whose row was
 * cancelled and claimed again, cannot overwrite the work of the claim
 * that followed. The NOTIFYs that tell
 * dashboards (sql/002) and schedulers (sql/007) about a change are raised
 * by triggers, so no path can forget them.
 */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "rubrics.h"
#include "util.h"

#define CLAIMABLE \
	"(status IN ('pending', 'retry') AND next_attempt_at <= now())"

static void	 tokens_array(struct buf *, const long long *, size_t);
static bool	 exec_action(struct db *, const char *, int,
		    const char *const *, bool *, char *, size_t);

bool
queue_add(struct db *db, const struct new_submission *ns,
    long long *id, char *err, size_t errlen)
{
	char sid[DB_NUM_LEN], size[DB_NUM_LEN], dur[DB_NUM_LEN], rid[DB_NUM_LEN];
	char cid[DB_NUM_LEN], aid[DB_NUM_LEN];
	long long rubric_id = ns->rubric_id;
	const char *p[11];
	PGconn *c;
	PGresult *r;

	if (rubric_id <= 0 && !rubrics_current(db, &rubric_id, NULL, err,
	    errlen))
		return false;
	p[0] = db_param_ll(sid, ns->student_id);
	p[1] = ns->stored_name;
	p[2] = ns->original_name != NULL ? ns->original_name : "";
	p[3] = ns->content_type != NULL ? ns->content_type : "";
	p[4] = db_param_ll(size, ns->size_bytes);
	p[5] = db_param_double(dur, ns->duration_s);
	p[6] = db_param_ll(rid, rubric_id);
	p[7] = ns->course_id > 0 ? db_param_ll(cid, ns->course_id) : NULL;
	p[8] = ns->assignment_id > 0 ? db_param_ll(aid, ns->assignment_id) :
	    NULL;
	p[9] = ns->late ? "true" : "false";
	p[10] = ns->request_id != NULL ? ns->request_id : "";
	/*
	 * stored_name is unique and random per upload, so after a lost
	 * answer the INSERT is run again and finds its own row: the student
	 * is told the id of the one row there is, never a failure for a row
	 * that exists.
	 */
	c = db_acquire(db);
	r = db_query_idempotent(c, "INSERT INTO submissions (student_id, "
	    "stored_name, original_name, content_type, size_bytes, duration_s, "
	    "rubric_id, course_id, assignment_id, late, request_id) VALUES "
	    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nullif($11, '')) "
	    "ON CONFLICT (stored_name) DO UPDATE SET stored_name = "
	    "EXCLUDED.stored_name RETURNING id", 11, p, err, errlen);
	if (r != NULL)
		*id = db_get_ll(r, 0, "id");
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
queue_claim(struct db *db, const char *phase, const char *node,
    const char *worker, int lease_s, long long batch_id, int max,
    struct job *jobs, int *n, char *err, size_t errlen)
{
	/*
	 * SKIP LOCKED lets concurrent claimers (other nodes) pass over each
	 * other's rows instead of queueing behind them. A row whose lease
	 * expired comes back through queue_rescue, which counts the crash.
	 */
	static const char sql[] =
	    "UPDATE submissions s SET status = 'processing', worker_id = $2, "
	    "  node = $3, lease_expires_at = now() + make_interval(secs => "
	    "  $4::int), claim_token = nextval('claim_token_seq'), "
	    "  attempts = s.attempts + 1, work_started_at = NULL, "
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
	    "RETURNING s.id, s.claim_token, s.attempts, s.stored_name, "
	    "  s.retry_count, coalesce(s.rubric_id, 0) AS rubric_id, s.phase, "
	    "  s.priority, s.created_at, coalesce(s.request_id, '') "
	    "  AS request_id";
	char lease[DB_NUM_LEN], bid[DB_NUM_LEN], mx[DB_NUM_LEN];
	const char *p[6] = { phase, worker, node, db_param_ll(lease, lease_s),
	    db_param_ll(bid, batch_id), db_param_ll(mx, max) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 6, p, err, errlen);
	int i, rows;

	*n = 0;
	rows = r != NULL ? PQntuples(r) : 0;
	for (i = 0; i < rows && i < max; i++) {
		struct job *job = &jobs[i];

		memset(job, 0, sizeof(*job));
		job->id = db_get_ll(r, i, "id");
		job->claim_token = db_get_ll(r, i, "claim_token");
		job->attempts = (int)db_get_ll(r, i, "attempts");
		job->batch_id = batch_id;
		util_strlcpy(job->node, node, sizeof(job->node));
		util_strlcpy(job->stored_name, db_get(r, i, "stored_name"),
		    sizeof(job->stored_name));
		job->retry_count = (int)db_get_ll(r, i, "retry_count");
		job->rubric_id = db_get_ll(r, i, "rubric_id");
		util_strlcpy(job->phase, db_get(r, i, "phase"),
		    sizeof(job->phase));
		util_strlcpy(job->request_id, db_get(r, i, "request_id"),
		    sizeof(job->request_id));
	}
	*n = i;
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

/* Claim tokens as a PostgreSQL array literal, for "= ANY($n::bigint[])". */
static void
tokens_array(struct buf *arr, const long long *tokens, size_t n)
{
	size_t i;

	buf_putc(arr, '{');
	for (i = 0; i < n; i++)
		buf_printf(arr, "%s%lld", i > 0 ? "," : "", tokens[i]);
	buf_putc(arr, '}');
}

bool
queue_begin(struct db *db, const struct job *job, char *err, size_t errlen)
{
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token) };

	return queue_write_owned(db, "UPDATE submissions SET "
	    "work_started_at = now() WHERE id = $1 AND claim_token = $2 "
	    "AND status = 'processing' RETURNING id", 2, p, job, err, errlen);
}

bool
queue_heartbeat(struct db *db, const long long *tokens, size_t n,
    int lease_s, char *err, size_t errlen)
{
	char lease[DB_NUM_LEN];
	const char *p[2];
	struct buf arr;
	bool ok;

	if (n == 0)
		return true;
	buf_init(&arr);
	tokens_array(&arr, tokens, n);
	p[0] = db_param_ll(lease, lease_s);
	p[1] = buf_cstr(&arr);
	ok = db_exec1(db, "UPDATE submissions SET lease_expires_at = now() "
	    "+ make_interval(secs => $1::int) WHERE status = 'processing' "
	    "AND claim_token = ANY($2::bigint[])", 2, p, err, errlen);
	buf_free(&arr);
	return ok;
}

bool
queue_release(struct db *db, const struct job *job, char *err,
    size_t errlen)
{
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token) };

	/* Unstarted: the claim is not counted as an attempt. */
	return db_exec1(db, "UPDATE submissions SET status = 'pending', "
	    QUEUE_UNHELD ", attempts = greatest(attempts - 1, 0), "
	    "updated_at = now() WHERE id = $1 AND claim_token = $2 "
	    "AND status = 'processing'", 2, p, err, errlen);
}

bool
queue_rescue(struct db *db, const char *node, int max_attempts,
    int *rescued, int *quarantined, char *err, size_t errlen)
{
	/*
	 * A preparation cut short is not counted: ffmpeg runs in a child
	 * process under limits, so it cannot take the server down, and a
	 * file being prepared beside a poison pill must not be stopped for
	 * the pill's crashes.
	 *
	 * Each SET expression sees the row as it was: x.crashes is the count
	 * after this one, decided once. The rows whose lease expired are
	 * taken under FOR UPDATE SKIP LOCKED, so two rescuers (every node
	 * runs one) never count one crash twice.
	 */
	static const char sql[] =
	    "WITH x AS (SELECT id, crashes + (work_started_at IS NOT NULL "
	    "    AND phase <> 'prep')::int AS crashes FROM submissions "
	    "    WHERE status = 'processing' "
	    "    AND (node = $1 OR lease_expires_at < now()) "
	    "    FOR UPDATE SKIP LOCKED) "
	    "UPDATE submissions s SET crashes = x.crashes, "
	    "  status = CASE WHEN x.crashes >= $2::int THEN 'failed' "
	    "    ELSE 'pending' END, "
	    "  phase = CASE WHEN x.crashes >= $2::int THEN 'failed' "
	    "    ELSE s.phase END, "
	    "  error_message = CASE WHEN x.crashes >= $2::int THEN "
	    "    format('stopped after crashing the server %s times; retry "
	    "to try again', x.crashes) ELSE s.error_message END, "
	    "  completed_at = CASE WHEN x.crashes >= $2::int THEN now() "
	    "    ELSE NULL END, "
	    "  next_attempt_at = now(), " QUEUE_UNHELD ", updated_at = now() "
	    "FROM x WHERE s.id = x.id RETURNING s.id, s.status";
	char mx[DB_NUM_LEN];
	const char *p[2] = { node, db_param_ll(mx, max_attempts) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 2, p, err, errlen);
	int i, rows = r != NULL ? PQntuples(r) : 0;

	*rescued = *quarantined = 0;
	for (i = 0; i < rows; i++) {
		if (strcmp(db_get(r, i, "status"), "failed") == 0) {
			(*quarantined)++;
			log_warnx("submission=%lld stopped: its processing was "
			    "cut short %d times (max_attempts)",
			    db_get_ll(r, i, "id"), max_attempts);
		} else
			(*rescued)++;
	}
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
queue_release_worker(struct db *db, const char *worker, int *n, char *err,
    size_t errlen)
{
	const char *p[1] = { worker };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, "UPDATE submissions SET status = 'pending', "
	    QUEUE_UNHELD ", attempts = greatest(attempts - 1, 0), "
	    "next_attempt_at = now(), updated_at = now() "
	    "WHERE status = 'processing' AND worker_id = $1 RETURNING id", 1,
	    p, err, errlen);

	*n = r != NULL ? PQntuples(r) : 0;
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
queue_prep_done(struct db *db, const struct job *job, char *err,
    size_t errlen)
{
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token) };

	return queue_write_owned(db, "UPDATE submissions SET phase = 'stt', "
	    "status = 'pending', " QUEUE_UNHELD ", attempts = 0, crashes = 0, "
	    "retry_count = 0, error_message = NULL, next_attempt_at = now(), "
	    "audio_ready_at = now(), updated_at = now() WHERE id = $1 AND "
	    "claim_token = $2 AND phase = 'prep' AND status = 'processing' "
	    "RETURNING id", 2, p, job, err, errlen);
}

bool
queue_progress(struct db *db, const struct job *job, double fraction)
{
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN], fb[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token), db_param_double(fb, fraction) };

	return db_exec1(db, "UPDATE submissions SET stt_progress = $3 "
	    "WHERE id = $1 AND claim_token = $2", 3, p, NULL, 0);
}

bool
queue_counts(struct db *db, struct queue_counts *out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT "
	    "  count(*) FILTER (WHERE phase = 'stt' AND " CLAIMABLE ") "
	    "    AS stt_waiting, "
	    "  count(*) FILTER (WHERE phase = 'llm' AND " CLAIMABLE ") "
	    "    AS llm_waiting, "
	    "  count(*) FILTER (WHERE phase = 'prep' AND (status = "
	    "    'processing' OR " CLAIMABLE ")) AS prep_waiting, "
	    "  count(*) FILTER (WHERE phase = 'stt' AND status = 'retry' "
	    "    AND next_attempt_at > now()) AS stt_retrying, "
	    "  count(*) FILTER (WHERE phase = 'llm' AND status = 'retry' "
	    "    AND next_attempt_at > now()) AS llm_retrying, "
	    "  coalesce(extract(epoch FROM now() - min(greatest(created_at, "
	    "    next_attempt_at)) FILTER (WHERE phase = 'stt' AND "
	    CLAIMABLE ")), 0) AS stt_oldest_s "
	    "FROM submissions WHERE phase IN ('prep', 'stt', 'llm')";
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 0, NULL, err, errlen);

	memset(out, 0, sizeof(*out));
	if (r != NULL) {
		out->stt_waiting = (int)db_get_ll(r, 0, "stt_waiting");
		out->llm_waiting = (int)db_get_ll(r, 0, "llm_waiting");
		out->prep_waiting = (int)db_get_ll(r, 0, "prep_waiting");
		out->stt_retrying = (int)db_get_ll(r, 0, "stt_retrying");
		out->llm_retrying = (int)db_get_ll(r, 0, "llm_retrying");
		out->stt_oldest_s = db_get_double(r, 0, "stt_oldest_s");
	}
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
queue_write_owned(struct db *db, const char *sql, int n, const char *const *p,
    const struct job *job, char *err, size_t errlen)
{
	const char *sp[1] = { job->node };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, p, err, errlen);
	bool ok = r != NULL;

	if (ok && PQntuples(r) == 0) {
		ok = util_seterr(err, errlen, "submission %lld is no longer "
		    "held by this claim (taken over, cancelled or claimed "
		    "again); the result is dropped", job->id);
		log_warnx("submission=%lld claim=%lld: stale write dropped",
		    job->id, job->claim_token);
		if (!db_exec(c, "UPDATE system_state SET stale_writes = "
		    "stale_writes + 1 WHERE node = $1", 1, sp, NULL, 0))
			log_warnx("submission=%lld: stale write not counted",
			    job->id);
	}
	PQclear(r);
	db_release(db, c);
	return ok;
}

bool
queue_fail(struct db *db, const struct job *job, const char *message,
    bool retryable, int max_retries, char *err, size_t errlen)
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
	    "  error_message = $3, " QUEUE_UNHELD ", updated_at = now() "
	    "FROM x WHERE s.id = $1 AND s.claim_token = $2 "
	    "  AND s.status = 'processing' RETURNING s.status";
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN], mr[DB_NUM_LEN];
	const char *p[5] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token), message,
	    retryable ? "true" : "false", db_param_ll(mr, max_retries) };

	return queue_write_owned(db, sql, 5, p, job, err, errlen);
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
queue_cancel(struct db *db, long long id, const char *who, bool *found,
    char *err, size_t errlen)
{
	char idb[DB_NUM_LEN], msg[300];
	const char *p[2] = { db_param_ll(idb, id), msg };

	snprintf(msg, sizeof(msg), QUEUE_CANCELLED_PREFIX "%s", who);
	/* Clearing the claim makes the holder's outcome write a no-op. */
	return exec_action(db, "UPDATE submissions SET phase = 'failed', "
	    "status = 'failed', error_message = $2, " QUEUE_UNHELD ", "
	    "completed_at = now(), updated_at = now() "
	    "WHERE id = $1 AND phase IN ('prep', 'stt', 'llm') RETURNING id", 2,
	    p,
	    found, err, errlen);
}

bool
queue_retry(struct db *db, long long id, bool *found, char *err,
    size_t errlen)
{
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };

	/*
	 * A stored transcript is kept: only the evaluation is redone. One
	 * whose recording retention removed can only be evaluated again.
	 */
	return exec_action(db, "UPDATE submissions s SET phase = CASE WHEN "
	    "EXISTS (SELECT 1 FROM transcripts t WHERE t.submission_id = s.id) "
	    "THEN 'llm' ELSE 'prep' END, status = 'pending', retry_count = 0, "
	    "attempts = 0, crashes = 0, "
	    "error_message = NULL, next_attempt_at = now(), completed_at = NULL, "
	    "updated_at = now() WHERE id = $1 AND (phase = 'failed' OR "
	    "status = 'retry') AND (s.media_removed_at IS NULL OR EXISTS "
	    "(SELECT 1 FROM transcripts t WHERE t.submission_id = s.id)) "
	    "RETURNING id", 1, p, found, err, errlen);
}

bool
queue_set_priority(struct db *db, long long id, int priority, bool *found,
    char *err, size_t errlen)
{
	char idb[DB_NUM_LEN], pb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(idb, id), db_param_ll(pb, priority) };

	return exec_action(db, "UPDATE submissions SET priority = $2, "
	    "updated_at = now() WHERE id = $1 RETURNING id", 2, p, found, err,
	    errlen);
}

bool
queue_reevaluate(struct db *db, long long assignment_id, long long rubric_id,
    bool *found, int *queued, char *err, size_t errlen)
{
	/*
	 * One statement, so the assignment and its submissions change
	 * together. Evaluations are never touched: each keeps the version it
	 * was scored with, and the new one is added beside them.
	 */
	static const char sql[] =
	    "WITH a AS (UPDATE assignments SET rubric_id = $2, "
	    "  updated_at = now() WHERE id = $1 RETURNING id), "
	    "back AS (UPDATE submissions s SET rubric_id = $2, phase = 'llm', "
	    "  status = 'pending', priority = 0, retry_count = 0, "
	    "  attempts = 0, crashes = 0, error_message = NULL, "
	    "  next_attempt_at = now(), completed_at = NULL, "
	    "  llm_finished_at = NULL, " QUEUE_UNHELD ", updated_at = now() "
	    "  FROM a WHERE s.assignment_id = a.id AND s.phase = 'completed' "
	    "  AND s.status = 'completed' AND submission_counts(s.id) "
	    "  AND EXISTS (SELECT 1 FROM transcripts t "
	    "    WHERE t.submission_id = s.id) RETURNING s.id), "
	    "waiting AS (UPDATE submissions s SET rubric_id = $2, "
	    "  updated_at = now() FROM a WHERE s.assignment_id = a.id "
	    "  AND s.phase NOT IN ('completed', 'failed') "
	    "  AND s.status IN ('pending', 'retry') RETURNING s.id) "
	    "SELECT (SELECT count(*) FROM a) AS found, "
	    "  (SELECT count(*) FROM back) AS queued, "
	    "  (SELECT count(*) FROM waiting) AS waiting";
	char ab[DB_NUM_LEN], rb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(ab, assignment_id),
	    db_param_ll(rb, rubric_id) };
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 2, p, err, errlen);

	if (r != NULL) {
		*found = db_get_ll(r, 0, "found") > 0;
		*queued = (int)db_get_ll(r, 0, "queued");
		log_info("reevaluate assignment=%lld rubric=%lld queued=%d "
		    "waiting=%lld", assignment_id, rubric_id, *queued,
		    db_get_ll(r, 0, "waiting"));
	}
	PQclear(r);
	db_release(db, c);
	return r != NULL;
}

bool
queue_reevaluate_one(struct db *db, long long id, long long rubric_id,
    bool *found, char *err, size_t errlen)
{
	char idb[DB_NUM_LEN], rb[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(idb, id),
	    rubric_id > 0 ? db_param_ll(rb, rubric_id) : NULL };

	/* As queue_reevaluate, for one submission. */
	return exec_action(db, "UPDATE submissions s SET "
	    "rubric_id = coalesce($2::bigint, s.rubric_id), phase = 'llm', "
	    "status = 'pending', retry_count = 0, attempts = 0, crashes = 0, "
	    "error_message = NULL, next_attempt_at = now(), "
	    "completed_at = NULL, llm_finished_at = NULL, " QUEUE_UNHELD ", "
	    "updated_at = now() WHERE s.id = $1 AND s.phase = 'completed' "
	    "AND s.status = 'completed' AND EXISTS (SELECT 1 FROM "
	    "transcripts t WHERE t.submission_id = s.id) RETURNING s.id", 2,
	    p, found, err, errlen);
}

bool
queue_withdraw(struct db *db, long long id, const char *who, bool *found,
    char *err, size_t errlen)
{
	char idb[DB_NUM_LEN], msg[300];
	const char *p[2] = { db_param_ll(idb, id), msg };

	snprintf(msg, sizeof(msg), QUEUE_CANCELLED_PREFIX "%s", who);
	return exec_action(db, "WITH e AS (SELECT EXISTS (SELECT 1 FROM "
	    "evaluations WHERE submission_id = $1) AS had) "
	    "UPDATE submissions s SET "
	    "phase = CASE WHEN e.had THEN 'completed' ELSE 'failed' END, "
	    "status = CASE WHEN e.had THEN 'completed' ELSE 'failed' END, "
	    "error_message = CASE WHEN e.had THEN NULL ELSE $2 END, "
	    QUEUE_UNHELD ", completed_at = now(), updated_at = now() "
	    "FROM e WHERE s.id = $1 AND s.phase IN ('prep', 'stt', 'llm') "
	    "AND s.status IN ('pending', 'retry') AND s.claim_token IS NULL "
	    "RETURNING s.id", 2, p, found, err, errlen);
}
