/*
 * media: ffprobe's verdict on an upload, the sound track as a WAV for
 * transcription, the level check, and a small WAV reader (see media.h).
 * The programs are run by media_ff.c; the decoding check at intake is
 * media_check.c's.
 * Student-facing messages are decided in this module, in one place; the
 * programs' own messages go to the log.
 *
 * Extraction decodes the untrusted file once, to a plain WAV; the level
 * check and the normalisation work on that WAV. The check runs before
 * normalisation, which would otherwise lift a muted microphone's hiss to
 * speaking volume. dynaudnorm was measured against loudnorm on the shared
 * fixtures: the same word error rate with PocketSphinx (0.51 either way,
 * 0.50 without normalisation; tests/bench/run wer), and dynaudnorm takes
 * 0.15 s for ten minutes of audio where loudnorm takes 8 s.
 */
#include "media.h"
#include "media_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define MEDIA_WAV_MAX_BYTES	(1024UL << 20)	/* ~9 hours at 16 kHz */

#define MEDIA_FRAME_S	0.02			/* level measuring frame */

/* A container ffprobe names, and what we call it. */
struct mime_map {
	const char	*format;	/* ffprobe's format_name */
	const char	*video;		/* with a picture */
	const char	*audio;		/* sound only */
};

struct wav_header {
	unsigned	 format;
	unsigned	 channels;
	unsigned	 rate;
	unsigned	 bits;
	long		 data_off;
	unsigned long	 data_len;
};

static bool	 probe_parse(const char *, size_t, struct media_info *,
		    const char *, char *, size_t);
static void	 probe_stream(json_t *, struct media_info *, double *);
static double	 json_number_or_string(json_t *);
static bool	 probe_check(const struct media_info *, const struct media_limits *,
		    char *, size_t);
static void	 probe_mime(struct media_info *);
static double	 measure_duration(const struct ff_job *);
static bool	 in_list(const char *, const char *);
static void	 duration_words(double, bool, char *, size_t);
static bool	 known_codec(const char *);
static bool	 check_file(const char *, char *, size_t);
static bool	 starts_like_mp4(const char *);
static bool	 normalise(const char *, const char *, int, bool *, char *,
		    size_t);
static bool	 ffmpeg_wav(const struct ff_job *, struct proc_result *,
		    bool *, char *, size_t);
static bool	 wav_header_read(FILE *, struct wav_header *, char *, size_t);
static uint32_t	 le32(const unsigned char *);
static uint16_t	 le16(const unsigned char *);

bool
media_probe(const char *path, const struct media_limits *lim,
    struct media_info *info, char *err, size_t errlen)
{
	static const char *const opts[] = { "-print_format", "json",
	    "-show_format", "-show_streams", NULL };
	struct ff_job job = { "ffprobe", MEDIA_FORMATS, path, opts, NULL,
	    lim ? lim->timeout_s : 0, lim ? lim->mem_bytes : 0, false, NULL };
	struct proc_result res;
	char why[512];
	bool ok = false;

	memset(info, 0, sizeof(*info));
	if (!check_file(path, err, errlen) ||
	    !media_check_kind(path, err, errlen))
		return false;
	if (!ff_run(&job, &res, why, sizeof(why))) {
		/* An mp4 whose index was to come at the end. */
		if (res.started && res.exited && res.err.data &&
		    strstr(res.err.data, "moov atom not found") &&
		    starts_like_mp4(path))
			util_seterr(err, errlen, MSG_TRUNCATED);
		else if (res.started && res.exited)
			util_seterr(err, errlen, MEDIA_MSG_NOT_MEDIA);
		else
			util_seterr(err, errlen,
			    "we could not examine this file (%s)", why);
		goto out;
	}
	if (!probe_parse(res.out.data, res.out.len, info, path, err, errlen))
		goto out;
	/* A browser's recording (MediaRecorder) states no duration. */
	if (info->has_audio && info->duration_s <= 0)
		info->duration_s = measure_duration(&job);
	ok = probe_check(info, lim, err, errlen);
out:
	proc_result_free(&res);
	return ok;
}

