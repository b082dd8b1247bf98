/*
 * people: the pages and JSON API of accounts after they are made (see
 * account.h): staff edit, disable and reset an account (/users/:id),
 * everyone manages their own (/account), a one-time code sets a password
 * (/reset), and a join code makes a student account (/signup). Thin
 * handlers: parse, authorize through account_load, call one function,
 * render. Passwords and codes are never logged.
 */
#include "people.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "account.h"
#include "api_query.h"
#include "app.h"
#include "auth.h"
#include "config.h"
#include "course.h"
#include "http.h"
#include "pages.h"
#include "signin.h"
#include "tokens_web.h"
#include "util.h"

#define PW_LEN		(AUTH_PASSWORD_MAX + 8)
#define SIGNOUT_TEXT	"Signs you out on every device and browser, this " \
	"one too."

static int	 fail_status(enum account_fail);
static int	 fail_reply(struct req *, enum account_fail, const char *,
		    const char *);
static int	 user_page(struct req *, int, json_t *);
static const char *jstr(json_t *, const char *);
static int	 signup_page(struct req *, int, json_t *, const char *);

static int
fail_status(enum account_fail f)
{
	switch (f) {
	case ACCOUNT_OK:
		return 200;
	case ACCOUNT_INVALID:
		return 422;
	case ACCOUNT_NOT_FOUND:
		return 404;
	case ACCOUNT_FORBIDDEN:
		return 403;
	case ACCOUNT_DB:
		break;
	}
	return 503;
}

/* An account_* failure; field: the member at fault when it is invalid. */
static int
fail_reply(struct req *r, enum account_fail f, const char *field,
    const char *err)
{
	if (f == ACCOUNT_DB)
		return http_db_error(r);
	return http_error_field(r, fail_status(f), NULL, f == ACCOUNT_INVALID ?
	    field : NULL, "%s", err);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The staff page of one account, with view's messages. */
static int
user_page(struct req *r, int status, json_t *view)
{
	char err[512];
	json_t *u;
	enum account_fail f;

	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK) {
		json_decref(view);
		return fail_reply(r, f, NULL, err);
	}
	if (json_object_get(view, "form") == NULL)
		json_object_set_new(view, "form", json_pack("{s:O, s:O}",
		    "name", json_object_get(u, "name"), "email",
		    json_object_get(u, "email")));
	json_object_set_new(view, "title", json_sprintf("Account: %s",
	    jstr(u, "name")));
	json_object_set_new(view, "is_self", json_boolean(json_integer_value(
	    json_object_get(u, "id")) == r->user.id));
	json_object_set_new(view, "ttl_h", json_integer(
	    r->app->cfg->reset_code_ttl_h));
	json_object_set_new(view, "has_courses", json_boolean(
	    json_array_size(json_object_get(u, "courses")) > 0));
	json_object_set_new(view, "account", u);
	return http_render(r, status, "user", view);
}

int
people_user(struct req *r)
{
	char done[16] = "";
	const char *qs = r->ri->query_string;
	json_t *view = json_object();

	if (qs != NULL && http_form_get(qs, "done", done, sizeof(done))) {
		if (strcmp(done, "saved") == 0)
			json_object_set_new(view, "message", json_string(
			    "Saved."));
		else if (strcmp(done, "disabled") == 0)
			json_object_set_new(view, "message", json_string(
			    "Disabled: the account cannot sign in, and its "
			    "sessions have ended."));
		else if (strcmp(done, "enabled") == 0)
			json_object_set_new(view, "message", json_string(
			    "Enabled: the account can sign in again."));
	}
	return user_page(r, 200, view);
}

/*
 * One form, four buttons: save (name, email), disable, enable and
 * reset (a one-time code shown on this answer only, never redirected
 * to, so reloading does not show it again).
 */
