/*
 * openapi: serves the API's description (see openapi.h). The bytes and
 * their ETag are fixed when the binary is built, so a client that has
 * them gets 304 and nothing else.
 */
#include "openapi.h"

#include <stdio.h>
#include <string.h>

#include "http.h"

int
openapi_serve(struct req *r)
{
	const char *inm = http_header(r, "If-None-Match");
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: public, "
	    "max-age=300, must-revalidate\r\n", openapi_etag);
	if (inm != NULL && (strcmp(inm, openapi_etag) == 0 ||
	    strcmp(inm, "*") == 0))
		return http_send(r, 304, "application/json", "", 0, hdr);
	return http_send(r, 200, "application/json", openapi_json,
	    openapi_json_len, hdr);
}
