/*
 * sse: an incremental parser for server-sent events (text/event-stream),
 * as streamed by OpenAI-compatible servers (`data: {...}` events ending
 * with `data: [DONE]`). Bytes are fed in chunks of any size: a line, or a
 * "\r\n" pair, may be split anywhere. Lines end in "\n", "\r\n" or "\r";
 * a blank line dispatches the event with its type (default "message")
 * and its data lines joined by "\n", as the WHATWG specification says.
 * Comments (":") and the id and retry fields are skipped. One extension:
 * a field named "error" (llama.cpp's server writes `error: {...}` when a
 * generation fails mid-stream) is reported as an event of type "error".
 * After the first error the parser refuses further input.
 */
#ifndef INTROEVAL_SSE_H
#define INTROEVAL_SSE_H

#include <stdbool.h>
#include <stddef.h>

#define SSE_DEFAULT_MAX_EVENT	(1024 * 1024)

/*
 * Called once per dispatched event. data is NUL-terminated (len excludes
 * the NUL) and valid during the call only. Returning false stops the
 * parse; the callback should then have written the reason into err.
 */
typedef bool (*sse_cb)(const char *event, const char *data, size_t len,
    void *arg, char *err, size_t errlen);

struct sse;

/* max_event 0 means SSE_DEFAULT_MAX_EVENT. Never returns NULL. */
struct sse	*sse_new(size_t max_event, sse_cb, void *arg);
void		 sse_free(struct sse *);
/* Feeds len bytes; false on an over-long line or event, or a callback
 * refusal, with the reason in err. */
bool		 sse_feed(struct sse *, const void *data, size_t len,
		    char *err, size_t errlen);
/*
 * End of input. An event not closed by a blank line is discarded, as the
 * specification requires; *pending (may be NULL) says whether one was.
 */
bool		 sse_finish(struct sse *, bool *pending, char *err,
		    size_t errlen);
/* Events handed to the callback so far. */
size_t		 sse_events(const struct sse *);

#endif
