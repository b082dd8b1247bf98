/*
 * db: fixed-size pools of libpq connections shared by threads, small
 * helpers for parameterised queries, and the migration runner. SQL that
 * belongs to a table lives in the module that owns the table, not here.
 * The server opens two pools: one for requests, whose wait for a
 * connection is bounded, and one for the scheduler's control work
 * (heartbeats, claims), so request load cannot starve it.
 */
#ifndef INTROEVAL_DB_H
#define INTROEVAL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

struct db;	/* opaque pool */

/*
 * How a pool is opened. Every connection is opened at once; the first
 * that fails fails db_open with libpq's message.
 */
struct db_options {
	const char	*url;			/* libpq URL or key=value */
	int		 size;			/* connections */
	double		 acquire_timeout_s;	/* <= 0: db_acquire waits
						   without a bound */
	int		 statement_timeout_s;	/* 0: the server's default */
	const char	*application_name;	/* pg_stat_activity, logs */
};

struct db	*db_open_with(const struct db_options *, char *err,
		    size_t errlen);
/* A pool whose db_acquire waits without a bound (tools, tests). */
struct db	*db_open(const char *url, int size, char *err, size_t errlen);
void		 db_close(struct db *);

/*
 * Hands out a free connection, waiting at most the pool's acquire
 * timeout: NULL when none came free in time ("busy"). A connection the
 * server closed while it sat in the pool (a restart sends idle clients a
 * FATAL and hangs up) is reconnected here, before anything is sent.
 *
 * NULL is a valid connection for every function below: db_query(NULL, ...)
 * fails with "the database is busy; try again", db_release(db, NULL) does
 * nothing. So `c = db_acquire(db); r = db_query(c, ...); db_release(db,
 * c);` needs no test of its own.
 */
PGconn		*db_acquire(struct db *);
void		 db_release(struct db *, PGconn *);
/*
 * Whether this thread's most recent db_acquire ran out of time. A caller
 * whose database work failed uses it to tell "busy, try again" (the pool
 * is exhausted, the database is fine) from "the database is down".
 */
bool		 db_last_busy(void);

/*
 * Runs a parameterised statement (text parameters, NULL = SQL NULL).
 * Returns the result on PGRES_COMMAND_OK/TUPLES_OK, else NULL with the
 * server's message in err. The caller PQclear()s the result.
 *
 * After a lost connection a statement is run again, once, on a new
 * connection only when it cannot have taken effect twice, and never
 * inside a transaction (which the loss rolled back):
 *   - it was not sent: the connection was already broken (found so
 *     before sending, or the send itself failed);
 *   - it only reads: its first word is SELECT (a SELECT that calls a
 *     function with side effects is not "only reads": use db_exec on a
 *     statement that says what it does);
 *   - the caller ran it with db_query_idempotent.
 * Otherwise it fails with "the database connection was lost; the change
 * may not have been saved": the statement may well have committed.
 */
PGresult	*db_query(PGconn *, const char *sql, int nparams,
		    const char *const *params, char *err, size_t errlen);
/*
 * db_query for a write the caller made safe to run twice (a key with ON
 * CONFLICT, an UPDATE whose WHERE no longer matches once it is done): it
 * is run again after a reconnect, like a SELECT.
 */
PGresult	*db_query_idempotent(PGconn *, const char *sql, int nparams,
		    const char *const *params, char *err, size_t errlen);
/* db_query for statements whose result is not needed. */
bool		 db_exec(PGconn *, const char *sql, int nparams,
		    const char *const *params, char *err, size_t errlen);
/* Acquires a connection, runs db_exec, releases it. */
bool		 db_exec1(struct db *, const char *sql, int nparams,
		    const char *const *params, char *err, size_t errlen);

/*
 * Runs a query whose first column of its first row is JSON text (as
 * json_build_object or json_agg make) and parses it; SQL NULL gives JSON
 * null. With no row: NULL, and *found false if found is not NULL (not
 * an error), else an error. Acquires and releases a connection.
 */
json_t		*db_query_json(struct db *, const char *sql, int nparams,
		    const char *const *params, bool *found, char *err,
		    size_t errlen);

/* Whether a query returns a row; false on a database error. */
bool		 db_exists(struct db *, const char *sql, int nparams,
		    const char *const *params, bool *exists, char *err,
		    size_t errlen);

/*
 * The first column of a query's first row as a number (an id), *id 0
 * when there is no row; false on a database error.
 */
bool		 db_query_id(struct db *, const char *sql, int nparams,
		    const char *const *params, long long *id, char *err,
		    size_t errlen);

/* Applies sql/NNN_*.sql from dir in order, each once, each in a transaction. */
bool		 db_migrate(struct db *, const char *dir, int *applied,
		    char *err, size_t errlen);

/*
 * How many of dir's migrations the database has not applied (*pending),
 * and the first one's version in first (4 bytes), for readiness.
 */
bool		 db_migrations_pending(struct db *, const char *dir,
		    int *pending, char first[4], char *err, size_t errlen);

/*
 * Text parameters from numbers: writes v into buf (DB_NUM_LEN bytes) and
 * returns buf, so a parameter list reads { db_param_ll(ib, id), ... }.
 * Doubles keep microsecond precision (timestamps, durations).
 */
#define DB_NUM_LEN	32
const char	*db_param_ll(char buf[DB_NUM_LEN], long long v);
const char	*db_param_double(char buf[DB_NUM_LEN], double v);

/* Column helpers on row r: value or NULL for SQL NULL. */
const char	*db_get(const PGresult *, int row, const char *column);
long long	 db_get_ll(const PGresult *, int row, const char *column);
double		 db_get_double(const PGresult *, int row, const char *column);

#endif
