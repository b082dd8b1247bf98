/*
 * fuzz_json_body: the JSON request bodies of the API as the handlers
 * read them: the text (http_read_body hands over a NUL-terminated string)
 * through jansson with the flags the handlers use, then the checks that
 * follow: the rubric definition of POST /api/v1/rubrics (rubric_parse,
 * whose normalised form must parse again to the same thing, then its
 * answer schema and prompt), the priority body, the course PATCH body's
 * members.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "rubric.h"

static void	check_rubric(json_t *);

static void
check_rubric(json_t *body)
{
	struct rubric_fault fault;
	struct rubric *r, *again;
	json_t *norm, *norm2, *schema;
	char err[256], *prompt;

	if ((r = rubric_parse_fault(body, &fault)) == NULL) {
		rubric_fault_text(&fault, err, sizeof(err));
		return;
	}
	norm = rubric_json(r);
	if ((again = rubric_parse(norm, err, sizeof(err))) == NULL)
		abort();	/* the normalised form must be accepted */
	norm2 = rubric_json(again);
	if (!json_equal(norm, norm2))
		abort();
	schema = rubric_schema(r);
	prompt = rubric_prompt(r, "Hello, I am Li.", NULL);
	free(prompt);
	json_decref(schema);
	json_decref(norm2);
	json_decref(norm);
	rubric_free(again);
	rubric_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body, *title, *arch, *tz;
	json_int_t prio;
	char *text;
	const char *s;

	if (size > 65536)	/* http_read_body's limit */
		return 0;
	text = fuzz_cstr(data, size);
	if ((body = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) != NULL) {
		title = json_object_get(body, "title");
		arch = json_object_get(body, "archived");
		tz = json_object_get(body, "time_zone");
		if (json_is_object(body) && (s = json_string_value(title)) !=
		    NULL && strlen(s) > 65536)
			abort();
		(void)arch;
		(void)tz;
		json_decref(body);
	}
	if ((body = json_loads(text, 0, NULL)) != NULL) {
		if (json_unpack(body, "{s:I}", "priority", &prio) == 0)
			(void)prio;
		check_rubric(body);
		json_decref(body);
	}
	free(text);
	return 0;
}
