/*
 * Unit tests for jobspec (issue 14): the rules parser against a table of
 * phrasings with a fixed clock and time zone (Saturday 2026-12-05 14:30
 * UTC, Europe/Berlin; and a Monday after the spring change in
 * America/New_York), the sentences it must leave to the LLM, the
 * questions it asks instead of guessing, the validator on broken specs,
 * the summary, the embedded schema, and tz's conversions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobspec.h"
#include "tz.h"
#include "util.h"

/* Saturday 5 December 2026, 15:30 in Berlin. */
#define NOW_BERLIN	1796481000
/* Monday 9 March 2026, 10:30 EDT: New York moved its clocks yesterday. */
#define NOW_NEWYORK	1773066600

static const jobspec_student students[] = {
	{ 1, "Priya Shah", "priya.shah@example.edu", "s1001", "A" },
	{ 2, "Priya Patel", "ppatel@example.edu", "s1002", "B" },
	{ 3, "Ben Li", "ben.li@example.edu", "s1003", "B" },
	{ 4, "Mary-Jane Watson", "mj@example.edu", "s1004", "A" },
	{ 5, "Omar Haddad", "omar@example.edu", "s1005", "B" },
	{ 6, "Li Wei", "liwei@example.edu", "s1006", "Evening" },
};
static const jobspec_assignment assignments[] = {
	{ 10, 1, "Self-introduction" },
	{ 11, 2, "Hobbies and interests" },
	{ 12, 3, "My hometown" },
};
static const char *const sections[] = { "A", "B", "Evening" };
static const char *const backends[] = { "llama3", "mistral", "qwen2.5:7b" };
static const long long course_ids[] = { 7, 8 };

static jobspec_ctx
ctx_berlin(void)
{
	jobspec_ctx c = {
		.course_id = 7, .course_ids = course_ids, .n_course_ids = 2,
		.tz = "Europe/Berlin", .now = NOW_BERLIN,
		.students = students, .n_students = ARRAY_LEN(students),
		.assignments = assignments,
		.n_assignments = ARRAY_LEN(assignments),
		.sections = sections, .n_sections = ARRAY_LEN(sections),
		.backends = backends, .n_backends = ARRAY_LEN(backends),
	};

	return c;
}

struct phrasing {
	const char	*text;
	const char	*spec;		/* keys that differ from "any" */
	const char	*questions;	/* their codes, space separated */
};

#define TODAY	"2026-12-05T00:00:00+01:00"
#define YDAY	"2026-12-04T00:00:00+01:00"
#define MONDAY	"2026-11-30T00:00:00+01:00"

