/*
 * tus: the resumable-upload protocol handlers (see tus.h; the table and
 * expiry are in tus_store.c).
 *
 * A PATCH streams its body with mg_read straight into the upload's data
 * file, never more than Upload-Length in all (which is itself capped by
 * upload_max_mb), holding an exclusive flock(2) on the file so that two
 * connections cannot append at once: the second gets 423 and retries.
 * Bytes are kept as they arrive, so a client that goes away mid-body
 * resumes from what was written. The upload's offset is the file's
 * size, checked against Upload-Offset under the lock (409 if they
 * differ). The PATCH that writes the last byte hands the file to
 * upload_accept() while still holding the lock, and records the outcome
 * in the row before letting go.
 *
 * Every answer made here carries Tus-Resumable; errors are JSON
 * {"error": {"code", "message"}} like the rest of the API. The data
 * file's name is the server's; the client's file name (Upload-Metadata
 * "filename") is only a label.
 */
#include "tus.h"
#include "tus_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "assignment.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "media.h"
#include "privacy_pages.h"
#include "util.h"

#define TUS_CHUNK	(64 * 1024)
#define HDR_MAX		2048
#define CONTENT_TYPE	"application/offset+octet-stream"
#define NO_SUCH		"there is no such upload (unfinished uploads are " \
			"removed %d hours after their last byte)"

/* Where a PATCH's body went. */
struct patch {
	int		 fd;
	long long	 offset;	/* the file's size: bytes received */
	int		 status;	/* 0, or the error already answered */
};

static int	 answer(struct req *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 fail(struct req *, int, bool, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 6, 7)));
static int	 db_fail(struct req *, bool, const char *);
static bool	 version_ok(struct req *, int *);
static void	 expires_header(double, char *, size_t);
static void	 outcome_headers(const struct tus_row *, char *, size_t);
static int	 check_create(struct req *, long long *, char *, size_t,
		    long long *);
static int	 load(struct req *, struct tus_row *);
static int	 answer_finished(struct req *, const struct tus_row *);
static int	 open_locked(struct req *, const struct tus_row *,
		    struct patch *);
static void	 receive(struct req *, const struct tus_row *, struct patch *);
static int	 complete(struct req *, struct tus_row *, struct patch *);
static bool	 finish(struct app *, struct tus_row *, int, long long,
		    struct upload_done *, char *, size_t);

/*
 * Answers with no body; fmt adds header lines ("Name: value\r\n"). Every
 * answer says no-store: an offset is only true for a moment.
 */
static int
answer(struct req *r, int status, const char *fmt, ...)
{
	char extra[HDR_MAX], hdr[HDR_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	snprintf(hdr, sizeof(hdr), "Tus-Resumable: " TUS_VERSION "\r\n"
	    "Cache-Control: no-store\r\n%s", extra);
	return http_send(r, status, "text/plain", "", 0, hdr);
}

/*
 * A JSON error. close: the request's body was not read, so the
 * connection is not reused (the client may still be sending it).
 */
static int
fail(struct req *r, int status, bool close, const char *extra,
    const char *code, const char *fmt, ...)
{
	char msg[1024], hdr[HDR_MAX + 256], *body;
	json_t *o;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status >= 500)
		log_warnx("tus %s %s status=%d: %s", r->ri->request_method,
		    r->ri->local_uri, status, msg);
	snprintf(hdr, sizeof(hdr), "Tus-Resumable: " TUS_VERSION "\r\n"
	    "Tus-Version: " TUS_VERSION "\r\nCache-Control: no-store\r\n%s%s",
	    extra != NULL ? extra : "", close && status != 413 ?
	    "Connection: close\r\n" : "");
	o = http_error_body(status, code, NULL, msg);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	rc = http_send(r, status, "application/json", body, strlen(body), hdr);
	free(body);
	return rc;
}

/* A failed database call, in the words and status http_db_status gives. */
static int
db_fail(struct req *r, bool close, const char *extra)
{
	const char *msg, *retry;
	char hdr[HDR_MAX + 64];
	int status = http_db_status(&msg, &retry);

	snprintf(hdr, sizeof(hdr), "%s%s", retry, extra != NULL ? extra : "");
	return fail(r, status, close, hdr, HTTP_DB_CODE, "%s", msg);
}

