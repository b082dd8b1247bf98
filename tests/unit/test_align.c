/*
 * test_align: finding a scoring model's quote in a timed transcript
 * (align.h): exact, case and punctuation, recognition errors, absent
 * quotes and quotes that occur twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "align.h"

#define W(s, a, b)	{ (char *)(s), (a), (b), 1.0 }

/* "hello my name is anna i am studying computer science at the
   university and i like to play the guitar i like to play the guitar"
   as PocketSphinx writes it: lower case, no punctuation. Word k starts
   at k seconds and ends at k + 0.5. */
static const struct stt_word words[] = {
	W("hello", 0, 0.5), W("my", 1, 1.5), W("name", 2, 2.5),
	W("is", 3, 3.5), W("anna", 4, 4.5), W("i", 5, 5.5),
	W("am", 6, 6.5), W("studying", 7, 7.5), W("computer", 8, 8.5),
	W("science", 9, 9.5), W("at", 10, 10.5), W("the", 11, 11.5),
	W("university", 12, 12.5), W("and", 13, 13.5), W("i", 14, 14.5),
	W("like", 15, 15.5), W("to", 16, 16.5), W("play", 17, 17.5),
	W("the", 18, 18.5), W("guitar", 19, 19.5), W("i", 20, 20.5),
	W("like", 21, 21.5), W("to", 22, 22.5), W("play", 23, 23.5),
	W("the", 24, 24.5), W("guitar", 25, 25.5),
};
#define NWORDS	(sizeof(words) / sizeof(words[0]))

static void
expect(const char *quote, size_t first, size_t last, double cost)
{
	struct align_match m;

	memset(&m, 0, sizeof(m));
	assert_true(align_quote(words, NWORDS, quote, &m));
	assert_int_equal(m.first, first);
	assert_int_equal(m.last, last);
	assert_float_equal(m.start_s, words[first].start_s, 1e-9);
	assert_float_equal(m.end_s, words[last].end_s, 1e-9);
	assert_float_equal(m.cost, cost, 1e-9);
}

static void
expect_none(const char *quote)
{
	struct align_match m;

	assert_false(align_quote(words, NWORDS, quote, &m));
}

static void
test_exact(void **state)
{
	(void)state;
	expect("studying computer science", 7, 9, 0);
	expect("hello my name is anna", 0, 4, 0);
	expect("guitar", 19, 19, 0);	/* the first of two */
}

static void
test_case_and_punctuation(void **state)
{
	(void)state;
	expect("Hello, my name is Anna.", 0, 4, 0);
	expect("\"I am studying Computer Science\"", 5, 9, 0);
	/* Curly quotes around it; a hyphen splits words. */
	expect("\xe2\x80\x9c" "at the university" "\xe2\x80\x9d", 10, 12, 0);
	expect("computer-science", 8, 9, 0);
	/* An apostrophe is dropped, not a split: "Anna's" is "annas",
	   spelt nearly like "anna". */
	expect("name is Anna's", 2, 4, 0.5);
}

static void
test_one_recognition_error(void **state)
{
	(void)state;
	/* A word heard wrongly: "physics" where "science" was said. */
	expect("I am studying computer physics at the university", 5, 12,
	    1);
	/* A word spelt nearly alike costs half. */
	expect("I am studyin computer science", 5, 9, 0.5);
	/* A word the recogniser missed (quote has one more word). */
	expect("studying computer science at the big university", 7, 12,
	    1);
	/* A word the recogniser added. */
	expect("my name is really anna", 1, 4, 1);
}

static void
test_not_there(void **state)
{
	(void)state;
	expect_none("I have been playing football for ten years");
	expect_none("");
	expect_none("!!! ...");
	/* Short quotes must match exactly. */
	expect_none("play violin");
	/* Too many errors for the quote's length. */
	expect_none("I was studying chemistry in the college");
}

static void
test_twice(void **state)
{
	(void)state;
	/* The phrase occurs at 14..19 and at 20..25: the first wins. */
	expect("I like to play the guitar", 14, 19, 0);
	/* With an error, still the first occurrence. */
	expect("I like to play a guitar", 14, 19, 1);
}

static void
test_empty_transcript(void **state)
{
	struct align_match m;

	(void)state;
	assert_false(align_quote(words, 0, "hello", &m));
	assert_false(align_quote(NULL, 0, "hello", &m));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_case_and_punctuation),
		cmocka_unit_test(test_one_recognition_error),
		cmocka_unit_test(test_not_there),
		cmocka_unit_test(test_twice),
		cmocka_unit_test(test_empty_transcript),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
