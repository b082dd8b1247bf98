/*
 * Unit tests for tmpl: every case of the Mustache spec files in
 * ../shared/conformance/mustache-spec (missing files fail the test), then
 * our own choices: escaping, falsy values, number formatting, missing and
 * runaway partials, compile errors with line numbers, concurrent rendering
 * of one compiled template, and loading a template directory.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "tmpl.h"
#include "util.h"

#define NTHREADS	4
#define NROUNDS		500

/* One cmocka test per spec file, named after it. */
#define SPEC_TEST(file) \
	{ "spec " file, test_spec, NULL, NULL, (void *)(file) }

/* The partials of one spec case, compiled. */
struct partials {
	const char	*names[16];
	struct tmpl	*t[16];
	size_t		 n;
};

static char	*spec_path(const char *);
static bool	 compile_partials(json_t *, struct partials *, char *,
		    size_t);
static void	 free_partials(struct partials *);
static const struct tmpl *find_partial(const char *, void *);
static bool	 run_case(json_t *, const char *);
static void	 run_spec(const char *);
static void	 test_spec(void **);
static char	*render(const char *, const char *, tmpl_partial_fn, void *);
static void	 assert_render(const char *, const char *, const char *);
static void	 assert_compile_error(const char *, const char *);
static void	*render_thread(void *);
static void	 write_file(const char *, const char *, const char *);

/* --- the spec --- */

/* The shared directory: INTROEVAL_SHARED_DIR, else beside the source. */
static char *
spec_path(const char *file)
{
	const char *dir, *src;

	if ((dir = getenv("INTROEVAL_SHARED_DIR")) != NULL && *dir != '\0')
		return xasprintf("%s/conformance/mustache-spec/%s", dir, file);
	if ((src = getenv("INTROEVAL_SOURCE_DIR")) != NULL && *src != '\0')
		return xasprintf("%s/../shared/conformance/mustache-spec/%s",
		    src, file);
	return xasprintf("../shared/conformance/mustache-spec/%s", file);
}

static bool
compile_partials(json_t *obj, struct partials *p, char *err, size_t errlen)
{
	const char *name;
	json_t *src;
	char cerr[256];

	memset(p, 0, sizeof(*p));
	json_object_foreach(obj, name, src) {
		if (p->n == 16 || !json_is_string(src))
			return util_seterr(err, errlen, "bad partial %s", name);
		p->t[p->n] = tmpl_compile(json_string_value(src),
		    json_string_length(src), cerr, sizeof(cerr));
		if (p->t[p->n] == NULL)
			return util_seterr(err, errlen, "partial %s: %s", name,
			    cerr);
		p->names[p->n++] = name;
	}
	return true;
}

static void
free_partials(struct partials *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		tmpl_free(p->t[i]);
	p->n = 0;
}

static const struct tmpl *
find_partial(const char *name, void *arg)
{
	struct partials *p = arg;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->names[i], name) == 0)
			return p->t[i];
	return NULL;
}

/* Runs one spec case; prints what differs and returns false on failure. */
static bool
run_case(json_t *c, const char *file)
{
	struct partials parts;
	struct buf out = BUF_INIT;
	struct tmpl *t = NULL;
	json_t *data = NULL, *partials = NULL;
	const char *name = "?", *src = NULL, *expected = NULL;
	char err[256] = "";
	bool ok = false;

	memset(&parts, 0, sizeof(parts));
	if (json_unpack(c, "{s:s, s:s, s:s, s?o, s?o}", "name", &name,
	    "template", &src, "expected", &expected, "data", &data,
	    "partials", &partials) == -1) {
		print_error("%s: case \"%s\" is malformed\n", file, name);
		return false;
	}
	if (partials != NULL && !compile_partials(partials, &parts, err,
	    sizeof(err)))
		goto out;
	if ((t = tmpl_compile(src, strlen(src), err, sizeof(err))) == NULL)
		goto out;
	if (!tmpl_render(t, data, find_partial, &parts, &out, err,
	    sizeof(err)))
		goto out;
	ok = strcmp(buf_cstr(&out), expected) == 0;
	if (!ok)
		snprintf(err, sizeof(err), "output differs");
out:
	if (!ok)
		print_error("%s: case \"%s\" failed: %s\n  template: [%s]\n"
		    "  expected: [%s]\n  actual:   [%s]\n", file, name, err,
		    src, expected, buf_cstr(&out));
	tmpl_free(t);
	free_partials(&parts);
	buf_free(&out);
	return ok;
}