static const struct phrasing berlin[] = {
	/* The examples. */
	{ "re-evaluate all of section B's uploads from this week with llama3",
	  "{'action':'re_evaluate','section':'B','since':'" MONDAY "',"
	  "'backend':'llama3'}", "" },
	{ "retry everything that failed today",
	  "{'action':'retry','status':['failed'],'since':'" TODAY "'}", "" },
	{ "move Priya Shah's submission to the front",
	  "{'action':'prioritize','student_ids':[1],'priority':1000}", "" },
	{ "cancel the pending ones for assignment 2",
	  "{'action':'cancel','status':['pending'],'assignment_id':11}", "" },
	{ "export section A's scores",
	  "{'action':'export','section':'A'}", "" },
	{ "re-evaluate section B's failed uploads from today",
	  "{'action':'re_evaluate','section':'B','status':['failed'],"
	  "'since':'" TODAY "'}", "" },
	/* Every action's everyday verbs. */
	{ "evaluate the pending submissions",
	  "{'action':'evaluate','status':['pending']}", "" },
	{ "score the waiting uploads for assignment 1",
	  "{'action':'evaluate','status':['pending'],'assignment_id':10}", "" },
	{ "grade all queued videos",
	  "{'action':'evaluate','status':['pending']}", "" },
	{ "assess section Evening",
	  "{'action':'evaluate','section':'Evening'}", "" },
	{ "run the pending ones", "{'action':'evaluate','status':['pending']}",
	  "" },
	{ "run the failed ones again",
	  "{'action':'re_evaluate','status':['failed']}", "" },
	{ "evaluate section A again",
	  "{'action':'re_evaluate','section':'A'}", "" },
	{ "reevaluate section A", "{'action':'re_evaluate','section':'A'}", "" },
	{ "re evaluate section A", "{'action':'re_evaluate','section':'A'}",
	  "" },
	{ "rescore section A", "{'action':'re_evaluate','section':'A'}", "" },
	{ "regrade section A", "{'action':'re_evaluate','section':'A'}", "" },
	{ "re-run section A", "{'action':'re_evaluate','section':'A'}", "" },
	{ "redo the completed ones in section A",
	  "{'action':'re_evaluate','section':'A','status':['completed']}", "" },
	{ "reassess Omar's video", "{'action':'re_evaluate','student_ids':[5]}",
	  "" },
	{ "retry the failed ones", "{'action':'retry','status':['failed']}",
	  "" },
	{ "try again for Ben Li", "{'action':'retry','student_ids':[3]}", "" },
	{ "rerun the failed", "{'action':'retry','status':['failed']}", "" },
	{ "re-run the failed uploads from yesterday",
	  "{'action':'retry','status':['failed'],'since':'" YDAY "',"
	  "'until':'" TODAY "'}", "" },
	{ "retry everything", "{'action':'retry'}", "" },
	{ "cancel section B", "{'action':'cancel','section':'B'}", "" },
	{ "stop the stuck ones", "{'action':'cancel','status':['processing']}",
	  "" },
	{ "drop Ben's queued jobs",
	  "{'action':'cancel','status':['pending'],'student_ids':[3]}", "" },
	{ "abort everything waiting in section Evening",
	  "{'action':'cancel','status':['pending'],'section':'Evening'}", "" },
	{ "halt the processing jobs",
	  "{'action':'cancel','status':['processing']}", "" },
	{ "prioritize Omar Haddad",
	  "{'action':'prioritize','student_ids':[5],'priority':1000}", "" },
	{ "prioritise section B",
	  "{'action':'prioritize','section':'B','priority':1000}", "" },
	{ "bump Omar's video",
	  "{'action':'prioritize','student_ids':[5],'priority':1000}", "" },
	{ "move Ben Li to the front of the queue",
	  "{'action':'prioritize','student_ids':[3],'priority':1000}", "" },
	{ "Ben's upload is urgent",
	  "{'action':'prioritize','student_ids':[3],'priority':1000}", "" },
	{ "priority 5 for Ben's upload",
	  "{'action':'prioritize','student_ids':[3],'priority':5}", "" },
	{ "set priority to 7 for section A",
	  NULL, NULL },
	{ "give section A priority 7",
	  NULL, NULL },
	{ "section A at priority 7",
	  "{'action':'prioritize','section':'A','priority':7}", "" },
	{ "high priority for the pending ones in section A",
	  "{'action':'prioritize','section':'A','status':['pending'],"
	  "'priority':1000}", "" },
	{ "low priority for section Evening",
	  "{'action':'prioritize','section':'Evening','priority':0}", "" },
	{ "expedite the waiting ones",
	  "{'action':'prioritize','status':['pending'],'priority':1000}", "" },
	{ "urgent: regrade Ben Li",
	  "{'action':'re_evaluate','student_ids':[3],'priority':1000}", "" },
	{ "re-evaluate section A with priority 10",
	  "{'action':'re_evaluate','section':'A','priority':10}", "" },
	{ "retry the failed ones asap",
	  "{'action':'retry','status':['failed'],'priority':1000}", "" },
	{ "export", "{'action':'export'}", "" },
	{ "download the csv for section A",
	  "{'action':'export','section':'A'}", "" },
	{ "export the results of assignment 3 as csv",
	  "{'action':'export','assignment_id':12}", "" },
	{ "download the scores of the completed submissions",
	  "{'action':'export','status':['completed']}", "" },
	{ "csv of section B", "{'action':'export','section':'B'}", "" },
	/* Sections in their forms. */
	{ "regrade B section", "{'action':'re_evaluate','section':'B'}", "" },
	{ "regrade sec. b", "{'action':'re_evaluate','section':'B'}", "" },
	{ "regrade sec b", "{'action':'re_evaluate','section':'B'}", "" },
	{ "regrade the evening section",
	  "{'action':'re_evaluate','section':'Evening'}", "" },
	{ "Regrade Section a", "{'action':'re_evaluate','section':'A'}", "" },
	/* States and their words. */
	{ "retry the errored ones", "{'action':'retry','status':['failed']}",
	  "" },
	{ "retry the broken uploads", "{'action':'retry','status':['failed']}",
	  "" },
	{ "cancel the retrying jobs", "{'action':'cancel','status':['retry']}",
	  "" },
	{ "re-evaluate the done ones",
	  "{'action':'re_evaluate','status':['completed']}", "" },
	{ "re-evaluate the finished and failed ones",
	  "{'action':'re_evaluate','status':['completed','failed']}", "" },
	{ "cancel the stuck and waiting jobs",
	  "{'action':'cancel','status':['pending','processing']}", "" },
	{ "regrade the scored submissions",
	  "{'action':'re_evaluate','status':['completed']}", "" },
	/* Dates. */
	{ "retry the failed ones from yesterday",
	  "{'action':'retry','status':['failed'],'since':'" YDAY "',"
	  "'until':'" TODAY "'}", "" },
	{ "retry what failed yesterday", NULL, NULL },
	{ "retry the failed ones since yesterday",
	  "{'action':'retry','status':['failed'],'since':'" YDAY "'}", "" },
	{ "regrade this week's uploads",
	  "{'action':'re_evaluate','since':'" MONDAY "'}", "" },
	{ "regrade the uploads since Monday",
	  "{'action':'re_evaluate','since':'" MONDAY "'}", "" },
	{ "regrade the uploads since thursday",
	  "{'action':'re_evaluate','since':'2026-12-03T00:00:00+01:00'}", "" },
	{ "regrade uploads on Wednesday",
	  "{'action':'re_evaluate','since':'2026-12-02T00:00:00+01:00',"
	  "'until':'2026-12-03T00:00:00+01:00'}", "" },
	{ "regrade the uploads since last saturday",
	  "{'action':'re_evaluate','since':'2026-11-28T00:00:00+01:00'}", "" },
	{ "regrade the uploads from last saturday",
	  "{'action':'re_evaluate','since':'2026-11-28T00:00:00+01:00',"
	  "'until':'2026-11-29T00:00:00+01:00'}", "" },
	{ "regrade last saturday's uploads",
	  "{'action':'re_evaluate','since':'2026-11-28T00:00:00+01:00',"
	  "'until':'2026-11-29T00:00:00+01:00'}", "" },
	{ "retry the failed ones from the last 3 days",
	  "{'action':'retry','status':['failed'],"
	  "'since':'2026-12-03T00:00:00+01:00'}", "" },
	{ "retry failures of the past three days",
	  "{'action':'retry','status':['failed'],"
	  "'since':'2026-12-03T00:00:00+01:00'}", "" },
	{ "retry the failed ones in the last 24 hours",
	  "{'action':'retry','status':['failed'],"
	  "'since':'2026-12-04T15:30:00+01:00'}", "" },
	{ "regrade last week's uploads",
	  "{'action':'re_evaluate','since':'2026-11-23T00:00:00+01:00',"
	  "'until':'" MONDAY "'}", "" },
	{ "regrade the uploads of the past week",
	  "{'action':'re_evaluate','since':'2026-11-29T00:00:00+01:00'}", "" },
	{ "export this month's results",
	  "{'action':'export','since':'2026-12-01T00:00:00+01:00'}", "" },
	{ "export last month",
	  "{'action':'export','since':'2026-11-01T00:00:00+01:00',"
	  "'until':'2026-12-01T00:00:00+01:00'}", "" },
	{ "re-evaluate section B since 2026-11-30",
	  "{'action':'re_evaluate','section':'B','since':'" MONDAY "'}", "" },
	{ "export the uploads on 2026-11-30",
	  "{'action':'export','since':'" MONDAY "',"
	  "'until':'2026-12-01T00:00:00+01:00'}", "" },
	{ "export from 2026-11-28 to 2026-11-30",
	  "{'action':'export','since':'2026-11-28T00:00:00+01:00',"
	  "'until':'2026-12-01T00:00:00+01:00'}", "" },
	{ "export between 2026-11-28 and 2026-11-30",
	  "{'action':'export','since':'2026-11-28T00:00:00+01:00',"
	  "'until':'2026-12-01T00:00:00+01:00'}", "" },
	{ "export everything before 2026-11-30",
	  "{'action':'export','until':'" MONDAY "'}", "" },
	{ "export everything until yesterday",
	  "{'action':'export','until':'" TODAY "'}", "" },
	{ "export from 2026-06-01 to 2026-06-30",
	  "{'action':'export','since':'2026-06-01T00:00:00+02:00',"
	  "'until':'2026-07-01T00:00:00+02:00'}", "" },
	/* Students by name, e-mail, number. */
	{ "regrade Ben Li", "{'action':'re_evaluate','student_ids':[3]}", "" },
	{ "regrade ben li's upload", "{'action':'re_evaluate','student_ids':[3]}",
	  "" },
	{ "regrade Omar", "{'action':'re_evaluate','student_ids':[5]}", "" },
	{ "regrade Haddad", "{'action':'re_evaluate','student_ids':[5]}", "" },
	{ "regrade Omar\xe2\x80\x99s video",
	  "{'action':'re_evaluate','student_ids':[5]}", "" },
	{ "regrade ben.li@example.edu",
	  "{'action':'re_evaluate','student_ids':[3]}", "" },
	{ "regrade the upload of MJ@example.edu.",
	  "{'action':'re_evaluate','student_ids':[4]}", "" },
	{ "rescore s1005", "{'action':'re_evaluate','student_ids':[5]}", "" },
	{ "rescore student S1002", "{'action':'re_evaluate','student_ids':[2]}",
	  "" },
	{ "regrade Mary-Jane Watson",
	  "{'action':'re_evaluate','student_ids':[4]}", "" },
	{ "regrade mary jane", "{'action':'re_evaluate','student_ids':[4]}",
	  "" },
	{ "regrade Watson's video", "{'action':'re_evaluate','student_ids':[4]}",
	  "" },
	{ "regrade Ben and Omar",
	  "{'action':'re_evaluate','student_ids':[3,5]}", "" },
	{ "regrade Priya Patel and Li Wei",
	  "{'action':'re_evaluate','student_ids':[2,6]}", "" },
	{ "regrade Li Wei", "{'action':'re_evaluate','student_ids':[6]}", "" },
	/* Assignments by number and title. */
	{ "regrade assignment #2", "{'action':'re_evaluate','assignment_id':11}",
	  "" },
	{ "regrade assignment two",
	  "{'action':'re_evaluate','assignment_id':11}", "" },
	{ "regrade the self-introduction uploads",
	  "{'action':'re_evaluate','assignment_id':10}", "" },
	{ "regrade the self introduction assignment",
	  "{'action':'re_evaluate','assignment_id':10}", "" },
	{ "export Hobbies and Interests",
	  "{'action':'export','assignment_id':11}", "" },
	{ "export my hometown for section B",
	  "{'action':'export','assignment_id':12,'section':'B'}", "" },
	/* Backends. */
	{ "re-evaluate section A using qwen",
	  "{'action':'re_evaluate','section':'A','backend':'qwen2.5:7b'}", "" },
	{ "re-evaluate section A with Mistral",
	  "{'action':'re_evaluate','section':'A','backend':'mistral'}", "" },
	{ "re-evaluate section A on qwen2.5:7b",
	  "{'action':'re_evaluate','section':'A','backend':'qwen2.5:7b'}", "" },
	{ "rescore with rubric version 3",
	  "{'action':'re_evaluate','rubric_version':3}", "" },
	{ "rescore section B with rubric v2",
	  "{'action':'re_evaluate','section':'B','rubric_version':2}", "" },
	{ "export course 8", "{'action':'export','course_id':8}", "" },
	/* Typos and capitals. */
	{ "reevalute section B", "{'action':'re_evaluate','section':'B'}", "" },
	{ "re-evalaute section B", "{'action':'re_evaluate','section':'B'}",
	  "" },
	{ "retyr the failed ones", "{'action':'retry','status':['failed']}",
	  "" },
	{ "cancle the pending ones", "{'action':'cancel','status':['pending']}",
	  "" },
	{ "exprot section A", "{'action':'export','section':'A'}", "" },
	{ "prioritze Omar",
	  "{'action':'prioritize','student_ids':[5],'priority':1000}", "" },
	{ "retry the faild ones", "{'action':'retry','status':['failed']}", "" },
	{ "cancel the pendng ones", "{'action':'cancel','status':['pending']}",
	  "" },
	{ "RE-EVALUATE SECTION B", "{'action':'re_evaluate','section':'B'}",
	  "" },
	{ "Retry The Failed Ones Today",
	  "{'action':'retry','status':['failed'],'since':'" TODAY "'}", "" },
	/* Several filters in one sentence. */
	{ "re-evaluate Omar's failed uploads for assignment 2 from this week "
	  "with mistral at priority 20",
	  "{'action':'re_evaluate','student_ids':[5],'status':['failed'],"
	  "'assignment_id':11,'since':'" MONDAY "','backend':'mistral',"
	  "'priority':20}", "" },
	{ "please cancel all pending and stuck jobs of section B for the "
	  "hometown... no, for My Hometown since yesterday", NULL, NULL },
	{ "please cancel all pending and stuck jobs of section B for My "
	  "Hometown since yesterday",
	  "{'action':'cancel','status':['pending','processing'],'section':'B',"
	  "'assignment_id':12,'since':'" YDAY "'}", "" },
	{ "export section A's completed results for assignment 1 between "
	  "2026-11-28 and 2026-11-30 as csv",
	  "{'action':'export','section':'A','status':['completed'],"
	  "'assignment_id':10,'since':'2026-11-28T00:00:00+01:00',"
	  "'until':'2026-12-01T00:00:00+01:00'}", "" },
	/* Questions instead of guesses. */
	{ "move Priya's submission to the front",
	  "{'action':'prioritize','priority':1000}", "ambiguous_student" },
	{ "regrade Li's upload", "{'action':'re_evaluate'}",
	  "ambiguous_student" },
	{ "regrade Zed's video", "{'action':'re_evaluate'}", "unknown_student" },
	{ "rescore student Zed", "{'action':'re_evaluate'}", "unknown_student" },
	{ "rescore nobody@example.edu", "{'action':'re_evaluate'}",
	  "unknown_student" },
	{ "re-evaluate section B with gpt4",
	  "{'action':'re_evaluate','section':'B'}", "unknown_backend" },
	{ "regrade section Q", "{'action':'re_evaluate'}", "unknown_section" },
	{ "cancel assignment 9", "{'action':'cancel'}", "unknown_assignment" },
	{ "export course 99", "{'action':'export','course_id':99}",
	  "course_not_yours" },
	{ "retry the late ones", "{'action':'retry'}", "unsupported_filter" },
	{ "prioritize section A at priority 2000",
	  "{'action':'prioritize','section':'A','priority':2000}",
	  "invalid_spec" },
	{ "regrade Ben and Priya", "{'action':'re_evaluate','student_ids':[3]}",
	  "ambiguous_student" },
};

