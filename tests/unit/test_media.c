/*
 * test_media: ffprobe on the shared fixture and on bad files made here,
 * the verdicts' words, sound-track extraction to WAV with the level check
 * and normalisation, the level measure, and the WAV reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media.h"
#include "proc.h"
#include "util.h"

/* media_extract_wav's verdict on a failure: the machine's or the file's. */
static bool transient;

struct fixture {
	char	 dir[64];
	char	*intro;		/* NULL when the shared fixtures are missing */
};

static char	*shared_path(const char *);
static char	*tmp_path(struct fixture *, const char *);
static void	 write_file(const char *, const void *, size_t);
static void	 make_media(struct fixture *, const char *, const char *,
		    const char *);
static void	 make_media_t(struct fixture *, const char *, const char *,
		    const char *, const char *);
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

/* True when a scratch file "<wav>.*.tmp" of media_extract_wav is left. */
static bool
scratch_left(struct fixture *f, const char *wav)
{
	size_t plen = strlen(wav), n;
	struct dirent *e;
	bool left = false;
	DIR *d = opendir(f->dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n > plen + 5 && strncmp(e->d_name, wav, plen) == 0 &&
		    e->d_name[plen] == '.' &&
		    strcmp(e->d_name + n - 4, ".tmp") == 0)
			left = true;
	}
	closedir(d);
	return left;
}

/* Makes a small file with ffmpeg from a lavfi source, 2 s long. */
static void
make_media(struct fixture *f, const char *name, const char *lavfi,
    const char *codec)
{
	make_media_t(f, name, lavfi, codec, "2");
}

/* Likewise, `secs` long. */
static void
make_media_t(struct fixture *f, const char *name, const char *lavfi,
    const char *codec, const char *secs)
{
	char *out = tmp_path(f, name), err[256];
	const char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error",
	    "-f", "lavfi", "-i", lavfi, "-t", secs, "-c", codec, "-y", out,
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
	assert_string_equal(mi.mime, "video/mp4");
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
	    "the recording is 22 seconds long; the limit is 10 seconds");
	assert_true(mi.has_audio);

	lim.max_duration_s = 0;
	lim.min_duration_s = 30;
	assert_false(media_probe(f->intro, &lim, &mi, err, sizeof(err)));
	assert_string_equal(err, "the recording is only 22 seconds long; the "
	    "shortest we accept is 30 seconds");
	lim.min_duration_s = 22;
	assert_true(media_probe(f->intro, &lim, &mi, err, sizeof(err)));
}

/* Lengths read as a person would say them, rounded away from the limit. */
static void
test_probe_duration_words(void **state)
{
	struct fixture *f = *state;
	struct media_limits lim = { .max_duration_s = 60 };
	struct media_info mi;
	char err[256] = "", *path;

	make_media_t(f, "long.wav", "anullsrc=r=8000:cl=mono", "pcm_s16le",
	    "120");
	path = tmp_path(f, "long.wav");
	assert_false(media_probe(path, &lim, &mi, err, sizeof(err)));
	assert_string_equal(err,
	    "the recording is 2 minutes long; the limit is 1 minute");
	free(path);

	make_media_t(f, "long2.wav", "anullsrc=r=8000:cl=mono", "pcm_s16le",
	    "125.3");
	path = tmp_path(f, "long2.wav");
	lim.max_duration_s = 120;
	assert_false(media_probe(path, &lim, &mi, err, sizeof(err)));
	assert_string_equal(err, "the recording is 2 minutes 6 seconds long; "
	    "the limit is 2 minutes");
	free(path);

	make_media_t(f, "short.wav", "anullsrc=r=8000:cl=mono", "pcm_s16le",
	    "4.8");
	path = tmp_path(f, "short.wav");
	lim.max_duration_s = 0;
	lim.min_duration_s = 5;
	assert_false(media_probe(path, &lim, &mi, err, sizeof(err)));
	assert_string_equal(err, "the recording is only 4.8 seconds long; "
	    "the shortest we accept is 5 seconds");
	free(path);
}

