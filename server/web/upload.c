/*
 * upload: the one place a received file becomes a submission
 * (upload_accept), and POST /api/v1/submissions, a video as the raw
 * request body.
 *
 * The body is streamed with mg_read into uploads/<random>.part and the
 * byte cap is enforced while reading, so no upload is ever held whole in
 * memory and an oversized one costs at most the cap in disk. The server
 * picks the stored name; the client's file name is only a label, and the
 * stored content type is what ffprobe found, never what the client said.
 * A file becomes a submission only after media.h has accepted it, and
 * the .part file is removed on every path that does not end in a
 * submission. tus.c reaches upload_accept() by the same rules.
 *
 * A .part file is flock(2)ed by the request that writes it until it is
 * a submission or gone, so the sweep (upload_sweep_parts) can tell one
 * that a crash left behind -- no lock -- from one being received, on
 * this machine or on another sharing the upload store.
 */
#include "upload.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>
#include <sodium.h>

#include "app.h"
#include "assignment.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "media.h"
#include "privacy_pages.h"
#include "queue.h"
#include "util.h"

#define UPLOAD_CHUNK	(64 * 1024)
#define LABEL_MAX	200	/* bytes of a client's file name we keep */

static size_t	utf8_len(const unsigned char *);
static int	receive(struct req *, int, long long, long long *);
static int	part_create(const char *);
static bool	examine(struct app *, const struct upload_file *,
		    const struct media_limits *, struct media_info *, bool *,
		    char *, size_t);
static bool	create_row(struct app *, const struct upload_file *,
		    const struct media_info *, const struct assignment_pick *,
		    long long *, char *, size_t);

void
upload_new_name(char out[UPLOAD_NAME_LEN + 1])
{
	unsigned char raw[UPLOAD_NAME_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, UPLOAD_NAME_LEN + 1, raw, sizeof(raw));
}

int
upload_fail_status(enum upload_fail f)
{
	switch (f) {
	case UPLOAD_REFUSED:
		return 422;
	case UPLOAD_NOT_FOUND:
		return 404;
	case UPLOAD_NO_DISK:
		return 500;
	case UPLOAD_NO_DB:
	case UPLOAD_BUSY:
		return 503;
	}
	return 500;
}

const char *
upload_fail_code(enum upload_fail f)
{
	switch (f) {
	case UPLOAD_REFUSED:
		return "upload_refused";
	case UPLOAD_NOT_FOUND:
		return "not_found";
	case UPLOAD_NO_DISK:
		return "internal";
	case UPLOAD_NO_DB:
		return HTTP_DB_CODE;
	case UPLOAD_BUSY:
		return "unavailable";
	}
	return "internal";
}

/* A failure of upload_assignment or upload_accept, answered. */
static int
refuse(struct req *r, enum upload_fail why, const char *err)
{
	if (why == UPLOAD_NO_DB)
		return http_db_error(r);
	return http_error_field(r, upload_fail_status(why),
	    upload_fail_code(why), why == UPLOAD_NOT_FOUND ? "assignment_id" :
	    NULL, "%s", err);
}

bool
upload_assignment(struct app *app, long long student, long long requested,
    double duration_s, struct assignment_pick *pick, enum upload_fail *fail,
    char *err, size_t errlen)
{
	enum assignment_verdict v;
	char dberr[512];

	if (!assignment_pick(app->db, student, requested, duration_s, pick, &v,
	    err, errlen, dberr, sizeof(dberr))) {
		log_warnx("upload: assignment not decided: %s", dberr);
		*fail = UPLOAD_NO_DB;
		return util_seterr(err, errlen, "the database is unavailable; "
		    "please upload again shortly");
	}
	if (v == ASSIGNMENT_OK)
		return true;
	*fail = v == ASSIGNMENT_NOT_FOUND ? UPLOAD_NOT_FOUND : UPLOAD_REFUSED;
	log_info("upload refused user=%lld assignment=%lld verdict=%d",
	    student, requested, (int)v);
	return false;
}

bool
upload_accept(struct app *app, const struct upload_file *f,
    struct upload_done *out, char *err, size_t errlen)
{
	const struct config *cfg = app->cfg;
	struct media_limits lim = { 0 };
	struct media_info info;
	struct assignment_pick pick;
	char final[1024];
	bool ok, busy;