/* Sentences the rules must leave to the LLM. */
static const char *const not_parsed[] = {
	"", "   ", "make the feedback kinder", "what is the average score",
	"delete all students", "section B", "Priya Shah's failed uploads",
	"hello", "re-evaluate and cancel section B",
	"email all students their scores", "show me the failed uploads",
	"how many submissions failed today", "re-evaluate with a kinder tone",
	"regrade everything except section B", "don't cancel anything",
	"cancel nothing", "retry the failed ones tomorrow",
	"reset the password for Ben", "regrade section B and section A",
	"evaluate the submissions from last year", "cancel the urgent ones",
	"export at priority 5", "restore all submissions",
	"regrade the uploads from today and yesterday",
	"the stored ones", "?!", "regrade section A then export it",
};

static void
expect(const jobspec_ctx *c, const char *text, const char *want,
    const char *codes)
{
	json_t *spec, *qs, *exp, *q;
	json_error_t jerr;
	char *w, *p, got[512] = "", *dump;
	size_t i;
	int ok;

	ok = jobspec_parse(text, c, &spec, &qs);
	if (want == NULL) {
		if (ok)
			fail_msg("parsed, should not: \"%s\"", text);
		assert_null(spec);
		assert_null(qs);
		return;
	}
	if (!ok)
		fail_msg("not parsed: \"%s\"", text);
	w = xstrdup(want);
	for (p = w; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	exp = jobspec_new("evaluate", c->course_id);
	q = json_loads(w, 0, &jerr);
	if (q == NULL)
		fail_msg("bad expectation %s: %s", want, jerr.text);
	json_object_update(exp, q);
	json_decref(q);
	if (!json_equal(exp, spec)) {
		dump = json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT);
		fail_msg("\"%s\"\n got %s\nwant %s", text, dump, want);
	}
	json_array_foreach(qs, i, q)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i ? " " : "", json_string_value(json_object_get(q, "code")));
	if (strcmp(got, codes) != 0)
		fail_msg("\"%s\": questions \"%s\", want \"%s\"", text, got,
		    codes);
	free(w);
	json_decref(exp);
	json_decref(spec);
	json_decref(qs);
}

