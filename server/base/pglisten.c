/*
 * pglisten: a LISTEN connection and the wait on it (see pglisten.h).
 *
 * The wait polls two descriptors: the connection's socket and a pipe that
 * pglisten_wake writes to, so another thread can end a wait at once (to
 * stop, or because it has news of its own) without a signal.
 */
#include "pglisten.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_S	0.5
#define BACKOFF_MAX_S	15.0

struct pglisten {
	char	*url;
	char	*name;
	char	*listen_sql;	/* "LISTEN a; LISTEN b" */
	PGconn	*pg;
	int	 wake[2];	/* pglisten_wake writes a byte */
	double	 backoff;
	bool	 failing;	/* an outage already logged */
};

static void	 sleep_wake(struct pglisten *, int, double);
static void	 take(struct pglisten *, pglisten_fn, void *);

struct pglisten *
pglisten_new(const char *url, const char *name, const char *const *channels)
{
	struct pglisten *l = xcalloc(1, sizeof(*l));
	struct buf sql;
	size_t i;

	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pglisten: pipe");
	l->url = xstrdup(url != NULL ? url : "");
	l->name = xstrdup(name);
	buf_init(&sql);
	for (i = 0; channels[i] != NULL; i++)
		buf_printf(&sql, "%sLISTEN %s", i > 0 ? "; " : "",
		    channels[i]);
	l->listen_sql = buf_release(&sql);
	l->backoff = BACKOFF_MIN_S;
	return l;
}

void
pglisten_free(struct pglisten *l)
{
	if (l == NULL)
		return;
	if (l->pg != NULL)
		PQfinish(l->pg);
	close(l->wake[0]);
	close(l->wake[1]);
	free(l->url);
	free(l->name);
	free(l->listen_sql);
	free(l);
}

PGconn *
pglisten_conn(struct pglisten *l)
{
	return l->pg;
}

bool
pglisten_connect(struct pglisten *l, bool *fresh)
{
	static const char *const keys[] = { "dbname", "application_name",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    NULL };
	const char *vals[] = { l->url, l->name, "20", "10", "3", NULL };
	PGresult *r;

	*fresh = false;
	if (l->pg != NULL)
		return true;
	l->pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(l->pg) == CONNECTION_OK) {
		r = PQexec(l->pg, l->listen_sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			if (l->failing)
				log_info("%s: listening again", l->name);
			l->failing = false;
			l->backoff = BACKOFF_MIN_S;
			*fresh = true;
			return true;
		}
		PQclear(r);
	}
	pglisten_drop(l, PQerrorMessage(l->pg));
	sleep_wake(l, -1, l->backoff);
	l->backoff = l->backoff * 2 < BACKOFF_MAX_S ? l->backoff * 2 :
	    BACKOFF_MAX_S;
	return false;
}

void
pglisten_drop(struct pglisten *l, const char *why)
{
	char msg[512];

	util_strlcpy(msg, why != NULL ? why : "", sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	if (!l->failing)
		log_warnx("%s: database connection lost, reconnecting: %s",
		    l->name, msg);
	l->failing = true;
	if (l->pg != NULL)
		PQfinish(l->pg);
	l->pg = NULL;
}

bool
pglisten_wait(struct pglisten *l, double timeout_s, pglisten_fn fn,
    void *arg)
{
	if (l->pg == NULL) {
		sleep_wake(l, -1, timeout_s);
		return false;
	}
	/* Queries on this connection queue notifications inside libpq. */
	take(l, fn, arg);
	sleep_wake(l, PQsocket(l->pg), timeout_s);
	if (PQconsumeInput(l->pg) == 0) {
		pglisten_drop(l, PQerrorMessage(l->pg));
		return false;
	}
	take(l, fn, arg);
	return true;
}

void
pglisten_wake(struct pglisten *l)
{
	if (write(l->wake[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("%s: wake", l->name);
}

/* Sleeps until fd (when >= 0) is readable, a wake, or timeout_s. */
static void
sleep_wake(struct pglisten *l, int fd, double timeout_s)
{
	struct pollfd fds[2];
	char drain[64];
	nfds_t nfds = 1;

	fds[0].fd = l->wake[0];
	fds[0].events = POLLIN;
	if (fd >= 0) {
		fds[1].fd = fd;
		fds[1].events = POLLIN;
		nfds = 2;
	}
	if (timeout_s < 0)
		timeout_s = 0;
	if (poll(fds, nfds, (int)(timeout_s * 1000 + 0.5)) > 0 &&
	    (fds[0].revents & POLLIN))
		while (read(l->wake[0], drain, sizeof(drain)) > 0)
			;
}

static void
take(struct pglisten *l, pglisten_fn fn, void *arg)
{
	PGnotify *note;

	while ((note = PQnotifies(l->pg)) != NULL) {
		fn(note->relname, note->extra, arg);
		PQfreemem(note);
	}
}