bool
media_extract_wav(const char *in, const char *out_wav, int timeout_s,
    bool *transient, char *err, size_t errlen)
{
	char *raw, *tmp;
	uint32_t nonce;
	bool ok = false;

	*transient = false;
	if (!check_file(in, err, errlen)) {
		/* Gone from a shared upload store for a moment, perhaps. */
		*transient = errno == ENOENT || errno == EIO;
		return false;
	}
	/*
	 * Names of this run only: a node stopping gracefully hands its lease
	 * back while its ffmpeg may still run, and another process (on this
	 * machine or, on a shared mount, another) may prepare the same
	 * submission at once; shared names let one delete the other's file.
	 */
	nonce = randombytes_random();
	raw = xasprintf("%s.%08x.raw.tmp", out_wav, nonce);
	tmp = xasprintf("%s.%08x.tmp", out_wav, nonce);
	if (!media_decode_track(in, raw, timeout_s, NULL, transient, err,
	    errlen) ||
	    !media_check_levels(in, raw, err, errlen) ||
	    !normalise(raw, tmp, timeout_s, transient, err, errlen))
		goto out;
	if (rename(tmp, out_wav) == -1) {
		log_warn("media: rename %s", tmp);
		*transient = true;
		util_seterr(err, errlen, MSG_MACHINE);
		goto out;
	}
	ok = true;
out:
	(void)unlink(raw);
	if (!ok)
		(void)unlink(tmp);
	free(raw);
	free(tmp);
	return ok;
}

void
media_measure(const int16_t *samples, size_t n, int rate,
    struct media_levels *lv)
{
	size_t frame = (size_t)(rate * MEDIA_FRAME_S), i, j, audible = 0;
	double sum, db;

	memset(lv, 0, sizeof(*lv));
	lv->peak_db = -140;
	if (rate <= 0 || frame == 0)
		return;
	lv->duration_s = (double)n / rate;
	for (i = 0; i + frame <= n; i += frame) {
		sum = 0;
		for (j = i; j < i + frame; j++)
			sum += (double)samples[j] * samples[j];
		/* Keeps digital silence finite: -140 dBFS. */
		db = 10 * log10(sum / (double)frame / (32768.0 * 32768.0) +
		    1e-14);
		if (db > lv->peak_db)
			lv->peak_db = db;
		if (db >= MEDIA_SPEECH_DB)
			audible++;
	}
	lv->audible_s = (double)(audible * frame) / rate;
}

bool
media_audible(const struct media_levels *lv)
{
	return lv->audible_s >= MEDIA_MIN_AUDIBLE_S;
}

bool
media_read_wav(const char *path, struct media_wav *wav, char *err,
    size_t errlen)
{
	struct wav_header h;
	struct stat st;
	unsigned char *raw = NULL;
	size_t i, n;
	FILE *fp;
	bool ok = false;

	memset(wav, 0, sizeof(*wav));
	if ((fp = fopen(path, "rb")) == NULL)
		return util_seterr(err, errlen, "%s: %s", path,
		    strerror(errno));
	if (!wav_header_read(fp, &h, err, errlen))
		goto out;
	/* 0xfffe is WAVE_FORMAT_EXTENSIBLE; bits and channels still tell. */
	if ((h.format != 1 && h.format != 0xfffe) || h.channels != 1 || h.bits != 16 || h.rate == 0) {
		util_seterr(err, errlen, "%s: not a mono 16-bit PCM WAV file "
		    "(format %u, %u channels, %u bits)", path, h.format,
		    h.channels, h.bits);
		goto out;
	}
	/* A header written by a program that was cut short may overstate. */
	if (fstat(fileno(fp), &st) == 0 && st.st_size > h.data_off &&
	    h.data_len > (unsigned long)(st.st_size - h.data_off))
		h.data_len = (unsigned long)(st.st_size - h.data_off);
	if (h.data_len > MEDIA_WAV_MAX_BYTES) {
		util_seterr(err, errlen, "%s: WAV data too large (%lu bytes)",
		    path, h.data_len);
		goto out;
	}
	n = h.data_len / 2;
	raw = xmalloc(n * 2);
	if (fseek(fp, h.data_off, SEEK_SET) == -1 ||
	    fread(raw, 2, n, fp) != n) {
		util_seterr(err, errlen, "%s: short read", path);
		goto out;
	}
	wav->samples = xmalloc(n * sizeof(int16_t));
	for (i = 0; i < n; i++)
		wav->samples[i] = (int16_t)le16(raw + 2 * i);
	wav->nsamples = n;
	wav->rate = (int)h.rate;
	ok = true;
out:
	free(raw);
	fclose(fp);
	return ok;
}

