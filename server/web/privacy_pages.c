/*
 * privacy_pages: see privacy_pages.h. Thin handlers: parse, call consent_,
 * privacy_ or audit_, render. The export streams a ZIP whose exact
 * length is known before the first byte (zip_stored_size), so a
 * recording that cannot be read whole shows as a short body, as with
 * the media route.
 */
#include "privacy_pages.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "app.h"
#include "audit.h"
#include "consent.h"
#include "http.h"
#include "log.h"
#include "privacy.h"
#include "util.h"
#include "zip.h"

#define AUDIT_PAGE	50

/* A recording opened for the export. */
struct export_file {
	const char	*name;		/* in the archive */
	int		 fd;
	uint64_t	 size;
	time_t		 mtime;
};

static bool	 is_student(const struct req *);
static int	 consent_page(struct req *, int, const char *, const char *);
static int	 requests_page(struct req *, int, json_t *);
static bool	 send_bytes(void *, const void *, size_t);
static size_t	 open_files(struct req *, json_t *, json_t *,
		    struct export_file *);
static long long query_ll(struct req *, const char *, long long);
static json_t	*compact(json_t *);

static bool
is_student(const struct req *r)
{
	return strcmp(r->user.role, "student") == 0;
}

/* value as one line of JSON text, for a page. */
static json_t *
compact(json_t *value)
{
	char *t = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY);
	json_t *s = json_string(t != NULL ? t : "");

	free(t);
	return s;
}

/* A number from the query string, or def. */
static long long
query_ll(struct req *r, const char *name, long long def)
{
	char v[32];
	char *end;
	long long n;

	if (r->ri->query_string == NULL || !http_form_get(r->ri->query_string,
	    name, v, sizeof(v)))
		return def;
	n = strtoll(v, &end, 10);
	return *end == '\0' && end != v ? n : def;
}

int
privacy_consent_gate(struct req *r)
{
	char err[512];
	bool needed;

	if (!is_student(r))
		return 0;
	if (!consent_needed(r->app->db, r->user.id, &needed, err, sizeof(err)))
		return http_db_error(r);
	return needed ? http_error_code(r, 403, "consent_required", NULL,
	    CONSENT_REFUSAL) : 0;
}

bool
privacy_home_view(struct req *r, json_t *view)
{
	char err[512], flash[32] = "";
	json_t *consent, *req;

	if (!consent_status(r->app->db, r->user.id, &consent, err,
	    sizeof(err)))
		return false;
	if (!privacy_open_request(r->app->db, r->user.id, &req, err,
	    sizeof(err))) {
		json_decref(consent);
		return false;
	}
	json_object_set_new(view, "consent_needed", json_boolean(
	    json_is_true(json_object_get(consent, "required"))));
	json_object_set_new(view, "consent", consent);
	json_object_set_new(view, "deletion_request", req);
	if (r->ri->query_string != NULL)
		http_form_get(r->ri->query_string, "privacy", flash,
		    sizeof(flash));
	if (strcmp(flash, "stale") == 0)
		json_object_set_new(view, "privacy_flash", json_string("The "
		    "consent text changed while you were reading it. Please "
		    "read the current version below."));
	else if (strcmp(flash, "requested") == 0)
		json_object_set_new(view, "privacy_flash", json_string("Your "
		    "request is recorded. An administrator will delete your "
		    "account and data; until then everything stays as it "
		    "is."));
	else if (strcmp(flash, "accepted") == 0)
		json_object_set_new(view, "privacy_flash", json_string(
		    "Thank you. You can upload your introduction now."));
	return true;
}

/* ---- consent ---------------------------------------------------------- */

static int
consent_page(struct req *r, int status, const char *error, const char *text)
{
	char err[512];
	json_t *history, *cur;

	if (!consent_history(r->app->db, &history, err, sizeof(err)))
		return http_db_error(r);
	cur = json_array_get(history, 0);
	return http_render(r, status, "consent", json_pack("{s:s, s:o, s:b, "
	    "s:O?, s:s?, s:s, s:b, s:b}", "title", "Recording consent",
	    "versions", history, "has_versions", cur != NULL, "current",
	    cur, "error", error, "draft", text != NULL ? text : cur != NULL ?
	    json_string_value(json_object_get(cur, "text")) : "", "saved",
	    query_ll(r, "saved", 0) > 0, "nav_consent", 1));
}

