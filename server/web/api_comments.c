/*
 * api_comments: time-coded comments over HTTP (see api_comments.h). Thin
 * by rule: parse, call server/pipeline/comments.c, answer. The outcome of
 * a comments_* call becomes a status in one place, answer().
 *
 * Who may do what: staff comment (the route says so); the submission's
 * own student replies (comments.c decides, from the data); reading
 * follows the submissions' rule: its student and staff, everyone else
 * gets 404, so ids do not reveal what exists.
 */
#include "api_comments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "comments.h"
#include "http.h"
#include "log.h"
#include "util.h"

/* Characters of a comment in its marker's tooltip. */
#define TITLE_CHARS	60

static int	 answer(struct req *, enum comments_outcome, const char *);
static bool	 is_student(const struct req *);
static char	*form_field(const char *, const char *);
static int	 back_to_page(struct req *, long long);
static void	 clock_text(char *, size_t, double);
static json_t	*excerpt(const char *, size_t);
static void	 comment_view(struct req *, json_t *, double);

static bool
is_student(const struct req *r)
{
	return strcmp(r->user.role, "student") == 0;
}

static int
answer(struct req *r, enum comments_outcome rc, const char *msg)
{
	switch (rc) {
	case COMMENTS_OK:
		break;
	case COMMENTS_DB_ERROR:
		log_warnx("comments: user=%lld id=%lld: %s", r->user.id, r->id,
		    msg);
		return http_db_error(r);
	case COMMENTS_NOT_FOUND:
		return http_error(r, 404, "%s", msg);
	case COMMENTS_INVALID:
		return http_error_code(r, 400, "invalid", NULL, "%s", msg);
	case COMMENTS_NOT_OWNER:
		/* Another student's comment is "no such comment", as ever. */
		if (is_student(r))
			return http_error(r, 404, "no such comment");
		return http_error(r, 403, "%s", msg);
	case COMMENTS_DUPLICATE:
		return http_error_code(r, 409, "duplicate", NULL, "%s", msg);
	}
	return http_error(r, 500, "unexpected outcome %d", (int)rc);
}

/* A form field, URL-decoded, on the heap; NULL when absent. */
static char *
form_field(const char *form, const char *name)
{
	size_t len = strlen(form) + 1;	/* decoding never lengthens */
	char *v = xmalloc(len);

	if (!http_form_get(form, name, v, len)) {
		free(v);
		return NULL;
	}
	return v;
}

static int
back_to_page(struct req *r, long long submission_id)
{
	char loc[96];

	snprintf(loc, sizeof(loc), "/submissions/%lld#comments",
	    submission_id);
	return http_redirect(r, loc, NULL);
}

int
api_comments_get(struct req *r)
{
	enum comments_outcome rc;
	char err[512];
	long long owner;
	json_t *list;

	rc = comments_list(r->app->db, r->id, &owner, &list, err,
	    sizeof(err));
	if (rc == COMMENTS_OK && is_student(r) && owner != r->user.id) {
		json_decref(list);
		rc = COMMENTS_NOT_FOUND;
		util_strlcpy(err, "no such submission", sizeof(err));
	}
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	return http_json(r, 200, json_pack("{s:I, s:o}", "submission_id",
	    (json_int_t)r->id, "comments", list));
}

int
api_comment_add(struct req *r)
{
	enum comments_outcome rc;
	json_t *body, *at, *out;
	const char *text;
	char err[512];
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	at = json_object_get(body, "at_s");
	text = json_string_value(json_object_get(body, "body"));
	if (!json_is_number(at) || text == NULL) {
		status = http_error_member(r, 400, body, !json_is_number(at) ?
		    "at_s" : "body", "send {\"at_s\": seconds into the "
		    "recording, \"body\": \"the comment\"}");
		json_decref(body);
		return status;
	}
	rc = comments_add(r->app->db, r->id, r->user.id,
	    json_number_value(at), text, &out, err, sizeof(err));
	json_decref(body);
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	return http_json(r, 201, out);
}

int
api_comment_reply(struct req *r)
{
	enum comments_outcome rc;
	json_t *body, *out;
	const char *text;
	char err[512];
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if ((text = json_string_value(json_object_get(body, "body"))) ==
	    NULL) {
		status = http_error_member(r, 400, body, "body", "send "
		    "{\"body\": \"your reply\"}");
		json_decref(body);
		return status;
	}
	rc = comments_reply(r->app->db, r->id, r->user.id, text, &out, err,
	    sizeof(err));
	json_decref(body);
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	return http_json(r, 201, out);
}

int
api_comment_delete(struct req *r)
{
	enum comments_outcome rc;
	long long sid;
	char err[512];

	rc = comments_delete(r->app->db, r->id, r->user.id,
	    strcmp(r->user.role, "admin") == 0, &sid, err, sizeof(err));
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	return http_json(r, 200, json_pack("{s:I, s:I, s:b}", "id",
	    (json_int_t)r->id, "submission_id", (json_int_t)sid, "deleted",
	    1));
}

int
api_comment_form_add(struct req *r)
{
	enum comments_outcome rc = COMMENTS_INVALID;
	char err[512] = "write the moment as seconds (75) or as minutes and "
	    "seconds (1:15)";
	char *form, *at, *text;
	json_t *out = NULL;
	double at_s;

	if (!http_read_form(r, &form))
		return 403;
	at = form_field(form, "at_s");
	text = form_field(form, "body");
	free(form);
	if (at != NULL && comments_parse_time(at, &at_s))
		rc = comments_add(r->app->db, r->id, r->user.id, at_s, text,
		    &out, err, sizeof(err));
	free(at);
	free(text);
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	json_decref(out);
	return back_to_page(r, r->id);
}

