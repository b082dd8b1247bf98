/*
 * stt_http: speech to text on a server over HTTP (see stt.h): the
 * whisper.cpp server ("whisper_http", POST /inference) and
 * OpenAI-compatible servers ("openai_http", POST
 * /v1/audio/transcriptions).
 *
 * One call is one blocking libcurl transfer on the caller's thread, with
 * its own easy handle: the WAV file goes up as multipart/form-data (curl
 * reads it from disk) and the answer, verbose_json capped at ANSWER_MAX
 * bytes, is parsed whole with jansson. An engine holds only its settings,
 * so calls share nothing. curl_global_init() is llm_global_init()'s job,
 * done once at start.
 *
 * The two answers differ (checked against whisper.cpp's
 * examples/server/server.cpp and OpenAI's API reference):
 *  - whisper.cpp: "segments"[] with "start"/"end" in seconds, and in
 *    each a "words"[] that holds the decoder's tokens, not words:
 *    " Hello", ",", " intro", "duction". A token that starts with a
 *    space begins a word and the others continue it. Tokens carry a
 *    "probability"; their times are there only when the server computed
 *    token timestamps, and are -0.01 when it could not. Some errors come
 *    as HTTP 200 with {"error": "..."}.
 *  - OpenAI: a top-level "words"[] of whole words with "start"/"end"
 *    (no probability), "segments"[] with "avg_logprob"; errors are
 *    {"error": {"message": ...}} under an HTTP error status.
 * Where word times are missing, a segment's words are spread evenly over
 * the segment (or the text over the whole audio); a confidence that is
 * missing is exp(avg_logprob) of the word's segment, else 1. Non-speech
 * annotations in brackets ("[BLANK_AUDIO]", "(upbeat music)") are
 * dropped. Finally the times are made safe for the speech metrics:
 * within the audio, and no word starting before the previous one ends.
 */
#include "stt.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "media.h"
#include "stt_impl.h"
#include "util.h"

#define ANSWER_MAX	(16 * 1024 * 1024)	/* bytes of an answer */
#define CONNECT_MAX_S	10
#define ANNOT_MAX_WORDS	8	/* an unclosed "(" stops hiding words */
#define MIN_PROB	1e-6	/* floor before taking a logarithm */

enum api {
	API_WHISPER,
	API_OPENAI,
};

/* An HTTP engine's settings (stt_engine.impl); read-only after _new. */
struct http_engine {
	enum api	 api;
	char		*url;		/* as configured, without final '/' */
	char		*shown;		/* url for messages: no password */
	char		*endpoint;	/* url + the API's path */
	char		*model;
	char		*api_key;	/* NULL: none */
	int		 timeout_s;
};

/* One transfer, shared with the write callback. */
struct call {
	struct buf	 body;
	const atomic_bool *cancel;	/* the engine's; NULL */
	bool		 overflow;
	long		 status;
	char		 curlerr[CURL_ERROR_SIZE];
};

/* Words being built from an answer. */
struct builder {
	struct stt_words w;
	int		 depth;		/* inside ( ) or [ ]: an annotation */
	int		 hidden;	/* words the annotation has hidden */
};

static struct stt_engine *http_new(const struct stt_config *, enum api,
		    char *, size_t);
static bool	 http_transcribe(struct stt_engine *, const char *,
		    stt_progress_fn, void *, struct stt_result *, char *,
		    size_t);
static void	 http_free(struct stt_engine *);
static char	*shown_url(const char *);
static bool	 post(const struct http_engine *, const char *, struct call *,
		    char *, size_t);
static void	 add_field(curl_mime *, const char *, const char *);
static void	 add_header(struct curl_slist **, const char *);
static bool	 transfer_error(const struct http_engine *, CURL *, CURLcode,
		    const struct call *, const char *, char *, size_t);
