/*
 * events: what a live page learns about a submission or the system, as
 * the small JSON events the WebSocket hub pushes. Owns the event
 * projection of a submission (its row, newest evaluation and the LLM call
 * running for it) and the version numbers of sql/005, which let a client
 * that reconnects ask for everything it missed.
 *
 * Every function runs on a connection the caller holds: the hub's
 * listener uses its own, request threads one from the pool.
 */
#ifndef INTROEVAL_EVENTS_H
#define INTROEVAL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#define EVENTS_MAX_COURSES	16	/* courses one event is routed to */

/* Which submissions a topic covers. */
enum events_topic {
	EVENTS_COURSE,		/* a course's students' submissions */
	EVENTS_SUBMISSION,	/* one submission */
	EVENTS_STUDENT,		/* one student's submissions */
};

struct events_row {
	long long	 id;
	long long	 student_id;
	long long	 version;
	long long	 courses[EVENTS_MAX_COURSES];
	int		 ncourses;
	char		*json;		/* {"type": "submission", ...} */
};

/* The events of the submissions ids (those that still exist). */
bool	 events_fetch(PGconn *, const long long *ids, int n,
	    struct events_row **rows, int *nrows, char *err, size_t errlen);
/*
 * The submissions of a topic whose version is above since, oldest
 * version first, at most limit of them.
 */
bool	 events_since(PGconn *, enum events_topic, long long key,
	    long long since, int limit, struct events_row **rows, int *nrows,
	    char *err, size_t errlen);
/* Ids of every submission whose version is above since. */
bool	 events_changed(PGconn *, long long since, long long **ids, int *n,
	    char *err, size_t errlen);
void	 events_rows_free(struct events_row *, int n);
/* The highest version any submission has; -1 on error. */
long long events_max_version(PGconn *, char *err, size_t errlen);
/*
 * {"type":"system", nodes: [{node, phase, phase_s, batch_id, batch_size,
 * batch_done, queue_stt, queue_llm, active_workers, stt_available,
 * llm_healthy, updated_s}], queue: {stt, llm}} as text; caller frees.
 */
char	*events_system(PGconn *, char *err, size_t errlen);

#endif
