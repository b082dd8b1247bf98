/*
 * media_impl.h: what media.c (probe, extraction, levels), media_ff.c
 * (running ffprobe and ffmpeg, reading what they said) and media_check.c
 * (the intake checks) share. Not for other modules: they use media.h.
 */
#ifndef INTROEVAL_MEDIA_IMPL_H
#define INTROEVAL_MEDIA_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"

#define MEDIA_FSIZE_LIMIT	(1024UL << 20)	/* RLIMIT_FSIZE for ffmpeg */

/* Demuxers we accept: what phones, browsers and desktop tools record. */
#define MEDIA_FORMATS	"mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv," \
			"mpegts,mpeg,wav,w64,mp3,ogg,flac,aac,amr,caf"

#define MSG_BAD_AUDIO	"this file's sound track is in a format we cannot read"
#define MSG_BAD_VIDEO	"this file's picture is in a format we cannot play"
#define MSG_EMPTY	"this file contains no recording"
#define MSG_TRUNCATED	"this file is cut short: it ends before the " \
			"recording does (was the copy or upload interrupted?)"
#define MSG_NO_TRACK	"we could not read the sound track of this file"
#define MSG_TRAILING	"this file has something else attached after the " \
			"end of the recording; please upload the recording " \
			"as your camera or phone saved it"
/* A failure of the machine, not the file: it is tried again. */
#define MSG_MACHINE	"the server could not prepare this recording's sound " \
	"(it will try again)"

/*
 * One run of ffmpeg or ffprobe (ff_run): the program reads in, as a file
 * of one of formats; opts follow the input. With wav_out set, ffmpeg
 * writes 16 kHz mono 16-bit PCM WAV there, replacing any file. strict
 * adds "-xerror": the first damaged packet or frame ends the run with an
 * error instead of being concealed, and the words for that failure call
 * the file noun ("video", "recording").
 */
struct ff_job {
	const char	*prog;		/* "ffmpeg" or "ffprobe" */
	const char	*formats;	/* -format_whitelist */
	const char	*in;
	const char *const *opts;	/* NULL-terminated; NULL: none */
	const char	*wav_out;	/* NULL: no output file */
	double		 timeout_s;	/* <= 0: MEDIA_DEFAULT_TIMEOUT */
	unsigned long	 mem_bytes;	/* 0: MEDIA_DEFAULT_MEM */
	bool		 strict;
	const char	*noun;		/* with strict */
};

/*
 * Runs a job, the one way the media module runs either program; res is
 * filled in either way and the caller frees it. On failure the reason is
 * logged and put in why, with the program's last line of stderr.
 */
bool	 ff_run(const struct ff_job *, struct proc_result *res, char *why,
	    size_t whylen);
double	 ff_timeout(const struct ff_job *);

/*
 * Decodes in's first sound track to a WAV at raw (see media.c). With
 * strict_noun set, damage ends it and is refused in words calling the
 * file that (the intake check); with NULL, damage is concealed
 * (preparation, also of files accepted before the check existed).
 */
bool	 media_decode_track(const char *in, const char *raw, int timeout_s,
	    const char *strict_noun, bool *transient, char *err,
	    size_t errlen);
/*
 * The level check, the one verdict on silence at intake and in
 * preparation: refuses a decoded track (a WAV at raw) that is empty or
 * holds too little sound; logs its levels under in's name.
 */
bool	 media_check_levels(const char *in, const char *raw, char *err,
	    size_t errlen);
/*
 * Refuses a file whose first bytes show it is a picture, a playlist, a
 * web page or text (media_sniff), in words naming what it is.
 */
bool	 media_check_kind(const char *path, char *err, size_t errlen);

/*
 * The student's words for a failed strict run (media_ff_fault() on its
 * stderr): damaged ("the <noun> is damaged: ..."), cut short, a codec we
 * cannot decode (of the picture, or else of the sound). *transient is set when the
 * machine failed rather than the file. Always returns false.
 */
bool	 media_fault_words(const struct proc_result *, const char *noun,
	    bool picture, bool *transient, char *err, size_t errlen);

#endif