void
media_wav_free(struct media_wav *wav)
{
	if (wav == NULL)
		return;
	free(wav->samples);
	memset(wav, 0, sizeof(*wav));
}

static bool
probe_parse(const char *text, size_t len, struct media_info *info,
    const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *streams, *st, *fmt;
	const char *name;
	double stream_max = 0;
	size_t i;

	if ((root = json_loadb(text ? text : "", len, 0, &jerr)) == NULL) {
		log_warnx("media: ffprobe output unreadable path=%s error=\"%s\"",
		    path, jerr.text);
		return util_seterr(err, errlen, MEDIA_MSG_NOT_MEDIA);
	}
	streams = json_object_get(root, "streams");
	json_array_foreach(streams, i, st)
		probe_stream(st, info, &stream_max);
	fmt = json_object_get(root, "format");
	if ((name = json_string_value(json_object_get(fmt, "format_name"))))
		util_strlcpy(info->format_name, name, sizeof(info->format_name));
	info->duration_s = json_number_or_string(json_object_get(fmt,
	    "duration"));
	if (info->duration_s <= 0)
		info->duration_s = stream_max;
	probe_mime(info);
	json_decref(root);
	return true;
}

/* Records the first audio and the first real video stream. */
static void
probe_stream(json_t *st, struct media_info *info, double *stream_max)
{
	const char *type, *codec;
	json_t *disp;
	double d;

	type = json_string_value(json_object_get(st, "codec_type"));
	codec = json_string_value(json_object_get(st, "codec_name"));
	d = json_number_or_string(json_object_get(st, "duration"));
	if (d > *stream_max)
		*stream_max = d;
	if (type == NULL)
		return;
	if (strcmp(type, "audio") == 0 && !info->has_audio) {
		info->has_audio = true;
		util_strlcpy(info->audio_codec, codec ? codec : "",
		    sizeof(info->audio_codec));
		info->sample_rate = (int)json_number_or_string(
		    json_object_get(st, "sample_rate"));
		info->channels = (int)json_integer_value(
		    json_object_get(st, "channels"));
	} else if (strcmp(type, "video") == 0 && !info->has_video) {
		/* Cover art in a music file is not a video. */
		disp = json_object_get(st, "disposition");
		if (json_integer_value(json_object_get(disp, "attached_pic")))
			return;
		info->has_video = true;
		util_strlcpy(info->video_codec, codec ? codec : "",
		    sizeof(info->video_codec));
		info->width = (int)json_integer_value(json_object_get(st,
		    "width"));
		info->height = (int)json_integer_value(json_object_get(st,
		    "height"));
	}
}

/* ffprobe writes most numbers as strings ("22.000000"), some as numbers. */
static double
json_number_or_string(json_t *v)
{
	const char *s;
	char *end;
	double d;

	if (json_is_number(v))
		return json_number_value(v);
	if ((s = json_string_value(v)) == NULL)
		return 0;
	d = strtod(s, &end);
	return end == s ? 0 : d;
}

