/*
 * media_check: the checks an upload passes at intake besides ffprobe's
 * (see media.h): what its first bytes say it is, where its container
 * ends, and a decoding pass over its streams with ffmpeg's "-xerror".
 *
 * The first bytes are looked at before any program opens the file, so a
 * picture, a playlist or a page gets words naming what it is, and a
 * playlist is never handed to ffmpeg at all (the format and protocol
 * whitelists of media_ff.c would stop it following one anyway).
 *
 * Trailing data after an mp4/mov or Matroska container is refused, not
 * stripped: no camera, phone or browser writes it, it is what a file
 * that is both a video and a web page (a polyglot) looks like, and
 * cutting it off would store something other than what the student sent.
 *
 * The decoding pass reads the whole sound track, which is what gets
 * transcribed (about a second for ten minutes of AAC), and only the
 * first video_s seconds of the picture, which is dearer to decode (a
 * 720p picture decodes at about 25 times real time here): damage further
 * into a long picture goes unnoticed, damage to its sound does not. The
 * sound decoded goes through the same level check as in preparation
 * (media_check_levels), so a silent recording is refused at the door.
 */
#include "media.h"
#include "media_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define SNIFF_BYTES	4096	/* of a file's start, for media_sniff() */
#define MKV_EBML_ID	0x1A45DFA3UL
#define MKV_SEGMENT_ID	0x18538067UL

#define MSG_DAMAGED	"the %s is damaged: %s"
#define MSG_RETRY	"the server could not check this file just now; " \
			"please upload it again in a moment"

static bool	 decode_video(const char *, int, int, bool *, char *, size_t);
static bool	 check_extent(const char *, const struct media_info *, char *,
		    size_t);
static enum media_extent iso_end(FILE *, long long);
static enum media_extent mkv_end(FILE *, long long);
static bool	 read_at(FILE *, long long, unsigned char *, size_t);
static int	 ebml_vint(FILE *, long long, bool, uint64_t *, bool *);
static bool	 iso_known_box(const unsigned char *);
static const unsigned char *skip_space(const unsigned char *,
		    const unsigned char *);
static bool	 starts_nocase(const unsigned char *, const unsigned char *,
		    const char *);
static bool	 has_nocase(const unsigned char *, const unsigned char *,
		    const char *);
static bool	 is_text(const unsigned char *, size_t);

bool
media_check(const char *path, const struct media_info *info,
    const char *scratch_wav, int timeout_s, int video_s, bool *transient,
    char *err, size_t errlen)
{
	const char *noun = info->has_video ? "video" : "recording";
	bool ok;

	*transient = false;
	if (!check_extent(path, info, err, errlen))
		return false;
	if (info->has_video && video_s > 0 &&
	    !decode_video(path, timeout_s, video_s, transient, err, errlen))
		return false;
	ok = media_decode_track(path, scratch_wav, timeout_s, noun, transient,
	    err, errlen) && media_check_levels(path, scratch_wav, err, errlen);
	(void)unlink(scratch_wav);
	return ok;
}

bool
media_check_kind(const char *path, char *err, size_t errlen)
{
	unsigned char head[SNIFF_BYTES];
	const char *words;
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return true;	/* ffprobe will say what is wrong */
	n = fread(head, 1, sizeof(head), fp);
	fclose(fp);
	if ((words = media_sniff_words(media_sniff(head, n))) == NULL)
		return true;
	return util_seterr(err, errlen, "%s", words);
}

