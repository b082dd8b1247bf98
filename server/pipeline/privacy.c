/*
 * privacy: see privacy.h. The export's JSON is built by PostgreSQL in
 * one statement, so it is one consistent snapshot; the recordings are
 * listed beside it for the caller to stream from disk.
 *
 * Carrying out a deletion: submissions still in the pipeline are
 * cancelled first (a worker holding one then finds its result fenced
 * off); the request row is locked FOR UPDATE so two admins cannot both
 * carry it out; the account's rows go by ON DELETE CASCADE in the same
 * transaction that closes the request; the files go after the commit,
 * since the rows are the truth (a crash in between leaves files no row
 * names, logged, never rows whose files are gone).
 */
#include "privacy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "retention.h"
#include "util.h"

#define ZIP_NAME_MAX	96

static void	 zip_name(const char *, long long, long long, char *,
		    size_t);
static bool	 cancel_running(struct db *, long long, char *, size_t);
static enum privacy_outcome delete_account(struct db *, long long,
		    long long, json_t **, json_t **, char *, size_t);

static const char export_sql[] =
    "SELECT json_build_object("
    " 'exported_at', iso_utc(now()),"
    " 'account', (SELECT json_build_object('id', u.id, 'email', u.email,"
    "   'name', u.name, 'role', u.role, 'disabled', u.disabled,"
    "   'created_at', iso_utc(u.created_at),"
    "   'courses', (SELECT coalesce(json_agg(json_build_object("
    "     'code', c.code, 'title', c.title, 'role', m.role,"
    "     'section', m.section) ORDER BY c.code), '[]') FROM"
    "     course_members m JOIN courses c ON c.id = m.course_id"
    "     WHERE m.user_id = u.id)) FROM users u WHERE u.id = $1),"
    " 'consent_acceptances', (SELECT coalesce(json_agg(json_build_object("
    "   'version', a.version, 'accepted_at', iso_utc(a.accepted_at),"
    "   'text', t.body) ORDER BY a.accepted_at), '[]') FROM"
    "   consent_acceptances a JOIN consent_texts t USING (version)"
    "   WHERE a.user_id = $1),"
    " 'submissions', (SELECT coalesce(json_agg(json_build_object("
    "   'id', s.id, 'ordinal', submission_ordinal(s.student_id, s.id),"
    "   'original_name', s.original_name, 'content_type', s.content_type,"
    "   'size_bytes', s.size_bytes, 'duration_s', s.duration_s,"
    "   'assignment', (SELECT json_build_object('id', x.id, 'title',"
    "     x.title, 'due_at', iso_utc(x.due_at)) FROM assignments x"
    "     WHERE x.id = s.assignment_id), 'late', s.late,"
    "   'phase', s.phase, 'status', s.status, 'error', s.error_message,"
    "   'created_at', iso_utc(s.created_at),"
    "   'completed_at', iso_utc(s.completed_at),"
    "   'recording_removed_at', iso_utc(s.media_removed_at),"
    "   'transcript', (SELECT json_build_object('engine', t.engine,"
    "     'text', t.text, 'words', t.words, 'metrics', t.metrics,"
    "     'created_at', iso_utc(t.created_at)) FROM transcripts t"
    "     WHERE t.submission_id = s.id),"
    "   'evaluations', (SELECT coalesce(json_agg(json_build_object("
    "     'id', e.id, 'model', e.model, 'scores', e.scores,"
    "     'overall', e.overall, 'feedback', e.feedback,"
    "     'strengths', e.strengths, 'improvements', e.improvements,"
    "     'evidence', e.evidence, 'created_at', iso_utc(e.created_at))"
    "     ORDER BY e.id), '[]') FROM evaluations e"
    "     WHERE e.submission_id = s.id),"
    "   'final', final_scores(s.id),"
    "   'adjustments', (SELECT coalesce(json_agg(json_build_object("
    "     'criterion', j.criterion, 'score', j.score, 'model_score',"
    "     j.model_score, 'comment', j.comment, 'by', j.adjusted_by_name,"
    "     'at', iso_utc(j.adjusted_at)) ORDER BY j.criterion), '[]')"
    "     FROM score_adjustments j WHERE j.submission_id = s.id),"
    "   'comments', (SELECT coalesce(json_agg(json_build_object("
    "     'id', c.id, 'at_s', c.at_s, 'body', c.body,"
    "     'author_name', au.name, 'created_at', iso_utc(c.created_at),"
    "     'reply', (SELECT json_build_object('body', r.body,"
    "       'created_at', iso_utc(r.created_at)) FROM comment_replies r"
    "       WHERE r.comment_id = c.id)) ORDER BY c.at_s, c.id), '[]')"
    "     FROM comments c JOIN users au ON au.id = c.author_id"
    "     WHERE c.submission_id = s.id)"
    "   ) ORDER BY s.id), '[]') FROM submissions s WHERE s.student_id = $1),"
    " 'deletion_requests', (SELECT coalesce(json_agg(json_build_object("
    "   'id', d.id, 'requested_at', iso_utc(d.requested_at)) ORDER BY"
    "   d.id), '[]') FROM deletion_requests d WHERE d.user_id = $1),"
    " 'files', (SELECT coalesce(json_agg(json_build_object("
    "   'submission_id', s.id, 'stored_name', s.stored_name,"
    "   'original_name', s.original_name,"
    "   'ordinal', submission_ordinal(s.student_id, s.id),"
    "   'created_at', extract(epoch FROM s.created_at)::bigint)"
    "   ORDER BY s.id), '[]') FROM submissions s WHERE s.student_id = $1"
    "   AND s.media_removed_at IS NULL)"
    ")::text";