static bool
probe_check(const struct media_info *info, const struct media_limits *lim,
    char *err, size_t errlen)
{
	char have[64], limit[64];

	if (!info->has_audio)
		return util_seterr(err, errlen, MEDIA_MSG_NO_AUDIO);
	if (!known_codec(info->audio_codec))
		return util_seterr(err, errlen, MSG_BAD_AUDIO);
	if (info->has_video && !known_codec(info->video_codec))
		return util_seterr(err, errlen, MSG_BAD_VIDEO);
	if (info->duration_s <= 0)
		return util_seterr(err, errlen, MSG_EMPTY);
	if (lim && lim->max_duration_s > 0 &&
	    info->duration_s > lim->max_duration_s) {
		duration_words(info->duration_s, true, have, sizeof(have));
		duration_words(lim->max_duration_s, false, limit,
		    sizeof(limit));
		return util_seterr(err, errlen, "the recording is %s long; the "
		    "limit is %s", have, limit);
	}
	if (lim && info->duration_s < lim->min_duration_s) {
		duration_words(info->duration_s, false, have, sizeof(have));
		duration_words(lim->min_duration_s, false, limit,
		    sizeof(limit));
		return util_seterr(err, errlen, "the recording is only %s "
		    "long; the shortest we accept is %s", have, limit);
	}
	return true;
}

/* ffprobe names a stream it has no decoder for "unknown" (or nothing). */
static bool
known_codec(const char *name)
{
	return name[0] != '\0' && strcmp(name, "unknown") != 0 &&
	    strcmp(name, "none") != 0;
}

/*
 * The length of the first sound track, found by copying its packets to
 * nowhere (no decoding) and reading ffmpeg's progress report; 0 when that
 * fails. For files whose header gives no duration, as WebM written live
 * by a browser's MediaRecorder does not.
 */
static double
measure_duration(const struct ff_job *probe)
{
	static const char *const opts[] = { "-map", "0:a:0", "-c", "copy",
	    "-f", "null", "-progress", "pipe:1", "-", NULL };
	struct ff_job job = *probe;
	struct proc_result res;
	char why[512];
	const char *p, *last = NULL;
	double d = 0;

	job.prog = "ffmpeg";
	job.opts = opts;
	if (ff_run(&job, &res, why, sizeof(why)) && res.out.data) {
		for (p = res.out.data; (p = strstr(p, "out_time_us=")) != NULL;
		    p++)
			last = p + strlen("out_time_us=");
		if (last != NULL)
			d = strtod(last, NULL) / 1e6;
	}
	proc_result_free(&res);
	return d > 0 ? d : 0;
}

/*
 * "14 minutes", "2 minutes 5 seconds", "4.8 seconds". A length beside a
 * limit is rounded away from it (up when it is too long, down when too
 * short), so a message never reads "10 minutes long; the limit is 10
 * minutes".
 */
static void
duration_words(double s, bool up, char *out, size_t outlen)
{
	long whole, min, sec;

	if (s < 10) {
		s = up ? ceil(s * 10) / 10 : floor(s * 10) / 10;
		snprintf(out, outlen, "%.*f second%s", s == floor(s) ? 0 : 1,
		    s, s == 1 ? "" : "s");
		return;
	}
	whole = (long)(up ? ceil(s) : floor(s));
	min = whole / 60;
	sec = whole % 60;
	if (min == 0)
		snprintf(out, outlen, "%ld seconds", sec);
	else if (sec == 0)
		snprintf(out, outlen, "%ld minute%s", min, min == 1 ? "" : "s");
	else
		snprintf(out, outlen, "%ld minute%s %ld second%s", min,
		    min == 1 ? "" : "s", sec, sec == 1 ? "" : "s");
}

