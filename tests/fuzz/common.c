/*
 * common.c: helpers shared by the fuzz targets (linked into each, in
 * both the libFuzzer and the replay build).
 */
#include "fuzz.h"

#include <string.h>

#include "util.h"

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
