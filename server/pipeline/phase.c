/*
 * phase: the controller's pure decisions (see phase.h). No clocks are
 * read here; every input comes in the view.
 *
 * The policy, and why
 * -------------------
 * A node pays for every switch between the phases: the models are
 * unloaded before STT, and the first call of each backend after that
 * loads its model again (1.5 s at the lab's 1/10 scale). An LLM phase
 * that does not fill the slots wastes them: 10 calls on 8 slots take two
 * rounds, as long as 16. The work itself is the same in any order, so
 * what the policy decides is how many switches and partly filled rounds
 * the node pays, and who sees a result first:
 *
 *  1. Stay on the side that has work. An STT run goes on while files are
 *     ready (each batch takes everything waiting, up to batch_max), and
 *     an LLM phase runs until the evaluation queue is empty. Going to
 *     LLM while transcriptions are ready means a switch now, another
 *     one back, and an extra partly filled round: for S files ready and
 *     L evaluations waiting, LLM-now-then-STT-then-LLM costs two
 *     switches and ceil(L/cap) + ceil(S/cap) - ceil((L+S)/cap) rounds
 *     more than STT-then-LLM, whatever S and L are.
 *  2. Switch when the side runs dry: STT has nothing ready, or its
 *     engine is down, and evaluations wait (work conserving). When files
 *     are still being prepared (prep_waiting; preparation runs outside
 *     the exclusion) and the evaluations would not fill the slots, the
 *     node waits for them instead: a preparation takes a fraction of a
 *     second, a switch pair and a partly filled round take seconds.
 *  3. First results early: when nothing was evaluated for PHASE_FRESH_S
 *     (a class starts uploading), the first STT run stops at
 *     phase_first() submissions, and those are evaluated at once. A
 *     class of 30 at once then sees its first scores after 6
 *     transcriptions instead of 30; afterwards the rest goes through in
 *     one STT run and one LLM phase. The first phase is a fifth of the
 *     class (everything uploaded: being prepared, waiting for STT or
 *     evaluation), so the first scores come within about a quarter of
 *     the class's time whatever its size, and at most three quarters of
 *     the slots: a full round would make the first scores cap/4
 *     transcriptions later, and a partly filled one costs at most one
 *     round over the run (for 30 on 8 slots, none: 6 + 24 is four full
 *     rounds).
 *  4. No starvation: when LLM work has waited max_phase_s without an LLM
 *     phase (steady arrival keeps STT ready), or an STT submission has
 *     waited max_phase_s, that side goes next; when both have, they take
 *     turns. A running phase stops taking new work once the other side
 *     has waited max_phase_s (phase_time_up).
 *  5. The batch window: an STT batch starts once its first upload has
 *     waited batch_window_s (default 0: at once), or batch_max wait.
 *     Under rule 1 a window buys little: uploads that arrive during a
 *     batch form the next batch, which follows without a switch; it only
 *     spares the occasional LLM switch when uploads arrive seconds apart
 *     onto an idle node, and it costs a lone student its whole length
 *     (measured on the simulation in tests/unit/test_phase.c).
 *
 * An unhealthy side is never chosen: no backend in rotation, STT goes
 * on; no working STT engine, evaluation goes on.
 */
#include "phase.h"

#include <math.h>

#define DEFAULT_STT_S		10.0
#define DEFAULT_LLM_S		20.0
#define DEFAULT_SWITCH_S	2.0

static double	or_default(double, double);
static int	or_default_int(int, int);
static bool	fresh(const struct phase_view *);
static int	phase_first(const struct phase_view *);
static bool	llm_worth(const struct phase_view *);
static bool	stt_soon(const struct phase_view *);

static double
or_default(double v, double def)
{
	return v > 0 ? v : def;
}

static int
or_default_int(int v, int def)
{
	return v > 0 ? v : def;
}

const char *
phase_name(enum phase p)
{
	switch (p) {
	case PHASE_IDLE:
		return "idle";
	case PHASE_STT:
		return "stt";
	case PHASE_SWITCHING:
		return "switching";
	case PHASE_LLM:
		return "llm";
	case PHASE_CONCURRENT:
		return "concurrent";
	}
	return "idle";
}

/* Rule 3: nobody has seen a result lately and a backend can give one. */
static bool
fresh(const struct phase_view *v)
{
	return v->since_result_s >= PHASE_FRESH_S && v->llm_healthy > 0;
}

/* Rule 3: the size of the first LLM phase after a quiet spell. */
static int
phase_first(const struct phase_view *v)
{
	int cap = or_default_int(v->llm_capacity, 1);
	int n = (v->prep_waiting + v->stt_waiting + v->llm_waiting) / 5;

	if (n > cap - cap / 4)
		n = cap - cap / 4;
	return n > 0 ? n : 1;
}

int
phase_batch_size(const struct phase_view *v)
{
	int n = v->batch_max;

	if (fresh(v) && phase_first(v) - v->llm_waiting < n)
		n = phase_first(v) - v->llm_waiting;
	return n > 0 ? n : 1;
}

/*
 * Rule 5 holds for the small first batch too: a window someone set is
 * kept until batch_max files wait, and only the claim is smaller.
 */
