/*
 * fuzz_rubric: the validator of a model's answer (llm/rubric,
 * rubric_validate) against the default rubric and one with descriptors
 * and weights. The input is the model's content, as it arrives.
 */
#include "fuzz.h"

#include <stdlib.h>

#include "rubric.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rubric *def, *small;
	json_t *eval = NULL, *spec;
	char err[256], *content;

	if (def == NULL) {
		def = rubric_default();
		spec = json_loads("{\"name\": \"F\", \"scale\": {\"min\": 0, "
		    "\"max\": 2}, \"criteria\": [{\"key\": \"a\", \"title\": "
		    "\"A\", \"weight\": 0.5, \"descriptors\": [\"x\", \"y\", "
		    "\"z\"]}, {\"key\": \"b_c\", \"title\": \"B\", \"weight\": "
		    "1000}]}", 0, NULL);
		small = rubric_parse(spec, err, sizeof(err));
		json_decref(spec);
		if (def == NULL || small == NULL)
			abort();
	}
	content = fuzz_cstr(data, size);
	if (rubric_validate(def, content, &eval, err, sizeof(err))) {
		if (!json_is_object(eval))
			abort();
		json_decref(eval);
	}
	eval = NULL;
	if (rubric_validate(small, content, &eval, err, sizeof(err)))
		json_decref(eval);
	free(content);
	return 0;
}
