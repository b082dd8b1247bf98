/*
 * stt_impl: what the speech-to-text engines share inside the stt module;
 * no other module includes it. stt.c holds the dispatch, the shared word
 * and WAV helpers and the PocketSphinx engine; stt_http.c the HTTP
 * engines.
 *
 * An engine is a struct stt_engine whose ops table says how to
 * transcribe with it, how to free it and what it is called; impl is the
 * engine's own state, which only its ops touch.
 */
#ifndef INTROEVAL_STT_IMPL_H
#define INTROEVAL_STT_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "stt.h"

struct media_wav;

struct stt_ops {
	const char	*name;		/* as in stt_config.engine */
	bool		(*transcribe)(struct stt_engine *, const char *wav_path,
			    stt_progress_fn, void *, struct stt_result *,
			    char *, size_t);
	void		(*free)(struct stt_engine *);	/* frees impl only */
};

struct stt_engine {
	const struct stt_ops *ops;
	void		*impl;
	const atomic_bool *cancel;	/* stt_engine_set_cancel; NULL */
};

/* A growable list of words; zero-initialised is empty. */
struct stt_words {
	struct stt_word	*v;
	size_t		 n;
	size_t		 cap;
};

/* Wraps impl in an engine (never NULL). */
struct stt_engine *stt_engine_wrap(const struct stt_ops *, void *impl);

/*
 * Reads wav_path as every engine takes it: mono 16-bit PCM at
 * MEDIA_WAV_RATE. On failure err says why and there is nothing to free;
 * on success the caller frees wav with media_wav_free().
 */
bool	 stt_read_wav(const char *wav_path, struct media_wav *wav, char *err,
	    size_t errlen);

/*
 * Returns a malloc'd, cleaned copy of a recognised word, or NULL when
 * nothing of it is a word. Both paths give the same shape: lower case
 * (ASCII), no punctuation around the word (inner apostrophes, hyphens
 * and dots stay: "don't", "self-introduction", "3.5"), no decoder
 * tokens (<s>, [NOISE], ++GARBAGE++), no pronunciation markers
 * ("read(2)" -> "read").
 */
char	*stt_clean_word(const char *);

/* Appends a word, taking ownership of the malloc'd string. */
void	 stt_words_add(struct stt_words *, char *word, double start_s,
	    double end_s, double confidence);
void	 stt_words_free(struct stt_words *);

/*
 * Moves the words into res (w is left empty) and sets res->text to them
 * joined by single spaces ("" for none).
 */
void	 stt_result_take_words(struct stt_result *, struct stt_words *);

/* The HTTP engines (stt_http.c); stt_engine_new() picks one by name. */
struct stt_engine *stt_http_whisper_new(const struct stt_config *,
	    char *err, size_t errlen);
struct stt_engine *stt_http_openai_new(const struct stt_config *,
	    char *err, size_t errlen);

#endif
