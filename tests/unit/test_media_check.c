/*
 * test_media_check: the intake checks of media_check.c and media_ff.c.
 * The pure parts on bytes and on ffmpeg's captured words (what a file's
 * first bytes are, what a failed decode amounts to, the line a student
 * reads, where a container ends), then media_check() itself on the
 * shared fixture and on damaged, extended, cut and silent copies of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media.h"
#include "proc.h"
#include "util.h"

struct fixture {
	char	 dir[64];
	char	*intro;		/* NULL when the shared fixtures are missing */
};

static char	*tmp_path(struct fixture *, const char *);
static char	*read_all(const char *, size_t *);
static void	 write_file(const char *, const void *, size_t);
static enum media_extent extent_of(struct fixture *, const void *, size_t,
		    const char *);
static bool	 check(struct fixture *, const char *, char *, size_t,
		    bool *);

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	const char *src = getenv("INTROEVAL_SOURCE_DIR");

	util_strlcpy(f->dir, "/tmp/test_media_check.XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->intro = xasprintf("%s/../shared/fixtures/intros/intro01.mp4",
	    src != NULL && *src ? src : ".");
	if (access(f->intro, R_OK) != 0) {
		free(f->intro);
		f->intro = NULL;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "rm", "-rf", f->dir, NULL };
	struct proc_result res;

	proc_run(argv, NULL, &res, NULL, 0);
	proc_result_free(&res);
	free(f->intro);
	free(f);
	return 0;
}

static char *
tmp_path(struct fixture *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	data = xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return data;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

#define SNIFF(s)	media_sniff((const unsigned char *)(s), sizeof(s) - 1)

static void
test_sniff(void **state)
{
	static const unsigned char mp4[] = { 0, 0, 0, 0x20, 'f', 't', 'y',
	    'p', 'i', 's', 'o', 'm', 0, 0, 2, 0 };
	static const unsigned char mkv[] = { 0x1a, 0x45, 0xdf, 0xa3, 0x9f,
	    0x42, 0x86, 0x81, 0x01 };
	static const unsigned char id3[] = { 'I', 'D', '3', 3, 0, 0, 0, 0,
	    0x1f, 0x76 };

	(void)state;
	assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
	    MEDIA_SNIFF_PNG);
	assert_int_equal(SNIFF("\xff\xd8\xff\xe0\0\x10JFIF"), MEDIA_SNIFF_JPEG);
	assert_int_equal(SNIFF("GIF89a\x01\0"), MEDIA_SNIFF_GIF);
	assert_int_equal(SNIFF("RIFF\x10\0\0\0WEBPVP8 "), MEDIA_SNIFF_WEBP);
	assert_int_equal(SNIFF("\0\0\0\x18" "ftypheic\0\0\0\0"),
	    MEDIA_SNIFF_HEIF);
	assert_int_equal(SNIFF("%PDF-1.7\n"), MEDIA_SNIFF_PDF);
	assert_int_equal(SNIFF("\xef\xbb\xbf#EXTM3U\n#EXTINF:10,\nhttp://x/a.ts\n"),
	    MEDIA_SNIFF_HLS);
	assert_int_equal(SNIFF("ffconcat version 1.0\nfile /etc/passwd\n"),
	    MEDIA_SNIFF_CONCAT);
	assert_int_equal(SNIFF("[playlist]\nFile1=http://x\n"),
	    MEDIA_SNIFF_PLS);
	assert_int_equal(SNIFF("<?xml version=\"1.0\"?>\n<MPD xmlns=\"x\">"),
	    MEDIA_SNIFF_DASH);
	assert_int_equal(SNIFF("  <!DOCTYPE html><html><body>hi"),
	    MEDIA_SNIFF_HTML);
	assert_int_equal(SNIFF("Dear teacher,\n\tmy video is late. Zoë\n"),
	    MEDIA_SNIFF_TEXT);
	/* Audio and video, and binary junk, are left to ffprobe. */
	assert_int_equal(media_sniff(mp4, sizeof(mp4)), MEDIA_SNIFF_NONE);
	assert_int_equal(media_sniff(mkv, sizeof(mkv)), MEDIA_SNIFF_NONE);
	assert_int_equal(media_sniff(id3, sizeof(id3)), MEDIA_SNIFF_NONE);
	assert_int_equal(SNIFF("text\0with a NUL"), MEDIA_SNIFF_NONE);
	assert_int_equal(SNIFF("\xff\xfe junk"), MEDIA_SNIFF_NONE);
	assert_int_equal(media_sniff(mp4, 0), MEDIA_SNIFF_NONE);
	/* A multi-byte character cut by the end of the sample is text. */
	assert_int_equal(SNIFF("caf\xc3"), MEDIA_SNIFF_TEXT);

	/* Every kind has its own words; none is the old catch-all. */
	assert_null(media_sniff_words(MEDIA_SNIFF_NONE));
	assert_string_equal(media_sniff_words(MEDIA_SNIFF_PNG),
	    "this file is a picture (PNG), not a video; please upload the "
	    "recording itself");
	assert_non_null(strstr(media_sniff_words(MEDIA_SNIFF_CONCAT),
	    "this file is a playlist (an ffconcat list)"));
	assert_string_equal(media_sniff_words(MEDIA_SNIFF_TEXT),
	    "this file is text, not a video");
	assert_non_null(strstr(media_sniff_words(MEDIA_SNIFF_HTML),
	    "web page"));
}