int
privacy_consent_page(struct req *r)
{
	return consent_page(r, 200, NULL, NULL);
}

int
privacy_consent_save(struct req *r)
{
	char *body, *text, err[512];
	long long version;
	size_t cap;
	int rc;

	if (!http_read_form(r, &body))
		return 403;
	cap = strlen(body) + 1;
	text = xmalloc(cap);
	if (!http_form_get(body, "text", text, cap))
		text[0] = '\0';
	free(body);
	switch (consent_set(r->app->db, r->user.id, text, &version, err,
	    sizeof(err))) {
	case CONSENT_OK:
		snprintf(err, sizeof(err), "/admin/consent?saved=%lld",
		    version);
		rc = http_redirect(r, err, NULL);
		break;
	case CONSENT_INVALID:
	case CONSENT_STALE:
		rc = consent_page(r, 422, err, text);
		break;
	default:
		log_warnx("consent: not saved: %s", err);
		rc = http_db_error(r);
	}
	free(text);
	return rc;
}

int
privacy_consent_accept_form(struct req *r)
{
	char *body, v[32] = "", err[512];
	enum consent_outcome o;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "version", v, sizeof(v));
	free(body);
	o = consent_accept(r->app->db, r->user.id, strtoll(v, NULL, 10), err,
	    sizeof(err));
	if (o == CONSENT_DB_ERROR)
		return http_db_error(r);
	return http_redirect(r, o == CONSENT_OK ? "/?privacy=accepted" :
	    "/?privacy=stale", NULL);
}

int
privacy_api_consent(struct req *r)
{
	char err[512];
	json_t *out;

	if (!consent_status(r->app->db, r->user.id, &out, err, sizeof(err)))
		return http_db_error(r);
	if (!is_student(r))
		json_object_set_new(out, "required", json_false());
	return http_json(r, 200, out);
}

int
privacy_api_consent_accept(struct req *r)
{
	char err[512];
	json_t *body;
	json_int_t version;
	enum consent_outcome o;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (json_unpack(body, "{s:I}", "version", &version) != 0) {
		status = http_error_member(r, 400, body, "version", "send "
		    "{\"version\": N}, the version of the consent text you "
		    "accept");
		json_decref(body);
		return status;
	}
	json_decref(body);
	o = consent_accept(r->app->db, r->user.id, version, err, sizeof(err));
	if (o == CONSENT_DB_ERROR)
		return http_db_error(r);
	if (o != CONSENT_OK)
		return http_error_field(r, 409, o == CONSENT_STALE ?
		    "stale_version" : "conflict", "version", "%s", err);
	return privacy_api_consent(r);
}

int
privacy_api_consent_set(struct req *r)
{
	char err[512];
	const char *t = NULL;
	json_t *body;
	long long version;
	enum consent_outcome o;
	int status;

	if ((body = http_read_json(r, &status)) == NULL)
		return status;
	if (json_unpack(body, "{s:s}", "text", &t) != 0) {
		status = http_error_member(r, 400, body, "text", "send "
		    "{\"text\": \"...\"}, the consent text students will "
		    "accept");
		json_decref(body);
		return status;
	}
	o = consent_set(r->app->db, r->user.id, t, &version, err,
	    sizeof(err));
	json_decref(body);
	if (o == CONSENT_DB_ERROR)
		return http_db_error(r);
	if (o != CONSENT_OK)
		return http_error_field(r, 400, "invalid", "text", "%s", err);
	return http_json(r, 201, json_pack("{s:I}", "version",
	    (json_int_t)version));
}

/* ---- export ----------------------------------------------------------- */

static bool
send_bytes(void *arg, const void *buf, size_t len)
{
	struct req *r = arg;

	return mg_write(r->conn, buf, len) == (int)len;
}

/*
 * Opens the recordings listed in files; one that cannot be opened is
 * left out and its submission's recording_file becomes null. Returns
 * how many were opened into out.
 */
static size_t
open_files(struct req *r, json_t *data, json_t *files,
    struct export_file *out)
{
	json_t *f, *s;
	struct stat st;
	char path[1024];
	const char *stored;
	size_t i, j, n = 0;
	int fd;

