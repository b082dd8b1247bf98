/*
 * pages: HTML handlers. Each builds a view (a jansson object) from what
 * the store returns and renders one template; every value is escaped by
 * the template engine unless a template asks otherwise (none does).
 */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "adjust.h"
#include "api.h"
#include "api_comments.h"
#include "app.h"
#include "assignment.h"
#include "auth.h"
#include "config.h"
#include "consent.h"
#include "course.h"
#include "dash.h"
#include "http.h"
#include "privacy_pages.h"
#include "queue.h"
#include "signin.h"
#include "submission.h"
#include "transcript_view.h"
#include "util.h"

#define COOKIE_NAME PAGES_COOKIE

static const char *str(json_t *, const char *);
static void	 outcome_view(json_t *, bool);
static json_t	*submission_view(json_t *, bool);
static bool	 checklist_view(struct req *, json_t *);
static bool	 open_view(struct req *, json_t *);
static void	 queue_view(json_t *);
static void	 removed_view(json_t *);
static int	 users_page(struct req *, int, json_t *);
static int	 login_page(struct req *, int, const char *, const char *,
		    const char *);
static int	 login_json(struct req *);


static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *
pages_status_label(const char *phase, const char *status)
{
	static const struct { const char *phase, *status, *label; } labels[] = {
		{ "prep", "pending", "Preparing the sound" },
		{ "prep", "processing", "Preparing the sound" },
		{ "prep", "retry", "Preparing the sound will be tried again" },
		{ "stt", "pending", "Queued for transcription" },
		{ "stt", "processing", "Transcribing" },
		{ "stt", "retry", "Transcription will be tried again" },
		{ "llm", "pending", "Waiting for evaluation" },
		{ "llm", "processing", "Evaluating" },
		{ "llm", "retry", "Evaluation will be tried again" },
		{ "completed", "completed", "Done" },
		{ "failed", "failed", "Failed" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].phase, phase) == 0 &&
		    strcmp(labels[i].status, status) == 0)
			return labels[i].label;
	return status;
}

int
pages_login_form(struct req *r)
{
	if (r->authed)
		return http_redirect(r, "/", NULL);
	return login_page(r, 200, NULL, "", NULL);
}

/*
 * The sign-in page with its form token (and the pre-session cookie when
 * the browser has none yet); err and extra headers for a refusal.
 */
static int
login_page(struct req *r, int status, const char *err, const char *email,
    const char *extra)
{
	char token[65], hdr[512], cookie[256];

	signin_form_token(r, token, cookie, sizeof(cookie));
	snprintf(hdr, sizeof(hdr), "%s%sCache-Control: no-store\r\n",
	    cookie, extra != NULL ? extra : "");
	return http_render_with(r, status, "login", json_pack("{s:s, s:s?, "
	    "s:s, s:s}", "title", "Sign in", "error", err, "email", email,
	    SIGNIN_FORM_FIELD, token), hdr);
}

/*
 * Scripts sign in with {"email", "password"} as JSON: a browser cannot
 * send that cross-site without a CORS preflight we never grant, so no
 * form token is needed. The answer carries the bearer token.
 */
static int
login_json(struct req *r)
{
	char err[256], hdr[128];
	const char *email = NULL, *password = NULL;
	char *token;
	json_t *body;
	enum signin_result res;
	long retry;
	int rc;

	r->api = true;		/* errors as JSON */
	if ((body = http_read_json(r, &rc)) == NULL)
		return rc;
	if (json_unpack(body, "{s:s, s:s}", "email", &email, "password",
	    &password) != 0) {
		rc = http_error_member(r, 400, body, json_is_string(
		    json_object_get(body, "email")) ? "password" : "email",
		    "send {\"email\": ..., \"password\": ...}");
		json_decref(body);
		return rc;
	}
	switch ((res = signin_attempt(r, email, password, &token, &retry, err,
	    sizeof(err)))) {
	case SIGNIN_OK:
		rc = http_json(r, 200, json_pack("{s:s, s:s, s:i}", "token",
		    token, "token_type", "Bearer", "expires_in_s",
		    r->app->cfg->session_ttl_h * 3600));
		free(token);
		break;
	case SIGNIN_WRONG:
	case SIGNIN_DISABLED:
		rc = http_error(r, 401, "%s", err);
		break;
	case SIGNIN_THROTTLED:
	case SIGNIN_BUSY:
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n"
		    "Cache-Control: no-store\r\n", retry);
		rc = http_error_headers(r, res == SIGNIN_BUSY ? 503 : 429, hdr,
		    err);
		break;
	default:
		rc = http_db_error(r);
	}
	json_decref(body);
	return rc;
}