/* Lines as ffmpeg 5.1 wrote them for the files of test_media_refusals. */
static void
test_ff_fault(void **state)
{
	(void)state;
	assert_int_equal(media_ff_fault(NULL), MEDIA_FAULT_NONE);
	assert_int_equal(media_ff_fault(" \n"), MEDIA_FAULT_NONE);
	assert_int_equal(media_ff_fault(
	    "[aac @ 0x55803b3e81c0] Input buffer exhausted before END element "
	    "found\n"), MEDIA_FAULT_DAMAGED);
	assert_int_equal(media_ff_fault(
	    "[NULL @ 0x5604] Invalid NAL unit size (1669936046 > 10).\n"
	    "[h264 @ 0x5604] Error splitting the input into NAL units.\n"),
	    MEDIA_FAULT_DAMAGED);
	assert_int_equal(media_ff_fault(
	    "file:/srv/u/x.part: corrupt input packet in stream 1\n"
	    "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c6] stream 0, offset 0x1741a: "
	    "partial file\n"), MEDIA_FAULT_TRUNCATED);
	assert_int_equal(media_ff_fault(
	    "Decoder (codec none) not found for input stream #0:1\n"),
	    MEDIA_FAULT_CODEC);
	assert_int_equal(media_ff_fault(
	    "Error writing trailer: No space left on device\n"),
	    MEDIA_FAULT_MACHINE);
}

