/*
 * submit: uploads recordings with tus 1.0 (server/web/tus.c): create with
 * POST /api/v1/uploads, send the bytes in PATCH chunks, and when the
 * connection drops ask HEAD where to go on. A small state file per
 * upload, keyed by the server, the file's real path, size and mtime and
 * the assignment, remembers the upload's address, so running the same
 * command again after an interruption (even a killed process) resumes
 * instead of starting over; a changed file is a new upload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl.h"

#define CHUNK_DEFAULT	(1024 * 1024)
#define TRIES		6	/* answers missing in a row before giving up */

struct upload {
	struct ctl	*c;
	const char	*file;
	const char	*name;		/* the file's base name */
	char		 real[PATH_MAX];
	char		 state[PATH_MAX + 64];
	char		 location[512];
	long long	 size, offset, mtime;
	long long	 id;		/* the submission, once made */
	char		 error[512];
	int		 code;		/* exit code of a failure */
	/* progress */
	double		 started;
	int		 step;		/* the quarter last printed */
	bool		 bar;		/* a redrawn bar on stderr */
	long long	 base;		/* offset when this run began */
	long long	 shown;		/* bytes last shown */
	double		 drawn;		/* when */
};

static bool	 state_path(struct upload *);
static bool	 state_load(struct upload *);
static void	 state_save(struct upload *);
static bool	 ask_offset(struct upload *, bool *);
static bool	 create(struct upload *);
static bool	 send_chunk(struct upload *, size_t, bool *);
static int	 upload_one(struct ctl *, const char *, json_t *);
static void	 on_progress(void *, double);
static void	 show(struct upload *, long long, bool);
static double	 now_s(void);
static void	 b64(const char *, char *, size_t);
static bool	 took_answer(struct upload *, struct ctl_resp *, bool *);
static void	 refused(struct upload *, struct ctl_resp *);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
b64(const char *in, char *out, size_t len)
{
	sodium_bin2base64(out, len, (const unsigned char *)in, strlen(in),
	    sodium_base64_VARIANT_ORIGINAL);
}