int
pages_login(struct req *r)
{
	char email[256] = "", password[300] = "", err[256], cookie[256];
	char hdr[128];
	const char *ctype = http_header(r, "Content-Type");
	char *body, *token;
	enum signin_result res;
	long retry;

	/* A new sign-in replaces whatever session the browser had. */
	r->authed = false;
	if (ctype != NULL && strncmp(ctype, "application/json", 16) == 0)
		return login_json(r);
	if (!http_read_body(r, &body))
		return 413;
	if (!signin_form_ok(r, body)) {
		free(body);
		return login_page(r, 403, "This sign-in form has expired or did "
		    "not come from IntroEval: sign in again on this page.", "",
		    NULL);
	}
	http_form_get(body, "email", email, sizeof(email));
	http_form_get(body, "password", password, sizeof(password));
	free(body);
	switch ((res = signin_attempt(r, email, password, &token, &retry, err,
	    sizeof(err)))) {
	case SIGNIN_OK:
		break;
	case SIGNIN_WRONG:
	case SIGNIN_DISABLED:
		return login_page(r, 401, err, email, NULL);
	case SIGNIN_THROTTLED:
	case SIGNIN_BUSY:
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n", retry);
		return login_page(r, res == SIGNIN_BUSY ? 503 : 429, err,
		    email, hdr);
	default:
		return http_db_error(r);
	}
	pages_session_cookie(r, token, cookie, sizeof(cookie));
	free(token);
	return http_redirect(r, "/", cookie);
}

void
pages_session_cookie(struct req *r, const char *token, char *out,
    size_t outlen)
{
	const struct config *cfg = r->app->cfg;

	snprintf(out, outlen, "Set-Cookie: %s=%s; Path=/; HttpOnly; "
	    "SameSite=Lax; Max-Age=%d%s\r\n", COOKIE_NAME, token,
	    cfg->session_ttl_h * 3600, cfg->cookie_secure ? "; Secure" : "");
}

int
pages_logout(struct req *r)
{
	char *body;

	if (!http_read_form(r, &body))
		return 403;
	free(body);
	auth_logout(r->app->db, r->token);
	return http_redirect(r, "/login", "Set-Cookie: " COOKIE_NAME "=; "
	    "Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n");
}

/*
 * What a reader is told of a submission's status: status_label,
 * is_failed, cancelled and, for a failure, reason (what happened, in
 * words for this reader) and advice (what to do next). A student reads
 * a teacher's cancellation without the teacher's name or our wording of
 * it (queue_cancel's "cancelled by NAME").
 */
static void
outcome_view(json_t *row, bool student)
{
	const char *phase = str(row, "phase"), *status = str(row, "status");
	const char *err = str(row, "error");
	size_t plen = strlen(QUEUE_CANCELLED_PREFIX);
	bool failed = phase != NULL && strcmp(phase, "failed") == 0;
	bool cancelled = failed && err != NULL && strncmp(err,
	    QUEUE_CANCELLED_PREFIX, plen) == 0;

	json_object_set_new(row, "status_label", json_string(cancelled ?
	    "Cancelled" : pages_status_label(phase != NULL ? phase : "",
	    status != NULL ? status : "")));
	json_object_set_new(row, "is_failed", json_boolean(failed));
	json_object_set_new(row, "cancelled", json_boolean(cancelled));
	if (!failed)
		return;
	if (cancelled && student) {
		json_object_set_new(row, "reason", json_string("Your teacher "
		    "cancelled the processing of this recording."));
		json_object_set_new(row, "advice", json_string("If you did "
		    "not expect this, ask them, or upload it again."));
	} else if (cancelled) {
		json_object_set_new(row, "reason", json_sprintf("Cancelled by "
		    "%s.", err + plen));
		json_object_set_new(row, "advice", json_string("The student "
		    "is told their teacher cancelled it. Retry processes it "
		    "again."));
	} else {
		json_object_set_new(row, "reason", json_string(err != NULL ?
		    err : "the processing failed"));
		if (student)
			json_object_set_new(row, "advice", json_string(
			    "Upload the recording again; if it fails again, "
			    "ask your teacher."));
	}
}

