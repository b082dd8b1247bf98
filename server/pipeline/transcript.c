/*
 * transcript: the transcripts table. A transcript is stored in the same
 * statement that moves its submission from STT to the LLM queue, and only
 * while the storing claim still holds the row (queue_write_owned), so a
 * restart never transcribes a submission twice.
 */
#include "transcript.h"

#include <stdlib.h>

#include "db.h"
#include "queue.h"
#include "util.h"

bool
transcript_save(struct db *db, const struct job *job, const char *engine,
    const char *text, json_t *words, json_t *metrics,
    double audio_s, double decode_s, char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH s AS (UPDATE submissions SET phase = 'llm', "
	    "  status = 'pending', " QUEUE_UNHELD ", attempts = 0, "
	    "  crashes = 0, retry_count = 0, error_message = NULL, "
	    "  next_attempt_at = now(), stt_finished_at = now(), "
	    "  updated_at = now() "
	    "  WHERE id = $1 AND claim_token = $2 AND phase = 'stt' "
	    "    AND status = 'processing' RETURNING id) "
	    "INSERT INTO transcripts (submission_id, engine, text, words, "
	    "  metrics, audio_s, decode_s) "
	    "SELECT id, $3, $4, $5::jsonb, $6::jsonb, $7, $8 FROM s "
	    "ON CONFLICT (submission_id) DO UPDATE SET engine = $3, "
	    "  text = $4, words = $5::jsonb, metrics = $6::jsonb, "
	    "  audio_s = $7, decode_s = $8, created_at = now() "
	    "RETURNING submission_id";
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN], ab[DB_NUM_LEN], db_[DB_NUM_LEN];
	char *w = json_dumps(words, JSON_COMPACT | JSON_REAL_PRECISION(6));
	char *m = metrics != NULL ? json_dumps(metrics, JSON_COMPACT |
	    JSON_REAL_PRECISION(6)) : NULL;
	const char *p[8] = { db_param_ll(idb, job->id),
	    db_param_ll(tok, job->claim_token), engine, text, w, m,
	    db_param_double(ab, audio_s), db_param_double(db_, decode_s) };
	bool ok;

	ok = queue_write_owned(db, sql, 8, p, job, err, errlen);
	free(w);
	free(m);
	return ok;
}

bool
transcript_get(struct db *db, long long id, char **text, json_t **metrics,
    char *err, size_t errlen)
{
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
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
transcript_words(struct db *db, long long id, json_t **words, char *err,
    size_t errlen)
{
	static const char sql[] = "SELECT coalesce((SELECT words FROM "
	    "transcripts WHERE submission_id = $1), '[]')::text";
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
	bool found;

	*words = db_query_json(db, sql, 1, p, &found, err, errlen);
	return *words != NULL;
}
