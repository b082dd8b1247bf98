/*
 * evaluation: the evaluations table. An evaluation is stored in the same
 * statement that completes its submission, only while the storing
 * claim still holds the row (queue_write_owned).
 */
#include "evaluation.h"

#include <stdlib.h>

#include "align.h"
#include "db.h"
#include "queue.h"
#include "stt.h"
#include "transcript.h"
#include "util.h"

static json_t	*evidence_of(json_t *quotes, json_t *words);

bool
evaluation_save(struct db *db, const struct job *job,
    const struct evaluation_result *res, char *err, size_t errlen)
{
	/* Provenance and ensemble detail come out of the evaluation JSON
	   (evaluation.h documents its shape), so they are stored as
	   produced. */
	static const char sql[] =
	    "WITH s AS (UPDATE submissions SET phase = 'completed', "
	    "  status = 'completed', " QUEUE_UNHELD ", "
	    "  error_message = NULL, llm_finished_at = now(), "
	    "  completed_at = now(), updated_at = now() "
	    "  WHERE id = $1 AND claim_token = $2 AND phase = 'llm' "
	    "    AND status = 'processing' RETURNING id, rubric_id), "
	    "e AS (SELECT $5::jsonb AS v) "
	    "INSERT INTO evaluations (submission_id, rubric_id, backend, model, "
	    "  scores, overall, feedback, strengths, improvements, "
	    "  prompt_tokens, eval_tokens, llm_s, backend_url, model_digest, "
	    "  options, rubric_version, prompt_sha256, mode, needs_review, "
	    "  ensemble, provenance, evidence) "
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
	    "  e.v -> 'models', e.v -> 'provenance', $9::jsonb "
	    "FROM s, e RETURNING id";
	char idb[DB_NUM_LEN], tok[DB_NUM_LEN], pt[DB_NUM_LEN], et[DB_NUM_LEN], ls[DB_NUM_LEN];
	char *ev, *evid;
	const char *p[9];
	json_t *words, *evidence;
	bool ok;

	if (res->evaluation == NULL)
		return util_seterr(err, errlen, "no evaluation to store "
		    "for submission %lld", job->id);
	if (!transcript_words(db, job->id, &words, err, errlen))
		return false;
	evidence = evidence_of(json_object_get(res->evaluation, "quotes"),
	    words);
	json_decref(words);
	evid = json_dumps(evidence, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(evidence);
	ev = json_dumps(res->evaluation, JSON_COMPACT |
	    JSON_REAL_PRECISION(6));
	p[0] = db_param_ll(idb, job->id);
	p[1] = db_param_ll(tok, job->claim_token);
	p[2] = res->backend != NULL ? res->backend : "";
	p[3] = res->model != NULL ? res->model : "";
	p[4] = ev;
	p[5] = db_param_ll(pt, res->prompt_tokens);
	p[6] = db_param_ll(et, res->eval_tokens);
	p[7] = db_param_double(ls, res->llm_s);
	p[8] = evid;
	ok = ev != NULL && evid != NULL && queue_write_owned(db, sql, 9, p,
	    job, err, errlen);
	free(ev);
	free(evid);
	return ok;
}

/*
 * Each criterion's quote located in the timed transcript (align.h):
 * {key: {"quote", "start", "end", "verified": true}} when found, with
 * start and end null and verified false when not. A quote the student
 * did not say is kept for staff, never played as if they had.
 */
static json_t *
evidence_of(json_t *quotes, json_t *words)
{
	struct stt_result tr = { 0 };
	struct align_match m;
	json_t *out = json_object(), *q;
	const char *key;

	stt_words_from_json(words, &tr);
	json_object_foreach(quotes, key, q) {
		if (align_quote(tr.words, tr.nwords, json_string_value(q), &m))
			json_object_set_new(out, key, json_pack("{s:O, s:f, "
			    "s:f, s:b}", "quote", q, "start", m.start_s,
			    "end", m.end_s, "verified", 1));
		else
			json_object_set_new(out, key, json_pack("{s:O, s:n, "
			    "s:n, s:b}", "quote", q, "start", "end",
			    "verified", 0));
	}
	stt_result_free(&tr);
	return out;
}

bool
evaluation_evidence_stats(struct db *db, json_t **out, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('backend', backend, "
	    "  'quotes', quotes, 'unverified', unverified) ORDER BY backend), "
	    "  '[]')::text FROM (SELECT e.backend, count(*) AS quotes, "
	    "  count(*) FILTER (WHERE NOT coalesce((q.v ->> 'verified')"
	    "    ::boolean, false)) AS unverified "
	    "  FROM evaluations e, jsonb_each(e.evidence) q(k, v) "
	    "  WHERE e.evidence IS NOT NULL GROUP BY e.backend) x";
	bool found;

	*out = db_query_json(db, sql, 0, NULL, &found, err, errlen);
	return *out != NULL;
}
