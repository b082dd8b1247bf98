/*
 * pglock: a session-level advisory lock on its own connection (see
 * pglock.h).
 *
 * Every statement is sent asynchronously and waited for with poll and a
 * deadline, so a check on a connection whose peer vanished returns in
 * bounded time instead of waiting for TCP to give up. A connection that
 * misses its deadline is closed: whether its lock survives is then the
 * server's business, and this process treats it as lost.
 */
#include "pglock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "util.h"

#define CONNECT_TIMEOUT	"10"	/* seconds, libpq's connect_timeout */
#define QUERY_TIMEOUT_S	10.0	/* a try's statements */

struct pglock {
	pthread_mutex_t	 mu;
	char		*url;
	char		*name;
	char		*description;
	PGconn		*pg;
	bool		 held;
};

static bool	 connect_pg(struct pglock *, char *, size_t);
static void	 drop(struct pglock *);
static PGresult	*timed_query(struct pglock *, const char *, double, char *,
		    size_t);
static void	 describe_holder(struct pglock *, char *, size_t);
static void	 one_line(char *);

#define XSTR(x)		STR(x)
#define STR(x)		#x
#define CLASS		XSTR(PGLOCK_CLASS)

/* Every statement takes the lock's name as $1. */
static const char try_sql[] =
    "SELECT pg_try_advisory_lock(" CLASS ", hashtext($1))";
static const char check_sql[] =
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
    "AND pid = pg_backend_pid() AND granted AND classid = " CLASS " "
    "AND objid = hashtext($1)::oid AND objsubid = 2";
static const char holder_sql[] =
    "SELECT a.pid, coalesce(nullif(a.application_name, ''), "
    "'an unnamed client'), coalesce(host(a.client_addr), "
    "'a local socket'), to_char(a.backend_start AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD HH24:MI:SS \"UTC\"') "
    PGLOCK_HOLDER_FROM("$1") " LIMIT 1";

struct pglock *
pglock_new(const char *url, const char *name, const char *description)
{
	struct pglock *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	l->url = xstrdup(url != NULL ? url : "");
	l->name = xstrdup(name);
	l->description = xstrdup(description);
	return l;
}

void
pglock_free(struct pglock *l)
{
	if (l == NULL)
		return;
	drop(l);
	pthread_mutex_destroy(&l->mu);
	free(l->url);
	free(l->name);
	free(l->description);
	free(l);
}

bool
pglock_held(struct pglock *l)
{
	bool held;

	pthread_mutex_lock(&l->mu);
	held = l->held;
	pthread_mutex_unlock(&l->mu);
	return held;
}