enum media_sniffed
media_sniff(const unsigned char *head, size_t n)
{
	static const char *const heif[] = { "heic", "heix", "hevc", "heim",
	    "heis", "mif1", "msf1", "avif", "avis" };
	const unsigned char *end = head + n, *p;
	size_t i;

	if (n >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0)
		return MEDIA_SNIFF_PNG;
	if (n >= 3 && memcmp(head, "\xff\xd8\xff", 3) == 0)
		return MEDIA_SNIFF_JPEG;
	if (n >= 6 && (memcmp(head, "GIF87a", 6) == 0 ||
	    memcmp(head, "GIF89a", 6) == 0))
		return MEDIA_SNIFF_GIF;
	if (n >= 12 && memcmp(head, "RIFF", 4) == 0 &&
	    memcmp(head + 8, "WEBP", 4) == 0)
		return MEDIA_SNIFF_WEBP;
	if (n >= 12 && memcmp(head + 4, "ftyp", 4) == 0)
		for (i = 0; i < ARRAY_LEN(heif); i++)
			if (memcmp(head + 8, heif[i], 4) == 0)
				return MEDIA_SNIFF_HEIF;
	if (n >= 5 && memcmp(head, "%PDF-", 5) == 0)
		return MEDIA_SNIFF_PDF;
	if (!is_text(head, n))
		return MEDIA_SNIFF_NONE;
	p = skip_space(head, end);
	if (starts_nocase(p, end, "#EXTM3U"))
		return MEDIA_SNIFF_HLS;
	if (starts_nocase(p, end, "ffconcat version"))
		return MEDIA_SNIFF_CONCAT;
	if (starts_nocase(p, end, "[playlist]"))
		return MEDIA_SNIFF_PLS;
	if (starts_nocase(p, end, "<MPD") || (starts_nocase(p, end, "<?xml") &&
	    has_nocase(p, end, "<MPD")))
		return MEDIA_SNIFF_DASH;
	if (starts_nocase(p, end, "<!doctype html") ||
	    starts_nocase(p, end, "<html") || has_nocase(p, end, "<body"))
		return MEDIA_SNIFF_HTML;
	return MEDIA_SNIFF_TEXT;
}

const char *
media_sniff_words(enum media_sniffed k)
{
#define PICTURE(what) "this file is a picture (" what "), not a video; " \
	"please upload the recording itself"
#define PLAYLIST(what) "this file is a playlist (" what "): it only " \
	"points to recordings stored elsewhere; please upload the video " \
	"file itself"
	switch (k) {
	case MEDIA_SNIFF_NONE:
		return NULL;
	case MEDIA_SNIFF_PNG:
		return PICTURE("PNG");
	case MEDIA_SNIFF_JPEG:
		return PICTURE("JPEG");
	case MEDIA_SNIFF_GIF:
		return PICTURE("GIF");
	case MEDIA_SNIFF_WEBP:
		return PICTURE("WebP");
	case MEDIA_SNIFF_HEIF:
		return PICTURE("HEIC/AVIF");
	case MEDIA_SNIFF_HLS:
		return PLAYLIST("HLS, .m3u8");
	case MEDIA_SNIFF_CONCAT:
		return PLAYLIST("an ffconcat list");
	case MEDIA_SNIFF_DASH:
		return PLAYLIST("a DASH manifest, .mpd");
	case MEDIA_SNIFF_PLS:
		return PLAYLIST(".pls");
	case MEDIA_SNIFF_HTML:
		return "this file is a web page (HTML), not a video; if the "
		    "video is on a page, save the video file itself and "
		    "upload that";
	case MEDIA_SNIFF_PDF:
		return "this file is a document (PDF), not a video";
	case MEDIA_SNIFF_TEXT:
		return "this file is text, not a video";
	}
#undef PICTURE
#undef PLAYLIST
	return NULL;
}

enum media_extent
media_container_end(FILE *fp, long long size, const char *format_name)
{
	if (strcmp(format_name, "mov,mp4,m4a,3gp,3g2,mj2") == 0)
		return iso_end(fp, size);
	if (strcmp(format_name, "matroska,webm") == 0)
		return mkv_end(fp, size);
	return MEDIA_EXTENT_EXACT;
}

bool
media_fault_words(const struct proc_result *res, const char *noun,
    bool picture, bool *transient, char *err, size_t errlen)
{
	const char *text = res->err.data != NULL ? res->err.data : "";
	char said[160];

	if (!res->started || res->timed_out || res->term_signal != 0) {
		*transient = true;
		return util_seterr(err, errlen, MSG_RETRY);
	}
	switch (media_ff_fault(text)) {
	case MEDIA_FAULT_MACHINE:
		*transient = true;
		return util_seterr(err, errlen, MSG_RETRY);
	case MEDIA_FAULT_TRUNCATED:
		return util_seterr(err, errlen, MSG_TRUNCATED);
	case MEDIA_FAULT_CODEC:
		return util_seterr(err, errlen, picture ? MSG_BAD_VIDEO :
		    MSG_BAD_AUDIO);
	case MEDIA_FAULT_NONE:
	case MEDIA_FAULT_DAMAGED:
		break;
	}
	if (media_ff_summary(text, said, sizeof(said)) == 0)
		util_strlcpy(said, "it cannot be decoded", sizeof(said));
	return util_seterr(err, errlen, MSG_DAMAGED, noun, said);
}

