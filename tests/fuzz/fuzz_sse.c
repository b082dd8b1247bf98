/*
 * fuzz_sse: the server-sent-events parser (llm/sse). The first input
 * byte chooses how the rest is cut into chunks (a "\r\n" may be split);
 * the event limit is small so that over-long events happen. The callback
 * checks what the parser promises: data is NUL-terminated at len.
 */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

#include "sse.h"

static bool	on_event(const char *, const char *, size_t, void *, char *,
		    size_t);

static bool
on_event(const char *event, const char *data, size_t len, void *arg,
    char *err, size_t errlen)
{
	size_t *seen = arg;

	(*seen)++;
	if (data[len] != '\0' || event == NULL)
		__builtin_trap();
	if (strcmp(data, "[STOP]") == 0) {
		snprintf(err, errlen, "stopped");
		return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse *p;
	char err[256];
	size_t seen = 0, step, off, n;
	bool pending;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	p = sse_new(512, on_event, &seen);
	for (off = 0; off < size; off += n) {
		n = size - off < step ? size - off : step;
		if (!sse_feed(p, data + off, n, err, sizeof(err)))
			break;
	}
	if (off >= size)
		(void)sse_finish(p, &pending, err, sizeof(err));
	if (sse_events(p) != seen)
		__builtin_trap();
	sse_free(p);
	return 0;
}
