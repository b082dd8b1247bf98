/*
 * dash_health: the admin's health page (GET /admin/health). health.c
 * measures; this file turns the measurements into what people read
 * (sizes, durations, states) and into chart geometry (svg.c): the phase
 * timeline of the last hour as a Gantt chart with an STT and an LLM lane
 * per node, and throughput and error rate in five-minute buckets.
 */
#include <stdio.h>
#include <string.h>

#include "dash.h"
#include "health.h"
#include "http.h"
#include "svg.h"
#include "util.h"

#define CALL_INSET	5	/* calls are drawn thinner than phases */

static void	 bytes_text(double, char *, size_t);
static json_t	*summary(json_t *);
static void	 backend_states(json_t *);
static json_t	*lane(json_t *, const char *, const char *);
static void	 tip_ago(json_t *, double, const char *);
static double	 window_s(json_t *, double);
static json_t	*timeline(json_t *);
static json_t	*throughput(json_t *);
static json_t	*error_rate(json_t *);

static void
bytes_text(double b, char *out, size_t len)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(out, len, "%.1f GiB", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(out, len, "%.1f MiB", b / (1024.0 * 1024));
	else
		snprintf(out, len, "%.0f KiB", b / 1024.0);
}

static json_t *
summary(json_t *h)
{
	json_t *db = json_object_get(h, "db"), *disk = json_object_get(h,
	    "disk");
	double free_b = json_number_value(json_object_get(disk, "free_bytes"));
	double total = json_number_value(json_object_get(disk, "total_bytes"));
	char up[32], size[32], free_t[32];

	dash_duration(json_number_value(json_object_get(h, "uptime_s")), up,
	    sizeof(up));
	bytes_text(json_number_value(json_object_get(db, "size_bytes")), size,
	    sizeof(size));
	bytes_text(free_b, free_t, sizeof(free_t));
	return json_pack("{s:O, s:s, s:O, s:s, s:O, s:O, s:O, s:O?, s:s, "
	    "s:i, s:b, s:O?}", "version", json_object_get(h, "version"),
	    "uptime", up, "ws_clients", json_object_get(h, "ws_clients"),
	    "db_size", size, "connections", json_object_get(db,
	    "connections"), "max_connections", json_object_get(db,
	    "max_connections"), "replicas", json_object_get(db, "replicas"),
	    "server", json_object_get(db, "server"), "disk_free", free_t,
	    "disk_used_pct", total > 0 ? (int)(100 - 100 * free_b / total) :
	    0, "disk_low", total > 0 && free_b / total < 0.1, "disk_path",
	    json_object_get(disk, "path"));
}

/* A chip class for every state the pool or the phase log reports. */
static void
backend_states(json_t *list)
{
	json_t *b;
	size_t i;

	json_array_foreach(list, i, b) {
		const char *st = json_string_value(json_object_get(b,
		    "state"));
		bool good = st != NULL && (strcmp(st, "up") == 0 ||
		    strcmp(st, "closed") == 0);
		bool bad = st != NULL && (strcmp(st, "down") == 0 ||
		    strcmp(st, "open") == 0 || strcmp(st, "failing") == 0);

		json_object_set_new(b, "state_class", json_string(good ? "up" :
		    bad ? "down" : "other"));
		json_object_set_new(b, "is_llm", json_boolean(strcmp(
		    json_string_value(json_object_get(b, "kind")), "llm") ==
		    0));
	}
}

static json_t *
lane(json_t *lanes, const char *node, const char *which)
{
	json_t *l;
	char label[160];
	size_t i;

	snprintf(label, sizeof(label), "%s · %s", node, which);
	json_array_foreach(lanes, i, l)
		if (strcmp(json_string_value(json_object_get(l, "label")),
		    label) == 0)
			return json_object_get(l, "bars");
	l = json_pack("{s:s, s:[]}", "label", label, "bars");
	json_array_append_new(lanes, l);
	return json_object_get(l, "bars");
}

/* "STT phase, 85 s, ended 12 min ago" for a bar's tooltip. */
static void
tip_ago(json_t *bar, double now, const char *what)
{
	double s = json_number_value(json_object_get(bar, "s"));
	json_t *e = json_object_get(bar, "e");
	char dur[32], ago[32];

	dash_duration((json_is_number(e) ? json_number_value(e) : now) - s,
	    dur, sizeof(dur));
	dash_duration(now - (json_is_number(e) ? json_number_value(e) : now),
	    ago, sizeof(ago));
	json_object_set_new(bar, "tip", json_is_number(e) ? json_sprintf("%s, "
	    "%s, ended %s ago", what, dur, ago) : json_sprintf("%s, running "
	    "for %s", what, dur));
}

/*
 * The last hour, zoomed to the last 15 or 5 minutes when everything that
 * ran did so within them, so a short lab session is not a sliver.
 */
static double
window_s(json_t *h, double now)
{
	static const double spans[] = { 300, 900, 3600 };
	double first = now;
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(h, "runs"), i, it)
		if (json_number_value(json_object_get(it, "s")) < first)
			first = json_number_value(json_object_get(it, "s"));
	json_array_foreach(json_object_get(h, "calls"), i, it)
		if (json_number_value(json_object_get(it, "s")) < first)
			first = json_number_value(json_object_get(it, "s"));
	for (i = 0; i < ARRAY_LEN(spans) - 1; i++)
		if (now - first <= spans[i] * 0.95)
			return spans[i];
	return spans[ARRAY_LEN(spans) - 1];
}