	json_array_foreach(files, i, f) {
		stored = json_string_value(json_object_get(f, "stored_name"));
		snprintf(path, sizeof(path), "%s/%s", r->app->uploads_dir,
		    stored);
		fd = strchr(stored, '/') == NULL ? open(path, O_RDONLY |
		    O_CLOEXEC) : -1;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			out[n].name = json_string_value(json_object_get(f,
			    "zip_name"));
			out[n].fd = fd;
			out[n].size = (uint64_t)st.st_size;
			out[n].mtime = (time_t)json_integer_value(
			    json_object_get(f, "created_at"));
			n++;
			continue;
		}
		log_warn("export user=%lld: recording %s", r->user.id, path);
		if (fd >= 0)
			close(fd);
		json_array_foreach(json_object_get(data, "submissions"), j, s)
			if (json_equal(json_object_get(s, "id"),
			    json_object_get(f, "submission_id")))
				json_object_set_new(s, "recording_file",
				    json_null());
	}
	return n;
}

int
privacy_api_export(struct req *r)
{
	char err[512], hdr[256];
	json_t *data, *files;
	struct export_file *ef;
	const char **names;
	uint64_t *sizes, total;
	struct zip *z;
	char *text;
	size_t n, i;
	bool ok;
	int status;

	if (!privacy_export(r->app->db, r->user.id, &data, &files, err,
	    sizeof(err)))
		return http_db_error(r);
	ef = xcalloc(json_array_size(files) + 1, sizeof(*ef));
	n = open_files(r, data, files, ef);
	text = json_dumps(data, JSON_INDENT(2) | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(10));
	names = xcalloc(n + 1, sizeof(*names));
	sizes = xcalloc(n + 1, sizeof(*sizes));
	names[0] = "data.json";
	sizes[0] = strlen(text);
	for (i = 0; i < n; i++) {
		names[i + 1] = ef[i].name;
		sizes[i + 1] = ef[i].size;
	}
	if (!zip_stored_size(n + 1, names, sizes, &total)) {
		status = http_error(r, 413, "your data is larger than 4 GiB, "
		    "more than one download can hold; ask an administrator "
		    "for a copy");
		goto out;
	}
	snprintf(hdr, sizeof(hdr), "Content-Disposition: attachment; "
	    "filename=\"introeval-data-%lld.zip\"\r\nCache-Control: "
	    "no-store\r\n", r->user.id);
	status = http_send_head(r, 200, "application/zip", (long long)total,
	    hdr);
	if (strcmp(r->ri->request_method, "HEAD") == 0)
		goto out;
	z = zip_new(send_bytes, r);
	ok = zip_add_buffer(z, "data.json", text, sizes[0], time(NULL), err,
	    sizeof(err));
	for (i = 0; ok && i < n; i++)
		ok = zip_add_fd(z, ef[i].name, ef[i].fd, ef[i].mtime, err,
		    sizeof(err));
	if (!ok || !zip_finish(z, err, sizeof(err)))
		log_warnx("export user=%lld cut short: %s", r->user.id, err);
	zip_free(z);
out:
	for (i = 0; i < n; i++)
		close(ef[i].fd);
	free(ef);
	free(names);
	free(sizes);
	free(text);
	json_decref(data);
	json_decref(files);
	return status;
}

/* ---- deletion requests ------------------------------------------------ */

int
privacy_deletion_form(struct req *r)
{
	char *body, confirm[8] = "", err[512];
	json_t *out;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "confirm", confirm, sizeof(confirm));
	free(body);
	if (strcmp(confirm, "1") != 0)
		return http_redirect(r, "/#my-data", NULL);
	switch (privacy_request_deletion(r->app->db, r->user.id, &out, err,
	    sizeof(err))) {
	case PRIVACY_OK:
	case PRIVACY_DONE:	/* asked before: the page says so */
		json_decref(out);
		return http_redirect(r, "/?privacy=requested#my-data", NULL);
	default:
		return http_db_error(r);
	}
}

int
privacy_api_deletion(struct req *r)
{
	char err[512];
	json_t *out;

	switch (privacy_request_deletion(r->app->db, r->user.id, &out, err,
	    sizeof(err))) {
	case PRIVACY_OK:
		return http_json(r, 201, out);
	case PRIVACY_DONE:
		return http_error_code(r, 409, "already_requested", NULL, "%s",
		    err);
	default:
		return http_db_error(r);
	}
}