static void
run_spec(const char *file)
{
	json_error_t jerr;
	json_t *spec, *tests, *c;
	char *path = spec_path(file);
	size_t i, failed = 0;

	spec = json_load_file(path, 0, &jerr);
	if (spec == NULL)
		fail_msg("cannot load the Mustache spec %s: %s (set "
		    "INTROEVAL_SHARED_DIR)", path, jerr.text);
	tests = json_object_get(spec, "tests");
	if (!json_is_array(tests) || json_array_size(tests) == 0)
		fail_msg("%s: no \"tests\" array", path);
	json_array_foreach(tests, i, c)
		if (!run_case(c, file))
			failed++;
	print_message("%s: %zu cases, %zu failed\n", file,
	    json_array_size(tests), failed);
	if (failed > 0)
		fail_msg("%s: %zu of %zu cases failed", file, failed,
		    json_array_size(tests));
	json_decref(spec);
	free(path);
}

/* The state is the spec file's name (see SPEC_TEST in main). */
static void
test_spec(void **state)
{
	run_spec(*state);
}

/* --- our own cases --- */

/* Renders src against the JSON text data; the caller frees the result. */
static char *
render(const char *src, const char *data, tmpl_partial_fn fn, void *arg)
{
	struct buf out = BUF_INIT;
	struct tmpl *t;
	json_error_t jerr;
	json_t *ctx;
	char err[256];

	ctx = json_loads(data, JSON_DECODE_ANY, &jerr);
	if (ctx == NULL)
		fail_msg("bad test data %s: %s", data, jerr.text);
	if ((t = tmpl_compile(src, strlen(src), err, sizeof(err))) == NULL)
		fail_msg("compile %s: %s", src, err);
	if (!tmpl_render(t, ctx, fn, arg, &out, err, sizeof(err)))
		fail_msg("render %s: %s", src, err);
	tmpl_free(t);
	json_decref(ctx);
	return buf_release(&out);
}

static void
assert_render(const char *src, const char *data, const char *expected)
{
	char *got = render(src, data, NULL, NULL);

	assert_string_equal(got, expected);
	free(got);
}

static void
assert_compile_error(const char *src, const char *expected)
{
	struct tmpl *t;
	char err[256] = "";

	t = tmpl_compile(src, strlen(src), err, sizeof(err));
	if (t != NULL) {
		tmpl_free(t);
		fail_msg("\"%s\" compiled; expected error \"%s\"", src,
		    expected);
	}
	assert_string_equal(err, expected);
}

static void
test_escaping(void **state)
{
	(void)state;
	assert_render("<p>{{x}}</p>",
	    "{\"x\": \"<script>alert(\\\"hi\\\" & 'bye')</script>\"}",
	    "<p>&lt;script&gt;alert(&quot;hi&quot; &amp; &#39;bye&#39;)"
	    "&lt;/script&gt;</p>");
	assert_render("{{{x}}}|{{&x}}", "{\"x\": \"<b>\"}", "<b>|<b>");
	/* Data is never re-parsed as a template. */
	assert_render("{{x}}", "{\"x\": \"{{y}}\", \"y\": 1}", "{{y}}");
}

static void
test_values(void **state)
{
	(void)state;
	assert_render("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
	    "{\"a\": 3, \"b\": -0.5, \"c\": 1e20, \"d\": 2.0, \"e\": 0.1, "
	    "\"f\": 1234567890123}", "3 -0.5 1e+20 2 0.1 1234567890123");
	assert_render("{{t}} {{f}} [{{n}}] [{{o}}] [{{l}}]",
	    "{\"t\": true, \"f\": false, \"n\": null, \"o\": {\"k\": 1}, "
	    "\"l\": [1]}", "true false [] [] []");
	/* "" is falsy, 0 truthy; an empty object is truthy. */
	assert_render("{{#s}}S{{/s}}{{^s}}no-s{{/s}} {{#z}}zero={{z}}{{/z}} "
	    "{{#o}}obj{{/o}}", "{\"s\": \"\", \"z\": 0, \"o\": {}}",
	    "no-s zero=0 obj");
	assert_render("{{x}}", "null", "");
}

