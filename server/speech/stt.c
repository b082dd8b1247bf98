/*
 * stt: the engine interface (see stt.h and stt_impl.h) and the embedded
 * PocketSphinx engine.
 *
 * stt_engine_new() picks an engine from a table by its configured name;
 * every call on an engine goes through its ops table, so callers never
 * know which engine they hold. The word helpers here (cleaning, the
 * growable list, joining into text) and the WAV check are shared with
 * stt_http.c, so that all engines take the same input and give words of
 * the same shape.
 *
 * PocketSphinx's decoder is not thread-safe, so its engine holds exactly
 * one and keeps the engine's lock for the whole decoding; model loading
 * happens once, in stt_pocketsphinx_new().
 *
 * The audio is cut into utterances at pauses (found from frame energy)
 * and each is decoded on its own as a full utterance; progress is
 * reported after each. Two measured reasons:
 *  - The en-us model normalises cepstra per utterance ("-cmn batch" in
 *    its feat.params). Fed in pieces, the decoder falls back to running
 *    normalisation that carries over from one call to the next, so the
 *    same file gave different words depending on what was decoded
 *    before it. Whole utterances make every transcription independent.
 *  - On the six shared fixtures, splitting at pauses of 0.3 s (sentence
 *    ends; commas are about 0.2 s) lowered the pooled word error rate
 *    from 0.45 to 0.42, and from 0.38 to 0.36 with pink noise added.
 * "-remove_silence no" keeps the decoder's frame numbers equal to audio
 * frames, so word times stay right; they are shifted by the utterance's
 * start. An utterance longer than STT_MAX_UTT_S is cut at its quietest
 * moment, which bounds the decoder's memory and the progress interval.
 */
#include "stt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "buf.h"
#include "media.h"
#include "stt_impl.h"
#include "util.h"

#define STT_SPLIT_GAP_S		0.3	/* silence that separates utterances */
#define STT_MAX_UTT_S		20.0	/* longer utterances are cut */
#define STT_FRAME_S		0.01	/* energy frame for silence finding */
#define STT_SILENCE_DB		12.0	/* above the noise floor = speech */
#define STT_MIN_SPEECH_DB	-70.0	/* quieter than this is silence */

/* The PocketSphinx engine's state (stt_engine.impl). */
struct ps_engine {
	pthread_mutex_t	 lock;
	ps_decoder_t	*ps;
	int		 frate;		/* decoder frames per second */
};

/* stt_engine_new()'s table: a configured name and how to make it. */
struct engine_maker {
	const char	*name;
	struct stt_engine *(*make)(const struct stt_config *, char *, size_t);
};

/* A stretch of samples decoded as one utterance. */
struct span {
	size_t		 start;
	size_t		 end;
};

struct spans {
	struct span	*v;
	size_t		 n;
	size_t		 cap;
};

struct progress {
	stt_progress_fn	 fn;
	void		*arg;
	size_t		 done;
	size_t		 total;
};

static struct stt_engine *pocketsphinx_make(const struct stt_config *,
		    char *, size_t);
static bool	 pocketsphinx_transcribe(struct stt_engine *, const char *,
		    stt_progress_fn, void *, struct stt_result *, char *,
		    size_t);
static void	 pocketsphinx_free(struct stt_engine *);
static void	 find_utterances(const int16_t *, size_t, int, struct spans *);
static void	 span_add(struct spans *, size_t, size_t, const double *,
		    size_t);
static double	 frame_db(const int16_t *, size_t);
static int	 cmp_double(const void *, const void *);
static bool	 decode_span(struct ps_engine *, const int16_t *,
		    const struct span *, int, struct progress *,
		    struct stt_words *, char *, size_t);
static void	 collect_words(struct ps_engine *, double, struct stt_words *);
static size_t	 punct_at(const char *, const char *);
static size_t	 punct_before(const char *, const char *);
static double	 round3(double);

static const struct stt_ops ps_ops = {
	"pocketsphinx", pocketsphinx_transcribe, pocketsphinx_free,
};