	memset(out, 0, sizeof(*out));
	lim.timeout_s = cfg->media_timeout_s;
	lim.min_duration_s = cfg->min_duration_s;
	lim.max_duration_s = cfg->max_duration_s;
	/* One probe per media worker at a time: the first upload of a
	   class is then checked in its own time, not in all thirty's. */
	gate_enter(&app->probes);
	ok = examine(app, f, &lim, &info, &busy, err, errlen);
	gate_leave(&app->probes);
	if (!ok && busy) {
		log_info("upload not examined user=%lld bytes=%lld reason=\"%s\"",
		    f->student_id, f->size, err);
		out->fail = UPLOAD_BUSY;
		return false;
	}
	if (!ok) {
		log_info("upload refused user=%lld bytes=%lld reason=\"%s\"",
		    f->student_id, f->size, err);
		unlink(f->path);
		out->fail = UPLOAD_REFUSED;
		return false;
	}
	if (!upload_assignment(app, f->student_id, f->assignment_id,
	    info.duration_s, &pick, &out->fail, err, errlen)) {
		if (out->fail != UPLOAD_NO_DB)
			unlink(f->path);
		return false;
	}
	snprintf(final, sizeof(final), "%s/%s", app->uploads_dir, f->name);
	if (rename(f->path, final) != 0) {
		log_warn("upload: rename %s", f->path);
		out->fail = UPLOAD_NO_DISK;
		return util_seterr(err, errlen, "the server cannot store "
		    "uploads right now");
	}
	if (!create_row(app, f, &info, &pick, &out->id, err, errlen)) {
		if (rename(final, f->path) != 0)
			log_warn("upload: rename %s back", final);
		out->fail = UPLOAD_NO_DB;
		return false;
	}
	out->duration_s = info.duration_s;
	snprintf(out->url, sizeof(out->url), "/submissions/%lld", out->id);
	log_info("submission=%lld uploaded user=%lld bytes=%lld type=%s "
	    "duration_s=%.1f assignment=%lld late=%d", out->id, f->student_id,
	    f->size, info.mime, info.duration_s, pick.id, (int)pick.late);
	return true;
}

/*
 * ffprobe's verdict, then the decoding and level checks (media_check),
 * whose scratch WAV is named after the upload like the one preparation
 * writes, so retention knows the name. *busy says the machine, not the
 * file, failed: the upload is kept for another try.
 */
static bool
examine(struct app *app, const struct upload_file *f,
    const struct media_limits *lim, struct media_info *info, bool *busy,
    char *err, size_t errlen)
{
	char scratch[1024];

	*busy = false;
	if (!media_probe(f->path, lim, info, err, errlen))
		return false;
	snprintf(scratch, sizeof(scratch), "%s/%s.wav.raw.tmp",
	    app->uploads_dir, f->name);
	return media_check(f->path, info, scratch, app->cfg->media_timeout_s,
	    app->cfg->media_check_video_s, busy, err, errlen);
}

static bool
create_row(struct app *app, const struct upload_file *f,
    const struct media_info *info, const struct assignment_pick *pick,
    long long *id, char *err, size_t errlen)
{
	struct new_submission ns;
	char label[LABEL_MAX + 1], dberr[512];

	upload_label(f->label, label, sizeof(label));
	memset(&ns, 0, sizeof(ns));
	ns.student_id = f->student_id;
	ns.stored_name = f->name;
	ns.original_name = label[0] != '\0' ? label : "upload";
	ns.content_type = info->mime;
	ns.size_bytes = f->size;
	ns.duration_s = info->duration_s;
	ns.course_id = pick->course_id;
	ns.assignment_id = pick->id;
	ns.rubric_id = pick->rubric_id;
	ns.late = pick->late;
	ns.request_id = log_request_id();
	if (queue_add(app->db, &ns, id, dberr, sizeof(dberr)))
		return true;
	log_warnx("upload: submission not created: %s", dberr);
	return util_seterr(err, errlen, "the database is unavailable; "
	    "please upload again shortly");
}

void
upload_label(const char *in, char *out, size_t outlen)
{
	const unsigned char *p;
	const char *base;
	size_t j = 0, n;

	out[0] = '\0';
	if (in == NULL)
		return;
	base = strrchr(in, '/');
	base = base != NULL ? base + 1 : in;
	if (strrchr(base, '\\') != NULL)
		base = strrchr(base, '\\') + 1;
	for (p = (const unsigned char *)base; *p != '\0'; p += n) {
		if ((n = utf8_len(p)) == 0) {
			n = 1;		/* a stray byte: drop it */
			continue;
		}
		if (j + n >= outlen)
			break;
		if (n > 1 || (*p >= 0x20 && *p != 0x7f)) {
			memcpy(out + j, p, n);
			j += n;
		}
	}
	out[j] = '\0';
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *p)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates, and code points past U+10FFFF. */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/*
 * Creates path and locks it for the life of the returned descriptor, or
 * -1. A sweep that removed the file between the open and the lock is
 * seen (no link left) and counts as a failure.
 */