/* Every request but OPTIONS must speak our version (412 otherwise). */
static bool
version_ok(struct req *r, int *status)
{
	const char *v = http_header(r, "Tus-Resumable");

	if (v != NULL && strcmp(v, TUS_VERSION) == 0)
		return true;
	*status = fail(r, 412, true, NULL, "tus_version", "this server "
	    "speaks tus " TUS_VERSION "; send the header Tus-Resumable: "
	    TUS_VERSION);
	return false;
}

/* A non-negative decimal integer, digits only. */
bool
tus_parse_length(const char *s, long long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 18)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * Checks Upload-Metadata ("key base64,key base64") and decodes the
 * filename (or name) value into out ("" when there is none) and the
 * assignment_id into *assignment (0 when there is none).
 */
bool
tus_parse_metadata(const char *h, char *out, size_t outlen,
    long long *assignment)
{
	char *copy, *pair, *save = NULL, *val, *end;
	unsigned char bin[TUS_FILENAME_MAX + 1];
	size_t n, i;
	bool ok = true;

	out[0] = '\0';
	*assignment = 0;
	if (h == NULL)
		return true;
	for (i = 0; h[i] != '\0'; i++)
		if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e)
			return false;
	if (i > TUS_METADATA_MAX)
		return false;
	copy = xstrdup(h);
	for (pair = strtok_r(copy, ",", &save); pair != NULL && ok;
	    pair = strtok_r(NULL, ",", &save)) {
		while (*pair == ' ')
			pair++;
		if ((val = strchr(pair, ' ')) != NULL)
			*val++ = '\0';
		if (*pair == '\0')
			ok = false;
		else if (val != NULL && (strcmp(pair, "filename") == 0 ||
		    (strcmp(pair, "name") == 0 && out[0] == '\0')) &&
		    sodium_base642bin(bin, sizeof(bin) - 1, val, strlen(val),
		    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) {
			bin[n] = '\0';
			upload_label((const char *)bin, out, outlen);
		} else if (val != NULL && strcmp(pair, "assignment_id") == 0) {
			if (sodium_base642bin(bin, sizeof(bin) - 1, val,
			    strlen(val), NULL, &n, NULL,
			    sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0 ||
			    n > 15)
				ok = false;
			else {
				bin[n] = '\0';
				*assignment = strtoll((char *)bin, &end, 10);
				ok = *end == '\0' && *assignment > 0;
			}
		}
	}
	free(copy);
	return ok;
}

/* Upload-Expires in the HTTP date format. */
static void
expires_header(double when, char *out, size_t outlen)
{
	time_t t = (time_t)when;
	struct tm tm;
	char date[64];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(out, outlen, "Upload-Expires: %s\r\n", date);
}

/* What became of a finished upload, as header lines. */
static void
outcome_headers(const struct tus_row *row, char *out, size_t outlen)
{
	char *p;

	if (row->submission_id > 0)
		snprintf(out, outlen, "X-Submission-Id: %lld\r\n"
		    "X-Submission-Url: /submissions/%lld\r\n",
		    row->submission_id, row->submission_id);
	else if (row->error[0] != '\0') {
		snprintf(out, outlen, "X-Upload-Error: %s\r\n", row->error);
		/* A header value is printable ASCII. */
		for (p = out + 16; p[2] != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	} else
		out[0] = '\0';
}

int
tus_options(struct req *r)
{
	return answer(r, 204, "Tus-Version: " TUS_VERSION "\r\n"
	    "Tus-Extension: creation,expiration\r\nTus-Max-Size: %lld\r\n",
	    (long long)r->app->cfg->upload_max_mb << 20);
}

/* The POST's headers: 0 with the length and label, or the answered error. */
static int
check_create(struct req *r, long long *length, char *label, size_t len,
    long long *assignment)
{
	int cap_mb = r->app->cfg->upload_max_mb, status;
	struct assignment_pick pick;
	enum upload_fail why;
	char err[512];

	if (!version_ok(r, &status))
		return status;
	if (http_header(r, "Upload-Defer-Length") != NULL)
		return fail(r, 400, true, NULL, NULL, "send Upload-Length: "
		    "this server does not take uploads of unknown length");
	if (!tus_parse_length(http_header(r, "Upload-Length"), length))
		return fail(r, 400, true, NULL, NULL, "send the file's size in "
		    "bytes as Upload-Length");
	if (*length == 0)
		return fail(r, 400, true, NULL, "empty", MEDIA_MSG_ZERO_BYTES);
	if (*length > (long long)cap_mb << 20)
		return fail(r, 413, true, NULL, NULL, "this file is larger "
		    "than the limit of %d MB", cap_mb);
	if (!tus_parse_metadata(http_header(r, "Upload-Metadata"), label, len,
	    assignment))
		return fail(r, 400, true, NULL, NULL, "Upload-Metadata must be "
		    "\"key base64value\" pairs separated by commas, and "
		    "assignment_id an assignment's number");
	/* Refused before the bytes are sent when it can be told now. */
	if (!upload_assignment(r->app, r->user.id, *assignment, -1, &pick,
	    &why, err, sizeof(err)))
		return why == UPLOAD_NO_DB ? db_fail(r, true, NULL) :
		    fail(r, upload_fail_status(why), true, NULL,
		    upload_fail_code(why), "%s", err);
	return 0;
}

int
tus_create(struct req *r)
{
	const char *meta = http_header(r, "Upload-Metadata");
	char name[UPLOAD_NAME_LEN + 1], label[TUS_FILENAME_MAX + 1];
	char err[512], exp[128], *path;
	struct tus_row row;
	long long length, assignment;
	int status, fd, n;

	if ((status = privacy_consent_gate(r)) != 0)
		return status;
	if ((status = check_create(r, &length, label, sizeof(label),
	    &assignment)) != 0)
		return status;
	/* Room first: what expired, and this student's oldest unfinished. */
	if (!tus_sweep(r->app, &n, err, sizeof(err)))
		log_warnx("tus: sweep: %s", err);
	if (!tus_prune(r->app, r->user.id, TUS_MAX_OPEN - 1, err,
	    sizeof(err)))
		log_warnx("tus: prune user=%lld: %s", r->user.id, err);
	upload_new_name(name);
	if (!tus_row_create(r->app->db, r->user.id, name, length,
	    meta != NULL ? meta : "", label, r->app->cfg->upload_expire_h,
	    &row, err, sizeof(err))) {
		log_warnx("tus: upload not created: %s", err);
		return db_fail(r, true, NULL);
	}
	path = tus_data_path(r->app, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) != 0) {
		log_warn("tus: create %s", path);
		free(path);
		if (!tus_row_delete(r->app->db, row.id, err, sizeof(err)))
			log_warnx("tus: upload=%lld: %s", row.id, err);
		return fail(r, 500, true, NULL, NULL, "the server cannot store "
		    "uploads right now");
	}
	free(path);
	log_info("tus: upload=%lld created user=%lld length=%lld", row.id,
	    r->user.id, length);
	expires_header(row.expires_at, exp, sizeof(exp));
	return answer(r, 201, "Location: /api/v1/uploads/%lld\r\n%s", row.id,
	    exp);
}

/* The caller's upload r->id, or an answered 404/503 (returned). */
static int
load(struct req *r, struct tus_row *row)
{
	char err[512];
	bool found;

	if (!tus_row_get(r->app->db, r->id, r->user.id, row, &found, err,
	    sizeof(err))) {
		log_warnx("tus: upload=%lld: %s", r->id, err);
		return db_fail(r, true, NULL);
	}
	if (!found)
		return fail(r, 404, true, NULL, NULL, NO_SUCH,
		    r->app->cfg->upload_expire_h);
	return 0;
}

/*
 * How many bytes of an unfinished upload are in: its data file's size.
 * Without that file the last byte may just have arrived, and another
 * request is turning the file into a submission (upload_accept moved
 * it to its final name): the row is read again, and while the final
 * file is there every byte is in. False when the data is gone.
 */
static bool
received(struct req *r, struct tus_row *row, long long *offset)
{
	struct tus_row again;
	struct stat st;
	char *path, final[1024], err[512];
	bool found;

	*offset = row->length;
	if (row->finished)
		return true;
	path = tus_data_path(r->app, row->stored_name);
	if (stat(path, &st) == 0) {
		free(path);
		*offset = st.st_size;
		return true;
	}
	free(path);
	if (tus_row_get(r->app->db, row->id, r->user.id, &again, &found, err,
	    sizeof(err)) && found && again.finished) {
		*row = again;
		return true;
	}
	snprintf(final, sizeof(final), "%s/%s", r->app->uploads_dir,
	    row->stored_name);
	if (stat(final, &st) == 0)
		return true;
	log_warn("tus: upload=%lld: %s", row->id, final);
	return false;
}

int
tus_head(struct req *r)
{
	struct tus_row row;
	char exp[128], out[HDR_MAX];
	long long offset;
	int status;

	if (!version_ok(r, &status) || (status = load(r, &row)) != 0)
		return status;
	if (!received(r, &row, &offset))
		return fail(r, 404, true, NULL, NULL, "this upload's data is "
		    "gone; please start the upload again");
	out[0] = '\0';
	if (row.finished)
		outcome_headers(&row, out, sizeof(out));
	expires_header(row.expires_at, exp, sizeof(exp));
	return answer(r, 200, "Upload-Offset: %lld\r\nUpload-Length: %lld\r\n"
	    "%s%s%s%s%s", offset, row.length, exp, row.metadata[0] ?
	    "Upload-Metadata: " : "", row.metadata, row.metadata[0] ? "\r\n" :
	    "", out);
}

int
tus_get(struct req *r)
{
	struct tus_row row;
	char url[64];
	long long offset;
	int status;
	json_t *o;

	if ((status = load(r, &row)) != 0)
		return status;
	if (!received(r, &row, &offset))
		offset = 0;
	snprintf(url, sizeof(url), "/submissions/%lld", row.submission_id);
	o = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s}", "id",
	    (json_int_t)row.id, "offset", (json_int_t)offset, "length",
	    (json_int_t)row.length, "filename", row.filename, "expires_at",
	    row.expires_iso, "status", !row.finished ? "receiving" :
	    row.submission_id > 0 ? "completed" : "refused");
	if (row.submission_id > 0) {
		json_object_set_new(o, "submission_id",
		    json_integer(row.submission_id));
		json_object_set_new(o, "url", json_string(url));
	}
	if (row.error[0] != '\0')
		json_object_set_new(o, "error", json_string(row.error));
	return http_json(r, 200, o);
}

