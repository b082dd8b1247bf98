/*
 * db: connection pools and migrations.
 *
 * A pool hands out whole connections under a mutex and a condition
 * variable on the monotonic clock; a connection is used by one thread at
 * a time, which is all libpq asks. A request pool bounds the wait
 * (db_acquire returns NULL, "busy"); the scheduler's pool does not.
 *
 * Reconnecting never doubles a write. A connection the server closed
 * while it sat idle is noticed at db_acquire (the socket is readable and
 * libpq reads the FATAL and the end of file) and reset before anything is
 * sent, which covers a database restart. A statement that was sent and
 * whose answer was lost is run again only when running it twice is
 * harmless (see db.h); otherwise the caller hears that the change may not
 * have been saved.
 *
 * Each thread keeps a small table of the connections it holds, so that
 * db_query, which gets only a PGconn, finds its pool (for logging) and
 * its slot (a connection lost inside a transaction stays lost until it
 * is released) without a lock.
 *
 * An outage is logged once per pool: a loss is logged only by a
 * connection opened after the last logged loss, and the first reconnect
 * after it says so.
 */
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define HELD_MAX	4	/* connections one thread holds at once */
#define DRAIN_MAX	8	/* reads of an idle connection at acquire */

#define MSG_BUSY	"the database is busy; try again"
#define MSG_LOST	"the database connection was lost; the change may " \
			"not have been saved"

struct slot {
	PGconn		*conn;
	bool		 busy;
	bool		 lost_in_tx;	/* lost with a transaction open */
	double		 connected_at;	/* monotonic */
};

struct db {
	pthread_mutex_t	  lock;
	pthread_cond_t	  cond;
	struct slot	 *slots;
	int		  size;
	double		  acquire_timeout_s;
	char		 *name;		/* application_name, for logs */
	/* Outage logging, under lock. */
	double		  lost_logged_at;
	bool		  reconnect_logged;
	bool		  connect_fail_logged;
	bool		  starved;
};

/* The connections this thread holds, and its last acquire's outcome. */
static _Thread_local struct held {
	PGconn		*conn;
	struct db	*db;
	struct slot	*slot;
} held[HELD_MAX];
static _Thread_local bool last_busy;

static PGconn	*connect_one(const struct db_options *);
static struct held *held_find(PGconn *);
static void	 drain_idle(PGconn *);
static bool	 reconnect(PGconn *, struct held *);
static void	 note_lost(struct held *);
static bool	 read_only(const char *);
static const char *pq_error(PGconn *, char *, size_t);
static void	 one_line(char *);
static PGresult	*send_wait(PGconn *, const char *, int, const char *const *,
		    bool *);
static PGresult	*query(PGconn *, const char *, int, const char *const *,
		    bool, char *, size_t);
static bool	 migrate_one(PGconn *, const char *, const char *, char *,
		    size_t);
static int	 cmp_names(const void *, const void *);
static bool	 migration_files(const char *, char ***, size_t *, char *,
		    size_t);
static void	 notice_quiet(void *, const char *);

/* Keep NOTICEs (e.g. "relation already exists, skipping") out of stderr. */
static void
notice_quiet(void *arg, const char *message)
{
	log_debug("postgres notice: %s", message);
}

/*
 * The URL's parameters plus ours. application_name and the statement
 * timeout are start-up parameters, not SETs, so that PQreset keeps them.
 */
static PGconn *
connect_one(const struct db_options *o)
{
	PQconninfoOption *opts, *p;
	const char **keys, **vals;
	char *options = NULL, *errmsg = NULL;
	bool has_timeout = false;
	PGconn *c;
	int n = 0, i;

	if ((opts = PQconninfoParse(o->url, &errmsg)) == NULL) {
		/* Let libpq report the bad URL in the usual way. */
		PQfreemem(errmsg);
		return PQconnectdb(o->url);
	}
	for (p = opts; p->keyword != NULL; p++)
		n++;
	keys = xcalloc((size_t)n + 4, sizeof(*keys));
	vals = xcalloc((size_t)n + 4, sizeof(*vals));
	for (i = 0, p = opts; p->keyword != NULL; p++) {
		if (p->val == NULL || strcmp(p->keyword, "options") == 0)
			continue;
		if (strcmp(p->keyword, "connect_timeout") == 0)
			has_timeout = true;
		keys[i] = p->keyword;
		vals[i++] = p->val;
	}
	for (p = opts; p->keyword != NULL; p++) {
		if (strcmp(p->keyword, "options") != 0)
			continue;
		if (o->statement_timeout_s > 0)
			options = xasprintf("%s%s-c statement_timeout=%d",
			    p->val != NULL ? p->val : "",
			    p->val != NULL ? " " : "",
			    o->statement_timeout_s * 1000);
		else if (p->val != NULL)
			options = xstrdup(p->val);
	}
	if (options != NULL) {
		keys[i] = "options";
		vals[i++] = options;
	}
	if (o->application_name != NULL) {
		keys[i] = "application_name";
		vals[i++] = o->application_name;
	}
	/* A host that does not answer must not hold a thread for ever. */
	if (!has_timeout) {
		keys[i] = "connect_timeout";
		vals[i++] = "10";
	}
	c = PQconnectdbParams(keys, vals, 0);
	free(options);
	free(keys);
	free(vals);
	PQconninfoFree(opts);
	return c;
}

