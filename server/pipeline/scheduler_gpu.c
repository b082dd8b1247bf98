/*
 * scheduler_gpu: the node's GPUs, every gpu_sample_s, from the heartbeat
 * thread: what each holds in memory, how busy and how hot it is, with a
 * short history, written with the node's system_state row for the health
 * page; and the thermal ceiling. A GPU at gpu_temp_ceiling_c or above
 * holds new LLM calls on this node (pool_hold; calls on the wire finish)
 * until every GPU is THERMAL_HYSTERESIS_C below the ceiling, so a card
 * hovering at the line does not flap. The phase controller's own pause
 * is a separate gate and unaffected. A node without nvidia-smi (or the
 * configured gpu_smi) simply has no telemetry.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "scheduler_impl.h"
#include "util.h"

#define THERMAL_HYSTERESIS_C	5

static void	 record(struct sched *, const struct gpu *, size_t);
static void	 thermal(struct sched *);

void
sched_gpu_tick(struct sched *s)
{
	struct gpu g[GPU_MAX];
	char err[256];
	bool missing;
	int n;

	if (s->cfg->gpu_sample_s <= 0 || util_monotonic() < s->gpu.next)
		return;
	s->gpu.next = util_monotonic() + s->cfg->gpu_sample_s;
	n = gpu_sample(s->cfg->gpu_smi, g, GPU_MAX, &missing, err,
	    sizeof(err));
	pthread_mutex_lock(&s->lock);
	if (missing && !s->gpu.missing)
		log_info("sched: no GPU telemetry: %s is not installed",
		    s->cfg->gpu_smi);
	s->gpu.missing = missing;
	if (n < 0) {
		if (strcmp(err, s->gpu.error) != 0)
			log_warnx("sched: GPU sample: %s", err);
		util_strlcpy(s->gpu.error, err, sizeof(s->gpu.error));
	} else {
		s->gpu.error[0] = '\0';
		record(s, g, (size_t)n);
	}
	thermal(s);
	pthread_mutex_unlock(&s->lock);
}

/* Under s->lock. */
static void
record(struct sched *s, const struct gpu *g, size_t n)
{
	struct gpu_point *pt;
	double now = util_wallclock();
	size_t i;

	if (n != s->gpu.n)
		s->gpu.nhist = s->gpu.histpos = 0;	/* the cards changed */
	memcpy(s->gpu.now, g, n * sizeof(*g));
	s->gpu.n = n;
	for (i = 0; i < n; i++) {
		pt = &s->gpu.hist[i][s->gpu.histpos];
		pt->at = now;
		pt->mem_used_mib = g[i].mem_used_mib;
		pt->util_pct = g[i].util_pct;
		pt->temp_c = g[i].temp_c;
	}
	s->gpu.histpos = (s->gpu.histpos + 1) % GPU_HISTORY;
	if (s->gpu.nhist < GPU_HISTORY)
		s->gpu.nhist++;
}

/* Under s->lock: holds or releases the pool on the temperature. */
static void
thermal(struct sched *s)
{
	int ceiling = s->cfg->gpu_temp_ceiling_c, hottest = -1, at = -1;
	size_t i;

	if (ceiling <= 0 || s->pool == NULL)
		return;
	for (i = 0; i < s->gpu.n; i++)
		if (s->gpu.now[i].temp_c > hottest) {
			hottest = s->gpu.now[i].temp_c;
			at = s->gpu.now[i].index;
		}
	if (!s->gpu.hot && hottest >= ceiling) {
		s->gpu.hot = true;
		snprintf(s->gpu.hot_why, sizeof(s->gpu.hot_why), "GPU %d is at "
		    "%d °C, at or above the ceiling of %d °C: new LLM calls wait "
		    "until every GPU is below %d °C", at, hottest, ceiling,
		    ceiling - THERMAL_HYSTERESIS_C);
		log_warnx("sched: LLM calls paused: %s", s->gpu.hot_why);
		pool_hold(s->pool, true);
	} else if (s->gpu.hot && (s->gpu.n == 0 ||
	    hottest < ceiling - THERMAL_HYSTERESIS_C)) {
		s->gpu.hot = false;
		log_info("sched: LLM calls resumed: the hottest GPU is at %d "
		    "°C", hottest);
		s->gpu.hot_why[0] = '\0';
		pool_hold(s->pool, false);
	}
}

void
sched_gpu_state(struct sched *s, json_t **gpus, json_t **thermal_out)
{
	json_t *arr, *g, *h;
	size_t i, k, idx;

	*gpus = *thermal_out = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->gpu.n > 0 || s->gpu.error[0] != '\0') {
		arr = gpu_json(s->gpu.now, s->gpu.n);
		json_array_foreach(arr, i, g) {
			h = json_array();
			for (k = 0; k < s->gpu.nhist; k++) {
				idx = (s->gpu.histpos + GPU_HISTORY -
				    s->gpu.nhist + k) % GPU_HISTORY;
				json_array_append_new(h, json_pack("{s:f, s:I, "
				    "s:i, s:i}", "at", s->gpu.hist[i][idx].at,
				    "mem_used_mib", (json_int_t)s->gpu.hist[i]
				    [idx].mem_used_mib, "util_pct",
				    s->gpu.hist[i][idx].util_pct, "temp_c",
				    s->gpu.hist[i][idx].temp_c));
			}
			json_object_set_new(g, "history", h);
		}
		*gpus = arr;
	}
	if (s->cfg->gpu_temp_ceiling_c > 0 && (s->gpu.n > 0 || s->gpu.hot))
		*thermal_out = json_pack("{s:b, s:s, s:i, s:s?}", "paused",
		    s->gpu.hot, "reason", s->gpu.hot_why, "ceiling_c",
		    s->cfg->gpu_temp_ceiling_c, "error", s->gpu.error[0] ?
		    s->gpu.error : NULL);
	pthread_mutex_unlock(&s->lock);
}

long
sched_gpu_mem_now(struct sched *s)
{
	struct gpu g[GPU_MAX];
	char err[256];
	bool missing;
	int n;

	if (s->cfg->gpu_sample_s <= 0)
		return -1;
	n = gpu_sample(s->cfg->gpu_smi, g, GPU_MAX, &missing, err,
	    sizeof(err));
	return n > 0 ? gpu_mem_used(g, (size_t)n) : -1;
}
