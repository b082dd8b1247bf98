/*
 * fuzz_form: form and query decoding (web/http): http_form_get on an
 * application/x-www-form-urlencoded body or query string, into buffers
 * large and small, and the Range header parser on the same text.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "csrf", "email", "password",
	    "a", "" };
	char *body, out[256], tiny[2];
	long long from, to;
	size_t i;

	if (size > 65536)
		return 0;
	body = fuzz_cstr(data, size);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (http_form_get(body, names[i], out, sizeof(out)) &&
		    strlen(out) >= sizeof(out))
			abort();
		if (http_form_get(body, names[i], tiny, sizeof(tiny)) &&
		    strlen(tiny) >= sizeof(tiny))
			abort();
	}
	if (http_range_parse(body, 1000, &from, &to) == HTTP_RANGE_OK &&
	    (from < 0 || to >= 1000 || from > to))
		abort();
	if (http_range_parse(body, 0, &from, &to) == HTTP_RANGE_OK)
		abort();	/* nothing of an empty file is satisfiable */
	free(body);
	return 0;
}
