/*
 * dash: the courses pages and a course's live progress page (see
 * dash.h). Handlers authorize (a teacher sees the courses they teach, an
 * admin every course; anyone else gets 404, as for a missing course),
 * call course.c and node.c, add display fields and render. The health
 * page is in health.c.
 */
#include "dash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>

#include "app.h"
#include "assign_web.h"
#include "assignment.h"
#include "buf.h"
#include "course.h"
#include "csv.h"
#include "db.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "node.h"
#include "queue.h"
#include "rubrics.h"
#include "util.h"

#define ETA_MAX_ROWS	200	/* estimates computed for one page */
#define STALE_S		120	/* a node not heard from this long */
#define SPARK_W		120	/* a GPU sparkline, in its viewBox */
#define SPARK_H		24

/* Status filter: a chip's group and how the filter names it. */
static const struct { const char *group, *label; } groups[] = {
	{ "", "Every status" },
	{ "none", "Not submitted" },
	{ "queued", "Uploaded or queued" },
	{ "transcribing", "Transcribing" },
	{ "evaluating", "Waiting for or in evaluation" },
	{ "done", "Done" },
	{ "failed", "Failed" },
};

static const char *str(json_t *, const char *);
static int	 db_down(struct req *);
static int	 course_page(struct req *, int, json_t *);
static void	 filter_rows(json_t *, json_t *, const char *, const char *);
static void	 count_view(json_t *, json_t *, json_t *);
static json_t	*filter_options(json_t *, const char *, const char *);
static void	 node_labels(json_t *);
static void	 gpu_labels(json_t *, json_t *);
static void	 eta_view(struct req *, json_t *, json_t *);
static json_t	*results_view(struct req *, long long, long long, json_t *);
static json_t	*score_cell(json_t *);
static void	 enrol_message(struct req *, json_t *);
static const char *in_section(const char *, char *, size_t);
static int	 courses_page(struct req *, int, json_t *);
static bool	 listed(json_t *, const char *);
static void	 csv_adjusted(struct buf *, json_t *);

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
db_down(struct req *r)
{
	return http_db_error(r);
}

void
dash_duration(double s, char *out, size_t len)
{
	long t = s > 0 ? (long)(s + 0.5) : 0;

	if (t < 60)
		snprintf(out, len, "%ld s", t);
	else if (t < 3600)
		snprintf(out, len, "%ld min %ld s", t / 60, t % 60);
	else
		snprintf(out, len, "%ld h %ld min", t / 3600, (t % 3600) / 60);
}

