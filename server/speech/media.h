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
#include <stdio.h>

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
#define MEDIA_MSG_SILENT	"the recording is silent: we could not hear " \
			"speech in it (was the microphone muted?)"

/* What ffmpeg's complaints about a file it was decoding amount to. */
enum media_fault {
	MEDIA_FAULT_NONE,	/* it said nothing */
	MEDIA_FAULT_TRUNCATED,	/* the file ends inside a packet */
	MEDIA_FAULT_CODEC,	/* no decoder for a stream */
	MEDIA_FAULT_MACHINE,	/* no memory or disk: not the file's fault */
	MEDIA_FAULT_DAMAGED,	/* anything else: the streams are corrupt */
};

/* What a file's first bytes show it to be, when not audio or video. */
enum media_sniffed {
	MEDIA_SNIFF_NONE,	/* nothing we recognise: ask ffprobe */
	MEDIA_SNIFF_PNG,
	MEDIA_SNIFF_JPEG,
	MEDIA_SNIFF_GIF,
	MEDIA_SNIFF_WEBP,
	MEDIA_SNIFF_HEIF,	/* a phone's photo (HEIC, AVIF) */
	MEDIA_SNIFF_HLS,	/* an .m3u8 playlist */
	MEDIA_SNIFF_CONCAT,	/* an ffconcat list */
	MEDIA_SNIFF_DASH,	/* an .mpd manifest */
	MEDIA_SNIFF_PLS,	/* a .pls playlist */
	MEDIA_SNIFF_HTML,	/* a web page */
	MEDIA_SNIFF_PDF,
	MEDIA_SNIFF_TEXT,	/* any other text */
};

/* Where a container ends compared with its file (media_container_end). */
enum media_extent {
	MEDIA_EXTENT_EXACT,	/* at the end of the file, or not known */
	MEDIA_EXTENT_TRAILING,	/* something follows it */
	MEDIA_EXTENT_SHORT,	/* the file ends before it does */
};

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
 * The decoding check at intake, after media_probe() accepted path: the
 * container must end where the file does (mp4/mov and Matroska: trailing
 * data is refused, not stripped), the whole sound track must decode
 * without an error ("-xerror") into scratch_wav (removed again) and pass
 * the level check media_extract_wav() applies, and the first video_s
 * seconds of the picture (0: none) must decode too. err gets the
 * student's words ("the video is damaged: h264: Invalid NAL unit size",
 * MEDIA_MSG_SILENT, ...); *transient says the machine failed instead
 * (a timeout, no memory or disk), worth another try.
 */
bool	 media_check(const char *path, const struct media_info *info,
	    const char *scratch_wav, int timeout_s, int video_s,
	    bool *transient, char *err, size_t errlen);

/* The first n bytes of a file, recognised (pure). */
enum media_sniffed media_sniff(const unsigned char *head, size_t n);
/* The student's words for a sniffed kind (NULL for MEDIA_SNIFF_NONE). */
const char *media_sniff_words(enum media_sniffed);

/*
 * Walks the top level of an mp4/mov (ISO media boxes) or Matroska file
 * (EBML header and Segment sizes) read from fp, size bytes long; other
 * formats (format_name from ffprobe) are MEDIA_EXTENT_EXACT.
 */
enum media_extent media_container_end(FILE *fp, long long size,
	    const char *format_name);

/* ffmpeg's stderr after a failed decode, classified (pure). */
enum media_fault media_ff_fault(const char *stderr_text);
/*
 * The line of ffmpeg's stderr that says what was wrong, cleaned up for a
 * student: no addresses, no paths, printable ASCII. Returns its length.
 */
size_t	 media_ff_summary(const char *stderr_text, char *out, size_t outlen);

/*
 * Writes the sound track of in as a 16 kHz mono 16-bit PCM WAV file at
 * out_wav, loudness-normalised (ffmpeg's dynaudnorm). Fails with
 * MEDIA_MSG_SILENT when the track, before normalisation, holds less than
 * MEDIA_MIN_AUDIBLE_S of sound at MEDIA_SPEECH_DB or louder, and with
 * plain words for a track that is empty or cut short. Two ffmpeg runs,
 * each under timeout_s (<= 0: MEDIA_DEFAULT_TIMEOUT): the first decodes
 * the untrusted file to "<out_wav>.N.raw.tmp", the second normalises that
 * into "<out_wav>.N.tmp" (N: 8 hex digits, new for each call, so two
 * preparations of one file never share a scratch file), which is renamed
 * into place only when complete; the temporary files are removed on
 * every path. *transient says whether
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
