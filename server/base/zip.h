/*
 * zip: a streaming writer of ZIP archives with stored (uncompressed)
 * entries, for the data export. Bytes go to a caller's write function as
 * they are made, so an archive of large recordings is never held in
 * memory: an entry from a file descriptor is read twice in chunks (once
 * for its CRC-32, which the local header carries, once to copy it).
 *
 * No ZIP64: an archive whose entries, offsets or count would not fit the
 * classic format (4 GiB, 65535 entries) is refused with a message before
 * a byte of that entry is written.
 */
#ifndef INTROEVAL_ZIP_H
#define INTROEVAL_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct zip;

/* Writes len bytes; false stops the archive (the reader went away). */
typedef bool	(*zip_write_fn)(void *arg, const void *buf, size_t len);

struct zip	*zip_new(zip_write_fn, void *arg);
/* Frees the writer; an unfinished archive is simply cut short. */
void		 zip_free(struct zip *);
/* name: a relative path with '/' separators, no "..", at most 255 bytes. */
bool		 zip_add_buffer(struct zip *, const char *name,
		    const void *data, size_t len, time_t mtime, char *err,
		    size_t errlen);
/* Adds the regular file open as fd (read with pread from offset 0). */
bool		 zip_add_fd(struct zip *, const char *name, int fd,
		    time_t mtime, char *err, size_t errlen);
/* Writes the central directory; the archive is complete after this. */
bool		 zip_finish(struct zip *, char *err, size_t errlen);
/* Bytes written so far. */
uint64_t	 zip_written(const struct zip *);

/*
 * The exact size of an archive of n stored entries with these names and
 * sizes, for a Content-Length sent before the archive; false when it
 * would exceed what the format holds (4 GiB, 65535 entries).
 */
bool		 zip_stored_size(size_t n, const char *const *names,
		    const uint64_t *sizes, uint64_t *total);

/* CRC-32 (ISO 3309, as ZIP and gzip use): crc is 0 to start. */
uint32_t	 zip_crc32(uint32_t crc, const void *, size_t);

#endif
