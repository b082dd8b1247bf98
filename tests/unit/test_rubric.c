/*
 * Unit tests for rubric: parsing and its validation errors, the default
 * rubric, the answer schema, the prompt, and answer validation edge cases
 * (missing criterion, out of range, 3.5, 4.0, string score, fenced JSON,
 * not JSON, missing feedback, normalised output), weights, descriptors
 * and the weighted overall.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rubric.h"
#include "util.h"

static struct rubric	*parse_text(const char *, char *, size_t);
static void		 expect_parse_error(const char *, const char *);
static void		 expect_invalid(const char *, const char *);
static json_t		*expect_valid(const char *);

static struct rubric *
parse_text(const char *text, char *err, size_t errlen)
{
	json_t *def = json_loads(text, 0, NULL);
	struct rubric *r;

	assert_non_null(def);
	r = rubric_parse(def, err, errlen);
	json_decref(def);
	return r;
}

static void
expect_parse_error(const char *text, const char *want)
{
	char err[256] = "";
	struct rubric *r = parse_text(text, err, sizeof(err));

	if (r != NULL)
		fail_msg("parsed but should not: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
expect_invalid(const char *answer, const char *want)
{
	struct rubric *r = rubric_default();
	json_t *eval = (json_t *)1;
	char err[256] = "";

	if (rubric_validate(r, answer, &eval, err, sizeof(err)))
		fail_msg("accepted: %s", answer);
	assert_null(eval);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	rubric_free(r);
}

static json_t *
expect_valid(const char *answer)
{
	struct rubric *r = rubric_default();
	json_t *eval = NULL;
	char err[256];

	if (!rubric_validate(r, answer, &eval, err, sizeof(err)))
		fail_msg("rejected (%s): %s", err, answer);
	rubric_free(r);
	return eval;
}

static void
test_default(void **state)
{
	struct rubric *r = rubric_default();
	static const char *keys[] = { "content", "organization", "delivery",
	    "language" };
	json_t *j, *def;
	size_t i;

	assert_string_equal(rubric_name(r), "Self-introduction");
	assert_int_equal(rubric_version(r), 1);
	assert_int_equal(rubric_min(r), 1);
	assert_int_equal(rubric_max(r), 5);
	assert_int_equal(rubric_count(r), 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(rubric_key(r, i), keys[i]);
		assert_true(strlen(rubric_title(r, i)) > 3);
		assert_true(strlen(rubric_description(r, i)) > 80);
	}
	/* rubric_json round-trips the definition. */
	j = rubric_json(r);
	def = json_loads(rubric_default_json(), 0, NULL);
	assert_true(json_equal(j, def));
	json_decref(j);
	json_decref(def);
	rubric_free(r);
}

static void
test_parse_minimal(void **state)
{
	char err[256];
	struct rubric *r = parse_text("{\"name\":\"Quick\",\"scale\":{\"min\":0,"
	    "\"max\":10},\"criteria\":[{\"key\":\"eye_contact\",\"title\":"
	    "\"Eye contact\"}]}", err, sizeof(err));

	assert_non_null(r);
	assert_int_equal(rubric_version(r), 1);
	assert_int_equal(rubric_min(r), 0);
	assert_int_equal(rubric_max(r), 10);
	assert_string_equal(rubric_key(r, 0), "eye_contact");
	assert_string_equal(rubric_description(r, 0), "");
	rubric_free(r);
}