static const struct engine_maker makers[] = {
	{ "pocketsphinx", pocketsphinx_make },
	{ "whisper_http", stt_http_whisper_new },
	{ "openai_http", stt_http_openai_new },
};

struct stt_engine *
stt_engine_new(const struct stt_config *cfg, char *err, size_t errlen)
{
	const char *name = cfg->engine && *cfg->engine ? cfg->engine :
	    "pocketsphinx";
	size_t i;

	for (i = 0; i < ARRAY_LEN(makers); i++)
		if (strcmp(makers[i].name, name) == 0)
			return makers[i].make(cfg, err, errlen);
	util_seterr(err, errlen, "speech engine \"%s\" is unknown (known: "
	    "pocketsphinx, whisper_http, openai_http)", name);
	return NULL;
}

const char *
stt_engine_name(const struct stt_engine *e)
{
	return e->ops->name;
}

struct stt_engine *
stt_engine_wrap(const struct stt_ops *ops, void *impl)
{
	struct stt_engine *e = xmalloc(sizeof(*e));

	e->ops = ops;
	e->impl = impl;
	e->cancel = NULL;
	return e;
}

void
stt_engine_set_cancel(struct stt_engine *e, const atomic_bool *cancel)
{
	e->cancel = cancel;
}

bool
stt_read_wav(const char *wav_path, struct media_wav *wav, char *err,
    size_t errlen)
{
	if (!media_read_wav(wav_path, wav, err, errlen))
		return false;
	if (wav->rate == MEDIA_WAV_RATE)
		return true;
	util_seterr(err, errlen, "%s: %d Hz audio, expected %d", wav_path,
	    wav->rate, MEDIA_WAV_RATE);
	media_wav_free(wav);
	return false;
}

void
stt_engine_free(struct stt_engine *e)
{
	if (e == NULL)
		return;
	e->ops->free(e);
	free(e);
}

bool
stt_transcribe(struct stt_engine *e, const char *wav_path,
    stt_progress_fn fn, void *arg, struct stt_result *res, char *err,
    size_t errlen)
{
	memset(res, 0, sizeof(*res));
	return e->ops->transcribe(e, wav_path, fn, arg, res, err, errlen);
}

static struct stt_engine *
pocketsphinx_make(const struct stt_config *cfg, char *err, size_t errlen)
{
	return stt_pocketsphinx_new(cfg->model_dir && *cfg->model_dir ?
	    cfg->model_dir : NULL, err, errlen);
}

struct stt_engine *
stt_pocketsphinx_new(const char *model_dir, char *err, size_t errlen)
{
	struct stt_engine *eng = NULL;
	struct ps_engine *e;
	cmd_ln_t *config;
	char *hmm, *lm, *dict;
	const char *missing = NULL;

	if (model_dir == NULL)
		model_dir = STT_DEFAULT_MODEL_DIR;
	hmm = xasprintf("%s/en-us", model_dir);
	lm = xasprintf("%s/en-us.lm.bin", model_dir);
	dict = xasprintf("%s/cmudict-en-us.dict", model_dir);
	if (access(hmm, R_OK) == -1)
		missing = hmm;
	else if (access(lm, R_OK) == -1)
		missing = lm;
	else if (access(dict, R_OK) == -1)
		missing = dict;
	if (missing) {
		util_seterr(err, errlen, "speech model not found: %s: %s",
		    missing, strerror(errno));
		goto out;
	}
	/* Silence the library before it prints its configuration. */
	err_set_logfp(NULL);
	config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm,
	    "-dict", dict, "-remove_silence", "no", "-logfn", "/dev/null",
	    NULL);
	if (config == NULL) {
		util_seterr(err, errlen, "speech model %s: bad configuration",
		    model_dir);
		goto out;
	}
	e = xcalloc(1, sizeof(*e));
	e->frate = cmd_ln_int32_r(config, "-frate");
	e->ps = ps_init(config);
	cmd_ln_free_r(config);	/* the decoder keeps its own reference */
	if (e->ps == NULL || e->frate <= 0) {
		util_seterr(err, errlen, "speech model %s could not be loaded",
		    model_dir);
		if (e->ps)
			ps_free(e->ps);
		free(e);
		goto out;
	}
	pthread_mutex_init(&e->lock, NULL);
	eng = stt_engine_wrap(&ps_ops, e);