static void
test_probe_bad_files(void **state)
{
	/* A 1x1 PNG. */
	static const unsigned char png[] = {
		0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00,
		0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
		0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41,
		0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03,
		0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00,
		0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
	};
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
	assert_string_equal(err, "this file is text, not a video");
	free(path);

	path = tmp_path(f, "missing.mp4");
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_non_null(strstr(err, "missing on the server"));
	assert_null(strstr(err, f->dir));	/* no server paths */
	free(path);

	/* A PNG is a picture, not a recording: said so before ffprobe runs. */
	path = tmp_path(f, "picture.png");
	write_file(path, png, sizeof(png));
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_string_equal(err, "this file is a picture (PNG), not a video; "
	    "please upload the recording itself");
	free(path);

	if (f->intro == NULL)
		return;
	/* The fixture keeps its index at the end: the head alone has none. */
	assert_non_null(in = fopen(f->intro, "rb"));
	n = fread(chunk, 1, sizeof(chunk), in);
	fclose(in);
	path = tmp_path(f, "truncated.mp4");
	write_file(path, chunk, n);
	assert_false(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_non_null(strstr(err, "this file is cut short"));
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
	assert_string_equal(mi.mime, "audio/wav");
	assert_int_equal(mi.sample_rate, 8000);
	assert_true(fabs(mi.duration_s - 2.0) < 0.01);
	free(path);
}

/* WebM written as a stream (a browser's MediaRecorder) states no length. */
static void
test_probe_live_webm(void **state)
{
	struct fixture *f = *state;
	struct media_info mi;
	struct proc_result res;
	char err[256] = "", *path;
	const char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error",
	    "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000",
	    "-t", "3", "-c:a", "libopus", "-f", "webm", "pipe:1", NULL };

	assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
	path = tmp_path(f, "live.webm");
	write_file(path, res.out.data, res.out.len);
	proc_result_free(&res);
	assert_true(media_probe(path, NULL, &mi, err, sizeof(err)));
	assert_true(fabs(mi.duration_s - 3.0) < 0.1);
	assert_string_equal(mi.mime, "audio/webm");
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
	assert_non_null(strstr(err, "this file is a playlist (HLS, .m3u8)"));
	path = tmp_path(f, "list.wav");
	assert_false(media_extract_wav(list, path, 10, &transient, err, sizeof(err)));
	assert_false(transient);
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
	char err[256] = "", *out;
	double energy = 0;
	size_t i;

	if (f->intro == NULL)
		skip();
	out = tmp_path(f, "intro01.wav");
	assert_true(media_extract_wav(f->intro, out, 30, &transient, err, sizeof(err)));
	assert_true(exists(out));
	assert_false(scratch_left(f, "intro01.wav"));

	assert_true(media_read_wav(out, &wav, err, sizeof(err)));
	assert_int_equal(wav.rate, MEDIA_WAV_RATE);
	/* The sound track is 20.8 s; the video runs to 22 s. */
	assert_true(fabs((double)wav.nsamples / wav.rate - 20.8) < 0.1);
	for (i = 0; i < wav.nsamples; i++)
		energy += (double)wav.samples[i] * wav.samples[i];
	assert_true(sqrt(energy / (double)wav.nsamples) > 100);
	media_wav_free(&wav);
	free(out);
}

static void
test_extract_bad_inputs(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", *in, *out;
	const char *text = "not a video";

	in = tmp_path(f, "junk.mp4");
	out = tmp_path(f, "junk.wav");
	write_file(in, text, strlen(text));
	assert_false(media_extract_wav(in, out, 10, &transient, err, sizeof(err)));
	assert_false(transient);
	assert_string_equal(err, "we could not read the sound track of this "
	    "file");
	assert_false(exists(out));
	assert_false(scratch_left(f, "junk.wav"));
	free(in);

	make_media(f, "silent2.mp4", "color=c=blue:s=64x64:r=5", "libx264");
	in = tmp_path(f, "silent2.mp4");
	assert_false(media_extract_wav(in, out, 10, &transient, err, sizeof(err)));
	assert_false(transient);
	assert_false(exists(out));
	assert_false(scratch_left(f, "junk.wav"));
	free(in);
	free(out);
}

