/*
 * course_admin: a course's settings page (/courses/:id/manage) and its
 * JSON twins: title, archiving, the join code, members and taking them
 * out, and the roster import (roster.h). Who may: an admin, and the
 * course's teachers (course_access); others get 404, as for the
 * course's own page.
 *
 * An archived course is read-only here: no import and no un-enrolment
 * until it is unarchived (course.c refuses its enrolments and join code).
 */
#include "course_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "app.h"
#include "buf.h"
#include "config.h"
#include "dash.h"
#include "course.h"
#include "http.h"
#include "roster.h"
#include "util.h"

#define CSV_FORM_MAX	(64 * 1024)	/* http.c's form limit */
#define ARCHIVED_MSG	"this course is archived, so it is read-only; " \
	"unarchive it first"

static bool	 is_admin(struct req *);
static int	 manage_page(struct req *, int, json_t *);
static const char *done_text(const char *);
static json_t	*codes_csv(const struct roster *);
static void	 csv_field(struct buf *, const char *, const char *);

static bool
is_admin(struct req *r)
{
	return strcmp(r->user.role, "admin") == 0;
}

static const char *
done_text(const char *done)
{
	static const struct { const char *key, *text; } texts[] = {
		{ "renamed", "The title is changed." },
		{ "archived", "Archived: the course is read-only, its join "
		  "code no longer works, and it is listed under Archived." },
		{ "unarchived", "Unarchived: the course is open again." },
		{ "code", "A new join code is made; the old one no longer "
		  "works." },
		{ "unenrolled", "Taken out of the course; their submissions "
		  "stay." },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(texts); i++)
		if (strcmp(texts[i].key, done) == 0)
			return texts[i].text;
	return NULL;
}

static int
manage_page(struct req *r, int status, json_t *view)
{
	char err[512], done[16] = "";
	json_t *course, *members, *m;
	const char *qs = r->ri->query_string;
	size_t i;
	int rc;

	if (!dash_load_course(r, &course, &rc)) {
		json_decref(view);
		return rc;
	}
	if (!course_members(r->app->db, r->id, &members, err, sizeof(err))) {
		json_decref(course);
		json_decref(view);
		return http_db_error(r);
	}
	if (qs != NULL && http_form_get(qs, "done", done, sizeof(done)) &&
	    done_text(done) != NULL)
		json_object_set_new(view, "message", json_string(done_text(
		    done)));
	json_object_set_new(view, "title", json_sprintf("%s · manage",
	    json_string_value(json_object_get(course, "code"))));
	json_object_set_new(view, "course", course);
	/* A teacher takes out students; an admin anyone. */
	json_array_foreach(members, i, m)
		json_object_set_new(m, "may_take_out", json_boolean(is_admin(r)
		    || strcmp(json_string_value(json_object_get(m, "role")),
		    "student") == 0));
	json_object_set_new(view, "members", members);
	json_object_set_new(view, "has_members", json_boolean(
	    json_array_size(members) > 0));
	json_object_set_new(view, "admin", json_boolean(is_admin(r)));
	json_object_set_new(view, "code_ttl_h", json_integer(
	    r->app->cfg->reset_code_ttl_h));
	return http_render(r, status, "course_manage", view);
}

int
course_admin_page(struct req *r)
{
	return manage_page(r, 200, json_object());
}

int
course_admin_update(struct req *r)
{
	char action[16] = "", title[256] = "", uid[32] = "", err[512];
	char loc[96];
	const char *done = action;
	json_t *course;
	char *body;
	bool ok, found = true, archived;
	int rc;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "action", action, sizeof(action));
	http_form_get(body, "title", title, sizeof(title));
	http_form_get(body, "user_id", uid, sizeof(uid));
	free(body);
	if (!dash_load_course(r, &course, &rc))
		return rc;
	archived = json_is_true(json_object_get(course, "archived"));
	json_decref(course);
	if (strcmp(action, "rename") == 0) {
		ok = course_rename(r->app->db, r->id, title, &found, err,
		    sizeof(err));
		done = "renamed";
	} else if (strcmp(action, "archive") == 0 ||
	    strcmp(action, "unarchive") == 0) {
		ok = course_set_archived(r->app->db, r->id, action[0] == 'a',
		    &found, err, sizeof(err));
		done = action[0] == 'a' ? "archived" : "unarchived";
	} else if (strcmp(action, "new_code") == 0) {
		ok = course_new_join_code(r->app->db, r->id, &found, err,
		    sizeof(err));
		done = "code";
	} else if (strcmp(action, "unenrol") == 0 && archived) {
		ok = util_seterr(err, sizeof(err), ARCHIVED_MSG);
	} else if (strcmp(action, "unenrol") == 0) {
		ok = course_unenrol(r->app->db, r->id, atoll(uid),
		    !is_admin(r), &found, err, sizeof(err));
		done = "unenrolled";
	} else
		ok = util_seterr(err, sizeof(err), "unknown action");
	if (!ok && !found && strcmp(action, "unenrol") != 0)
		return http_db_error(r);
	if (!ok)
		return manage_page(r, 422, json_pack("{s:s, s:s}", "error", err,
		    "form_title", title));
	snprintf(loc, sizeof(loc), "/courses/%lld/manage?done=%s", r->id,
	    done);
	return http_redirect(r, loc, NULL);
}

