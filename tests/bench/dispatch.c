/*
 * bench_dispatch: the same tasks through the pool with least_loaded, then
 * round_robin dispatch, against the same two backends; prints the time
 * each took as key=value lines (tests/bench/dispatch.py starts the
 * stand-ins and runs this).
 *
 *   bench_dispatch --fast URL --slow URL [--tasks N] [--max-concurrent C]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "rubric.h"
#include "util.h"

struct run {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 done, failed, fast;
};

static void	 on_done(const struct pool_result *, void *);
static double	 run_mode(const char *, const char *, const char *, int, int,
		    const struct rubric *, int *, int *);
static void	 usage(void);

static void
on_done(const struct pool_result *r, void *arg)
{
	struct run *run = arg;

	pthread_mutex_lock(&run->lock);
	run->done++;
	run->failed += !r->ok;
	run->fast += r->ok && strcmp(r->backend, "fast") == 0;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/* One pool, n tasks, wall time until the last result. */
static double
run_mode(const char *dispatch, const char *fast, const char *slow, int n,
    int maxc, const struct rubric *rb, int *nfast, int *nfailed)
{
	struct config cfg;
	struct pool *p;
	struct pool_task t;
	struct run run = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0, 0 };
	char err[512], text[256];
	double t0, took;
	int i;

	if (!config_load(&cfg, NULL, err, sizeof(err)))
		fatalx("config: %s", err);
	json_decref(cfg.llm_backends);
	cfg.llm_backends = json_pack("[{s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:i}]",
	    "name", "fast", "url", fast, "model", "mistral",
	    "max_concurrent", maxc, "name", "slow", "url", slow,
	    "model", "mistral", "max_concurrent", maxc);
	free(cfg.llm_dispatch);
	cfg.llm_dispatch = xstrdup(dispatch);
	if ((p = pool_new(&cfg, err, sizeof(err))) == NULL)
		fatalx("pool: %s", err);
	if (pool_healthy(p) != 2)
		fatalx("bench: both backends must be up");
	t0 = util_monotonic();
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "Hi, I am student %d. I study "
		    "biology and I enjoy football, cooking and travel.", i);
		memset(&t, 0, sizeof(t));
		t.submission_id = i + 1;
		t.rubric = rb;
		t.rubric_id = 1;
		t.transcript = text;
		pool_submit(p, &t, on_done, &run);
	}
	pthread_mutex_lock(&run.lock);
	while (run.done < n)
		pthread_cond_wait(&run.cond, &run.lock);
	pthread_mutex_unlock(&run.lock);
	took = util_monotonic() - t0;
	pool_free(p);
	config_free(&cfg);
	*nfast = run.fast;
	*nfailed = run.failed;
	return took;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_dispatch --fast URL --slow URL "
	    "[--tasks N] [--max-concurrent C]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fast", required_argument, NULL, 'f' },
		{ "slow", required_argument, NULL, 's' },
		{ "tasks", required_argument, NULL, 'n' },
		{ "max-concurrent", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fast = NULL, *slow = NULL;
	struct rubric *rb;
	double ll, rr;
	int n = 24, maxc = 2, ch, ll_fast, rr_fast, ll_failed, rr_failed;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': fast = optarg; break;
		case 's': slow = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'c': maxc = atoi(optarg); break;
		default: usage();
		}
	}
	if (fast == NULL || slow == NULL || n < 1 || maxc < 1)
		usage();
	log_set_level(LOG_LEVEL_WARN);
	rb = rubric_default();
	ll = run_mode("least_loaded", fast, slow, n, maxc, rb, &ll_fast,
	    &ll_failed);
	rr = run_mode("round_robin", fast, slow, n, maxc, rb, &rr_fast,
	    &rr_failed);
	rubric_free(rb);
	printf("dispatch_tasks=%d\n", n);
	printf("least_loaded_s=%.3f\n", ll);
	printf("round_robin_s=%.3f\n", rr);
	printf("dispatch_ratio=%.3f\n", ll / rr);
	printf("least_loaded_fast_share=%.2f\n", (double)ll_fast / n);
	printf("round_robin_fast_share=%.2f\n", (double)rr_fast / n);
	printf("dispatch_failed=%d\n", ll_failed + rr_failed);
	return ll_failed + rr_failed > 0;
}
