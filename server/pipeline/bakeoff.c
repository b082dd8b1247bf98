/*
 * bakeoff: see bakeoff.h. The runs are rows claimed like submissions
 * (FOR UPDATE SKIP LOCKED), so several nodes may share one bake-off; a
 * node that restarts puts back what it had claimed (bakeoff_release_node
 * when it takes its node lock). The report is computed here from the
 * runs and final_scores(), with agree.c's statistics.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "agree.h"
#include "bakeoff.h"
#include "db.h"
#include "util.h"

static void	 model_figures(json_t *, const char *, json_t *, json_t *,
		    int, int);

bool
bakeoff_create(struct db *db, long long user_id, json_t *backends,
    int trials, long long assignment_id, int last_n, long long *id,
    char *err, size_t errlen)
{
	/*
	 * One statement: the bake-off and all its runs, or nothing. The
	 * selection is completed submissions with an evaluation; each run
	 * keeps the rubric that evaluation used, so the models answer the
	 * same rubric the teachers' final scores are on.
	 */
	static const char sql[] =
	    "WITH sel AS ("
	    "  SELECT s.id, (SELECT e.rubric_id FROM evaluations e "
	    "    WHERE e.submission_id = s.id ORDER BY e.created_at DESC, "
	    "    e.id DESC LIMIT 1) AS rubric_id "
	    "  FROM submissions s WHERE s.status = 'completed' "
	    "  AND EXISTS (SELECT 1 FROM evaluations e "
	    "    WHERE e.submission_id = s.id) "
	    "  AND ($4::bigint = 0 OR s.assignment_id = $4) "
	    "  AND ($5::int = 0 OR EXISTS (SELECT 1 FROM score_adjustments a "
	    "    WHERE a.submission_id = s.id)) "
	    "  ORDER BY s.created_at DESC, s.id DESC "
	    "  LIMIT CASE WHEN $5::int > 0 THEN $5::int ELSE NULL END), "
	    "b AS (INSERT INTO bakeoffs (created_by, trials, backends, "
	    "  selection) SELECT $1, $2, ARRAY(SELECT jsonb_array_elements_text("
	    "  $3::jsonb)), $6 WHERE EXISTS (SELECT 1 FROM sel) RETURNING id), "
	    "r AS (INSERT INTO bakeoff_runs (bakeoff_id, submission_id, "
	    "  backend, trial, rubric_id) SELECT b.id, sel.id, be.name, t, "
	    "  sel.rubric_id FROM b, sel, "
	    "  jsonb_array_elements_text($3::jsonb) AS be(name), "
	    "  generate_series(1, $2::int) AS t RETURNING 1) "
	    "SELECT b.id, (SELECT count(*) FROM r) AS runs FROM b";
	char ub[DB_NUM_LEN], tb[DB_NUM_LEN], ab[DB_NUM_LEN], nb[DB_NUM_LEN];
	char words[160], *names = json_dumps(backends, JSON_COMPACT);
	const char *p[6];
	bool ok;

	if (assignment_id > 0)
		snprintf(words, sizeof(words), "the completed submissions of "
		    "assignment %lld", assignment_id);
	else
		snprintf(words, sizeof(words), "the last %d completed "
		    "submissions with a teacher's adjustment", last_n);
	p[0] = user_id > 0 ? db_param_ll(ub, user_id) : NULL;
	p[1] = db_param_ll(tb, trials);
	p[2] = names;
	p[3] = db_param_ll(ab, assignment_id > 0 ? assignment_id : 0);
	p[4] = db_param_ll(nb, assignment_id > 0 ? 0 : last_n);
	p[5] = words;
	ok = db_query_id(db, sql, 6, p, id, err, errlen);
	free(names);
	if (ok && *id == 0)
		util_seterr(err, errlen, "no submission matches: %s need a "
		    "completed evaluation", words);
	return ok;
}

int
bakeoff_pending(struct db *db)
{
	static const char sql[] =
	    "SELECT count(*) FROM bakeoff_runs r JOIN bakeoffs b "
	    "ON b.id = r.bakeoff_id WHERE r.state = 'pending' "
	    "AND b.state = 'running'";
	char err[256];
	long long n = 0;

	if (!db_query_id(db, sql, 0, NULL, &n, err, sizeof(err)))
		return 0;
	return (int)n;
}

