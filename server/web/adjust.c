/*
 * adjust: teachers' score adjustments on the web (see adjust.h). The
 * handlers parse, call review_adjust (the checks and the transaction are
 * there) and answer; the router has already let only staff in and
 * checked the CSRF token. adjust_view turns the submission JSON's
 * "final", "adjustments" and "audit" (review_json) into what the
 * partials review_criterion and review_audit show.
 */
#include "adjust.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "pages.h"
#include "review.h"
#include "util.h"

#define FORM_COMMENT_MAX	(REVIEW_COMMENT_MAX * 4 + 64)	/* bytes */

static int	 outcome_status(enum review_outcome);
static json_t	*find_by(json_t *, const char *, const char *);
static void	 criterion_view(json_t *, json_t *, json_t *, bool,
		    json_t *);
static json_t	*score_options(json_int_t, json_int_t, json_t *, json_t *);
static void	 audit_view(json_t *, json_t *);
static void	 old_adjustments_view(json_t *, json_t *);
static json_t	*text_or_false(json_t *);

/* A copy of a string, or false: no field of the view is left unset. */
static json_t *
text_or_false(json_t *v)
{
	return json_is_string(v) ? json_incref(v) : json_false();
}

static int
outcome_status(enum review_outcome o)
{
	switch (o) {
	case REVIEW_DONE:
		return 200;
	case REVIEW_REFUSED:
		return 400;
	case REVIEW_NO_SUBMISSION:
		return 404;
	case REVIEW_DB_ERROR:
		break;
	}
	return 503;
}

int
adjust_api_scores(struct req *r)
{
	struct review_change ch = { .user_id = r->user.id,
	    .user_name = r->user.name };
	char err[512];
	json_t *body, *score = NULL, *out;
	const char *comment = "";
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (json_unpack(body, "{s:s, s:o, s?s}", "criterion", &ch.criterion,
	    "score", &score, "comment", &comment) != 0 ||
	    !(json_is_integer(score) || json_is_null(score))) {
		status = http_error_member(r, 400, body,
		    !json_is_string(json_object_get(body, "criterion")) ?
		    "criterion" : !(json_is_integer(score) ||
		    json_is_null(score)) ? "score" : "comment",
		    "send {\"criterion\": KEY, \"score\": a whole number (or "
		    "null for the model's score), \"comment\": why}");
		json_decref(body);
		return status;
	}
	ch.to_model = json_is_null(score);
	ch.score = json_integer_value(score);
	ch.comment = comment;
	status = outcome_status(review_adjust(r->app->db, r->id, &ch, err,
	    sizeof(err)));
	json_decref(body);
	if (status == 503)
		return http_db_error(r);
	if (status == 404)
		return http_error(r, 404, "no such submission");
	if (status != 200)
		return http_error_code(r, status, "invalid", NULL, "%s", err);
	if (!review_json(r->app->db, r->id, true, &out, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, out);
}

int
adjust_api_audit(struct req *r)
{
	char err[512];
	json_t *audit;
	bool found;

	if (!review_audit_json(r->app->db, r->id, &audit, &found, err,
	    sizeof(err)))
		return http_db_error(r);
	if (!found)
		return http_error(r, 404, "no such submission");
	return http_json(r, 200, json_pack("{s:o}", "audit", audit));
}

/*
 * A refused form shows the result page again (400) with the words next
 * to the criterion's form and the comment as typed; a stored change
 * goes back to the page (303), which shows it.
 */
int
adjust_page_scores(struct req *r)
{
	struct review_change ch = { .user_id = r->user.id,
	    .user_name = r->user.name };
	char criterion[80] = "", score[32] = "", err[512], loc[128];
	char *body, *comment = xmalloc(FORM_COMMENT_MAX), *end;
	json_t *flash;
	bool too_long;
	int status;

	comment[0] = '\0';
	if (!http_read_form(r, &body)) {
		free(comment);
		return 403;
	}
	http_form_get(body, "criterion", criterion, sizeof(criterion));
	http_form_get(body, "score", score, sizeof(score));
	/* Only a comment too long for the buffer fails to decode. */
	too_long = !http_form_get(body, "comment", comment,
	    FORM_COMMENT_MAX) && strstr(body, "comment=") != NULL;
	if (too_long)
		comment[0] = '\0';
	free(body);
	ch.criterion = criterion;
	ch.comment = comment;
	ch.to_model = strcmp(score, "model") == 0;
	ch.score = strtoll(score, &end, 10);
	if (!ch.to_model && (score[0] == '\0' || *end != '\0'))
		ch.score = LLONG_MIN;	/* outside every scale: refused */
	if (too_long) {
		status = 400;
		snprintf(err, sizeof(err), "the comment is longer than %d "
		    "characters", REVIEW_COMMENT_MAX);
	} else
		status = outcome_status(review_adjust(r->app->db, r->id, &ch,
		    err, sizeof(err)));
	if (status == 200) {
		free(comment);
		snprintf(loc, sizeof(loc), "/submissions/%lld#criterion-%s",
		    r->id, criterion);
		return http_redirect(r, loc, NULL);
	}
	if (status != 400) {
		free(comment);
		return status == 404 ? http_error(r, 404, "no such "
		    "submission") : http_db_error(r);
	}
	flash = json_pack("{s:s, s:s, s:s}", "criterion", criterion,
	    "comment", comment, "error", err);
	free(comment);
	if (flash == NULL)	/* not UTF-8: nothing of it can be shown */
		flash = json_pack("{s:s, s:s}", "criterion", criterion,
		    "error", err);
	return pages_submission_with(r, 400, flash);
}

/* The element of array a whose string member key equals value. */
static json_t *
find_by(json_t *a, const char *key, const char *value)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
		if (value != NULL && json_is_string(json_object_get(e, key)) &&
		    strcmp(json_string_value(json_object_get(e, key)), value)
		    == 0)
			return e;
	return NULL;
}