static void
test_phrasings(void **state)
{
	jobspec_ctx c = ctx_berlin();
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(berlin); i++)
		expect(&c, berlin[i].text, berlin[i].spec, berlin[i].questions);
}

static void
test_not_parsed(void **state)
{
	jobspec_ctx c = ctx_berlin();
	json_t *spec, *qs;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(not_parsed); i++)
		expect(&c, not_parsed[i], NULL, NULL);
	assert_int_equal(jobspec_parse(NULL, &c, &spec, &qs), 0);
}

/* New York, the Monday after clocks moved forward: days before the
   change start at -05:00, the ones after at -04:00. */
static void
test_new_york_dst(void **state)
{
	jobspec_ctx c = ctx_berlin();

	(void)state;
	c.tz = "America/New_York";
	c.now = NOW_NEWYORK;
	expect(&c, "retry the failed ones from yesterday",
	    "{'action':'retry','status':['failed'],"
	    "'since':'2026-03-08T00:00:00-05:00',"
	    "'until':'2026-03-09T00:00:00-04:00'}", "");
	expect(&c, "regrade this week's uploads",
	    "{'action':'re_evaluate','since':'2026-03-09T00:00:00-04:00'}", "");
	expect(&c, "export last week",
	    "{'action':'export','since':'2026-03-02T00:00:00-05:00',"
	    "'until':'2026-03-09T00:00:00-04:00'}", "");
	expect(&c, "retry the last 3 days",
	    "{'action':'retry','since':'2026-03-07T00:00:00-05:00'}", "");
	expect(&c, "retry the last 12 hours",
	    "{'action':'retry','since':'2026-03-08T22:30:00-04:00'}", "");
	expect(&c, "retry since sunday",
	    "{'action':'retry','since':'2026-03-08T00:00:00-05:00'}", "");
	/* No time zone: UTC. */
	c.tz = NULL;
	expect(&c, "retry today",
	    "{'action':'retry','since':'2026-03-09T00:00:00+00:00'}", "");
}

