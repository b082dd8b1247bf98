/*
 * events: the JSON events of live pages, built by PostgreSQL itself
 * (json_build_object), so the hub only routes text (see events.h).
 *
 * A submission's event names the courses it belongs to: its own course
 * when it has one, otherwise every course its student is enrolled in as a
 * student. "running_on" is the backend of an LLM call that started and
 * has not finished, when the phase log records one.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "util.h"


#define EVENT_SELECT \
	"SELECT s.id, s.student_id, s.version, " \
	"  (CASE WHEN s.course_id IS NOT NULL THEN ARRAY[s.course_id] " \
	"   ELSE ARRAY(SELECT m.course_id FROM course_members m " \
	"     WHERE m.user_id = s.student_id AND m.role = 'student' " \
	"     ORDER BY m.course_id) END)::text AS courses, " \
	"  json_build_object('type', 'submission', 'id', s.id, " \
	"    'student_id', s.student_id, 'student_name', u.name, " \
	"    'course_id', s.course_id, 'version', s.version, " \
	"    'assignment_id', s.assignment_id, 'late', s.late, " \
	"    'phase', s.phase, 'status', s.status, 'priority', s.priority, " \
	"    'stt_progress', s.stt_progress, 'error', s.error_message, " \
	"    'batch_id', s.batch_id, 'node', s.node, " \
	"    'retry_count', s.retry_count, 'review_seq', s.review_seq, " \
	"    'overall', e.overall, " \
	"    'model', e.model, 'running_on', run.backend, " \
	"    'created_at', iso_utc(s.created_at), " \
	"    'updated_at', iso_utc(s.updated_at), " \
	"    'completed_at', iso_utc(s.completed_at))::text AS event " \
	"FROM submissions s JOIN users u ON u.id = s.student_id " \
	"LEFT JOIN LATERAL (SELECT round((final_scores(s.id) ->> " \
	"    'overall')::numeric, 1) AS overall, " \
	"    model FROM evaluations WHERE submission_id = s.id " \
	"    ORDER BY created_at DESC, id DESC LIMIT 1) e ON true " \
	"LEFT JOIN LATERAL (SELECT backend FROM phase_log " \
	"    WHERE submission_id = s.id AND phase = 'llm' " \
	"    AND finished_at IS NULL AND s.phase = 'llm' " \
	"    AND s.status = 'processing' " \
	"    ORDER BY started_at DESC LIMIT 1) run ON true "

static void	 rows_from(PGresult *, struct events_row **, int *);
static bool	 take_rows(PGresult *, struct events_row **, int *);
static int	 parse_ids(const char *, long long *, int);
static char	*id_array(const long long *, int);

/* "{1,2,3}": the text form of a bigint[] parameter. */
static char *
id_array(const long long *ids, int n)
{
	struct buf b = BUF_INIT;
	int i;

	buf_putc(&b, '{');
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%lld", i > 0 ? "," : "", ids[i]);
	buf_putc(&b, '}');
	return buf_release(&b);
}

/* Parses "{1,2}" into at most max ids; returns how many. */
static int
parse_ids(const char *text, long long *ids, int max)
{
	const char *p = text;
	char *end;
	int n = 0;

	while (p != NULL && *p != '\0' && n < max) {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		ids[n++] = strtoll(p, &end, 10);
		p = end;
	}
	return n;
}

static void
rows_from(PGresult *r, struct events_row **rows, int *nrows)
{
	int i, n = PQntuples(r);

	*rows = n > 0 ? xcalloc((size_t)n, sizeof(**rows)) : NULL;
	*nrows = n;
	for (i = 0; i < n; i++) {
		struct events_row *row = &(*rows)[i];

		row->id = db_get_ll(r, i, "id");
		row->student_id = db_get_ll(r, i, "student_id");
		row->version = db_get_ll(r, i, "version");
		row->ncourses = parse_ids(db_get(r, i, "courses"),
		    row->courses, EVENTS_MAX_COURSES);
		row->json = xstrdup(db_get(r, i, "event"));
	}
}

/* The rows of a query's result (NULL: it failed), which it clears. */
static bool
take_rows(PGresult *r, struct events_row **rows, int *nrows)
{
	*rows = NULL;
	*nrows = 0;
	if (r == NULL)
		return false;
	rows_from(r, rows, nrows);
	PQclear(r);
	return true;
}

