/*
 * phase: the controller's pure decisions (see phase.h). No clocks are
 * read here; every input comes in the view.
 */
#include "phase.h"

#include <math.h>

#define DEFAULT_STT_S		10.0
#define DEFAULT_LLM_S		20.0
#define DEFAULT_SWITCH_S	2.0

static double	or_default(double, double);
static int	or_default_int(int, int);

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

bool
phase_stt_ready(const struct phase_view *v)
{
	return v->stt_available && v->stt_waiting > 0 &&
	    (v->stt_waiting >= v->batch_max ||
	    v->stt_oldest_s >= v->batch_window_s);
}

bool
phase_llm_ready(const struct phase_view *v)
{
	return v->llm_healthy > 0 && v->llm_waiting > 0;
}

enum phase_action
phase_next(const struct phase_view *v)
{
	bool stt = phase_stt_ready(v), llm = phase_llm_ready(v);

	/* Both sides have work: take turns, so neither starves. */
	if (stt && llm)
		return v->last_work == PHASE_STT ? PHASE_RUN_LLM :
		    PHASE_RUN_STT;
	if (llm)
		return PHASE_RUN_LLM;
	if (stt)
		return PHASE_RUN_STT;
	return PHASE_WAIT;
}

bool
phase_time_up(const struct phase_view *v)
{
	if (v->elapsed_s < v->max_phase_s)
		return false;
	if (v->phase == PHASE_STT)
		return phase_llm_ready(v);
	if (v->phase == PHASE_LLM)
		return phase_stt_ready(v);
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

double
phase_eta(const struct phase_rates *r, enum phase now, double elapsed_s,
    const struct phase_position *p)
{
	double stt_s = or_default(r->stt_s, DEFAULT_STT_S);
	double llm_s = or_default(r->llm_s, DEFAULT_LLM_S);
	double sw = or_default(r->switch_s, DEFAULT_SWITCH_S);
	int conc = or_default_int(r->stt_concurrency, 1);
	int cap = or_default_int(r->llm_capacity, 1);
	int batch = or_default_int(r->batch_max, 10);
	double eta = 0, own;
	int batches;

	if (!p->in_stt) {
		/* Evaluation: after the STT phase running now, if any. */
		if (now == PHASE_STT || now == PHASE_SWITCHING)
			eta += fmax(stt_s * batch / conc - elapsed_s, 0) + sw;
		own = p->processing ? llm_s * (1 - p->progress) : llm_s;
		return eta + ceil((double)p->ahead / cap) * llm_s + own;
	}
	/*
	 * Transcription first: the batches before ours, each followed by an
	 * LLM phase for what it produced, then our own evaluation.
	 */
	own = p->processing ? stt_s * (1 - p->progress) : stt_s;
	if (!p->processing && p->window_left_s > 0)
		eta += p->window_left_s;
	batches = p->ahead / batch;
	eta += ceil((double)p->ahead / conc) * stt_s + own;
	eta += batches * (ceil((double)batch / cap) * llm_s + sw);
	if (now == PHASE_LLM)
		eta += ceil((double)p->llm_queue / cap) * llm_s + sw;
	return eta + llm_s;
}