int
people_user_update(struct req *r)
{
	char action[16] = "", name[256] = "", email[256] = "", err[512];
	char loc[96];
	char *body, *code = NULL;
	json_t *u;
	enum account_fail f;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "action", action, sizeof(action));
	http_form_get(body, "name", name, sizeof(name));
	http_form_get(body, "email", email, sizeof(email));
	free(body);
	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	json_decref(u);
	if (strcmp(action, "save") == 0) {
		f = account_update(r->app->db, r->id, name, email, err,
		    sizeof(err));
		if (f == ACCOUNT_INVALID)
			return user_page(r, 422, json_pack("{s:s, s:{s:s, "
			    "s:s}}", "error", err, "form", "name", name,
			    "email", email));
	} else if (strcmp(action, "disable") == 0 ||
	    strcmp(action, "enable") == 0) {
		if (r->id == r->user.id)
			return user_page(r, 422, json_pack("{s:s}", "error",
			    "you cannot disable or enable your own account"));
		f = account_set_disabled(r->app->db, r->id, action[0] == 'd',
		    err, sizeof(err));
	} else if (strcmp(action, "reset") == 0) {
		if (!account_reset_code(r->app->db, r->id, r->user.id,
		    r->app->cfg->reset_code_ttl_h, &code, err, sizeof(err)))
			return http_db_error(r);
		f = user_page(r, 200, json_pack("{s:s}", "reset_code", code));
		free(code);
		return f;
	} else
		return user_page(r, 422, json_pack("{s:s}", "error",
		    "unknown action"));
	if (f != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	snprintf(loc, sizeof(loc), "/users/%lld?done=%s", r->id,
	    strcmp(action, "save") == 0 ? "saved" : action[0] == 'd' ?
	    "disabled" : "enabled");
	return http_redirect(r, loc, NULL);
}

int
people_account_page(struct req *r, int status, json_t *view)
{
	if (!tokens_account_view(r, view)) {
		json_decref(view);
		return http_db_error(r);
	}
	json_object_set_new(view, "title", json_string("My account"));
	json_object_set_new(view, "signout_text", json_string(SIGNOUT_TEXT));
	json_object_set_new(view, "pw_min", json_integer(AUTH_PASSWORD_MIN));
	return http_render(r, status, "account", view);
}

int
people_account(struct req *r)
{
	char done[16] = "";
	const char *qs = r->ri->query_string;
	json_t *view = json_object();

	if (qs != NULL && http_form_get(qs, "done", done, sizeof(done)) &&
	    strcmp(done, "password") == 0)
		json_object_set_new(view, "message", json_string("Your "
		    "password is changed."));
	else if (strcmp(done, "revoked") == 0)
		json_object_set_new(view, "message", json_string("The API "
		    "token is revoked: scripts that use it are refused from now "
		    "on."));
	return people_account_page(r, 200, view);
}

int
people_account_password(struct req *r)
{
	char current[PW_LEN] = "", pw[PW_LEN] = "", pw2[PW_LEN] = "";
	char err[512];
	char *body;
	enum account_fail f;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "current", current, sizeof(current));
	http_form_get(body, "password", pw, sizeof(pw));
	http_form_get(body, "password2", pw2, sizeof(pw2));
	free(body);
	if (strcmp(pw, pw2) != 0)
		return people_account_page(r, 422, json_pack("{s:s}", "pw_error",
		    "the two new passwords differ"));
	f = account_password_change(r->app->db, r->user.id, current, pw, err,
	    sizeof(err));
	if (f == ACCOUNT_INVALID)
		return people_account_page(r, 422, json_pack("{s:s}", "pw_error",
		    err));
	if (f != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	return http_redirect(r, "/account?done=password", NULL);
}

int
people_account_signout_all(struct req *r)
{
	char err[512];
	char *body;
	int n;

	if (!http_read_form(r, &body))
		return 403;
	free(body);
	if (!account_signout_all(r->app->db, r->user.id, &n, err,
	    sizeof(err)))
		return http_db_error(r);
	return http_redirect(r, "/login", "Set-Cookie: " PAGES_COOKIE "=; "
	    "Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n");
}

int
people_reset_form(struct req *r)
{
	char code[128] = "";

	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "code", code, sizeof(code));
	return http_render(r, 200, "reset", json_pack("{s:s, s:s, s:i}",
	    "title", "Set a password", "code", code, "pw_min",
	    AUTH_PASSWORD_MIN));
}

