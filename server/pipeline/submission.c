/*
 * submission: submissions as pages and the API read them, built by
 * PostgreSQL (json_build_object), so field names and types are decided
 * in one place: the queries below.
 */
#include "submission.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

bool
submission_json(struct db *db, long long id, json_t **out, bool *found,
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
	    "  'review_seq', s.review_seq, "
	    "  'ordinal', submission_ordinal(s.student_id, s.id), "
	    "  'course_id', s.course_id, 'assignment_id', s.assignment_id, "
	    "  'assignment_title', (SELECT a.title FROM assignments a "
	    "    WHERE a.id = s.assignment_id), 'late', s.late, "
	    "  'counts', submission_counts(s.id), "
	    "  'error', s.error_message, "
	    "  'created_at', iso_utc(s.created_at), "
	    "  'updated_at', iso_utc(s.updated_at), "
	    "  'completed_at', iso_utc(s.completed_at), "
	    "  'media_removed_at', iso_utc(s.media_removed_at), "
	    "  'media_retention_days', s.media_retention_days, "
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
	    "    'provenance', e.provenance, 'evidence', e.evidence, "
	    "    'rubric_id', e.rubric_id, 'rubric_version', e.rubric_version, "
	    "    'created_at', iso_utc(e.created_at)) FROM evaluations e "
	    "    WHERE e.submission_id = s.id "
	    "    ORDER BY e.created_at DESC, e.id DESC LIMIT 1), "
	    /* The rubric version of the evaluation shown (newest); before
	       the first, the one the submission will be scored with. */
	    "  'rubric', (SELECT r.definition || jsonb_build_object('id', r.id, "
	    "    'name', r.name, 'version', r.version, "
	    "    'min', r.definition -> 'scale' -> 'min', "
	    "    'max', r.definition -> 'scale' -> 'max') "
	    "    FROM rubrics r WHERE r.id = coalesce((SELECT e.rubric_id "
	    "    FROM evaluations e WHERE e.submission_id = s.id "
	    "    ORDER BY e.created_at DESC, e.id DESC LIMIT 1), s.rubric_id))"
	    ")::text FROM submissions s JOIN users u ON u.id = s.student_id "
	    "WHERE s.id = $1";
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };

	*out = db_query_json(db, sql, 1, p, found, err, errlen);
	return *out != NULL || !*found;
}

/*
 * $1 student (0: everyone's), $2 limit, $3 assignment (0: any), $4 and
 * $5 the viewer's id and role (0: no check; else submission_visible),
 * then the filters of struct submission_filter, each NULL for any: $6
 * course (the assignment's, else the one recorded at upload), $7 status,
 * $8 phase, $9 and $10 created at or after / before, $11 and $12 the
 * cursor (rows strictly older than that created_at in microseconds and
 * id). Newest first by (created_at, id), which the cursor follows; each
 * row carries its cursor_us for the caller to build the next cursor. A
 * row that no longer counts (submission_counts, sql/014) names the
 * introduction that superseded it: the latest that counts.
 */
static const char list_sql[] =
    "SELECT coalesce(json_agg(x ORDER BY x.cursor_us DESC, x.id DESC), "
    "  '[]')::text FROM ("
    "  SELECT s.id, s.student_id, u.name AS student_name, "
    "    s.original_name, s.phase, s.status, s.priority, "
    "    submission_ordinal(s.student_id, s.id) AS ordinal, "
    "    s.error_message AS error, s.assignment_id, s.late, "
    "    a.title AS assignment_title, "
    "    coalesce(a.course_id, s.course_id) AS course_id, "
    "    (SELECT submission_ordinal(o.student_id, o.id) FROM submissions o "
    "      WHERE NOT submission_counts(s.id) "
    "      AND o.assignment_id = s.assignment_id "
    "      AND o.student_id = s.student_id AND o.id > s.id "
    "      AND submission_counts(o.id) ORDER BY o.id DESC LIMIT 1) "
    "      AS superseded_by, "
    "    iso_utc(s.created_at) AS created_at, "
    "    iso_utc(s.completed_at) AS completed_at, "
    "    round((final_scores(s.id) ->> 'overall')::numeric, 1) "
    "      AS overall, "
    "    (extract(epoch FROM s.created_at) * 1000000)::bigint AS cursor_us "
    "  FROM submissions s JOIN users u ON u.id = s.student_id "
    "  LEFT JOIN assignments a ON a.id = s.assignment_id "
    "  WHERE ($1::bigint = 0 OR s.student_id = $1::bigint) "
    "  AND ($3::bigint = 0 OR s.assignment_id = $3::bigint) "
    "  AND ($4::bigint = 0 OR submission_visible(s.id, $4, $5)) "
    "  AND ($6::bigint IS NULL "
    "    OR coalesce(a.course_id, s.course_id) = $6::bigint) "
    "  AND ($7::text IS NULL OR s.status = $7::text) "
    "  AND ($8::text IS NULL OR s.phase = $8::text) "
    "  AND ($9::timestamptz IS NULL OR s.created_at >= $9::timestamptz) "
    "  AND ($10::timestamptz IS NULL OR s.created_at < $10::timestamptz) "
    "  AND ($11::bigint IS NULL OR (s.created_at, s.id) < "
    "    (timestamptz 'epoch' + $11::bigint * interval '1 microsecond', "
    "    $12::bigint)) "
    "  ORDER BY s.created_at DESC, s.id DESC LIMIT $2::int) x";