/* $XDG_STATE_HOME/introevalctl/uploads/KEY (~/.local/state). */
static bool
state_path(struct upload *u)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX], key[1024], *p;
	unsigned char h[16];
	char hex[33];

	if (xdg != NULL && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/introevalctl/uploads", xdg);
	else if (home != NULL && home[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/.local/state/introevalctl/"
		    "uploads", home);
	else
		return false;
	for (p = dir + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(dir, 0700);
			*p = '/';
		}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	snprintf(key, sizeof(key), "%s\n%s\n%lld\n%lld\n%s", u->c->url,
	    u->real, u->size, u->mtime, u->c->o->assignment ?
	    u->c->o->assignment : "");
	crypto_generichash(h, sizeof(h), (const unsigned char *)key,
	    strlen(key), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(u->state, sizeof(u->state), "%s/%s", dir, hex);
	return true;
}

static bool
state_load(struct upload *u)
{
	char line[600];
	FILE *f;

	u->location[0] = '\0';
	if (u->state[0] == '\0' || (f = fopen(u->state, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "location=", 9) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(u->location, sizeof(u->location), "%s",
			    line + 9);
		}
	fclose(f);
	return strncmp(u->location, "/api/v1/uploads/", 16) == 0;
}

static void
state_save(struct upload *u)
{
	FILE *f;
	int fd;

	if (u->state[0] == '\0')
		return;
	if ((fd = open(u->state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		ctl_warnx("%s: %s (the upload cannot resume after an "
		    "interruption)", u->state, strerror(errno));
		return;
	}
	fprintf(f, "location=%s\nfile=%s\nsize=%lld\nmtime=%lld\n",
	    u->location, u->real, u->size, u->mtime);
	fclose(f);
}

static void
show(struct upload *u, long long done, bool last)
{
	char line[256];
	struct winsize ws;
	double el = now_s() - u->started;
	int step;

	if (u->c->o->json || u->c->o->no_progress)
		return;
	/* libcurl reports often, and from 0 again when the answer comes */
	if (!last && (done < u->shown || (u->bar &&
	    now_s() - u->drawn < 0.1)))
		return;
	u->shown = done;
	u->drawn = now_s();
	if (u->bar) {
		if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0)
			ws.ws_col = 80;
		ctl_progress_line(u->name, (double)done, (double)u->size,
		    el > 0.5 ? (double)(done - u->base) / el : 0, ws.ws_col,
		    line, sizeof(line));
		fprintf(stderr, "\r%s\033[K%s", line, last ? "\n" : "");
		return;
	}
	step = ctl_progress_step((double)done, (double)u->size);
	if (step <= u->step)
		return;
	u->step = step;
	ctl_size_text((double)done, line, 40);
	ctl_size_text((double)u->size, line + 40, 40);
	fprintf(stderr, "%s: %d%% sent (%s of %s)\n", u->name, u->size > 0 ?
	    (int)(done * 100 / u->size) : 100, line, line + 40);
}

static void
on_progress(void *arg, double sent)
{
	struct upload *u = arg;

	show(u, u->offset + (long long)sent, false);
}

/* The server's reason for an answer that is not what was asked. */
static void
refused(struct upload *u, struct ctl_resp *r)
{
	ctl_api_error(r->body, r->len, r->status, u->error, sizeof(u->error));
	u->code = ctl_exit_for_status(r->status);
}

/*
 * Reads a tus answer's outcome: the submission's id when it names one,
 * or the reason it was refused. True when the upload has ended (*ok:
 * made a submission).
 */
static bool
took_answer(struct upload *u, struct ctl_resp *r, bool *ok)
{
	char v[512];

	if (ctl_resp_header(r, "X-Submission-Id", v, sizeof(v))) {
		u->id = atoll(v);
		*ok = true;
		return true;
	}
	if (ctl_resp_header(r, "X-Upload-Error", v, sizeof(v))) {
		snprintf(u->error, sizeof(u->error), "%s", v);
		u->code = CTL_FAILED;
		*ok = false;
		return true;
	}
	if (r->status == 422 || r->status == 413 || r->status == 400) {
		refused(u, r);
		u->code = CTL_FAILED;
		*ok = false;
		return true;
	}
	return false;
}

/* HEAD: where the server is; false when the upload is gone or ended. */
static bool
ask_offset(struct upload *u, bool *ended)
{
	static const char *const hdr[] = { "Tus-Resumable: 1.0.0", NULL };
	struct ctl_req req = { .method = "HEAD", .path = u->location,
	    .headers = hdr };
	struct ctl_resp r;
	char v[64];
	bool ok = false, done_ok;

	*ended = false;
	if (!ctl_http(u->c, &req, &r)) {
		snprintf(u->error, sizeof(u->error), "%s", r.err);
		u->code = CTL_UNAVAILABLE;
		goto out;
	}
	if (r.status == 200 && took_answer(u, &r, &done_ok)) {
		*ended = true;
		ok = done_ok;
		goto out;
	}
	if (r.status == 200 && ctl_resp_header(&r, "Upload-Offset", v,
	    sizeof(v))) {
		u->offset = atoll(v);
		ok = true;
	} else {
		refused(u, &r);
	}
out:
	ctl_resp_free(&r);
	return ok;
}

static bool
create(struct upload *u)
{
	char len[64], meta[1400], name64[700], as64[100], idem[80];
	const char *hdr[] = { "Tus-Resumable: 1.0.0", len, meta, idem, NULL };
	struct ctl_req req = { .method = "POST", .path = "/api/v1/uploads",
	    .headers = hdr };
	struct ctl_resp r;
	bool ok = false, done_ok;

	b64(u->name, name64, sizeof(name64));
	snprintf(len, sizeof(len), "Upload-Length: %lld", u->size);
	if (u->c->o->assignment != NULL) {
		b64(u->c->o->assignment, as64, sizeof(as64));
		snprintf(meta, sizeof(meta), "Upload-Metadata: filename %s,"
		    "assignment_id %s", name64, as64);
	} else
		snprintf(meta, sizeof(meta), "Upload-Metadata: filename %s",
		    name64);
	ctl_idempotency_key(idem, sizeof(idem));
	if (!ctl_http(u->c, &req, &r)) {
		snprintf(u->error, sizeof(u->error), "%s", r.err);
		u->code = CTL_UNAVAILABLE;
		return false;
	}
	if (r.status == 201 && ctl_resp_header(&r, "Location", u->location,
	    sizeof(u->location)) && strncmp(u->location, "/api/v1/uploads/",
	    16) == 0) {
		u->offset = 0;
		state_save(u);
		ok = true;
	} else if (!took_answer(u, &r, &done_ok)) {
		refused(u, &r);
	}
	ctl_resp_free(&r);
	return ok;
}

/*
 * PATCH the next chunk (len bytes from the offset). True when the server
 * answered; *ended once the upload ended (u->id or u->error say how).
 */
static bool
send_chunk(struct upload *u, size_t len, bool *ended)
{
	char off[64], v[64];
	const char *hdr[] = { "Tus-Resumable: 1.0.0", off, NULL };
	struct ctl_req req = { .method = "PATCH", .path = u->location,
	    .ctype = "application/offset+octet-stream", .headers = hdr,
	    .progress = true, .on_progress = on_progress, .arg = u };
	struct ctl_resp r;
	char *buf = malloc(len ? len : 1);
	bool answered = false, ok;
	ssize_t n = 0;
	int fd;

	*ended = false;
	if (buf == NULL || (fd = open(u->file, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (n = pread(fd, buf, len, (off_t)u->offset)) != (ssize_t)len ||
	    close(fd) != 0) {
		snprintf(u->error, sizeof(u->error), "%s: %s", u->file, n >= 0 ?
		    "the file changed while it was sent" : strerror(errno));
		u->code = CTL_FAILED;
		*ended = true;
		free(buf);
		return true;
	}
	snprintf(off, sizeof(off), "Upload-Offset: %lld", u->offset);
	req.body = buf;
	req.len = len;
	if (!ctl_http(u->c, &req, &r)) {
		snprintf(u->error, sizeof(u->error), "%s", r.err);
		u->code = CTL_UNAVAILABLE;
		goto out;
	}
	answered = true;
	if (took_answer(u, &r, &ok)) {
		*ended = true;
		goto out;
	}
	if ((r.status == 204 || r.status == 409 || r.status == 408) &&
	    ctl_resp_header(&r, "Upload-Offset", v, sizeof(v)))
		u->offset = atoll(v);
	else if (r.status == 423) {
		/* another connection (our dropped one) still holds it */
		answered = false;
		snprintf(u->error, sizeof(u->error), "the server is still "
		    "receiving an earlier attempt");
		u->code = CTL_UNAVAILABLE;
	} else {
		refused(u, &r);
		*ended = true;
	}
out:
	ctl_resp_free(&r);
	free(buf);
	return answered;
}

/* One file: 0 and its submission in out, or the exit code of why not. */
static int
upload_one(struct ctl *c, const char *file, json_t *out)
{
	struct upload u;
	struct stat st;
	size_t chunk = c->o->chunk_kib > 0 ? (size_t)c->o->chunk_kib * 1024 :
	    CHUNK_DEFAULT, len;
	bool ended = false, resumed = false;
	int misses = 0;

	memset(&u, 0, sizeof(u));
	u.c = c;
	u.file = file;
	u.name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	u.step = -1;
	u.bar = c->tty_err;
	errno = 0;
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) ||
	    realpath(file, u.real) == NULL) {
		snprintf(u.error, sizeof(u.error), "%s", errno ? strerror(errno)
		    : "not a regular file");
		u.code = CTL_FAILED;
		goto done;
	}
	u.size = (long long)st.st_size;
	u.mtime = (long long)st.st_mtime;
	if (!state_path(&u))
		u.state[0] = '\0';
	if (state_load(&u)) {
		if (ask_offset(&u, &ended))
			resumed = true;
		else if (ended)
			goto done;
		else if (u.code == CTL_NOTFOUND)
			u.location[0] = '\0';	/* expired: start over */
		else
			goto done;
		u.error[0] = '\0';
		u.code = 0;
	}
	if (!resumed && !create(&u)) {
		ended = u.id > 0;
		goto done;
	}
	if (resumed && !c->o->json)
		fprintf(stderr, "%s: resuming at byte %lld of %lld\n", u.name,
		    u.offset, u.size);
	u.started = now_s();
	u.base = u.offset;
	/* The last PATCH may be empty: a finished upload whose answer got
	 * lost tells its outcome to HEAD (ask_offset) instead. */
	while (!ended) {
		len = (size_t)(u.size - u.offset) < chunk ?
		    (size_t)(u.size - u.offset) : chunk;
		if (send_chunk(&u, len, &ended)) {
			misses = 0;
			show(&u, u.offset, false);
			continue;
		}
		if (++misses >= TRIES)
			break;
		sleep(1u << (misses - 1));
		if (!ask_offset(&u, &ended) && !ended && u.code !=
		    CTL_UNAVAILABLE)
			break;
	}
done:
	if (u.id > 0)
		show(&u, u.size, true);
	else if (u.bar && u.started > 0 && !c->o->json && !c->o->no_progress)
		fputc('\n', stderr);
	if (u.id > 0) {
		if (u.state[0] != '\0')
			unlink(u.state);
		json_array_append_new(out, json_pack("{s:s, s:I}", "file", file,
		    "id", (json_int_t)u.id));
		if (!c->o->json)
			fprintf(c->out, "%s: submission %lld\n", file, u.id);
		return CTL_OK;
	}
	if (u.code == CTL_FAILED && u.state[0] != '\0' && u.location[0])
		unlink(u.state);	/* refused: a retry starts afresh */
	if (u.code == 0)
		u.code = CTL_UNAVAILABLE;
	json_array_append_new(out, json_pack("{s:s, s:s}", "file", file,
	    "error", u.error[0] ? u.error : "the upload did not finish"));
	ctl_warnx("%s: %s%s", file, u.error[0] ? u.error : "the upload did "
	    "not finish", u.code == CTL_UNAVAILABLE && u.location[0] ?
	    " (run the same command again to resume)" : "");
	return u.code;
}

int
ctl_submit(struct ctl *c)
{
	json_t *out = json_array();
	int i, rc, worst = CTL_OK;

	if (c->o->nargs == 0) {
		ctl_warnx("submit: name the recordings to upload (see "
		    "introevalctl submit --help)");
		json_decref(out);
		return CTL_USAGE;
	}
	for (i = 0; i < c->o->nargs; i++)
		if ((rc = upload_one(c, c->o->args[i], out)) != CTL_OK &&
		    worst == CTL_OK)
			worst = rc;
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:o}", "submissions", out));
	else
		json_decref(out);
	return worst;
}
