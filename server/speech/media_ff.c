/*
 * media_ff: running ffprobe and ffmpeg on untrusted files, and reading
 * what ffmpeg said about a file it could not decode.
 *
 * Every run of either program goes through ff_run(): ffmpeg gets
 * "-nostdin", both get "-protocol_whitelist file" and paths prefixed with
 * "file:", so a name that looks like an option or a URL is just a file;
 * and "-format_whitelist" admits only ordinary audio and video containers,
 * so an upload that is really a playlist (HLS, concat) cannot make them
 * read other files on the server. The same time limit and resource
 * limits apply to every run, and a failure is logged in one shape, with
 * the program's last line of stderr (its verdict; the first is often a
 * demuxer's aside such as "moov atom not found").
 *
 * media_ff_fault() and media_ff_summary() are pure: they turn ffmpeg's
 * stderr into a kind of fault and a short line fit for a student (no
 * addresses, no server paths), and are unit-tested on captured output.
 */
#include "media.h"
#include "media_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

#define FF_ARGV_MAX	40			/* arguments of one run */

/* An argument vector being built. */
struct ff_argv {
	const char	*v[FF_ARGV_MAX];
	size_t		 n;
};

static void	 ff_argv_build(const struct ff_job *, const char *,
		    const char *, struct ff_argv *);
static void	 ff_argv_add(struct ff_argv *, const char *);
static void	 ff_argv_addv(struct ff_argv *, const char *const *);
static void	 ff_reason(const struct proc_result *, char *, size_t);
static bool	 line_has(const char *, size_t, const char *);
static size_t	 clean_line(const char *, size_t, char *, size_t);

/*
 * Runs a job, the one way media.c runs either program: no standard input
 * (/dev/null from proc_run(), and ffmpeg's own "-nostdin"), only local
 * files, the job's time and memory limits and MEDIA_FSIZE_LIMIT. res is
 * filled in either way; the caller frees it. On failure the reason is
 * logged and put in why, with the program's last line of stderr.
 */
bool
ff_run(const struct ff_job *job, struct proc_result *res, char *why,
    size_t whylen)
{
	struct proc_limits pl = { 0 };
	struct ff_argv argv;
	char *src = xasprintf("file:%s", job->in), *dst = NULL;
	bool ok;

	if (job->wav_out != NULL)
		dst = xasprintf("file:%s", job->wav_out);
	ff_argv_build(job, src, dst, &argv);
	pl.timeout_s = ff_timeout(job);
	pl.mem_bytes = job->mem_bytes > 0 ? job->mem_bytes : MEDIA_DEFAULT_MEM;
	pl.fsize_bytes = MEDIA_FSIZE_LIMIT;
	if (!(ok = proc_run(argv.v, &pl, res, why, whylen))) {
		ff_reason(res, why, whylen);
		log_info("media: %s failed path=%s reason=\"%s\"", job->prog,
		    job->in, why);
	}
	free(src);
	free(dst);
	return ok;
}

/* The arguments every run gets, around the job's own. */
static void
ff_argv_build(const struct ff_job *job, const char *src, const char *dst,
    struct ff_argv *argv)
{
	static const char *const common[] = { "-hide_banner", "-loglevel",
	    "error", "-protocol_whitelist", "file", "-format_whitelist", NULL };
	static const char *const wav[] = { "-ac", "1", "-ar", "16000",
	    "-c:a", "pcm_s16le", "-f", "wav", NULL };

	argv->n = 0;
	ff_argv_add(argv, job->prog);
	/* ffprobe has no -nostdin (and never reads standard input). */
	if (strcmp(job->prog, "ffmpeg") == 0)
		ff_argv_add(argv, "-nostdin");
	if (job->strict)
		ff_argv_add(argv, "-xerror");
	ff_argv_addv(argv, common);
	ff_argv_add(argv, job->formats);
	if (dst != NULL)
		ff_argv_add(argv, "-y");
	ff_argv_add(argv, "-i");
	ff_argv_add(argv, src);
	ff_argv_addv(argv, job->opts);
	if (dst != NULL) {
		ff_argv_addv(argv, wav);
		ff_argv_add(argv, dst);
	}
}

/* Appends one argument, keeping the vector NULL-terminated. */
static void
ff_argv_add(struct ff_argv *argv, const char *arg)
{
	ASSERT(argv->n + 1 < FF_ARGV_MAX);
	argv->v[argv->n++] = arg;
	argv->v[argv->n] = NULL;
}

/* Appends a NULL-terminated list; NULL is an empty one. */
static void
ff_argv_addv(struct ff_argv *argv, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		ff_argv_add(argv, *list);
}

double
ff_timeout(const struct ff_job *job)
{
	return job->timeout_s > 0 ? job->timeout_s : MEDIA_DEFAULT_TIMEOUT;
}