/* Which question, with which candidates. */
static json_t *
question(const char *text, const jobspec_ctx *c, json_t **spec)
{
	json_t *qs;

	assert_int_equal(jobspec_parse(text, c, spec, &qs), 1);
	assert_int_equal(json_array_size(qs), 1);
	return qs;
}

static void
test_questions(void **state)
{
	jobspec_ctx c = ctx_berlin();
	static const long long one[] = { 7 };
	static const char *const no_cancel[] = { "evaluate", "re_evaluate",
	    "retry", "export" };
	json_t *spec, *qs, *q, *cand;

	(void)state;
	/* "Priya" is two students: both offered, none chosen. */
	qs = question("move Priya's submission to the front", &c, &spec);
	q = json_array_get(qs, 0);
	assert_string_equal(json_string_value(json_object_get(q, "field")),
	    "student_ids");
	cand = json_object_get(q, "candidates");
	assert_int_equal(json_array_size(cand), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(cand, 0), "id")), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(cand, 0), "label")),
	    "Priya Shah (priya.shah@example.edu, s1001)");
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(cand, 1), "id")), 2);
	assert_int_equal(json_array_size(json_object_get(spec,
	    "student_ids")), 0);
	json_decref(spec);
	json_decref(qs);

	/* A near miss offers the near names. */
	qs = question("regrade Pryia's video", &c, &spec);
	q = json_array_get(qs, 0);
	assert_string_equal(json_string_value(json_object_get(q, "code")),
	    "unknown_student");
	assert_int_equal(json_array_size(json_object_get(q, "candidates")), 2);
	json_decref(spec);
	json_decref(qs);

	/* An unknown backend lists the configured ones. */
	qs = question("re-evaluate section B with gpt4", &c, &spec);
	cand = json_object_get(json_array_get(qs, 0), "candidates");
	assert_int_equal(json_array_size(cand), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(cand, 2), "label")), "qwen2.5:7b");
	assert_true(json_is_null(json_object_get(spec, "backend")));
	json_decref(spec);
	json_decref(qs);

	/* Another teacher's course. */
	qs = question("export course 99", &c, &spec);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(qs, 0), "code")), "course_not_yours");
	json_decref(spec);
	json_decref(qs);

	/* No course given: the only one, or a question among several. */
	c.course_id = 0;
	qs = question("export section A", &c, &spec);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(qs, 0), "code")), "missing_course");
	assert_true(json_is_null(json_object_get(spec, "course_id")));
	assert_int_equal(json_array_size(json_object_get(
	    json_array_get(qs, 0), "candidates")), 2);
	json_decref(spec);
	json_decref(qs);
	c.course_ids = one;
	c.n_course_ids = 1;
	expect(&c, "export section A", "{'action':'export','section':'A',"
	    "'course_id':7}", "");

	/* An action the requester may not take. */
	c = ctx_berlin();
	c.actions_allowed = no_cancel;
	c.n_actions_allowed = ARRAY_LEN(no_cancel);
	expect(&c, "cancel section A", "{'action':'cancel','section':'A'}",
	    "action_not_allowed");
	expect(&c, "export section A", "{'action':'export','section':'A'}",
	    "");
}

