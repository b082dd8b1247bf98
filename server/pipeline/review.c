/*
 * review: teachers' score adjustments (see review.h). An adjustment is
 * kept per (submission, criterion) and outlives re-evaluations; every
 * change is appended to score_audit. A change and its audit row are one
 * transaction that holds the submission's row, so two teachers adjusting
 * at once are serialised and each audit row's "before" is what the page
 * showed just before it. The final scores are computed in SQL only
 * (final_scores, sql/011_overrides.sql).
 */
#include "review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "util.h"

/* What the checks need, read under the submission's row lock. */
struct target {
	bool		 completed;
	bool		 scored;	/* has an evaluation */
	bool		 known;		/* the criterion is in the rubric */
	bool		 has_model;	/* the evaluation scores it */
	bool		 adjusted;	/* an adjustment exists */
	long long	 evaluation_id;
	long long	 min, max;
	long long	 model, current;
	char		 keys[256];	/* the rubric's criteria, for messages */
};

#define AUDIT_JSON \
	"SELECT coalesce(json_agg(json_build_object('id', a.id, " \
	"  'criterion', a.criterion, 'before', a.before_score, " \
	"  'after', a.after_score, 'model_score', a.model_score, " \
	"  'comment', a.comment, 'by', a.user_name, 'by_id', a.user_id, " \
	"  'at', iso_utc(a.created_at), 'evaluation_id', a.evaluation_id) " \
	"  ORDER BY a.id), '[]') FROM score_audit a " \
	"WHERE a.submission_id = $1"

static bool	 comment_ok(const char *, char *, size_t);
static bool	 read_target(PGconn *, const char *, const char *,
		    bool *, struct target *, char *, size_t);
static bool	 check_change(const struct target *,
		    const struct review_change *, char *, size_t);
static bool	 write_change(PGconn *, const char *,
		    const struct target *, const struct review_change *,
		    const char *, char *, size_t);
static char	*trimmed(const char *);
static bool	 plain_ascii(const char *);

static bool
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* A copy without surrounding blanks. */
static char *
trimmed(const char *s)
{
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	return xstrndup(s, n);
}

/*
 * A comment is required, valid UTF-8 (forms are not checked by
 * anything else before the database), without control characters
 * other than line breaks and tabs, and at most REVIEW_COMMENT_MAX
 * characters.
 */
static bool
comment_ok(const char *s, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	int more;

	if (*p == '\0')
		return util_seterr(err, errlen, "a comment is required: say "
		    "why the score changes (the student reads it)");
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 && *p != '\n' && *p != '\r' &&
			    *p != '\t')
				return util_seterr(err, errlen, "the comment "
				    "has control characters");
			more = 0;
		} else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			more = 1;
		else if ((*p & 0xf0) == 0xe0)
			more = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			more = 3;
		else
			return util_seterr(err, errlen, "the comment is not "
			    "valid text (UTF-8)");
		for (p++; more > 0; more--, p++)
			if ((*p & 0xc0) != 0x80)
				return util_seterr(err, errlen, "the comment "
				    "is not valid text (UTF-8)");
		chars++;
	}
	if (chars > REVIEW_COMMENT_MAX)
		return util_seterr(err, errlen, "the comment is %zu "
		    "characters long; keep it to %d", chars,
		    REVIEW_COMMENT_MAX);
	return true;
}

/* Locks the submission's row and reads what check_change needs. */
static bool
read_target(PGconn *c, const char *sid, const char *criterion, bool *found,
    struct target *t, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT s.phase = 'completed' AS completed, e.id AS evaluation_id, "
	    "  (r.definition #>> '{scale,min}')::bigint AS min, "
	    "  (r.definition #>> '{scale,max}')::bigint AS max, "
	    "  EXISTS (SELECT 1 FROM jsonb_array_elements(r.definition -> "
	    "    'criteria') k WHERE k ->> 'key' = $2::text) AS known, "
	    "  (SELECT string_agg(k ->> 'key', ', ') FROM "
	    "    jsonb_array_elements(r.definition -> 'criteria') k) AS keys, "
	    "  CASE WHEN jsonb_typeof(e.scores -> $2::text) = 'number' THEN "
	    "    round((e.scores -> $2::text)::numeric)::bigint END AS model, "
	    "  a.score AS adjusted "
	    "FROM submissions s "
	    "LEFT JOIN LATERAL (SELECT id, scores, rubric_id FROM evaluations "
	    "  WHERE submission_id = s.id ORDER BY created_at DESC, id DESC "
	    "  LIMIT 1) e ON true "
	    "LEFT JOIN rubrics r ON r.id = coalesce(s.rubric_id, e.rubric_id) "
	    "LEFT JOIN score_adjustments a ON a.submission_id = s.id "
	    "  AND a.criterion = $2::text "
	    "WHERE s.id = $1 FOR UPDATE OF s";
	const char *p[2] = { sid, criterion };
	PGresult *r;

	memset(t, 0, sizeof(*t));
	if ((r = db_query(c, sql, 2, p, err, errlen)) == NULL)
		return false;
	if ((*found = PQntuples(r) == 1)) {
		t->completed = strcmp(db_get(r, 0, "completed"), "t") == 0;
		t->scored = db_get(r, 0, "evaluation_id") != NULL;
		t->evaluation_id = db_get_ll(r, 0, "evaluation_id");
		t->known = strcmp(db_get(r, 0, "known"), "t") == 0;
		t->min = db_get_ll(r, 0, "min");
		t->max = db_get_ll(r, 0, "max");
		t->has_model = db_get(r, 0, "model") != NULL;
		t->model = db_get_ll(r, 0, "model");
		t->adjusted = db_get(r, 0, "adjusted") != NULL;
		t->current = t->adjusted ? db_get_ll(r, 0, "adjusted") :
		    t->model;
		snprintf(t->keys, sizeof(t->keys), "%s",
		    db_get(r, 0, "keys") != NULL ? db_get(r, 0, "keys") : "");
	}
	PQclear(r);
	return true;
}

