/*
 * pglock: a PostgreSQL session-level advisory lock held on a dedicated
 * connection for as long as the process wants it, so that one name is
 * owned by at most one process among all that share a database (the
 * phase controller's "one controller per GPU node").
 *
 * The lock lives and dies with its connection: a process that crashes,
 * or whose connection breaks, loses it when PostgreSQL ends the session,
 * and another process's pglock_try then succeeds. The connection carries
 * an application_name (the description), so a process that is refused
 * can say in plain words who holds the lock, from where and since when.
 * TCP keepalives and a connect timeout make a dead network noticed.
 *
 * The key is the two-key form (PGLOCK_CLASS, hashtext(name)); the
 * migration runner's lock uses a different single key (7246001).
 *
 * Threads: every function may be called from any thread; calls on one
 * lock are serialised by a mutex inside it.
 */
#ifndef INTROEVAL_PGLOCK_H
#define INTROEVAL_PGLOCK_H

#include <stdbool.h>
#include <stddef.h>

#define PGLOCK_CLASS	7246002
#define PGLOCK_STR(x)	PGLOCK_XSTR(x)
#define PGLOCK_XSTR(x)	#x

/*
 * The FROM and WHERE of a query for the session holding the lock whose
 * name is the SQL expression `name`: pg_locks k, pg_stat_activity a
 * (a.application_name is the holder's description).
 */
#define PGLOCK_HOLDER_FROM(name) \
	"FROM pg_locks k LEFT JOIN pg_stat_activity a ON a.pid = k.pid " \
	"WHERE k.locktype = 'advisory' AND k.granted " \
	"AND k.classid = " PGLOCK_STR(PGLOCK_CLASS) " " \
	"AND k.objid = hashtext(" name ")::oid AND k.objsubid = 2 " \
	"AND k.database = (SELECT oid FROM pg_database " \
	"WHERE datname = current_database())"

struct pglock;

enum pglock_state {
	PGLOCK_HELD,		/* this process holds the lock */
	PGLOCK_BUSY,		/* another session holds it */
	PGLOCK_ERROR,		/* the database could not tell */
};

/*
 * description becomes the connection's application_name (PostgreSQL
 * keeps 63 bytes of it: put what identifies the process first). Does
 * not connect yet.
 */
struct pglock		*pglock_new(const char *url, const char *name,
			    const char *description);
/* Closes the connection, which releases the lock. */
void			 pglock_free(struct pglock *);

/*
 * Takes the lock if it is free (connecting first when needed); a lock
 * already held is kept and PGLOCK_HELD returned. On PGLOCK_BUSY, holder
 * names the session holding it (application name, database session,
 * client address, connection start); on PGLOCK_ERROR it says why the
 * database could not answer. Never waits for the holder.
 */
enum pglock_state	 pglock_try(struct pglock *, char *holder,
			    size_t holderlen);

/*
 * Whether the lock is still held: one round trip on its connection that
 * must answer within timeout_s and find the lock in pg_locks. When it
 * does not, the connection is closed (so the lock is certainly given up
 * on the server's side too), err says why and the lock is lost until a
 * later pglock_try takes it again.
 */
bool			 pglock_check(struct pglock *, double timeout_s,
			    char *err, size_t errlen);
/* Whether the lock was held at the last try or check (no round trip). */
bool			 pglock_held(struct pglock *);

#endif
