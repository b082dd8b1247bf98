/*
 * tus_store: the uploads table (sql/006_uploads.sql), where an upload's
 * bytes live on disk, and the removal of expired uploads (see tus.h).
 *
 * Every query names the owner, so a row is only ever found for the
 * student who created it. An upload's offset is not stored: it is the
 * size of its data file, which a PATCH holds an exclusive flock(2) on
 * while it writes. Removal takes the same lock without waiting and skips
 * an upload that is busy, so the sweep never pulls a file from under a
 * request; a request that opened the file just before it was removed
 * finds it unlinked (st_nlink 0) once it holds the lock, and stops.
 */
#include "tus.h"
#include "tus_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define SWEEP_EVERY_S	300	/* the sweeper thread's interval */
#define SWEEP_BATCH	"500"	/* rows looked at per sweep */

#define ROW_COLUMNS \
	"id, user_id, stored_name, length, metadata, filename, " \
	"finished_at IS NOT NULL AS finished, " \
	"coalesce(submission_id, 0) AS submission_id, " \
	"coalesce(error, '') AS error, " \
	"extract(epoch FROM expires_at)::float8 AS expires_at, " \
	"iso_utc(expires_at) AS expires_iso"

struct tus_sweeper {
	struct app	*app;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	bool		 stop;
};

static void	 row_read(const PGresult *, int, struct tus_row *);
static bool	 row_query(struct db *, const char *, int, const char *const *,
		    struct tus_row *, bool *, char *, size_t);
static bool	 remove_upload(struct app *, long long, const char *, bool,
		    const char *, bool *);
static bool	 remove_listed(struct app *, PGresult *, const char *, int *);
static void	*sweeper_main(void *);
static void	 sweep_stranded(struct app *);

char *
tus_data_path(const struct app *app, const char *stored_name)
{
	return xasprintf("%s/%s.tus", app->uploads_dir, stored_name);
}

static void
row_read(const PGresult *r, int i, struct tus_row *row)
{
	memset(row, 0, sizeof(*row));
	row->id = db_get_ll(r, i, "id");
	row->user_id = db_get_ll(r, i, "user_id");
	util_strlcpy(row->stored_name, db_get(r, i, "stored_name"),
	    sizeof(row->stored_name));
	row->length = db_get_ll(r, i, "length");
	util_strlcpy(row->metadata, db_get(r, i, "metadata"),
	    sizeof(row->metadata));
	util_strlcpy(row->filename, db_get(r, i, "filename"),
	    sizeof(row->filename));
	row->finished = strcmp(db_get(r, i, "finished"), "t") == 0;
	row->submission_id = db_get_ll(r, i, "submission_id");
	util_strlcpy(row->error, db_get(r, i, "error"), sizeof(row->error));
	row->expires_at = db_get_double(r, i, "expires_at");
	util_strlcpy(row->expires_iso, db_get(r, i, "expires_iso"),
	    sizeof(row->expires_iso));
}

/* Runs a statement that returns at most one row of ROW_COLUMNS. */
static bool
row_query(struct db *db, const char *sql, int n, const char *const *p,
    struct tus_row *row, bool *found, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, p, err, errlen);

	db_release(db, c);
	if (r == NULL)
		return false;
	*found = PQntuples(r) > 0;
	if (*found)
		row_read(r, 0, row);
	PQclear(r);
	return true;
}

bool
tus_row_create(struct db *db, long long user_id, const char *name,
    long long length, const char *metadata, const char *filename,
    int expire_h, struct tus_row *row, char *err, size_t errlen)
{
	char uid[DB_NUM_LEN], len[DB_NUM_LEN], hours[DB_NUM_LEN];
	const char *p[6];
	bool found;

	db_param_ll(uid, user_id);
	db_param_ll(len, length);
	db_param_ll(hours, expire_h);
	p[0] = uid;
	p[1] = name;
	p[2] = len;
	p[3] = metadata;
	p[4] = filename;
	p[5] = hours;
	if (!row_query(db, "INSERT INTO uploads (user_id, stored_name, "
	    "length, metadata, filename, expires_at) VALUES ($1, $2, $3, $4, "
	    "$5, now() + make_interval(hours => $6::int)) RETURNING "
	    ROW_COLUMNS, 6, p, row, &found, err, errlen))
		return false;
	return found || util_seterr(err, errlen, "upload row not created");
}

