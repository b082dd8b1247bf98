/*
 * bench_wer: transcribe media files with one STT engine, the way the
 * scheduler does (media_extract_wav, then stt_transcribe), and print one
 * JSON line per file. tests/bench/wer.py runs it and scores the words;
 * the figures (word error rate, real-time factor) are computed there.
 *
 *   bench_wer [--engine NAME] [--url URL] [--model M] [--api-key K]
 *             [--wav] FILE...
 *
 * --wav: the files are already 16 kHz mono WAVs; transcribe them as they
 * are (to compare extraction settings). Each line:
 *   {"file":..., "ok":true, "text":..., "words":N, "audio_s":...,
 *    "decode_s":..., "decode_cpu_s":..., "extract_s":...}
 * or {"file":..., "ok":false, "error":...}. A first line
 *   {"engine":..., "load_s":...}
 * says how long the engine took to get ready.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "media.h"
#include "stt.h"
#include "util.h"

/* media_extract_wav's verdict on a failure: the machine's or the file's. */
static bool transient;

struct opts {
	struct stt_config	 cfg;
	bool			 raw_wav;
};

static void	 usage(void);
static double	 thread_cpu(void);
static json_t	*run_one(struct stt_engine *, const struct opts *,
		    const char *, const char *);
static void	 print_line(json_t *);

static void
usage(void)
{
	fprintf(stderr, "usage: bench_wer [--engine pocketsphinx|whisper_http|"
	    "openai_http] [--url URL] [--model M] [--api-key K] [--wav] "
	    "FILE...\n");
	exit(2);
}

/* CPU time of this thread: the decoder runs on the calling thread. */
static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
print_line(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static json_t *
run_one(struct stt_engine *eng, const struct opts *o, const char *file,
    const char *tmpdir)
{
	struct stt_result res;
	char err[512], *wav;
	double t0, c0, extract_s = 0;
	json_t *out;

	wav = o->raw_wav ? xstrdup(file) : xasprintf("%s/in.wav", tmpdir);
	t0 = util_monotonic();
	if (!o->raw_wav && !media_extract_wav(file, wav, 0, &transient, err,
	    sizeof(err))) {
		free(wav);
		return json_pack("{s:s, s:b, s:s}", "file", file, "ok", 0,
		    "error", err);
	}
	extract_s = util_monotonic() - t0;
	c0 = thread_cpu();
	if (!stt_transcribe(eng, wav, NULL, NULL, &res, err, sizeof(err)))
		out = json_pack("{s:s, s:b, s:s}", "file", file, "ok", 0,
		    "error", err);
	else {
		out = json_pack("{s:s, s:b, s:s, s:I, s:f, s:f, s:f, s:f}",
		    "file", file, "ok", 1, "text", res.text ? res.text : "",
		    "words", (json_int_t)res.nwords, "audio_s", res.audio_s,
		    "decode_s", res.decode_s, "decode_cpu_s",
		    thread_cpu() - c0, "extract_s", extract_s);
		stt_result_free(&res);
	}
	if (!o->raw_wav)
		unlink(wav);
	free(wav);
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "url", required_argument, NULL, 'u' },
		{ "model", required_argument, NULL, 'm' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "wav", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct stt_engine *eng;
	char err[512], tmpdir[] = "/tmp/bench_wer.XXXXXX";
	double t0;
	int c, i;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.cfg.engine = optarg; break;
		case 'u': o.cfg.url = optarg; break;
		case 'm': o.cfg.model = optarg; break;
		case 'k': o.cfg.api_key = optarg; break;
		case 'w': o.raw_wav = true; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	t0 = util_monotonic();
	if ((eng = stt_engine_new(&o.cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_wer: %s\n", err);
		rmdir(tmpdir);
		return 1;
	}
	print_line(json_pack("{s:s, s:f}", "engine", stt_engine_name(eng),
	    "load_s", util_monotonic() - t0));
	for (i = optind; i < argc; i++)
		print_line(run_one(eng, &o, argv[i], tmpdir));
	stt_engine_free(eng);
	rmdir(tmpdir);
	return 0;
}
