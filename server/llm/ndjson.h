/*
 * ndjson: an incremental parser for newline-delimited JSON, as streamed by
 * Ollama. Bytes are fed in chunks of any size (a line, or a UTF-8
 * sequence, may be split anywhere); each complete line is parsed with
 * jansson and handed to a callback. "\r\n" endings and blank lines are
 * accepted. After the first error the parser refuses further input.
 */
#ifndef INTROEVAL_NDJSON_H
#define INTROEVAL_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define NDJSON_DEFAULT_MAX_LINE	(1024 * 1024)

/*
 * Called once per non-blank line. The value is borrowed: the parser
 * decrefs it after the call (json_incref it to keep it). Returning false
 * stops the parse; the callback should then have written the reason into
 * err, which ndjson_feed/ndjson_finish pass back to their caller.
 */
typedef bool (*ndjson_cb)(json_t *value, void *arg, char *err,
    size_t errlen);

struct ndjson;

/* max_line 0 means NDJSON_DEFAULT_MAX_LINE. Never returns NULL. */
struct ndjson	*ndjson_new(size_t max_line, ndjson_cb, void *arg);
void		 ndjson_free(struct ndjson *);
/* Feeds len bytes; false on a malformed or over-long line or a callback
 * refusal, with the reason in err. */
bool		 ndjson_feed(struct ndjson *, const void *data, size_t len,
		    char *err, size_t errlen);
/* End of input: parses a last line that had no trailing newline. */
bool		 ndjson_finish(struct ndjson *, char *err, size_t errlen);
/* Number of non-blank lines handed to the callback so far. */
size_t		 ndjson_lines(const struct ndjson *);
/* Bytes buffered of an incomplete line. */
size_t		 ndjson_pending(const struct ndjson *);

#endif
