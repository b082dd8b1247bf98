/*
 * media: ffprobe and ffmpeg in child processes, and a small WAV reader
 * (see media.h).
 *
 * Both programs get "-protocol_whitelist file" and paths prefixed with
 * "file:", so a name that looks like an option or a URL is just a file;
 * and "-format_whitelist" admits only ordinary audio and video containers,
 * so an upload that is really a playlist (HLS, concat) cannot make them
 * read other files on the server.
 * Student-facing messages are decided here, in one place; the programs'
 * own messages go to the log.
 */
#include "media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "proc.h"
#include "util.h"

#define MEDIA_WAV_MAX_BYTES	(1024UL << 20)	/* ~9 hours at 16 kHz */
#define MEDIA_FSIZE_LIMIT	(1024UL << 20)	/* RLIMIT_FSIZE for ffmpeg */

#define MSG_NOT_MEDIA	"this file is not a video we can read"
#define MSG_NO_AUDIO	"this file has no sound track"
#define MSG_BAD_AUDIO	"this file's sound track is in a format we cannot read"
#define MSG_EMPTY	"this file contains no recording"
#define MSG_ZERO_BYTES	"this file is empty"

/* Demuxers we accept: what phones, browsers and desktop tools record. */
#define MEDIA_FORMATS	"mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv," \
			"mpegts,mpeg,wav,w64,mp3,ogg,flac,aac,amr,caf"

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
		    const char *, char *, size_t);
static bool	 check_file(const char *, char *, size_t);
static bool	 wav_header_read(FILE *, struct wav_header *, char *, size_t);
static uint32_t	 le32(const unsigned char *);
static uint16_t	 le16(const unsigned char *);

bool
media_probe(const char *path, const struct media_limits *lim,
    struct media_info *info, char *err, size_t errlen)
{
	struct proc_limits pl = { 0 };
	struct proc_result res;
	char perr[256], *target;
	bool ok = false;

	memset(info, 0, sizeof(*info));
	memset(&res, 0, sizeof(res));
	if (!check_file(path, err, errlen))
		return false;
	pl.timeout_s = lim && lim->timeout_s > 0 ? lim->timeout_s :
	    MEDIA_DEFAULT_TIMEOUT;
	pl.mem_bytes = lim && lim->mem_bytes > 0 ? lim->mem_bytes :
	    MEDIA_DEFAULT_MEM;
	target = xasprintf("file:%s", path);
	{
		const char *argv[] = { "ffprobe", "-v", "error",
		    "-protocol_whitelist", "file", "-format_whitelist",
		    MEDIA_FORMATS, "-print_format", "json",
		    "-show_format", "-show_streams", target, NULL };

		if (!proc_run(argv, &pl, &res, perr, sizeof(perr))) {
			log_info("media: probe failed path=%s reason=\"%s\"",
			    path, perr);
			if (res.started && res.exited)
				util_seterr(err, errlen, MSG_NOT_MEDIA);
			else
				util_seterr(err, errlen,
				    "we could not examine this file (%s)", perr);
			goto out;
		}
	}
	if (!probe_parse(res.out.data, res.out.len, info, path, err, errlen))
		goto out;
	ok = probe_check(info, lim, path, err, errlen);
out:
	proc_result_free(&res);
	free(target);
	return ok;
}

bool
media_extract_wav(const char *in, const char *out_wav, int timeout_s,
    char *err, size_t errlen)
{
	struct proc_limits pl = { 0 };
	struct proc_result res;
	struct wav_header h;
	char perr[256], *src, *tmp, *dst;
	FILE *fp;
	bool ok = false;

	if (!check_file(in, err, errlen))
		return false;
	pl.timeout_s = timeout_s > 0 ? timeout_s : MEDIA_DEFAULT_TIMEOUT;
	pl.mem_bytes = MEDIA_DEFAULT_MEM;
	pl.fsize_bytes = MEDIA_FSIZE_LIMIT;
	src = xasprintf("file:%s", in);
	tmp = xasprintf("%s.tmp", out_wav);
	dst = xasprintf("file:%s", tmp);
	{
		const char *argv[] = { "ffmpeg", "-nostdin", "-hide_banner",
		    "-loglevel", "error", "-protocol_whitelist", "file",
		    "-format_whitelist", MEDIA_FORMATS, "-y",
		    "-i", src, "-vn", "-ac", "1", "-ar", "16000",
		    "-c:a", "pcm_s16le", "-f", "wav", dst, NULL };

		if (!proc_run(argv, &pl, &res, perr, sizeof(perr))) {
			log_info("media: extract failed path=%s reason=\"%s\"",
			    in, perr);
			util_seterr(err, errlen,
			    "could not extract the sound track (%s)", perr);
			goto out;
		}
	}
	/* ffmpeg succeeds on a sound track with no samples: refuse that. */
	if ((fp = fopen(tmp, "rb")) == NULL) {
		util_seterr(err, errlen, "could not extract the sound track "
		    "(%s: %s)", tmp, strerror(errno));
		goto out;
	}
	ok = wav_header_read(fp, &h, err, errlen);
	fclose(fp);
	if (ok && h.data_len == 0)
		ok = util_seterr(err, errlen, MSG_EMPTY);
	if (ok && rename(tmp, out_wav) == -1)
		ok = util_seterr(err, errlen, "could not extract the sound "
		    "track (rename %s: %s)", out_wav, strerror(errno));
out:
	if (!ok)
		(void)unlink(tmp);
	proc_result_free(&res);
	free(src);
	free(tmp);
	free(dst);
	return ok;
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
		return util_seterr(err, errlen, MSG_NOT_MEDIA);
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
    const char *path, char *err, size_t errlen)
{
	if (!info->has_audio)
		return util_seterr(err, errlen, MSG_NO_AUDIO);
	if (info->audio_codec[0] == '\0')
		return util_seterr(err, errlen, MSG_BAD_AUDIO);
	if (info->duration_s <= 0)
		return util_seterr(err, errlen, MSG_EMPTY);
	if (lim && lim->max_duration_s > 0 &&
	    info->duration_s > lim->max_duration_s)
		return util_seterr(err, errlen, "this recording is %.0f "
		    "seconds long; the limit is %.0f seconds",
		    info->duration_s, lim->max_duration_s);
	return true;
}

/* Problems ffprobe would report less clearly. */
static bool
check_file(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return util_seterr(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return util_seterr(err, errlen, "%s is not a regular file",
		    path);
	if (st.st_size == 0)
		return util_seterr(err, errlen, MSG_ZERO_BYTES);
	return true;
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
