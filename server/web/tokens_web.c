/*
 * tokens_web: see tokens_web.h. A token may not make another token: a
 * leaked one could otherwise outlive its own revocation. Making one
 * takes a signed-in session (the page, or a /login session token).
 */
#include "tokens_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_query.h"
#include "apitoken.h"
#include "app.h"
#include "audit.h"
#include "http.h"
#include "log.h"
#include "people.h"
#include "util.h"

static bool	 staff(const struct req *);
static int	 create(struct req *, const char *, const char *, long long,
		    json_t **);
static void	 audit(struct req *, const char *, long long, const char *,
		    const char *);

static bool
staff(const struct req *r)
{
	return strcmp(r->user.role, "teacher") == 0 ||
	    strcmp(r->user.role, "admin") == 0;
}

/* Writes "api_token.created" or ".revoked" for token id. */
static void
audit(struct req *r, const char *action, long long id, const char *name,
    const char *scope)
{
	char subject[64], err[512];
	json_t *d = json_pack("{s:I, s:s}", "token_id", (json_int_t)id,
	    "token_name", name);

	if (scope != NULL)
		json_object_set_new(d, "scope", json_string(scope));
	snprintf(subject, sizeof(subject), "api token %lld", id);
	if (!audit_write(r->app->db, NULL, r->user.id, action, subject, d, err,
	    sizeof(err)))
		log_warnx("audit: %s token=%lld: %s", action, id, err);
	json_decref(d);
}

/*
 * Makes a token (the input already checked); the status of the error
 * answered, or 0 with *out the new token (its secret inside).
 */
static int
create(struct req *r, const char *name, const char *scope, long long days,
    json_t **out)
{
	char err[512];
	long long id;

	*out = NULL;
	if (r->apitoken.id != 0)
		return http_error_code(r, 403, "token_not_allowed", NULL, "an "
		    "API token cannot make tokens; sign in (the account page, "
		    "or POST /login) to make one");
	if (!apitoken_create(r->app->db, r->user.id, name, scope, days, out,
	    err, sizeof(err)))
		return http_db_error(r);
	id = json_integer_value(json_object_get(*out, "id"));
	audit(r, "api_token.created", id, name, scope);
	log_info("api token=%lld created user=%lld scope=%s", id, r->user.id,
	    scope);
	return 0;
}

int
tokens_api_list(struct req *r)
{
	char err[512];
	json_t *list;

	if (!apitoken_list(r->app->db, r->user.id, &list, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "tokens", list));
}

int
tokens_api_create(struct req *r)
{
	const char *name, *scope, *field;
	json_t *body, *days, *out = NULL;
	long long n = 0;
	char err[512];
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	name = json_string_value(json_object_get(body, "name"));
	scope = json_string_value(json_object_get(body, "scope"));
	days = json_object_get(body, "expires_in_days");
	if (days != NULL && !json_is_null(days))
		n = json_is_integer(days) && json_integer_value(days) > 0 ?
		    json_integer_value(days) : -1;
	if (!apitoken_check(name, scope, n, &field, err, sizeof(err)))
		status = http_error_field(r, 422, "invalid", field, "%s", err);
	else
		status = create(r, name, scope, n, &out);
	json_decref(body);
	return status != 0 ? status : http_json(r, 201, out);
}

int
tokens_api_revoke(struct req *r)
{
	char err[512], *name;
	int status;

	if (!apitoken_revoke(r->app->db, r->user.id, r->id, &name, err,
	    sizeof(err)))
		return http_db_error(r);
	if (name == NULL)
		return http_error_code(r, 404, "not_found", NULL, "you have no "
		    "live API token %lld", r->id);
	audit(r, "api_token.revoked", r->id, name, NULL);
	status = http_json(r, 200, json_pack("{s:I, s:s, s:b}", "id",
	    (json_int_t)r->id, "name", name, "revoked", 1));
	free(name);
	return status;
}

bool
tokens_account_view(struct req *r, json_t *view)
{
	char err[512];
	json_t *list;

	if (!staff(r))
		return true;
	if (!apitoken_list(r->app->db, r->user.id, &list, err, sizeof(err)))
		return false;
	json_object_set_new(view, "may_tokens", json_true());
	json_object_set_new(view, "has_tokens", json_boolean(
	    json_array_size(list) > 0));
	json_object_set_new(view, "tokens", list);
	return true;
}

int
tokens_form_create(struct req *r)
{
	char name[APITOKEN_NAME_MAX * 4 + 8] = "", scope[8] = "";
	char days_text[16] = "", err[512], *body, *end;
	const char *field;
	long long days = 0;
	json_t *out, *view;
	int status;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "name", name, sizeof(name));
	http_form_get(body, "scope", scope, sizeof(scope));
	http_form_get(body, "expires_in_days", days_text, sizeof(days_text));
	free(body);
	if (days_text[0] != '\0') {
		days = strtoll(days_text, &end, 10);
		if (*end != '\0' || days <= 0)
			days = -1;
	}
	view = json_object();
	if (!apitoken_check(name, scope, days, &field, err,
	    sizeof(err))) {
		json_object_set_new(view, "token_error", json_string(err));
		json_object_set_new(view, "token_name", json_string(name));
		return people_account_page(r, 422, view);
	}
	if ((status = create(r, name, scope, days, &out)) != 0) {
		json_decref(view);
		return status;
	}
	json_object_set_new(view, "new_token", out);
	return people_account_page(r, 200, view);
}

int
tokens_form_revoke(struct req *r)
{
	char err[512], *body, *name;

	if (!http_read_form(r, &body))
		return 403;
	free(body);
	if (!apitoken_revoke(r->app->db, r->user.id, r->id, &name, err,
	    sizeof(err)))
		return http_db_error(r);
	if (name == NULL)
		return http_error(r, 404, "you have no live API token %lld",
		    r->id);
	audit(r, "api_token.revoked", r->id, name, NULL);
	free(name);
	return http_redirect(r, "/account?done=revoked#tokens", NULL);
}