void
dash_chip(json_t *row)
{
	const char *phase = str(row, "phase"), *status = str(row, "status");
	const char *on = str(row, "running_on"), *state, *group;
	double prog = json_number_value(json_object_get(row, "stt_progress"));
	json_t *text;

	if (phase == NULL || status == NULL) {
		state = group = "none";
		text = json_string("Not submitted");
	} else if (strcmp(phase, "prep") == 0) {
		/* The sound is being extracted: not yet in the STT queue. */
		group = "queued";
		state = strcmp(status, "retry") == 0 ? "retry" : "uploaded";
		text = json_string(strcmp(status, "retry") == 0 ? "Preparing "
		    "the sound will be tried again" : "Uploaded");
	} else if (strcmp(phase, "stt") == 0) {
		group = "queued";
		if (strcmp(status, "retry") == 0) {
			state = "retry";
			text = json_string("Transcription will be tried again");
		} else if (strcmp(status, "processing") == 0 && prog > 0) {
			state = group = "transcribing";
			text = json_sprintf("Transcribing %d%%",
			    (int)(prog * 100));
		} else if (strcmp(status, "processing") == 0 ||
		    json_is_integer(json_object_get(row, "batch_id"))) {
			state = "queued";
			text = json_string("Queued for transcription");
		} else {
			state = "uploaded";
			text = json_string("Uploaded");
		}
	} else if (strcmp(phase, "llm") == 0) {
		group = "evaluating";
		if (strcmp(status, "retry") == 0) {
			state = "retry";
			text = json_string("Evaluation will be tried again");
		} else if (strcmp(status, "processing") == 0) {
			state = "evaluating";
			text = on != NULL ? json_sprintf("Evaluating on %s",
			    on) : json_string("Evaluating");
		} else {
			state = "waiting";
			text = json_string("Waiting for evaluation");
		}
	} else if (strcmp(phase, "completed") == 0) {
		state = group = "done";
		text = json_is_number(json_object_get(row, "overall")) ?
		    json_sprintf("Done · %.1f", json_number_value(
		    json_object_get(row, "overall"))) : json_string("Done");
	} else {
		const char *err = str(row, "error");

		state = group = "failed";
		text = json_string(err != NULL && strncmp(err,
		    QUEUE_CANCELLED_PREFIX, strlen(QUEUE_CANCELLED_PREFIX)) ==
		    0 ? "Cancelled" : "Failed");
	}
	json_object_set_new(row, "state", json_string(state));
	json_object_set_new(row, "group", json_string(group));
	json_object_set_new(row, "chip_text", text);
	json_object_set_new(row, "is_transcribing",
	    json_boolean(strcmp(state, "transcribing") == 0));
	json_object_set_new(row, "progress_pct", json_integer((int)(prog *
	    100)));
	json_object_set_new(row, "can_cancel", json_boolean(strcmp(group,
	    "none") != 0 && strcmp(group, "done") != 0 && strcmp(group,
	    "failed") != 0));
	json_object_set_new(row, "can_retry", json_boolean(strcmp(state,
	    "failed") == 0 || strcmp(state, "retry") == 0));
}

bool
dash_load_course(struct req *r, json_t **course, int *status)
{
	char err[512];
	bool ok;

	*course = NULL;
	if (!course_access(r->app->db, r->id, &r->user, &ok, err,
	    sizeof(err)) || (ok && !course_get(r->app->db, r->id, course, err,
	    sizeof(err)))) {
		*status = db_down(r);
		return false;
	}
	if (!ok || *course == NULL) {
		*status = http_error(r, 404, "no such course");
		return false;
	}
	return true;
}

/* Adds the chips and marks the rows the filters hide. */
static void
filter_rows(json_t *view, json_t *rows, const char *section,
    const char *group)
{
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		const char *g, *sec = str(row, "section");

		dash_chip(row);
		json_object_set_new(row, "prio_up", json_integer(
		    json_integer_value(json_object_get(row, "priority")) + 10));
		g = str(row, "group");
		json_object_set_new(row, "hidden", json_boolean((section[0] &&
		    strcmp(section, sec != NULL ? sec : "") != 0) ||
		    (group[0] && strcmp(group, g) != 0)));
	}
	json_object_set(view, "rows", rows);
}

/*
 * The summary's counts, one definition each, so the tiles, the pipeline
 * box and the results table agree (static/live.js counts() does the
 * same): by their upload to the assignment that counts (the latest) a
 * student has not submitted, is in progress (anywhere in the pipeline,
 * a wait before a retry included: the pipeline box counts these) or
 * failed; "done" counts the students the results table shows a score
 * for.
 */
static void
count_view(json_t *view, json_t *rows, json_t *results)
{
	json_int_t none = 0, working = 0, failed = 0, done = 0;
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		const char *g = str(row, "group");

		if (strcmp(g, "none") == 0)
			none++;
		else if (strcmp(g, "failed") == 0)
			failed++;
		else if (strcmp(g, "done") != 0)
			working++;
	}
	json_array_foreach(results, i, row)
		if (json_is_true(json_object_get(row, "has_result")))
			done++;
	json_object_set_new(view, "counts", json_pack("{s:I, s:I, s:I, s:I, "
	    "s:I}", "students", (json_int_t)json_array_size(rows), "none",
	    none, "working", working, "done", done, "failed", failed));
}