static size_t	 write_cb(char *, size_t, size_t, void *);
static int	 cancel_cb(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static bool	 parse_answer(const struct http_engine *, const struct call *,
		    double, struct stt_words *, char *, size_t);
static const char *error_message(json_t *);
static char	*body_excerpt(const struct buf *);
static void	 parse_openai(json_t *, double, struct builder *);
static void	 parse_segments(json_t *, double, bool, struct builder *);
static void	 whisper_tokens(json_t *, struct builder *);
static void	 spread(struct builder *, const char *, double, double,
		    double);
static char	*clean(struct builder *, const char *);
static bool	 all_timed(json_t *);
static bool	 get_time(json_t *, const char *, double *);
static double	 seg_confidence(json_t *);
static double	 confidence_at(json_t *, double);
static void	 tidy_times(struct stt_words *, double);

static const struct stt_ops whisper_ops = {
	"whisper_http", http_transcribe, http_free,
};

static const struct stt_ops openai_ops = {
	"openai_http", http_transcribe, http_free,
};

struct stt_engine *
stt_http_whisper_new(const struct stt_config *cfg, char *err, size_t errlen)
{
	return http_new(cfg, API_WHISPER, err, errlen);
}

struct stt_engine *
stt_http_openai_new(const struct stt_config *cfg, char *err, size_t errlen)
{
	return http_new(cfg, API_OPENAI, err, errlen);
}

static struct stt_engine *
http_new(const struct stt_config *cfg, enum api api, char *err,
    size_t errlen)
{
	const char *name = api == API_WHISPER ? "whisper_http" : "openai_http";
	struct http_engine *h;
	size_t n;

	if (cfg->url == NULL || cfg->url[0] == '\0') {
		util_seterr(err, errlen, "the %s speech engine needs the "
		    "server's url", name);
		return NULL;
	}
	if (strncmp(cfg->url, "http://", 7) != 0 &&
	    strncmp(cfg->url, "https://", 8) != 0) {
		util_seterr(err, errlen, "speech server url \"%s\" must start "
		    "with http:// or https://", cfg->url);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->api = api;
	n = strlen(cfg->url);
	while (n > 0 && cfg->url[n - 1] == '/')
		n--;
	h->url = xstrndup(cfg->url, n);
	h->shown = shown_url(h->url);
	h->endpoint = xasprintf("%s%s", h->url, api == API_WHISPER ?
	    "/inference" : "/v1/audio/transcriptions");
	h->model = xstrdup(cfg->model && *cfg->model ? cfg->model :
	    STT_DEFAULT_OPENAI_MODEL);
	if (cfg->api_key && *cfg->api_key)
		h->api_key = xstrdup(cfg->api_key);
	h->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s :
	    STT_DEFAULT_TIMEOUT_S;
	return stt_engine_wrap(api == API_WHISPER ? &whisper_ops :
	    &openai_ops, h);
}

static void
http_free(struct stt_engine *eng)
{
	struct http_engine *h = eng->impl;

	free(h->url);
	free(h->shown);
	free(h->endpoint);
	free(h->model);
	free(h->api_key);
	free(h);
}

/*
 * The url with any user and password replaced by "***", for messages,
 * which end up stored and shown.
 */
static char *
shown_url(const char *url)
{
	const char *host = strstr(url, "://") + 3, *c, *at = NULL;

	for (c = host; *c != '\0' && *c != '/'; c++)
		if (*c == '@')
			at = c;
	if (at == NULL)
		return xstrdup(url);
	return xasprintf("%.*s***%s", (int)(host - url), url, at);
}

static bool
http_transcribe(struct stt_engine *eng, const char *wav_path,
    stt_progress_fn fn, void *arg, struct stt_result *res, char *err,
    size_t errlen)
{
	const struct http_engine *h = eng->impl;
	struct media_wav wav;
	struct stt_words w = { NULL, 0, 0 };
	struct call c;
	double t0, decode_s, audio_s;
	bool ok = false;

	/* Refuse what PocketSphinx refuses, before any upload. */
	if (!stt_read_wav(wav_path, &wav, err, errlen))
		return false;
	audio_s = (double)wav.nsamples / wav.rate;
	media_wav_free(&wav);

	if (fn)
		fn(0.0, arg);
	memset(&c, 0, sizeof(c));
	c.cancel = eng->cancel;
	t0 = util_monotonic();
	if (!post(h, wav_path, &c, err, errlen))
		goto out;
	decode_s = util_monotonic() - t0;
	if (!parse_answer(h, &c, audio_s, &w, err, errlen))
		goto out;
	res->audio_s = audio_s;
	res->decode_s = decode_s;
	stt_result_take_words(res, &w);
	if (fn)
		fn(1.0, arg);
	ok = true;
out:
	buf_free(&c.body);
	return ok;
}

/* Sends the WAV file and the API's fields; c gets the status and body. */
static bool
post(const struct http_engine *h, const char *wav_path, struct call *c,
    char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	curl_mimepart *part;
	curl_mime *mime;
	char *auth = NULL;
	CURL *curl;
	CURLcode rc;
	bool ok;

	if ((curl = curl_easy_init()) == NULL)
		return util_seterr(err, errlen, "stt: curl_easy_init failed");
	mime = curl_mime_init(curl);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	curl_mime_type(part, "audio/wav");
	if ((rc = curl_mime_filedata(part, wav_path)) != CURLE_OK) {
		ok = util_seterr(err, errlen, "%s: %s", wav_path,
		    curl_easy_strerror(rc));
		goto out;
	}
	add_field(mime, "response_format", "verbose_json");
	if (h->api == API_WHISPER)
		add_field(mime, "temperature", "0.0");
	else {
		add_field(mime, "model", h->model);
		add_field(mime, "timestamp_granularities[]", "word");
		add_field(mime, "timestamp_granularities[]", "segment");
	}
	/* "Expect:" stops curl waiting for a 100 Continue before the body. */
	add_header(&hdrs, "Accept: application/json");
	add_header(&hdrs, "Expect:");
	if (h->api_key != NULL) {
		auth = xasprintf("Authorization: Bearer %s", h->api_key);
		add_header(&hdrs, auth);
	}
	curl_easy_setopt(curl, CURLOPT_URL, h->endpoint);
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, c->curlerr);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT,
	    "introeval/" INTROEVAL_VERSION);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)h->timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)
	    (h->timeout_s < CONNECT_MAX_S ? h->timeout_s : CONNECT_MAX_S));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
	if (c->cancel != NULL) {
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, cancel_cb);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (rc == CURLE_OK)
		ok = true;
	else
		ok = transfer_error(h, curl, rc, c, wav_path, err, errlen);
