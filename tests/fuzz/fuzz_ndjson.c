/*
 * fuzz_ndjson: the NDJSON stream parser (llm/ndjson). The first input
 * byte chooses how the rest is cut into chunks (a line may be split
 * anywhere); the line limit is small so that over-long lines happen. The
 * callback refuses an object with a "stop" member, as a caller would.
 */
#include "fuzz.h"

#include <stdio.h>

#include "ndjson.h"

static bool	on_value(json_t *, void *, char *, size_t);

static bool
on_value(json_t *v, void *arg, char *err, size_t errlen)
{
	size_t *seen = arg;

	(*seen)++;
	if (json_is_object(v) && json_object_get(v, "stop") != NULL) {
		snprintf(err, errlen, "stopped");
		return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ndjson *p;
	char err[256];
	size_t seen = 0, step, off, n;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	p = ndjson_new(512, on_value, &seen);
	for (off = 0; off < size; off += n) {
		n = size - off < step ? size - off : step;
		if (!ndjson_feed(p, data + off, n, err, sizeof(err)))
			break;
	}
	if (off >= size)
		(void)ndjson_finish(p, err, sizeof(err));
	if (ndjson_lines(p) != seen)
		__builtin_trap();
	ndjson_free(p);
	return 0;
}
