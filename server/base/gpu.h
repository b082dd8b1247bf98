/*
 * gpu: what the node's GPUs are doing, read from nvidia-smi.
 *
 *   nvidia-smi --query-gpu=index,name,memory.used,memory.total,
 *              utilization.gpu,temperature.gpu --format=csv,noheader,nounits
 *
 * prints one line per GPU ("0, NVIDIA GeForce RTX 4090, 1234, 24564, 37,
 * 52"); a field the card cannot report reads "[N/A]" (or "[Not
 * Supported]") and is kept as -1. A node without the program has no GPU
 * telemetry, which is not an error.
 */
#ifndef INTROEVAL_GPU_H
#define INTROEVAL_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define GPU_MAX		16

struct gpu {
	int	 index;
	char	 name[96];
	long	 mem_used_mib;	/* -1: not reported */
	long	 mem_total_mib;
	int	 util_pct;
	int	 temp_c;
};

/* Parses nvidia-smi's CSV; returns the GPUs read (malformed lines skipped). */
size_t	 gpu_parse(const char *csv, struct gpu *out, size_t max);
/*
 * Runs program (e.g. "nvidia-smi") with the query above, at most 5 s.
 * Returns the number of GPUs, 0 with *missing set when the program is not
 * there, or -1 with the reason.
 */
int	 gpu_sample(const char *program, struct gpu *out, size_t max,
	    bool *missing, char *err, size_t errlen);
/* [{index, name, mem_used_mib, mem_total_mib, util_pct, temp_c}] */
json_t	*gpu_json(const struct gpu *, size_t);
/* Memory used over all GPUs, MiB; -1 when none reports it. */
long	 gpu_mem_used(const struct gpu *, size_t);

#endif