/*
 * "recordings/introduction-2-17.mp4": the student's number for it, the
 * id, and the extension of the name it was uploaded under when that is
 * plain (letters and digits, at most 5), else ".bin".
 */
static void
zip_name(const char *original, long long ordinal, long long id, char *out,
    size_t outlen)
{
	const char *dot = strrchr(original, '.');
	char ext[8] = "bin";
	size_t i, n;

	if (dot != NULL && (n = strlen(dot + 1)) > 0 && n <= 5) {
		for (i = 0; i < n && isalnum((unsigned char)dot[1 + i]); i++)
			ext[i] = (char)tolower((unsigned char)dot[1 + i]);
		if (i == n)
			ext[n] = '\0';
		else
			util_strlcpy(ext, "bin", sizeof(ext));
	}
	snprintf(out, outlen, "recordings/introduction-%lld-%lld.%s", ordinal,
	    id, ext);
}

bool
privacy_export(struct db *db, long long user_id, json_t **data,
    json_t **files, char *err, size_t errlen)
{
	char ub[DB_NUM_LEN], name[ZIP_NAME_MAX], subject[64];
	const char *p[1] = { db_param_ll(ub, user_id) };
	json_t *all, *subs, *s, *f, *details;
	size_t i, j;

	*data = *files = NULL;
	if ((all = db_query_json(db, export_sql, 1, p, NULL, err,
	    errlen)) == NULL)
		return false;
	*files = json_incref(json_object_get(all, "files"));
	json_object_del(all, "files");
	subs = json_object_get(all, "submissions");
	json_array_foreach(subs, i, s)
		json_object_set_new(s, "recording_file", json_null());
	json_array_foreach(*files, j, f) {
		zip_name(json_string_value(json_object_get(f, "original_name")),
		    json_integer_value(json_object_get(f, "ordinal")),
		    json_integer_value(json_object_get(f, "submission_id")),
		    name, sizeof(name));
		json_object_set_new(f, "zip_name", json_string(name));
		json_array_foreach(subs, i, s)
			if (json_integer_value(json_object_get(s, "id")) ==
			    json_integer_value(json_object_get(f,
			    "submission_id")))
				json_object_set_new(s, "recording_file",
				    json_string(name));
	}
	*data = all;
	snprintf(subject, sizeof(subject), "user %lld", user_id);
	details = json_pack("{s:I, s:I}", "submissions", (json_int_t)
	    json_array_size(subs), "recordings", (json_int_t)
	    json_array_size(*files));
	if (!audit_write(db, NULL, user_id, "export.downloaded", subject,
	    details, err, errlen)) {
		json_decref(details);
		json_decref(*data);
		json_decref(*files);
		*data = *files = NULL;
		return false;
	}
	json_decref(details);
	return true;
}

