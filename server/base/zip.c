/*
 * zip: see zip.h. The format is PKWARE's APPNOTE 6.3: for each entry a
 * local header (with CRC and sizes known in advance, so no data
 * descriptor), the bytes as they are (method 0, stored), then one
 * central directory record per entry and the end record. Names are
 * UTF-8 (general purpose flag bit 11).
 */
#include "zip.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ZIP_CHUNK	(256 * 1024)
#define ZIP_MAX_U32	0xffffffffULL
#define ZIP_MAX_ENTRIES	0xffff
#define ZIP_NAME_MAX	255
#define ZIP_FLAG_UTF8	0x0800
#define ZIP_VERSION	20	/* 2.0: what a stored entry needs */

struct zip_entry {
	char		*name;
	uint32_t	 crc;
	uint32_t	 size;
	uint32_t	 offset;
	uint16_t	 dos_time, dos_date;
};

struct zip {
	zip_write_fn		 write;
	void			*arg;
	uint64_t		 written;
	struct zip_entry	*entries;
	size_t			 n, cap;
	bool			 failed;
};

static bool	 emit(struct zip *, const void *, size_t);
static void	 put16(unsigned char *, uint16_t);
static void	 put32(unsigned char *, uint32_t);
static void	 dos_time(time_t, uint16_t *, uint16_t *);
static bool	 name_ok(const char *);
static void	 crc_init(void);
static struct zip_entry *entry_begin(struct zip *, const char *, uint64_t,
		    uint32_t, time_t, char *, size_t);

static uint32_t		crc_table[256];
static pthread_once_t	crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	uint32_t c;
	size_t i;
	int k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
zip_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	for (i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

struct zip *
zip_new(zip_write_fn write, void *arg)
{
	struct zip *z = xcalloc(1, sizeof(*z));

	z->write = write;
	z->arg = arg;
	return z;
}

void
zip_free(struct zip *z)
{
	size_t i;

	if (z == NULL)
		return;
	for (i = 0; i < z->n; i++)
		free(z->entries[i].name);
	free(z->entries);
	free(z);
}

uint64_t
zip_written(const struct zip *z)
{
	return z->written;
}

static bool
emit(struct zip *z, const void *buf, size_t len)
{
	if (z->failed)
		return false;
	if (len > 0 && !z->write(z->arg, buf, len)) {
		z->failed = true;
		return false;
	}
	z->written += len;
	return true;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v & 0xffff));
	put16(p + 2, (uint16_t)(v >> 16));
}

/* MS-DOS time and date in UTC; 1980-01-01 for anything earlier. */
static void
dos_time(time_t t, uint16_t *tm_out, uint16_t *date_out)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 80) {
		*tm_out = 0;
		*date_out = (1 << 5) | 1;
		return;
	}
	*tm_out = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) |
	    (tm.tm_sec / 2));
	*date_out = (uint16_t)(((tm.tm_year - 80) << 9) |
	    ((tm.tm_mon + 1) << 5) | tm.tm_mday);
}

static bool
name_ok(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= ZIP_NAME_MAX && name[0] != '/' &&
	    strstr(name, "..") == NULL && strchr(name, '\\') == NULL;
}

/*
 * Checks the limits, records the entry and writes its local header.
 * NULL with err set when the archive cannot take it.
 */
