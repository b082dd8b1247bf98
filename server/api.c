/*
 * api: JSON handlers. Thin by rule: authorize, call store, answer.
 */
#include "api.h"

#include <string.h>

#include "app.h"
#include "db.h"
#include "http.h"
#include "store.h"

int
api_load_submission(struct req *r, json_t **out)
{
	char err[512];
	bool found;
	json_t *sub;

	*out = NULL;
	if (!store_submission_json(r->app->db, r->id, &sub, &found, err,
	    sizeof(err)))
		return http_error(r, 503, "the database is not answering; try "
		    "again in a moment");
	if (!found || (strcmp(r->user.role, "student") == 0 &&
	    json_integer_value(json_object_get(sub, "student_id")) !=
	    r->user.id)) {
		json_decref(sub);
		return http_error(r, 404, "no such submission");
	}
	*out = sub;
	return 0;
}

int
api_healthz(struct req *r)
{
	char err[512];

	if (!db_exec1(r->app->db, "SELECT 1", 0, NULL, err, sizeof(err)))
		return http_json(r, 503, json_pack("{s:s, s:s}", "status",
		    "unavailable", "error", err));
	return http_json(r, 200, json_pack("{s:s, s:s}", "status", "ok",
	    "version", INTROEVAL_VERSION));
}

int
api_me(struct req *r)
{
	return http_json(r, 200, json_pack("{s:I, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)r->user.id, "email", r->user.email,
	    "name", r->user.name, "role", r->user.role,
	    "csrf_token", r->user.csrf));
}

int
api_submissions_list(struct req *r)
{
	char err[512];
	json_t *list;
	long long who = strcmp(r->user.role, "student") == 0 ? r->user.id : 0;

	if (!store_submissions_list(r->app->db, who, 500, &list, err,
	    sizeof(err)))
		return http_error(r, 503, "the database is not answering; try "
		    "again in a moment");
	return http_json(r, 200, json_pack("{s:o}", "submissions", list));
}

int
api_submission_get(struct req *r)
{
	json_t *sub;
	int rc;

	if ((rc = api_load_submission(r, &sub)) != 0)
		return rc;
	return http_json(r, 200, sub);
}
