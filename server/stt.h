/*
 * stt: speech to text with the embedded PocketSphinx engine.
 *
 * An engine loads the acoustic model, language model and dictionary once
 * and owns one decoder; stt_transcribe() may be called from several
 * threads, which take turns on that decoder (a mutex). Input is a 16 kHz
 * mono 16-bit WAV file, as media_extract_wav() writes. The result lists
 * the recognised words with their times, cleaned of silence and noise
 * tokens and of alternate-pronunciation markers ("read(2)" -> "read").
 */
#ifndef INTROEVAL_STT_H
#define INTROEVAL_STT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define STT_DEFAULT_MODEL_DIR	"/usr/share/pocketsphinx/model/en-us"

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

/*
 * Loads the model from model_dir (which holds en-us/, en-us.lm.bin and
 * cmudict-en-us.dict; NULL means STT_DEFAULT_MODEL_DIR). Takes a few
 * seconds. PocketSphinx's own logging is switched off for the whole
 * process. Returns NULL with the reason in err.
 */
struct stt_engine *stt_pocketsphinx_new(const char *model_dir, char *err,
	    size_t errlen);

/*
 * Called from inside stt_transcribe() with the fraction of the audio
 * decoded so far (0..1, the last call is 1). It runs while the engine
 * is held, so it must be quick and must not call back into the engine.
 */
typedef void (*stt_progress_fn)(double fraction, void *arg);

/*
 * Transcribes wav_path into res (which the caller releases with
 * stt_result_free(), on success only). progress may be NULL.
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

#endif
