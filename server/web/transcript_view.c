/*
 * transcript_view: the transcript and evidence parts of the result page
 * (see transcript_view.h). Fillers and pauses come from speech.c, so
 * the page marks exactly what the metrics count.
 */
#include "transcript_view.h"

#include <math.h>
#include <stdio.h>

#include "speech.h"
#include "stt.h"

static void	 words_view(json_t *transcript);
static void	 evidence_view(json_t *criteria, json_t *evidence, bool);
static json_t	*clock_text(double);

void
transcript_view(json_t *sub, bool staff)
{
	json_t *ev = json_object_get(sub, "evaluation");

	words_view(json_object_get(sub, "transcript"));
	evidence_view(json_object_get(sub, "criteria"),
	    json_object_get(ev, "evidence"), staff);
}

static void
words_view(json_t *transcript)
{
	struct stt_result tr = { 0 };
	json_t *metrics = json_object_get(transcript, "metrics");
	json_t *wpm = json_object_get(metrics, "wpm");

	if (!json_is_object(transcript))
		return;
	/* Words per minute read as a whole number. */
	if (json_is_number(wpm))
		json_object_set_new(metrics, "wpm_text", json_sprintf("%.0f",
		    json_number_value(wpm)));
	stt_words_from_json(json_object_get(transcript, "words"), &tr);
	json_object_set_new(transcript, "has_words", json_boolean(
	    tr.nwords > 0));
	json_object_set_new(transcript, "tokens",
	    speech_annotate(tr.words, tr.nwords));
	stt_result_free(&tr);
}

static void
evidence_view(json_t *criteria, json_t *evidence, bool staff)
{
	json_t *c, *e;
	size_t i;

	json_array_foreach(criteria, i, c) {
		e = json_object_get(evidence, json_string_value(
		    json_object_get(c, "key")));
		if (!json_is_string(json_object_get(e, "quote")))
			continue;
		if (json_is_true(json_object_get(e, "verified")))
			json_object_set_new(c, "proof", json_pack("{s:O, "
			    "s:O, s:O, s:o}", "quote", json_object_get(e,
			    "quote"), "start", json_object_get(e, "start"),
			    "end", json_object_get(e, "end"), "at",
			    clock_text(json_number_value(json_object_get(e,
			    "start")))));
		else if (staff)
			json_object_set_new(c, "proof_unverified", json_pack(
			    "{s:O}", "quote", json_object_get(e, "quote")));
	}
}

/* 75.4 s as "1:15". */
static json_t *
clock_text(double s)
{
	long t = s > 0 ? (long)floor(s) : 0;

	return json_sprintf("%ld:%02ld", t / 60, t % 60);
}
