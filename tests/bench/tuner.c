/*
 * bench_tuner: one backend whose latency grows with its concurrency, kept
 * busy for a while at fixed limits 2, 4 and 6 and then with the adaptive
 * limit (concurrency 2..6, p95 target, error target); prints, per run,
 * the p95 latency of the calls and the completed calls per minute as
 * key=value lines (tests/bench/tuner.py starts the stand-in and runs this).
 *
 *   bench_tuner --url URL [--seconds S] [--warmup S] [--target-ms MS]
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "rubric.h"
#include "util.h"

#define MAX_CALLS	100000

struct run {
	pthread_mutex_t	 lock;
	double		 from, to;	/* wall clock window measured */
	double		*lat;
	int		 n;		/* calls finished ok in the window */
	int		 errors;
};

static void	 on_call(const struct pool_call *, void *);
static void	 on_done(const struct pool_result *, void *);
static void	 run_limit(const char *, int, int, int, double, double,
		    const struct rubric *, int);
static int	 cmp_double(const void *, const void *);
static void	 usage(void);

static void
on_call(const struct pool_call *c, void *arg)
{
	struct run *run = arg;

	if (c->started)
		return;
	pthread_mutex_lock(&run->lock);
	if (c->finished_at >= run->from && c->finished_at <= run->to) {
		if (strcmp(c->outcome, "ok") == 0 && run->n < MAX_CALLS)
			run->lat[run->n++] = c->finished_at - c->started_at;
		else if (strcmp(c->outcome, "cancelled") != 0)
			run->errors++;
	}
	pthread_mutex_unlock(&run->lock);
}

static void
on_done(const struct pool_result *r, void *arg)
{
	(void)r;
	(void)arg;
}

/*
 * Keeps the backend busy (a queue far longer than the run) for warmup +
 * seconds and measures the last `seconds`. cmin == cmax: a fixed limit.
 */
static void
run_limit(const char *url, int cmin, int cmax, int target_ms, double warmup,
    double seconds, const struct rubric *rb, int is_tuned)
{
	struct config cfg;
	struct pool *p;
	struct pool_task t;
	struct run run;
	json_t *stats, *b;
	char err[512], text[256], key[32];
	double start, p95;
	int i, n, k, limit;

	memset(&run, 0, sizeof(run));
	pthread_mutex_init(&run.lock, NULL);
	run.lat = xcalloc(MAX_CALLS, sizeof(double));
	if (!config_load(&cfg, NULL, err, sizeof(err)))
		fatalx("config: %s", err);
	json_decref(cfg.llm_backends);
	if (is_tuned)
		cfg.llm_backends = json_pack("[{s:s,s:s,s:s,s:i,s:i,s:i,"
		    "s:f}]", "name", "gpu", "url", url, "model", "mistral",
		    "concurrency_min", cmin, "concurrency_max", cmax,
		    "target_p95_ms", target_ms, "target_error_rate", 0.03);
	else
		cfg.llm_backends = json_pack("[{s:s,s:s,s:s,s:i}]", "name",
		    "gpu", "url", url, "model", "mistral", "max_concurrent",
		    cmax);
	if ((p = pool_new(&cfg, err, sizeof(err))) == NULL)
		fatalx("pool: %s", err);
	pool_set_call_hook(p, on_call, &run);
	if (pool_healthy(p) != 1)
		fatalx("bench: the backend must be up");
	start = util_wallclock();
	pthread_mutex_lock(&run.lock);
	run.from = start + warmup;
	run.to = run.from + seconds;
	pthread_mutex_unlock(&run.lock);
	n = (int)((warmup + seconds) * cmax * 2) + 50;
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "Hi, I am student %d. I study "
		    "biology and I enjoy football, cooking and travel.", i);
		memset(&t, 0, sizeof(t));
		t.submission_id = i + 1;
		t.rubric = rb;
		t.rubric_id = 1;
		t.transcript = text;
		pool_submit(p, &t, on_done, NULL);
	}
	util_sleep(warmup + seconds + 0.2);
	stats = pool_stats(p);
	b = json_array_get(stats, 0);
	limit = (int)json_integer_value(json_object_get(b, "limit"));
	if (is_tuned)
		fprintf(stderr, "bench: limit changes: %s\n",
		    json_dumps(json_object_get(b, "limit_changes"),
		    JSON_COMPACT));
	json_decref(stats);
	pool_free(p);
	config_free(&cfg);

	qsort(run.lat, (size_t)run.n, sizeof(double), cmp_double);
	k = (int)ceil(0.95 * run.n);
	p95 = run.n > 0 ? run.lat[k > 0 ? k - 1 : 0] : 0;
	if (is_tuned)
		snprintf(key, sizeof(key), "tuned");
	else
		snprintf(key, sizeof(key), "fixed_%d", cmax);
	if (is_tuned)
		printf("tuned_limit=%d\n", limit);
	printf("%s_p95_ms=%.0f\n", key, p95 * 1000);
	printf("%s_throughput_per_min=%.1f\n", key, run.n * 60.0 / seconds);
	printf("%s_errors=%d\n", key, run.errors);
	fflush(stdout);
	free(run.lat);
	pthread_mutex_destroy(&run.lock);
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_tuner --url URL [--seconds S] "
	    "[--warmup S] [--target-ms MS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "target-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	struct rubric *rb;
	double seconds = 45, warmup = 20;
	int ch, target = 2500;
	static const int fixed[] = { 2, 4, 6 };
	size_t i;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 't': target = atoi(optarg); break;
		default: usage();
		}
	}
	if (url == NULL || seconds <= 0 || warmup < 0 || target < 1)
		usage();
	log_set_level(LOG_LEVEL_WARN);
	rb = rubric_default();
	printf("tuner_target_p95_ms=%d\n", target);
	printf("tuner_seconds_measured=%.0f\n", seconds);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		run_limit(url, fixed[i], fixed[i], target, 5, seconds, rb, 0);
	run_limit(url, 2, 6, target, warmup, seconds, rb, 1);
	rubric_free(rb);
	return 0;
}
