/*
 * test_speech: speech metrics on hand-made word timings, with the
 * expected values worked out by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "speech.h"
#include "util.h"

#define EPS	1e-9
#define W(s, a, b)	{ (char *)(s), (a), (b), 1.0 }

static void
test_basic(void **state)
{
	/* A 1.3 s pause between "is" and "um"; the others are short. */
	const struct stt_word w[] = {
		W("Hello", 0.5, 1.0), W("my", 1.2, 1.4), W("name", 1.5, 1.9),
		W("is", 2.0, 2.2), W("um", 3.5, 3.8), W("Tom.", 4.0, 4.5),
	};
	struct speech_metrics m;

	speech_metrics_compute(w, 6, 6.0, &m);
	assert_float_equal(m.duration_s, 6.0, EPS);
	/* 4.5 - 0.5 = 4.0 from first to last, less the long pause 1.3. */
	assert_float_equal(m.speaking_s, 2.7, EPS);
	assert_int_equal(m.word_count, 6);
	assert_int_equal(m.filler_count, 1);
	assert_float_equal(m.wpm, 6 * 60 / 2.7, EPS);
	assert_float_equal(m.fillers_per_min, 60 / 2.7, EPS);
	assert_float_equal(m.longest_pause_s, 1.3, EPS);
	assert_int_equal(m.long_pauses, 1);
	/* hello my name is tom: five words, all different. */
	assert_float_equal(m.type_token_ratio, 1.0, EPS);
}

static void
test_pauses(void **state)
{
	/* Gaps: 1.0 (not long: over 1 s only), 2.5, 0.5, 1.5, and -0.1. */
	const struct stt_word w[] = {
		W("a", 0.0, 1.0), W("b", 2.0, 2.5), W("c", 5.0, 5.5),
		W("d", 6.0, 6.5), W("e", 8.0, 9.0), W("f", 8.9, 9.5),
	};
	struct speech_metrics m;

	speech_metrics_compute(w, 6, 0, &m);
	/* No audio length given: the last word's end. */
	assert_float_equal(m.duration_s, 9.5, EPS);
	assert_int_equal(m.long_pauses, 2);
	assert_float_equal(m.longest_pause_s, 2.5, EPS);
	/* 9.5 - 0 - (2.5 + 1.5) */
	assert_float_equal(m.speaking_s, 5.5, EPS);
	assert_float_equal(m.wpm, 6 * 60 / 5.5, EPS);
	assert_int_equal(m.filler_count, 0);
	assert_float_equal(m.fillers_per_min, 0, EPS);
}

static void
test_fillers(void **state)
{
	/*
	 * "Like, I like, uh, reading and you know like hiking. Do you know
	 * it? Um I would like UMM er ah hmm things like that"
	 * Fillers: Like(start), uh, you know, like(after know), Um, UMM, er,
	 * ah, hmm = 9. Not: I like, do you know, would like, things like.
	 */
	const struct stt_word w[] = {
		W("Like,", 0.0, 0.2), W("I", 0.3, 0.4), W("like,", 0.4, 0.6),
		W("uh,", 0.7, 0.9), W("reading", 1.0, 1.4), W("and", 1.5, 1.6),
		W("you", 1.7, 1.8), W("know", 1.8, 2.0), W("like", 2.1, 2.3),
		W("hiking.", 2.4, 2.8), W("Do", 3.0, 3.1), W("you", 3.1, 3.2),
		W("know", 3.2, 3.4), W("it?", 3.4, 3.5), W("Um", 3.6, 3.8),
		W("I", 3.9, 4.0), W("would", 4.0, 4.2), W("like", 4.2, 4.4),
		W("UMM", 4.5, 4.7), W("er", 4.8, 4.9), W("ah", 5.0, 5.1),
		W("hmm", 5.2, 5.4), W("things", 5.5, 5.8), W("like", 5.8, 6.0),
		W("that", 6.0, 6.2),
	};
	const bool want[] = {
		true, false, false, true, false, false, true, true, true,
		false, false, false, false, false, true, false, false, false,
		true, true, true, true, false, false, false,
	};
	bool mark[ARRAY_LEN(w)];
	struct speech_metrics m;
	size_t i;

	assert_int_equal(speech_fillers(w, ARRAY_LEN(w), mark), 9);
	for (i = 0; i < ARRAY_LEN(w); i++)
		assert_int_equal(mark[i], want[i]);
	assert_int_equal(speech_fillers(w, ARRAY_LEN(w), NULL), 9);

	speech_metrics_compute(w, ARRAY_LEN(w), 7.0, &m);
	assert_int_equal(m.word_count, 25);
	assert_int_equal(m.filler_count, 9);
	/* No long pauses: speaking 6.2 s. */
	assert_float_equal(m.speaking_s, 6.2, EPS);
	assert_float_equal(m.fillers_per_min, 9 * 60 / 6.2, EPS);
	/*
	 * Non-fillers (15): i like reading and hiking do you know it i
	 * would like things like that -> 12 distinct (i, like twice...).
	 */
	assert_float_equal(m.type_token_ratio, 12.0 / 15.0, EPS);
}