/* The first video_s seconds of the first picture, decoded to nowhere. */
static bool
decode_video(const char *in, int timeout_s, int video_s, bool *transient,
    char *err, size_t errlen)
{
	char secs[16], why[512];
	const char *opts[] = { "-map", "0:v:0", "-t", secs, "-f", "null", "-",
	    NULL };
	struct ff_job job = { "ffmpeg", MEDIA_FORMATS, in, opts, NULL,
	    timeout_s, 0, true, "video" };
	struct proc_result res;
	bool ok;

	snprintf(secs, sizeof(secs), "%d", video_s);
	if (!(ok = ff_run(&job, &res, why, sizeof(why))))
		media_fault_words(&res, "video", true, transient, err, errlen);
	else if (media_ff_fault(res.err.data) == MEDIA_FAULT_TRUNCATED)
		ok = util_seterr(err, errlen, MSG_TRUNCATED);
	proc_result_free(&res);
	return ok;
}

static bool
check_extent(const char *path, const struct media_info *info, char *err,
    size_t errlen)
{
	enum media_extent e;
	long long size;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		log_warn("media: %s", path);
		return util_seterr(err, errlen, "the uploaded file is missing "
		    "on the server (%s)", strerror(errno));
	}
	size = fseeko(fp, 0, SEEK_END) == 0 ? (long long)ftello(fp) : -1;
	e = size > 0 ? media_container_end(fp, size, info->format_name) :
	    MEDIA_EXTENT_EXACT;
	fclose(fp);
	if (e == MEDIA_EXTENT_SHORT)
		return util_seterr(err, errlen, MSG_TRUNCATED);
	if (e == MEDIA_EXTENT_TRAILING) {
		log_info("media: data after the container path=%s", path);
		return util_seterr(err, errlen, MSG_TRAILING);
	}
	return true;
}

/*
 * ISO media files are a sequence of boxes: a 32-bit size (1: a 64-bit one
 * follows the type; 0: up to the end of the file) and a four-letter type.
 * Bytes that do not parse as a box after the index (moov) are trailing
 * data; a box of a known type that runs past the end means the file was
 * cut short. Before moov nothing is concluded: ffprobe already judged.
 */
static enum media_extent
iso_end(FILE *fp, long long size)
{
	unsigned char b[16];
	unsigned long long box;
	long long off = 0;
	bool moov = false;
	int hdr, i;

	while (off < size) {
		if (size - off < 8)
			return moov ? MEDIA_EXTENT_TRAILING : MEDIA_EXTENT_EXACT;
		if (!read_at(fp, off, b, 8))
			return MEDIA_EXTENT_EXACT;
		box = (unsigned long long)b[0] << 24 | (unsigned long long)b[1]
		    << 16 | (unsigned long long)b[2] << 8 | b[3];
		hdr = 8;
		if (box == 1) {
			if (size - off < 16 || !read_at(fp, off + 8, b + 8, 8))
				return moov ? MEDIA_EXTENT_TRAILING :
				    MEDIA_EXTENT_EXACT;
			for (box = 0, i = 8; i < 16; i++)
				box = box << 8 | b[i];
			hdr = 16;
		} else if (box == 0)
			box = (unsigned long long)(size - off);
		for (i = 4; i < 8; i++)
			if (!isprint(b[i]))
				break;
		if (i < 8 || box < (unsigned long long)hdr)
			return moov ? MEDIA_EXTENT_TRAILING : MEDIA_EXTENT_EXACT;
		if (box > (unsigned long long)(size - off)) {
			if (iso_known_box(b + 4))
				return MEDIA_EXTENT_SHORT;
			return moov ? MEDIA_EXTENT_TRAILING : MEDIA_EXTENT_EXACT;
		}
		if (memcmp(b + 4, "moov", 4) == 0)
			moov = true;
		off += (long long)box;
	}
	return MEDIA_EXTENT_EXACT;
}