static json_t *
filter_options(json_t *sections, const char *section, const char *group)
{
	json_t *secs = json_array(), *sts = json_array(), *s;
	size_t i;

	json_array_foreach(sections, i, s)
		json_array_append_new(secs, json_pack("{s:O, s:b}", "name", s,
		    "selected", strcmp(json_string_value(s), section) == 0));
	for (i = 0; i < ARRAY_LEN(groups); i++)
		json_array_append_new(sts, json_pack("{s:s, s:s, s:b}", "value",
		    groups[i].group, "label", groups[i].label, "selected",
		    strcmp(groups[i].group, group) == 0));
	return json_pack("{s:o, s:o, s:b}", "sections", secs, "statuses", sts,
	    "has_sections", json_array_size(sections) > 0);
}

/* Display fields of system_state rows (events_system's nodes). */
static void
node_labels(json_t *nodes)
{
	static const struct { const char *phase, *label; } labels[] = {
		{ "stt", "Transcribing (STT phase)" },
		{ "llm", "Evaluating (LLM phase)" },
		{ "switching", "Switching to transcription" },
		{ "idle", "Idle" },
		{ "concurrent", "Transcribing and evaluating" },
	};
	char dur[32];
	json_t *n;
	size_t i, k;

	json_array_foreach(nodes, i, n) {
		json_int_t size = json_integer_value(json_object_get(n,
		    "batch_size"));
		json_int_t done = json_integer_value(json_object_get(n,
		    "batch_done"));
		const char *phase = str(n, "phase");

		for (k = 0; k < ARRAY_LEN(labels) && phase != NULL; k++)
			if (strcmp(labels[k].phase, phase) == 0)
				json_object_set_new(n, "phase_label",
				    json_string(labels[k].label));
		dash_duration(json_number_value(json_object_get(n, "phase_s")),
		    dur, sizeof(dur));
		json_object_set_new(n, "phase_for", json_string(dur));
		json_object_set_new(n, "has_batch", json_boolean(size > 0));
		json_object_set_new(n, "batch_pct", json_integer(size > 0 ?
		    (json_int_t)(100 * done / size) : 0));
		json_object_set_new(n, "stale", json_boolean(json_number_value(
		    json_object_get(n, "updated_s")) > STALE_S));
		gpu_labels(json_object_get(n, "gpus"),
		    json_object_get(n, "thermal"));
		json_object_set_new(n, "has_gpus", json_boolean(
		    json_array_size(json_object_get(n, "gpus")) > 0));
		json_object_set(n, "gpu_samples", json_object_get(
		    json_array_get(json_object_get(n, "gpus"), 0),
		    "history_n"));
	}
}

/*
 * A GPU's display fields: memory as a share, and its recent temperature
 * and memory as sparkline points (SPARK_W x SPARK_H, y down) — memory on
 * 0..total, temperature on 0..max(100, ceiling).
 */
