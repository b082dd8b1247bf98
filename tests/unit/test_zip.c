/*
 * Unit tests for zip: the CRC-32 check value, an archive of a buffer, an
 * empty entry, a UTF-8 name and a file larger than one chunk, checked
 * by Info-ZIP's `unzip -t` and by Python's zipfile (names, sizes and
 * contents); refusals (bad names, a file over 4 GiB) before any byte of
 * the entry is written; and a reader that goes away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "zip.h"

#define BIG_SIZE	(1024 * 1024 + 12345)

static bool	to_file(void *, const void *, size_t);
static bool	refuse(void *, const void *, size_t);
static char	*tmp_file(const char *);
static int	 run(const char *, ...) __attribute__((format(printf, 1, 2)));

static bool
to_file(void *arg, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, arg) == len;
}

static bool
refuse(void *arg, const void *buf, size_t len)
{
	return false;
}

static char *
tmp_file(const char *suffix)
{
	char *p = xasprintf("/tmp/test_zip.%d.%s", (int)getpid(), suffix);

	unlink(p);
	return p;
}

static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void
test_crc32(void **state)
{
	assert_int_equal(zip_crc32(0, "123456789", 9), 0xcbf43926U);
	assert_int_equal(zip_crc32(0, "", 0), 0);
	/* Chunked equals whole. */
	assert_int_equal(zip_crc32(zip_crc32(0, "1234", 4), "56789", 5),
	    0xcbf43926U);
}

static void
test_archive(void **state)
{
	char *zpath = tmp_file("zip"), *bpath = tmp_file("bin");
	char err[256];
	unsigned char *big = xmalloc(BIG_SIZE);
	const char *json = "{\"name\": \"Zoë\"}\n";
	FILE *out, *bf;
	struct zip *z;
	size_t i;
	int fd;

	for (i = 0; i < BIG_SIZE; i++)
		big[i] = (unsigned char)((i * 2654435761U) >> 13);
	bf = fopen(bpath, "wb");
	assert_non_null(bf);
	assert_int_equal(fwrite(big, 1, BIG_SIZE, bf), BIG_SIZE);
	fclose(bf);
	out = fopen(zpath, "wb");
	assert_non_null(out);
	z = zip_new(to_file, out);
	assert_true(zip_add_buffer(z, "data.json", json, strlen(json),
	    1700000000, err, sizeof(err)));
	assert_true(zip_add_buffer(z, "empty.txt", "", 0, 0, err,
	    sizeof(err)));
	fd = open(bpath, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(zip_add_fd(z, "recordings/Zoë intro.mp4", fd, 1700000000,
	    err, sizeof(err)));
	close(fd);
	/* Refused names leave the archive as it was. */
	assert_false(zip_add_buffer(z, "../etc/passwd", "x", 1, 0, err,
	    sizeof(err)));
	assert_false(zip_add_buffer(z, "/abs", "x", 1, 0, err, sizeof(err)));
	assert_true(zip_finish(z, err, sizeof(err)));
	fclose(out);
	assert_int_equal(zip_written(z), (uint64_t)BIG_SIZE + 3 * (30 + 46) +
	    2 * (9 + 9) + strlen(json) + 2 * strlen("recordings/Zoë intro.mp4") +
	    22);
	{
		const char *names[] = { "data.json", "empty.txt",
		    "recordings/Zoë intro.mp4" };
		uint64_t sizes[] = { strlen(json), 0, BIG_SIZE }, total;

		assert_true(zip_stored_size(3, names, sizes, &total));
		assert_int_equal(total, zip_written(z));
		sizes[2] = 0x100000000ULL;
		assert_false(zip_stored_size(3, names, sizes, &total));
	}
	zip_free(z);

	assert_int_equal(run("unzip -tq %s >/dev/null", zpath), 0);
	assert_int_equal(run("python3 -c '"
	    "import sys, zipfile\n"
	    "z = zipfile.ZipFile(sys.argv[1])\n"
	    "assert z.testzip() is None\n"
	    "n = z.namelist()\n"
	    "assert n == [\"data.json\", \"empty.txt\", "
	    "\"recordings/Zo\\u00eb intro.mp4\"], n\n"
	    "assert z.read(\"data.json\").decode() == "
	    "\"{\\\"name\\\": \\\"Zo\\u00eb\\\"}\\n\"\n"
	    "assert z.read(\"empty.txt\") == b\"\"\n"
	    "assert z.read(n[2]) == open(sys.argv[2], \"rb\").read()\n"
	    "assert all(i.compress_type == zipfile.ZIP_STORED "
	    "for i in z.infolist())\n"
	    "assert z.getinfo(\"data.json\").date_time == "
	    "(2023, 11, 14, 22, 13, 20)\n"
	    "' %s %s", zpath, bpath), 0);
	unlink(zpath);
	unlink(bpath);
	free(big);
	free(zpath);
	free(bpath);
}

static void
test_over_4gib_refused(void **state)
{
	char *zpath = tmp_file("big.zip"), *spath = tmp_file("sparse");
	char err[256] = "";
	FILE *out = fopen(zpath, "wb");
	struct zip *z;
	int fd;

	fd = open(spath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* Sparse: no disk is used. */
	assert_int_equal(ftruncate(fd, (off_t)0x100000000LL), 0);
	z = zip_new(to_file, out);
	assert_false(zip_add_fd(z, "huge.mp4", fd, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "4 GiB"));
	assert_int_equal(zip_written(z), 0);
	assert_true(zip_finish(z, err, sizeof(err)));
	zip_free(z);
	fclose(out);
	close(fd);
	assert_int_equal(run("python3 -c 'import sys, zipfile; "
	    "assert zipfile.ZipFile(sys.argv[1]).namelist() == []' %s",
	    zpath), 0);
	unlink(spath);
	unlink(zpath);
	free(spath);
	free(zpath);
}

static void
test_reader_gone(void **state)
{
	char err[256] = "";
	struct zip *z = zip_new(refuse, NULL);

	assert_false(zip_add_buffer(z, "a.txt", "abc", 3, 0, err,
	    sizeof(err)));
	assert_false(zip_finish(z, err, sizeof(err)));
	zip_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_archive),
		cmocka_unit_test(test_over_4gib_refused),
		cmocka_unit_test(test_reader_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