/*
 * A Matroska file is an EBML header element and one Segment. A Segment
 * of unknown size (a browser's live recording) ends where the file does
 * by definition; a sized one must end exactly there.
 */
static enum media_extent
mkv_end(FILE *fp, long long size)
{
	uint64_t id, len;
	long long off = 0, end;
	bool unknown;
	int n;

	if ((n = ebml_vint(fp, off, false, &id, &unknown)) <= 0 ||
	    id != MKV_EBML_ID)
		return MEDIA_EXTENT_EXACT;
	off += n;
	if ((n = ebml_vint(fp, off, true, &len, &unknown)) <= 0 || unknown)
		return MEDIA_EXTENT_EXACT;
	off += n + (long long)len;
	if ((n = ebml_vint(fp, off, false, &id, &unknown)) <= 0 ||
	    id != MKV_SEGMENT_ID)
		return MEDIA_EXTENT_EXACT;
	off += n;
	if ((n = ebml_vint(fp, off, true, &len, &unknown)) <= 0 || unknown)
		return MEDIA_EXTENT_EXACT;
	off += n;
	if (len > (uint64_t)(size - off))
		return MEDIA_EXTENT_SHORT;
	end = off + (long long)len;
	return end < size ? MEDIA_EXTENT_TRAILING : MEDIA_EXTENT_EXACT;
}

static bool
read_at(FILE *fp, long long off, unsigned char *b, size_t n)
{
	return fseeko(fp, (off_t)off, SEEK_SET) == 0 && fread(b, 1, n, fp) == n;
}

/*
 * An EBML variable-length integer at off: its length in bytes (0 when
 * unreadable). An element ID keeps its length marker; a size (value)
 * loses it, and *unknown says all its bits were ones.
 */
static int
ebml_vint(FILE *fp, long long off, bool value, uint64_t *v, bool *unknown)
{
	unsigned char b[8];
	int len, i;
	uint64_t ones;

	if (!read_at(fp, off, b, 1) || b[0] == 0)
		return 0;
	for (len = 1; !(b[0] & (0x80 >> (len - 1))); len++)
		;
	if (len > 1 && !read_at(fp, off + 1, b + 1, (size_t)len - 1))
		return 0;
	*v = value ? b[0] & (0xff >> len) : b[0];
	for (i = 1; i < len; i++)
		*v = *v << 8 | b[i];
	ones = (1ULL << (7 * len)) - 1;
	*unknown = value && *v == ones;
	return len;
}

/* Top-level box types of the files phones, cameras and tools write. */
static bool
iso_known_box(const unsigned char *type)
{
	static const char *const known[] = { "ftyp", "moov", "mdat", "free",
	    "skip", "wide", "moof", "mfra", "styp", "sidx", "uuid", "meta",
	    "pdin", "emsg", "prft", "ssix", "pnot", "junk" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(known); i++)
		if (memcmp(type, known[i], 4) == 0)
			return true;
	return false;
}

/* Past a UTF-8 byte order mark and white space. */
static const unsigned char *
skip_space(const unsigned char *p, const unsigned char *end)
{
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && isspace(*p))
		p++;
	return p;
}

static bool
starts_nocase(const unsigned char *p, const unsigned char *end,
    const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && strncasecmp((const char *)p, word,
	    n) == 0;
}

static bool
has_nocase(const unsigned char *p, const unsigned char *end,
    const char *word)
{
	for (; p < end; p++)
		if (starts_nocase(p, end, word))
			return true;
	return false;
}

/*
 * Valid UTF-8 without control characters other than white space; a
 * sequence cut by the end of the sample counts as text.
 */
static bool
is_text(const unsigned char *p, size_t n)
{
	size_t i = 0, len, k;

	if (n == 0)
		return false;
	while (i < n) {
		if (p[i] < 0x80) {
			if (p[i] == 0 || p[i] == 0x7f || (p[i] < 0x20 &&
			    strchr("\t\n\r\f", p[i]) == NULL))
				return false;
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			len = 2;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			len = 3;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			len = 4;
		else
			return false;
		for (k = 1; k < len && i + k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}
