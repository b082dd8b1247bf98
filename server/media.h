/*
 * media: what is in an uploaded file, and its sound track as a WAV.
 *
 * Untrusted files are only ever opened by the ffprobe and ffmpeg programs
 * in a child process (proc.h) with a time limit and a memory limit, never
 * decoded in-process; only the local file protocol is allowed, so a
 * playlist cannot make them fetch other files or URLs. The WAV reader
 * parses only the 16 kHz mono 16-bit files media_extract_wav() writes.
 */
#ifndef INTROEVAL_MEDIA_H
#define INTROEVAL_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_DEFAULT_TIMEOUT	30.0		/* seconds, for ffprobe */
#define MEDIA_DEFAULT_MEM	(1024UL << 20)	/* RLIMIT_AS for ffprobe/ffmpeg */
#define MEDIA_WAV_RATE		16000

/* Zero fields take the defaults above; max_duration_s 0 = no limit. */
struct media_limits {
	double		 timeout_s;
	unsigned long	 mem_bytes;
	double		 max_duration_s;
};

struct media_info {
	double		 duration_s;
	bool		 has_audio;
	bool		 has_video;
	char		 format_name[64];	/* ffprobe's, e.g. "mov,mp4,..." */
	char		 audio_codec[32];	/* first audio stream's */
	int		 sample_rate;
	int		 channels;
	char		 video_codec[32];	/* first video stream's */
	int		 width;
	int		 height;
};

/* Samples of a mono 16-bit WAV file. */
struct media_wav {
	int16_t		*samples;
	size_t		 nsamples;
	int		 rate;
};

/*
 * Examines path with ffprobe. Succeeds only for a file with a decodable
 * sound track and a positive duration within lim->max_duration_s; the
 * fields are filled in as far as ffprobe got either way. The error
 * messages are plain words meant for the student ("this file is not a
 * video we can read", "this file has no sound track"); ffprobe's own
 * message is logged. lim may be NULL.
 */
bool	 media_probe(const char *path, const struct media_limits *lim,
	    struct media_info *info, char *err, size_t errlen);

/*
 * Writes the sound track of in as a 16 kHz mono 16-bit PCM WAV file at
 * out_wav. ffmpeg writes "<out_wav>.tmp", which is renamed into place
 * only when complete (and removed on failure). timeout_s <= 0 means
 * MEDIA_DEFAULT_TIMEOUT.
 */
bool	 media_extract_wav(const char *in, const char *out_wav, int timeout_s,
	    char *err, size_t errlen);

/* Reads a mono 16-bit PCM WAV file into memory (any sample rate). */
bool	 media_read_wav(const char *path, struct media_wav *wav, char *err,
	    size_t errlen);
void	 media_wav_free(struct media_wav *);

#endif
