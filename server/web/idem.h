/*
 * idem: Idempotency-Key on the API's POSTs (issue 16), so that a script
 * that retries after a lost answer never does a thing twice. The first
 * request with a key (per user) runs and its answer (status, content
 * type, header lines, body) is stored; a repeat with the same method,
 * path and body fingerprint gets that answer again, with
 * "Idempotent-Replayed: true", for 24 hours. The same key with another
 * request is 422 idempotency_key_reused; a repeat while the first still
 * runs is 409 idempotency_in_progress. An answer of 5xx or 429 is not
 * kept: the key is freed so that the retry runs. Owns the
 * idempotency_keys table (sql/024_idempotency.sql); expired keys are
 * taken over when reused and purged every ten minutes by whichever
 * request comes then.
 */
#ifndef INTROEVAL_IDEM_H
#define INTROEVAL_IDEM_H

#include <stdbool.h>
#include <stddef.h>

struct req;

#define IDEM_KEY_MAX	255

/* Printable ASCII without spaces, 1..255 characters (UUIDs fit). */
bool	idem_key_valid(const char *key);
/*
 * The fingerprint of a request: SHA-256 (hex) over its method, path,
 * query, content type, the headers that describe an upload (X-Filename,
 * Upload-Length, Upload-Metadata), its length and, when it was read
 * ahead, its body. Each part is length-prefixed; NULL differs from "".
 */
void	idem_fingerprint(const char *const parts[], size_t nparts,
	    const char *body, size_t len, char out[65]);
/*
 * Runs handler for r under its Idempotency-Key, or plainly when it has
 * none. streams: the handler reads the body itself (a raw upload), so
 * the fingerprint has its length, not its bytes; otherwise the body (at
 * most 64 KiB) is read first and http_read_body hands it over.
 */
int	idem_run(struct req *, int (*handler)(struct req *), bool streams);

#endif