/* A valid spec, then one key broken at a time. */
static void
check_one(const char *key, json_t *value, const char *code)
{
	jobspec_ctx c = ctx_berlin();
	json_t *spec, *qs;

	spec = jobspec_new("re_evaluate", 7);
	json_object_set_new(spec, key, value);
	qs = jobspec_check(spec, &c);
	if (code == NULL)
		assert_int_equal(json_array_size(qs), 0);
	else {
		if (json_array_size(qs) < 1)
			fail_msg("%s: no question, want %s", key, code);
		assert_string_equal(json_string_value(json_object_get(
		    json_array_get(qs, 0), "code")), code);
	}
	json_decref(spec);
	json_decref(qs);
}

static void
test_check(void **state)
{
	jobspec_ctx c = ctx_berlin();
	json_t *spec, *qs, *copy;

	(void)state;
	check_one("section", json_string("B"), NULL);
	check_one("unknown", json_true(), "invalid_spec");
	check_one("course_id", json_string("7"), "invalid_spec");
	check_one("course_id", json_integer(0), "invalid_spec");
	check_one("course_id", json_integer(8), NULL);
	check_one("course_id", json_integer(9), "course_not_yours");
	check_one("course_id", json_null(), "missing_course");
	check_one("action", json_string("delete"), "invalid_spec");
	check_one("action", json_integer(1), "invalid_spec");
	check_one("status", json_pack("[s]", "late"), "invalid_spec");
	check_one("status", json_string("failed"), "invalid_spec");
	check_one("status", json_pack("[ss]", "failed", "retry"), NULL);
	check_one("student_ids", json_pack("[s]", "3"), "invalid_spec");
	check_one("student_ids", json_pack("[i]", 99), "unknown_student");
	check_one("student_ids", json_pack("[ii]", 3, 5), NULL);
	check_one("section", json_integer(2), "invalid_spec");
	check_one("section", json_string("Z"), "unknown_section");
	check_one("assignment_id", json_string("11"), "invalid_spec");
	check_one("assignment_id", json_integer(99), "unknown_assignment");
	check_one("since", json_string("yesterday"), "invalid_spec");
	check_one("since", json_string("2026-13-01T00:00:00Z"), "invalid_spec");
	check_one("since", json_string("2026-02-30T00:00:00Z"), "invalid_spec");
	check_one("since", json_string("2026-02-03T00:00:00"), "invalid_spec");
	check_one("since", json_string("2026-02-03T00:00:00.25+01:00"), NULL);
	check_one("until", json_integer(0), "invalid_spec");
	check_one("until", json_string("2026-12-05T00:00:00Z"), NULL);
	check_one("backend", json_string("gpt4"), "unknown_backend");
	check_one("backend", json_string("qwen2.5:7b"), NULL);
	check_one("backend", json_false(), "invalid_spec");
	check_one("rubric_version", json_real(1.5), "invalid_spec");
	check_one("priority", json_integer(1001), "invalid_spec");
	check_one("priority", json_integer(-1), "invalid_spec");
	check_one("priority", json_integer(1000), NULL);

	/* A missing key, dates the wrong way round, not an object. */
	spec = jobspec_new("export", 7);
	copy = json_deep_copy(spec);
	json_object_del(spec, "priority");
	qs = jobspec_check(spec, &c);
	assert_int_equal(json_array_size(qs), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(qs, 0), "field")), "priority");
	json_decref(qs);
	json_object_set_new(spec, "priority", json_null());
	json_object_set_new(spec, "since", json_string("2026-12-05T00:00:00Z"));
	json_object_set_new(spec, "until", json_string("2026-12-04T00:00:00Z"));
	qs = jobspec_check(spec, &c);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(qs, 0), "code")), "invalid_dates");
	json_decref(qs);
	/* The check never changes what it checks. */
	json_object_del(spec, "since");
	json_object_del(spec, "until");
	json_object_set_new(spec, "since", json_null());
	json_object_set_new(spec, "until", json_null());
	assert_true(json_equal(spec, copy));
	json_decref(copy);
	json_decref(spec);
	spec = json_integer(3);
	qs = jobspec_check(spec, &c);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(qs, 0), "code")), "invalid_spec");
	json_decref(qs);
	json_decref(spec);
}

