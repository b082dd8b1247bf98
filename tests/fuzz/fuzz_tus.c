/*
 * fuzz_tus: the tus headers (web/tus): Upload-Metadata with its base64
 * file name and assignment id, and Upload-Length / Upload-Offset. The
 * input is one header value; the decoded name must fit the buffer it was
 * given, small or large.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "tus_impl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h, label[TUS_FILENAME_MAX + 1], small[8];
	long long assignment, n;

	if (size > 2 * TUS_METADATA_MAX)
		return 0;
	h = fuzz_cstr(data, size);
	if (tus_parse_metadata(h, label, sizeof(label), &assignment) &&
	    (strlen(label) >= sizeof(label) || assignment < 0))
		abort();
	if (tus_parse_metadata(h, small, sizeof(small), &assignment) &&
	    strlen(small) >= sizeof(small))
		abort();
	if (tus_parse_length(h, &n) && n < 0)
		abort();
	free(h);
	return 0;
}
