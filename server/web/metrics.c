/*
 * metrics: the Prometheus exposition (see metrics.h). Counters are
 * counted from the database (the phase log, phase runs, submissions), so
 * they survive restarts and agree across instances; only the WebSocket
 * client count and the uptime belong to this process.
 *
 *   introeval_build_info{version}                 gauge 1
 *   introeval_uptime_seconds                      gauge
 *   introeval_websocket_clients                   gauge
 *   introeval_submissions{phase,status}           gauge
 *   introeval_queue_depth{phase}                  gauge, waiting (not
 *                                                 yet being processed)
 *   introeval_call_duration_seconds{phase,backend} histogram of STT and
 *                                                 LLM calls
 *   introeval_calls_total{phase,backend,outcome}  counter
 *   introeval_phase_runs_total{node,phase}        counter (phase switches)
 *   introeval_stale_writes_total{node}            counter: results refused
 *                                                 because their claim was
 *                                                 taken over
 *   introeval_interrupted_attempts                gauge: processing cut
 *                                                 short by crashes, summed
 *                                                 over submissions
 *   introeval_uploads_total, introeval_upload_bytes_total  counters
 *   introeval_evidence_quotes_total{backend}      counter: evidence quotes
 *   introeval_evidence_unverified_total{backend}  counter: those not found
 *                                                 in the transcript
 *   introeval_database_size_bytes                 gauge
 */
#include "metrics.h"

#include <string.h>
#include <strings.h>

#include "app.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "evaluation.h"
#include "health.h"
#include "http.h"
#include "util.h"
#include "ws.h"

/* Label names of the series built from the query's rows. */
static const char *const by_phase_status[] = { "phase", "status", NULL };
static const char *const by_phase_backend[] = { "phase", "backend", NULL };
static const char *const by_call[] = { "phase", "backend", "outcome", NULL };
static const char *const by_node_phase[] = { "node", "phase", NULL };
static const char *const by_node[] = { "node", NULL };
static const char *const by_backend[] = { "backend", NULL };

static bool	 allowed(struct req *);
static void	 label(struct buf *, const char *, json_t *, bool);
static void	 series(struct buf *, const char *, json_t *,
		    const char *const *);
static void	 sample(struct buf *, const char *, json_t *,
		    const char *const *);
static void	 head(struct buf *, const char *, const char *,
		    const char *);
static void	 gauges(struct buf *, struct app *, json_t *);
static void	 histogram(struct buf *, json_t *);
static void	 flush_series(struct buf *, const char *, const char *,
		    const long long *, long long, double);
static void	 counters(struct buf *, json_t *);
static void	 evidence(struct buf *, json_t *);

static bool
allowed(struct req *r)
{
	const char *auth = http_header(r, "Authorization");
	const char *token = r->app->cfg->metrics_token;

	if (r->authed && strcmp(r->user.role, "admin") == 0)
		return true;
	return token != NULL && token[0] != '\0' && auth != NULL &&
	    strncasecmp(auth, "Bearer ", 7) == 0 &&
	    auth_token_equal(auth + 7, token);
}

/* name="value", with \ " and newlines escaped as the format asks. */
static void
label(struct buf *b, const char *name, json_t *v, bool first)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/* name{l1="...",l2="..." with the labels' values from row; unclosed. */
static void
series(struct buf *b, const char *name, json_t *row,
    const char *const *labels)
{
	size_t i;

	buf_printf(b, "%s{", name);
	for (i = 0; labels[i] != NULL; i++)
		label(b, labels[i], json_object_get(row, labels[i]), i == 0);
}

