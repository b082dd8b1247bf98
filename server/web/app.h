/*
 * app: the process-wide state every request handler and the scheduler
 * share. Built once in main before the first thread starts and read-only
 * afterwards; the pieces with mutable state (db pool, llm pool, the
 * probe gate) lock internally.
 */
#ifndef INTROEVAL_APP_H
#define INTROEVAL_APP_H

#include <stdatomic.h>

#include "gate.h"

struct config;
struct db;
struct sched;
struct tmpl_set;
struct ws_hub;

struct app {
	const struct config	*cfg;
	struct db		*db;
	struct tmpl_set		*tmpl;
	struct sched		*sched;		/* set before HTTP starts */
	struct ws_hub		*ws;		/* set by ws_start; may be NULL */
	char			*static_dir;
	char			*uploads_dir;
	char			*work_dir;
	double			 started_at;	/* wall clock */
	struct gate		 probes;	/* ffprobe runs at intake */
	atomic_bool		 stopping;	/* SIGTERM: /readyz says 503 */
};

#endif