static void
test_type_token_ratio(void **state)
{
	/* the cat and the cat the dog: 7 words, 4 distinct. */
	const struct stt_word w[] = {
		W("The", 0, 0.1), W("cat", 0.1, 0.2), W("and", 0.2, 0.3),
		W("the", 0.3, 0.4), W("Cat,", 0.4, 0.5), W("the", 0.5, 0.6),
		W("dog.", 0.6, 0.7),
	};
	struct speech_metrics m;

	speech_metrics_compute(w, 7, 1.0, &m);
	assert_float_equal(m.type_token_ratio, 4.0 / 7.0, EPS);
	assert_float_equal(m.speaking_s, 0.7, EPS);
	assert_float_equal(m.longest_pause_s, 0, EPS);
}

static void
test_empty(void **state)
{
	struct speech_metrics m;
	const struct stt_word one[] = { W("hi", 1.0, 1.0) };

	speech_metrics_compute(NULL, 0, 12.5, &m);
	assert_float_equal(m.duration_s, 12.5, EPS);
	assert_int_equal(m.word_count, 0);
	assert_float_equal(m.speaking_s, 0, EPS);
	assert_float_equal(m.wpm, 0, EPS);
	assert_float_equal(m.type_token_ratio, 0, EPS);

	/* A word of no length: no speaking time, so no rates. */
	speech_metrics_compute(one, 1, 2.0, &m);
	assert_int_equal(m.word_count, 1);
	assert_float_equal(m.speaking_s, 0, EPS);
	assert_float_equal(m.wpm, 0, EPS);
	assert_float_equal(m.type_token_ratio, 1.0, EPS);

	/* Only fillers: no vocabulary to measure. */
	{
		const struct stt_word f[] = { W("um", 0, 1), W("uh", 1, 2) };

		speech_metrics_compute(f, 2, 2.0, &m);
		assert_int_equal(m.filler_count, 2);
		assert_float_equal(m.fillers_per_min, 60.0, EPS);
		assert_float_equal(m.type_token_ratio, 0, EPS);
	}
}

static void
test_json(void **state)
{
	const struct stt_word w[] = {
		W("Hello", 0.5, 1.0), W("my", 1.2, 1.4), W("name", 1.5, 1.9),
		W("is", 2.0, 2.2), W("um", 3.5, 3.8), W("Tom.", 4.0, 4.5),
	};
	struct speech_metrics m;
	json_t *j;
	char *s;

	speech_metrics_compute(w, 6, 6.0, &m);
	j = speech_metrics_to_json(&m);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(8));
	assert_string_equal(s, "{\"duration_s\":6.0,\"filler_count\":1,"
	    "\"fillers_per_min\":22.22,\"long_pauses\":1,"
	    "\"longest_pause_s\":1.3,\"speaking_s\":2.7,"
	    "\"type_token_ratio\":1.0,\"word_count\":6,\"wpm\":133.33}");
	free(s);
	json_decref(j);
}

static void
test_annotate(void **state)
{
	/* The words of test_basic: "um" is a filler after a 1.3 s pause;
	   the 0.2 s gaps are not pauses. */
	const struct stt_word w[] = {
		W("Hello", 0.5, 1.0), W("my", 1.2, 1.4), W("name", 1.5, 1.9),
		W("is", 2.0, 2.2), W("um", 3.5, 3.8), W("Tom.", 4.0, 4.5),
	};
	json_t *t = speech_annotate(w, 6), *um;
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(t), 6);
	um = json_array_get(t, 4);
	assert_string_equal(json_string_value(json_object_get(um, "w")), "um");
	assert_true(json_is_true(json_object_get(um, "filler")));
	assert_string_equal(json_string_value(json_object_get(um, "pause")),
	    "1.3");
	assert_float_equal(json_number_value(json_object_get(um, "s")), 3.5,
	    EPS);
	for (i = 0; i < 6; i++) {
		if (i == 4)
			continue;
		assert_null(json_object_get(json_array_get(t, i), "pause"));
		assert_true(json_is_false(json_object_get(json_array_get(t, i),
		    "filler")));
	}
	json_decref(t);
	t = speech_annotate(w, 0);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_pauses),
		cmocka_unit_test(test_fillers),
		cmocka_unit_test(test_type_token_ratio),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_annotate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