/*
 * A PATCH to an upload that already finished: a client that lost the
 * final answer and sends its last (empty) chunk again learns the outcome.
 */
static int
answer_finished(struct req *r, const struct tus_row *row)
{
	char extra[HDR_MAX], out[HDR_MAX];
	long long offset;

	outcome_headers(row, out, sizeof(out));
	snprintf(extra, sizeof(extra), "Upload-Offset: %lld\r\n%s",
	    row->length, out);
	if (!tus_parse_length(http_header(r, "Upload-Offset"), &offset) ||
	    offset != row->length || r->ri->content_length > 0)
		return fail(r, 409, true, extra, NULL, "this upload is already "
		    "complete");
	if (row->submission_id == 0)
		return fail(r, 422, false, extra, "upload_refused", "%s",
		    row->error);
	return answer(r, 204, "%s", extra);
}

/* Opens and locks the data file; answers and returns the status if not. */
static int
open_locked(struct req *r, const struct tus_row *row, struct patch *pt)
{
	char *path = tus_data_path(r->app, row->stored_name);
	struct stat st;

	pt->fd = open(path, O_WRONLY | O_CLOEXEC);
	free(path);
	if (pt->fd < 0)
		return fail(r, 404, true, NULL, NULL, "this upload's data is "
		    "gone; please start the upload again");
	if (flock(pt->fd, LOCK_EX | LOCK_NB) == -1)
		return fail(r, 423, true, NULL, NULL, "this upload is "
		    "receiving data on another connection; try again in a "
		    "moment");
	if (fstat(pt->fd, &st) == -1 || st.st_nlink == 0)
		return fail(r, 404, true, NULL, NULL, NO_SUCH,
		    r->app->cfg->upload_expire_h);
	pt->offset = st.st_size;
	return 0;
}