static void
test_ff_summary(void **state)
{
	char out[160];

	(void)state;
	assert_int_equal(media_ff_summary(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* The decoder's line, not the parser's (NULL) one before it. */
	media_ff_summary("[NULL @ 0x56046f2b1f00] Invalid NAL unit size "
	    "(1669936046 > 10).\n[h264 @ 0x56046f2ee3c0] Invalid NAL unit size "
	    "(1669936046 > 10).\n", out, sizeof(out));
	assert_string_equal(out, "h264: Invalid NAL unit size "
	    "(1669936046 > 10)");
	media_ff_summary("[aac @ 0x55803b3e81c0] Input buffer exhausted "
	    "before END element found\r\n", out, sizeof(out));
	assert_string_equal(out, "aac: Input buffer exhausted before END "
	    "element found");
	/* No server path, no demuxer list, nothing unprintable. */
	media_ff_summary("file:/srv/uploads/ab12.part: corrupt input packet "
	    "in stream 1\n", out, sizeof(out));
	assert_string_equal(out, "corrupt input packet in stream 1");
	media_ff_summary("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c6] bad \x01\xff"
	    "box.\n", out, sizeof(out));
	assert_string_equal(out, "bad ??box");
	/* Cut to the room there is. */
	assert_int_equal(media_ff_summary("[aac @ 0x1] 0123456789", out, 9),
	    8);
	assert_string_equal(out, "aac: 012");
}

static enum media_extent
extent_of(struct fixture *f, const void *data, size_t len,
    const char *format)
{
	char *path = tmp_path(f, "extent.bin");
	enum media_extent e;
	FILE *fp;

	write_file(path, data, len);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	e = media_container_end(fp, (long long)len, format);
	fclose(fp);
	free(path);
	return e;
}

#define ISO	"mov,mp4,m4a,3gp,3g2,mj2"
#define MKV	"matroska,webm"

static void
test_container_end(void **state)
{
	struct fixture *f = *state;
	unsigned char b[128];
	/* ftyp (16), moov (8), mdat (16) */
	static const unsigned char iso[] = {
		0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0,
		0, 0, 0, 8, 'm', 'o', 'o', 'v',
		0, 0, 0, 16, 'm', 'd', 'a', 't', 1, 2, 3, 4, 5, 6, 7, 8 };
	/* EBML header of 4 bytes, Segment of 6 bytes (size known). */
	static const unsigned char mkv[] = { 0x1a, 0x45, 0xdf, 0xa3, 0x84,
	    0x42, 0x86, 0x81, 0x01, 0x18, 0x53, 0x80, 0x67, 0x86, 1, 2, 3, 4,
	    5, 6 };
	const char *html = "<!DOCTYPE html><html><body>x</body></html>\n";

	assert_int_equal(extent_of(f, iso, sizeof(iso), ISO),
	    MEDIA_EXTENT_EXACT);
	memcpy(b, iso, sizeof(iso));
	memcpy(b + sizeof(iso), html, strlen(html));
	assert_int_equal(extent_of(f, b, sizeof(iso) + strlen(html), ISO),
	    MEDIA_EXTENT_TRAILING);
	assert_int_equal(extent_of(f, b, sizeof(iso) + 5, ISO),
	    MEDIA_EXTENT_TRAILING);
	/* Zeros after the last box are not a box either. */
	memset(b + sizeof(iso), 0, 16);
	assert_int_equal(extent_of(f, b, sizeof(iso) + 16, ISO),
	    MEDIA_EXTENT_TRAILING);
	/* mdat runs past the end: cut short. */
	assert_int_equal(extent_of(f, iso, sizeof(iso) - 3, ISO),
	    MEDIA_EXTENT_SHORT);
	/* A box of size 0 runs to the end, by definition. */
	memcpy(b, iso, sizeof(iso));
	b[24 + 3] = 0;
	memcpy(b + sizeof(iso), "more", 4);
	assert_int_equal(extent_of(f, b, sizeof(iso) + 4, ISO),
	    MEDIA_EXTENT_EXACT);
	/* Other formats are not judged here. */
	assert_int_equal(extent_of(f, b, sizeof(iso) + 4, "mp3"),
	    MEDIA_EXTENT_EXACT);

	assert_int_equal(extent_of(f, mkv, sizeof(mkv), MKV),
	    MEDIA_EXTENT_EXACT);
	memcpy(b, mkv, sizeof(mkv));
	memcpy(b + sizeof(mkv), html, strlen(html));
	assert_int_equal(extent_of(f, b, sizeof(mkv) + strlen(html), MKV),
	    MEDIA_EXTENT_TRAILING);
	assert_int_equal(extent_of(f, mkv, sizeof(mkv) - 2, MKV),
	    MEDIA_EXTENT_SHORT);
	/* A live recording's Segment of unknown size (0x01ff...ff). */
	memcpy(b, mkv, 13);
	memcpy(b + 13, "\x01\xff\xff\xff\xff\xff\xff\xff", 8);
	memcpy(b + 21, html, strlen(html));
	assert_int_equal(extent_of(f, b, 21 + strlen(html), MKV),
	    MEDIA_EXTENT_EXACT);
}

/* media_probe() then media_check() on path, as an upload goes. */
static bool
check(struct fixture *f, const char *path, char *err, size_t errlen,
    bool *transient)
{
	struct media_info mi;
	char *scratch = tmp_path(f, "scratch.wav.raw.tmp");
	bool ok;

	*transient = false;
	err[0] = '\0';
	ok = media_probe(path, NULL, &mi, err, errlen) && media_check(path,
	    &mi, scratch, 60, 20, transient, err, errlen);
	assert_int_not_equal(access(scratch, F_OK), 0);	/* removed */
	free(scratch);
	return ok;
}

static void
test_check_files(void **state)
{
	struct fixture *f = *state;
	char err[512], *path, *data, *copy;
	const char *html = "<!DOCTYPE html><html><body><script>alert(1)"
	    "</script></body></html>\n";
	size_t len, mid, i;
	bool transient;

	if (f->intro == NULL)
		skip();
	assert_true(check(f, f->intro, err, sizeof(err), &transient));

	data = read_all(f->intro, &len);
	copy = xmalloc(len + strlen(html));
	path = tmp_path(f, "damaged.mp4");
	/* 4 000 bytes of garbage in the middle of the payload. */
	memcpy(copy, data, len);
	mid = len / 2;
	srand(15);
	for (i = mid; i < mid + 4000; i++)
		copy[i] = (char)(rand() & 0xff);
	write_file(path, copy, len);
	assert_false(check(f, path, err, sizeof(err), &transient));
	assert_false(transient);
	assert_true(strncmp(err, "the video is damaged: ", 22) == 0);
	assert_null(strstr(err, "0x"));
	assert_null(strstr(err, f->dir));

	/* A web page after the container. */
	memcpy(copy, data, len);
	memcpy(copy + len, html, strlen(html));
	write_file(path, copy, len + strlen(html));
	assert_false(check(f, path, err, sizeof(err), &transient));
	assert_non_null(strstr(err, "something else attached after the end"));

	free(path);
	free(copy);
	free(data);
}

static void
test_check_silent_and_codec(void **state)
{
	struct fixture *f = *state;
	char err[512], *path = tmp_path(f, "silent.mp4"), *out;
	const char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error",
	    "-f", "lavfi", "-i", "color=c=black:s=64x48:r=5", "-f", "lavfi",
	    "-i", "anullsrc=r=16000:cl=mono", "-t", "6", "-c:v", "libx264",
	    "-preset", "ultrafast", "-c:a", "aac", "-y", path, NULL };
	struct proc_result res;
	bool transient;
	size_t len;

	assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
	proc_result_free(&res);
	assert_false(check(f, path, err, sizeof(err), &transient));
	assert_string_equal(err, MEDIA_MSG_SILENT);

	/* The same file, its sound in a codec nobody knows. */
	out = read_all(path, &len);
	free(path);
	path = tmp_path(f, "silent.mkv");
	argv[21] = path;
	argv[19] = "libopus";
	assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
	proc_result_free(&res);
	free(out);
	out = read_all(path, &len);
	assert_non_null(memmem(out, len, "A_OPUS", 6));
	memcpy(memmem(out, len, "A_OPUS", 6), "A_QQQQ", 6);
	write_file(path, out, len);
	assert_false(check(f, path, err, sizeof(err), &transient));
	assert_string_equal(err, "this file's sound track is in a format we "
	    "cannot read");
	free(out);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_ff_fault),
		cmocka_unit_test(test_ff_summary),
		cmocka_unit_test_setup_teardown(test_container_end, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check_silent_and_codec,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