out:
	free(hmm);
	free(lm);
	free(dict);
	return eng;
}

static void
pocketsphinx_free(struct stt_engine *eng)
{
	struct ps_engine *e = eng->impl;

	ps_free(e->ps);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static bool
pocketsphinx_transcribe(struct stt_engine *eng, const char *wav_path,
    stt_progress_fn fn, void *arg, struct stt_result *res, char *err,
    size_t errlen)
{
	struct ps_engine *e = eng->impl;
	struct media_wav wav;
	struct stt_words w = { NULL, 0, 0 };
	struct progress pr = { fn, arg, 0, 0 };
	struct spans sp;
	size_t i;
	double t0;
	bool ok = true;

	if (!stt_read_wav(wav_path, &wav, err, errlen))
		return false;
	find_utterances(wav.samples, wav.nsamples, wav.rate, &sp);
	pr.total = wav.nsamples;

	pthread_mutex_lock(&e->lock);
	t0 = util_monotonic();
	for (i = 0; i < sp.n && ok; i++)
		ok = decode_span(e, wav.samples, &sp.v[i], wav.rate, &pr, &w,
		    err, errlen);
	res->decode_s = util_monotonic() - t0;
	pthread_mutex_unlock(&e->lock);

	if (ok && fn)
		fn(1.0, arg);
	res->audio_s = (double)wav.nsamples / wav.rate;
	stt_result_take_words(res, &w);
	if (!ok)
		stt_result_free(res);
	free(sp.v);
	media_wav_free(&wav);
	return ok;
}

void
stt_result_free(struct stt_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->nwords; i++)
		free(res->words[i].word);
	free(res->words);
	free(res->text);
	memset(res, 0, sizeof(*res));
}

json_t *
stt_words_to_json(const struct stt_result *res)
{
	json_t *arr = json_array();
	const struct stt_word *w;
	size_t i;

	for (i = 0; i < res->nwords; i++) {
		w = &res->words[i];
		json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f}",
		    "w", w->word, "s", round3(w->start_s), "e",
		    round3(w->end_s), "c", round3(w->confidence)));
	}
	return arr;
}

void
stt_words_from_json(json_t *arr, struct stt_result *res)
{
	json_t *v;
	size_t i;

	res->words = xcalloc(json_array_size(arr) + 1, sizeof(*res->words));
	res->nwords = 0;
	json_array_foreach(arr, i, v) {
		const char *w = json_string_value(json_object_get(v, "w"));

		if (w == NULL)
			continue;
		res->words[res->nwords].word = xstrdup(w);
		res->words[res->nwords].start_s = json_number_value(
		    json_object_get(v, "s"));
		res->words[res->nwords].end_s = json_number_value(
		    json_object_get(v, "e"));
		res->words[res->nwords++].confidence = json_number_value(
		    json_object_get(v, "c"));
	}
}

/*
 * Splits the audio at every silence of at least STT_SPLIT_GAP_S, cutting
 * in the middle of the silence so each utterance keeps some of it on
 * both sides. Silence is a frame within STT_SILENCE_DB of the noise
 * floor (the 10th percentile of frame energies) or below an absolute
 * level. Audio without such silences is one utterance, as is audio in
 * which nothing stands out from the floor; audio that is silent
 * throughout (a muted microphone) has none, as the decoder would
 * otherwise hear words in it.
 */
