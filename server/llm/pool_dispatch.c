/*
 * pool_dispatch: which waiting task goes to which backend, and when.
 * Runs on the pool's thread, under the lock, once per turn of its loop;
 * tasks are considered oldest first.
 *
 * least_loaded (the default) sends each task where it is expected to
 * finish soonest. For every backend it keeps one entry per slot
 * (max_concurrent): when that slot is expected to be free, 0 for a free
 * one, else the remaining time of the call in it, from the backend's
 * EWMA latency L. A task's expected completion on a backend is the
 * earliest slot time plus L. The task takes the backend with the
 * smallest completion; if that backend's best slot is free the call
 * starts now, otherwise the task reserves the slot (adding L to it) and
 * waits, so the next task sees the queue building up there and may go to
 * a slower backend whose completion has become the sooner one. With a
 * backend three times as fast as another, this sends about three tasks
 * in four to it and none of the last ones to the slow backend when the
 * fast one would finish them sooner, which round-robin cannot do. It is
 * the textbook "earliest expected completion" rule; the per-backend
 * throughput it implies, max_concurrent / L, is the "free capacity
 * relative to measured speed" of the issue.
 *
 * round_robin gives each backend its turn (weight turns in a row) and
 * waits for the backend whose turn it is when it is full.
 *
 * Both prefer, for a task whose call failed, a backend it has not failed
 * on yet. Ensemble members and repair attempts have a fixed backend: they
 * start when it has a free slot; if it left the rotation, an ensemble
 * member is given up (while another backend is healthy) and a repair
 * becomes a plain retry.
 */
#include <math.h>
#include <stdlib.h>

#include "pool_impl.h"
#include "util.h"

struct lane {
	double	*free_at;	/* per slot: seconds until free, 0: free */
	int	 nslots;
	int	 used;		/* slots busy or reserved */
	double	 latency;
};

static struct lane *lanes_build(struct pool *, double);
static void	 budget_idle(struct pool *, double);
static void	 budget_mark(struct pool *, double);
static void	 lanes_free(struct lane *, size_t);
static int	 lane_best(const struct lane *);
static double	 remaining(double, double);
static bool	 dispatch_task(struct pool *, struct task *, struct lane *,
		    double, bool *);
static bool	 start_fixed(struct pool *, struct task *, size_t, int,
		    struct lane *, double);
static int	 pick_least_loaded(struct pool *, struct task *, struct lane *,
		    double);
static int	 pick_round_robin(struct pool *, struct task *, double,
		    bool *);
static bool	 prefer_untried(const struct pool *, const struct task *,
		    double);

void
pool_dispatch(struct pool *p, double now)
{
	struct lane *lanes;
	struct task *t, *next;
	bool rr_blocked = false;

	if (p->paused || p->held || p->tasks == NULL) {
		budget_idle(p, now);
		return;
	}
	lanes = lanes_build(p, now);
	for (t = p->tasks; t != NULL; t = next) {
		next = t->next;		/* t may end and be freed */
		if (t->m == NULL && !pool_task_begin(p, t))
			continue;	/* ensemble with nobody healthy */
		dispatch_task(p, t, lanes, now, &rr_blocked);
	}
	lanes_free(lanes, p->nb);
	budget_mark(p, now);
}

/* Starts what can start of one task; false if the task ended. */
static bool
dispatch_task(struct pool *p, struct task *t, struct lane *lanes, double now,
    bool *rr_blocked)
{
	struct member *m;
	size_t i;
	int b, fixed;

	for (i = 0; i < t->nm; i++) {
		m = &t->m[i];
		if (m->state != MEMBER_WAITING)
			continue;
		fixed = m->repair_due ? m->ran_on : m->backend;
		if (fixed >= 0) {
			if (!start_fixed(p, t, i, fixed, lanes, now))
				return false;
			continue;
		}
		if (*rr_blocked)
			continue;
		b = p->least_loaded ? pick_least_loaded(p, t, lanes, now) :
		    pick_round_robin(p, t, now, rr_blocked);
		if (b >= 0 && !pool_start_generate(p, t, i, &p->b[b], false))
			return false;
	}
	return true;
}

static bool
start_fixed(struct pool *p, struct task *t, size_t i, int fixed,
    struct lane *lanes, double now)
{
	struct backend *b = &p->b[fixed];
	struct member *m = &t->m[i];
	struct lane *l = &lanes[fixed];
	size_t k;
	int healthy = 0;

	if (pool_backend_can_start(p, b, now)) {
		k = (size_t)lane_best(l);
		l->free_at[k] = l->latency;
		l->used++;
		return pool_start_generate(p, t, i, b, m->repair_due);
	}
	if (pool_backend_in_rotation(b))
		return true;	/* busy or backed off: wait for it */
	if (m->repair_due)
		return pool_task_repair_lost(p, t, i, "the backend left the "
		    "rotation before the repair attempt");
	for (k = 0; k < p->nb; k++)
		healthy += pool_backend_in_rotation(&p->b[k]);
	if (healthy == 0)
		return true;	/* all down: wait, do not give up */
	return pool_task_member_lost(p, t, i, "the backend left the rotation");
}

