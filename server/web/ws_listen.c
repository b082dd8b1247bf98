/*
 * ws_listen: the hub's LISTEN thread. It holds its own libpq connection
 * (LISTEN submissions, system, sessions), collects notifications, and
 * pushes them at most once per WS_WINDOW_S: an isolated change goes out
 * at once, a burst (a batch claimed, progress ticks) is coalesced into one event per
 * submission carrying its newest state, read back from the database.
 *
 * When the connection breaks (a database restart) it reconnects with
 * backoff and then catches up from the newest version it had pushed, so
 * the notifications it could not hear are pushed anyway. Clients that
 * were away themselves resynchronise with "since" (ws.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "pglisten.h"
#include "util.h"
#include "ws_impl.h"

#define IDLE_WAKE_S		1.0
#define SESSION_CHECK_S		60.0

static void	*listen_main(void *);
static void	 catch_up(struct ws_hub *);
static void	 drop(struct ws_hub *, const char *);
static void	 on_notify(const char *, const char *, void *);
static void	 add_pending(struct ws_hub *, long long);
static void	 flush(struct ws_hub *);
static bool	 stopping(struct ws_hub *);

bool
ws_listen_start(struct ws_hub *hub, char *err, size_t errlen)
{
	static const char *const channels[] = { "submissions", "system",
	    "sessions", "jobs", NULL };
	int rc;

	hub->listen = pglisten_new(hub->app->cfg->database_url, "introeval-ws",
	    channels);
	if ((rc = pthread_create(&hub->thread, NULL, listen_main, hub)) != 0) {
		pglisten_free(hub->listen);
		return util_seterr(err, errlen, "cannot start the LISTEN "
		    "thread: %s", strerror(rc));
	}
	return true;
}

void
ws_listen_stop(struct ws_hub *hub)
{
	__atomic_store_n(&hub->stopping, true, __ATOMIC_RELEASE);
	pglisten_wake(hub->listen);
	pthread_join(hub->thread, NULL);
	pglisten_free(hub->listen);
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
	double timeout, now;
	bool fresh;

	while (!stopping(hub)) {
		if (!pglisten_connect(hub->listen, &fresh))
			continue;
		hub->pg = pglisten_conn(hub->listen);
		if (fresh) {
			catch_up(hub);
			log_info("ws: listening for changes high_water=%lld",
			    hub->high_water);
			continue;
		}
		timeout = IDLE_WAKE_S;
		if (hub->npending > 0 || hub->system_dirty)
			timeout = hub->last_flush + WS_WINDOW_S -
			    util_monotonic();
		if (!pglisten_wait(hub->listen, timeout, on_notify, hub)) {
			hub->pg = NULL;
			continue;
		}
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

/* A query failed on the listener's connection: reconnect. */
static void
drop(struct ws_hub *hub, const char *why)
{
	pglisten_drop(hub->listen, why);
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
			drop(hub, err);
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
		drop(hub, err);
		return;
	}
	for (i = 0; i < n; i++)
		add_pending(hub, ids[i]);
	free(ids);
	hub->system_dirty = true;
}

static void
on_notify(const char *channel, const char *extra, void *arg)
{
	struct ws_hub *hub = arg;
	json_t *payload;

	if (strcmp(channel, "system") == 0)
		hub->system_dirty = true;
	else if (strcmp(channel, "sessions") == 0)
		/* A session ended or an account was disabled: check now. */
		hub->last_session_check = -SESSION_CHECK_S;
	else if (strcmp(channel, "jobs") == 0) {
		/* A job's progress: its page reads the rest by id. */
		payload = json_loads(extra, 0, NULL);
		if (json_is_integer(json_object_get(payload, "id"))) {
			json_t *ev = json_pack("{s:s, s:O, s:O}", "type", "job",
			    "id", json_object_get(payload, "id"), "state",
			    json_object_get(payload, "state"));
			char *text = ev != NULL ? json_dumps(ev,
			    JSON_COMPACT) : NULL;

			if (text != NULL) {
				pthread_mutex_lock(&hub->lock);
				ws_fanout_job(hub, json_integer_value(
				    json_object_get(payload, "id")), text);
				pthread_mutex_unlock(&hub->lock);
			}
			free(text);
			json_decref(ev);
		}
		json_decref(payload);
	} else if (strcmp(channel, "submissions") == 0) {
		payload = json_loads(extra, 0, NULL);
		if (json_is_integer(json_object_get(payload, "id")))
			add_pending(hub, json_integer_value(
			    json_object_get(payload, "id")));
		json_decref(payload);
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
		drop(hub, err);
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