json_t *
pages_list_view(json_t *list, bool student)
{
	size_t i;
	json_t *row, *overall;

	json_array_foreach(list, i, row) {
		outcome_view(row, student);
		/* Overall scores read with one decimal everywhere. */
		overall = json_object_get(row, "overall");
		if (json_is_number(overall))
			json_object_set_new(row, "overall_text", json_sprintf(
			    "%.1f", json_number_value(overall)));
		/* Of a student's uploads to an assignment, the latest counts. */
		if (json_is_integer(json_object_get(row, "superseded_by")))
			json_object_set_new(row, "superseded_text", json_sprintf(
			    "superseded by Introduction %lld", (long long)
			    json_integer_value(json_object_get(row,
			    "superseded_by"))));
	}
	return list;
}

/*
 * The admin's first steps, each ticked once done: a course, teacher and
 * student accounts, a course with both enrolled, and backends that
 * answer (a node lately heard from, with its speech recogniser ready
 * and a scoring model up).
 */
static bool
checklist_view(struct req *r, json_t *view)
{
	char err[512];
	json_t *roles, *setup, *nodes, *n, *steps, *consent;
	json_int_t courses, staffed, teachers, students;
	bool backends = false, all;
	size_t i;

	if (!auth_role_counts(r->app->db, &roles, err, sizeof(err)))
		return false;
	if (!course_setup_counts(r->app->db, &setup, err, sizeof(err))) {
		json_decref(roles);
		return false;
	}
	courses = json_integer_value(json_object_get(setup, "courses"));
	staffed = json_integer_value(json_object_get(setup, "staffed"));
	teachers = json_integer_value(json_object_get(roles, "teacher"));
	students = json_integer_value(json_object_get(roles, "student"));
	json_decref(roles);
	json_decref(setup);
	nodes = dash_nodes(r->app->db, NULL);
	json_array_foreach(nodes, i, n)
		if (!json_is_true(json_object_get(n, "stale")) &&
		    json_is_true(json_object_get(n, "stt_available")) &&
		    json_integer_value(json_object_get(n, "llm_healthy")) > 0)
			backends = true;
	json_decref(nodes);
	steps = json_pack("[{s:s, s:s, s:b, s:o}, {s:s, s:s, s:b, s:o}, "
	    "{s:s, s:s, s:b, s:o}, {s:s, s:s, s:b, s:o}, {s:s, s:s, s:b, s:s}]",
	    "text", "Create a course", "href", "/courses", "done",
	    courses > 0, "detail", json_sprintf("%lld so far",
	    (long long)courses),
	    "text", "Add teacher accounts", "href", "/admin/users", "done",
	    teachers > 0, "detail", json_sprintf("%lld so far",
	    (long long)teachers),
	    "text", "Add student accounts", "href", "/admin/users", "done",
	    students > 0, "detail", json_sprintf("%lld so far",
	    (long long)students),
	    "text", "Enrol a teacher and students in a course", "href",
	    "/courses", "done", staffed > 0, "detail", json_sprintf("%lld "
	    "course%s ready", (long long)staffed, staffed == 1 ? "" : "s"),
	    "text", "Check the backends on the health page", "href",
	    "/admin/health", "done", backends, "detail", backends ?
	    "speech recogniser and a scoring model up" : "not all up yet");
	if (!consent_status(r->app->db, r->user.id, &consent, err,
	    sizeof(err))) {
		json_decref(steps);
		return false;
	}
	/* Optional: without a text there is simply no consent step. */
	json_array_append_new(steps, json_pack("{s:s, s:s, s:b, s:s}", "text",
	    "Set the recording consent text", "href", "/admin/consent",
	    "done", !json_is_null(json_object_get(consent, "version")),
	    "detail", json_is_null(json_object_get(consent, "version")) ?
	    "optional; until then students upload without a consent step" :
	    "students accept it before uploading"));
	json_decref(consent);
	all = courses > 0 && teachers > 0 && students > 0 && staffed > 0 &&
	    backends;
	json_object_set_new(view, "checklist", steps);
	json_object_set_new(view, "setup_done", json_boolean(all));
	json_object_set_new(view, "show_checklist", json_boolean(!all ||
	    !json_is_true(json_object_get(view, "has_submissions"))));
	return true;
}

