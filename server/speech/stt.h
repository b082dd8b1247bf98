/*
 * stt: speech to text, one interface over three engines.
 *
 *  - "pocketsphinx": the embedded PocketSphinx engine. It loads the
 *    acoustic model, language model and dictionary once and owns one
 *    decoder; callers on several threads take turns on it (a mutex).
 *  - "whisper_http": a whisper.cpp server (POST {url}/inference).
 *  - "openai_http": an OpenAI-compatible server
 *    (POST {url}/v1/audio/transcriptions).
 * An HTTP engine keeps only its settings: every call is its own request,
 * so any number of threads may call at once and the server decides how
 * many it serves (whisper.cpp runs one at a time); the scheduler limits
 * the callers.
 *
 * Input is a 16 kHz mono 16-bit WAV file, as media_extract_wav() writes.
 * Every engine gives the same result: the recognised words with their
 * times, lower-cased, cleaned of punctuation, silence and noise tokens,
 * non-speech annotations ("[BLANK_AUDIO]", "(music)") and
 * alternate-pronunciation markers ("read(2)" -> "read"), and the text as
 * those words joined by spaces.
 */
#ifndef INTROEVAL_STT_H
#define INTROEVAL_STT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define STT_DEFAULT_MODEL_DIR	"/usr/share/pocketsphinx/model/en-us"
#define STT_DEFAULT_TIMEOUT_S	300		/* HTTP engines, per call */
#define STT_DEFAULT_OPENAI_MODEL "whisper-1"

struct stt_word {
	char		*word;
	double		 start_s;
	double		 end_s;
	double		 confidence;	/* posterior probability, 0..1 */
};

struct stt_result {
	char		*text;		/* the words joined by spaces */
	struct stt_word	*words;
	size_t		 nwords;
	double		 audio_s;	/* length of the audio */
	double		 decode_s;	/* time spent decoding it */
};

struct stt_engine;

/* What stt_engine_new() makes; unused fields may be NULL or 0. */
struct stt_config {
	const char	*engine;	/* "pocketsphinx" (NULL or "" too),
					   "whisper_http" or "openai_http" */
	const char	*model_dir;	/* pocketsphinx; NULL or "": default */
	const char	*url;		/* HTTP: http(s)://host:port, no path */
	const char	*model;		/* openai_http; NULL or "":
					   STT_DEFAULT_OPENAI_MODEL */
	const char	*api_key;	/* HTTP: sent as a bearer token when
					   set (OpenAI, or a proxy in front
					   of whisper.cpp) */
	int		 timeout_s;	/* HTTP: whole call; <= 0:
					   STT_DEFAULT_TIMEOUT_S */
};

/*
 * Makes the engine the configuration names. PocketSphinx takes a few
 * seconds to load; the HTTP engines only check their settings and do not
 * contact the server. Returns NULL with the reason in err.
 */
struct stt_engine *stt_engine_new(const struct stt_config *, char *err,
	    size_t errlen);
/*
 * A graceful stop: once *cancel is true, an HTTP engine's call in
 * flight ends within about a second with an error (its result would be
 * dropped anyway); PocketSphinx finishes the file it decodes (seconds).
 */
void	 stt_engine_set_cancel(struct stt_engine *, const atomic_bool *cancel);
/* "pocketsphinx", "whisper_http" or "openai_http". */
const char *stt_engine_name(const struct stt_engine *);

/*
 * Loads the model from model_dir (which holds en-us/, en-us.lm.bin and
 * cmudict-en-us.dict; NULL means STT_DEFAULT_MODEL_DIR). Takes a few
 * seconds. PocketSphinx's own logging is switched off for the whole
 * process. Returns NULL with the reason in err.
 */
struct stt_engine *stt_pocketsphinx_new(const char *model_dir, char *err,
	    size_t errlen);

/*
 * Called from inside stt_transcribe(), on the caller's thread, with the
 * fraction of the audio decoded so far (0..1, the last call is 1, and
 * only on success). PocketSphinx reports after each utterance, while the
 * engine is held; the HTTP engines report 0 when the request starts and
 * 1 when the answer is in. It must be quick and must not call back into
 * the engine.
 */
typedef void (*stt_progress_fn)(double fraction, void *arg);

/*
 * Transcribes wav_path into res (which the caller releases with
 * stt_result_free(), on success only). progress may be NULL. decode_s
 * is the time spent decoding (for HTTP engines the whole request:
 * upload, queueing on the server, decoding); audio_s is the WAV file's
 * length. Errors are in
 * plain words and name the server for HTTP engines ("the speech server
 * at http://gpu1:8080 did not answer within 300 s").
 */
bool	 stt_transcribe(struct stt_engine *, const char *wav_path,
	    stt_progress_fn progress, void *arg, struct stt_result *res,
	    char *err, size_t errlen);
void	 stt_result_free(struct stt_result *);
void	 stt_engine_free(struct stt_engine *);

/*
 * [{"w":"hello","s":0.41,"e":0.78,"c":0.93}, ...]: times in seconds and
 * confidences rounded to 3 decimals. jansson prints reals with 17
 * digits unless json_dumps() is given JSON_REAL_PRECISION(6) or so.
 */
json_t	*stt_words_to_json(const struct stt_result *);
/*
 * The other way: res->words from such an array (entries without a word
 * are skipped; a missing time or confidence is 0). res->text is left
 * alone; free with stt_result_free().
 */
void	 stt_words_from_json(json_t *, struct stt_result *res);

#endif
