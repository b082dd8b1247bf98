/*
 * media: what is in an uploaded file, and its sound track as a WAV.
 *
 * Owns every verdict on an upload's content and the words a student reads
 * about it: a file's type is decided by its content (ffprobe's demuxer),
 * never by its name or the browser's MIME type. Untrusted files are only
 * ever opened by the ffprobe and ffmpeg programs in a child process
 * (proc.h) with a time limit and a memory limit, never decoded
 * in-process; only the local file protocol is allowed, so a playlist
 * cannot make them fetch other files or URLs. The WAV reader parses only
 * the 16 kHz mono 16-bit files media_extract_wav() writes.
 */
#ifndef INTROEVAL_MEDIA_H
#define INTROEVAL_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_DEFAULT_TIMEOUT	30.0		/* seconds, for ffprobe */
#define MEDIA_DEFAULT_MEM	(1024UL << 20)	/* RLIMIT_AS for ffprobe/ffmpeg */
#define MEDIA_WAV_RATE		16000

/*
 * Audio quieter than MEDIA_SPEECH_DB (RMS of a 20 ms frame, dB below full
 * scale) is not speech we could hear; a recording needs at least
 * MEDIA_MIN_AUDIBLE_S of louder frames. Ordinary speech into a laptop
 * microphone measures -35 to -15 dBFS; a muted or unplugged one -70 or
 * below.
 */
#define MEDIA_SPEECH_DB		-50.0
#define MEDIA_MIN_AUDIBLE_S	0.5

/* Student-facing verdicts that tests and other modules compare with. */
#define MEDIA_MSG_NOT_MEDIA	"this file is not a video we can read"
#define MEDIA_MSG_NO_AUDIO	"this file has no sound track"
#define MEDIA_MSG_ZERO_BYTES	"this file is empty"
#define MEDIA_MSG_SILENT	"we could not hear speech in this recording"

/*
 * Zero fields take the defaults above; max_duration_s 0 = no upper
 * limit, min_duration_s 0 = no lower one.
 */
struct media_limits {
	double		 timeout_s;
	unsigned long	 mem_bytes;
	double		 min_duration_s;
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
	char		 mime[32];	/* from the content: "video/mp4" */
};

/* How loud a sound track is (media_measure). */
struct media_levels {
	double		 duration_s;
	double		 peak_db;	/* loudest 20 ms frame, dBFS */
	double		 audible_s;	/* frames at MEDIA_SPEECH_DB or above */
};

/* Samples of a mono 16-bit WAV file. */
struct media_wav {
	int16_t		*samples;
	size_t		 nsamples;
	int		 rate;
};

/*
 * Examines path with ffprobe. Succeeds only for a file in an accepted
 * container (mp4/mov/m4a, webm/mkv, mp3, wav, ogg, flac and a few more)
 * with a decodable sound track and a duration within lim's bounds; the
 * fields are filled in as far as ffprobe got either way. The error
 * messages are plain words meant for the student ("this file is not a
 * video we can read", "this file has no sound track", "the recording is
 * 14 minutes long; the limit is 10 minutes"); ffprobe's own message is
 * logged. lim may be NULL.
 */
bool	 media_probe(const char *path, const struct media_limits *lim,
	    struct media_info *info, char *err, size_t errlen);

/*
 * Writes the sound track of in as a 16 kHz mono 16-bit PCM WAV file at
 * out_wav, loudness-normalised (ffmpeg's dynaudnorm). Fails with
 * MEDIA_MSG_SILENT when the track, before normalisation, holds less than
 * MEDIA_MIN_AUDIBLE_S of sound at MEDIA_SPEECH_DB or louder, and with
 * plain words for a track that is empty or cut short. Two ffmpeg runs,
 * each under timeout_s (<= 0: MEDIA_DEFAULT_TIMEOUT): the first decodes
 * the untrusted file to "<out_wav>.raw.tmp", the second normalises that
 * into "<out_wav>.tmp", which is renamed into place only when complete;
 * the temporary files are removed on every path. *transient says whether
 * a failure was the machine's (fork, timeout, a killed or starved
 * program, a full disk: worth another try) rather than the file's.
 */
bool	 media_extract_wav(const char *in, const char *out_wav, int timeout_s,
	    bool *transient, char *err, size_t errlen);

/* Measures 16-bit samples in 20 ms frames. */
void	 media_measure(const int16_t *samples, size_t n, int rate,
	    struct media_levels *);
/* True when the levels hold enough sound to be worth transcribing. */
bool	 media_audible(const struct media_levels *);

/* Reads a mono 16-bit PCM WAV file into memory (any sample rate). */
bool	 media_read_wav(const char *path, struct media_wav *wav, char *err,
	    size_t errlen);
void	 media_wav_free(struct media_wav *);

#endif