static bool
check_change(const struct target *t, const struct review_change *ch,
    char *err, size_t errlen)
{
	if (!t->completed || !t->scored)
		return util_seterr(err, errlen, "this introduction has not "
		    "been scored yet: scores can be adjusted once it is done");
	if (!t->known)
		return util_seterr(err, errlen, "there is no criterion \"%s\" "
		    "in this introduction's rubric (it has: %s)",
		    ch->criterion, t->keys);
	if (!t->has_model)
		return util_seterr(err, errlen, "the model gave no score for "
		    "\"%s\", so there is none to adjust", ch->criterion);
	if (ch->to_model && !t->adjusted)
		return util_seterr(err, errlen, "\"%s\" has not been "
		    "adjusted: it already shows the model's score",
		    ch->criterion);
	if (!ch->to_model && (ch->score < t->min || ch->score > t->max))
		return util_seterr(err, errlen, "the score must be a whole "
		    "number from %lld to %lld", t->min, t->max);
	return true;
}

/* The adjustment, its audit row and the page's refresh, in the open
   transaction. */
static bool
write_change(PGconn *c, const char *sid, const struct target *t,
    const struct review_change *ch, const char *comment, char *err,
    size_t errlen)
{
	char score[DB_NUM_LEN], model[DB_NUM_LEN], before[DB_NUM_LEN];
	char eid[DB_NUM_LEN], uid[DB_NUM_LEN];
	const char *p[9] = { sid, ch->criterion,
	    ch->to_model ? NULL : db_param_ll(score, ch->score),
	    db_param_ll(model, t->model), db_param_ll(eid, t->evaluation_id),
	    comment, db_param_ll(uid, ch->user_id), ch->user_name,
	    db_param_ll(before, t->current) };

	if (ch->to_model) {
		if (!db_exec(c, "DELETE FROM score_adjustments WHERE "
		    "submission_id = $1 AND criterion = $2", 2, p, err,
		    errlen))
			return false;
	} else if (!db_exec(c, "INSERT INTO score_adjustments (submission_id, "
	    "criterion, score, model_score, evaluation_id, comment, "
	    "adjusted_by, adjusted_by_name) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, $8) ON CONFLICT (submission_id, criterion) DO UPDATE SET "
	    "score = EXCLUDED.score, model_score = EXCLUDED.model_score, "
	    "evaluation_id = EXCLUDED.evaluation_id, "
	    "comment = EXCLUDED.comment, adjusted_by = EXCLUDED.adjusted_by, "
	    "adjusted_by_name = EXCLUDED.adjusted_by_name, "
	    "adjusted_at = now()", 8, p, err, errlen))
		return false;
	return db_exec(c, "INSERT INTO score_audit (submission_id, criterion, "
	    "before_score, after_score, model_score, evaluation_id, user_id, "
	    "user_name, comment) VALUES ($1, $2, $9, $3, $4, $5, $7, $8, $6)",
	    9, p, err, errlen) &&
	    db_exec(c, "UPDATE submissions SET review_seq = review_seq + 1 "
	    "WHERE id = $1", 1, p, err, errlen);
}