int
bakeoff_claim(struct db *db, const char *node, const char *backend,
    struct bakeoff_run *out, int max, char *err, size_t errlen)
{
	static const char sql[] =
	    "UPDATE bakeoff_runs SET state = 'running', node = $1, "
	    "  claimed_at = now() WHERE id IN (SELECT r.id FROM bakeoff_runs r "
	    "  JOIN bakeoffs b ON b.id = r.bakeoff_id "
	    "  WHERE r.state = 'pending' AND b.state = 'running' "
	    "  AND r.backend = $3 "
	    "  ORDER BY r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED) "
	    "RETURNING id, bakeoff_id, submission_id, "
	    "  coalesce(rubric_id, 0) AS rubric_id, backend, trial";
	char mb[DB_NUM_LEN];
	const char *p[3] = { node, db_param_ll(mb, max), backend };
	PGconn *c;
	PGresult *r;
	int i, n;

	if (max <= 0)
		return 0;
	c = db_acquire(db);
	r = db_query(c, sql, 3, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = db_get_ll(r, i, "id");
		out[i].bakeoff_id = db_get_ll(r, i, "bakeoff_id");
		out[i].submission_id = db_get_ll(r, i, "submission_id");
		out[i].rubric_id = db_get_ll(r, i, "rubric_id");
		out[i].trial = (int)db_get_ll(r, i, "trial");
		util_strlcpy(out[i].backend, db_get(r, i, "backend"),
		    sizeof(out[i].backend));
	}
	PQclear(r);
	return n;
}

bool
bakeoff_next_backend(struct db *db, char *out, size_t len)
{
	/* The oldest bake-off first; in it, its backends in their order. */
	static const char sql[] =
	    "SELECT r.backend FROM bakeoff_runs r JOIN bakeoffs b "
	    "ON b.id = r.bakeoff_id WHERE r.state = 'pending' "
	    "AND b.state = 'running' ORDER BY b.id, "
	    "array_position(b.backends, r.backend), r.id LIMIT 1";
	char err[256];
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, 0, NULL, err, sizeof(err));
	bool found;

	db_release(db, c);
	if (r == NULL)
		return false;
	found = PQntuples(r) > 0;
	if (found)
		util_strlcpy(out, db_get(r, 0, "backend"), len);
	PQclear(r);
	return found;
}

void
bakeoff_release_node(struct db *db, const char *node)
{
	static const char sql[] =
	    "UPDATE bakeoff_runs SET state = 'pending', node = NULL, "
	    "claimed_at = NULL WHERE state = 'running' AND node = $1";
	const char *p[1] = { node };
	char err[256];

	db_exec1(db, sql, 1, p, err, sizeof(err));
}