bool
events_fetch(PGconn *c, const long long *ids, int n, struct events_row **rows,
    int *nrows, char *err, size_t errlen)
{
	char *arr = id_array(ids, n);
	const char *p[1] = { arr };
	PGresult *r = db_query(c, EVENT_SELECT "WHERE s.id = ANY($1::bigint[]) "
	    "ORDER BY s.version", 1, p, err, errlen);

	free(arr);
	return take_rows(r, rows, nrows);
}

bool
events_since(PGconn *c, enum events_topic topic, long long key,
    long long since, int limit, struct events_row **rows, int *nrows,
    char *err, size_t errlen)
{
	static const char *const filters[] = {
		[EVENTS_COURSE] = "s.student_id IN (SELECT user_id FROM "
		    "course_members WHERE course_id = $1 AND role = 'student') "
		    "AND (s.course_id IS NULL OR s.course_id = $1) ",
		[EVENTS_SUBMISSION] = "s.id = $1 ",
		[EVENTS_STUDENT] = "s.student_id = $1 ",
	};
	char kb[DB_NUM_LEN], sb[DB_NUM_LEN], lb[DB_NUM_LEN], *sql;
	const char *p[3] = { kb, sb, lb };
	PGresult *r;

	db_param_ll(kb, key);
	db_param_ll(sb, since);
	db_param_ll(lb, limit);
	sql = xasprintf(EVENT_SELECT "WHERE s.version > $2::bigint AND %s"
	    "ORDER BY s.version LIMIT $3::int", filters[topic]);
	r = db_query(c, sql, 3, p, err, errlen);
	free(sql);
	return take_rows(r, rows, nrows);
}

bool
events_changed(PGconn *c, long long since, long long **ids, int *n,
    char *err, size_t errlen)
{
	char sb[DB_NUM_LEN];
	const char *p[1] = { sb };
	PGresult *r;
	int i;

	db_param_ll(sb, since);
	*ids = NULL;
	*n = 0;
	if ((r = db_query(c, "SELECT id FROM submissions WHERE version > "
	    "$1::bigint ORDER BY version", 1, p, err, errlen)) == NULL)
		return false;
	*n = PQntuples(r);
	*ids = xcalloc((size_t)*n + 1, sizeof(**ids));
	for (i = 0; i < *n; i++)
		(*ids)[i] = db_get_ll(r, i, "id");
	PQclear(r);
	return true;
}

void
events_rows_free(struct events_row *rows, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(rows[i].json);
	free(rows);
}

long long
events_max_version(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = db_query(c, "SELECT coalesce(max(version), 0) AS v "
	    "FROM submissions", 0, NULL, err, errlen);
	long long v;

	if (r == NULL)
		return -1;
	v = db_get_ll(r, 0, "v");
	PQclear(r);
	return v;
}


char *
events_system(PGconn *c, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT json_build_object('type', 'system', "
	    "  'nodes', coalesce((SELECT json_agg(json_build_object("
	    "    'node', node, 'phase', phase, 'phase_s', "
	    "    round(extract(epoch FROM now() - phase_since)::numeric, 1), "
	    "    'batch_id', batch_id, 'batch_size', batch_size, "
	    "    'batch_done', batch_done, 'queue_stt', queue_stt, "
	    "    'queue_llm', queue_llm, 'active_workers', active_workers, "
	    "    'stt_available', stt_available, 'llm_healthy', llm_healthy, "
	    "    'gpus', detail->'gpus', 'thermal', detail->'thermal', "
	    "    'updated_s', round(extract(epoch FROM now() - updated_at)"
	    "    ::numeric, 1)) ORDER BY node) FROM system_state), '[]'), "
	    "  'queue', (SELECT json_build_object("
	    "    'stt', count(*) FILTER (WHERE phase IN ('prep', 'stt')), "
	    "    'llm', count(*) FILTER (WHERE phase = 'llm')) "
	    "    FROM submissions WHERE phase IN ('prep', 'stt', 'llm')))::text "
	    "AS j";
	PGresult *r = db_query(c, sql, 0, NULL, err, errlen);
	char *out;

	if (r == NULL)
		return NULL;
	out = xstrdup(db_get(r, 0, "j"));
	PQclear(r);
	return out;
}