enum review_outcome
review_adjust(struct db *db, long long submission_id,
    const struct review_change *ch, char *err, size_t errlen)
{
	enum review_outcome out = REVIEW_DB_ERROR;
	struct target t;
	char sid[DB_NUM_LEN], rb[256], *comment = trimmed(ch->comment != NULL ?
	    ch->comment : "");
	PGconn *c;
	bool found = false;

	/* Only text the database takes reaches it (keys are [a-z_]). */
	if (ch->criterion == NULL || strlen(ch->criterion) > 64 ||
	    !plain_ascii(ch->criterion)) {
		free(comment);
		util_seterr(err, errlen, "there is no such criterion in this "
		    "introduction's rubric");
		return REVIEW_REFUSED;
	}
	if (!comment_ok(comment, err, errlen)) {
		free(comment);
		return REVIEW_REFUSED;
	}
	db_param_ll(sid, submission_id);
	c = db_acquire(db);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen))
		goto out;
	if (!read_target(c, sid, ch->criterion, &found, &t, err, errlen))
		goto out;
	if (!found) {
		out = REVIEW_NO_SUBMISSION;
		goto out;
	}
	if (!check_change(&t, ch, err, errlen)) {
		out = REVIEW_REFUSED;
		goto out;
	}
	if (!write_change(c, sid, &t, ch, comment, err, errlen) ||
	    !db_exec(c, "COMMIT", 0, NULL, err, errlen))
		goto out;
	out = REVIEW_DONE;
	log_info("submission=%lld score adjusted criterion=%s before=%lld "
	    "after=%s%lld user=%lld", submission_id, ch->criterion,
	    t.current, ch->to_model ? "model:" : "", ch->to_model ? t.model :
	    ch->score, ch->user_id);
out:
	if (out != REVIEW_DONE && c != NULL &&
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		db_exec(c, "ROLLBACK", 0, NULL, rb, sizeof(rb));
	db_release(db, c);
	free(comment);
	return out;
}

bool
review_json(struct db *db, long long submission_id, bool staff,
    json_t **out, char *err, size_t errlen)
{
	/* Students see the adjusted score, the model's score beside it and
	   the teacher's words; the trail and the re-evaluation flag are
	   for staff. */
	static const char sql[] =
	    "WITH e AS (SELECT scores FROM evaluations WHERE submission_id = $1 "
	    "  ORDER BY created_at DESC, id DESC LIMIT 1), "
	    "a AS (SELECT jsonb_build_object('criterion', a.criterion, "
	    "    'score', a.score, 'model_score', e.scores -> a.criterion, "
	    "    'comment', a.comment, 'by', a.adjusted_by_name, "
	    "    'at', iso_utc(a.adjusted_at), "
	    /* An adjustment of a criterion the newest evaluation's rubric
	       version does not have: it belongs to the version it was made
	       under, named with that version's title. */
	    "    'in_current', coalesce(e.scores ? a.criterion, false), "
	    "    'rubric_version', ae.rubric_version, "
	    "    'criterion_title', (SELECT c ->> 'title' FROM rubrics ar, "
	    "      jsonb_array_elements(ar.definition -> 'criteria') c "
	    "      WHERE ar.id = ae.rubric_id AND c ->> 'key' = a.criterion "
	    "      LIMIT 1)) || CASE WHEN $2::boolean THEN "
	    "    jsonb_build_object('by_id', a.adjusted_by, "
	    "    'model_score_then', a.model_score, 'model_changed', "
	    "    (e.scores -> a.criterion) IS DISTINCT FROM "
	    "    to_jsonb(a.model_score), 'evaluation_id', a.evaluation_id) "
	    "    ELSE '{}' END AS j "
	    "  FROM score_adjustments a LEFT JOIN e ON true "
	    "  LEFT JOIN evaluations ae ON ae.id = a.evaluation_id "
	    "  WHERE a.submission_id = $1) "
	    "SELECT (jsonb_build_object('final', final_scores($1), "
	    "  'adjustments', coalesce((SELECT jsonb_agg(j ORDER BY "
	    "  j ->> 'criterion') FROM a), '[]')) "
	    "  || CASE WHEN $2::boolean THEN jsonb_build_object('audit', "
	    "  (" AUDIT_JSON ")) ELSE '{}' END)::text";
	char sid[DB_NUM_LEN];
	const char *p[2] = { db_param_ll(sid, submission_id),
	    staff ? "true" : "false" };

	*out = db_query_json(db, sql, 2, p, NULL, err, errlen);
	return *out != NULL;
}

bool
review_audit_json(struct db *db, long long submission_id, json_t **out,
    bool *found, char *err, size_t errlen)
{
	char sid[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(sid, submission_id) };

	*out = NULL;
	if (!db_exists(db, "SELECT 1 FROM submissions WHERE id = $1", 1, p,
	    found, err, errlen))
		return false;
	if (!*found)
		return true;
	*out = db_query_json(db, AUDIT_JSON, 1, p, NULL, err, errlen);
	return *out != NULL;
}
