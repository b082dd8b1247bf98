/*
 * openapi: serves the API's description (see openapi.h). The bytes and
 * their ETag are fixed when the binary is built, so a client that has
 * them gets 304 and nothing else.
 */
#include "openapi.h"

#include <string.h>

#include "http.h"

/* OPENAPI_ETAG: hex digits CMake puts on the compiler's command line. */
#define STR_(x)	#x
#define STR(x)	STR_(x)
#define ETAG	"\"" STR(OPENAPI_ETAG) "\""

int
openapi_serve(struct req *r)
{
	const char *inm = http_header(r, "If-None-Match");
	static const char hdr[] = "ETag: " ETAG "\r\nCache-Control: public, "
	    "max-age=300, must-revalidate\r\n";

	if (inm != NULL && (strcmp(inm, ETAG) == 0 || strcmp(inm, "*") == 0))
		return http_send(r, 304, "application/json", "", 0, hdr);
	return http_send(r, 200, "application/json", openapi_json,
	    openapi_json_len, hdr);
}