int
api_comment_form_reply(struct req *r)
{
	enum comments_outcome rc;
	char err[512], *form, *text;
	json_t *out;
	long long sid;

	if (!http_read_form(r, &form))
		return 403;
	text = form_field(form, "body");
	free(form);
	rc = comments_reply(r->app->db, r->id, r->user.id, text, &out, err,
	    sizeof(err));
	free(text);
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	sid = json_integer_value(json_object_get(out, "submission_id"));
	json_decref(out);
	return back_to_page(r, sid);
}

int
api_comment_form_delete(struct req *r)
{
	enum comments_outcome rc;
	char err[512], *form;
	long long sid;

	if (!http_read_form(r, &form))
		return 403;
	free(form);
	rc = comments_delete(r->app->db, r->id, r->user.id,
	    strcmp(r->user.role, "admin") == 0, &sid, err, sizeof(err));
	if (rc != COMMENTS_OK)
		return answer(r, rc, err);
	return back_to_page(r, sid);
}

/* "1:05" (or "1:02:05" past an hour), as a player shows it. */
static void
clock_text(char *out, size_t len, double s)
{
	long t = s > 0 ? (long)floor(s) : 0;

	if (t >= 3600)
		snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
		    t % 60);
	else
		snprintf(out, len, "%ld:%02ld", t / 60, t % 60);
}

/* The first chars characters of text on one line, "…" if cut. */
static json_t *
excerpt(const char *text, size_t chars)
{
	size_t n = 0, len = strlen(text);
	char *out = xmalloc(len + sizeof("…"));
	char *o = out;
	json_t *v;

	for (; *text != '\0' && n < chars; text++) {
		if (strchr(" \t\r\n\f\v", *text) != NULL) {
			if (o > out && o[-1] != ' ') {
				*o++ = ' ';
				n++;
			}
			continue;
		}
		*o++ = *text;
		/* A character is a lead byte and its continuation bytes. */
		if (((unsigned char)text[1] & 0xc0) != 0x80)
			n++;
	}
	if (*text != '\0')
		memcpy(o, "…", sizeof("…") - 1), o += sizeof("…") - 1;
	*o = '\0';
	v = json_string(out);
	free(out);
	return v != NULL ? v : json_string("");
}

static void
comment_view(struct req *r, json_t *c, double duration)
{
	const char *name = json_string_value(json_object_get(c,
	    "author_name"));
	const char *body = json_string_value(json_object_get(c, "body"));
	double at = json_number_value(json_object_get(c, "at_s"));
	bool student = is_student(r);
	char when[32];
	json_t *title;

	clock_text(when, sizeof(when), at);
	json_object_set_new(c, "at_text", json_string(when));
	/* CSS places the marker at this share of the timeline. */
	if (duration > 0)
		json_object_set_new(c, "left_pct", json_sprintf("%.2f",
		    fmin(100, at / duration * 100)));
	title = excerpt(body != NULL ? body : "", TITLE_CHARS);
	json_object_set_new(c, "title", json_sprintf("%s — %s: %s", when,
	    name != NULL ? name : "", json_string_value(title)));
	json_decref(title);
	/* The page is authorized already: a student reading it is its owner. */
	json_object_set_new(c, "can_reply", json_boolean(student &&
	    json_is_null(json_object_get(c, "reply"))));
	json_object_set_new(c, "can_delete", json_boolean(!student &&
	    (strcmp(r->user.role, "admin") == 0 || json_integer_value(
	    json_object_get(c, "author_id")) == r->user.id)));
}

void
api_comments_view(struct req *r, json_t *sub)
{
	double duration = json_number_value(json_object_get(sub, "duration_s"));
	bool student = is_student(r), failed = false;
	enum comments_outcome rc;
	char err[512], end[32];
	long long owner;
	json_t *list, *c;
	size_t i;

	/* An old upload without a probed duration: the transcript's. */
	if (duration <= 0)
		duration = json_number_value(json_object_get(json_object_get(
		    sub, "transcript"), "audio_s"));
	rc = comments_list(r->app->db, r->id, &owner, &list, err,
	    sizeof(err));
	if (rc != COMMENTS_OK) {
		log_warnx("submission=%lld: comments not shown: %s", r->id,
		    err);
		list = json_array();
		failed = true;
	}
	json_array_foreach(list, i, c)
		comment_view(r, c, duration);
	clock_text(end, sizeof(end), duration);
	json_object_set_new(sub, "has_comments",
	    json_boolean(json_array_size(list) > 0));
	json_object_set_new(sub, "timeline", json_boolean(duration > 0 &&
	    json_array_size(list) > 0));
	json_object_set_new(sub, "timeline_end", json_string(end));
	json_object_set_new(sub, "can_comment", json_boolean(!student));
	json_object_set_new(sub, "show_comments", json_boolean(!student ||
	    failed || json_array_size(list) > 0));
	if (failed)
		json_object_set_new(sub, "comments_error", json_string("The "
		    "comments could not be loaded just now; reload the page "
		    "to see them."));
	json_object_set_new(sub, "comments", list);
}
