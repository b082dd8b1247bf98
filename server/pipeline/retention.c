/*
 * retention: see retention.h. A batch is one transaction: lock the rows
 * due (SKIP LOCKED), remove their files, mark them. Removing before the
 * mark commits means a crash in between leaves a row whose files are
 * gone but unmarked; the next run finds nothing to remove (ENOENT is
 * fine) and marks it, so the outcome is the same either way.
 */
#include "retention.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define BATCH		100
#define BATCH_TEXT	"100"

struct retention {
	struct db		*db;
	const struct config	*cfg;
	char			*uploads_dir;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	bool			 stop;
};

static bool	 run_batch(struct db *, const char *, int, int *,
		    long long *, char *, size_t);
static void	 remove_one(const char *, long long *);
static void	 remove_scratch(const char *, const char *, long long *);
static void	*periodic(void *);

static void
remove_one(const char *path, long long *bytes)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return;
	if (unlink(path) == 0)
		*bytes += S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
	else if (errno != ENOENT)
		log_warn("retention: unlink %s", path);
}

void
retention_remove_files(const char *dir, const char *stored, long long *bytes)
{
	/*
	 * The extracted sound; for a deleted account also what an upload
	 * left under the same name (tus_store.c, upload.c).
	 */
	static const char *const suffixes[] = { "", ".wav", ".tus", ".part" };
	char path[1024];
	size_t i;

	if (stored[0] == '\0' || stored[0] == '.' || strchr(stored, '/'))
		return;		/* never a name the server did not make */
	for (i = 0; i < ARRAY_LEN(suffixes); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, stored,
		    suffixes[i]);
		remove_one(path, bytes);
	}
	remove_scratch(dir, stored, bytes);
}

/*
 * What a killed preparation left: media_extract_wav's "NAME.wav.N.tmp"
 * and "NAME.wav.N.raw.tmp" (a name new for each run) and the upload
 * check's "NAME.wav.raw.tmp" (upload.c).
 */
static void
remove_scratch(const char *dir, const char *stored, long long *bytes)
{
	char prefix[512], path[1024];
	size_t plen, nlen;
	struct dirent *e;
	DIR *d;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s.wav.", stored);
	if (plen >= sizeof(prefix) || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		nlen = strlen(e->d_name);
		if (nlen <= plen + 4 || strncmp(e->d_name, prefix, plen) != 0 ||
		    strcmp(e->d_name + nlen - 4, ".tmp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		remove_one(path, bytes);
	}
	closedir(d);
}

static bool
run_batch(struct db *db, const char *dir, int days, int *n, long long *bytes,
    char *err, size_t errlen)
{
	static const char pick[] =
	    "SELECT s.id, s.stored_name FROM submissions s "
	    "LEFT JOIN assignments a ON a.id = s.assignment_id "
	    "WHERE s.media_removed_at IS NULL "
	    "AND s.phase IN ('completed', 'failed') "
	    "AND s.status IN ('completed', 'failed') "
	    "AND coalesce(a.due_at, s.created_at) < "
	    "now() - make_interval(days => $1::int) "
	    "ORDER BY s.id LIMIT " BATCH_TEXT " FOR UPDATE OF s SKIP LOCKED";
	static const char mark[] =
	    "UPDATE submissions SET media_removed_at = now(), "
	    "media_retention_days = $2::int WHERE id = ANY($1::bigint[])";
	char db_days[DB_NUM_LEN];
	const char *p[2];
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;
	struct buf ids;
	bool ok = false;
	int i;

	*n = 0;
	p[0] = db_param_ll(db_days, days);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen) ||
	    (r = db_query(c, pick, 1, p, err, errlen)) == NULL)
		goto out;
	buf_init(&ids);
	buf_puts(&ids, "{");
	for (i = 0; i < PQntuples(r); i++) {
		retention_remove_files(dir, db_get(r, i, "stored_name"), bytes);
		buf_printf(&ids, "%s%s", i > 0 ? "," : "", db_get(r, i, "id"));
		log_info("submission=%s recording removed (retention_days=%d)",
		    db_get(r, i, "id"), days);
	}
	buf_puts(&ids, "}");
	p[0] = buf_cstr(&ids);
	p[1] = db_days;
	ok = (PQntuples(r) == 0 || db_exec(c, mark, 2, p, err, errlen)) &&
	    db_exec(c, "COMMIT", 0, NULL, err, errlen);
	if (ok)
		*n = PQntuples(r);
	buf_free(&ids);
out:
	if (!ok)
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
	PQclear(r);
	db_release(db, c);
	return ok;
}

bool
retention_run(struct db *db, const char *dir, int days, const char *source,
    struct retention_result *res, char *err, size_t errlen)
{
	json_t *details;
	int n;
	bool ok;

	memset(res, 0, sizeof(*res));
	if (days <= 0)
		return util_seterr(err, errlen, "retention_days is 0: "
		    "recordings are kept forever");
	do {
		ok = run_batch(db, dir, days, &n, &res->bytes, err, errlen);
		res->removed += n;
	} while (ok && n == BATCH);
	if (res->removed == 0 && strcmp(source, "cli") != 0)
		return ok;
	details = json_pack("{s:i, s:I, s:i, s:s, s:b}", "removed",
	    res->removed, "bytes", (json_int_t)res->bytes, "retention_days",
	    days, "source", source, "complete", ok);
	if (!audit_write(db, NULL, 0, "retention.run", "recordings", details,
	    ok ? err : NULL, ok ? errlen : 0))
		ok = false;
	json_decref(details);
	log_info("retention: run source=%s removed=%d bytes=%lld%s", source,
	    res->removed, res->bytes, ok ? "" : " (cut short)");
	return ok;
}

struct retention *
retention_start(struct db *db, const struct config *cfg,
    const char *uploads_dir)
{
	struct retention *t;

	if (cfg->retention_days <= 0)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->db = db;
	t->cfg = cfg;
	t->uploads_dir = xstrdup(uploads_dir);
	pthread_mutex_init(&t->lock, NULL);
	util_cond_init_monotonic(&t->wake);
	if (pthread_create(&t->thread, NULL, periodic, t) != 0)
		fatal("retention: thread");
	return t;
}

void
retention_stop(struct retention *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t->uploads_dir);
	free(t);
}

static void *
periodic(void *arg)
{
	struct retention *t = arg;
	struct retention_result res;
	struct timespec until;
	char err[512];
	bool stop;

	log_info("retention: every %d s, recordings kept %d days after their "
	    "assignment closes", t->cfg->retention_interval_s,
	    t->cfg->retention_days);
	for (;;) {
		if (!retention_run(t->db, t->uploads_dir,
		    t->cfg->retention_days, "scheduler", &res, err,
		    sizeof(err)))
			log_warnx("retention: %s", err);
		pthread_mutex_lock(&t->lock);
		util_deadline_monotonic(t->cfg->retention_interval_s, &until);
		while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock,
		    &until) != ETIMEDOUT)
			;
		stop = t->stop;
		pthread_mutex_unlock(&t->lock);
		if (stop)
			return NULL;
	}
}
