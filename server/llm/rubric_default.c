/*
 * rubric_default: the lab's default rubric, the self-introduction one
 * (see rubric.h). Migration 015 ships the same definition as version 1
 * of the default rubric; this copy is for tests and for checking that
 * the two agree.
 */
#include "rubric.h"

#include "log.h"

static const char DEFAULT_RUBRIC[] =
"{\"name\": \"Self-introduction\", \"version\": 1,"
" \"scale\": {\"min\": 1, \"max\": 5},"
" \"criteria\": ["
"  {\"key\": \"content\", \"title\": \"Content\", \"weight\": 1,"
"   \"description\":"
"   \"Says who they are and gives relevant, specific details (studies,"
" background, interests, goals) rather than a bare list; the listener"
" learns something memorable about the speaker. 1: almost no information;"
" 3: the basics with few details; 5: rich, specific and well chosen.\","
"   \"descriptors\": [\"Almost no information about the speaker.\","
"    \"A few facts, with no details.\","
"    \"The basics (name, studies, interests) with few details.\","
"    \"Relevant facts with some specific, well-chosen details.\","
"    \"Rich, specific, well-chosen details; the listener remembers"
" the speaker.\"]},"
"  {\"key\": \"organization\", \"title\": \"Organization\", \"weight\": 1,"
"   \"description\":"
"   \"Has a clear opening, a logical order of ideas with smooth transitions,"
" and a real closing rather than just stopping; fits the one-to-two-minute"
" length. 1: disordered or unfinished; 3: some order but abrupt turns or"
" ending; 5: easy to follow from greeting to conclusion.\","
"   \"descriptors\": [\"Disordered or unfinished.\","
"    \"Some order, but no clear opening or closing.\","
"    \"Some order, with abrupt turns or an abrupt ending.\","
"    \"Clear opening and closing; mostly smooth transitions.\","
"    \"Easy to follow from greeting to conclusion.\"]},"
"  {\"key\": \"delivery\", \"title\": \"Delivery\", \"weight\": 1,"
"   \"description\":"
"   \"Speaks at a comfortable pace (roughly 120 to 160 words per minute),"
" with few fillers (um, uh, like) and few long hesitations, in a fluent and"
" confident way. Judge from the transcript and the speech metrics; do not"
" penalise speech-recognition mistakes. 1: very halting or rushed;"
" 3: understandable with noticeable hesitations; 5: fluent and natural.\","
"   \"descriptors\": [\"Very halting or rushed.\","
"    \"Hard to follow: many fillers and long pauses.\","
"    \"Understandable, with noticeable hesitations.\","
"    \"Mostly fluent, at a comfortable pace.\","
"    \"Fluent and natural, at a comfortable pace.\"]},"
"  {\"key\": \"language\", \"title\": \"Language\", \"weight\": 1,"
"   \"description\":"
"   \"Uses correct grammar, appropriate and varied vocabulary, and a"
" register suited to a class or a professional setting. 1: frequent errors"
" that block meaning; 3: some errors or repetitive wording; 5: accurate,"
" varied and well suited to the audience.\","
"   \"descriptors\": [\"Frequent errors that block meaning.\","
"    \"Frequent errors; the meaning mostly comes through.\","
"    \"Some errors or repetitive wording.\","
"    \"Few errors; appropriate, fairly varied wording.\","
"    \"Accurate, varied and well suited to the audience.\"]}"
" ]}";

const char *
rubric_default_json(void)
{
	return DEFAULT_RUBRIC;
}

struct rubric *
rubric_default(void)
{
	json_t *def = json_loads(DEFAULT_RUBRIC, 0, NULL);
	struct rubric *r;
	char err[256];

	ASSERT(def != NULL);
	r = rubric_parse(def, err, sizeof(err));
	if (r == NULL)
		fatalx("default rubric: %s", err);
	json_decref(def);
	return r;
}