out:
	curl_easy_cleanup(curl);
	curl_mime_free(mime);
	curl_slist_free_all(hdrs);
	free(auth);
	return ok;
}

static void
add_field(curl_mime *mime, const char *name, const char *value)
{
	curl_mimepart *part = curl_mime_addpart(mime);

	curl_mime_name(part, name);
	curl_mime_data(part, value, CURL_ZERO_TERMINATED);
}

static void
add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (l == NULL)
		fatalx("curl_slist_append: out of memory");
	*list = l;
}

/* Puts a failed transfer in plain words; always returns false. */
static bool
transfer_error(const struct http_engine *h, CURL *curl, CURLcode rc,
    const struct call *c, const char *wav_path, char *err, size_t errlen)
{
	const char *detail = c->curlerr[0] ? c->curlerr :
	    curl_easy_strerror(rc);
	curl_off_t connect_us = 0;

	curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
	if (c->overflow)
		return util_seterr(err, errlen, "the speech server at %s sent "
		    "an answer larger than %d MiB", h->shown, ANSWER_MAX >> 20);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return util_seterr(err, errlen, "cannot reach the speech "
		    "server at %s: %s", h->shown, detail);
	case CURLE_OPERATION_TIMEDOUT:
		if (connect_us == 0)
			return util_seterr(err, errlen, "cannot reach the "
			    "speech server at %s: %s", h->shown, detail);
		return util_seterr(err, errlen, "the speech server at %s did "
		    "not answer within %d s", h->shown, h->timeout_s);
	case CURLE_GOT_NOTHING:
		return util_seterr(err, errlen, "the speech server at %s "
		    "closed the connection without answering", h->shown);
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return util_seterr(err, errlen, "the speech server at %s "
		    "closed the connection before its answer was complete: "
		    "%s", h->shown, detail);
	case CURLE_ABORTED_BY_CALLBACK:
		return util_seterr(err, errlen, "the call to the speech server "
		    "at %s was cancelled: this server is stopping", h->shown);
	case CURLE_READ_ERROR:
		return util_seterr(err, errlen, "cannot send %s to the speech "
		    "server at %s: %s", wav_path, h->shown, detail);
	default:
		return util_seterr(err, errlen, "the speech server at %s: %s",
		    h->shown, detail);
	}
}