static void
gpu_labels(json_t *gpus, json_t *thermal)
{
	json_t *g, *h, *pt;
	json_int_t total, used, ceiling;
	struct buf mem = BUF_INIT, temp = BUF_INIT;
	double x, tmax;
	size_t i, k, n;

	ceiling = json_integer_value(json_object_get(thermal, "ceiling_c"));
	tmax = ceiling > 100 ? (double)ceiling : 100.0;
	json_array_foreach(gpus, i, g) {
		total = json_integer_value(json_object_get(g, "mem_total_mib"));
		used = json_integer_value(json_object_get(g, "mem_used_mib"));
		json_object_set_new(g, "mem_pct", json_integer(total > 0 &&
		    used >= 0 ? used * 100 / total : 0));
		json_object_set_new(g, "hot", json_boolean(ceiling > 0 &&
		    json_integer_value(json_object_get(g, "temp_c")) >=
		    ceiling));
		h = json_object_get(g, "history");
		n = json_array_size(h);
		buf_reset(&mem);
		buf_reset(&temp);
		json_array_foreach(h, k, pt) {
			x = n > 1 ? (double)k * SPARK_W / (double)(n - 1) : 0;
			used = json_integer_value(json_object_get(pt,
			    "mem_used_mib"));
			buf_printf(&mem, "%s%.1f,%.1f", k ? " " : "", x,
			    SPARK_H - (total > 0 && used > 0 ? (double)used *
			    SPARK_H / (double)total : 0));
			buf_printf(&temp, "%s%.1f,%.1f", k ? " " : "", x,
			    SPARK_H - (double)json_integer_value(
			    json_object_get(pt, "temp_c")) * SPARK_H / tmax);
		}
		json_object_set_new(g, "mem_points", json_string(mem.data ?
		    mem.data : ""));
		json_object_set_new(g, "temp_points", json_string(temp.data ?
		    temp.data : ""));
		json_object_set_new(g, "history_n", json_integer((json_int_t)n));
	}
	buf_free(&mem);
	buf_free(&temp);
}

json_t *
dash_nodes(struct db *db, json_t **lab)
{
	char err[512], *text;
	PGconn *c = db_acquire(db);
	json_t *sys, *nodes;

	text = events_system(c, err, sizeof(err));
	db_release(db, c);
	sys = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	nodes = json_incref(json_object_get(sys, "nodes"));
	if (lab != NULL) {
		*lab = json_incref(json_object_get(sys, "queue"));
		if (!json_is_object(*lab)) {
			json_decref(*lab);
			*lab = json_pack("{s:i, s:i}", "stt", 0, "llm", 0);
		}
	}
	json_decref(sys);
	if (!json_is_array(nodes)) {
		json_decref(nodes);
		return json_array();
	}
	node_labels(nodes);
	return nodes;
}

/*
 * When the course's unfinished work should be done, from node.c. The
 * unfinished uploads are the rows count_view counts as in progress.
 */
static void
eta_view(struct req *r, json_t *view, json_t *rows)
{
	char err[512], when[64], dur[32];
	json_t *ids = json_array(), *id, *q, *row;
	double eta = 0, e;
	const char *waiting = NULL, *g;
	size_t i;

	json_array_foreach(rows, i, row) {
		g = str(row, "group");
		if (strcmp(g, "none") != 0 && strcmp(g, "done") != 0 &&
		    strcmp(g, "failed") != 0)
			json_array_append(ids, json_object_get(row, "id"));
	}
	json_array_foreach(ids, i, id) {
		if (i >= ETA_MAX_ROWS || !node_queue_json(r->app->db,
		    json_integer_value(id), &q, err, sizeof(err)))
			break;
		e = json_number_value(json_object_get(q, "eta_s"));
		eta = e > eta ? e : eta;
		if (json_is_string(json_object_get(q, "waiting_for")))
			waiting = strcmp(json_string_value(json_object_get(q,
			    "waiting_for")), "stt_engine") == 0 ?
			    "the speech recogniser" : "a scoring model";
		json_decref(q);
	}
	util_iso8601(util_wallclock() + eta, when, sizeof(when));
	dash_duration(eta, dur, sizeof(dur));
	json_object_set_new(view, "eta", json_pack("{s:I, s:b, s:f, s:s, s:s, "
	    "s:b, s:s?}", "unfinished", (json_int_t)json_array_size(ids),
	    "has_unfinished", json_array_size(ids) > 0, "eta_s", eta,
	    "eta_at", when, "eta_text", dur, "blocked", waiting != NULL,
	    "waiting_for", waiting));
	json_decref(ids);
}

