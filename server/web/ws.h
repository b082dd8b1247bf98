/*
 * ws: the WebSocket hub at /ws that keeps dashboards live.
 *
 * A signed-in browser (session cookie, or "Authorization: Bearer" for
 * scripts) opens /ws and subscribes to topics; the hub checks every
 * subscription against the session and pushes small JSON events that a
 * LISTEN thread learns from PostgreSQL (channels "submissions" and
 * "system"), so a change made by any server instance reaches every
 * instance's clients. The protocol is in README.md ("Live pages").
 *
 * Sizing: CivetWeb keeps one worker thread for each open WebSocket for
 * its whole life, so `threads` must cover the open dashboards plus the
 * ordinary requests (each browser tab on a live page holds one socket).
 * Ping/pong is on (http.c), so a socket whose peer vanished is closed
 * after a few unanswered pings instead of holding its thread.
 */
#ifndef INTROEVAL_WS_H
#define INTROEVAL_WS_H

#include <stddef.h>

struct app;
struct mg_context;
struct ws_hub;

/* Where the hub answers: any signed-in user, from a page of this host. */
#define WS_PATH	"/ws"

/*
 * Registers the /ws handler on ctx and starts the LISTEN thread, which
 * connects (and reconnects, with backoff) by itself: a database that is
 * down at start is not an error. Sets app->ws. NULL with the reason in
 * err when the thread cannot start.
 */
struct ws_hub	*ws_start(struct app *, struct mg_context *, char *err,
		    size_t errlen);
/*
 * Stops the LISTEN thread and frees the hub. Call it after router_stop:
 * CivetWeb calls the hub's close handler for every socket it shuts down.
 */
void		 ws_stop(struct ws_hub *);
/*
 * Before a graceful stop: closes every open socket with close code 1012
 * (service restart) and this reason, which tells a client to reconnect
 * (to this instance once it is back, or to another behind the proxy).
 * NULL does nothing.
 */
#define WS_RESTART_REASON	"server restarting; reconnect in a moment"
void		 ws_close_all(struct ws_hub *);
/* Open, signed-in sockets now (0 for NULL). */
int		 ws_clients(const struct ws_hub *);

#endif