/* One sample of a row counted in its field n. */
static void
sample(struct buf *b, const char *name, json_t *row,
    const char *const *labels)
{
	series(b, name, row, labels);
	buf_printf(b, "} %lld\n", (long long)json_integer_value(
	    json_object_get(row, "n")));
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
gauges(struct buf *b, struct app *app, json_t *m)
{
	long long waiting[2] = { 0, 0 };
	struct auth_hash_stats hs;
	json_t *row;
	size_t i;

	head(b, "introeval_build_info", "gauge", "The running version.");
	buf_printf(b, "introeval_build_info{version=\"%s\"} 1\n",
	    INTROEVAL_VERSION);
	head(b, "introeval_uptime_seconds", "gauge", "Seconds since this "
	    "process started.");
	buf_printf(b, "introeval_uptime_seconds %.0f\n", util_wallclock() -
	    app->started_at);
	head(b, "introeval_websocket_clients", "gauge", "Open live-page "
	    "sockets on this instance.");
	buf_printf(b, "introeval_websocket_clients %d\n", ws_clients(
	    __atomic_load_n(&app->ws, __ATOMIC_ACQUIRE)));
	auth_hash_stats(&hs);
	head(b, "introeval_password_hashes_total", "counter", "Password "
	    "hashes and checks run (argon2id).");
	buf_printf(b, "introeval_password_hashes_total %lld\n", hs.done);
	head(b, "introeval_password_hashes_queued_total", "counter",
	    "Password hashes that waited for a place first.");
	buf_printf(b, "introeval_password_hashes_queued_total %lld\n",
	    hs.queued);
	head(b, "introeval_password_hashes_refused_total", "counter",
	    "Sign-ins answered 503 because no hashing place came free.");
	buf_printf(b, "introeval_password_hashes_refused_total %lld\n",
	    hs.refused);
	head(b, "introeval_password_hashes_running", "gauge", "Password "
	    "hashes running now.");
	buf_printf(b, "introeval_password_hashes_running %d\n", hs.running);
	head(b, "introeval_password_hashes_running_max", "gauge", "The most "
	    "password hashes that ran at once since start (at most "
	    "hash_workers).");
	buf_printf(b, "introeval_password_hashes_running_max %d\n",
	    hs.running_max);
	head(b, "introeval_password_hashes_waiting", "gauge", "Sign-ins "
	    "waiting for a hashing place now.");
	buf_printf(b, "introeval_password_hashes_waiting %d\n", hs.waiting);
	head(b, "introeval_submissions", "gauge", "Submissions by phase and "
	    "status.");
	json_array_foreach(json_object_get(m, "submissions"), i, row) {
		const char *ph = json_string_value(json_object_get(row,
		    "phase"));
		const char *st = json_string_value(json_object_get(row,
		    "status"));
		long long n = json_integer_value(json_object_get(row, "n"));

		sample(b, "introeval_submissions", row, by_phase_status);
		if (strcmp(st, "processing") == 0)
			continue;
		if (strcmp(ph, "prep") == 0 || strcmp(ph, "stt") == 0)
			waiting[0] += n;
		else if (strcmp(ph, "llm") == 0)
			waiting[1] += n;
	}
	head(b, "introeval_queue_depth", "gauge", "Submissions waiting for a "
	    "phase (not yet being processed).");
	buf_printf(b, "introeval_queue_depth{phase=\"stt\"} %lld\n"
	    "introeval_queue_depth{phase=\"llm\"} %lld\n", waiting[0],
	    waiting[1]);
	head(b, "introeval_database_size_bytes", "gauge", "Size of the "
	    "database.");
	buf_printf(b, "introeval_database_size_bytes %lld\n",
	    (long long)json_integer_value(json_object_get(m,
	    "db_size_bytes")));
}

/*
 * One histogram series. per[b] counts the calls with b bounds at or
 * below their duration (width_bucket), so "le = bound i" is the sum of
 * per[0..i].
 */
static void
flush_series(struct buf *b, const char *phase, const char *backend,
    const long long *per, long long count, double sum)
{
	json_t *key = json_object();
	long long cum = 0;
	int i;

	json_object_set_new(key, "phase", json_string(phase));
	json_object_set_new(key, "backend", json_string(backend));
	for (i = 0; i <= health_nbuckets; i++) {
		series(b, "introeval_call_duration_seconds_bucket", key,
		    by_phase_backend);
		if (i == health_nbuckets) {
			buf_printf(b, ",le=\"+Inf\"} %lld\n", count);
			break;
		}
		cum += per[i];
		buf_printf(b, ",le=\"%g\"} %lld\n", health_buckets_s[i], cum);
	}
	series(b, "introeval_call_duration_seconds_sum", key,
	    by_phase_backend);
	buf_printf(b, "} %.3f\n", sum);
	series(b, "introeval_call_duration_seconds_count", key,
	    by_phase_backend);
	buf_printf(b, "} %lld\n", count);
	json_decref(key);
}

/* Rows come ordered by phase and backend: one series per change. */
static void
histogram(struct buf *b, json_t *m)
{
	long long per[32], count = 0;
	char phase[32] = "", backend[128] = "";
	double sum = 0;
	json_t *row;
	size_t i;

	head(b, "introeval_call_duration_seconds", "histogram", "Duration of "
	    "STT and LLM calls, from the phase log.");
	memset(per, 0, sizeof(per));
	json_array_foreach(json_object_get(m, "latency"), i, row) {
		const char *ph = json_string_value(json_object_get(row,
		    "phase"));
		const char *be = json_string_value(json_object_get(row,
		    "backend"));
		json_int_t k = json_integer_value(json_object_get(row, "b"));

		if (ph == NULL || be == NULL)
			continue;
		if (strcmp(ph, phase) != 0 || strcmp(be, backend) != 0) {
			if (count > 0)
				flush_series(b, phase, backend, per, count,
				    sum);
			memset(per, 0, sizeof(per));
			count = 0;
			sum = 0;
			util_strlcpy(phase, ph, sizeof(phase));
			util_strlcpy(backend, be, sizeof(backend));
		}
		if (k >= 0 && k <= health_nbuckets)
			per[k] += json_integer_value(json_object_get(row, "n"));
		count += json_integer_value(json_object_get(row, "n"));
		sum += json_number_value(json_object_get(row, "s"));
	}
	if (count > 0)
		flush_series(b, phase, backend, per, count, sum);
}

static void
counters(struct buf *b, json_t *m)
{
	json_t *row, *up = json_object_get(m, "uploads");
	size_t i;

	head(b, "introeval_calls_total", "counter", "STT and LLM calls and "
	    "model unloads by outcome.");
	json_array_foreach(json_object_get(m, "calls"), i, row)
		sample(b, "introeval_calls_total", row, by_call);
	head(b, "introeval_phase_runs_total", "counter", "Phases each node "
	    "has entered (phase switches).");
	json_array_foreach(json_object_get(m, "switches"), i, row)
		sample(b, "introeval_phase_runs_total", row, by_node_phase);
	head(b, "introeval_stale_writes_total", "counter", "Results refused "
	    "because their claim had been taken over, cancelled or claimed "
	    "again.");
	json_array_foreach(json_object_get(m, "stale_writes"), i, row)
		sample(b, "introeval_stale_writes_total", row, by_node);
	head(b, "introeval_interrupted_attempts", "gauge", "Attempts cut "
	    "short by a crash or a lost lease, summed over submissions.");
	buf_printf(b, "introeval_interrupted_attempts %lld\n", (long long)
	    json_integer_value(json_object_get(m, "crashes")));
	head(b, "introeval_uploads_total", "counter", "Accepted uploads.");
	buf_printf(b, "introeval_uploads_total %lld\n", (long long)
	    json_integer_value(json_object_get(up, "count")));
	head(b, "introeval_upload_bytes_total", "counter", "Bytes of accepted "
	    "uploads.");
	buf_printf(b, "introeval_upload_bytes_total %lld\n", (long long)
	    json_integer_value(json_object_get(up, "bytes")));
}

static void
evidence(struct buf *b, json_t *rows)
{
	json_t *row;
	size_t i;

	head(b, "introeval_evidence_quotes_total", "counter", "Evidence "
	    "quotes the scoring models gave, by backend.");
	json_array_foreach(rows, i, row) {
		series(b, "introeval_evidence_quotes_total", row, by_backend);
		buf_printf(b, "} %lld\n", (long long)json_integer_value(
		    json_object_get(row, "quotes")));
	}
	head(b, "introeval_evidence_unverified_total", "counter", "Evidence "
	    "quotes not found in the transcript (shown to staff only), by "
	    "backend.");
	json_array_foreach(rows, i, row) {
		series(b, "introeval_evidence_unverified_total", row,
		    by_backend);
		buf_printf(b, "} %lld\n", (long long)json_integer_value(
		    json_object_get(row, "unverified")));
	}
}

int
metrics_handler(struct req *r)
{
	static const char no[] = "sign in as an admin or send the metrics "
	    "token\n";
	struct buf b = BUF_INIT;
	char err[512];
	json_t *m;
	int rc;

	if (!allowed(r))
		return r->authed ? http_error(r, 403, "only admins read the "
		    "metrics") : http_send(r, 401, "text/plain; charset=utf-8",
		    no, sizeof(no) - 1, "WWW-Authenticate: Bearer "
		    "realm=\"introeval\"\r\nCache-Control: no-store\r\n");
	if (!health_metrics(r->app, &m, err, sizeof(err)))
		return http_db_error(r);
	gauges(&b, r->app, m);
	histogram(&b, m);
	counters(&b, m);
	json_decref(m);
	if (!evaluation_evidence_stats(r->app->db, &m, err, sizeof(err))) {
		buf_free(&b);
		return http_db_error(r);
	}
	evidence(&b, m);
	json_decref(m);
	rc = http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf_cstr(&b), b.len, NULL);
	buf_free(&b);
	return rc;
}