/* Silence, and sound too faint to be speech, stop before STT. */
/* A machine that cannot run ffmpeg is not the file's fault: try again. */
static void
test_extract_no_ffmpeg(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", *out, *path = getenv("PATH") ? strdup(getenv("PATH")) :
	    NULL;

	if (f->intro == NULL)
		skip();
	out = tmp_path(f, "noffmpeg.wav");
	setenv("PATH", "/nonexistent", 1);
	assert_false(media_extract_wav(f->intro, out, 10, &transient, err,
	    sizeof(err)));
	if (path != NULL)
		setenv("PATH", path, 1);
	assert_true(transient);
	assert_non_null(strstr(err, "try again"));
	assert_false(exists(out));
	free(path);
	free(out);
}

static void
test_extract_silence(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", *in, *out;

	out = tmp_path(f, "quiet.wav");
	make_media_t(f, "silence.m4a", "anullsrc=r=44100:cl=stereo", "aac",
	    "6");
	in = tmp_path(f, "silence.m4a");
	assert_false(media_extract_wav(in, out, 10, &transient, err, sizeof(err)));
	assert_false(transient);
	assert_string_equal(err, MEDIA_MSG_SILENT);
	assert_false(exists(out));
	assert_false(scratch_left(f, "quiet.wav"));
	free(in);

	/* A 440 Hz tone at -81 dBFS (RMS): a muted microphone's hum. */
	make_media_t(f, "faint.wav", "sine=frequency=440:sample_rate=16000,"
	    "volume=-60dB", "pcm_s16le", "6");
	in = tmp_path(f, "faint.wav");
	assert_false(media_extract_wav(in, out, 10, &transient, err, sizeof(err)));
	assert_false(transient);
	assert_string_equal(err, MEDIA_MSG_SILENT);
	assert_false(exists(out));
	free(in);

	/* The same tone at -41 dBFS is quiet but audible. */
	make_media_t(f, "soft.wav", "sine=frequency=440:sample_rate=16000,"
	    "volume=-20dB", "pcm_s16le", "6");
	in = tmp_path(f, "soft.wav");
	assert_true(media_extract_wav(in, out, 10, &transient, err, sizeof(err)));
	assert_true(exists(out));
	assert_false(scratch_left(f, "quiet.wav"));
	free(in);
	free(out);
}

struct extract_run {
	const char	*in, *out;
	bool		 ok, transient;
	char		 err[256];
};

static void *
extract_thread(void *arg)
{
	struct extract_run *x = arg;

	x->ok = media_extract_wav(x->in, x->out, 60, &x->transient, x->err,
	    sizeof(x->err));
	return NULL;
}

/*
 * Two preparations of one upload at once (a node that stopped handed its
 * lease back while its ffmpeg still ran; another took the submission):
 * each has its own scratch files, so neither deletes the other's and
 * both end with the sound in place.
 */