int
tus_patch(struct req *r)
{
	const char *ctype = http_header(r, "Content-Type");
	struct tus_row row;
	struct patch pt = { -1, 0, 0 };
	char off[64], exp[128], err[512];
	long long want;
	int status;

	if (!version_ok(r, &status))
		return status;
	if (ctype == NULL || strcmp(ctype, CONTENT_TYPE) != 0)
		return fail(r, 415, true, NULL, NULL, "send the bytes with "
		    "Content-Type: " CONTENT_TYPE);
	if (!tus_parse_length(http_header(r, "Upload-Offset"), &want))
		return fail(r, 400, true, NULL, NULL, "send Upload-Offset: the "
		    "number of bytes the server already has");
	if ((status = load(r, &row)) != 0)
		return status;
	if (row.finished)
		return answer_finished(r, &row);
	if ((status = open_locked(r, &row, &pt)) != 0)
		goto out;
	snprintf(off, sizeof(off), "Upload-Offset: %lld\r\n", pt.offset);
	if (want != pt.offset) {
		status = fail(r, 409, true, off, "offset_mismatch", "the "
		    "server has %lld bytes of this upload, not %lld: "
		    "continue from Upload-Offset",
		    pt.offset, want);
		goto out;
	}
	if (r->ri->content_length > row.length - pt.offset) {
		status = fail(r, 413, true, off, NULL, "this is more than "
		    "the %lld bytes given as Upload-Length", row.length);
		goto out;
	}
	receive(r, &row, &pt);
	if (!tus_row_touch(r->app->db, &row, r->app->cfg->upload_expire_h,
	    err, sizeof(err)))
		log_warnx("tus: upload=%lld: %s", row.id, err);
	if (pt.status != 0)
		status = pt.status;
	else if (pt.offset == row.length)
		status = complete(r, &row, &pt);
	else {
		expires_header(row.expires_at, exp, sizeof(exp));
		status = answer(r, 204, "Upload-Offset: %lld\r\n%s",
		    pt.offset, exp);
	}
out:
	if (pt.fd >= 0)
		close(pt.fd);	/* and with it the lock */
	return status;
}