/* A quoted RFC 4180 field and what follows it. */
static void
csv_field(struct buf *b, const char *s, const char *after)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
	buf_puts(b, after);
}

/* The one-time codes of an import as a data: link's CSV text. */
static json_t *
codes_csv(const struct roster *ro)
{
	struct buf b;
	char *enc;
	size_t cap;
	json_t *out;
	int i;

	buf_init(&b);
	buf_puts(&b, "email,name,section,student_number,code\r\n");
	for (i = 0; i < ro->nrows; i++) {
		const struct roster_row *row = &ro->rows[i];

		if (row->code == NULL)
			continue;
		csv_field(&b, row->email, ",");
		csv_field(&b, row->name, ",");
		csv_field(&b, row->section, ",");
		csv_field(&b, row->number, ",");
		csv_field(&b, row->code, "\r\n");
	}
	cap = b.len * 3 + 1;
	enc = xmalloc(cap);
	mg_url_encode(buf_cstr(&b), enc, cap);
	out = json_sprintf("data:text/csv;charset=utf-8,%s", enc);
	free(enc);
	buf_free(&b);
	return out;
}

int
course_admin_roster(struct req *r)
{
	char action[16] = "", err[512];
	char *body, *csv = xmalloc(CSV_FORM_MAX + 1);
	struct roster ro;
	json_t *course, *view;
	bool ok, import;
	int rc;

	csv[0] = '\0';
	if (!http_read_form(r, &body)) {
		free(csv);
		return 403;
	}
	http_form_get(body, "action", action, sizeof(action));
	http_form_get(body, "csv", csv, CSV_FORM_MAX + 1);
	free(body);
	if (!dash_load_course(r, &course, &rc)) {
		free(csv);
		return rc;
	}
	if (json_is_true(json_object_get(course, "archived"))) {
		json_decref(course);
		free(csv);
		return manage_page(r, 409, json_pack("{s:s}", "roster_error",
		    ARCHIVED_MSG));
	}
	json_decref(course);
	import = strcmp(action, "import") == 0;
	ok = import ? roster_import(r->app->db, r->id, r->user.id,
	    r->app->cfg->reset_code_ttl_h, csv, strlen(csv), &ro, err,
	    sizeof(err)) : roster_check(r->app->db, r->id, csv, strlen(csv),
	    &ro, err, sizeof(err));
	if (!ok) {
		roster_free(&ro);
		free(csv);
		return manage_page(r, 503, json_pack("{s:s}", "roster_error",
		    "the import failed and nothing was imported; try again"));
	}
	view = json_pack("{s:o, s:s}", "roster", roster_json(&ro), "csv",
	    ro.imported ? "" : csv);
	json_object_set_new(view, "roster_ok", json_boolean(ro.nerrors == 0 &&
	    !ro.imported));
	/* Numbers are truthy in templates: absent when there are none. */
	if (ro.nrows > 0)
		json_object_set_new(view, "roster_n", json_integer(ro.nrows));
	if (ro.nerrors > 0 && ro.file_error[0] == '\0')
		json_object_set_new(view, "roster_row_errors", json_integer(
		    ro.nerrors));
	if (ro.imported)
		json_object_set_new(view, "codes_href", codes_csv(&ro));
	rc = ro.nerrors > 0 ? 422 : 200;
	roster_free(&ro);
	free(csv);
	return manage_page(r, rc, view);
}