struct db *
db_open_with(const struct db_options *o, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct db *db;
	int i;

	db = xcalloc(1, sizeof(*db));
	pthread_mutex_init(&db->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->cond, &ca);
	pthread_condattr_destroy(&ca);
	db->acquire_timeout_s = o->acquire_timeout_s;
	db->name = xstrdup(o->application_name != NULL ?
	    o->application_name : "db");
	db->slots = xcalloc((size_t)o->size, sizeof(*db->slots));
	for (i = 0; i < o->size; i++) {
		db->size = i + 1;
		db->slots[i].conn = connect_one(o);
		db->slots[i].connected_at = util_monotonic();
		if (PQstatus(db->slots[i].conn) != CONNECTION_OK) {
			util_seterr(err, errlen, "cannot connect to the "
			    "database: %s", PQerrorMessage(db->slots[i].conn));
			db_close(db);
			return NULL;
		}
		PQsetNoticeProcessor(db->slots[i].conn, notice_quiet, NULL);
	}
	return db;
}

struct db *
db_open(const char *url, int size, char *err, size_t errlen)
{
	struct db_options o;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.size = size;
	return db_open_with(&o, err, errlen);
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < db->size; i++)
		PQfinish(db->slots[i].conn);
	free(db->slots);
	free(db->name);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->cond);
	free(db);
}

static struct held *
held_find(PGconn *c)
{
	int i;

	for (i = 0; i < HELD_MAX; i++)
		if (held[i].conn == c)
			return &held[i];
	return NULL;
}

/*
 * Reads whatever an idle connection has received without blocking. After
 * a server restart that is a FATAL and the end of file, and libpq marks
 * the connection bad; anything else (a notice) is harmless.
 */
static void
drain_idle(PGconn *c)
{
	struct pollfd pfd;
	int i;

	for (i = 0; i < DRAIN_MAX && PQstatus(c) == CONNECTION_OK; i++) {
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
			break;
		if (!PQconsumeInput(c))
			break;
	}
}

