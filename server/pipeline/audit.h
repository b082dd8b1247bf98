/*
 * audit: the append-only log of what was done with personal data
 * (sql/017_privacy.sql): consent texts set and accepted, data exports,
 * deletion requests made and carried out, retention runs. Owns the
 * audit_log table; anything may write to it through audit_write.
 */
#ifndef INTROEVAL_AUDIT_H
#define INTROEVAL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

struct db;

/*
 * Appends one entry. actor: the user who did it (0: the server itself);
 * action: a dotted name ("consent.accepted"); subject: what it was done
 * to ("user 12", "consent version 3"); details: a JSON object or NULL,
 * borrowed. With c set the entry is written on that connection (inside
 * the caller's transaction), else on one from db.
 */
bool	audit_write(struct db *, PGconn *c, long long actor,
	    const char *action, const char *subject, json_t *details,
	    char *err, size_t errlen);
/*
 * A page of entries, newest first: {entries: [{id, at, actor,
 * actor_name, action, subject, details}], total}. actor_name is null
 * for the server and for accounts since deleted.
 */
bool	audit_page(struct db *, long long offset, int limit, json_t **out,
	    char *err, size_t errlen);

#endif