/* Whether the array of strings a holds s. */
static bool
listed(json_t *a, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (s != NULL && json_is_string(v) &&
		    strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/*
 * The gradebook rows of an assignment with one cell per criterion of
 * its rubric, in the rubric's order; *criteria gets [{key, title}].
 */
static json_t *
results_view(struct req *r, long long course, long long assignment,
    json_t *criteria)
{
	char err[512];
	long long rid;
	json_t *rows, *def = NULL, *row, *c;
	size_t i, k;
	bool ok;

	if (!course_results(r->app->db, course, assignment, &rows, err,
	    sizeof(err)))
		return NULL;
	ok = assignment > 0 ? assignment_rubric(r->app->db, assignment, &def,
	    &rid, err, sizeof(err)) : rubrics_current(r->app->db, &rid, &def,
	    err, sizeof(err));
	if (ok)
		json_array_foreach(json_object_get(def, "criteria"), k, c)
			json_array_append_new(criteria, json_pack("{s:O, s:O}",
			    "key", json_object_get(c, "key"), "title",
			    json_object_get(c, "title")));
	json_decref(def);
	json_array_foreach(rows, i, row) {
		json_t *scores = json_object_get(row, "scores"), *cells;

		cells = json_array();
		json_array_foreach(criteria, k, c)
			json_array_append_new(cells, json_pack("{s:o?, s:b}",
			    "v", score_cell(json_object_get(scores, str(c,
			    "key"))), "adjusted", listed(json_object_get(row,
			    "adjusted"), str(c, "key"))));
		json_object_set_new(row, "cells", cells);
		json_object_set_new(row, "is_adjusted", json_boolean(
		    json_array_size(json_object_get(row, "adjusted")) > 0));
		json_object_set_new(row, "has_result", json_boolean(
		    json_is_number(json_object_get(row, "overall"))));
		json_object_set_new(row, "overall_text", json_sprintf("%.1f",
		    json_number_value(json_object_get(row, "overall"))));
	}
	return rows;
}

/* A criterion's score as everywhere else: a whole number. */
static json_t *
score_cell(json_t *v)
{
	if (!json_is_number(v))
		return NULL;
	return json_integer((json_int_t)floor(json_number_value(v) + 0.5));
}

int
dash_course_with(struct req *r, int status, json_t *view)
{
	return course_page(r, status, view);
}

static int
course_page(struct req *r, int status, json_t *view)
{
	char section[64] = "", group[32] = "", err[512];
	const char *qs = r->ri->query_string;
	json_t *course, *rows = NULL, *results, *criteria = json_array(), *lab;
	json_t *list;
	long long version, aid;
	int rc;

	if (!dash_load_course(r, &course, &rc)) {
		json_decref(view);
		json_decref(criteria);
		return rc;
	}
	if (qs != NULL) {
		http_form_get(qs, "section", section, sizeof(section));
		http_form_get(qs, "status", group, sizeof(group));
	}
	if (!assign_pick(r, &aid, &list) || !assign_course_view(r, view,
	    list, aid) || !course_progress(r->app->db, r->id, aid, &rows,
	    &version, err, sizeof(err)) || (results = results_view(r, r->id, aid,
	    criteria)) == NULL) {
		json_decref(rows);
		json_decref(course);
		json_decref(view);
		json_decref(criteria);
		return db_down(r);
	}
	filter_rows(view, rows, section, group);
	count_view(view, rows, results);
	enrol_message(r, view);
	json_object_set_new(view, "filters", filter_options(
	    json_object_get(course, "sections"), section, group));
	json_object_set_new(view, "title", json_sprintf("%s · progress",
	    str(course, "code")));
	json_object_set_new(view, "course", course);
	json_object_set_new(view, "version", json_integer(version));
	json_object_set_new(view, "nodes", dash_nodes(r->app->db, &lab));
	json_object_set_new(view, "lab", lab);
	json_object_set_new(view, "results", results);
	json_object_set_new(view, "criteria", criteria);
	json_object_set_new(view, "can_enrol_teacher", json_boolean(
	    strcmp(r->user.role, "admin") == 0));
	eta_view(r, view, rows);
	json_decref(rows);
	json_object_set_new(view, "job_course", json_integer(r->id));
	return http_render(r, status, "teacher", view);
}

int
dash_course(struct req *r)
{
	return course_page(r, 200, json_object());
}

/* "in section B", "without a section": where someone is enrolled. */
static const char *
in_section(const char *section, char *out, size_t len)
{
	if (section == NULL || section[0] == '\0')
		snprintf(out, len, "without a section");
	else
		snprintf(out, len, "in section %s", section);
	return out;
}

/*
 * After an enrolment the page says what happened. The address names
 * the member (enrolled=ID) and what the form did (change, and for a
 * move the section they came from); the name and where they are now
 * are read from the database, so the sentence is true of it.
 */
static void
enrol_message(struct req *r, json_t *view)
{
	char id[32] = "", change[16] = "", from[64] = "", err[512];
	char now_in[96], was_in[96];
	const char *qs = r->ri->query_string, *name, *role;
	json_t *m = NULL, *msg;

	if (qs == NULL || !http_form_get(qs, "enrolled", id, sizeof(id)) ||
	    !course_member(r->app->db, r->id, atoll(id), &m, err,
	    sizeof(err)) || m == NULL)
		return;
	http_form_get(qs, "change", change, sizeof(change));
	http_form_get(qs, "from", from, sizeof(from));
	name = str(m, "name");
	role = str(m, "role");
	in_section(str(m, "section"), now_in, sizeof(now_in));
	in_section(from, was_in, sizeof(was_in));
	if (strcmp(change, "same") == 0)
		msg = json_sprintf("%s is already enrolled %s as a %s; nothing "
		    "changed.", name, now_in, role);
	else if (strcmp(change, "moved") == 0)
		msg = json_sprintf("%s was enrolled %s; now %s as a %s.", name,
		    was_in, now_in, role);
	else if (strcmp(role, "teacher") == 0)
		msg = json_sprintf("Added %s as a teacher of this course.",
		    name);
	else
		msg = json_sprintf("Added %s as a student, %s.", name, now_in);
	json_object_set_new(view, "enrol_message", msg);
	json_decref(m);
}

int
dash_course_enrol(struct req *r)
{
	static const char *const change[] = { "added", "same", "moved" };
	char email[256] = "", role[16] = "student", section[64] = "";
	char move[8] = "", err[512], loc[256], from[200] = "";
	char was_in[96];
	struct course_enrolment e;
	json_t *course;
	char *body;
	int rc;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "email", email, sizeof(email));
	http_form_get(body, "role", role, sizeof(role));
	http_form_get(body, "section", section, sizeof(section));
	http_form_get(body, "move", move, sizeof(move));
	free(body);
	if (!dash_load_course(r, &course, &rc))
		return rc;
	json_decref(course);
	if (strcmp(role, "student") != 0 && strcmp(r->user.role, "admin") != 0)
		return course_page(r, 403, json_pack("{s:s}", "enrol_error",
		    "only an admin enrols teachers"));
	if (!course_enrol(r->app->db, r->id, email, role, section,
	    strcmp(move, "1") == 0, &e, err, sizeof(err)))
		return course_page(r, 422, json_pack("{s:s, s:s, s:s}",
		    "enrol_error", err, "enrol_email", email, "enrol_section",
		    section));
	/* Enrolled elsewhere: nothing changed until the move is confirmed. */
	if (e.outcome == COURSE_ELSEWHERE)
		return course_page(r, 409, json_pack("{s:{s:s, s:s, s:o, s:s, "
		    "s:s, s:s}, s:s, s:s}", "enrol_confirm", "name", e.name,
		    "was_in", in_section(e.was_section, was_in,
		    sizeof(was_in)), "move_text", section[0] != '\0' ?
		    json_sprintf("Move %s to section %s", e.name, section) :
		    json_sprintf("Take %s out of section %s", e.name,
		    e.was_section), "email", email, "role", role, "section",
		    section, "enrol_email", email, "enrol_section", section));
	if (e.outcome == COURSE_MOVED)
		mg_url_encode(e.was_section, from, sizeof(from));
	snprintf(loc, sizeof(loc), "/courses/%lld?enrolled=%lld&change=%s%s%s"
	    "#members", r->id, e.user_id, change[e.outcome],
	    e.outcome == COURSE_MOVED ? "&from=" : "", from);
	return http_redirect(r, loc, NULL);
}

int
dash_course_progress(struct req *r)
{
	char err[512];
	json_t *course, *rows, *view = json_object(), *results, *lab;
	json_t *criteria = json_array(), *list = NULL;
	long long version, aid;
	int rc;

	if (!dash_load_course(r, &course, &rc)) {
		json_decref(view);
		json_decref(criteria);
		return rc;
	}
	rows = NULL;
	if (!assign_pick(r, &aid, &list) || !course_progress(r->app->db,
	    r->id, aid, &rows, &version, err, sizeof(err)) ||
	    (results = results_view(r, r->id, aid, criteria)) == NULL) {
		json_decref(list);
		json_decref(rows);
		json_decref(course);
		json_decref(view);
		json_decref(criteria);
		return db_down(r);
	}
	filter_rows(view, rows, "", "");
	count_view(view, rows, results);
	eta_view(r, view, rows);
	json_object_set_new(view, "assignment_id", json_integer(aid));
	json_decref(list);
	json_decref(rows);
	json_decref(results);
	json_decref(criteria);
	json_object_set_new(view, "course", course);
	json_object_set_new(view, "version", json_integer(version));
	json_object_set_new(view, "nodes", dash_nodes(r->app->db, &lab));
	json_object_set_new(view, "lab", lab);
	return http_json(r, 200, view);
}

static int
courses_page(struct req *r, int status, json_t *view)
{
	bool admin = strcmp(r->user.role, "admin") == 0;
	char err[512];
	json_t *list, *c;
	size_t i, archived = 0;

	if (!course_list(r->app->db, admin ? 0 : r->user.id, "teacher", &list,
	    err, sizeof(err))) {
		json_decref(view);
		return db_down(r);
	}
	json_object_set_new(view, "title", json_string("Courses"));
	json_object_set_new(view, "courses", list);
	/* Archived courses (016) are listed apart, under "Archived". */
	json_array_foreach(list, i, c)
		archived += json_is_true(json_object_get(c, "archived"));
	json_object_set_new(view, "has_courses", json_boolean(
	    json_array_size(list) > archived));
	json_object_set_new(view, "has_archived", json_boolean(archived > 0));
	json_object_set_new(view, "can_create", json_boolean(admin));
	return http_render(r, status, "courses", view);
}

int
dash_courses(struct req *r)
{
	return courses_page(r, 200, json_object());
}

int
dash_course_create(struct req *r)
{
	char code[64] = "", title[256] = "", err[512], loc[64];
	long long id;
	char *body;

	if (!http_read_form(r, &body))
		return 403;
	http_form_get(body, "code", code, sizeof(code));
	http_form_get(body, "title", title, sizeof(title));
	free(body);
	if (!course_create(r->app->db, code, title, &id, NULL, err,
	    sizeof(err)))
		return courses_page(r, 422, json_pack("{s:s, s:s, s:s}",
		    "error", err, "code", code, "course_title", title));
	snprintf(loc, sizeof(loc), "/courses/%lld", id);
	return http_redirect(r, loc, NULL);
}

/*
 * RFC 4180 fields. Text a spreadsheet would run as a formula (a name
 * starting with "=") gets a leading apostrophe, the usual guard.
 */
/* The adjusted criteria's keys, space-separated, as one field. */
static void
csv_adjusted(struct buf *b, json_t *keys)
{
	struct buf list = BUF_INIT;
	json_t *k;
	size_t i;

	json_array_foreach(keys, i, k)
		buf_printf(&list, "%s%s", i > 0 ? " " : "",
		    json_string_value(k));
	csv_put_text(b, buf_cstr(&list));
	buf_free(&list);
}

int
dash_results_csv(struct req *r)
{
	json_t *course, *list = NULL, *a;
	char title[256] = "";
	long long aid;
	size_t i;
	int rc;

	if (!dash_load_course(r, &course, &rc))
		return rc;
	if (!assign_pick(r, &aid, &list)) {
		json_decref(course);
		return db_down(r);
	}
	json_array_foreach(list, i, a)
		if (json_integer_value(json_object_get(a, "id")) == aid)
			util_strlcpy(title, str(a, "title"), sizeof(title));
	json_decref(list);
	rc = dash_send_results_csv(r, course, aid, title, NULL);
	json_decref(course);
	return rc;
}

int
dash_send_results_csv(struct req *r, const json_t *course, long long aid,
    const char *title, const json_t *only)
{
	char hdr[256], name[64];
	json_t *rows, *criteria = json_array(), *row, *c, *cell, *v;
	struct buf b = BUF_INIT;
	size_t i, k, n;
	bool keep;
	int rc;

	if ((rows = results_view(r, json_integer_value(json_object_get(course,
	    "id")), aid, criteria)) == NULL) {
		json_decref(criteria);
		return db_down(r);
	}
	/* Every row names the assignment, so pasted files stay apart. */
	buf_puts(&b, "assignment,student,email,section,submission,late,"
	    "overall");
	json_array_foreach(criteria, k, c) {
		buf_putc(&b, ',');
		csv_put_text(&b, str(c, "key"));
	}
	/* Final scores; "adjusted" names the criteria a teacher changed. */
	buf_puts(&b, ",model,completed_at,adjusted\r\n");
	json_array_foreach(rows, i, row) {
		keep = only == NULL;
		json_array_foreach(only, k, v)
			if (json_integer_value(v) == json_integer_value(
			    json_object_get(row, "id")))
				keep = true;
		if (!keep)
			continue;
		csv_put_text(&b, title);
		buf_putc(&b, ',');
		csv_put_text(&b, str(row, "name"));
		buf_putc(&b, ',');
		csv_put_text(&b, str(row, "email"));
		buf_putc(&b, ',');
		csv_put_text(&b, str(row, "section"));
		buf_putc(&b, ',');
		csv_put_number(&b, json_object_get(row, "id"));
		buf_putc(&b, ',');
		if (json_is_boolean(json_object_get(row, "late")))
			buf_puts(&b, json_is_true(json_object_get(row, "late")) ?
			    "yes" : "no");
		buf_putc(&b, ',');
		csv_put_number(&b, json_object_get(row, "overall"));
		json_array_foreach(json_object_get(row, "cells"), k, cell) {
			buf_putc(&b, ',');
			csv_put_number(&b, json_object_get(cell, "v"));
		}
		buf_putc(&b, ',');
		csv_put_text(&b, str(row, "model"));
		buf_putc(&b, ',');
		csv_put_text(&b, str(row, "completed_at"));
		buf_putc(&b, ',');
		csv_adjusted(&b, json_object_get(row, "adjusted"));
		buf_puts(&b, "\r\n");
	}
	/* The file is named after the course code, in safe characters. */
	util_strlcpy(name, str((json_t *)course, "code"), sizeof(name));
	for (n = 0; name[n] != '\0'; n++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", name[n]) == NULL)
			name[n] = '_';
	snprintf(hdr, sizeof(hdr), "Content-Disposition: attachment; "
	    "filename=\"%s-assignment-%lld-results.csv\"\r\n"
	    "Cache-Control: no-store\r\n", name, aid);
	rc = http_send(r, 200, "text/csv; charset=utf-8", buf_cstr(&b), b.len,
	    hdr);
	buf_free(&b);
	json_decref(rows);
	json_decref(criteria);
	return rc;
}
