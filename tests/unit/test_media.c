/*
 * test_media: ffprobe on the shared fixture and on bad files made here,
 * sound-track extraction to WAV, and the WAV reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
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

static char	*shared_path(const char *);
static char	*tmp_path(struct fixture *, const char *);
static void	 write_file(const char *, const void *, size_t);
static void	 make_media(struct fixture *, const char *, const char *,
		    const char *);
static bool	 exists(const char *);

/* INTROEVAL_SHARED_DIR, else $INTROEVAL_SOURCE_DIR/../shared, else ../shared. */
static char *
shared_path(const char *rel)
{
	const char *dir = getenv("INTROEVAL_SHARED_DIR");
	const char *src = getenv("INTROEVAL_SOURCE_DIR");

	if (dir && *dir)
		return xasprintf("%s/%s", dir, rel);
	if (src && *src)
		return xasprintf("%s/../shared/%s", src, rel);
	return xasprintf("../shared/%s", rel);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	util_strlcpy(f->dir, "/tmp/test_media.XXXXXX", sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->intro = shared_path("fixtures/intros/intro01.mp4");
	if (!exists(f->intro)) {
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

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static bool
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Makes a small file with ffmpeg from a lavfi source. */
static void
make_media(struct fixture *f, const char *name, const char *lavfi,
    const char *codec)
{
	char *out = tmp_path(f, name), err[256];
	const char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error",
	    "-f", "lavfi", "-i", lavfi, "-t", "2", "-c", codec, "-y", out,
	    NULL };
	struct proc_result res;

	assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
	proc_result_free(&res);
	free(out);
}

static void
test_probe_fixture(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	char err[256] = "";

	if (f->intro == NULL)
		skip();
	assert_true(media_probe(f->intro, NULL, &mi, err, sizeof(err)));
	assert_true(fabs(mi.duration_s - 22.0) < 0.01);
	assert_true(mi.has_audio);
	assert_true(mi.has_video);
	assert_string_equal(mi.format_name, "mov,mp4,m4a,3gp,3g2,mj2");
	assert_string_equal(mi.audio_codec, "aac");
	assert_int_equal(mi.sample_rate, 16000);
	assert_int_equal(mi.channels, 1);
	assert_string_equal(mi.video_codec, "h264");
	assert_int_equal(mi.width, 320);
	assert_int_equal(mi.height, 240);
}

static void
test_probe_too_long(void **state)
{
	struct fixture *f = *state;
	struct media_limits lim = { .max_duration_s = 10 };
	struct media_info mi;
	char err[256] = "";

	if (f->intro == NULL)
		skip();
	assert_false(media_probe(f->intro, &lim, &mi, err, sizeof(err)));
	assert_string_equal(err,
	    "this recording is 22 seconds long; the limit is 10 seconds");
	assert_true(mi.has_audio);
}

static void
test_probe_bad_files(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	char err[256], *path, *text = "hello, this is not a video\n";
	FILE *in;
	char chunk[20000];
	size_t n;

	path = tmp_path(f, "empty.mp4");
	write_file(path, "", 0);
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file is empty");
	free(path);

	path = tmp_path(f, "text.mp4");
	write_file(path, text, strlen(text));
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file is not a video we can read");
	free(path);

	path = tmp_path(f, "missing.mp4");
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file or directory"));
	free(path);

	if (f->intro == NULL)
		return;
	/* The fixture keeps its index at the end: the head alone is junk. */
	assert_non_null(in = fopen(f->intro, "rb"));
	n = fread(chunk, 1, sizeof(chunk), in);
	fclose(in);
	path = tmp_path(f, "truncated.mp4");
	write_file(path, chunk, n);
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file is not a video we can read");
	free(path);
}

static void
test_probe_no_sound(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	char err[256] = "", *path;

	make_media(f, "silent.mp4", "color=c=red:s=64x64:r=5", "libx264");
	path = tmp_path(f, "silent.mp4");
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file has no sound track");
	assert_true(mi.has_video);
	assert_false(mi.has_audio);
	free(path);
}

static void
test_probe_audio_only(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	char err[256] = "", *path;

	make_media(f, "tone.wav", "sine=frequency=440:sample_rate=8000",
	    "pcm_s16le");
	path = tmp_path(f, "tone.wav");
	assert_true(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_true(mi.has_audio);
	assert_false(mi.has_video);
	assert_string_equal(mi.format_name, "wav");
	assert_int_equal(mi.sample_rate, 8000);
	assert_true(fabs(mi.duration_s - 2.0) < 0.01);
	free(path);
}

/* A playlist could make ffmpeg read other files on the server. */
static void
test_probe_refuses_playlist(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	char err[256] = "", *path, *seg, *list;
	const char *m3u = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n"
	    "seg.wav\n#EXT-X-ENDLIST\n";

	make_media(f, "seg.wav", "sine=frequency=440", "pcm_s16le");
	seg = tmp_path(f, "seg.wav");
	assert_true(exists(seg));
	list = tmp_path(f, "list.mp4");
	write_file(list, m3u, strlen(m3u));
	assert_false(media_probe(list, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file is not a video we can read");
	path = tmp_path(f, "list.wav");
	assert_false(media_extract_wav(list, path, 10, err, sizeof(err)));
	assert_false(exists(path));
	free(path);
	free(list);
	free(seg);
}

static void
test_extract_fixture(void **state)
{
	struct fixture *f = *state;
	struct media_wav wav;
	char err[256] = "", *out, *tmp;
	double energy = 0;
	size_t i;

	if (f->intro == NULL)
		skip();
	out = tmp_path(f, "intro01.wav");
	tmp = tmp_path(f, "intro01.wav.tmp");
	assert_true(media_extract_wav(f->intro, out, 30, err, sizeof(err)));
	assert_true(exists(out));
	assert_false(exists(tmp));

	assert_true(media_read_wav(out, &wav, err, sizeof(err)));
	assert_int_equal(wav.rate, MEDIA_WAV_RATE);
	/* The sound track is 20.8 s; the video runs to 22 s. */
	assert_true(fabs((double)wav.nsamples / wav.rate - 20.8) < 0.1);
	for (i = 0; i < wav.nsamples; i++)
		energy += (double)wav.samples[i] * wav.samples[i];
	assert_true(sqrt(energy / (double)wav.nsamples) > 100);
	media_wav_free(&wav);
	free(out);
	free(tmp);
}

static void
test_extract_bad_inputs(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", *in, *out, *tmp;
	const char *text = "not a video";

	in = tmp_path(f, "junk.mp4");
	out = tmp_path(f, "junk.wav");
	tmp = tmp_path(f, "junk.wav.tmp");
	write_file(in, text, strlen(text));
	assert_false(media_extract_wav(in, out, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "could not extract the sound track"));
	assert_false(exists(out));
	assert_false(exists(tmp));
	free(in);

	make_media(f, "silent2.mp4", "color=c=blue:s=64x64:r=5", "libx264");
	in = tmp_path(f, "silent2.mp4");
	assert_false(media_extract_wav(in, out, 10, err, sizeof(err)));
	assert_false(exists(out));
	assert_false(exists(tmp));
	free(in);
	free(out);
	free(tmp);
}

static void
test_read_wav(void **state)
{
	struct fixture *f = *state;
	/* RIFF header, a LIST chunk to skip, then three samples. */
	static const unsigned char wavbytes[] = {
		'R', 'I', 'F', 'F', 50, 0, 0, 0, 'W', 'A', 'V', 'E',
		'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
		0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0,
		'L', 'I', 'S', 'T', 3, 0, 0, 0, 'a', 'b', 'c', 0,
		'd', 'a', 't', 'a', 6, 0, 0, 0, 0x01, 0x00, 0xff, 0xff,
		0x00, 0x80,
	};
	static const unsigned char stereo[] = {
		'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
		'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 2, 0,
		0x80, 0x3e, 0, 0, 0, 0xfa, 0, 0, 4, 0, 16, 0,
		'd', 'a', 't', 'a', 0, 0, 0, 0,
	};
	struct media_wav wav;
	char err[256] = "", *path;

	path = tmp_path(f, "small.wav");
	write_file(path, wavbytes, sizeof(wavbytes));
	assert_true(media_read_wav(path, &wav, err, sizeof(err)));
	assert_int_equal(wav.rate, 16000);
	assert_int_equal(wav.nsamples, 3);
	assert_int_equal(wav.samples[0], 1);
	assert_int_equal(wav.samples[1], -1);
	assert_int_equal(wav.samples[2], -32768);
	media_wav_free(&wav);

	write_file(path, stereo, sizeof(stereo));
	assert_false(media_read_wav(path, &wav, err, sizeof(err)));
	assert_non_null(strstr(err, "not a mono 16-bit PCM WAV"));

	write_file(path, "RIFF", 4);
	assert_false(media_read_wav(path, &wav, err, sizeof(err)));
	assert_non_null(strstr(err, "not a WAV file"));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_fixture),
		cmocka_unit_test(test_probe_too_long),
		cmocka_unit_test(test_probe_bad_files),
		cmocka_unit_test(test_probe_no_sound),
		cmocka_unit_test(test_probe_audio_only),
		cmocka_unit_test(test_probe_refuses_playlist),
		cmocka_unit_test(test_extract_fixture),
		cmocka_unit_test(test_extract_bad_inputs),
		cmocka_unit_test(test_read_wav),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