static void
test_parse_errors(void **state)
{
	char many[4096];
	size_t i, n;

	expect_parse_error("[]", "not a JSON object");
	expect_parse_error("{\"scale\":{\"min\":1,\"max\":5},\"criteria\":"
	    "[{\"key\":\"a\",\"title\":\"A\"}]}", "name is missing");
	expect_parse_error("{\"name\":\" \",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\"}]}",
	    "name must not be empty");
	expect_parse_error("{\"name\":\"R\",\"version\":0,\"scale\":{\"min\":1,"
	    "\"max\":5},\"criteria\":[{\"key\":\"a\",\"title\":\"A\"}]}",
	    "version");
	expect_parse_error("{\"name\":\"R\",\"criteria\":[{\"key\":\"a\","
	    "\"title\":\"A\"}]}", "scale must be");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":5,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\"}]}",
	    "min 5 must be less than max 5");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1.5,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\"}]}", "scale must be");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[]}", "1 to 20 criteria");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"Content\",\"title\":\"A\"}]}",
	    "criteria[0].key \"Content\" must match [a-z_]+");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a1\",\"title\":\"A\"}]}",
	    "must match [a-z_]+");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"\",\"title\":\"A\"}]}", "criteria[0].key");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\"},{\"key\":\"a\","
	    "\"title\":\"B\"}]}", "criteria[1].key \"a\" is used twice");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\"}]}", "criteria[0] (a): title is "
	    "missing");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"description\":3}]}",
	    "description must be a string");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":5},"
	    "\"criteria\":[7]}", "criteria[0] is not an object");
	/* 21 criteria: too many. */
	n = (size_t)snprintf(many, sizeof(many), "{\"name\":\"R\",\"scale\":"
	    "{\"min\":1,\"max\":5},\"criteria\":[");
	for (i = 0; i < 21; i++) {
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		    "%s{\"key\":\"k_%c\",\"title\":\"T\"}", i ? "," : "",
		    (char)('a' + i));
	}
	snprintf(many + n, sizeof(many) - n, "]}");
	expect_parse_error(many, "1 to 20 criteria");
}

static void
test_schema(void **state)
{
	struct rubric *r = rubric_default();
	json_t *s = rubric_schema(r), *scores, *p;
	size_t i;

	assert_string_equal(json_string_value(json_object_get(s, "type")),
	    "object");
	assert_true(json_is_false(json_object_get(s, "additionalProperties")));
	assert_int_equal(json_array_size(json_object_get(s, "required")), 3);
	/* A quote per criterion, required, as evidence for its score. */
	p = json_object_get(json_object_get(s, "properties"), "evidence");
	assert_int_equal(json_array_size(json_object_get(p, "required")), 4);
	assert_true(json_is_false(json_object_get(p, "additionalProperties")));
	p = json_object_get(json_object_get(p, "properties"), "delivery");
	assert_string_equal(json_string_value(json_object_get(p, "type")),
	    "string");
	assert_int_equal(json_integer_value(json_object_get(p, "maxLength")),
	    RUBRIC_QUOTE_MAX);
	scores = json_object_get(json_object_get(s, "properties"), "scores");
	assert_true(json_is_false(json_object_get(scores,
	    "additionalProperties")));
	assert_int_equal(json_array_size(json_object_get(scores, "required")),
	    4);
	for (i = 0; i < rubric_count(r); i++) {
		p = json_object_get(json_object_get(scores, "properties"),
		    rubric_key(r, i));
		assert_string_equal(json_string_value(json_object_get(p,
		    "type")), "integer");
		assert_int_equal(json_integer_value(json_object_get(p,
		    "minimum")), 1);
		assert_int_equal(json_integer_value(json_object_get(p,
		    "maximum")), 5);
	}
	p = json_object_get(json_object_get(s, "properties"), "strengths");
	assert_string_equal(json_string_value(json_object_get(p, "type")),
	    "array");
	json_decref(s);
	rubric_free(r);
}

static void
test_prompt(void **state)
{
	struct rubric *r = rubric_default();
	json_t *m = json_pack("{s:f,s:i,s:s}", "words_per_minute", 131.456,
	    "filler_words", 4, "note", "quiet room");
	char *p = rubric_prompt(r, "Hello, I am Li Wei from Chengdu.", m);
	char *q;

	assert_non_null(strstr(p, "Hello, I am Li Wei from Chengdu."));
	assert_non_null(strstr(p, "from 1 (lowest) to 5 (highest)"));
	assert_non_null(strstr(p, "Organization (\"organization\")"));
	assert_non_null(strstr(p, "words_per_minute: 131.46"));
	assert_non_null(strstr(p, "filler_words: 4"));
	assert_non_null(strstr(p, "JSON only"));
	assert_non_null(strstr(p, "\"language\": <integer 1-5>"));
	/* No metrics and no transcript still make a sensible prompt. */
	/* The evidence: a quote per criterion, word for word. */
	assert_non_null(strstr(p, "word for word from the transcript"));
	assert_non_null(strstr(p, "\"evidence\": {\"content\": \"<quote>\""));
	q = rubric_prompt(r, "", NULL);
	assert_null(strstr(q, "Speech measurements"));
	assert_non_null(strstr(q, "(nothing was recognised)"));
	free(p);
	free(q);
	json_decref(m);
	rubric_free(r);
}

