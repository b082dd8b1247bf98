/*
 * consent: the recording consent text the admin sets and students'
 * acceptances of it (sql/017_privacy.sql; owns consent_texts and
 * consent_acceptances). Each save is a new, immutable version; a
 * student must have accepted the newest version before uploading. With
 * no text saved there is nothing to accept.
 */
#ifndef INTROEVAL_CONSENT_H
#define INTROEVAL_CONSENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct db;

#define CONSENT_TEXT_MAX	10000	/* characters */
#define CONSENT_REFUSAL		"Read and accept the recording consent on " \
				"your home page first."

enum consent_outcome {
	CONSENT_OK,
	CONSENT_DB_ERROR,	/* err holds the database's message */
	CONSENT_INVALID,	/* err says what is wrong, in words */
	CONSENT_STALE		/* not the current version (or none is set) */
};

/*
 * The current text and user_id's standing: {version, text, created_at,
 * author_name, accepted (bool), accepted_at, required (bool)}, or
 * {version: null, required: false} when no text was ever saved.
 */
bool	consent_status(struct db *, long long user_id, json_t **out,
	    char *err, size_t errlen);
/* Whether user_id must still accept the current text before uploading. */
bool	consent_needed(struct db *, long long user_id, bool *needed,
	    char *err, size_t errlen);
/*
 * Saves text (trimmed; 1..CONSENT_TEXT_MAX characters) as the new
 * version by author_id, and audits it. *version is the new number.
 */
enum consent_outcome consent_set(struct db *, long long author_id,
	    const char *text, long long *version, char *err, size_t errlen);
/* Records that user_id accepted version (which must be current). */
enum consent_outcome consent_accept(struct db *, long long user_id,
	    long long version, char *err, size_t errlen);
/* Every version, newest first: [{version, text, created_at, author_name,
   accepted_by (count)}]. */
bool	consent_history(struct db *, json_t **out, char *err,
	    size_t errlen);

#endif