int
course_admin_api_patch(struct req *r)
{
	char err[512];
	json_t *body, *course, *title, *arch, *tz;
	const char *field = NULL;
	bool ok = true, found = true, invalid = false;
	int rc;

	if (!dash_load_course(r, &course, &rc))
		return rc;
	json_decref(course);
	if ((body = http_read_json(r, &rc)) == NULL)
		return rc;
	title = json_object_get(body, "title");
	arch = json_object_get(body, "archived");
	tz = json_object_get(body, "time_zone");
	if ((title != NULL && !json_is_string(title)) || (arch != NULL &&
	    !json_is_boolean(arch)) || (tz != NULL && !json_is_string(tz))) {
		json_decref(body);
		return http_error_field(r, 400, "invalid", title != NULL &&
		    !json_is_string(title) ? "title" : arch != NULL &&
		    !json_is_boolean(arch) ? "archived" : "time_zone", "send "
		    "a JSON object with any of title (text), archived (true or "
		    "false) and time_zone (an IANA name such as Europe/Berlin)");
	}
	if (title != NULL && !(ok = course_rename(r->app->db, r->id,
	    json_string_value(title), &found, err, sizeof(err))))
		field = "title";
	if (ok && arch != NULL && !(ok = course_set_archived(r->app->db, r->id,
	    json_is_true(arch), &found, err, sizeof(err))))
		field = "archived";
	if (ok && tz != NULL && !course_set_time_zone(r->app->db, r->id,
	    json_string_value(tz), &invalid, err, sizeof(err))) {
		ok = false;
		found = invalid;
		field = "time_zone";
	}
	json_decref(body);
	if (!ok)
		return found ? http_error_field(r, 422, "invalid", field, "%s",
		    err) : http_db_error(r);
	if (!dash_load_course(r, &course, &rc))
		return rc;
	return http_json(r, 200, course);
}

int
course_admin_api_unenrol(struct req *r)
{
	char err[512];
	json_t *course;
	bool found, archived;
	int rc;

	if (!dash_load_course(r, &course, &rc))
		return rc;
	archived = json_is_true(json_object_get(course, "archived"));
	json_decref(course);
	if (archived)
		return http_error_code(r, 409, "archived", NULL, ARCHIVED_MSG);
	if (!course_unenrol(r->app->db, r->id, r->id2, !is_admin(r), &found,
	    err, sizeof(err)))
		return http_error(r, found ? 403 : 404, "%s", err);
	return http_json(r, 200, json_pack("{s:b}", "unenrolled", 1));
}

int
course_admin_api_roster(struct req *r)
{
	char dry[8] = "", err[512];
	char *csv;
	struct roster ro;
	json_t *course;
	bool ok, archived;
	int rc;

	if (!dash_load_course(r, &course, &rc))
		return rc;
	archived = json_is_true(json_object_get(course, "archived"));
	json_decref(course);
	if (archived)
		return http_error_code(r, 409, "archived", NULL, ARCHIVED_MSG);
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "dry_run", dry, sizeof(dry));
	if (!http_read_body(r, &csv))
		return 413;
	ok = strcmp(dry, "1") == 0 ? roster_check(r->app->db, r->id, csv,
	    strlen(csv), &ro, err, sizeof(err)) : roster_import(r->app->db,
	    r->id, r->user.id, r->app->cfg->reset_code_ttl_h, csv,
	    strlen(csv), &ro, err, sizeof(err));
	free(csv);
	if (!ok) {
		roster_free(&ro);
		return http_db_error(r);
	}
	rc = ro.nerrors > 0 ? 422 : ro.imported ? 201 : 200;
	course = roster_json(&ro);
	if (rc == 422) {
		/* The report stays beside the error: it says which rows. */
		char msg[300];
		json_t *e;

		if (ro.file_error[0] != '\0')
			util_strlcpy(msg, ro.file_error, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "%d row%s of the class list "
			    "%s errors; nothing was imported", ro.nerrors,
			    ro.nerrors == 1 ? "" : "s", ro.nerrors == 1 ?
			    "has" : "have");
		e = http_error_body(422, "invalid_roster", NULL, msg);
		json_object_update(course, e);
		json_decref(e);
	}
	roster_free(&ro);
	return http_json(r, rc, course);
}