static const struct tmpl *
null_partial(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return NULL;
}

static const struct tmpl *
self_partial(const char *name, void *arg)
{
	(void)name;
	return arg;
}

static void
test_partials(void **state)
{
	struct buf out = BUF_INIT;
	struct partials parts;
	struct tmpl *t;
	json_t *psrc;
	char *got, err[256] = "";

	(void)state;
	/* A missing partial, or no partial callback at all, renders empty. */
	got = render("[{{>nope}}]", "{}", null_partial, NULL);
	assert_string_equal(got, "[]");
	free(got);
	assert_render("[{{>nope}}]\n  {{>nope}}\nend", "{}", "[]\nend");

	/*
	 * A standalone partial inside an indented one is indented by both;
	 * an inline one is not indented at all, nor is text from data.
	 */
	psrc = json_pack("{s:s,s:s}", "mid", "m1\n  {{>leaf}}\nm2 {{>leaf}}\n",
	    "leaf", "L1 {{x}}\nL2\n");
	assert_true(compile_partials(psrc, &parts, err, sizeof(err)));
	got = render("a\n  {{>mid}}\nz\n", "{\"x\": \"1\\n2\"}", find_partial,
	    &parts);
	assert_string_equal(got, "a\n  m1\n    L1 1\n2\n    L2\n  m2 L1 1\n2\n"
	    "L2\n\nz\n");
	free(got);
	free_partials(&parts);
	json_decref(psrc);

	/* A template that includes itself forever is stopped. */
	t = tmpl_compile("x{{>me}}", 8, err, sizeof(err));
	assert_non_null(t);
	assert_false(tmpl_render(t, NULL, self_partial, t, &out, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "nested more than"));
	tmpl_free(t);
	buf_free(&out);
}

static void
test_compile_errors(void **state)
{
	(void)state;
	assert_compile_error("<ul>\n{{#items}}\n<li>{{name}}</li>\n",
	    "line 2: section \"items\" is not closed");
	assert_compile_error("a\nb {{#a}}{{#b}}\n{{/a}}{{/b}}",
	    "line 3: \"a\" closes section \"b\" opened on line 2");
	assert_compile_error("{{/a}}", "line 1: \"a\" closes no open section");
	assert_compile_error("ok\n\nHello {{name\n",
	    "line 3: tag is not closed (no \"}}\" follows \"{{\")");
	assert_compile_error("{{{x}}", "line 1: tag is not closed "
	    "(no \"}}}\" follows \"{{\")");
	assert_compile_error("{{=<% %>=}}\n<%x}}",
	    "line 2: tag is not closed (no \"%>\" follows \"<%\")");
	assert_compile_error("{{ }}", "line 1: tag has no name");
	assert_compile_error("{{a b}}", "line 1: bad name \"a b\"");
	assert_compile_error("{{a..b}}", "line 1: bad name \"a..b\"");
	assert_compile_error("x\n{{=<%=}}", "line 2: bad delimiters \"<%\": "
	    "expected two words of 1 to 16 characters");
}

static const char THREAD_SRC[] =
    "<ul>\n"
    "{{#items}}\n"
    "  {{>item}}\n"
    "{{/items}}\n"
    "</ul>\n";

static const char THREAD_WANT[] =
    "<ul>\n  <li>a &amp; b</li>\n    <i>1</i>\n"
    "  <li>c</li>\n    <i>2</i>\n</ul>\n";

struct thread_arg {
	const struct tmpl	*t;
	struct partials		*parts;
	json_t			*ctx;
	int			 bad;
};

static void *
render_thread(void *p)
{
	struct thread_arg *a = p;
	struct buf out = BUF_INIT;
	int i;

	for (i = 0; i < NROUNDS; i++) {
		buf_reset(&out);
		if (!tmpl_render(a->t, a->ctx, find_partial, a->parts, &out,
		    NULL, 0) || strcmp(buf_cstr(&out), THREAD_WANT) != 0)
			a->bad++;
	}
	buf_free(&out);
	return NULL;
}