int
people_reset(struct req *r)
{
	char code[128] = "", pw[PW_LEN] = "", pw2[PW_LEN] = "", err[512];
	char *body;
	enum account_fail f;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "code", code, sizeof(code));
	http_form_get(body, "password", pw, sizeof(pw));
	http_form_get(body, "password2", pw2, sizeof(pw2));
	free(body);
	if (strcmp(pw, pw2) != 0) {
		f = ACCOUNT_INVALID;
		util_strlcpy(err, "the two passwords differ", sizeof(err));
	} else
		f = account_code_redeem(r->app->db, code, pw, err,
		    sizeof(err));
	if (f == ACCOUNT_DB)
		return http_db_error(r);
	if (f != ACCOUNT_OK)
		return http_render(r, 422, "reset", json_pack("{s:s, s:s, "
		    "s:s, s:i}", "title", "Set a password", "code", code,
		    "error", err, "pw_min", AUTH_PASSWORD_MIN));
	return http_render(r, 200, "reset", json_pack("{s:s, s:b}", "title",
	    "Password set", "done", 1));
}

int
people_signup_form(struct req *r)
{
	char code[64] = "";

	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "code", code, sizeof(code));
	return signup_page(r, 200, json_pack("{s:s, s:{s:s}, s:i}",
	    "title", "Create your account", "form", "join_code", code,
	    "pw_min", AUTH_PASSWORD_MIN), NULL);
}

/* The sign-up page with the pre-session form token (signin.h). */
static int
signup_page(struct req *r, int status, json_t *ctx, const char *extra)
{
	char token[65], cookie[256], hdr[512];

	signin_form_token(r, token, cookie, sizeof(cookie));
	snprintf(hdr, sizeof(hdr), "%s%sCache-Control: no-store\r\n",
	    cookie, extra != NULL ? extra : "");
	json_object_set_new(ctx, SIGNIN_FORM_FIELD, json_string(token));
	return http_render_with(r, status, "signup", ctx, hdr);
}

/*
 * The join code is checked first, so a wrong one makes no account. The
 * account, the enrolment and the session follow; a sign-in that fails
 * after the account was made sends the student to /login.
 */
int
people_signup(struct req *r)
{
	char name[256] = "", email[256] = "", pw[PW_LEN] = "", code[64] = "";
	char err[512], cookie[256], hdr[64];
	struct course_enrolment e;
	enum signin_result res;
	long long course;
	char *body, *token;
	long retry;

	/* Like a sign-in: the form's own token, not a session's. */
	r->authed = false;
	if (!http_read_body(r, &body))
		return 413;
	if (!signin_form_ok(r, body)) {
		free(body);
		return signup_page(r, 403, json_pack("{s:s, s:s, s:{}, s:i}",
		    "title", "Create your account", "error", "This form has "
		    "expired or did not come from IntroEval: fill it in again "
		    "on this page.", "form", "pw_min", AUTH_PASSWORD_MIN), NULL);
	}
	http_form_get(body, "name", name, sizeof(name));
	http_form_get(body, "email", email, sizeof(email));
	http_form_get(body, "password", pw, sizeof(pw));
	http_form_get(body, "join_code", code, sizeof(code));
	free(body);
	/* Guessing join codes is throttled like guessing passwords. */
	if ((res = signin_check(r, email, &retry)) == SIGNIN_DB)
		return http_db_error(r);
	if (res == SIGNIN_THROTTLED) {
		signin_throttle_words(retry, err, sizeof(err));
		snprintf(hdr, sizeof(hdr), "Retry-After: %ld\r\n", retry);
		return signup_page(r, 429, json_pack("{s:s, s:s, s:{s:s, s:s, "
		    "s:s}, s:i}", "title", "Create your account", "error", err,
		    "form", "name", name, "email", email, "join_code", code,
		    "pw_min", AUTH_PASSWORD_MIN), hdr);
	}
	if (!course_by_join_code(r->app->db, code, &course, err, sizeof(err)))
		return http_db_error(r);
	if (course == 0) {
		signin_count_failure(r, email);
		util_strlcpy(err, "this join code does not open any course: "
		    "check it with your teacher (the code of an archived "
		    "course no longer works)", sizeof(err));
	}
	if (course == 0 || !auth_user_create(r->app->db, email, name,
	    "student", pw, NULL, NULL, err, sizeof(err))) {
		if (auth_hash_busy()) {
			snprintf(hdr, sizeof(hdr), "Retry-After: 5\r\n");
			return signup_page(r, 503, json_pack("{s:s, s:s, "
			    "s:{s:s, s:s, s:s}, s:i}", "title", "Create your "
			    "account", "error", err, "form", "name", name,
			    "email", email, "join_code", code, "pw_min",
			    AUTH_PASSWORD_MIN), hdr);
		}
		return signup_page(r, 422, json_pack("{s:s, s:s, "
		    "s:{s:s, s:s, s:s}, s:i}", "title", "Create your account",
		    "error", err, "form", "name", name, "email", email,
		    "join_code", code, "pw_min", AUTH_PASSWORD_MIN), NULL);
	}
	if (!course_enrol(r->app->db, course, email, "student", "", false, &e,
	    err, sizeof(err)))
		return http_error(r, 409, "your account was made, but %s; "
		    "sign in and ask your teacher to enrol you", err);
	if (signin_attempt(r, email, pw, &token, &retry, err, sizeof(err)) !=
	    SIGNIN_OK)
		return http_redirect(r, "/login", NULL);
	pages_session_cookie(r, token, cookie, sizeof(cookie));
	free(token);
	return http_redirect(r, "/", cookie);
}

