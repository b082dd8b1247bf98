/*
 * ws_listen: the hub's LISTEN thread. It holds its own libpq connection
 * (LISTEN submissions, system), collects notifications, and pushes them
 * at most once per WS_WINDOW_S: an isolated change goes out at once, a
 * burst (a batch claimed, progress ticks) is coalesced into one event per
 * submission carrying its newest state, read back from the database.
 *
 * When the connection breaks (a database restart) it reconnects with
 * backoff and then catches up from the newest version it had pushed, so
 * the notifications it could not hear are pushed anyway. Clients that
 * were away themselves resynchronise with "since" (ws.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include "ws_impl.h"

#define BACKOFF_MIN_S		0.5
#define BACKOFF_MAX_S		15.0
#define IDLE_WAKE_S		1.0
#define SESSION_CHECK_S		60.0

static void	*listen_main(void *);
static bool	 pg_connect(struct ws_hub *);
static void	 pg_drop(struct ws_hub *, const char *);
static void	 catch_up(struct ws_hub *);
static void	 wait_input(struct ws_hub *, double);
static void	 take_notifications(struct ws_hub *);
static void	 add_pending(struct ws_hub *, long long);
static void	 flush(struct ws_hub *);
static bool	 stopping(struct ws_hub *);

bool
ws_listen_start(struct ws_hub *hub, char *err, size_t errlen)
{
	int rc;

	if (pipe2(hub->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return util_seterr(err, errlen, "pipe: %s", strerror(errno));
	if ((rc = pthread_create(&hub->thread, NULL, listen_main, hub)) != 0) {
		close(hub->wake[0]);
		close(hub->wake[1]);
		return util_seterr(err, errlen, "cannot start the LISTEN "
		    "thread: %s", strerror(rc));
	}
	return true;
}

void
ws_listen_stop(struct ws_hub *hub)
{
	__atomic_store_n(&hub->stopping, true, __ATOMIC_RELEASE);
	if (write(hub->wake[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("ws: wake");
	pthread_join(hub->thread, NULL);
	close(hub->wake[0]);
	close(hub->wake[1]);
	if (hub->pg != NULL)
		PQfinish(hub->pg);
	free(hub->pending);
}

static bool
stopping(struct ws_hub *hub)
{
	return __atomic_load_n(&hub->stopping, __ATOMIC_ACQUIRE);
}

static void *
listen_main(void *arg)
{
	struct ws_hub *hub = arg;
	double backoff = BACKOFF_MIN_S, timeout, now;

	while (!stopping(hub)) {
		if (hub->pg == NULL && !pg_connect(hub)) {
			wait_input(hub, backoff);
			backoff = backoff * 2 < BACKOFF_MAX_S ? backoff * 2 :
			    BACKOFF_MAX_S;
			continue;
		}
		backoff = BACKOFF_MIN_S;
		/* Queries queue notifications inside libpq: take them first. */
		take_notifications(hub);
		timeout = IDLE_WAKE_S;
		if (hub->npending > 0 || hub->system_dirty)
			timeout = hub->last_flush + WS_WINDOW_S -
			    util_monotonic();
		wait_input(hub, timeout > 0 ? timeout : 0);
		if (PQconsumeInput(hub->pg) == 0) {
			pg_drop(hub, PQerrorMessage(hub->pg));
			continue;
		}
		take_notifications(hub);
		now = util_monotonic();
		if ((hub->npending > 0 || hub->system_dirty) &&
		    now >= hub->last_flush + WS_WINDOW_S)
			flush(hub);
		if (now - hub->last_session_check >= SESSION_CHECK_S) {
			hub->last_session_check = now;
			ws_check_sessions(hub);
		}
	}
	return NULL;
}

/*
 * Keepalives make a connection that died without a word (a cable, a
 * failover) fail within a minute instead of waiting for ever.
 */
static bool
pg_connect(struct ws_hub *hub)
{
	static const char *const keys[] = { "dbname", "application_name",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    NULL };
	const char *vals[] = { hub->app->cfg->database_url, "introeval-ws",
	    "20", "10", "3", NULL };
	PGresult *r;

	hub->pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(hub->pg) != CONNECTION_OK) {
		pg_drop(hub, PQerrorMessage(hub->pg));
		return false;
	}
	r = PQexec(hub->pg, "LISTEN submissions; LISTEN system");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		pg_drop(hub, PQerrorMessage(hub->pg));
		return false;
	}
	PQclear(r);
	catch_up(hub);
	log_info("ws: listening for changes high_water=%lld", hub->high_water);
	return hub->pg != NULL;
}