enum pglock_state
pglock_try(struct pglock *l, char *holder, size_t holderlen)
{
	enum pglock_state st = PGLOCK_ERROR;
	PGresult *r = NULL;
	char err[512];

	holder[0] = '\0';
	pthread_mutex_lock(&l->mu);
	if (l->held && PQstatus(l->pg) == CONNECTION_OK) {
		st = PGLOCK_HELD;
		goto out;
	}
	l->held = false;
	if (!connect_pg(l, holder, holderlen))
		goto out;
	if ((r = timed_query(l, try_sql, QUERY_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		util_seterr(holder, holderlen, "%s", err);
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		l->held = true;
		st = PGLOCK_HELD;
	} else {
		describe_holder(l, holder, holderlen);
		st = PGLOCK_BUSY;
	}
out:
	PQclear(r);
	pthread_mutex_unlock(&l->mu);
	return st;
}

bool
pglock_check(struct pglock *l, double timeout_s, char *err, size_t errlen)
{
	PGresult *r;
	bool ok = false;

	pthread_mutex_lock(&l->mu);
	if (!l->held || l->pg == NULL) {
		util_seterr(err, errlen, "the lock is not held");
		goto out;
	}
	if ((r = timed_query(l, check_sql, timeout_s, err, errlen)) == NULL)
		;
	else if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		util_seterr(err, errlen, "the session no longer holds the "
		    "lock");
	else
		ok = true;
	PQclear(r);
	if (!ok)
		drop(l);	/* a lock we cannot vouch for is given up */
out:
	pthread_mutex_unlock(&l->mu);
	return ok;
}

/* A fresh connection unless a good one is open; err says why not. */
static bool
connect_pg(struct pglock *l, char *err, size_t errlen)
{
	static const char *const keys[] = { "dbname", "application_name",
	    "connect_timeout", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "options", NULL };
	/* The lock must outlive any idle limit the site sets. */
	const char *vals[] = { l->url, l->description, CONNECT_TIMEOUT, "1",
	    "10", "5", "3", "30000", "-c idle_session_timeout=0 "
	    "-c idle_in_transaction_session_timeout=0", NULL };

	if (l->pg != NULL && PQstatus(l->pg) == CONNECTION_OK)
		return true;
	drop(l);
	l->pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(l->pg) == CONNECTION_OK)
		return true;
	util_seterr(err, errlen, "cannot connect to the database: %s",
	    PQerrorMessage(l->pg));
	one_line(err);
	drop(l);
	return false;
}

static void
drop(struct pglock *l)
{
	if (l->pg != NULL)
		PQfinish(l->pg);
	l->pg = NULL;
	l->held = false;
}

/*
 * Runs sql with the lock's name as $1 and waits at most timeout_s for
 * its one-row result; NULL with the reason otherwise. A connection
 * that broke or missed the deadline (it may still carry the unfinished
 * statement) is dropped, and with it the lock.
 */
static PGresult *
timed_query(struct pglock *l, const char *sql, double timeout_s, char *err,
    size_t errlen)
{
	const char *params[1] = { l->name };
	double deadline = util_monotonic() + timeout_s, left;
	PGresult *r, *last = NULL;
	struct pollfd pfd;

	if (!PQsendQueryParams(l->pg, sql, 1, NULL, params, NULL, NULL, 0))
		goto broken;
	pfd.fd = PQsocket(l->pg);
	pfd.events = POLLIN;
	while (PQisBusy(l->pg)) {
		if ((left = deadline - util_monotonic()) <= 0) {
			util_seterr(err, errlen, "the database did not answer "
			    "within %.0f s", timeout_s);
			goto timeout;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 &&
		    errno != EINTR)
			goto broken;
		if (!PQconsumeInput(l->pg))
			goto broken;
	}
	while ((r = PQgetResult(l->pg)) != NULL) {
		PQclear(last);
		last = r;
	}
	if (PQresultStatus(last) == PGRES_TUPLES_OK && PQntuples(last) == 1)
		return last;
	util_seterr(err, errlen, "%s", PQresultErrorMessage(last));
	one_line(err);
	PQclear(last);
	return NULL;
broken:
	util_seterr(err, errlen, "connection lost: %s",
	    PQerrorMessage(l->pg));
	one_line(err);
timeout:
	drop(l);
	PQclear(last);
	return NULL;
}

/* Who holds the lock, in words; best effort. */
static void
describe_holder(struct pglock *l, char *out, size_t outlen)
{
	char err[512];
	PGresult *r;

	if ((r = timed_query(l, holder_sql, QUERY_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		/* An empty answer: the holder let go a moment ago. */
		util_seterr(out, outlen, "a session that cannot be named (%s)",
		    err[0] != '\0' ? err : "it has just let go");
		return;
	}
	snprintf(out, outlen, "%s (database session %s) from %s, connected "
	    "since %s", PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0),
	    PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
	PQclear(r);
}

/* libpq's messages span lines with tabs; one log line wants spaces. */
static void
one_line(char *s)
{
	char *from, *to = s;

	for (from = s; *from != '\0'; from++) {
		if (*from != '\n' && *from != '\t' && *from != ' ')
			*to++ = *from;
		else if (to > s && to[-1] != ' ')
			*to++ = ' ';
	}
	while (to > s && to[-1] == ' ')
		to--;
	*to = '\0';
}