/*
 * Appends the body at pt->offset, at most up to row->length. Sets
 * pt->status to an answered error; whatever arrived before an error or
 * the client's going away stays in the file.
 */
static void
receive(struct req *r, const struct tus_row *row, struct patch *pt)
{
	char *chunk = xmalloc(TUS_CHUNK), hdr[64];
	long long left = row->length - pt->offset, start = pt->offset;
	int n = 0;

	if (lseek(pt->fd, pt->offset, SEEK_SET) == -1)
		n = -1;
	while (n >= 0 && (n = mg_read(r->conn, chunk, TUS_CHUNK)) > 0) {
		if (n > left) {
			pt->status = 413;	/* answered below */
			n = (int)left;
		}
		if (!util_write_all(pt->fd, chunk, (size_t)n)) {
			log_warn("tus: upload=%lld write", row->id);
			pt->status = 507;
			break;
		}
		pt->offset += n;
		left -= n;
		if (pt->status != 0)
			break;
	}
	free(chunk);
	log_info("tus: upload=%lld received=%lld offset=%lld length=%lld",
	    row->id, pt->offset - start, pt->offset, row->length);
	snprintf(hdr, sizeof(hdr), "Upload-Offset: %lld\r\n", pt->offset);
	if (pt->status == 413)
		pt->status = fail(r, 413, true, hdr, NULL, "this is more "
		    "than the %lld bytes given as Upload-Length",
		    row->length);
	else if (pt->status == 507)
		pt->status = fail(r, 507, true, hdr, NULL, "the server has "
		    "no room for this upload right now");
	else if (n < 0 || (r->ri->content_length >= 0 &&
	    pt->offset - start < r->ri->content_length))
		/*
		 * The body stopped short: the client went away, or fell
		 * silent for header_timeout_s (a stalled network). 408 tells
		 * a client still there to continue from the offset.
		 */
		pt->status = fail(r, 408, true, hdr, "incomplete", "the "
		    "upload was cut off at %lld bytes; continue from "
		    "Upload-Offset", pt->offset);
}