bool
bakeoff_finish(struct db *db, long long run_id, bool ok, bool invalid,
    const json_t *evaluation, const char *model, double latency_s,
    long eval_tokens, const char *error, char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH r AS (UPDATE bakeoff_runs SET state = $2, scores = $3::jsonb, "
	    "  overall = $4::float8, model = $5, invalid = $6, "
	    "  latency_s = $7::float8, eval_tokens = $8::bigint, error = $9, "
	    "  finished_at = now() WHERE id = $1 AND state = 'running' "
	    "  RETURNING bakeoff_id) "
	    "UPDATE bakeoffs b SET state = 'done', finished_at = now() "
	    "FROM r WHERE b.id = r.bakeoff_id AND b.state = 'running' "
	    "AND NOT EXISTS (SELECT 1 FROM bakeoff_runs x WHERE "
	    "  x.bakeoff_id = r.bakeoff_id AND x.id <> $1 "
	    "  AND x.state IN ('pending', 'running'))";
	char ib[DB_NUM_LEN], ob[DB_NUM_LEN], lb[DB_NUM_LEN], tb[DB_NUM_LEN];
	char *scores = NULL;
	const char *p[9];
	bool done;

	if (ok && evaluation != NULL)
		scores = json_dumps(json_object_get(evaluation, "scores"),
		    JSON_COMPACT);
	p[0] = db_param_ll(ib, run_id);
	p[1] = ok ? "done" : "failed";
	p[2] = scores;
	p[3] = ok && evaluation != NULL ? db_param_double(ob,
	    json_number_value(json_object_get(evaluation, "overall"))) : NULL;
	p[4] = model;
	p[5] = invalid ? "true" : "false";
	p[6] = db_param_double(lb, latency_s);
	p[7] = db_param_ll(tb, eval_tokens);
	p[8] = error != NULL ? error : "";
	done = db_exec1(db, sql, 9, p, err, errlen);
	free(scores);
	return done;
}

json_t *
bakeoff_list(struct db *db, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('id', b.id, "
	    "  'created_at', to_char(b.created_at AT TIME ZONE 'UTC', "
	    "  'YYYY-MM-DD HH24:MI \"UTC\"'), 'state', b.state, "
	    "  'trials', b.trials, 'backends', array_to_string(b.backends, "
	    "  ', '), 'selection', b.selection, "
	    "  'runs', (SELECT count(*) FROM bakeoff_runs r "
	    "    WHERE r.bakeoff_id = b.id), "
	    "  'done', (SELECT count(*) FROM bakeoff_runs r "
	    "    WHERE r.bakeoff_id = b.id AND r.state IN ('done', 'failed'))) "
	    "  ORDER BY b.id DESC), '[]') FROM bakeoffs b";

	return db_query_json(db, sql, 0, NULL, NULL, err, errlen);
}

json_t *
bakeoff_choices(struct db *db, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('assignments', coalesce((SELECT "
	    "  json_agg(json_build_object('id', a.id, 'label', c.code || ': ' "
	    "  || a.title, 'completed', n) ORDER BY c.code, a.id) FROM "
	    "  (SELECT a.id, a.course_id, a.title, (SELECT count(*) FROM "
	    "  submissions s WHERE s.assignment_id = a.id AND s.status = "
	    "  'completed') AS n FROM assignments a) a JOIN courses c "
	    "  ON c.id = a.course_id WHERE a.n > 0), '[]'), "
	    " 'adjusted', (SELECT count(DISTINCT a.submission_id) FROM "
	    "  score_adjustments a JOIN submissions s ON s.id = a.submission_id "
	    "  WHERE s.status = 'completed'))";

	return db_query_json(db, sql, 0, NULL, NULL, err, errlen);
}

bool
bakeoff_cancel(struct db *db, long long id, char *err, size_t errlen)
{
	static const char sql[] =
	    "UPDATE bakeoffs SET state = 'cancelled', finished_at = now() "
	    "WHERE id = $1 AND state = 'running'";
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };

	return db_exec1(db, sql, 1, p, err, errlen);
}

json_t *
bakeoff_report(struct db *db, long long id, bool *found, char *err,
    size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object("
	    " 'b', (SELECT json_build_object('id', id, 'state', state, "
	    "   'trials', trials, 'backends', backends, 'selection', selection, "
	    "   'created_at', to_char(created_at AT TIME ZONE 'UTC', "
	    "   'YYYY-MM-DD HH24:MI \"UTC\"'), 'finished_at', "
	    "   to_char(finished_at AT TIME ZONE 'UTC', "
	    "   'YYYY-MM-DD HH24:MI \"UTC\"')) FROM bakeoffs WHERE id = $1), "
	    " 'runs', (SELECT coalesce(json_agg(json_build_object("
	    "   'submission_id', submission_id, 'backend', backend, "
	    "   'trial', trial, 'state', state, 'scores', scores, "
	    "   'model', model, 'invalid', invalid, 'latency_s', latency_s, "
	    "   'eval_tokens', eval_tokens) ORDER BY id), '[]') "
	    "   FROM bakeoff_runs WHERE bakeoff_id = $1), "
	    " 'finals', (SELECT coalesce(json_object_agg(sid::text, "
	    "   final_scores(sid)->'scores'), '{}') FROM (SELECT DISTINCT "
	    "   submission_id AS sid FROM bakeoff_runs WHERE bakeoff_id = $1) "
	    "   s), "
	    " 'scale', (SELECT json_build_object('min', "
	    "   min((definition->'scale'->>'min')::int), 'max', "
	    "   max((definition->'scale'->>'max')::int)) FROM rubrics "
	    "   WHERE id IN (SELECT rubric_id FROM bakeoff_runs "
	    "   WHERE bakeoff_id = $1))) "
	    "WHERE EXISTS (SELECT 1 FROM bakeoffs WHERE id = $1)";
	char ib[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(ib, id) };
	json_t *j, *out, *models, *runs, *finals, *r, *be;
	int min, max, nruns = 0, ndone = 0, nfailed = 0;
	size_t i;

	if ((j = db_query_json(db, sql, 1, p, found, err, errlen)) == NULL)
		return NULL;
	out = json_deep_copy(json_object_get(j, "b"));
	runs = json_object_get(j, "runs");
	finals = json_object_get(j, "finals");
	min = (int)json_integer_value(json_object_get(json_object_get(j,
	    "scale"), "min"));
	max = (int)json_integer_value(json_object_get(json_object_get(j,
	    "scale"), "max"));
	json_array_foreach(runs, i, r) {
		const char *st = json_string_value(json_object_get(r,
		    "state"));

		nruns++;
		ndone += strcmp(st, "done") == 0;
		nfailed += strcmp(st, "failed") == 0;
	}
	models = json_array();
	json_array_foreach(json_object_get(out, "backends"), i, be)
		model_figures(models, json_string_value(be), runs, finals,
		    min, max);
	json_object_set_new(out, "runs", json_integer(nruns));
	json_object_set_new(out, "done", json_integer(ndone));
	json_object_set_new(out, "failed", json_integer(nfailed));
	json_object_set_new(out, "submissions", json_integer(
	    (json_int_t)json_object_size(finals)));
	json_object_set_new(out, "models", models);
	json_decref(j);
	return out;
}

/*
 * One backend's figures over its runs. Agreement pairs every criterion
 * score of every done run with the final score of the same submission
 * and criterion; stability is the standard deviation of a criterion's
 * score across a submission's trials, averaged.
 */
static void
model_figures(json_t *models, const char *backend, json_t *runs,
    json_t *finals, int min, int max)
{
	json_t *r, *sc, *v, *mae = json_object(), *fin, *crit_sum, *crit_n;
	json_t *m, *tr, *trials = json_object();
	int *a = NULL, *b = NULL, nruns = 0, ndone = 0, ninvalid = 0;
	size_t i, k, n = 0, cap = 0, nsd = 0;
	double lat = 0, toks = 0, secs = 0, sd = 0, *vals;
	const char *crit, *model = NULL;
	char key[96];

	crit_sum = json_object();
	crit_n = json_object();
	json_array_foreach(runs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "backend")),
		    backend) != 0)
			continue;
		nruns++;
		if (json_is_true(json_object_get(r, "invalid")))
			ninvalid++;
		if (strcmp(json_string_value(json_object_get(r, "state")),
		    "done") != 0)
			continue;
		ndone++;
		if (model == NULL)
			model = json_string_value(json_object_get(r, "model"));
		lat += json_number_value(json_object_get(r, "latency_s"));
		toks += json_number_value(json_object_get(r, "eval_tokens"));
		secs += json_number_value(json_object_get(r, "latency_s"));
		snprintf(key, sizeof(key), "%lld", (long long)
		    json_integer_value(json_object_get(r, "submission_id")));
		fin = json_object_get(finals, key);
		sc = json_object_get(r, "scores");
		json_object_foreach(sc, crit, v) {
			snprintf(key, sizeof(key), "%lld/%s", (long long)
			    json_integer_value(json_object_get(r,
			    "submission_id")), crit);
			if ((tr = json_object_get(trials, key)) == NULL)
				json_object_set_new(trials, key,
				    tr = json_array());
			json_array_append(tr, v);
			if (!json_is_number(json_object_get(fin, crit)))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				a = xrealloc(a, cap * sizeof(*a));
				b = xrealloc(b, cap * sizeof(*b));
			}
			a[n] = (int)json_integer_value(v);
			b[n] = (int)lround(json_number_value(
			    json_object_get(fin, crit)));
			json_object_set_new(crit_sum, crit, json_real(
			    json_number_value(json_object_get(crit_sum, crit)) +
			    abs(a[n] - b[n])));
			json_object_set_new(crit_n, crit, json_integer(
			    json_integer_value(json_object_get(crit_n, crit)) +
			    1));
			n++;
		}
	}
	json_object_foreach(trials, crit, tr) {
		vals = xcalloc(json_array_size(tr) + 1, sizeof(double));
		json_array_foreach(tr, k, v)
			vals[k] = json_number_value(v);
		sd += agree_stddev(vals, json_array_size(tr));
		nsd++;
		free(vals);
	}
	json_object_foreach(crit_sum, crit, v)
		json_object_set_new(mae, crit, json_real(round(100 *
		    json_number_value(v) / (double)json_integer_value(
		    json_object_get(crit_n, crit))) / 100));
	m = json_pack("{s:s, s:s?, s:i, s:i, s:i, s:f, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:I}", "backend", backend, "model", model,
	    "runs", nruns, "done", ndone, "invalid", ninvalid,
	    "invalid_rate", nruns > 0 ? (double)ninvalid / nruns : 0.0,
	    "mean_latency_s", ndone > 0 ? json_real(round(1000 * lat / ndone) /
	    1000) : json_null(),
	    "tokens_per_s", secs > 0 ? json_real(round(10 * toks / secs) / 10) :
	    json_null(),
	    "stability_sd", nsd > 0 ? json_real(round(1000 * sd /
	    (double)nsd) / 1000) : json_null(),
	    "mae", mae,
	    "mae_mean", n > 0 ? json_real(round(100 * agree_mae(a, b, n)) /
	    100) : json_null(),
	    "qwk", n > 0 && !isnan(agree_qwk(a, b, n, min, max)) ?
	    json_real(round(1000 * agree_qwk(a, b, n, min, max)) / 1000) :
	    json_null(), "compared", (json_int_t)n);
	json_array_append_new(models, m);
	json_decref(trials);
	json_decref(crit_sum);
	json_decref(crit_n);
	free(a);
	free(b);
}