static void
summary_is(const char *text, const char *want)
{
	jobspec_ctx c = ctx_berlin();
	json_t *spec, *qs;
	char *s;

	assert_int_equal(jobspec_parse(text, &c, &spec, &qs), 1);
	s = jobspec_summary(spec, &c);
	assert_string_equal(s, want);
	free(s);
	json_decref(spec);
	json_decref(qs);
}

static void
test_summary(void **state)
{
	(void)state;
	summary_is("re-evaluate section B's failed uploads from today with "
	    "llama3", "Re-evaluate the failed submissions of section B since "
	    "Sat 5 Dec 2026 00:00 (Europe/Berlin) with backend llama3");
	summary_is("move Omar Haddad's upload to the front",
	    "Prioritize the submissions of Omar Haddad at priority 1000 (the "
	    "front of the queue)");
	summary_is("cancel the stuck and waiting jobs of Ben and Omar in "
	    "section B for assignment 2",
	    "Cancel the pending or processing submissions of Ben Li and Omar "
	    "Haddad in section B for assignment 2 \"Hobbies and interests\"");
	summary_is("export last week's results for course 8",
	    "Export the results of the submissions since Mon 23 Nov 2026 "
	    "00:00 (Europe/Berlin) until Mon 30 Nov 2026 00:00 "
	    "(Europe/Berlin) in course 8");
	summary_is("rescore with rubric version 3",
	    "Re-evaluate the submissions against rubric version 3");
}

/* The schema compiled in parses, forbids other keys, requires every
   key, and has exactly the keys the validator knows. */