static int
pick_least_loaded(struct pool *p, struct task *t, struct lane *lanes,
    double now)
{
	bool untried = prefer_untried(p, t, now);
	double ect, best_ect = 0;
	int best = -1, k, best_k = 0;
	size_t i;

	for (i = 0; i < p->nb; i++) {
		if (!pool_backend_available(p, &p->b[i], now) ||
		    (untried && t->tried[i]))
			continue;
		k = lane_best(&lanes[i]);
		ect = lanes[i].free_at[k] + lanes[i].latency;
		if (best < 0 || ect < best_ect - 1e-9 ||
		    (ect < best_ect + 1e-9 && lanes[i].used <
		    lanes[best].used)) {
			best = (int)i;
			best_k = k;
			best_ect = ect;
		}
	}
	if (best < 0)
		return -1;
	if (lanes[best].free_at[best_k] > 0 ||
	    !pool_backend_can_start(p, &p->b[best], now)) {
		/* Soonest there, but not yet: hold the slot and wait. */
		lanes[best].free_at[best_k] += lanes[best].latency;
		return -1;
	}
	lanes[best].free_at[best_k] = lanes[best].latency;
	lanes[best].used++;
	return best;
}

static int
pick_round_robin(struct pool *p, struct task *t, double now, bool *blocked)
{
	bool untried = prefer_untried(p, t, now);
	struct backend *b;
	size_t k, i;

	for (k = 0; k < p->nb; k++) {
		i = (p->rr_next + k) % p->nb;
		b = &p->b[i];
		if (!pool_backend_available(p, b, now) ||
		    (untried && t->tried[i]))
			continue;
		if (!pool_backend_can_start(p, b, now)) {
			*blocked = true;	/* its turn, and full */
			return -1;
		}
		if (i != p->rr_next) {
			p->rr_next = i;
			p->rr_used = 0;
		}
		if (++p->rr_used >= b->weight) {
			p->rr_next = (i + 1) % p->nb;
			p->rr_used = 0;
		}
		return (int)i;
	}
	return -1;
}

/* Whether some available backend has not failed this task yet. */
static bool
prefer_untried(const struct pool *p, const struct task *t, double now)
{
	size_t i;

	if (t->failures == 0)
		return false;
	for (i = 0; i < p->nb; i++)
		if (!t->tried[i] && pool_backend_available(p, &p->b[i], now))
			return true;
	return false;
}

static struct lane *
lanes_build(struct pool *p, double now)
{
	struct lane *lanes = xcalloc(p->nb + 1, sizeof(*lanes)), *l;
	struct xfer *x;
	double wait;
	size_t i;
	int k;

	for (i = 0; i < p->nb; i++) {
		l = &lanes[i];
		l->nslots = pool_backend_limit(&p->b[i]);
		l->free_at = xcalloc((size_t)l->nslots, sizeof(double));
		l->latency = pool_backend_latency(p, &p->b[i]);
	}
	for (x = p->xfers; x != NULL; x = x->next) {
		if (x->kind != XFER_GENERATE)
			continue;
		l = &lanes[x->b->index];
		if (l->used < l->nslots)
			l->free_at[l->used++] = remaining(now - x->started,
			    l->latency);
	}
	/* A slot is free no sooner than the budgets allow a call. */
	for (i = 0; i < p->nb; i++) {
		wait = pool_backend_budget_wait(&p->b[i], now);
		for (k = 0; k < lanes[i].nslots; k++)
			lanes[i].free_at[k] = fmax(lanes[i].free_at[k], wait);
	}
	return lanes;
}

/*
 * After dispatch: a backend with a free slot whose budget is spent, while
 * some call waits, is waiting for its budget (the health page says so).
 */
static void
budget_mark(struct pool *p, double now)
{
	const struct task *t;
	struct backend *b;
	bool waiting = false;
	size_t i;

	for (t = p->tasks; t != NULL && !waiting; t = t->next) {
		waiting = t->m == NULL;
		for (i = 0; i < t->nm && !waiting; i++)
			waiting = t->m[i].state == MEMBER_WAITING;
	}
	if (!waiting) {
		budget_idle(p, now);
		return;
	}
	for (i = 0; i < p->nb; i++) {
		b = &p->b[i];
		if (pool_backend_available(p, b, now) &&
		    b->in_flight < pool_backend_limit(b) &&
		    pool_backend_budget_wait(b, now) > 0) {
			if (b->budget_since == 0)
				b->budget_since = now;
		} else if (b->budget_since > 0) {
			b->budget_waited_s += now - b->budget_since;
			b->budget_since = 0;
		}
	}
}

/* Nothing waits: no backend is waiting for its budget either. */
static void
budget_idle(struct pool *p, double now)
{
	size_t i;

	for (i = 0; i < p->nb; i++)
		if (p->b[i].budget_since > 0) {
			p->b[i].budget_waited_s += now - p->b[i].budget_since;
			p->b[i].budget_since = 0;
		}
}

/*
 * A call expected to take L that has run for age. One that has run past
 * its expected time is taken to need as long again as it is late, so a
 * stuck call does not hold work back for ever.
 */
static double
remaining(double age, double latency)
{
	return fmax(fabs(latency - age), 1e-3);
}

static int
lane_best(const struct lane *l)
{
	int k, best = 0;

	for (k = 1; k < l->nslots; k++)
		if (l->free_at[k] < l->free_at[best])
			best = k;
	return best;
}

static void
lanes_free(struct lane *lanes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lanes[i].free_at);
	free(lanes);
}
