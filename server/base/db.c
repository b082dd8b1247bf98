/*
 * db: connection pool and migrations.
 *
 * The pool hands out whole connections under a mutex and condition
 * variable; a connection is used by one thread at a time, which is all
 * libpq asks. A connection found broken on release (the server restarted,
 * the network dropped) is reset before it is handed out again, so a
 * database restart costs the requests in flight and nothing after them.
 */
#include "db.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

struct db {
	pthread_mutex_t	  lock;
	pthread_cond_t	  cond;
	PGconn		**conns;
	bool		 *busy;
	int		  size;
};

static bool	migrate_one(PGconn *, const char *, const char *, char *,
		    size_t);
static int	cmp_names(const void *, const void *);
static void	notice_quiet(void *, const char *);

/* Keep NOTICEs (e.g. "relation already exists, skipping") out of stderr. */
static void
notice_quiet(void *arg, const char *message)
{
	log_debug("postgres notice: %s", message);
}

struct db *
db_open(const char *url, int size, char *err, size_t errlen)
{
	struct db *db;
	int i;

	db = xcalloc(1, sizeof(*db));
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->cond, NULL);
	db->size = size;
	db->conns = xcalloc((size_t)size, sizeof(*db->conns));
	db->busy = xcalloc((size_t)size, sizeof(*db->busy));
	for (i = 0; i < size; i++) {
		db->conns[i] = PQconnectdb(url);
		if (PQstatus(db->conns[i]) != CONNECTION_OK) {
			util_seterr(err, errlen, "cannot connect to the "
			    "database: %s", PQerrorMessage(db->conns[i]));
			db->size = i + 1;
			db_close(db);
			return NULL;
		}
		PQsetNoticeProcessor(db->conns[i], notice_quiet, NULL);
	}
	return db;
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < db->size; i++)
		PQfinish(db->conns[i]);
	free(db->conns);
	free(db->busy);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->cond);
	free(db);
}

PGconn *
db_acquire(struct db *db)
{
	PGconn *c = NULL;
	int i;

	pthread_mutex_lock(&db->lock);
	for (;;) {
		for (i = 0; i < db->size; i++)
			if (!db->busy[i])
				break;
		if (i < db->size)
			break;
		pthread_cond_wait(&db->cond, &db->lock);
	}
	db->busy[i] = true;
	c = db->conns[i];
	pthread_mutex_unlock(&db->lock);

	if (PQstatus(c) != CONNECTION_OK) {
		log_warnx("database connection lost, reconnecting");
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK)
			PQsetNoticeProcessor(c, notice_quiet, NULL);
	}
	return c;
}

void
db_release(struct db *db, PGconn *c)
{
	int i;

	/* A connection left inside a transaction by a failed path is rolled
	 * back here rather than handed to the next user half-done. */
	if (PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	pthread_mutex_lock(&db->lock);
	for (i = 0; i < db->size; i++)
		if (db->conns[i] == c)
			break;
	ASSERT(i < db->size);
	db->busy[i] = false;
	pthread_cond_signal(&db->cond);
	pthread_mutex_unlock(&db->lock);
}

PGresult *
db_query(PGconn *c, const char *sql, int nparams, const char *const *params,
    char *err, size_t errlen)
{
	PGresult *r;
	ExecStatusType st;
	bool idle = PQtransactionStatus(c) == PQTRANS_IDLE;

	r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	/*
	 * The server restarted since this connection's last use: reconnect
	 * and run the statement again, once. Only outside a transaction,
	 * where the statement stands alone and nothing else is lost.
	 */
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && idle &&
	    PQstatus(c) == CONNECTION_BAD) {
		PQclear(r);
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK)
			log_info("db: reconnected after the connection broke");
		r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
		st = PQresultStatus(r);
	}
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	util_seterr(err, errlen, "database: %s",
	    r != NULL && PQresultErrorMessage(r)[0] != '\0' ?
	    PQresultErrorMessage(r) : PQerrorMessage(c));
	/* libpq messages end in a newline; keep log lines whole. */
	if (err != NULL && errlen > 0) {
		size_t n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
	}
	PQclear(r);
	return NULL;
}

bool
db_exec(PGconn *c, const char *sql, int nparams, const char *const *params,
    char *err, size_t errlen)
{
	PGresult *r = db_query(c, sql, nparams, params, err, errlen);

	PQclear(r);
	return r != NULL;
}

bool
db_exists(struct db *db, const char *sql, int n, const char *const *params,
    bool *exists, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, params, err, errlen);

	db_release(db, c);
	if (r == NULL)
		return false;
	*exists = PQntuples(r) > 0;
	PQclear(r);
	return true;
}