static void
test_schema(void **state)
{
	json_t *schema, *props, *req;
	json_error_t jerr;
	size_t i;

	(void)state;
	schema = json_loads(jobspec_schema_json, 0, &jerr);
	if (schema == NULL)
		fail_msg("schema: %s", jerr.text);
	assert_true(json_is_false(json_object_get(schema,
	    "additionalProperties")));
	props = json_object_get(schema, "properties");
	req = json_object_get(schema, "required");
	assert_int_equal(json_object_size(props), jobspec_nkeys);
	assert_int_equal(json_array_size(req), jobspec_nkeys);
	for (i = 0; i < jobspec_nkeys; i++) {
		assert_non_null(json_object_get(props, jobspec_keys[i]));
		assert_string_equal(json_string_value(json_array_get(req, i)),
		    jobspec_keys[i]);
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    props, "priority"), "maximum")), JOBSPEC_PRIORITY_MAX);
	json_decref(schema);
}

static time_t
at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi };

	return timegm(&tm);
}

static void
test_tz(void **state)
{
	struct tz *tz;
	struct tm tm, local;
	const char *abbr;
	char err[128];

	(void)state;
	tz = tz_load("Europe/Berlin", err, sizeof(err));
	assert_non_null(tz);
	assert_int_equal(tz_offset(tz, at(2026, 1, 15, 12, 0), &abbr), 3600);
	assert_string_equal(abbr, "CET");
	assert_int_equal(tz_offset(tz, at(2026, 7, 1, 12, 0), &abbr), 7200);
	assert_string_equal(abbr, "CEST");
	/* The change, to the second: 2026-03-29 01:00 UTC. */
	assert_int_equal(tz_offset(tz, at(2026, 3, 29, 1, 0) - 1, NULL), 3600);
	assert_int_equal(tz_offset(tz, at(2026, 3, 29, 1, 0), NULL), 7200);
	assert_int_equal(tz_offset(tz, at(2026, 10, 25, 1, 0) - 1, NULL), 7200);
	assert_int_equal(tz_offset(tz, at(2026, 10, 25, 1, 0), NULL), 3600);
	/* Past the file's transitions (2037): the footer's rule. */
	assert_int_equal(tz_offset(tz, at(2050, 7, 1, 0, 0), NULL), 7200);
	assert_int_equal(tz_offset(tz, at(2050, 12, 1, 0, 0), NULL), 3600);
	assert_int_equal(tz_offset(tz, at(2050, 3, 27, 1, 0), NULL), 7200);
	/* Wall time to UTC: normal, skipped (spring) and twice (autumn). */
	memset(&local, 0, sizeof(local));
	local.tm_year = 126, local.tm_mon = 11, local.tm_mday = 5;
	assert_int_equal(tz_mktime(tz, &local), at(2026, 12, 4, 23, 0));
	local.tm_mon = 2, local.tm_mday = 29, local.tm_hour = 2;
	local.tm_min = 30;
	assert_int_equal(tz_mktime(tz, &local), at(2026, 3, 29, 1, 30));
	local.tm_mon = 9, local.tm_mday = 25;
	assert_int_equal(tz_mktime(tz, &local), at(2026, 10, 25, 0, 30));
	tz_localtime(tz, at(2026, 10, 25, 1, 30), &tm);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_isdst, 0);
	tz_localtime(tz, at(2026, 10, 25, 0, 30), &tm);
	assert_int_equal(tm.tm_hour, 2);
	assert_int_equal(tm.tm_isdst, 1);
	assert_int_equal(tz_day_start(tz, NOW_BERLIN), at(2026, 12, 4, 23, 0));
	tz_free(tz);

	tz = tz_load("America/New_York", err, sizeof(err));
	assert_non_null(tz);
	assert_int_equal(tz_offset(tz, at(2026, 3, 8, 7, 0) - 1, NULL), -18000);
	assert_int_equal(tz_offset(tz, at(2026, 3, 8, 7, 0), NULL), -14400);
	assert_int_equal(tz_day_start(tz, NOW_NEWYORK), at(2026, 3, 9, 4, 0));
	tz_free(tz);

	tz = tz_load(NULL, err, sizeof(err));
	assert_string_equal(tz_name(tz), "UTC");
	assert_int_equal(tz_offset(tz, NOW_BERLIN, NULL), 0);
	tz_free(tz);
	assert_null(tz_load("../etc/passwd", err, sizeof(err)));
	assert_null(tz_load("/etc/localtime", err, sizeof(err)));
	assert_null(tz_load("Mars/Olympus_Mons", err, sizeof(err)));
	assert_non_null(strstr(err, "Mars/Olympus_Mons"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phrasings),
		cmocka_unit_test(test_not_parsed),
		cmocka_unit_test(test_new_york_dst),
		cmocka_unit_test(test_questions),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_tz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