static void
find_utterances(const int16_t *s, size_t n, int rate, struct spans *out)
{
	size_t flen = (size_t)(rate * STT_FRAME_S), nf, i, run = 0;
	size_t gap = (size_t)(STT_SPLIT_GAP_S / STT_FRAME_S), cut, start = 0;
	double *db, *sorted, thresh;
	bool any_speech = false;

	memset(out, 0, sizeof(*out));
	if ((nf = n / flen) == 0)
		return;		/* under 10 ms */
	db = xmalloc(nf * sizeof(*db));
	sorted = xmalloc(nf * sizeof(*sorted));
	for (i = 0; i < nf; i++)
		sorted[i] = db[i] = frame_db(s + i * flen, flen);
	qsort(sorted, nf, sizeof(*sorted), cmp_double);
	if (sorted[nf - 1] < STT_MIN_SPEECH_DB)
		goto out;	/* nothing but silence: nothing to decode */
	thresh = sorted[nf / 10] + STT_SILENCE_DB;
	if (thresh < STT_MIN_SPEECH_DB)
		thresh = STT_MIN_SPEECH_DB;

	for (i = 0; i <= nf; i++) {
		if (i < nf && db[i] < thresh) {
			run++;
			continue;
		}
		/* A speech frame (or the end) after a run of silence. */
		if (run >= gap && any_speech && i < nf) {
			cut = (i - run / 2) * flen;
			span_add(out, start, cut, db, flen);
			start = cut;
			any_speech = false;
		}
		run = 0;
		if (i < nf)
			any_speech = true;
	}
	/* The rest, or the whole when nothing stood out. */
	span_add(out, start, n, db, flen);
out:
	free(db);
	free(sorted);
}

/*
 * Appends [start, end), first cutting off pieces longer than
 * STT_MAX_UTT_S at the quietest frame of their second half.
 */
static void
span_add(struct spans *sp, size_t start, size_t end, const double *db,
    size_t flen)
{
	size_t max = (size_t)(STT_MAX_UTT_S / STT_FRAME_S) * flen, f, best;

	while (db != NULL && end - start > max) {
		best = (start + max / 2) / flen;
		for (f = best; f < (start + max) / flen; f++)
			if (db[f] < db[best])
				best = f;
		span_add(sp, start, best * flen, NULL, flen);
		start = best * flen;
	}
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 16;
		sp->v = xrealloc(sp->v, sp->cap * sizeof(*sp->v));
	}
	sp->v[sp->n++] = (struct span){ start, end };
}

/* Mean power of a frame in dB relative to full scale. */
static double
frame_db(const int16_t *s, size_t n)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (double)s[i] * s[i];
	return 10.0 * log10(sum / (double)n / (32768.0 * 32768.0) + 1e-12);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Decodes one utterance in a single call, so that the decoder normalises
 * it as a whole; the caller holds the engine's lock.
 */
static bool
decode_span(struct ps_engine *e, const int16_t *samples,
    const struct span *sp, int rate, struct progress *pr,
    struct stt_words *w, char *err, size_t errlen)
{
	if (ps_start_utt(e->ps) < 0)
		return util_seterr(err, errlen, "speech decoder: cannot start");
	if (ps_process_raw(e->ps, samples + sp->start, sp->end - sp->start,
	    FALSE, TRUE) < 0) {
		ps_end_utt(e->ps);
		return util_seterr(err, errlen,
		    "speech decoder: cannot process audio");
	}
	if (ps_end_utt(e->ps) < 0)
		return util_seterr(err, errlen, "speech decoder: cannot finish");
	collect_words(e, (double)sp->start / rate, w);
	pr->done += sp->end - sp->start;
	if (pr->fn && pr->done < pr->total)
		pr->fn((double)pr->done / (double)pr->total, pr->arg);
	return true;
}

static void
collect_words(struct ps_engine *e, double offset, struct stt_words *w)
{
	logmath_t *lmath = ps_get_logmath(e->ps);
	ps_seg_t *seg;
	int32 ascr, lscr, lback;
	int sf, ef;
	char *word;
	double p;

	for (seg = ps_seg_iter(e->ps); seg; seg = ps_seg_next(seg)) {
		if ((word = stt_clean_word(ps_seg_word(seg))) == NULL)
			continue;
		ps_seg_frames(seg, &sf, &ef);
		p = logmath_exp(lmath, ps_seg_prob(seg, &ascr, &lscr, &lback));
		stt_words_add(w, word, offset + (double)sf / e->frate,
		    offset + (double)(ef + 1) / e->frate, p);
	}
}