/* Called about once a second during a transfer: non-zero aborts it. */
static int
cancel_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct call *c = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(c->cancel) ? 1 : 0;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct call *c = arg;
	size_t len = size * nmemb;

	if (c->body.len + len > ANSWER_MAX) {
		c->overflow = true;
		return 0;	/* aborts the transfer */
	}
	buf_append(&c->body, data, len);
	return len;
}

/* Checks the status and turns the body into words. */
static bool
parse_answer(const struct http_engine *h, const struct call *c,
    double audio_s, struct stt_words *out, char *err, size_t errlen)
{
	struct builder b;
	json_error_t jerr;
	const char *msg;
	char *excerpt;
	json_t *root;
	bool ok = false;

	root = json_loadb(buf_cstr(&c->body), c->body.len, 0, &jerr);
	msg = error_message(root);
	if (c->status < 200 || c->status > 299) {
		excerpt = body_excerpt(&c->body);
		util_seterr(err, errlen, "the speech server at %s %sanswered "
		    "%ld: %s", h->shown, c->status == 429 || c->status == 503 ?
		    "is busy: it " : "", c->status, msg ? msg : excerpt);
		free(excerpt);
		goto out;
	}
	if (!json_is_object(root)) {
		excerpt = body_excerpt(&c->body);
		util_seterr(err, errlen, "the speech server at %s sent an "
		    "answer that is not JSON: %s", h->shown, excerpt);
		free(excerpt);
		goto out;
	}
	if (msg != NULL) {
		util_seterr(err, errlen, "the speech server at %s reported an "
		    "error: %s", h->shown, msg);
		goto out;
	}
	if (!json_is_string(json_object_get(root, "text")) &&
	    !json_is_array(json_object_get(root, "segments"))) {
		util_seterr(err, errlen, "the speech server at %s sent an "
		    "answer without a transcript (no \"text\" or "
		    "\"segments\")", h->shown);
		goto out;
	}
	memset(&b, 0, sizeof(b));
	if (h->api == API_WHISPER)
		parse_segments(root, audio_s, true, &b);
	else
		parse_openai(root, audio_s, &b);
	tidy_times(&b.w, audio_s);
	*out = b.w;
	ok = true;
out:
	json_decref(root);
	return ok;
}

/*
 * The message of an error answer: whisper.cpp's {"error": "..."},
 * OpenAI's {"error": {"message": "..."}}, or FastAPI's {"detail": "..."}
 * that some compatible servers send. NULL if there is none.
 */
static const char *
error_message(json_t *root)
{
	json_t *e = json_object_get(root, "error");
	const char *s;

	if (json_is_string(e))
		return json_string_value(e);
	if ((s = json_string_value(json_object_get(e, "message"))) != NULL)
		return s;
	if (e != NULL && !json_is_null(e))
		return "(no message)";
	return json_string_value(json_object_get(root, "detail"));
}