json_t *
db_query_json(struct db *db, const char *sql, int n,
    const char *const *params, bool *found, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, params, err, errlen);
	json_error_t jerr;
	json_t *out = NULL;

	db_release(db, c);
	if (found != NULL)
		*found = true;
	if (r == NULL)
		return NULL;
	if (PQntuples(r) == 0) {
		if (found != NULL)
			*found = false;
		else
			util_seterr(err, errlen, "the query returned no row");
	} else if (PQgetisnull(r, 0, 0))
		out = json_null();
	else if ((out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY,
	    &jerr)) == NULL)
		util_seterr(err, errlen, "the database answered bad JSON: %s",
		    jerr.text);
	PQclear(r);
	return out;
}

bool
db_exec1(struct db *db, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	bool ok = db_exec(c, sql, nparams, params, err, errlen);

	db_release(db, c);
	return ok;
}

const char *
db_param_ll(char buf[DB_NUM_LEN], long long v)
{
	snprintf(buf, DB_NUM_LEN, "%lld", v);
	return buf;
}

const char *
db_param_double(char buf[DB_NUM_LEN], double v)
{
	snprintf(buf, DB_NUM_LEN, "%.6f", v);
	return buf;
}

const char *
db_get(const PGresult *r, int row, const char *column)
{
	int col = PQfnumber(r, column);

	ASSERT(col >= 0);
	if (PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

long long
db_get_ll(const PGresult *r, int row, const char *column)
{
	const char *v = db_get(r, row, column);

	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

double
db_get_double(const PGresult *r, int row, const char *column)
{
	const char *v = db_get(r, row, column);

	return v != NULL ? strtod(v, NULL) : 0.0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
migrate_one(PGconn *c, const char *path, const char *version, char *err,
    size_t errlen)
{
	const char *params[1] = { version };
	struct buf sql = BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f;
	bool ok = false;

	if ((f = fopen(path, "r")) == NULL)
		return util_seterr(err, errlen, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&sql, chunk, n);
	fclose(f);

	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen))
		goto out;
	/* PQexec (not PQexecParams) so that a file may hold many statements. */
	PGresult *r = PQexec(c, buf_cstr(&sql));
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		util_seterr(err, errlen, "migration %s failed: %s", path,
		    PQresultErrorMessage(r));
		PQclear(r);
		PQclear(PQexec(c, "ROLLBACK"));
		goto out;
	}
	PQclear(r);
	if (!db_exec(c, "INSERT INTO schema_migrations (version) VALUES ($1)",
	    1, params, err, errlen) ||
	    !db_exec(c, "COMMIT", 0, NULL, err, errlen)) {
		PQclear(PQexec(c, "ROLLBACK"));
		goto out;
	}
	log_info("migration applied version=%s", version);
	ok = true;
out:
	buf_free(&sql);
	return ok;
}

bool
db_migrate(struct db *db, const char *dir, int *applied, char *err,
    size_t errlen)
{
	PGconn *c = db_acquire(db);
	char **names = NULL;
	size_t nnames = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	bool ok = false;

	*applied = 0;
	/* One migrator at a time across every instance sharing the database. */
	if (!db_exec(c, "SELECT pg_advisory_lock(7246001)", 0, NULL, err,
	    errlen) ||
	    !db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL "
	    "DEFAULT now())", 0, NULL, err, errlen))
		goto out;
	if ((d = opendir(dir)) == NULL) {
		util_seterr(err, errlen, "cannot open migrations directory %s",
		    dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 4, ".sql") != 0 ||
		    strspn(de->d_name, "0123456789") != 3 ||
		    de->d_name[3] != '_')
			continue;
		names = xrealloc(names, (nnames + 1) * sizeof(*names));
		names[nnames++] = xstrdup(de->d_name);
	}
	qsort(names, nnames, sizeof(*names), cmp_names);
	for (i = 0; i < nnames; i++) {
		char version[4];
		const char *params[1] = { version };
		PGresult *r;
		char *path;
		bool done;

		memcpy(version, names[i], 3);
		version[3] = '\0';
		r = db_query(c, "SELECT 1 FROM schema_migrations WHERE "
		    "version = $1", 1, params, err, errlen);
		if (r == NULL)
			goto out;
		done = PQntuples(r) > 0;
		PQclear(r);
		if (done)
			continue;
		path = xasprintf("%s/%s", dir, names[i]);
		ok = migrate_one(c, path, version, err, errlen);
		free(path);
		if (!ok)
			goto out;
		(*applied)++;
	}
	ok = true;
out:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(7246001)"));
	db_release(db, c);
	return ok;
}