bool
tus_row_get(struct db *db, long long id, long long user_id,
    struct tus_row *row, bool *found, char *err, size_t errlen)
{
	char sid[DB_NUM_LEN], uid[DB_NUM_LEN];
	const char *p[2] = { sid, uid };

	db_param_ll(sid, id);
	db_param_ll(uid, user_id);
	return row_query(db, "SELECT " ROW_COLUMNS " FROM uploads WHERE "
	    "id = $1 AND user_id = $2 AND expires_at > now()", 2, p, row,
	    found, err, errlen);
}

bool
tus_row_touch(struct db *db, struct tus_row *row, int expire_h, char *err,
    size_t errlen)
{
	char sid[DB_NUM_LEN], uid[DB_NUM_LEN], hours[DB_NUM_LEN];
	const char *p[3] = { sid, uid, hours };
	bool found;

	db_param_ll(sid, row->id);
	db_param_ll(uid, row->user_id);
	db_param_ll(hours, expire_h);
	if (!row_query(db, "UPDATE uploads SET expires_at = now() + "
	    "make_interval(hours => $3::int) WHERE id = $1 AND user_id = $2 "
	    "RETURNING " ROW_COLUMNS, 3, p, row, &found, err, errlen))
		return false;
	return found || util_seterr(err, errlen, "the upload is gone");
}

bool
tus_row_finish(struct db *db, struct tus_row *row, long long submission_id,
    const char *error, int expire_h, char *err, size_t errlen)
{
	char sid[DB_NUM_LEN], uid[DB_NUM_LEN], sub[DB_NUM_LEN], hours[DB_NUM_LEN];
	const char *p[5] = { sid, uid, NULL, error, hours };
	bool found;

	db_param_ll(sid, row->id);
	db_param_ll(uid, row->user_id);
	db_param_ll(sub, submission_id);
	db_param_ll(hours, expire_h);
	if (submission_id > 0)
		p[2] = sub;
	if (!row_query(db, "UPDATE uploads SET finished_at = now(), "
	    "submission_id = $3, error = $4, expires_at = now() + "
	    "make_interval(hours => $5::int) WHERE id = $1 AND user_id = $2 "
	    "RETURNING " ROW_COLUMNS, 5, p, row, &found, err, errlen))
		return false;
	return found || util_seterr(err, errlen, "the upload is gone");
}

bool
tus_row_delete(struct db *db, long long id, char *err, size_t errlen)
{
	char sid[DB_NUM_LEN];
	const char *p[1] = { sid };

	db_param_ll(sid, id);
	return db_exec1(db, "DELETE FROM uploads WHERE id = $1", 1, p, err,
	    errlen);
}

/*
 * Deletes row id if `cond` (SQL on the row, e.g. "expires_at < now()")
 * still holds, and with it the data file of an unfinished upload, unless
 * a request holds the file. *removed says whether it went.
 */
static bool
remove_upload(struct app *app, long long id, const char *name,
    bool finished, const char *cond, bool *removed)
{
	char sid[DB_NUM_LEN], err[512], *path = NULL, *sql;
	const char *p[1] = { sid };
	PGconn *c;
	PGresult *r;
	int fd = -1;

	*removed = false;
	if (!finished) {
		path = tus_data_path(app, name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);	/* receiving bytes right now */
			free(path);
			return true;
		}
	}
	db_param_ll(sid, id);
	sql = xasprintf("DELETE FROM uploads WHERE id = $1 AND %s", cond);
	c = db_acquire(app->db);
	r = db_query(c, sql, 1, p, err, sizeof(err));
	db_release(app->db, c);
	if (r != NULL && atoi(PQcmdTuples(r)) > 0) {
		*removed = true;
		if (path != NULL && unlink(path) == -1 && errno != ENOENT)
			log_warn("tus: unlink %s", path);
	} else if (r == NULL)
		log_warnx("tus: upload=%lld not removed: %s", id, err);
	PQclear(r);
	if (fd >= 0)
		close(fd);
	free(sql);
	free(path);
	return r != NULL;
}

