/*
 * pglisten: one dedicated libpq connection that LISTENs on some channels,
 * for a thread that sleeps until PostgreSQL says something changed.
 *
 * The connection is separate from the request pool (a LISTEN belongs to
 * one session) and uses TCP keepalives, so a connection that died without
 * a word (a cable, a failover) fails within a minute. The owner's thread
 * calls pglisten_connect until it succeeds, then pglisten_wait in a loop;
 * a wait that finds the connection broken drops it, and the next
 * pglisten_connect reconnects and LISTENs again. Queries may run on
 * pglisten_conn between waits (on that same thread).
 *
 * Threads: pglisten_wake may be called from any thread; every other
 * function from the owning thread only.
 */
#ifndef INTROEVAL_PGLISTEN_H
#define INTROEVAL_PGLISTEN_H

#include <stdbool.h>

#include <libpq-fe.h>

struct pglisten;

/* One notification: its channel and payload (valid during the call). */
typedef void (*pglisten_fn)(const char *channel, const char *payload,
    void *arg);

/*
 * name labels the connection (application_name and log lines); channels
 * is a NULL-terminated list of channel names (plain identifiers). Does
 * not connect yet.
 */
struct pglisten	*pglisten_new(const char *url, const char *name,
		    const char *const *channels);
void		 pglisten_free(struct pglisten *);

/*
 * Connects and LISTENs when there is no connection. True when connected;
 * *fresh tells whether this call made the connection (so the caller
 * catches up on what it could not hear). A failure is logged once per
 * outage and rests with backoff (0.5 s doubling to 15 s) inside the call,
 * or until pglisten_wake.
 */
bool		 pglisten_connect(struct pglisten *, bool *fresh);
/* The connection, or NULL while there is none. */
PGconn		*pglisten_conn(struct pglisten *);
/* Closes a connection found broken; why is logged. */
void		 pglisten_drop(struct pglisten *, const char *why);

/*
 * Hands fn every notification already received, then sleeps until one
 * arrives, pglisten_wake is called or timeout_s passes, and hands fn
 * those. False when the connection broke (it is dropped).
 */
bool		 pglisten_wait(struct pglisten *, double timeout_s,
		    pglisten_fn, void *arg);
/* Ends the owner's current or next wait at once; any thread. */
void		 pglisten_wake(struct pglisten *);

#endif