/* One compiled template rendered from several threads at once. */
static void
test_concurrent_render(void **state)
{
	struct thread_arg args[NTHREADS];
	pthread_t tid[NTHREADS];
	struct partials parts;
	struct tmpl *t;
	json_t *ctx, *psrc;
	char err[256];
	int i;

	(void)state;
	psrc = json_pack("{s:s}", "item",
	    "<li>{{name}}</li>\n  <i>{{n}}</i>\n");
	assert_true(compile_partials(psrc, &parts, err, sizeof(err)));
	t = tmpl_compile(THREAD_SRC, strlen(THREAD_SRC), err, sizeof(err));
	assert_non_null(t);
	ctx = json_pack("{s:[{s:s,s:i},{s:s,s:i}]}", "items", "name", "a & b",
	    "n", 1, "name", "c", "n", 2);
	for (i = 0; i < NTHREADS; i++) {
		args[i] = (struct thread_arg){ t, &parts, ctx, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, render_thread,
		    &args[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	tmpl_free(t);
	free_partials(&parts);
	json_decref(ctx);
	json_decref(psrc);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void
test_set_load(void **state)
{
	struct tmpl_set *set;
	struct buf out = BUF_INIT;
	json_t *ctx;
	char dir[] = "/tmp/test_tmpl.XXXXXX", err[512] = "", *cmd;
	const char *names[] = { "page.mustache", "row.mustache", "notes.txt",
	    ".hidden.mustache" };
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, names[0], "<h1>{{title}}</h1>\n<table>\n"
	    "{{#rows}}\n  {{>row}}\n{{/rows}}\n</table>\n");
	write_file(dir, names[1], "<tr><td>{{name}}</td></tr>\n");
	write_file(dir, names[2], "not a template {{#");
	write_file(dir, names[3], "{{#broken");

	set = tmpl_set_load(dir, err, sizeof(err));
	if (set == NULL)
		fail_msg("tmpl_set_load: %s", err);
	assert_int_equal(tmpl_set_count(set), 2);
	assert_non_null(tmpl_set_get(set, "row"));
	assert_null(tmpl_set_get(set, "notes"));
	ctx = json_pack("{s:s,s:[{s:s},{s:s}]}", "title", "A<B", "rows",
	    "name", "x", "name", "y");
	assert_true(tmpl_set_render(set, "page", ctx, &out, err, sizeof(err)));
	assert_string_equal(buf_cstr(&out), "<h1>A&lt;B</h1>\n<table>\n"
	    "  <tr><td>x</td></tr>\n  <tr><td>y</td></tr>\n</table>\n");
	assert_false(tmpl_set_render(set, "missing", ctx, &out, err,
	    sizeof(err)));
	assert_string_equal(err, "no template \"missing\"");
	tmpl_set_free(set);
	json_decref(ctx);
	buf_free(&out);

	/* A syntax error names the file and the line. */
	write_file(dir, "bad.mustache", "one\n{{#open}}\n");
	assert_null(tmpl_set_load(dir, err, sizeof(err)));
	cmd = xasprintf("%s/bad.mustache: line 2: section \"open\" is not "
	    "closed", dir);
	assert_string_equal(err, cmd);
	free(cmd);

	for (i = 0; i < ARRAY_LEN(names); i++) {
		cmd = xasprintf("%s/%s", dir, names[i]);
		unlink(cmd);
		free(cmd);
	}
	cmd = xasprintf("%s/bad.mustache", dir);
	unlink(cmd);
	free(cmd);
	assert_int_equal(rmdir(dir), 0);

	assert_null(tmpl_set_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SPEC_TEST("comments.json"),
		SPEC_TEST("delimiters.json"),
		SPEC_TEST("interpolation.json"),
		SPEC_TEST("inverted.json"),
		SPEC_TEST("partials.json"),
		SPEC_TEST("sections.json"),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_concurrent_render),
		cmocka_unit_test(test_set_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