static void
test_validate_ok(void **state)
{
	json_t *e = expect_valid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":5,\"language\":4.0,\"extra\":9},\"feedback\":\"Good "
	    "start.\",\"strengths\":[\"clear voice\",\"\",7],\"improvements\":"
	    "\"add a closing\"}");
	json_t *scores = json_object_get(e, "scores");

	assert_int_equal(json_object_size(scores), 4);
	assert_int_equal(json_integer_value(json_object_get(scores,
	    "language")), 4);
	assert_true(json_is_integer(json_object_get(scores, "language")));
	assert_true(json_is_real(json_object_get(e, "overall")));
	assert_true(json_real_value(json_object_get(e, "overall")) == 4.0);
	assert_string_equal(json_string_value(json_object_get(e, "feedback")),
	    "Good start.");
	assert_int_equal(json_array_size(json_object_get(e, "strengths")), 1);
	assert_int_equal(json_array_size(json_object_get(e, "improvements")),
	    1);
	json_decref(e);
}

static void
test_validate_quotes(void **state)
{
	json_t *e = expect_valid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":5,\"language\":4},\"evidence\":{\"content\":"
	    "\" \\\"I study computer science\\\" \",\"organization\":\"\","
	    "\"delivery\":7,\"extra\":\"x\"},\"feedback\":\"Good.\"}");
	json_t *q = json_object_get(e, "quotes");

	/* Trimmed of spaces and quotation marks; an empty or non-string
	   quote and unknown criteria are left out, the scores stand. */
	assert_int_equal(json_object_size(q), 1);
	assert_string_equal(json_string_value(json_object_get(q, "content")),
	    "I study computer science");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e,
	    "scores"), "delivery")), 5);
	json_decref(e);
}

static void
test_validate_rounding_and_optional(void **state)
{
	json_t *e = expect_valid("  \n{\"scores\":{\"content\":4,"
	    "\"organization\":4,\"delivery\":5,\"language\":4},\"feedback\":"
	    "\"Nice.\"}\n\n");

	/* 17 / 4 = 4.25; and 13 / 3 would be 4.33. */
	assert_true(json_real_value(json_object_get(e, "overall")) == 4.25);
	assert_int_equal(json_array_size(json_object_get(e, "strengths")), 0);
	assert_int_equal(json_array_size(json_object_get(e, "improvements")),
	    0);
	json_decref(e);
}

static void
test_validate_overall_two_decimals(void **state)
{
	char err[256];
	struct rubric *r = parse_text("{\"name\":\"R\",\"scale\":{\"min\":1,"
	    "\"max\":5},\"criteria\":[{\"key\":\"a\",\"title\":\"A\"},{\"key\":"
	    "\"b\",\"title\":\"B\"},{\"key\":\"c\",\"title\":\"C\"}]}", err,
	    sizeof(err));
	json_t *e;

	assert_non_null(r);
	assert_true(rubric_validate(r, "{\"scores\":{\"a\":5,\"b\":4,\"c\":4},"
	    "\"feedback\":\"ok\"}", &e, err, sizeof(err)));
	assert_true(json_real_value(json_object_get(e, "overall")) == 4.33);
	json_decref(e);
	rubric_free(r);
}