int
people_api_user_patch(struct req *r)
{
	char err[512];
	json_t *body, *u, *dis;
	const char *name, *email, *field = NULL;
	enum account_fail f;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK) {
		json_decref(body);
		return fail_reply(r, f, NULL, err);
	}
	json_decref(u);
	name = jstr(body, "name");
	email = jstr(body, "email");
	dis = json_object_get(body, "disabled");
	f = ACCOUNT_OK;
	if (dis != NULL && !json_is_boolean(dis)) {
		f = ACCOUNT_INVALID;
		field = "disabled";
		util_strlcpy(err, "disabled is true or false", sizeof(err));
	} else if (dis != NULL && r->id == r->user.id) {
		f = ACCOUNT_INVALID;
		field = "disabled";
		util_strlcpy(err, "you cannot disable or enable your own "
		    "account", sizeof(err));
	} else if ((json_object_get(body, "name") != NULL && name == NULL) ||
	    (json_object_get(body, "email") != NULL && email == NULL)) {
		f = ACCOUNT_INVALID;
		field = name == NULL && json_object_get(body, "name") != NULL ?
		    "name" : "email";
		snprintf(err, sizeof(err), "%s is text", field);
	}
	/* Which of the two was refused, when only one was sent. */
	if (f == ACCOUNT_OK && (name != NULL || email != NULL) &&
	    (f = account_update(r->app->db, r->id, name, email, err,
	    sizeof(err))) != ACCOUNT_OK)
		field = email == NULL ? "name" : name == NULL ? "email" : NULL;
	if (f == ACCOUNT_OK && dis != NULL)
		f = account_set_disabled(r->app->db, r->id, json_is_true(dis),
		    err, sizeof(err));
	json_decref(body);
	if (f != ACCOUNT_OK)
		return fail_reply(r, f, field, err);
	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	return http_json(r, 200, u);
}

int
people_api_user_reset(struct req *r)
{
	char err[512];
	char *code = NULL;
	json_t *u;
	enum account_fail f;

	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	json_decref(u);
	if (!account_reset_code(r->app->db, r->id, r->user.id,
	    r->app->cfg->reset_code_ttl_h, &code, err, sizeof(err)))
		return http_db_error(r);
	u = json_pack("{s:s, s:s+, s:i}", "code", code, "link",
	    "/reset?code=", code, "valid_hours",
	    r->app->cfg->reset_code_ttl_h);
	free(code);
	return http_json(r, 201, u);
}