enum privacy_outcome
privacy_request_deletion(struct db *db, long long user_id, json_t **out,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "INSERT INTO deletion_requests (user_id, email_sha256) SELECT "
	    "u.id, encode(sha256(convert_to(lower(u.email), 'UTF8')), 'hex') "
	    "FROM users u WHERE u.id = $1 ON CONFLICT (user_id) WHERE "
	    "done_at IS NULL DO NOTHING RETURNING id, iso_utc(requested_at) "
	    "AS requested_at";
	enum privacy_outcome rc = PRIVACY_DB_ERROR;
	char ub[DB_NUM_LEN], subject[64];
	const char *p[1] = { db_param_ll(ub, user_id) };
	json_t *details = NULL;
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;

	*out = NULL;
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen) ||
	    (r = db_query(c, sql, 1, p, err, errlen)) == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		rc = PRIVACY_DONE;
		util_seterr(err, errlen, "you have already asked for your "
		    "data to be deleted; an administrator will carry it out");
		goto out;
	}
	snprintf(subject, sizeof(subject), "user %lld", user_id);
	details = json_pack("{s:I}", "request", (json_int_t)db_get_ll(r, 0,
	    "id"));
	if (audit_write(db, c, user_id, "deletion.requested", subject,
	    details, err, errlen) && db_exec(c, "COMMIT", 0, NULL, err,
	    errlen)) {
		rc = PRIVACY_OK;
		*out = json_pack("{s:I, s:s}", "id", (json_int_t)db_get_ll(r,
		    0, "id"), "requested_at", db_get(r, 0, "requested_at"));
	}
out:
	if (rc != PRIVACY_OK)
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
	json_decref(details);
	PQclear(r);
	db_release(db, c);
	return rc;
}

bool
privacy_open_request(struct db *db, long long user_id, json_t **out,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce((SELECT json_build_object('id', id, "
	    "'requested_at', iso_utc(requested_at)) FROM deletion_requests "
	    "WHERE user_id = $1 AND done_at IS NULL), 'null')::text";
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user_id) };

	*out = db_query_json(db, sql, 1, p, NULL, err, errlen);
	return *out != NULL;
}

bool
privacy_requests(struct db *db, json_t **out, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(x ORDER BY x.open DESC, x.sort DESC), "
	    "'[]')::text FROM (SELECT d.id, d.user_id, u.name, u.email, "
	    "iso_utc(d.requested_at) AS requested_at, "
	    "iso_utc(d.done_at) AS done_at, d.done_by_name, d.removed, "
	    "d.done_at IS NULL AS open, coalesce(d.done_at, d.requested_at) "
	    "AS sort, (SELECT count(*) FROM submissions s WHERE s.student_id "
	    "= d.user_id) AS submissions, (SELECT count(*) FROM submissions s "
	    "WHERE s.student_id = d.user_id AND s.phase NOT IN ('completed', "
	    "'failed')) AS in_pipeline FROM deletion_requests d LEFT JOIN "
	    "users u ON u.id = d.user_id AND d.done_at IS NULL "
	    "ORDER BY d.done_at IS NULL DESC, coalesce(d.done_at, "
	    "d.requested_at) DESC LIMIT 200) x";

	*out = db_query_json(db, sql, 0, NULL, NULL, err, errlen);
	return *out != NULL;
}

/* Cancels user_id's submissions that are still in the pipeline. */
static bool
cancel_running(struct db *db, long long user_id, char *err, size_t errlen)
{
	char ub[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ub, user_id) };
	PGconn *c = db_acquire(db);
	PGresult *r;
	bool found, ok = true;
	int i;

	r = db_query(c, "SELECT id FROM submissions WHERE student_id = $1 "
	    "AND phase NOT IN ('completed', 'failed')", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return false;
	for (i = 0; ok && i < PQntuples(r); i++)
		ok = queue_cancel(db, db_get_ll(r, i, "id"), "an administrator "
		    "(the account is being deleted)", &found, err, errlen);
	PQclear(r);
	return ok;
}

/*
 * The transaction: lock and check the request, list the files, delete
 * the account, close the request, audit. *names: stored names to
 * remove once committed.
 */
static enum privacy_outcome
delete_account(struct db *db, long long id, long long admin_id,
    json_t **names, json_t **removed, char *err, size_t errlen)
{
	static const char lock[] = "SELECT d.user_id, d.done_at IS NOT NULL "
	    "AS done, (SELECT count(*) FROM submissions s WHERE s.student_id "
	    "= d.user_id) AS submissions, (SELECT count(*) FROM comments c "
	    "JOIN submissions s ON s.id = c.submission_id WHERE s.student_id "
	    "= d.user_id) AS comments, (SELECT coalesce(json_agg(n), '[]') "
	    "FROM (SELECT stored_name AS n FROM submissions WHERE student_id "
	    "= d.user_id UNION SELECT stored_name FROM uploads WHERE user_id "
	    "= d.user_id) q)::text AS names FROM deletion_requests d "
	    "WHERE d.id = $1 FOR UPDATE OF d";
	static const char close_req[] = "UPDATE deletion_requests SET "
	    "done_at = now(), done_by = u.id, done_by_name = u.name, "
	    "removed = $3::jsonb FROM users u WHERE deletion_requests.id = $1 "
	    "AND u.id = $2";
	enum privacy_outcome rc = PRIVACY_DB_ERROR;
	char ib[DB_NUM_LEN], ab[DB_NUM_LEN], ub[DB_NUM_LEN], subject[64];
	const char *p[3] = { db_param_ll(ib, id), db_param_ll(ab, admin_id) };
	char *text = NULL;
	long long user_id;
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;

	*names = *removed = NULL;
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen) ||
	    (r = db_query(c, lock, 1, p, err, errlen)) == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		rc = PRIVACY_NOT_FOUND;
		util_seterr(err, errlen, "there is no such deletion request");
		goto out;
	}
	if (strcmp(db_get(r, 0, "done"), "t") == 0) {
		rc = PRIVACY_DONE;
		util_seterr(err, errlen, "this request was carried out "
		    "already");
		goto out;
	}
	user_id = db_get_ll(r, 0, "user_id");
	*names = json_loads(db_get(r, 0, "names"), 0, NULL);
	*removed = json_pack("{s:I, s:I, s:I}", "submissions", (json_int_t)
	    db_get_ll(r, 0, "submissions"), "comments", (json_int_t)
	    db_get_ll(r, 0, "comments"), "user_id", (json_int_t)user_id);
	text = json_dumps(*removed, JSON_COMPACT);
	p[0] = db_param_ll(ub, user_id);
	if (!db_exec(c, "DELETE FROM users WHERE id = $1 AND role = "
	    "'student'", 1, p, err, errlen))
		goto out;
	p[0] = ib;
	p[2] = text;
	snprintf(subject, sizeof(subject), "user %lld", user_id);
	if (db_exec(c, close_req, 3, p, err, errlen) && audit_write(db, c,
	    admin_id, "deletion.carried_out", subject, *removed, err,
	    errlen) && db_exec(c, "COMMIT", 0, NULL, err, errlen))
		rc = PRIVACY_OK;