static void
test_validate_fenced(void **state)
{
	json_t *e = expect_valid("```json\n{\"scores\":{\"content\":2,"
	    "\"organization\":3,\"delivery\":2,\"language\":3},\"feedback\":"
	    "\"Keep going.\"}\n```\n");

	assert_true(json_real_value(json_object_get(e, "overall")) == 2.5);
	json_decref(e);
	e = expect_valid("Here you are:\n```\n{\"scores\":{\"content\":1,"
	    "\"organization\":1,\"delivery\":1,\"language\":1},\"feedback\":"
	    "\"x\"}```");
	json_decref(e);
}

static void
test_validate_errors(void **state)
{
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"language\":4},\"feedback\":\"f\"}",
	    "missing score for criterion \"delivery\"");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":6,"
	    "\"delivery\":3,\"language\":4},\"feedback\":\"f\"}",
	    "score for criterion \"organization\" is 6, outside the scale 1..5");
	expect_invalid("{\"scores\":{\"content\":0,\"organization\":3,"
	    "\"delivery\":3,\"language\":4},\"feedback\":\"f\"}",
	    "\"content\" is 0, outside");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":3.5,\"language\":4},\"feedback\":\"f\"}",
	    "score for criterion \"delivery\" must be a whole number, got 3.5");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":3,\"language\":\"4\"},\"feedback\":\"f\"}",
	    "score for criterion \"language\" must be an integer, got a string");
	expect_invalid("{\"scores\":{\"content\":null,\"organization\":3,"
	    "\"delivery\":3,\"language\":4},\"feedback\":\"f\"}",
	    "\"content\" must be an integer, got null");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":3,\"language\":4},\"feedback\":\"  \"}",
	    "no feedback (empty)");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":3,\"language\":4}}", "no feedback (missing)");
	expect_invalid("{\"scores\":{\"content\":4,\"organization\":3,"
	    "\"delivery\":3,\"language\":4},\"feedback\":[\"x\"]}",
	    "no feedback (not a string)");
	expect_invalid("{\"content\":4,\"feedback\":\"f\"}",
	    "no \"scores\" object");
	expect_invalid("The student did well, 4/5.", "answer is not JSON");
	expect_invalid("{\"scores\":{\"content\":4", "answer is not JSON");
	expect_invalid("[1,2]", "not an object");
	expect_invalid("   ", "answer is empty");
	expect_invalid(NULL, "answer is empty");
	expect_invalid("```json\n```", "answer is empty");
}

/* Weights and descriptors: parsed, kept by rubric_json, in the prompt. */
#define WEIGHTED \
	"{\"name\":\"W\",\"scale\":{\"min\":0,\"max\":2},\"criteria\":[" \
	"{\"key\":\"a\",\"title\":\"A\",\"weight\":3,\"descriptors\":" \
	"[\"none at all\",\"some of it\",\"all of it\"]}," \
	"{\"key\":\"b\",\"title\":\"B\",\"weight\":0.5}," \
	"{\"key\":\"c\",\"title\":\"C\"}]}"

static void
test_weights_descriptors(void **state)
{
	char err[256];
	struct rubric *r = parse_text(WEIGHTED, err, sizeof(err)), *again;
	json_t *j, *c;
	char *prompt;

	assert_non_null(r);
	assert_true(rubric_weight(r, 0) == 3.0);
	assert_true(rubric_weight(r, 1) == 0.5);
	assert_true(rubric_weight(r, 2) == 1.0);
	assert_string_equal(rubric_descriptor(r, 0, 0), "none at all");
	assert_string_equal(rubric_descriptor(r, 0, 2), "all of it");
	assert_null(rubric_descriptor(r, 0, 3));
	assert_null(rubric_descriptor(r, 1, 1));
	j = rubric_json(r);
	c = json_array_get(json_object_get(j, "criteria"), 0);
	assert_int_equal(json_integer_value(json_object_get(c, "weight")), 3);
	assert_int_equal(json_array_size(json_object_get(c, "descriptors")),
	    3);
	c = json_array_get(json_object_get(j, "criteria"), 1);
	assert_true(json_real_value(json_object_get(c, "weight")) == 0.5);
	assert_null(json_object_get(c, "descriptors"));
	again = rubric_parse(j, err, sizeof(err));
	assert_non_null(again);
	assert_string_equal(rubric_descriptor(again, 0, 1), "some of it");
	rubric_free(again);
	json_decref(j);
	prompt = rubric_prompt(r, "hello", NULL);
	assert_non_null(strstr(prompt, "What each score means:\n  0: none at "
	    "all\n  1: some of it\n  2: all of it\n"));
	free(prompt);
	rubric_free(r);
}