static int
part_create(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		log_warn("upload: open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 ||
	    st.st_nlink == 0) {
		log_warnx("upload: %s could not be locked", path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Streams the body into fd (the file path), at most cap bytes. Returns 0
 * with *got set, or the HTTP status of the error it already answered
 * (or, when the client went away, could not answer).
 */
static int
receive(struct req *r, int fd, long long cap, long long *got)
{
	char *chunk = xmalloc(UPLOAD_CHUNK);
	long long declared = r->ri->content_length;
	int n, status = 0;

	*got = 0;
	while ((n = mg_read(r->conn, chunk, UPLOAD_CHUNK)) > 0) {
		if (*got + n > cap) {
			status = http_error(r, 413, "this file is larger than "
			    "the limit of %lld MB", cap >> 20);
			break;
		}
		if (!util_write_all(fd, chunk, (size_t)n)) {
			log_warn("upload: write");
			status = http_error(r, 507, "the server has no room "
			    "for this upload right now");
			break;
		}
		*got += n;
	}
	if (fsync(fd) != 0 && status == 0)
		status = http_error(r, 507, "the server has no room for this "
		    "upload right now");
	if (status == 0 && n < 0)
		status = http_error_code(r, 400, "incomplete", NULL, "the "
		    "upload was cut off; please try again");
	else if (status == 0 && declared >= 0 && *got < declared)
		status = http_error_code(r, 400, "incomplete", NULL, "the "
		    "upload was cut off after %lld of %lld bytes; please try "
		    "again", *got, declared);
	else if (status == 0 && *got == 0)
		status = http_error_code(r, 400, "empty", NULL,
		    MEDIA_MSG_ZERO_BYTES);
	free(chunk);
	return status;
}

bool
upload_query_assignment(struct req *r, long long *id)
{
	char v[32] = "", *end;

	*id = 0;
	if (r->ri->query_string == NULL || !http_form_get(r->ri->query_string,
	    "assignment_id", v, sizeof(v)) || v[0] == '\0')
		return true;
	*id = strtoll(v, &end, 10);
	return *end == '\0' && *id > 0 && strlen(v) < 16;
}

int
upload_submission(struct req *r)
{
	const struct config *cfg = r->app->cfg;
	long long cap = (long long)cfg->upload_max_mb << 20, got;
	char name[UPLOAD_NAME_LEN + 1], part[1024], label[512], err[512];
	const char *h = http_header(r, "X-Filename");
	struct upload_file f;
	struct upload_done done;
	struct assignment_pick pick;
	enum upload_fail why;
	long long assignment;
	int fd, status;

	if ((status = privacy_consent_gate(r)) != 0)
		return status;
	if (r->ri->content_length > cap)
		return http_error(r, 413, "this file is larger than the limit "
		    "of %d MB", cfg->upload_max_mb);
	if (r->ri->content_length == 0)
		return http_error_code(r, 400, "empty", NULL,
		    MEDIA_MSG_ZERO_BYTES);
	if (!upload_query_assignment(r, &assignment))
		return http_error_field(r, 400, NULL, "assignment_id",
		    "assignment_id is an assignment's number");
	/* Refused before the bytes are sent when it can be told now. */
	if (!upload_assignment(r->app, r->user.id, assignment, -1, &pick, &why,
	    err, sizeof(err)))
		return refuse(r, why, err);
	upload_new_name(name);
	snprintf(part, sizeof(part), "%s/%s.part", r->app->uploads_dir, name);
	if ((fd = part_create(part)) < 0)
		return http_error(r, 500, "the server cannot store uploads "
		    "right now");
	if ((status = receive(r, fd, cap, &got)) != 0) {
		unlink(part);
		close(fd);
		return status;
	}
	/* X-Filename is URL-encoded so that any name fits in a header. */
	if (h == NULL || mg_url_decode(h, (int)strlen(h), label,
	    (int)sizeof(label), 0) < 0)
		label[0] = '\0';
	memset(&f, 0, sizeof(f));
	f.path = part;
	f.name = name;
	f.label = label;
	f.size = got;
	f.student_id = r->user.id;
	f.assignment_id = assignment;
	if (!upload_accept(r->app, &f, &done, err, sizeof(err))) {
		unlink(part);
		close(fd);
		return refuse(r, done.fail, err);
	}
	close(fd);	/* the lock goes with it: the file is a submission */
	return http_json(r, 201, json_pack("{s:I, s:s, s:s, s:s, s:f}", "id",
	    (json_int_t)done.id, "status", "pending", "phase", "prep", "url",
	    done.url, "duration_s", done.duration_s));
}

bool
upload_sweep_parts(const char *dir, int *removed)
{
	struct dirent *de;
	char path[1024];
	size_t len;
	DIR *d;
	int fd;

	*removed = 0;
	if ((d = opendir(dir)) == NULL) {
		log_warn("upload: opendir %s", dir);
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".part") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		/* Locked: a request is still receiving it. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0) {
			log_info("upload: removed %s, left by an upload that "
			    "was cut short", de->d_name);
			(*removed)++;
		}
		close(fd);
	}
	closedir(d);
	return true;
}