bool
phase_stt_ready(const struct phase_view *v)
{
	return v->stt_available && v->stt_waiting > 0 &&
	    (v->stt_waiting >= or_default_int(v->batch_max, 1) ||
	    v->stt_oldest_s >= v->batch_window_s);
}

bool
phase_llm_ready(const struct phase_view *v)
{
	return v->llm_healthy > 0 && v->llm_waiting > 0;
}

/* Rule 2: files being prepared will be ready for STT in a moment. */
static bool
stt_soon(const struct phase_view *v)
{
	return v->stt_available && v->prep_waiting > 0;
}

/* Rules 1 to 3: the next phase is LLM (when no side is starved). */
static bool
llm_worth(const struct phase_view *v)
{
	if (!phase_llm_ready(v))
		return false;
	if (fresh(v) && v->llm_waiting >= phase_first(v))
		return true;			/* rule 3 */
	if (v->last_work == PHASE_LLM)
		return true;			/* rule 1: no switch */
	if (phase_stt_ready(v))
		return false;			/* rule 1: STT goes on */
	return !stt_soon(v) ||		/* rule 2 */
	    v->llm_waiting >= or_default_int(v->llm_capacity, 1);
}

enum phase_action
phase_next(const struct phase_view *v)
{
	bool stt = phase_stt_ready(v), llm = phase_llm_ready(v);
	bool stt_starved = stt && v->stt_oldest_s >= v->max_phase_s;
	bool llm_starved = llm && v->llm_wait_s >= v->max_phase_s;

	/* Rule 4: a side that waited max_phase_s goes next; both: turns. */
	if (stt_starved && llm_starved)
		return v->last_work == PHASE_STT ? PHASE_RUN_LLM :
		    PHASE_RUN_STT;
	if (llm_starved)
		return PHASE_RUN_LLM;
	if (stt_starved && v->last_work == PHASE_LLM)
		return PHASE_RUN_STT;
	if (llm_worth(v))
		return PHASE_RUN_LLM;
	if (stt)
		return PHASE_RUN_STT;
	return PHASE_WAIT;
}

bool
phase_time_up(const struct phase_view *v)
{
	if (v->phase == PHASE_STT)
		return phase_llm_ready(v) && (v->elapsed_s >= v->max_phase_s ||
		    v->llm_wait_s >= v->max_phase_s);
	if (v->phase == PHASE_LLM)
		return v->elapsed_s >= v->max_phase_s && phase_stt_ready(v);
	return false;
}

double
phase_wait_s(const struct phase_view *v, double poll_s)
{
	double left;

	/* Wake when the oldest upload's batch window closes. */
	if (v->stt_available && v->stt_waiting > 0) {
		left = v->batch_window_s - v->stt_oldest_s;
		if (left > 0 && left < poll_s)
			return left;
	}
	return poll_s;
}

/*
 * Follows phase_next: an STT run goes on until its queue is empty (in
 * runs of batch_max when it is longer, each followed by an LLM phase),
 * then one LLM phase evaluates what it produced, after a switch. The
 * first-results rule is left out: it only makes some results earlier.
 */
double
phase_eta(const struct phase_rates *r, enum phase now, double elapsed_s,
    const struct phase_position *p)
{
	double stt_s = or_default(r->stt_s, DEFAULT_STT_S);
	double llm_s = or_default(r->llm_s, DEFAULT_LLM_S);
	double sw = or_default(r->switch_s, DEFAULT_SWITCH_S);
	int conc = or_default_int(r->stt_concurrency, 1);
	int cap = or_default_int(r->llm_capacity, 1);
	int batch = or_default_int(r->batch_max, 50);
	double eta = 0, own;
	int runs, in_run, run_len, left;

	if (!p->in_stt) {
		/* Evaluation: after the STT run going on now, if any. */
		if (now == PHASE_STT || now == PHASE_SWITCHING) {
			left = p->stt_queue < batch ? p->stt_queue : batch;
			eta += fmax(ceil((double)left / conc) * stt_s -
			    (now == PHASE_STT ? fmin(elapsed_s, stt_s) : 0),
			    0) + sw;
		}
		own = p->processing ? llm_s * (1 - p->progress) : llm_s;
		return eta + ceil((double)p->ahead / cap) * llm_s + own;
	}
	/*
	 * Transcription first: the LLM phase running now, the STT runs
	 * before ours (each followed by an LLM phase), our run up to its
	 * end, then the LLM phase that evaluates our run.
	 */
	if (!p->processing && p->window_left_s > 0)
		eta += p->window_left_s;
	if (now == PHASE_LLM)
		eta += ceil((double)p->llm_queue / cap) * llm_s + sw;
	runs = p->ahead / batch;
	in_run = p->ahead % batch;
	eta += runs * (batch * stt_s / conc + ceil((double)batch / cap) *
	    llm_s + 2 * sw);
	own = p->processing ? stt_s * (1 - p->progress) : stt_s;
	eta += ceil((double)in_run / conc) * stt_s + own;
	run_len = p->stt_queue - runs * batch;
	if (run_len > batch)
		run_len = batch;
	if (run_len > in_run + 1)
		eta += ceil((double)(run_len - in_run - 1) / conc) * stt_s;
	return eta + sw + ceil((double)(in_run + 1) / cap) * llm_s;
}