static void
test_weights_descriptors_errors(void **state)
{
	struct rubric_fault f;
	json_t *def;

	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":3},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"weight\":0}]}",
	    "weight must be a number greater than 0");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":3},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"weight\":\"2\"}]}",
	    "weight must be a number");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":3},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"weight\":-1}]}",
	    "weight must be");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":3},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"descriptors\":"
	    "[\"x\",\"y\"]}]}", "exactly 3 texts, one per level from 1 to 3");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":3},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"descriptors\":"
	    "[\"x\",\" \",\"z\"]}]}", "level 2: a descriptor must be");
	expect_parse_error("{\"name\":\"R\",\"scale\":{\"min\":0,\"max\":100},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\",\"descriptors\":"
	    "[]}]}", "at most 11 levels");
	/* The fault names the criterion and the field, for a form. */
	def = json_loads("{\"name\":\"R\",\"scale\":{\"min\":1,\"max\":2},"
	    "\"criteria\":[{\"key\":\"a\",\"title\":\"A\"},{\"key\":\"b\","
	    "\"title\":\"B\",\"weight\":0}]}", 0, NULL);
	assert_null(rubric_parse_fault(def, &f));
	assert_int_equal(f.criterion, 1);
	assert_string_equal(f.field, "weight");
	assert_string_equal(f.key, "b");
	json_decref(def);
	def = json_loads("{\"name\":\"\",\"scale\":{\"min\":1,\"max\":2},"
	    "\"criteria\":[]}", 0, NULL);
	assert_null(rubric_parse_fault(def, &f));
	assert_int_equal(f.criterion, -1);
	assert_string_equal(f.field, "name");
	json_decref(def);
}

/* Overall is the weighted mean: (3*2 + 0.5*0 + 1*1) / 4.5 = 1.56. */
static void
test_validate_weighted(void **state)
{
	char err[256];
	struct rubric *r = parse_text(WEIGHTED, err, sizeof(err));
	json_t *eval = NULL;

	assert_non_null(r);
	if (!rubric_validate(r, "{\"scores\":{\"a\":2,\"b\":0,\"c\":1},"
	    "\"evidence\":{},\"feedback\":\"ok\"}", &eval, err, sizeof(err)))
		fail_msg("rejected: %s", err);
	assert_true(json_real_value(json_object_get(eval, "overall")) == 1.56);
	json_decref(eval);
	rubric_free(r);
}

/* Migration 015 ships the same default rubric as rubric_default(). */
static void
test_default_matches_migration(void **state)
{
	char path[1024], *text, *open, *close;
	struct rubric *r = rubric_default();
	json_t *shipped, *def;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/sql/015_rubrics.sql",
	    INTROEVAL_SOURCE_DIR);
	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_non_null(open = strstr(text, "$json$"));
	open += 6;
	assert_non_null(close = strstr(open, "$json$"));
	*close = '\0';
	shipped = json_loads(open, 0, NULL);
	assert_non_null(shipped);
	def = rubric_json(r);
	if (!json_equal(shipped, def))
		fail_msg("sql/015_rubrics.sql's default rubric differs from "
		    "rubric_default_json()");
	json_decref(def);
	json_decref(shipped);
	free(text);
	rubric_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_prompt),
		cmocka_unit_test(test_validate_ok),
		cmocka_unit_test(test_validate_quotes),
		cmocka_unit_test(test_validate_rounding_and_optional),
		cmocka_unit_test(test_validate_overall_two_decimals),
		cmocka_unit_test(test_validate_fenced),
		cmocka_unit_test(test_validate_errors),
		cmocka_unit_test(test_weights_descriptors),
		cmocka_unit_test(test_weights_descriptors_errors),
		cmocka_unit_test(test_validate_weighted),
		cmocka_unit_test(test_default_matches_migration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