/* The scale's numbers; the final score is selected, and an adjusted
   criterion can go back to the model's score. */
static json_t *
score_options(json_int_t min, json_int_t max, json_t *final, json_t *adj)
{
	json_t *opts = json_array();
	json_int_t v;

	for (v = min; v <= max && max - min < 100; v++)
		json_array_append_new(opts, json_pack("{s:I, s:I, s:b}", "v", v,
		    "label", v, "selected", json_integer_value(final) == v));
	if (adj != NULL)
		json_array_append_new(opts, json_pack("{s:s, s:s, s:b}", "v",
		    "model", "label", "back to the model's score", "selected",
		    0));
	return opts;
}

/*
 * One row of the scores table. Every field the partial reads is set
 * here, even when false, so none is looked up in an outer context.
 */
static void
criterion_view(json_t *c, json_t *sub, json_t *adjs, bool can_adjust,
    json_t *flash)
{
	const char *key = json_string_value(json_object_get(c, "key"));
	json_t *rubric = json_object_get(sub, "rubric");
	json_t *final = json_object_get(json_object_get(json_object_get(sub,
	    "final"), "scores"), key);
	json_t *adj = find_by(adjs, "criterion", key);
	bool mine = flash != NULL && key != NULL && strcmp(key,
	    json_string_value(json_object_get(flash, "criterion")) ?
	    json_string_value(json_object_get(flash, "criterion")) : "") == 0;

	json_object_set(c, "model_score", json_object_get(c, "score"));
	if (final != NULL)
		json_object_set(c, "score", final);
	json_object_set_new(c, "adj", json_boolean(adj != NULL));
	json_object_set_new(c, "adj_by", text_or_false(json_object_get(adj,
	    "by")));
	json_object_set_new(c, "adj_comment", text_or_false(json_object_get(
	    adj, "comment")));
	json_object_set_new(c, "adj_at", text_or_false(json_object_get(adj,
	    "at")));
	json_object_set_new(c, "adj_changed", json_is_true(json_object_get(
	    adj, "model_changed")) ? json_sprintf("Re-evaluated since: the "
	    "model now gives %lld, it gave %lld when this was adjusted.",
	    (long long)json_integer_value(json_object_get(adj,
	    "model_score")), (long long)json_integer_value(json_object_get(
	    adj, "model_score_then"))) : json_false());
	json_object_set_new(c, "can_adjust", json_boolean(can_adjust));
	json_object_set(c, "submission_id", json_object_get(sub, "id"));
	json_object_set_new(c, "score_options", score_options(
	    json_integer_value(json_object_get(rubric, "min")),
	    json_integer_value(json_object_get(rubric, "max")),
	    final != NULL ? final : json_object_get(c, "score"), adj));
	json_object_set_new(c, "adj_open", json_boolean(mine));
	json_object_set_new(c, "adj_error", mine ? json_incref(
	    json_object_get(flash, "error")) : json_false());
	json_object_set_new(c, "adj_draft", json_string(mine &&
	    json_is_string(json_object_get(flash, "comment")) ?
	    json_string_value(json_object_get(flash, "comment")) : ""));
}