/* Folds libpq's multi-line messages into one line without a newline. */
static void
one_line(char *s)
{
	char *in, *out;
	size_t n;

	for (in = out = s; *in != '\0'; in++) {
		if (*in == '\n' || *in == '\t' || *in == '\r') {
			if (out > s && out[-1] != ' ')
				*out++ = ' ';
		} else
			*out++ = *in;
	}
	*out = '\0';
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

static const char *
pq_error(PGconn *c, char *buf, size_t len)
{
	util_strlcpy(buf, PQerrorMessage(c), len);
	one_line(buf);
	return buf;
}

/* Logs the loss if it starts an outage (see the top of the file). */
static void
note_lost(struct held *h)
{
	char msg[512];
	struct db *db;

	if (h == NULL)
		return;
	db = h->db;
	pthread_mutex_lock(&db->lock);
	if (h->slot->connected_at >= db->lost_logged_at) {
		log_warnx("db pool=%s: connection lost: %s", db->name,
		    pq_error(h->conn, msg, sizeof(msg)));
		db->lost_logged_at = util_monotonic();
		db->reconnect_logged = false;
	}
	pthread_mutex_unlock(&db->lock);
}

/* Resets a broken connection; true if it works again. */
static bool
reconnect(PGconn *c, struct held *h)
{
	struct db *db = h != NULL ? h->db : NULL;
	char msg[512];
	bool ok;

	PQreset(c);
	ok = PQstatus(c) == CONNECTION_OK;
	if (db == NULL)
		return ok;
	pthread_mutex_lock(&db->lock);
	if (ok) {
		h->slot->connected_at = util_monotonic();
		h->slot->lost_in_tx = false;
		if (!db->reconnect_logged)
			log_info("db pool=%s: reconnected", db->name);
		db->reconnect_logged = true;
		db->connect_fail_logged = false;
	} else if (!db->connect_fail_logged) {
		log_warnx("db pool=%s: cannot reconnect: %s", db->name,
		    pq_error(c, msg, sizeof(msg)));
		db->connect_fail_logged = true;
	}
	pthread_mutex_unlock(&db->lock);
	return ok;
}

PGconn *
db_acquire(struct db *db)
{
	struct timespec deadline;
	struct held *h;
	struct slot *s = NULL;
	int i, rc = 0;

	memset(&deadline, 0, sizeof(deadline));
	if (db->acquire_timeout_s > 0) {
		double t = util_monotonic() + db->acquire_timeout_s;

		deadline.tv_sec = (time_t)t;
		deadline.tv_nsec = (long)((t - (double)deadline.tv_sec) * 1e9);
	}
	pthread_mutex_lock(&db->lock);
	for (;;) {
		for (i = 0; i < db->size; i++)
			if (!db->slots[i].busy) {
				s = &db->slots[i];
				break;
			}
		if (s != NULL || rc == ETIMEDOUT)
			break;
		if (db->acquire_timeout_s > 0)
			rc = pthread_cond_timedwait(&db->cond, &db->lock,
			    &deadline);
		else
			pthread_cond_wait(&db->cond, &db->lock);
	}
	if (s == NULL) {
		if (!db->starved)
			log_warnx("db pool=%s: no connection free within "
			    "%.1f s; answering busy", db->name,
			    db->acquire_timeout_s);
		db->starved = true;
		pthread_mutex_unlock(&db->lock);
		last_busy = true;
		return NULL;
	}
	if (db->starved)
		log_info("db pool=%s: connections free again", db->name);
	db->starved = false;
	s->busy = true;
	s->lost_in_tx = false;
	pthread_mutex_unlock(&db->lock);
	last_busy = false;

	if ((h = held_find(NULL)) != NULL) {
		h->conn = s->conn;
		h->db = db;
		h->slot = s;
	}
	drain_idle(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		note_lost(h);
		reconnect(s->conn, h);
	}
	return s->conn;
}

void
db_release(struct db *db, PGconn *c)
{
	struct held *h;
	int i;

	if (c == NULL)
		return;
	/* A connection left inside a transaction by a failed path is rolled
	 * back here rather than handed to the next user half-done. */
	if (PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	if ((h = held_find(c)) != NULL)
		memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&db->lock);
	for (i = 0; i < db->size; i++)
		if (db->slots[i].conn == c)
			break;
	ASSERT(i < db->size);
	db->slots[i].busy = false;
	pthread_cond_signal(&db->cond);
	pthread_mutex_unlock(&db->lock);
}

bool
db_last_busy(void)
{
	return last_busy;
}

/* Whether the statement's first word is SELECT. */
static bool
read_only(const char *sql)
{
	sql += strspn(sql, " \t\r\n");
	return strncasecmp(sql, "SELECT", 6) == 0 &&
	    (sql[6] == '\0' || strchr(" \t\r\n(", sql[6]) != NULL);
}

/*
 * Sends a statement and waits for its result, as PQexecParams does but
 * telling whether it was dispatched. *sent false: nothing reached the
 * server, so nothing can have been committed.
 */
static PGresult *
send_wait(PGconn *c, const char *sql, int n, const char *const *params,
    bool *sent)
{
	PGresult *r, *out = NULL;

	*sent = PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0) == 1;
	if (!*sent)
		return NULL;
	while ((r = PQgetResult(c)) != NULL) {
		/* The first error is the one that explains. */
		if (out != NULL && PQresultStatus(out) == PGRES_FATAL_ERROR) {
			PQclear(r);
			continue;
		}
		PQclear(out);
		out = r;
	}
	return out;
}