int
people_api_me_password(struct req *r)
{
	char err[512];
	json_t *body;
	enum account_fail f;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (jstr(body, "current") == NULL || jstr(body, "password") == NULL) {
		status = http_error_member(r, 422, body, jstr(body, "current") ==
		    NULL ? "current" : "password", "give current and password");
		json_decref(body);
		return status;
	}
	f = account_password_change(r->app->db, r->user.id, jstr(body,
	    "current"), jstr(body, "password"), err, sizeof(err));
	json_decref(body);
	if (f != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	return http_json(r, 200, json_pack("{s:b}", "changed", 1));
}

int
people_api_me_signout_all(struct req *r)
{
	char err[512];
	int n;

	if (!account_signout_all(r->app->db, r->user.id, &n, err,
	    sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:i}", "ended", n));
}

/*
 * GET /api/v1/users (admins): every account, newest first, a page at a
 * time, narrowed by role and q (in the name or email).
 */
int
people_api_users(struct req *r)
{
	static const char *const roles[] = { "student", "teacher", "admin",
	    NULL };
	const char *qs = r->ri->query_string;
	char err[512], role[16], q[128];
	struct auth_user_filter f;
	struct api_page pg;
	struct api_bad bad;
	bool has_q;
	json_t *list;

	if (!api_query_word(qs, "role", roles, role, sizeof(role), &bad) ||
	    !api_query_text(qs, "q", q, sizeof(q), &has_q, &bad) ||
	    !api_query_page(qs, API_PAGE_DEFAULT, API_PAGE_MAX, &pg, &bad))
		return api_refuse(r, &bad);
	memset(&f, 0, sizeof(f));
	f.role = role[0] != '\0' ? role : NULL;
	f.q = has_q ? q : NULL;
	f.after_us = pg.after_us;
	f.after_id = pg.after ? pg.after_id : 0;
	f.limit = pg.limit + 1;	/* one more says whether a next page is */
	if (!auth_users_json(r->app->db, &f, &list, err, sizeof(err)))
		return http_db_error(r);
	return api_page_answer(r, "users", list, pg.limit);
}

/*
 * POST /api/v1/users (admins) {email, name, role, password}: as the
 * users page's form. Without a password one is made and answered once.
 */
int
people_api_user_create(struct req *r)
{
	char err[512];
	char *generated = NULL;
	const char *pw;
	long long id;
	bool refused;
	json_t *body, *u;
	enum account_fail f;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (!json_is_string(json_object_get(body, "email")) ||
	    !json_is_string(json_object_get(body, "name")) ||
	    !json_is_string(json_object_get(body, "role")) ||
	    (json_object_get(body, "password") != NULL &&
	    !json_is_string(json_object_get(body, "password")))) {
		status = http_error_member(r, 400, body, jstr(body, "email") ==
		    NULL ? "email" : jstr(body, "name") == NULL ? "name" :
		    jstr(body, "role") == NULL ? "role" : "password", "send "
		    "{\"email\", \"name\", \"role\" and optionally "
		    "\"password\"} as strings");
		json_decref(body);
		return status;
	}
	if ((pw = jstr(body, "password")) == NULL)
		pw = generated = auth_generate_password();
	if (!auth_user_create(r->app->db, jstr(body, "email"), jstr(body,
	    "name"), jstr(body, "role"), pw, &id, &refused, err,
	    sizeof(err))) {
		json_decref(body);
		free(generated);
		if (auth_hash_busy())
			return http_error_headers(r, 503, "Retry-After: 5\r\n",
			    err);
		return refused ? http_error_code(r, 422, "invalid", NULL, "%s",
		    err) : http_db_error(r);
	}
	json_decref(body);
	if ((f = account_load(r->app->db, &r->user, id, &u, err,
	    sizeof(err))) != ACCOUNT_OK) {
		free(generated);
		return fail_reply(r, f, NULL, err);
	}
	if (generated != NULL)
		json_object_set_new(u, "password", json_string(generated));
	free(generated);
	return http_json(r, 201, u);
}

/*
 * GET /api/v1/users/:id: the account as the staff page /users/:id shows
 * it (account_load's rule: admins any, teachers their students).
 */
int
people_api_user_get(struct req *r)
{
	char err[512];
	json_t *u;
	enum account_fail f;

	if ((f = account_load(r->app->db, &r->user, r->id, &u, err,
	    sizeof(err))) != ACCOUNT_OK)
		return fail_reply(r, f, NULL, err);
	return http_json(r, 200, u);
}
