/*
 * db: a fixed-size pool of libpq connections shared by all threads, small
 * helpers for parameterised queries, and the migration runner. SQL that
 * belongs to a table lives in the module that owns the table, not here.
 */
#ifndef INTROEVAL_DB_H
#define INTROEVAL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>

struct db;	/* opaque pool */

/* Opens `size` connections; fails with libpq's message if the first fails. */
struct db	*db_open(const char *url, int size, char *err, size_t errlen);
void		 db_close(struct db *);
/* Blocks until a connection is free; reconnects a connection that broke. */
PGconn		*db_acquire(struct db *);
void		 db_release(struct db *, PGconn *);

/*
 * Runs a parameterised statement (text parameters, NULL = SQL NULL).
 * Returns the result on PGRES_COMMAND_OK/TUPLES_OK, else NULL with the
 * server's message in err. The caller PQclear()s the result.
 */
PGresult	*db_query(PGconn *, const char *sql, int nparams,
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

/* Applies sql/NNN_*.sql from dir in order, each once, each in a transaction. */
bool		 db_migrate(struct db *, const char *dir, int *applied,
		    char *err, size_t errlen);

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