/*
 * Two lanes per node: phases (runs) are wide bars, the calls inside
 * them thin bars on top, so an STT call inside an LLM phase (or the
 * reverse) would show at a glance.
 */
static json_t *
timeline(json_t *h)
{
	double now = json_number_value(json_object_get(h, "now"));
	json_t *lanes = json_array(), *it, *bar, *out;
	size_t i;

	json_array_foreach(json_object_get(h, "runs"), i, it) {
		const char *ph = json_string_value(json_object_get(it,
		    "phase"));
		bool llm = strcmp(ph, "llm") == 0;
		char what[96];

		bar = json_pack("{s:O, s:O, s:s}", "s", json_object_get(it,
		    "s"), "e", json_object_get(it, "e"), "kind", llm ?
		    "run-llm" : strcmp(ph, "stt") == 0 ? "run-stt" :
		    "run-switch");
		snprintf(what, sizeof(what), "%s phase, %lld items", llm ?
		    "LLM" : strcmp(ph, "stt") == 0 ? "STT" : "switch",
		    (long long)json_integer_value(json_object_get(it,
		    "items")));
		tip_ago(bar, now, what);
		json_array_append_new(lane(lanes, json_string_value(
		    json_object_get(it, "node")), llm ? "LLM" : "STT"), bar);
	}
	json_array_foreach(json_object_get(h, "calls"), i, it) {
		const char *ph = json_string_value(json_object_get(it,
		    "phase"));
		const char *be = json_string_value(json_object_get(it,
		    "backend"));
		bool llm = strcmp(ph, "llm") == 0;
		char what[160];

		bar = json_pack("{s:O, s:O, s:s, s:i}", "s", json_object_get(it,
		    "s"), "e", json_object_get(it, "e"), "kind", llm ?
		    "call-llm" : strcmp(ph, "stt") == 0 ? "call-stt" :
		    "call-unload", "inset", CALL_INSET);
		snprintf(what, sizeof(what), "%s call on %s for #%lld (%s)",
		    strcmp(ph, "unload") == 0 ? "unload" : llm ? "LLM" : "STT",
		    be != NULL ? be : "?", (long long)json_integer_value(
		    json_object_get(it, "submission_id")), json_string_value(
		    json_object_get(it, "outcome")));
		tip_ago(bar, now, what);
		json_array_append_new(lane(lanes, json_string_value(
		    json_object_get(it, "node")), llm ? "LLM" : "STT"), bar);
	}
	out = svg_gantt(lanes, now - window_s(h, now), now);
	json_object_set_new(out, "minutes", json_integer((json_int_t)
	    window_s(h, now) / 60));
	json_object_set_new(out, "empty", json_boolean(json_array_size(lanes)
	    == 0));
	json_decref(lanes);
	return out;
}

static json_t *
throughput(json_t *h)
{
	json_t *buckets = json_array(), *b, *out;
	json_int_t done, failed;
	size_t i;

	json_array_foreach(json_object_get(h, "buckets"), i, b) {
		done = json_integer_value(json_object_get(b, "done"));
		failed = json_integer_value(json_object_get(b, "failed"));
		json_array_append_new(buckets, json_pack("{s:o, s:[{s:I, s:s, "
		    "s:o}, {s:I, s:s, s:o}]}", "label",
		    json_sprintf("−%d min", 60 - 5 * (int)i), "parts", "v",
		    done, "kind", "done", "tip",
		    json_sprintf("%lld scored", (long long)done), "v", failed,
		    "kind", "failed", "tip", json_sprintf("%lld failed",
		    (long long)failed)));
	}
	out = svg_columns(buckets, 5);
	json_decref(buckets);
	return out;
}

static json_t *
error_rate(json_t *h)
{
	json_t *points = json_array(), *b, *out;
	json_int_t calls, errors;
	bool any = false;
	size_t i;

	json_array_foreach(json_object_get(h, "buckets"), i, b) {
		calls = json_integer_value(json_object_get(b, "calls"));
		errors = json_integer_value(json_object_get(b, "errors"));
		any = any || calls > 0;
		json_array_append_new(points, calls > 0 ? json_pack("{s:f, "
		    "s:o, s:o}", "v", 100.0 * (double)errors / (double)calls,
		    "label", json_sprintf("−%d min", 60 - 5 * (int)i), "tip",
		    json_sprintf("%lld of %lld calls failed", (long long)errors,
		    (long long)calls)) : json_pack("{s:n, s:o}", "v", "label",
		    json_sprintf("−%d min", 60 - 5 * (int)i)));
	}
	out = svg_line(points, 10, "%");
	json_object_set_new(out, "empty", json_boolean(!any));
	json_decref(points);
	return out;
}

int
dash_health(struct req *r)
{
	char err[512];
	json_t *h, *view;

	if (!health_collect(r->app, &h, err, sizeof(err)))
		return http_error(r, 503, "the database is not answering; try "
		    "again in a moment");
	backend_states(json_object_get(h, "backends"));
	dash_node_labels(json_object_get(h, "nodes"));
	view = json_pack("{s:s, s:o, s:O, s:O, s:O, s:o, s:o, s:o}", "title",
	    "Health", "summary", summary(h), "nodes", json_object_get(h,
	    "nodes"), "backends", json_object_get(h, "backends"), "queue",
	    json_object_get(h, "queue"), "timeline", timeline(h),
	    "throughput", throughput(h), "errors", error_rate(h));
	json_object_set_new(view, "has_nodes", json_boolean(json_array_size(
	    json_object_get(h, "nodes")) > 0));
	json_decref(h);
	return http_render(r, 200, "health", view);
}
