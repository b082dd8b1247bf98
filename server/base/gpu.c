/* gpu: see gpu.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "proc.h"
#include "util.h"

#define GPU_QUERY	"--query-gpu=index,name,memory.used,memory.total," \
			"utilization.gpu,temperature.gpu"

static bool	 parse_line(char *, struct gpu *);
static char	*trim(char *);
static bool	 number(const char *, long *);

size_t
gpu_parse(const char *csv, struct gpu *out, size_t max)
{
	char *copy = xstrdup(csv), *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(copy, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save))
		if (parse_line(line, &out[n]))
			n++;
	free(copy);
	return n;
}

/* "0, NVIDIA A100, 1234, 40960, 37, 52": six fields, index required. */
static bool
parse_line(char *line, struct gpu *g)
{
	char *f[6], *p = line, *comma;
	long v[6];
	size_t k;

	for (k = 0; k < 6; k++) {
		comma = k < 5 ? strchr(p, ',') : NULL;
		if (k < 5 && comma == NULL)
			return false;
		if (comma != NULL)
			*comma = '\0';
		f[k] = trim(p);
		p = comma != NULL ? comma + 1 : p;
	}
	if (strchr(f[5], ',') != NULL || !number(f[0], &v[0]) || v[0] < 0)
		return false;
	memset(g, 0, sizeof(*g));
	g->index = (int)v[0];
	util_strlcpy(g->name, f[1], sizeof(g->name));
	for (k = 2; k < 6; k++)
		if (!number(f[k], &v[k]))
			v[k] = -1;	/* [N/A], [Not Supported] */
	g->mem_used_mib = v[2];
	g->mem_total_mib = v[3];
	g->util_pct = (int)v[4];
	g->temp_c = (int)v[5];
	return true;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static bool
number(const char *s, long *v)
{
	char *end;

	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && *v >= 0 && *v < 100000000;
}

int
gpu_sample(const char *program, struct gpu *out, size_t max, bool *missing,
    char *err, size_t errlen)
{
	const char *argv[] = { program, GPU_QUERY,
	    "--format=csv,noheader,nounits", NULL };
	struct proc_limits lim;
	struct proc_result res;
	bool ok;
	int n = -1;

	*missing = false;
	memset(&lim, 0, sizeof(lim));
	lim.timeout_s = 5;
	lim.capture_bytes = 64 * 1024;
	ok = proc_run(argv, &lim, &res, err, errlen);
	if (!res.started)
		*missing = true;
	else if (ok) {
		n = (int)gpu_parse(res.out.data != NULL ? res.out.data : "",
		    out, max);
		if (n == 0 && res.out.len > 0) {
			n = -1;
			util_seterr(err, errlen, "%s: no GPU line could be "
			    "read", program);
		}
	}
	proc_result_free(&res);
	return *missing ? 0 : n;
}

json_t *
gpu_json(const struct gpu *g, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:I, s:i, "
		    "s:i}", "index", g[i].index, "name", g[i].name,
		    "mem_used_mib", (json_int_t)g[i].mem_used_mib,
		    "mem_total_mib", (json_int_t)g[i].mem_total_mib,
		    "util_pct", g[i].util_pct, "temp_c", g[i].temp_c));
	return a;
}

long
gpu_mem_used(const struct gpu *g, size_t n)
{
	long sum = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].mem_used_mib >= 0)
			sum = (sum < 0 ? 0 : sum) + g[i].mem_used_mib;
	return sum;
}
