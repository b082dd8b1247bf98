/*
 * aimd: see aimd.h. The window is "the calls finished since the last
 * change", at least cfg.window of them (so one slow call among few does
 * not halve the limit), at most AIMD_SAMPLES (older ones are dropped).
 * A call that started before the last change is not counted at all: it
 * ran under the old limit, and a burst of 429s from calls all sent under
 * it must lower the limit once, not once per call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aimd.h"

static enum aimd_change	 change(struct aimd *, int, double, const char *);
static double		 p95(const struct aimd *);
static int		 cmp_double(const void *, const void *);

void
aimd_init(struct aimd *a, const struct aimd_cfg *cfg, double now)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	if (a->cfg.min < 1)
		a->cfg.min = 1;
	if (a->cfg.max < a->cfg.min)
		a->cfg.max = a->cfg.min;
	if (a->cfg.window <= 0)
		a->cfg.window = 10;
	if (a->cfg.window > AIMD_SAMPLES)
		a->cfg.window = AIMD_SAMPLES;
	if (a->cfg.decrease <= 0 || a->cfg.decrease >= 1)
		a->cfg.decrease = 0.7;
	/* Start low: raising is cheap, an overloaded GPU is not. */
	a->limit = a->cfg.min;
	a->changed_at = now;
}

enum aimd_change
aimd_sample(struct aimd *a, double now, double latency_s, bool ok,
    bool overload, bool saturated)
{
	char why[160];
	double q, rate;
	int down;

	/* Started under an earlier limit: it does not judge this one. */
	if (now - latency_s < a->changed_at)
		return AIMD_SAME;
	if (overload) {
		snprintf(why, sizeof(why), "the backend answered busy "
		    "(429/503)");
		down = (int)floor(a->limit * a->cfg.decrease);
		return change(a, down < a->limit ? down : a->limit - 1, now,
		    why);
	}
	if (a->n == AIMD_SAMPLES) {
		memmove(a->lat, a->lat + 1, (AIMD_SAMPLES - 1) *
		    sizeof(a->lat[0]));
		a->n--;
	}
	a->lat[a->n++] = latency_s;
	if (!ok)
		a->errors++;
	if (saturated)
		a->saturated = true;
	if (a->n < (size_t)a->cfg.window)
		return AIMD_SAME;

	q = p95(a);
	rate = (double)a->errors / (double)a->n;
	if (rate > a->cfg.target_error_rate) {
		snprintf(why, sizeof(why), "error rate %.0f%% above the "
		    "target %.0f%%", rate * 100, a->cfg.target_error_rate * 100);
		down = (int)floor(a->limit * a->cfg.decrease);
		return change(a, down < a->limit ? down : a->limit - 1, now,
		    why);
	}
	if (q > a->cfg.target_p95_s) {
		snprintf(why, sizeof(why), "p95 latency %.0f ms above the "
		    "target %.0f ms", q * 1000, a->cfg.target_p95_s * 1000);
		down = (int)floor(a->limit * a->cfg.decrease);
		return change(a, down < a->limit ? down : a->limit - 1, now,
		    why);
	}
	/*
	 * Raise only if the target would hold even if latency grew in
	 * proportion to the calls at once (a saturated GPU's worst case):
	 * probing above the target and falling back costs the p95 target.
	 */
	if (a->saturated && a->limit < a->cfg.max &&
	    q * (a->limit + 1) / a->limit <= a->cfg.target_p95_s) {
		snprintf(why, sizeof(why), "p95 latency %.0f ms and error "
		    "rate %.0f%% within target, calls waiting", q * 1000,
		    rate * 100);
		return change(a, a->limit + 1, now, why);
	}
	return AIMD_SAME;
}

int
aimd_limit(const struct aimd *a)
{
	return a->limit;
}

const char *
aimd_why(const struct aimd *a)
{
	return a->why;
}

/* Sets the limit (clamped) and starts a new window. */
static enum aimd_change
change(struct aimd *a, int to, double now, const char *why)
{
	int from = a->limit;

	if (to < a->cfg.min)
		to = a->cfg.min;
	if (to > a->cfg.max)
		to = a->cfg.max;
	a->n = 0;
	a->errors = 0;
	a->saturated = false;
	if (to == from)
		return AIMD_SAME;
	a->limit = to;
	a->changed_at = now;
	snprintf(a->why, sizeof(a->why), "%s", why);
	return to > from ? AIMD_UP : AIMD_DOWN;
}

/* Nearest-rank 95th percentile of the window's latencies. */
static double
p95(const struct aimd *a)
{
	double v[AIMD_SAMPLES];
	size_t k;

	memcpy(v, a->lat, a->n * sizeof(v[0]));
	qsort(v, a->n, sizeof(v[0]), cmp_double);
	k = (size_t)ceil(0.95 * (double)a->n);
	return v[k > 0 ? k - 1 : 0];
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}