/* remove_upload() for every (id, stored_name, finished) row of res. */
static bool
remove_listed(struct app *app, PGresult *res, const char *cond, int *n)
{
	bool ok = true, removed;
	int i;

	for (i = 0; i < PQntuples(res); i++) {
		if (!remove_upload(app, db_get_ll(res, i, "id"),
		    db_get(res, i, "stored_name"),
		    strcmp(db_get(res, i, "finished"), "t") == 0, cond,
		    &removed))
			ok = false;
		if (removed) {
			log_info("tus: upload=%lld removed (%s)",
			    db_get_ll(res, i, "id"), cond);
			(*n)++;
		}
	}
	return ok;
}

bool
tus_prune(struct app *app, long long user_id, int keep, char *err,
    size_t errlen)
{
	char uid[DB_NUM_LEN], off[DB_NUM_LEN];
	const char *p[2] = { uid, off };
	PGconn *c;
	PGresult *r;
	int n = 0;
	bool ok;

	db_param_ll(uid, user_id);
	db_param_ll(off, keep);
	c = db_acquire(app->db);
	r = db_query(c, "SELECT id, stored_name, false AS finished FROM "
	    "uploads WHERE user_id = $1 AND finished_at IS NULL ORDER BY "
	    "created_at DESC, id DESC OFFSET $2", 2, p, err, errlen);
	db_release(app->db, c);
	if (r == NULL)
		return false;
	ok = remove_listed(app, r, "finished_at IS NULL", &n);
	PQclear(r);
	return ok || util_seterr(err, errlen, "old uploads not removed");
}

bool
tus_sweep(struct app *app, int *n, char *err, size_t errlen)
{
	PGconn *c;
	PGresult *r;
	bool ok;

	*n = 0;
	c = db_acquire(app->db);
	r = db_query(c, "SELECT id, stored_name, finished_at IS NOT NULL AS "
	    "finished FROM uploads WHERE expires_at < now() ORDER BY "
	    "expires_at LIMIT " SWEEP_BATCH, 0, NULL, err, errlen);
	db_release(app->db, c);
	if (r == NULL)
		return false;
	ok = remove_listed(app, r, "expires_at < now()", n);
	PQclear(r);
	return ok || util_seterr(err, errlen, "expired uploads not removed");
}

struct tus_sweeper *
tus_sweeper_start(struct app *app)
{
	struct tus_sweeper *s = xcalloc(1, sizeof(*s));

	s->app = app;
	pthread_mutex_init(&s->lock, NULL);
	util_cond_init_monotonic(&s->wake);
	if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0)
		fatal("tus: sweeper thread");
	return s;
}

void
tus_sweeper_stop(struct tus_sweeper *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Uploads whose last byte came in just before the server stopped. */
static void
sweep_stranded(struct app *app)
{
	PGconn *c = db_acquire(app->db);
	PGresult *r;
	char err[512];
	int i;

	r = db_query(c, "SELECT id, user_id FROM uploads WHERE finished_at IS "
	    "NULL AND expires_at > now() ORDER BY id LIMIT " SWEEP_BATCH, 0,
	    NULL, err, sizeof(err));
	db_release(app->db, c);
	if (r == NULL) {
		log_warnx("tus: sweep: %s", err);
		return;
	}
	for (i = 0; i < PQntuples(r); i++)
		tus_finish_stranded(app, db_get_ll(r, i, "id"),
		    db_get_ll(r, i, "user_id"));
	PQclear(r);
}

static void *
sweeper_main(void *arg)
{
	struct tus_sweeper *s = arg;
	struct timespec until;
	char err[512];
	int n;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		if (!tus_sweep(s->app, &n, err, sizeof(err)))
			log_warnx("tus: sweep: %s", err);
		else if (n > 0)
			log_info("tus: sweep removed=%d", n);
		sweep_stranded(s->app);
		if (upload_sweep_parts(s->app->uploads_dir, &n) && n > 0)
			log_info("upload: sweep removed %d .part file(s)", n);
		pthread_mutex_lock(&s->lock);
		util_deadline_monotonic(SWEEP_EVERY_S, &until);
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock,
		    &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