/* The MIME type a container and its streams amount to. */
static void
probe_mime(struct media_info *info)
{
	static const struct mime_map map[] = {
		{ "mov,mp4,m4a,3gp,3g2,mj2", "video/mp4", "audio/mp4" },
		{ "matroska,webm", "video/webm", "audio/webm" },
		{ "wav", NULL, "audio/wav" },
		{ "w64", NULL, "audio/x-w64" },
		{ "mp3", NULL, "audio/mpeg" },
		{ "ogg", "video/ogg", "audio/ogg" },
		{ "flac", NULL, "audio/flac" },
		{ "aac", NULL, "audio/aac" },
		{ "amr", NULL, "audio/amr" },
		{ "caf", NULL, "audio/x-caf" },
		{ "avi", "video/x-msvideo", "video/x-msvideo" },
		{ "asf", "video/x-ms-asf", "audio/x-ms-wma" },
		{ "flv", "video/x-flv", "video/x-flv" },
		{ "mpegts", "video/mp2t", "video/mp2t" },
		{ "mpeg", "video/mpeg", "audio/mpeg" },
	};
	const char *type = "application/octet-stream";
	size_t i;

	for (i = 0; i < ARRAY_LEN(map); i++) {
		if (strcmp(info->format_name, map[i].format) != 0)
			continue;
		type = info->has_video && map[i].video ? map[i].video :
		    map[i].audio;
		break;
	}
	/* WebM is Matroska restricted to VP8/VP9/AV1 and Vorbis/Opus. */
	if (strcmp(info->format_name, "matroska,webm") == 0 &&
	    (!in_list("opus,vorbis", info->audio_codec) ||
	    (info->has_video && !in_list("vp8,vp9,av1", info->video_codec))))
		type = info->has_video ? "video/x-matroska" :
		    "audio/x-matroska";
	util_strlcpy(info->mime, type, sizeof(info->mime));
}

/* Whether word is one of the comma-separated words of list. */
static bool
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = list; n > 0 && (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' ||
		    p[n] == '\0'))
			return true;
	return false;
}

/*
 * Runs an ffmpeg job that writes a WAV; on failure err gets the student's
 * words for it (the reason is in the log).
 */
static bool
ffmpeg_wav(const struct ff_job *job, struct proc_result *res,
    bool *transient, char *err, size_t errlen)
{
	char why[512];
	const char *stderr_text;

	if (ff_run(job, res, why, sizeof(why)))
		return true;
	if (res->timed_out) {
		*transient = true;	/* a busy machine, perhaps */
		return util_seterr(err, errlen, "we could not read the sound "
		    "track of this file in time (%.0f s)", ff_timeout(job));
	}
	/*
	 * Not the file's fault: the program could not start (fork, exec),
	 * was killed by something other than our deadline (the OOM killer),
	 * or had no room to write.
	 */
	stderr_text = res->err.data != NULL ? res->err.data : "";
	if (!res->started || res->term_signal != 0 ||
	    strstr(stderr_text, "No space left on device") != NULL) {
		*transient = true;
		return util_seterr(err, errlen, MSG_MACHINE);
	}
	if (job->strict)
		return media_fault_words(res, job->noun, false, transient, err,
		    errlen);
	return util_seterr(err, errlen, MSG_NO_TRACK);
}

/* The untrusted file's first sound track, decoded to a plain WAV. */
bool
media_decode_track(const char *in, const char *raw, int timeout_s,
    const char *strict_noun, bool *transient, char *err, size_t errlen)
{
	static const char *const opts[] = { "-map", "0:a:0", "-vn", NULL };
	struct ff_job job = { "ffmpeg", MEDIA_FORMATS, in, opts, raw,
	    timeout_s, 0, strict_noun != NULL, strict_noun };
	struct proc_result res;
	bool ok;

	ok = ffmpeg_wav(&job, &res, transient, err, errlen);
	/*
	 * A file cut short after its index (an mp4 whose index comes first)
	 * decodes "successfully" up to the cut: refuse it rather than
	 * transcribe half a recording.
	 */
	if (ok && res.err.data != NULL &&
	    strstr(res.err.data, "partial file") != NULL) {
		log_info("media: truncated path=%s", in);
		ok = util_seterr(err, errlen, MSG_TRUNCATED);
	}
	proc_result_free(&res);
	return ok;
}

