/*
 * ws_impl: the hub's insides, shared by ws.c (the sockets: sign-in,
 * subscriptions, resynchronisation, fan-out) and ws_listen.c (the LISTEN
 * thread that turns notifications into events). Not for other modules.
 *
 * Locking: hub->lock guards the client list and every client's
 * subscriptions, and is held while events are written, so a client's
 * close handler (which takes the lock to unlink it) never frees a socket
 * that a fan-out is writing to. The order is always hub->lock, then
 * CivetWeb's connection lock (inside mg_websocket_write).
 */
#ifndef INTROEVAL_WS_IMPL_H
#define INTROEVAL_WS_IMPL_H

#include <pthread.h>
#include <stdbool.h>

#include <libpq-fe.h>

#include "auth.h"
#include "events.h"

#define WS_MAX_TOPICS	16	/* courses, submissions per socket */
#define WS_WINDOW_S	0.05	/* at most one push per this interval */
/*
 * Versions are taken before commit, so two transactions may commit out
 * of version order; a resynchronisation starts this many versions below
 * the client's mark so that such a pair is never skipped.
 */
#define WS_RESYNC_OVERLAP	200
#define WS_RESYNC_LIMIT		5000

struct mg_connection;

struct ws_client {
	struct mg_connection	*conn;
	long long		 serial;	/* for session checks */
	struct user		 user;
	char			 token[AUTH_TOKEN_LEN + 1];
	bool			 student;
	bool			 admin;
	bool			 dead;		/* write failed, or revoked */
	bool			 mine;
	bool			 system;
	char			 peer_addr[48];	/* to find its socket */
	int			 peer_port;
	int			 server_port;
	long long		 courses[WS_MAX_TOPICS];
	int			 ncourses;
	long long		 subs[WS_MAX_TOPICS];
	int			 nsubs;
	long long		 jobs[WS_MAX_TOPICS];
	int			 njobs;
	struct ws_client	*next;
};

struct ws_hub {
	struct app		*app;
	pthread_mutex_t		 lock;
	struct ws_client	*clients;
	int			 nclients;	/* read without the lock */
	long long		 next_serial;

	/* The listener's own, owned by its thread. */
	pthread_t		 thread;
	bool			 stopping;
	struct pglisten		*listen;	/* LISTEN submissions, system */
	PGconn			*pg;		/* its connection, or NULL */
	long long		 high_water;	/* newest version pushed */
	long long		*pending;	/* submission ids to push */
	int			 npending;
	int			 cap_pending;
	bool			 system_dirty;
	double			 last_flush;	/* monotonic */
	double			 last_session_check;
};

/* ws.c: writes one event to every client that may see it. Locked. */
void	ws_fanout_submission(struct ws_hub *, const struct events_row *);
void	ws_fanout_system(struct ws_hub *, const char *json);
/* ws.c: a job's progress changed (channel jobs): {"type": "job", ...}. */
void	ws_fanout_job(struct ws_hub *, long long job, const char *json);
/* ws.c: closes the sockets whose session ended (signed out, expired). */
void	ws_check_sessions(struct ws_hub *);

/* ws_limit.c: the limits on open sockets (see there). */
#define WS_CLOSE_SESSION	4001
#define WS_CLOSE_TOO_MANY	4008
#define WS_TOO_MANY_TEXT	"too many open pages for this account; this " \
				"one was closed"
/* Sockets the hub lets in with this many threads: all but a reserve. */
int	ws_limit_total(int threads);
/* True when a new socket would pass that total. */
bool	ws_limit_full(const struct ws_hub *);
/* Keeps where the socket's peer is, to find the socket when closing. */
void	ws_limit_note_peer(struct ws_client *, const struct mg_connection *);
/* Locked: closes the newest client's user's oldest sockets over the limit. */
void	ws_limit_user(struct ws_hub *, const struct ws_client *);
/*
 * Locked: sends a close frame (code, reason) and shuts the socket down so
 * that its CivetWeb thread ends now, whatever the peer does.
 */
void	ws_close_client(struct ws_client *, int code, const char *reason);

/* ws_listen.c */
bool	ws_listen_start(struct ws_hub *, char *err, size_t errlen);
void	ws_listen_stop(struct ws_hub *);

#endif