static void
test_extract_twice_at_once(void **state)
{
	struct fixture *f = *state;
	struct extract_run x[2];
	pthread_t t[2];
	char *out;
	int i;

	if (f->intro == NULL)
		skip();
	out = tmp_path(f, "twice.wav");
	for (i = 0; i < 2; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].in = f->intro;
		x[i].out = out;
		assert_int_equal(pthread_create(&t[i], NULL, extract_thread,
		    &x[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (!x[i].ok)
			fail_msg("run %d: %s", i, x[i].err);
	}
	assert_true(exists(out));
	assert_false(scratch_left(f, "twice.wav"));

	/*
	 * The other run's scratch files, as the fixed names of old: a run
	 * neither writes them nor removes them.
	 */
	{
		static const char *const theirs[] = { "twice.wav.raw.tmp",
		    "twice.wav.tmp", "twice.wav.0badf00d.raw.tmp" };
		char *p, buf[16];
		FILE *fp;
		size_t j;

		for (j = 0; j < ARRAY_LEN(theirs); j++) {
			p = tmp_path(f, theirs[j]);
			write_file(p, "theirs", 6);
			free(p);
		}
		x[0].ok = media_extract_wav(f->intro, out, 60, &x[0].transient,
		    x[0].err, sizeof(x[0].err));
		if (!x[0].ok)
			fail_msg("%s", x[0].err);
		for (j = 0; j < ARRAY_LEN(theirs); j++) {
			p = tmp_path(f, theirs[j]);
			assert_non_null(fp = fopen(p, "rb"));
			assert_int_equal(fread(buf, 1, sizeof(buf), fp), 6);
			assert_memory_equal(buf, "theirs", 6);
			fclose(fp);
			unlink(p);
			free(p);
		}
	}
	free(out);
}

/* An mp4 with its index first, cut in half, decodes only up to the cut. */
static void
test_extract_truncated(void **state)
{
	struct fixture *f = *state;
	char err[256] = "", *fast, *cut, *out, *buf;
	struct proc_result res;
	FILE *fp;
	long n;

	if (f->intro == NULL)
		skip();
	fast = tmp_path(f, "fast.mp4");
	{
		const char *argv[] = { "ffmpeg", "-nostdin", "-loglevel",
		    "error", "-i", f->intro, "-c", "copy", "-movflags",
		    "+faststart", "-y", fast, NULL };

		assert_true(proc_run(argv, NULL, &res, err, sizeof(err)));
		proc_result_free(&res);
	}
	assert_non_null(fp = fopen(fast, "rb"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp) / 2;
	rewind(fp);
	buf = xmalloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	cut = tmp_path(f, "cut.mp4");
	write_file(cut, buf, (size_t)n);
	out = tmp_path(f, "cut.wav");
	assert_false(media_extract_wav(cut, out, 10, &transient, err, sizeof(err)));
	assert_false(transient);
	assert_non_null(strstr(err, "this file is cut short"));
	assert_false(exists(out));
	free(buf);
	free(fast);
	free(cut);
	free(out);
}

static void
test_measure(void **state)
{
	struct media_levels lv;
	int16_t *s = xcalloc(16000, sizeof(*s));
	size_t i;

	media_measure(s, 16000, 16000, &lv);
	assert_true(fabs(lv.duration_s - 1.0) < 1e-9);
	assert_true(lv.peak_db < -130);
	assert_true(lv.audible_s == 0);
	assert_false(media_audible(&lv));

	/* 0.4 s of a full-scale square wave: loud, but too short. */
	for (i = 0; i < 6400; i++)
		s[i] = (i / 8) % 2 ? 32767 : -32767;
	media_measure(s, 16000, 16000, &lv);
	assert_true(lv.peak_db > -0.01 && lv.peak_db <= 0);
	assert_true(fabs(lv.audible_s - 0.4) < 1e-9);
	assert_false(media_audible(&lv));

	/* 0.6 s at -40 dBFS (amplitude 328) is enough. */
	for (i = 0; i < 9600; i++)
		s[i] = (i / 8) % 2 ? 328 : -328;
	media_measure(s, 16000, 16000, &lv);
	assert_true(fabs(lv.peak_db + 40) < 0.1);
	assert_true(fabs(lv.audible_s - 0.6) < 1e-9);
	assert_true(media_audible(&lv));

	/* At -56 dBFS it is not. */
	for (i = 0; i < 16000; i++)
		s[i] = (i / 8) % 2 ? 52 : -52;
	media_measure(s, 16000, 16000, &lv);
	assert_false(media_audible(&lv));
	free(s);
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
		cmocka_unit_test(test_probe_duration_words),
		cmocka_unit_test(test_probe_bad_files),
		cmocka_unit_test(test_probe_no_sound),
		cmocka_unit_test(test_probe_audio_only),
		cmocka_unit_test(test_probe_live_webm),
		cmocka_unit_test(test_probe_refuses_playlist),
		cmocka_unit_test(test_extract_fixture),
		cmocka_unit_test(test_extract_bad_inputs),
		cmocka_unit_test(test_extract_silence),
		cmocka_unit_test(test_extract_twice_at_once),
		cmocka_unit_test(test_extract_truncated),
		cmocka_unit_test(test_extract_no_ffmpeg),
		cmocka_unit_test(test_measure),
		cmocka_unit_test(test_read_wav),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