/* The start of a body on one line, quoted, for a message. */
static char *
body_excerpt(const struct buf *body)
{
	size_t i, n = body->len > 80 ? 80 : body->len;
	char *s, *q;

	while (n > 0 && isspace((unsigned char)body->data[n - 1]))
		n--;
	if (n == 0)
		return xstrdup("(empty body)");
	s = xstrndup(body->data, n);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < ' ')
			s[i] = ' ';
	q = xasprintf("\"%s%s\"", s, n < body->len && body->len > 80 ?
	    "..." : "");
	free(s);
	return q;
}

/*
 * The words of the segments: each segment's text spread over its times,
 * or with tokens (whisper.cpp) its tokens where they are all timed; the
 * whole text spread over the audio when a segment has no times. OpenAI's
 * answer comes here when it has no timed words.
 */
static void
parse_segments(json_t *root, double audio_s, bool tokens, struct builder *b)
{
	json_t *segs = json_object_get(root, "segments"), *seg, *toks;
	double start, end;
	size_t i;

	if (json_array_size(segs) == 0 || !all_timed(segs)) {
		spread(b, json_string_value(json_object_get(root, "text")), 0,
		    audio_s, 1.0);
		return;
	}
	json_array_foreach(segs, i, seg) {
		b->depth = b->hidden = 0;
		toks = tokens ? json_object_get(seg, "words") : NULL;
		if (json_array_size(toks) > 0 && all_timed(toks)) {
			whisper_tokens(toks, b);
			continue;
		}
		get_time(seg, "start", &start);
		get_time(seg, "end", &end);
		spread(b, json_string_value(json_object_get(seg, "text")),
		    start, end, seg_confidence(seg));
	}
}

/*
 * Joins whisper.cpp's tokens into words: a word's times run from its
 * first token's start to its last token's end, and its confidence is
 * the product of its tokens' probabilities (punctuation tokens left
 * out), as each token's probability is conditional on the ones before.
 */
static void
whisper_tokens(json_t *tokens, struct builder *b)
{
	struct buf text = BUF_INIT;
	double start = 0, end = 0, logp = 0, t, p;
	const char *tok, *c;
	json_t *v;
	char *word;
	size_t i;

	for (i = 0; i <= json_array_size(tokens); i++) {
		v = json_array_get(tokens, i);
		tok = json_string_value(json_object_get(v, "word"));
		if (v != NULL && tok == NULL)
			continue;
		/* The end, or a token that begins a new word. */
		if ((v == NULL || tok[0] == ' ') && text.len > 0) {
			if ((word = clean(b, buf_cstr(&text))) != NULL)
				stt_words_add(&b->w, word, start, end,
				    exp(logp));
			buf_reset(&text);
			logp = 0;
		}
		if (v == NULL)
			break;
		if (text.len == 0 && get_time(v, "start", &t))
			start = t;
		if (get_time(v, "end", &t))
			end = t;
		for (c = tok; *c != '\0' && !isalnum((unsigned char)*c); c++)
			;
		p = json_number_value(json_object_get(v, "probability"));
		if (*c != '\0' && json_is_number(json_object_get(v,
		    "probability")))
			logp += log(p > MIN_PROB ? p : MIN_PROB);
		buf_puts(&text, tok);
	}
	buf_free(&text);
}

static void
parse_openai(json_t *root, double audio_s, struct builder *b)
{
	json_t *words = json_object_get(root, "words"), *segs, *v, *p;
	double start, end;
	size_t i;
	char *word;

	segs = json_object_get(root, "segments");
	if (json_array_size(words) > 0 && all_timed(words)) {
		json_array_foreach(words, i, v) {
			word = clean(b, json_string_value(json_object_get(v,
			    "word")));
			if (word == NULL)
				continue;
			get_time(v, "start", &start);
			get_time(v, "end", &end);
			/* Some compatible servers add a probability. */
			p = json_object_get(v, "probability");
			stt_words_add(&b->w, word, start, end,
			    json_is_number(p) ? json_number_value(p) :
			    confidence_at(segs, (start + end) / 2));
		}
		return;
	}
	parse_segments(root, audio_s, false, b);
}