bool
media_check_levels(const char *in, const char *raw, char *err, size_t errlen)
{
	struct media_wav wav;
	struct media_levels lv;
	char rerr[256];

	if (!media_read_wav(raw, &wav, rerr, sizeof(rerr))) {
		log_warnx("media: decoded track unreadable path=%s: %s", in,
		    rerr);
		return util_seterr(err, errlen, MSG_NO_TRACK);
	}
	media_measure(wav.samples, wav.nsamples, wav.rate, &lv);
	media_wav_free(&wav);
	log_info("media: levels path=%s duration_s=%.1f peak_db=%.1f "
	    "audible_s=%.1f", in, lv.duration_s, lv.peak_db, lv.audible_s);
	if (lv.duration_s <= 0)
		return util_seterr(err, errlen, MSG_EMPTY);
	if (!media_audible(&lv))
		return util_seterr(err, errlen, MEDIA_MSG_SILENT);
	return true;
}

/* Our own WAV, loudness-normalised, as 16 kHz mono 16-bit PCM. */
static bool
normalise(const char *raw, const char *out, int timeout_s, bool *transient,
    char *err, size_t errlen)
{
	static const char *const opts[] = { "-af", "dynaudnorm", NULL };
	struct ff_job job = { "ffmpeg", "wav", raw, opts, out, timeout_s, 0,
	    false, NULL };
	struct proc_result res;
	bool ok;

	ok = ffmpeg_wav(&job, &res, transient, err, errlen);
	proc_result_free(&res);
	return ok;
}

/*
 * Problems ffprobe would report less clearly. The path is the server's
 * own, so it goes to the log, not into the message.
 */
static bool
check_file(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		log_warn("media: %s", path);
		return util_seterr(err, errlen, "the uploaded file is missing "
		    "on the server (%s)", strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("media: %s is not a regular file", path);
		return util_seterr(err, errlen, "the uploaded file is not a "
		    "regular file on the server");
	}
	if (st.st_size == 0)
		return util_seterr(err, errlen, MEDIA_MSG_ZERO_BYTES);
	return true;
}

/*
 * Whether the file opens with an ISO media "ftyp" box, as every mp4, m4a
 * and mov written by a phone or browser does. (ffprobe also tries its
 * mp4 reader on any file named .mp4, so its complaint alone does not say
 * the file was an mp4.)
 */
static bool
starts_like_mp4(const char *path)
{
	unsigned char b[8];
	FILE *fp;
	bool yes;

	if ((fp = fopen(path, "rb")) == NULL)
		return false;
	yes = fread(b, 1, sizeof(b), fp) == sizeof(b) &&
	    memcmp(b + 4, "ftyp", 4) == 0;
	fclose(fp);
	return yes;
}

/*
 * Walks the RIFF chunks up to "data", leaving fp positioned anywhere.
 * Only the fields of "fmt " that the reader needs are kept.
 */
static bool
wav_header_read(FILE *fp, struct wav_header *h, char *err, size_t errlen)
{
	unsigned char b[16];
	unsigned long size;
	bool have_fmt = false;

	memset(h, 0, sizeof(*h));
	if (fread(b, 1, 12, fp) != 12 || memcmp(b, "RIFF", 4) != 0 ||
	    memcmp(b + 8, "WAVE", 4) != 0)
		return util_seterr(err, errlen, "not a WAV file");
	for (;;) {
		if (fread(b, 1, 8, fp) != 8)
			return util_seterr(err, errlen, "WAV file has no data");
		size = le32(b + 4);
		if (memcmp(b, "data", 4) == 0) {
			if (!have_fmt)
				return util_seterr(err, errlen,
				    "WAV data before its format");
			h->data_off = ftell(fp);
			h->data_len = size;
			return true;
		}
		if (memcmp(b, "fmt ", 4) == 0 && size >= 16) {
			if (fread(b, 1, 16, fp) != 16)
				return util_seterr(err, errlen,
				    "truncated WAV format");
			h->format = le16(b);
			h->channels = le16(b + 2);
			h->rate = le32(b + 4);
			h->bits = le16(b + 14);
			have_fmt = true;
			size -= 16;
		}
		/* Chunks are padded to an even size. */
		if (fseek(fp, (long)(size + (size & 1)), SEEK_CUR) == -1)
			return util_seterr(err, errlen, "truncated WAV file");
	}
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
