/*
 * upload: POST /api/v1/submissions, a video as the raw request body.
 *
 * The body is streamed with mg_read into uploads/<random>.part and the
 * byte cap is enforced while reading, so no upload is ever held whole in
 * memory and an oversized one costs at most the cap in disk. The server
 * picks the stored name; the client's file name is only a label. A file
 * becomes a submission only after ffprobe has accepted it, and the .part
 * file is removed on every path that does not end in a submission.
 */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>
#include <sodium.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "media.h"
#include "scheduler.h"
#include "store.h"
#include "util.h"

#define UPLOAD_CHUNK	(64 * 1024)
#define NAME_BYTES	16

static void	label_from_header(const char *, char *, size_t);
static int	receive(struct req *, const char *, long long, long long *);
static bool	write_all(int, const char *, size_t);

/* The client's file name, decoded and reduced to a printable basename. */
static void
label_from_header(const char *h, char *out, size_t outlen)
{
	char decoded[512];
	const char *base;
	size_t i, j;

	out[0] = '\0';
	if (h == NULL || mg_url_decode(h, (int)strlen(h), decoded,
	    (int)sizeof(decoded), 0) < 0)
		return;
	base = strrchr(decoded, '/');
	base = base != NULL ? base + 1 : decoded;
	for (i = j = 0; base[i] != '\0' && j + 1 < outlen; i++)
		if ((unsigned char)base[i] >= 0x20 && base[i] != 0x7f)
			out[j++] = base[i];
	out[j] = '\0';
}

static bool
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * Streams the body into path, at most cap bytes. Returns 0 with *got set,
 * or the HTTP status of the error it already answered (or, when the
 * client went away, could not answer).
 */
static int
receive(struct req *r, const char *path, long long cap, long long *got)
{
	char *chunk = xmalloc(UPLOAD_CHUNK);
	long long declared = r->ri->content_length;
	int fd, n, status = 0;

	*got = 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		log_warn("upload: open %s", path);
		free(chunk);
		return http_error(r, 500, "the server cannot store uploads "
		    "right now");
	}
	while ((n = mg_read(r->conn, chunk, UPLOAD_CHUNK)) > 0) {
		if (*got + n > cap) {
			status = http_error(r, 413, "this file is larger than "
			    "the limit of %lld MB", cap >> 20);
			break;
		}
		if (!write_all(fd, chunk, (size_t)n)) {
			log_warn("upload: write %s", path);
			status = http_error(r, 507, "the server has no room "
			    "for this upload right now");
			break;
		}
		*got += n;
	}
	if (close(fd) != 0 && status == 0)
		status = http_error(r, 507, "the server has no room for this "
		    "upload right now");
	if (status == 0 && n < 0)
		status = http_error(r, 400, "the upload was cut off; please "
		    "try again");
	else if (status == 0 && declared >= 0 && *got < declared)
		status = http_error(r, 400, "the upload was cut off after "
		    "%lld of %lld bytes; please try again", *got, declared);
	else if (status == 0 && *got == 0)
		status = http_error(r, 400, "the upload is empty");
	free(chunk);
	return status;
}

int
upload_submission(struct req *r)
{
	const struct config *cfg = r->app->cfg;
	long long cap = (long long)cfg->upload_max_mb << 20, got, id;
	unsigned char raw[NAME_BYTES];
	char name[NAME_BYTES * 2 + 1], part[1024], final[1024], label[256];
	char err[512], url[64];
	struct media_limits lim = { 0 };
	struct media_info info;
	struct new_submission ns;
	const char *ctype = http_header(r, "Content-Type");
	int status;

	if (r->ri->content_length > cap)
		return http_error(r, 413, "this file is larger than the limit "
		    "of %d MB", cfg->upload_max_mb);
	if (r->ri->content_length == 0)
		return http_error(r, 400, "the upload is empty");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(name, sizeof(name), raw, sizeof(raw));
	snprintf(part, sizeof(part), "%s/%s.part", r->app->uploads_dir, name);
	snprintf(final, sizeof(final), "%s/%s", r->app->uploads_dir, name);
	if ((status = receive(r, part, cap, &got)) != 0)
		goto drop;

	lim.timeout_s = cfg->media_timeout_s;
	lim.max_duration_s = cfg->max_duration_s;
	if (!media_probe(part, &lim, &info, err, sizeof(err))) {
		status = http_error(r, 422, "%s", err);
		goto drop;
	}
	if (info.duration_s < cfg->min_duration_s) {
		status = http_error(r, 422, "this recording is %.1f seconds "
		    "long; the shortest we accept is %d seconds",
		    info.duration_s, cfg->min_duration_s);
		goto drop;
	}
	if (rename(part, final) != 0) {
		log_warn("upload: rename %s", part);
		status = http_error(r, 500, "the server cannot store uploads "
		    "right now");
		goto drop;
	}

	label_from_header(http_header(r, "X-Filename"), label, sizeof(label));
	memset(&ns, 0, sizeof(ns));
	ns.student_id = r->user.id;
	ns.stored_name = name;
	ns.original_name = label[0] != '\0' ? label : "upload";
	ns.content_type = ctype != NULL ? ctype : "";
	ns.size_bytes = got;
	ns.duration_s = info.duration_s;
	if (!store_submission_create(r->app->db, &ns, &id, err, sizeof(err))) {
		log_warnx("upload: submission not created: %s", err);
		unlink(final);
		return http_error(r, 503, "the database is not answering; "
		    "please upload again in a moment");
	}
	log_info("submission=%lld uploaded user=%lld bytes=%lld "
	    "duration_s=%.1f", id, r->user.id, got, info.duration_s);
	sched_wake(r->app->sched);
	snprintf(url, sizeof(url), "/submissions/%lld", id);
	return http_json(r, 201, json_pack("{s:I, s:s, s:s, s:s, s:f}", "id",
	    (json_int_t)id, "status", "pending", "phase", "stt", "url", url,
	    "duration_s", info.duration_s));
drop:
	unlink(part);
	return status;
}