/*
 * An upload whose bytes are all in (the caller holds its file's lock on
 * fd) becomes a submission or is refused, and the row records which.
 * False with done->fail when it did not become one; after a passing
 * failure (UPLOAD_NO_DISK, UPLOAD_NO_DB) the upload stays unfinished.
 */
static bool
finish(struct app *app, struct tus_row *row, int fd, long long size,
    struct upload_done *done, char *err, size_t errlen)
{
	struct upload_file f;
	char *path, dberr[512];
	char label[TUS_FILENAME_MAX + 1];
	bool ok;

	/*
	 * On the disk before the row that names it is committed: a worker
	 * on another machine reads it from a shared mount (NFS writes back
	 * a client's cached pages only at close or fsync), and a crash must
	 * not leave a submission with a short file.
	 */
	memset(done, 0, sizeof(*done));
	if (fsync(fd) != 0) {
		log_warn("tus: upload=%lld fsync", row->id);
		done->fail = UPLOAD_NO_DISK;
		return util_seterr(err, errlen, "the server cannot store "
		    "uploads right now");
	}
	path = tus_data_path(app, row->stored_name);
	memset(&f, 0, sizeof(f));
	/* The metadata was checked when the upload was created. */
	if (!tus_parse_metadata(row->metadata, label, sizeof(label),
	    &f.assignment_id))
		f.assignment_id = 0;
	f.path = path;
	f.name = row->stored_name;
	f.label = row->filename;
	f.size = size;
	f.student_id = row->user_id;
	ok = upload_accept(app, &f, done, err, errlen);
	free(path);
	if (!ok && done->fail != UPLOAD_REFUSED &&
	    done->fail != UPLOAD_NOT_FOUND)
		return false;
	if (!tus_row_finish(app->db, row, ok ? done->id : 0, ok ? NULL : err,
	    app->cfg->upload_expire_h, dberr, sizeof(dberr)))
		log_warnx("tus: upload=%lld outcome not stored: %s", row->id,
		    dberr);
	log_info("tus: upload=%lld finished submission=%lld", row->id,
	    ok ? done->id : 0);
	return ok;
}

bool
tus_finish_stranded(struct app *app, long long id, long long user_id)
{
	struct upload_done done;
	struct tus_row row;
	struct stat st;
	char err[512], *path;
	bool found, done_now = false;
	int fd;

	if (!tus_row_get(app->db, id, user_id, &row, &found, err,
	    sizeof(err)) || !found || row.finished)
		return false;
	path = tus_data_path(app, row.stored_name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return false;
	/* Busy (a request holds it), removed, or not all there: not ours. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
	    st.st_nlink > 0 && st.st_size == row.length) {
		log_info("tus: upload=%lld: its last byte arrived before a "
		    "restart; finishing it", row.id);
		finish(app, &row, fd, st.st_size, &done, err, sizeof(err));
		done_now = true;
	}
	close(fd);
	return done_now;
}

/*
 * The last byte is in: the file becomes a submission, or is refused.
 * A passing failure (disk, database) leaves the upload unfinished, so a
 * PATCH of no bytes at the end tries again.
 */
static int
complete(struct req *r, struct tus_row *row, struct patch *pt)
{
	struct upload_done done;
	char err[512], off[HDR_MAX], out[HDR_MAX];
	bool ok;

	ok = finish(r->app, row, pt->fd, pt->offset, &done, err,
	    sizeof(err));
	snprintf(off, sizeof(off), "Upload-Offset: %lld\r\n", pt->offset);
	if (!ok && done.fail == UPLOAD_NO_DB)
		return db_fail(r, false, off);
	if (!ok)
		return fail(r, upload_fail_status(done.fail), false, off,
		    upload_fail_code(done.fail), "%s", err);
	outcome_headers(row, out, sizeof(out));
	if (out[0] == '\0')	/* the row could not be updated */
		snprintf(out, sizeof(out), "X-Submission-Id: %lld\r\n"
		    "X-Submission-Url: %s\r\n", done.id, done.url);
	return answer(r, 204, "%s%s", off, out);
}