static struct zip_entry *
entry_begin(struct zip *z, const char *name, uint64_t size, uint32_t crc,
    time_t mtime, char *err, size_t errlen)
{
	unsigned char h[30];
	struct zip_entry *e;
	size_t nlen = strlen(name);

	if (!name_ok(name)) {
		util_seterr(err, errlen, "zip: bad entry name \"%s\"", name);
		return NULL;
	}
	if (z->n >= ZIP_MAX_ENTRIES || size > ZIP_MAX_U32 ||
	    z->written + sizeof(h) + nlen + size > ZIP_MAX_U32) {
		util_seterr(err, errlen, "the archive would be larger than "
		    "4 GiB (or hold more than 65535 files), which a ZIP "
		    "without ZIP64 cannot hold");
		return NULL;
	}
	if (z->n == z->cap) {
		z->cap = z->cap == 0 ? 16 : z->cap * 2;
		z->entries = xrealloc(z->entries, z->cap * sizeof(*e));
	}
	e = &z->entries[z->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->crc = crc;
	e->size = (uint32_t)size;
	e->offset = (uint32_t)z->written;
	dos_time(mtime, &e->dos_time, &e->dos_date);

	put32(h, 0x04034b50);
	put16(h + 4, ZIP_VERSION);
	put16(h + 6, ZIP_FLAG_UTF8);
	put16(h + 8, 0);		/* stored */
	put16(h + 10, e->dos_time);
	put16(h + 12, e->dos_date);
	put32(h + 14, e->crc);
	put32(h + 18, e->size);		/* compressed = uncompressed */
	put32(h + 22, e->size);
	put16(h + 26, (uint16_t)nlen);
	put16(h + 28, 0);		/* no extra field */
	if (!emit(z, h, sizeof(h)) || !emit(z, name, nlen)) {
		util_seterr(err, errlen, "the archive could not be sent");
		return NULL;
	}
	return e;
}

bool
zip_add_buffer(struct zip *z, const char *name, const void *data,
    size_t len, time_t mtime, char *err, size_t errlen)
{
	if (entry_begin(z, name, len, zip_crc32(0, data, len), mtime, err,
	    errlen) == NULL)
		return false;
	if (!emit(z, data, len))
		return util_seterr(err, errlen, "the archive could not be "
		    "sent");
	return true;
}

bool
zip_add_fd(struct zip *z, const char *name, int fd, time_t mtime,
    char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t size, off;
	uint32_t crc = 0;
	ssize_t n;
	bool ok = false;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		util_seterr(err, errlen, "zip: %s is not a readable file",
		    name);
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (size > ZIP_MAX_U32) {
		util_seterr(err, errlen, "%s is larger than 4 GiB, which a ZIP "
		    "without ZIP64 cannot hold", name);
		goto out;
	}
	buf = xmalloc(ZIP_CHUNK);
	/* First pass: the CRC the local header needs. */
	for (off = 0; off < size; off += (uint64_t)n) {
		n = pread(fd, buf, size - off < ZIP_CHUNK ? size - off :
		    ZIP_CHUNK, (off_t)off);
		if (n <= 0) {
			util_seterr(err, errlen, "zip: reading %s: %s", name,
			    n < 0 ? strerror(errno) : "it became shorter");
			goto out;
		}
		crc = zip_crc32(crc, buf, (size_t)n);
	}
	if (entry_begin(z, name, size, crc, mtime, err, errlen) == NULL)
		goto out;
	for (off = 0; off < size; off += (uint64_t)n) {
		n = pread(fd, buf, size - off < ZIP_CHUNK ? size - off :
		    ZIP_CHUNK, (off_t)off);
		/* Past the header, a short file cannot be taken back. */
		if (n <= 0 || !emit(z, buf, (size_t)n)) {
			z->failed = true;
			util_seterr(err, errlen, "zip: %s could not be sent "
			    "whole", name);
			goto out;
		}
	}
	ok = true;
out:
	free(buf);
	return ok;
}

bool
zip_stored_size(size_t n, const char *const *names, const uint64_t *sizes,
    uint64_t *total)
{
	size_t i;

	*total = 22;	/* the end record */
	for (i = 0; i < n; i++) {
		if (sizes[i] > ZIP_MAX_U32)
			return false;
		*total += 30 + 46 + 2 * (uint64_t)strlen(names[i]) + sizes[i];
	}
	return n <= ZIP_MAX_ENTRIES && *total <= ZIP_MAX_U32;
}

bool
zip_finish(struct zip *z, char *err, size_t errlen)
{
	unsigned char h[46], end[22];
	uint64_t start = z->written, cd_size;
	size_t i, nlen;
	struct zip_entry *e;

	for (i = 0; i < z->n; i++) {
		e = &z->entries[i];
		nlen = strlen(e->name);
		put32(h, 0x02014b50);
		put16(h + 4, (3 << 8) | ZIP_VERSION);	/* made by: Unix */
		put16(h + 6, ZIP_VERSION);
		put16(h + 8, ZIP_FLAG_UTF8);
		put16(h + 10, 0);
		put16(h + 12, e->dos_time);
		put16(h + 14, e->dos_date);
		put32(h + 16, e->crc);
		put32(h + 20, e->size);
		put32(h + 24, e->size);
		put16(h + 28, (uint16_t)nlen);
		put16(h + 30, 0);		/* extra */
		put16(h + 32, 0);		/* comment */
		put16(h + 34, 0);		/* disk */
		put16(h + 36, 0);		/* internal attributes */
		put32(h + 38, (uint32_t)0100644 << 16);	/* -rw-r--r-- */
		put32(h + 42, e->offset);
		if (!emit(z, h, sizeof(h)) || !emit(z, e->name, nlen))
			return util_seterr(err, errlen, "the archive could "
			    "not be sent");
	}
	cd_size = z->written - start;
	if (z->written + sizeof(end) > ZIP_MAX_U32)
		return util_seterr(err, errlen, "the archive would be larger "
		    "than 4 GiB, which a ZIP without ZIP64 cannot hold");
	put32(end, 0x06054b50);
	put16(end + 4, 0);
	put16(end + 6, 0);
	put16(end + 8, (uint16_t)z->n);
	put16(end + 10, (uint16_t)z->n);
	put32(end + 12, (uint32_t)cd_size);
	put32(end + 16, (uint32_t)start);
	put16(end + 20, 0);
	if (!emit(z, end, sizeof(end)))
		return util_seterr(err, errlen, "the archive could not be "
		    "sent");
	return true;
}
