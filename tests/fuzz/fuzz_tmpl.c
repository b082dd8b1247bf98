/*
 * fuzz_tmpl: the Mustache renderer (base/tmpl). The input is a template;
 * when it compiles it is rendered against a fixed context that has every
 * kind of value, with partials that resolve to the template itself (so
 * recursion meets the depth limit) or to a small fixed partial.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"

struct parts {
	const struct tmpl	*self;
	const struct tmpl	*fixed;
};

static const struct tmpl *find_partial(const char *, void *);

static const struct tmpl *
find_partial(const char *name, void *arg)
{
	struct parts *p = arg;

	if (name[0] == 's')
		return p->self;
	if (name[0] == 'p')
		return p->fixed;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fixed_src[] = "[{{a}}|{{#list}}{{.}},{{/list}}"
	    "{{^none}}!{{/none}}]\n";
	static const char ctx_src[] = "{\"a\": \"<&\\\"'>\", \"b\": 0, "
	    "\"c\": 1.21, \"t\": true, \"f\": false, \"n\": null, "
	    "\"e\": \"\", \"list\": [1, \"two\", {\"a\": 3}, [4], null], "
	    "\"obj\": {\"a\": {\"b\": {\"c\": \"deep\"}}, \"list\": []}, "
	    "\"none\": []}";
	struct parts p;
	struct tmpl *t, *fixed;
	struct buf out;
	json_t *ctx;
	char err[256];

	if (size > 65536)
		return 0;
	if ((t = tmpl_compile((const char *)data, size, err,
	    sizeof(err))) == NULL)
		return 0;
	fixed = tmpl_compile(fixed_src, strlen(fixed_src), err, sizeof(err));
	if (fixed == NULL)
		abort();
	ctx = json_loads(ctx_src, 0, NULL);
	if (ctx == NULL)
		abort();
	p.self = t;
	p.fixed = fixed;
	buf_init(&out);
	(void)tmpl_render(t, ctx, find_partial, &p, &out, err, sizeof(err));
	buf_reset(&out);
	(void)tmpl_render(t, NULL, NULL, NULL, &out, err, sizeof(err));
	buf_free(&out);
	json_decref(ctx);
	tmpl_free(fixed);
	tmpl_free(t);
	return 0;
}