static void
pg_drop(struct ws_hub *hub, const char *why)
{
	char msg[512];

	util_strlcpy(msg, why != NULL ? why : "", sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("ws: database connection lost, reconnecting: %s", msg);
	PQfinish(hub->pg);
	hub->pg = NULL;
}

/*
 * On the first connection the hub starts from the newest version; on a
 * reconnection everything changed since what it last pushed is queued.
 */
static void
catch_up(struct ws_hub *hub)
{
	char err[512];
	long long *ids, v;
	int i, n;

	if (hub->high_water == 0) {
		if ((v = events_max_version(hub->pg, err, sizeof(err))) < 0) {
			pg_drop(hub, err);
			return;
		}
		pthread_mutex_lock(&hub->lock);
		hub->high_water = v;
		pthread_mutex_unlock(&hub->lock);
		return;
	}
	if (!events_changed(hub->pg, hub->high_water > WS_RESYNC_OVERLAP ?
	    hub->high_water - WS_RESYNC_OVERLAP : 0, &ids, &n, err,
	    sizeof(err))) {
		pg_drop(hub, err);
		return;
	}
	for (i = 0; i < n; i++)
		add_pending(hub, ids[i]);
	free(ids);
	hub->system_dirty = true;
}

/* Sleeps until the database or ws_stop has something, or timeout_s. */
static void
wait_input(struct ws_hub *hub, double timeout_s)
{
	struct pollfd fds[2];
	char drain[64];
	int nfds = 1;

	fds[0].fd = hub->wake[0];
	fds[0].events = POLLIN;
	if (hub->pg != NULL && PQsocket(hub->pg) >= 0) {
		fds[1].fd = PQsocket(hub->pg);
		fds[1].events = POLLIN;
		nfds = 2;
	}
	if (poll(fds, (nfds_t)nfds, (int)(timeout_s * 1000 + 0.5)) > 0 &&
	    (fds[0].revents & POLLIN))
		while (read(hub->wake[0], drain, sizeof(drain)) > 0)
			;
}

static void
take_notifications(struct ws_hub *hub)
{
	PGnotify *note;
	json_t *payload;

	while ((note = PQnotifies(hub->pg)) != NULL) {
		if (strcmp(note->relname, "system") == 0)
			hub->system_dirty = true;
		else if (strcmp(note->relname, "submissions") == 0) {
			payload = json_loads(note->extra, 0, NULL);
			if (json_is_integer(json_object_get(payload, "id")))
				add_pending(hub, json_integer_value(
				    json_object_get(payload, "id")));
			json_decref(payload);
		}
		PQfreemem(note);
	}
}

static void
add_pending(struct ws_hub *hub, long long id)
{
	int i;

	for (i = 0; i < hub->npending; i++)
		if (hub->pending[i] == id)
			return;
	if (hub->npending == hub->cap_pending) {
		hub->cap_pending = hub->cap_pending ? hub->cap_pending * 2 : 64;
		hub->pending = xrealloc(hub->pending, (size_t)hub->cap_pending *
		    sizeof(*hub->pending));
	}
	hub->pending[hub->npending++] = id;
}

/*
 * Reads the newest state of everything pending and writes it out. A
 * query that fails on a live connection is a bug, not an outage: its
 * events are dropped (and logged) rather than retried for ever.
 */
static void
flush(struct ws_hub *hub)
{
	struct events_row *rows = NULL;
	char err[512], *system = NULL;
	int i, n = 0;
	bool ok = true;

	hub->last_flush = util_monotonic();
	if (hub->npending > 0)
		ok = events_fetch(hub->pg, hub->pending, hub->npending, &rows,
		    &n, err, sizeof(err));
	if (ok && hub->system_dirty)
		ok = (system = events_system(hub->pg, err, sizeof(err))) !=
		    NULL;
	if (!ok && PQstatus(hub->pg) != CONNECTION_OK) {
		events_rows_free(rows, n);
		pg_drop(hub, err);
		return;
	}
	if (!ok)
		log_warnx("ws: events lost: %s", err);
	hub->npending = 0;
	hub->system_dirty = false;
	pthread_mutex_lock(&hub->lock);
	for (i = 0; i < n; i++)
		ws_fanout_submission(hub, &rows[i]);
	if (system != NULL)
		ws_fanout_system(hub, system);
	pthread_mutex_unlock(&hub->lock);
	log_debug("ws: pushed submissions=%d system=%d ms=%.1f", n,
	    system != NULL, (util_monotonic() - hub->last_flush) * 1000);
	events_rows_free(rows, n);
	free(system);
}