/* Splits text at spaces and spreads its words evenly over [start, end]. */
static void
spread(struct builder *b, const char *text, double start, double end,
    double conf)
{
	struct stt_words tmp = { NULL, 0, 0 };
	char *copy, *tok, *save = NULL, *word;
	double step;
	size_t i;

	if (text == NULL)
		return;
	copy = xstrdup(text);
	for (tok = strtok_r(copy, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		if ((word = clean(b, tok)) != NULL)
			stt_words_add(&tmp, word, 0, 0, conf);
	free(copy);
	if (end < start)
		end = start;
	step = tmp.n > 0 ? (end - start) / (double)tmp.n : 0;
	for (i = 0; i < tmp.n; i++)
		stt_words_add(&b->w, tmp.v[i].word, start + step * (double)i,
		    start + step * (double)(i + 1), tmp.v[i].confidence);
	free(tmp.v);	/* the words now belong to b->w */
}

/*
 * Cleans one raw word, first dropping what is inside brackets: an
 * annotation may span several words ("(upbeat", "music)"), so the depth
 * carries over from one word to the next, up to ANNOT_MAX_WORDS.
 */
static char *
clean(struct builder *b, const char *raw)
{
	struct buf keep = BUF_INIT;
	const char *c;
	char *word;

	if (raw == NULL)
		return NULL;
	for (c = raw; *c != '\0'; c++) {
		if (*c == '(' || *c == '[')
			b->depth++;
		else if (*c == ')' || *c == ']') {
			if (b->depth > 0)
				b->depth--;
		} else if (b->depth == 0)
			buf_putc(&keep, *c);
	}
	if (b->depth == 0)
		b->hidden = 0;
	else if (++b->hidden >= ANNOT_MAX_WORDS)
		b->depth = b->hidden = 0;
	word = stt_clean_word(buf_cstr(&keep));
	buf_free(&keep);
	return word;
}

/* True when every element has a usable "start" and "end". */
static bool
all_timed(json_t *arr)
{
	json_t *v;
	double t;
	size_t i;

	json_array_foreach(arr, i, v)
		if (!get_time(v, "start", &t) || !get_time(v, "end", &t))
			return false;
	return true;
}

/* A time in seconds; false when missing or negative (not computed). */
static bool
get_time(json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v) || json_number_value(v) < 0)
		return false;
	*out = json_number_value(v);
	return true;
}

static double
seg_confidence(json_t *seg)
{
	json_t *v = json_object_get(seg, "avg_logprob");

	return json_is_number(v) ? exp(json_number_value(v)) : 1.0;
}

/* The confidence of the segment that holds time t, else 1. */
static double
confidence_at(json_t *segs, double t)
{
	double start, end;
	json_t *seg;
	size_t i;

	json_array_foreach(segs, i, seg)
		if (get_time(seg, "start", &start) &&
		    get_time(seg, "end", &end) && t >= start && t <= end)
			return seg_confidence(seg);
	return 1.0;
}

/* Within [0, audio_s], in order, no word starting inside the last one. */
static void
tidy_times(struct stt_words *w, double audio_s)
{
	struct stt_word *x;
	double prev_end = 0;
	size_t i;

	for (i = 0; i < w->n; i++) {
		x = &w->v[i];
		if (x->start_s < prev_end)
			x->start_s = prev_end;
		if (audio_s > 0 && x->start_s > audio_s)
			x->start_s = audio_s;
		if (x->end_s < x->start_s)
			x->end_s = x->start_s;
		if (audio_s > 0 && x->end_s > audio_s)
			x->end_s = audio_s;
		prev_end = x->end_s;
	}
}