static bool	 list_query(struct db *, long long, long long, const char *,
		    const struct submission_filter *, json_t **, char *,
		    size_t);

static bool
list_query(struct db *db, long long student, long long viewer,
    const char *role, const struct submission_filter *f, json_t **out,
    char *err, size_t errlen)
{
	char sid[DB_NUM_LEN], lim[DB_NUM_LEN], aid[DB_NUM_LEN], vb[DB_NUM_LEN];
	char cid[DB_NUM_LEN], us[DB_NUM_LEN], after[DB_NUM_LEN];
	const char *p[12] = { db_param_ll(sid, student),
	    db_param_ll(lim, f->limit), db_param_ll(aid, f->assignment_id),
	    db_param_ll(vb, viewer), role,
	    f->course_id > 0 ? db_param_ll(cid, f->course_id) : NULL,
	    f->status, f->phase, f->since, f->until,
	    f->after_id > 0 ? db_param_ll(us, f->after_us) : NULL,
	    f->after_id > 0 ? db_param_ll(after, f->after_id) : NULL };

	*out = db_query_json(db, list_sql, 12, p, NULL, err, errlen);
	return *out != NULL;
}

bool
submission_list(struct db *db, long long viewer, const char *role,
    int limit, json_t **out, char *err, size_t errlen)
{
	struct submission_filter f = { .limit = limit };

	return submission_list_where(db, viewer, role, &f, out, err, errlen);
}

bool
submission_list_where(struct db *db, long long viewer, const char *role,
    const struct submission_filter *f, json_t **out, char *err,
    size_t errlen)
{
	bool student = strcmp(role, "student") == 0;

	/* A student lists only their own, whatever student_id says. */
	if (student && f->student_id > 0 && f->student_id != viewer) {
		*out = json_array();
		return true;
	}
	return list_query(db, student ? viewer : f->student_id, viewer, role,
	    f, out, err, errlen);
}

bool
submission_visible(struct db *db, long long id, long long viewer,
    const char *role, bool *visible, char *err, size_t errlen)
{
	char ib[DB_NUM_LEN], vb[DB_NUM_LEN];
	const char *p[3] = { db_param_ll(ib, id), db_param_ll(vb, viewer),
	    role };

	return db_exists(db, "SELECT 1 WHERE submission_visible($1::bigint, "
	    "$2::bigint, $3)", 3, p, visible, err, errlen);
}

bool
submission_list_for(struct db *db, long long student_id,
    long long assignment_id, json_t **out, char *err, size_t errlen)
{
	struct submission_filter f = { .limit = 200,
	    .assignment_id = assignment_id };

	return list_query(db, student_id, 0, "", &f, out, err, errlen);
}

bool
submission_media(struct db *db, long long id, struct submission_media *out,
    bool *found, char *err, size_t errlen)
{
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
	PGconn *c;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	*found = false;
	c = db_acquire(db);
	r = db_query(c, "SELECT student_id, stored_name, coalesce(content_type, "
	    "'application/octet-stream') AS content_type, "
	    "coalesce(to_char(media_removed_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD'), '') AS removed_on FROM submissions WHERE id = $1",
	    1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	if (PQntuples(r) == 1) {
		*found = true;
		out->student_id = db_get_ll(r, 0, "student_id");
		snprintf(out->stored_name, sizeof(out->stored_name), "%s",
		    db_get(r, 0, "stored_name"));
		snprintf(out->content_type, sizeof(out->content_type), "%s",
		    db_get(r, 0, "content_type"));
		snprintf(out->removed_on, sizeof(out->removed_on), "%s",
		    db_get(r, 0, "removed_on"));
	}
	PQclear(r);
	return true;
}