/*
 * A student's open assignments and the upload form's choice among them
 * (?assignment=ID preselects one); with none, the page says so instead
 * of showing the form.
 */
static bool
open_view(struct req *r, json_t *view)
{
	char err[512], want[32] = "";
	json_t *open, *a, *choices;
	size_t i;

	if (!assignment_open_for(r->app->db, r->user.id, &open, err,
	    sizeof(err)))
		return false;
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "assignment", want,
		    sizeof(want));
	choices = json_array();
	json_array_foreach(open, i, a)
		json_array_append_new(choices, json_pack("{s:O, s:O, s:O, s:b}",
		    "choice_id", json_object_get(a, "id"), "choice_title",
		    json_object_get(a, "title"), "choice_course",
		    json_object_get(a, "course_code"), "choice_selected",
		    json_integer_value(json_object_get(a, "id")) == atoll(want)));
	json_object_set_new(view, "no_assignment_text", json_string(
	    ASSIGNMENT_MSG_NONE));
	json_object_set_new(view, "can_upload", json_boolean(
	    json_array_size(open) > 0));
	json_object_set_new(view, "single_choice", json_boolean(
	    json_array_size(open) == 1));
	json_object_set_new(view, "upload_choices", choices);
	json_object_set_new(view, "open_assignments", open);
	return true;
}

int
pages_home(struct req *r)
{
	bool student = strcmp(r->user.role, "student") == 0;
	char err[512];
	json_t *list, *view;

	if (!submission_list(r->app->db, r->user.id, r->user.role, 200,
	    &list, err, sizeof(err)))
		return http_db_error(r);
	view = json_pack("{s:s, s:o, s:b, s:b, s:i, s:i}", "title", student ?
	    "My introductions" : "Submissions", "submissions",
	    pages_list_view(list, student), "has_submissions",
	    json_array_size(list) > 0, "show_student", !student,
	    "upload_max_mb", r->app->cfg->upload_max_mb,
	    "max_duration_s", r->app->cfg->max_duration_s);
	if ((student ? !privacy_home_view(r, view) : strcmp(r->user.role,
	    "admin") == 0 && !checklist_view(r, view))) {
		json_decref(view);
		return http_db_error(r);
	}
	if (student && !open_view(r, view)) {
		json_decref(view);
		return http_db_error(r);
	}
	return http_render(r, 200, student ? "student_home" : "staff_home",
	    view);
}

/* What the page says instead of the player once retention removed it. */
static void
removed_view(json_t *sub)
{
	const char *at = str(sub, "media_removed_at");
	json_int_t days = json_integer_value(json_object_get(sub,
	    "media_retention_days"));

	if (at == NULL)
		return;
	json_object_set_new(sub, "media_removed_text", json_sprintf("The "
	    "recording was removed on %.10s under the lab's retention policy "
	    "(%lld day%s after the assignment closed). The transcript, "
	    "scores and comments are kept.", at, (long long)days, days == 1 ?
	    "" : "s"));
}