out:
	if (rc != PRIVACY_OK) {
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
		json_decref(*names);
		json_decref(*removed);
		*names = *removed = NULL;
	}
	free(text);
	PQclear(r);
	db_release(db, c);
	return rc;
}

enum privacy_outcome
privacy_carry_out(struct db *db, const char *uploads_dir, long long id,
    long long admin_id, json_t **out, char *err, size_t errlen)
{
	static const char who[] = "SELECT user_id FROM deletion_requests "
	    "WHERE id = $1 AND done_at IS NULL";
	enum privacy_outcome rc;
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	json_t *names, *n;
	long long bytes = 0, files = 0, before;
	PGconn *c = db_acquire(db);
	PGresult *r;
	size_t i;

	*out = NULL;
	r = db_query(c, who, 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return PRIVACY_DB_ERROR;
	if (PQntuples(r) == 1 && !cancel_running(db, db_get_ll(r, 0,
	    "user_id"), err, errlen)) {
		PQclear(r);
		return PRIVACY_DB_ERROR;
	}
	PQclear(r);
	if ((rc = delete_account(db, id, admin_id, &names, out, err,
	    errlen)) != PRIVACY_OK)
		return rc;
	json_array_foreach(names, i, n) {
		before = bytes;
		retention_remove_files(uploads_dir, json_string_value(n),
		    &bytes);
		files += bytes > before;
	}
	json_object_set_new(*out, "files", json_integer(files));
	json_object_set_new(*out, "bytes", json_integer(bytes));
	log_info("deletion request=%lld carried out by user=%lld: %lld "
	    "submission(s), %lld file group(s), %lld bytes", id, admin_id,
	    (long long)json_integer_value(json_object_get(*out,
	    "submissions")), files, bytes);
	json_decref(names);
	return PRIVACY_OK;
}