/*
 * See stt_impl.h. PocketSphinx's dictionary words are already lower case
 * and may carry apostrophes ("'cause", "actors'") and dots ("a.m.");
 * Whisper's words carry punctuation ("Hello,", "etc.", "“Hi”"). So
 * apostrophes stay, a final dot stays only after an abbreviation's
 * letter, and a typographic apostrophe becomes a plain one.
 */
char *
stt_clean_word(const char *tok)
{
	const char *s, *e, *paren;
	struct buf b = BUF_INIT;
	size_t len, n;

	if (tok == NULL)
		return NULL;
	while (*tok == ' ')
		tok++;
	if (*tok == '\0' || *tok == '<' || *tok == '[' || *tok == '+')
		return NULL;	/* <s>, </s>, <sil>, [NOISE], ++GARBAGE++ */
	len = strlen(tok);
	/* "word(2)": an alternate pronunciation of "word". */
	if (tok[len - 1] == ')' && (paren = strrchr(tok, '(')) != NULL &&
	    paren > tok && strspn(paren + 1, "0123456789") ==
	    (size_t)(tok + len - 1 - (paren + 1)))
		len = (size_t)(paren - tok);
	s = tok;
	e = tok + len;
	while (s < e && (n = punct_at(s, e)) > 0)
		s += n;
	while (e > s && (n = punct_before(s, e)) > 0)
		e -= n;
	if (e - s >= 2 && *s == '\'' && e[-1] == '\'')
		s++, e--;	/* a quoted word: 'hello' */
	if (e < tok + len && *e == '.' && memchr(s, '.', (size_t)(e - s)) &&
	    isalpha((unsigned char)e[-1]))
		e++;		/* "a.m." */
	if (strspn(s, "'") >= (size_t)(e - s))
		return NULL;	/* nothing, or only apostrophes */
	for (; s < e; s++) {
		if (e - s >= 3 && memcmp(s, "\xe2\x80\x99", 3) == 0) {
			buf_putc(&b, '\'');
			s += 2;
		} else
			buf_putc(&b, (char)tolower((unsigned char)*s));
	}
	return buf_release(&b);
}

/*
 * The length of the punctuation character at s (before e), or 0 for a
 * letter, digit, apostrophe or other character: ASCII punctuation and
 * spaces, UTF-8 General Punctuation (U+2000..U+206F: dashes, curly
 * quotes, ellipsis) and Latin-1 punctuation (U+00A0..U+00BF: «, », ¿).
 */
static size_t
punct_at(const char *s, const char *e)
{
	const unsigned char *u = (const unsigned char *)s;

	if (*u < 0x80)
		return isalnum(*u) || *u == '\'' ? 0 : 1;
	if (e - s >= 3 && u[0] == 0xe2 && (u[1] == 0x80 || u[1] == 0x81))
		return e - s >= 3 && u[1] == 0x80 && u[2] == 0x99 ? 0 : 3;
	if (e - s >= 2 && u[0] == 0xc2 && u[1] >= 0xa0 && u[1] <= 0xbf)
		return 2;
	return 0;
}

/* The length of the punctuation character that ends just before e. */
static size_t
punct_before(const char *s, const char *e)
{
	if (e - s >= 3 && punct_at(e - 3, e) == 3)
		return 3;
	if (e - s >= 2 && punct_at(e - 2, e) == 2)
		return 2;
	if ((unsigned char)e[-1] < 0x80)
		return punct_at(e - 1, e);
	return 0;
}

void
stt_words_add(struct stt_words *w, char *word, double start_s, double end_s,
    double confidence)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	if (!(confidence >= 0))		/* NaN too */
		confidence = 0;
	w->v[w->n++] = (struct stt_word){ word, start_s, end_s,
	    confidence > 1 ? 1 : confidence };
}

void
stt_words_free(struct stt_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i].word);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

void
stt_result_take_words(struct stt_result *res, struct stt_words *w)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (i > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, w->v[i].word);
	}
	res->text = b.data ? buf_release(&b) : xstrdup("");
	res->words = w->v;
	res->nwords = w->n;
	memset(w, 0, sizeof(*w));
}

/* Milliseconds are plenty, and keep the JSON short. */
static double
round3(double x)
{
	return round(x * 1000.0) / 1000.0;
}