/* "Position 3 in the queue; feedback expected in about 4 minutes". */
static void
queue_view(json_t *sub)
{
	json_t *q = json_object_get(sub, "queue");
	double eta = json_number_value(json_object_get(q, "eta_s"));
	json_int_t pos = json_integer_value(json_object_get(q, "position"));
	bool processing = json_is_true(json_object_get(q, "processing"));
	/* Being prepared ("prep") is still before transcription. */
	bool stt = strcmp(json_string_value(json_object_get(q, "phase")) ?
	    json_string_value(json_object_get(q, "phase")) : "", "llm") != 0;
	char when[64];

	if (!json_is_object(q))
		return;
	if (json_is_string(json_object_get(q, "waiting_for"))) {
		json_object_set_new(sub, "queue_text", json_string(stt ?
		    "Waiting for the speech recogniser, which is not working "
		    "right now. Your recording is safe and will be "
		    "transcribed when it is back." : "Waiting for a scoring "
		    "model: none can be reached right now. Your recording is "
		    "safe and will be scored when one is back."));
		return;
	}
	if (eta < 90)
		snprintf(when, sizeof(when), "in about a minute");
	else if (eta < 3600)
		snprintf(when, sizeof(when), "in about %.0f minutes",
		    eta / 60);
	else
		snprintf(when, sizeof(when), "in about %.1f hours",
		    eta / 3600);
	if (processing)
		json_object_set_new(sub, "queue_text", json_sprintf("%s now; "
		    "feedback expected %s.", stt ? "Being transcribed" :
		    "Being evaluated", when));
	else
		json_object_set_new(sub, "queue_text", json_sprintf("Number "
		    "%lld in the %s queue; feedback expected %s.",
		    (long long)pos, stt ? "transcription" : "evaluation",
		    when));
}

/* The result page's view: scores joined with the rubric's titles. */
static json_t *
submission_view(json_t *sub, bool student)
{
	json_t *rubric = json_object_get(sub, "rubric");
	json_t *ev = json_object_get(sub, "evaluation");
	json_t *scores = json_object_get(ev, "scores");
	json_t *criteria = json_array(), *c;
	const char *phase = json_string_value(json_object_get(sub, "phase"));
	const char *ctype;
	json_int_t max = json_integer_value(json_object_get(
	    json_object_get(rubric, "scale"), "max"));
	size_t i;

	json_array_foreach(json_object_get(rubric, "criteria"), i, c) {
		json_t *score = json_object_get(scores, json_string_value(
		    json_object_get(c, "key")));
		if (score == NULL)
			continue;
		/* A criterion's score is a whole number everywhere. */
		json_array_append_new(criteria, json_pack("{s:O, s:O, s:O, "
		    "s:I, s:I}", "key", json_object_get(c, "key"),
		    "title", json_object_get(c, "title"),
		    "description", json_object_get(c, "description"),
		    "score", (json_int_t)(json_number_value(score) + 0.5),
		    "max", max));
	}
	json_object_set_new(sub, "criteria", criteria);
	json_object_set_new(sub, "scale_max", json_integer(max));
	outcome_view(sub, student);
	json_object_set_new(sub, "finished", json_boolean(
	    strcmp(phase, "completed") == 0 || strcmp(phase, "failed") == 0));
	/* A sound-only file plays in an <audio>, the rest in a <video>. */
	ctype = json_string_value(json_object_get(sub, "content_type"));
	json_object_set_new(sub, "is_audio", json_boolean(ctype != NULL &&
	    strncmp(ctype, "audio/", 6) == 0));
	removed_view(sub);
	json_object_set_new(ev, "has_strengths", json_boolean(
	    json_array_size(json_object_get(ev, "strengths")) > 0));
	json_object_set_new(ev, "has_improvements", json_boolean(
	    json_array_size(json_object_get(ev, "improvements")) > 0));
	json_object_set_new(ev, "has_ensemble", json_boolean(
	    json_array_size(json_object_get(ev, "ensemble")) > 0));
	if (json_is_number(json_object_get(ev, "overall")))
		json_object_set_new(ev, "overall_text", json_sprintf("%.1f",
		    json_number_value(json_object_get(ev, "overall"))));
	queue_view(sub);
	if (json_is_number(json_object_get(sub, "stt_s")))
		json_object_set_new(sub, "stt_text", json_sprintf("%.1f s",
		    json_number_value(json_object_get(sub, "stt_s"))));
	if (json_is_number(json_object_get(sub, "llm_s")))
		json_object_set_new(sub, "llm_text", json_sprintf("%.1f s",
		    json_number_value(json_object_get(sub, "llm_s"))));
	return sub;
}

int
pages_submission(struct req *r)
{
	return pages_submission_with(r, 200, NULL);
}

