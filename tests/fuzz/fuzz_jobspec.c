/*
 * fuzz_jobspec: the natural-language job request parser (pipeline/
 * jobspec, jobspec_parse) on a teacher's words, against a fixed course
 * (students, assignments, sections, backends, Berlin's time zone); a
 * spec it produces must pass through jobspec_check and jobspec_summary.
 * The same input, read as JSON, goes to jobspec_check and
 * jobspec_summary as a spec an LLM or a teacher might send.
 */
#include "fuzz.h"

#include <stdlib.h>

#include "jobspec.h"

static const jobspec_student students[] = {
	{ 1, "Priya Shah", "priya.shah@example.edu", "s1001", "A" },
	{ 2, "Priya Patel", "ppatel@example.edu", "s1002", "B" },
	{ 3, "Ben Li", "ben.li@example.edu", NULL, "B" },
	{ 4, "Mary-Jane Watson", "mj@example.edu", "s1004", NULL },
};
static const jobspec_assignment assignments[] = {
	{ 10, 1, "Self-introduction" },
	{ 11, 2, "Hobbies and interests" },
};
static const char *const sections[] = { "A", "B", "Evening" };
static const char *const backends[] = { "llama3", "mistral", "qwen2.5:7b" };
static const long long course_ids[] = { 7, 8 };

static void	check(const json_t *, const jobspec_ctx *);

static void
check(const json_t *spec, const jobspec_ctx *c)
{
	json_t *qs;
	char *sum;

	if ((qs = jobspec_check(spec, c)) == NULL)
		abort();
	if (json_array_size(qs) == 0) {
		sum = jobspec_summary(spec, c);
		free(sum);
	}
	json_decref(qs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jobspec_ctx c = {
		.course_id = 7, .course_ids = course_ids, .n_course_ids = 2,
		.tz = "Europe/Berlin", .now = 1796481000,
		.students = students, .n_students = 4,
		.assignments = assignments, .n_assignments = 2,
		.sections = sections, .n_sections = 3,
		.backends = backends, .n_backends = 3,
	};
	json_t *spec = NULL, *qs = NULL;
	char *text;

	if (size > 4096)
		return 0;
	text = fuzz_cstr(data, size);
	if (jobspec_parse(text, &c, &spec, &qs) == 1) {
		if (!json_is_object(spec) || !json_is_array(qs))
			abort();
		check(spec, &c);
	}
	json_decref(spec);
	json_decref(qs);
	if ((spec = json_loads(text, 0, NULL)) != NULL) {
		check(spec, &c);
		json_decref(spec);
	}
	free(text);
	return 0;
}