/* The trail's rows as the staff table shows them. */
static void
audit_view(json_t *sub, json_t *criteria)
{
	json_t *audit = json_object_get(sub, "audit"), *row, *c;
	size_t i;

	json_array_foreach(audit, i, row) {
		c = find_by(criteria, "key", json_string_value(
		    json_object_get(row, "criterion")));
		json_object_set(row, "title", c != NULL ? json_object_get(c,
		    "title") : json_object_get(row, "criterion"));
		json_object_set_new(row, "after_text", json_is_integer(
		    json_object_get(row, "after")) ? json_sprintf("%lld",
		    (long long)json_integer_value(json_object_get(row,
		    "after"))) : json_sprintf("the model's score (%lld)",
		    (long long)json_integer_value(json_object_get(row,
		    "model_score"))));
	}
	json_object_set_new(sub, "has_audit", json_boolean(json_is_true(
	    json_object_get(sub, "staff")) && json_array_size(audit) > 0));
}

void
adjust_view(json_t *sub, json_t *flash)
{
	json_t *final = json_object_get(sub, "final");
	json_t *ev = json_object_get(sub, "evaluation");
	json_t *adjs = json_object_get(sub, "adjustments");
	json_t *criteria = json_object_get(sub, "criteria"), *c;
	const char *phase = json_string_value(json_object_get(sub, "phase"));
	bool can = json_is_true(json_object_get(sub, "staff")) &&
	    json_is_object(ev) && phase != NULL &&
	    strcmp(phase, "completed") == 0;
	size_t i;

	json_array_foreach(criteria, i, c)
		criterion_view(c, sub, adjs, can, flash);
	/* Halves round up, as PostgreSQL's round() does for the course
	   page, the CSV and live events (printf would round 3.25 down). */
	if (json_is_number(json_object_get(final, "overall")) &&
	    json_is_object(ev))
		json_object_set_new(ev, "overall_text", json_sprintf("%.1f",
		    round(json_number_value(json_object_get(final,
		    "overall")) * 10) / 10));
	json_object_set_new(sub, "overall_note", json_array_size(
	    json_object_get(final, "adjusted")) > 0 ? json_sprintf("The "
	    "overall score includes a teacher's adjustment; the model's own "
	    "overall was %.1f.", json_number_value(json_object_get(final,
	    "model_overall"))) : json_false());
	audit_view(sub, criteria);
	old_adjustments_view(sub, adjs);
}

/*
 * Adjustments of criteria the shown evaluation's rubric version does not
 * have (a re-evaluation with a newer version dropped them): kept, shown
 * as belonging to the version they were made under, and not counted.
 */
static void
old_adjustments_view(json_t *sub, json_t *adjs)
{
	json_t *out = json_array(), *a, *title;
	size_t i;

	json_array_foreach(adjs, i, a) {
		if (!json_is_false(json_object_get(a, "in_current")))
			continue;
		title = json_object_get(a, "criterion_title");
		json_array_append_new(out, json_pack("{s:s?, s:s?, s:s?, s:o}",
		    "old_by", json_string_value(json_object_get(a, "by")),
		    "old_comment", json_string_value(json_object_get(a,
		    "comment")), "old_at", json_string_value(json_object_get(a,
		    "at")), "old_text", json_sprintf("%s: %lld, adjusted under "
		    "rubric version %lld. Version %lld, which scored this "
		    "submission now, has no such criterion, so this adjustment "
		    "is kept but does not count.", json_is_string(title) ?
		    json_string_value(title) : json_string_value(
		    json_object_get(a, "criterion")), (long long)
		    json_integer_value(json_object_get(a, "score")), (long long)
		    json_integer_value(json_object_get(a, "rubric_version")),
		    (long long)json_integer_value(json_object_get(
		    json_object_get(sub, "rubric"), "version")))));
	}
	json_object_set_new(sub, "has_old_adjustments", json_boolean(
	    json_array_size(out) > 0));
	json_object_set_new(sub, "old_adjustments", out);
}
