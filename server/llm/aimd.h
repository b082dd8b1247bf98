/*
 * aimd: a backend's concurrency limit, tuned to a latency and error target.
 *
 * Additive increase, multiplicative decrease, as TCP's congestion window
 * and Netflix's concurrency-limits do it. The pool reports every finished
 * generation call; once enough calls have finished since the last change,
 * the controller looks at them:
 *
 *   the backend answered 429/503      -> limit * decrease (at once)
 *   p95 latency above the target      -> limit * decrease
 *   error rate above the target       -> limit * decrease
 *   all within target, the limit was
 *   reached (calls were waiting), and
 *   p95 * (limit+1)/limit within the
 *   target too                        -> limit + 1
 *
 * and never leaves [min, max]. A limit that was not used is not raised:
 * an idle backend's good latency says nothing about a higher load. Each
 * change starts a new window, so the old limit's calls do not judge the
 * new one. Pure logic on a caller's clock (seconds), so it is tested on a
 * fake one; the pool holds its lock around every call.
 */
#ifndef INTROEVAL_AIMD_H
#define INTROEVAL_AIMD_H

#include <stdbool.h>
#include <stddef.h>

#define AIMD_SAMPLES	64	/* calls judged at most per window */

struct aimd_cfg {
	int	 min;		/* >= 1 */
	int	 max;		/* >= min */
	double	 target_p95_s;
	double	 target_error_rate;	/* 0..1 */
	int	 window;	/* calls finished before a judgement */
	double	 decrease;	/* factor, 0 < decrease < 1 */
};

enum aimd_change { AIMD_SAME, AIMD_UP, AIMD_DOWN };

struct aimd {
	struct aimd_cfg	 cfg;
	int		 limit;
	double		 lat[AIMD_SAMPLES];	/* this window's calls */
	size_t		 n;
	int		 errors;
	bool		 saturated;	/* the limit was reached this window */
	double		 changed_at;
	char		 why[160];	/* the last change's reason */
};

/* Fills in defaults for unset fields (window 10, decrease 0.7). */
void		 aimd_init(struct aimd *, const struct aimd_cfg *, double now);
/*
 * One call finished after latency_s. ok: it answered; overload: it was
 * refused with 429/503 (decreases at once); a call that started before
 * the last change is ignored;
 * saturated: when it started, every slot of the limit was taken. Returns
 * whether the limit changed; aimd_why() then says why in plain words.
 */
enum aimd_change aimd_sample(struct aimd *, double now, double latency_s,
		    bool ok, bool overload, bool saturated);
int		 aimd_limit(const struct aimd *);
const char	*aimd_why(const struct aimd *);

#endif