static int
requests_page(struct req *r, int status, json_t *extra)
{
	char err[512];
	json_t *list, *x;
	long long n, busy;
	size_t i, open = 0;

	if (!privacy_requests(r->app->db, &list, err, sizeof(err))) {
		json_decref(extra);
		return http_db_error(r);
	}
	json_array_foreach(list, i, x) {
		n = json_integer_value(json_object_get(x, "submissions"));
		busy = json_integer_value(json_object_get(x, "in_pipeline"));
		open += json_is_true(json_object_get(x, "open"));
		json_object_set_new(x, "holds_text", busy > 0 ? json_sprintf(
		    "%lld submission%s, %lld still being processed (cancelled "
		    "first)", n, n == 1 ? "" : "s", busy) : json_sprintf("%lld "
		    "submission%s", n, n == 1 ? "" : "s"));
	}
	json_object_set_new(extra, "title", json_string("Deletion requests"));
	json_object_set_new(extra, "nav_requests", json_true());
	json_object_set_new(extra, "requests", list);
	json_object_set_new(extra, "has_requests", json_boolean(
	    json_array_size(list) > 0));
	json_object_set_new(extra, "open_count", json_integer((json_int_t)
	    open));
	return http_render(r, status, "requests", extra);
}

int
privacy_requests_page(struct req *r)
{
	json_t *extra = json_object();
	long long done = query_ll(r, "done", 0);

	if (done > 0)
		json_object_set_new(extra, "flash", json_sprintf("Request %lld "
		    "was carried out: the account and its data are deleted.",
		    done));
	return requests_page(r, 200, extra);
}

int
privacy_carry_out_form(struct req *r)
{
	char *body, confirm[8] = "", err[512], loc[64];
	json_t *out;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "confirm", confirm, sizeof(confirm));
	free(body);
	if (strcmp(confirm, "1") != 0)
		return requests_page(r, 422, json_pack("{s:s}", "error",
		    "Tick the box to confirm that the account and all its "
		    "data are to be deleted."));
	switch (privacy_carry_out(r->app->db, r->app->uploads_dir, r->id,
	    r->user.id, &out, err, sizeof(err))) {
	case PRIVACY_OK:
		json_decref(out);
		snprintf(loc, sizeof(loc), "/admin/requests?done=%lld", r->id);
		return http_redirect(r, loc, NULL);
	case PRIVACY_NOT_FOUND:
		return http_error(r, 404, "%s", err);
	case PRIVACY_DONE:
		return requests_page(r, 409, json_pack("{s:s}", "error", err));
	default:
		log_warnx("deletion request=%lld: %s", r->id, err);
		return http_db_error(r);
	}
}

/* ---- audit log -------------------------------------------------------- */

int
privacy_audit_page(struct req *r)
{
	long long page = query_ll(r, "page", 1), pages;
	char err[512];
	json_t *out, *e;
	json_int_t total;
	size_t i;

	if (page < 1)
		page = 1;
	if (!audit_page(r->app->db, (page - 1) * AUDIT_PAGE, AUDIT_PAGE, &out,
	    err, sizeof(err)))
		return http_db_error(r);
	total = json_integer_value(json_object_get(out, "total"));
	pages = total == 0 ? 1 : (total + AUDIT_PAGE - 1) / AUDIT_PAGE;
	json_array_foreach(json_object_get(out, "entries"), i, e)
		json_object_set_new(e, "details_text",
		    compact(json_object_get(e, "details")));
	json_object_set_new(out, "title", json_string("Audit log"));
	json_object_set_new(out, "nav_audit", json_true());
	json_object_set_new(out, "page", json_integer(page));
	json_object_set_new(out, "pages", json_integer(pages));
	if (page > 1)
		json_object_set_new(out, "prev_page", json_integer(page - 1));
	if (page < pages)
		json_object_set_new(out, "next_page", json_integer(page + 1));
	json_object_set_new(out, "has_entries", json_boolean(total > 0));
	return http_render(r, 200, "audit", out);
}

int
privacy_api_audit(struct req *r)
{
	long long page = query_ll(r, "page", 1);
	char err[512];
	json_t *out;

	if (page < 1)
		page = 1;
	if (!audit_page(r->app->db, (page - 1) * AUDIT_PAGE, AUDIT_PAGE, &out,
	    err, sizeof(err)))
		return http_db_error(r);
	json_object_set_new(out, "page", json_integer(page));
	json_object_set_new(out, "per_page", json_integer(AUDIT_PAGE));
	return http_json(r, 200, out);
}