static PGresult *
query(PGconn *c, const char *sql, int n, const char *const *params,
    bool idempotent, char *err, size_t errlen)
{
	struct held *h;
	PGresult *r = NULL;
	ExecStatusType st;
	char msg[512];
	bool idle, sent;

	if (c == NULL) {
		util_seterr(err, errlen, MSG_BUSY);
		return NULL;
	}
	h = held_find(c);
	/* Broken by an earlier statement of this caller: reconnect only if
	 * that did not lose a transaction the caller is still in. */
	if (PQstatus(c) != CONNECTION_OK) {
		if (h != NULL && h->slot->lost_in_tx)
			goto lost;
		if (!reconnect(c, h))
			goto down;
	}
	idle = PQtransactionStatus(c) == PQTRANS_IDLE;
	r = send_wait(c, sql, n, params, &sent);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	if (PQstatus(c) == CONNECTION_OK)
		goto refused;
	note_lost(h);
	if (!idle) {
		/* The transaction is gone; what follows in it must fail too. */
		if (h != NULL)
			h->slot->lost_in_tx = true;
		goto lost;
	}
	if (sent && !idempotent && !read_only(sql))
		goto lost;
	PQclear(r);
	r = NULL;
	if (!reconnect(c, h))
		goto down;
	r = send_wait(c, sql, n, params, &sent);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	if (PQstatus(c) != CONNECTION_OK)
		goto lost;
refused:
	util_strlcpy(msg, r != NULL && PQresultErrorMessage(r)[0] != '\0' ?
	    PQresultErrorMessage(r) : PQerrorMessage(c), sizeof(msg));
	one_line(msg);
	util_seterr(err, errlen, "database: %s", msg);
	PQclear(r);
	return NULL;
lost:
	util_seterr(err, errlen, MSG_LOST " (%s)", pq_error(c, msg,
	    sizeof(msg)));
	PQclear(r);
	return NULL;
down:
	util_seterr(err, errlen, "the database is not answering (%s)",
	    pq_error(c, msg, sizeof(msg)));
	PQclear(r);
	return NULL;
}

PGresult *
db_query(PGconn *c, const char *sql, int nparams, const char *const *params,
    char *err, size_t errlen)
{
	return query(c, sql, nparams, params, false, err, errlen);
}

PGresult *
db_query_idempotent(PGconn *c, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen)
{
	return query(c, sql, nparams, params, true, err, errlen);
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

bool
db_query_id(struct db *db, const char *sql, int n, const char *const *params,
    long long *id, char *err, size_t errlen)
{
	PGconn *c = db_acquire(db);
	PGresult *r = db_query(c, sql, n, params, err, errlen);

	db_release(db, c);
	if (r == NULL)
		return false;
	*id = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ?
	    strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
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

/* The NNN_*.sql files of dir, sorted; false if it cannot be read. */
static bool
migration_files(const char *dir, char ***names, size_t *n, char *err,
    size_t errlen)
{
	struct dirent *de;
	size_t len;
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return util_seterr(err, errlen, "cannot open migrations "
		    "directory %s", dir);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 4, ".sql") != 0 ||
		    strspn(de->d_name, "0123456789") != 3 ||
		    de->d_name[3] != '_')
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(*names, *n, sizeof(**names), cmp_names);
	return true;
}

bool
db_migrations_pending(struct db *db, const char *dir, int *pending,
    char first[4], char *err, size_t errlen)
{
	const char *p[1];
	struct buf arr = BUF_INIT;
	char **names;
	size_t n, i;
	PGconn *c;
	PGresult *r = NULL;

	*pending = 0;
	first[0] = '\0';
	if (!migration_files(dir, &names, &n, err, errlen))
		return false;
	buf_putc(&arr, '{');
	for (i = 0; i < n; i++)
		buf_printf(&arr, "%s\"%.3s\"", i > 0 ? "," : "", names[i]);
	buf_putc(&arr, '}');
	p[0] = buf_cstr(&arr);
	c = db_acquire(db);
	r = db_query(c, "SELECT v FROM unnest($1::text[]) v WHERE v NOT IN "
	    "(SELECT version FROM schema_migrations) ORDER BY v", 1, p, err,
	    errlen);
	db_release(db, c);
	if (r != NULL) {
		*pending = PQntuples(r);
		if (*pending > 0)
			util_strlcpy(first, PQgetvalue(r, 0, 0), 4);
	}
	PQclear(r);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_free(&arr);
	return r != NULL;
}

bool
db_migrate(struct db *db, const char *dir, int *applied, char *err,
    size_t errlen)
{
	PGconn *c = db_acquire(db);
	char **names = NULL;
	size_t nnames = 0, i;
	bool ok = false;

	*applied = 0;
	/* One migrator at a time across every instance sharing the database. */
	if (!db_exec(c, "SELECT pg_advisory_lock(7246001)", 0, NULL, err,
	    errlen) ||
	    !db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL "
	    "DEFAULT now())", 0, NULL, err, errlen))
		goto out;
	if (!migration_files(dir, &names, &nnames, err, errlen))
		goto out;
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
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock(7246001)"));
	db_release(db, c);
	return ok;
}