/*
 * proc_run()'s reason quotes the first line of stderr, often a demuxer's
 * aside; the last is the program's verdict. When the program exited with
 * an error after writing more than one line, the last is added.
 */
static void
ff_reason(const struct proc_result *res, char *why, size_t whylen)
{
	const char *s = buf_cstr(&res->err), *end, *line;
	size_t n = strlen(why);

	if (!res->started || !res->exited || res->exit_status == 0)
		return;
	s += strspn(s, " \t\r\n");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	for (line = end; line > s && line[-1] != '\n' && line[-1] != '\r';
	    line--)
		;
	if (line > s && n + 1 < whylen)
		snprintf(why + n, whylen - n, " (last line: %.*s)",
		    (int)(end - line), line);
}


enum media_fault
media_ff_fault(const char *text)
{
	size_t n;

	if (text == NULL)
		return MEDIA_FAULT_NONE;
	text += strspn(text, " \t\r\n");
	if ((n = strlen(text)) == 0)
		return MEDIA_FAULT_NONE;
	if (line_has(text, n, "No space left on device") ||
	    line_has(text, n, "Cannot allocate memory"))
		return MEDIA_FAULT_MACHINE;
	/* The demuxer met the end of the file inside a packet. */
	if (line_has(text, n, ": partial file"))
		return MEDIA_FAULT_TRUNCATED;
	if ((line_has(text, n, "Decoder (codec") &&
	    line_has(text, n, "not found")) ||
	    line_has(text, n, "Unsupported codec"))
		return MEDIA_FAULT_CODEC;
	return MEDIA_FAULT_DAMAGED;
}

/*
 * A decoder's or a parser's own line names what was wrong ("[h264 @ 0x..]
 * Invalid NAL unit size"); ffmpeg's closing lines only say that it gave
 * up. The first such line is the summary, else the first line at all.
 */
size_t
media_ff_summary(const char *text, char *out, size_t outlen)
{
	const char *p, *eol, *pick = NULL, *first = NULL;
	size_t len = 0, pick_len = 0;

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	for (p = text != NULL ? text : ""; *p != '\0'; p = eol) {
		eol = p + strcspn(p, "\r\n");
		len = (size_t)(eol - p);
		eol += strspn(eol, "\r\n");
		if (len == 0)
			continue;
		if (first == NULL) {
			first = p;
			pick_len = len;
		}
		if (p[0] == '[' && memchr(p, '@', len) != NULL &&
		    strncmp(p, "[NULL ", 6) != 0 &&
		    memchr(p, ',', (size_t)((const char *)memchr(p, '@', len) -
		    p)) == NULL) {
			pick = p;
			pick_len = len;
			break;
		}
	}
	if (pick == NULL)
		pick = first;
	if (pick == NULL)
		return 0;
	return clean_line(pick, pick_len, out, outlen);
}

/* Whether the n bytes at text contain needle. */
static bool
line_has(const char *text, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(text + i, needle, k) == 0)
			return true;
	return false;
}

/*
 * One line of ffmpeg's, fit to show: "[h264 @ 0x55..] Invalid NAL unit"
 * becomes "h264: Invalid NAL unit", a "[NULL @ ..]" or a demuxer's
 * "[mov,mp4,... @ ..]" prefix goes, as does a "file:..." or "/..." path
 * (the server's own) before a colon; other bytes outside printable ASCII
 * become '?', and the line is cut to outlen - 1 bytes without a trailing
 * full stop.
 */
static size_t
clean_line(const char *p, size_t len, char *out, size_t outlen)
{
	const char *end = p + len, *at, *close, *word;
	size_t j = 0, nlen;

	if (p[0] == '[' && (close = memchr(p, ']', len)) != NULL) {
		at = memchr(p, '@', (size_t)(close - p));
		word = p + 1;
		nlen = at != NULL ? (size_t)(at - word) : 0;
		while (nlen > 0 && word[nlen - 1] == ' ')
			nlen--;
		p = close + 1;
		p += strspn(p, " ");
		if (nlen > 0 && nlen < outlen / 2 &&
		    memchr(word, ',', nlen) == NULL &&
		    !(nlen == 4 && memcmp(word, "NULL", 4) == 0)) {
			memcpy(out, word, nlen);
			memcpy(out + nlen, ": ", 2);
			j = nlen + 2;
		}
	}
	/* A path is always the server's own; what follows it is the news. */
	if ((strncmp(p, "file:", 5) == 0 || p[0] == '/') &&
	    (at = memchr(p, ':', (size_t)(end - p))) != NULL &&
	    (at = strstr(p[0] == '/' ? p : p + 5, ": ")) != NULL && at < end)
		p = at + 2;
	for (; p < end && j + 1 < outlen; p++)
		out[j++] = isprint((unsigned char)*p) ? *p : '?';
	while (j > 0 && (out[j - 1] == '.' || out[j - 1] == ' '))
		j--;
	out[j] = '\0';
	return j;
}