int
pages_submission_with(struct req *r, int status, json_t *flash)
{
	bool student = strcmp(r->user.role, "student") == 0;
	char confirm[16] = "";
	json_t *sub, *title;
	int rc;

	if ((rc = api_load_submission(r, &sub)) != 0) {
		json_decref(flash);
		return rc;
	}
	sub = submission_view(sub, student);
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "confirm", confirm,
		    sizeof(confirm));
	json_object_set_new(sub, "staff", json_boolean(!student));
	json_object_set_new(sub, "superseded", json_boolean(json_is_integer(
	    json_object_get(sub, "assignment_id")) && json_is_false(
	    json_object_get(sub, "counts"))));
	transcript_view(sub, !student);
	adjust_view(sub, flash);
	json_decref(flash);
	json_object_set_new(sub, "can_cancel", json_boolean(!json_is_true(
	    json_object_get(sub, "finished"))));
	json_object_set_new(sub, "confirm_cancel", json_boolean(strcmp(
	    confirm, "cancel") == 0));
	json_object_set_new(sub, "can_retry", json_boolean(json_is_true(
	    json_object_get(sub, "is_failed")) || strcmp(json_string_value(
	    json_object_get(sub, "status")), "retry") == 0));
	api_comments_view(r, sub);
	/* A student reads their own count; staff see whose it is. */
	title = student ? json_sprintf("Introduction %lld", (long long)
	    json_integer_value(json_object_get(sub, "ordinal"))) :
	    json_sprintf("Introduction %lld · %s", (long long)
	    json_integer_value(json_object_get(sub, "ordinal")),
	    str(sub, "student_name"));
	return http_render(r, status, "submission", json_pack("{s:o, s:o}",
	    "title", title, "sub", sub));
}

int
pages_submission_action(struct req *r)
{
	char action[16] = "", prio[16] = "0", confirm[8] = "", msg[512];
	char loc[96];
	char *body;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "action", action, sizeof(action));
	http_form_get(body, "priority", prio, sizeof(prio));
	http_form_get(body, "confirm", confirm, sizeof(confirm));
	free(body);
	/*
	 * Cancelling cannot be undone by the student's side: a form that
	 * has not been through the confirmation step lands on it.
	 */
	if (strcmp(action, "cancel") == 0 && strcmp(confirm, "1") != 0) {
		snprintf(loc, sizeof(loc), "/submissions/%lld?confirm=cancel"
		    "#cancel-confirm", r->id);
		return http_redirect(r, loc, NULL);
	}
	if (!api_apply_action(r, action, atoi(prio), &status, msg,
	    sizeof(msg)))
		return status == 503 ? http_db_error(r) :
		    http_error(r, status, "%s", msg);
	snprintf(loc, sizeof(loc), "/submissions/%lld", r->id);
	return http_redirect(r, loc, NULL);
}

static int
users_page(struct req *r, int status, json_t *extra)
{
	char err[512];
	json_t *users;

	if (!auth_users_json(r->app->db, NULL, &users, err, sizeof(err))) {
		json_decref(extra);
		return http_db_error(r);
	}
	json_object_set_new(extra, "title", json_string("Users"));
	json_object_set_new(extra, "users", users);
	return http_render(r, status, "users", extra);
}

int
pages_users(struct req *r)
{
	return users_page(r, 200, json_object());
}

int
pages_user_create(struct req *r)
{
	char email[256] = "", name[256] = "", role[16] = "", password[300] = "";
	char err[512];
	char *body, *generated = NULL;
	json_t *view;
	bool made;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "email", email, sizeof(email));
	http_form_get(body, "name", name, sizeof(name));
	http_form_get(body, "role", role, sizeof(role));
	http_form_get(body, "password", password, sizeof(password));
	free(body);
	if (password[0] == '\0') {
		generated = auth_generate_password();
		util_strlcpy(password, generated, sizeof(password));
	}
	made = auth_user_create(r->app->db, email, name, role, password, NULL,
	    NULL, err, sizeof(err));
	/* A refused form comes back as typed, but for the password. */
	if (!made)
		view = json_pack("{s:s, s:{s:s, s:s, s:b, s:b, s:b}}", "error",
		    err, "form", "email", email, "name", name, "student",
		    strcmp(role, "student") == 0, "teacher", strcmp(role,
		    "teacher") == 0, "admin", strcmp(role, "admin") == 0);
	else
		view = json_pack("{s:s, s:s, s:s?}", "created", email,
		    "created_role", role, "created_password", generated);
	free(generated);
	return users_page(r, made ? 200 : 422, view);
}
