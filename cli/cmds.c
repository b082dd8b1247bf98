/*
 * cmds: the commands that read the API and print it: status, results,
 * job (preview, confirm, create), backends and nodes. With --json each
 * prints the server's JSON (one line); otherwise a few aligned columns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl.h"

static void	 print_submission(struct ctl *, json_t *);
static bool	 course_id(struct ctl *, long long *, int *);
static void	 print_preview(struct ctl *, json_t *);
static bool	 confirm(const char *);
static void	 print_rows(struct ctl *, json_t *, const char *const *,
		    const char *const *);
static json_t	*field(json_t *, const char *);
static const char *text_of(json_t *, char *, size_t);

bool
ctl_read_id(const char *s, long long *id)
{
	char *end;

	if (s == NULL || *s == '#')
		s = s ? s + 1 : s;
	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*id = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && *id > 0;
}

bool
ctl_state_final(const char *status)
{
	return status != NULL && (strcmp(status, "completed") == 0 ||
	    strcmp(status, "failed") == 0);
}

/* "completed, overall 3.75", "failed: why", "stt processing 40%". */
void
ctl_state_text(json_t *s, char *buf, size_t len)
{
	const char *phase = json_string_value(json_object_get(s, "phase"));
	const char *status = json_string_value(json_object_get(s, "status"));
	const char *error = json_string_value(json_object_get(s, "error"));
	json_t *overall = json_object_get(s, "overall");
	json_t *prog = json_object_get(s, "stt_progress");

	if (status == NULL)
		snprintf(buf, len, "not submitted");
	else if (strcmp(status, "completed") == 0 && json_is_number(overall))
		snprintf(buf, len, "completed, overall %.2f",
		    json_number_value(overall));
	else if (strcmp(status, "failed") == 0)
		snprintf(buf, len, "failed: %s", error ? error : "no reason "
		    "given");
	else if (json_is_number(prog) && phase && strcmp(phase, "stt") == 0 &&
	    strcmp(status, "processing") == 0)
		snprintf(buf, len, "stt processing %d%%",
		    (int)(json_number_value(prog) * (json_number_value(prog) <=
		    1 ? 100 : 1)));
	else if (strcmp(status, "retry") == 0 && error != NULL)
		snprintf(buf, len, "%s retry: %s", phase ? phase : "", error);
	else
		snprintf(buf, len, "%s %s", phase ? phase : "", status);
}

static const char *
text_of(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.2f", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "yes");
	else if (json_is_false(v))
		snprintf(buf, len, "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

static void
print_submission(struct ctl *c, json_t *s)
{
	char state[600], b[3][32];
	const char *name = json_string_value(json_object_get(s,
	    "original_name"));

	ctl_state_text(s, state, sizeof(state));
	fprintf(c->out, "%-6s %-28s %-20s %s\n", text_of(json_object_get(s,
	    "id"), b[0], sizeof(b[0])), state, text_of(json_object_get(s,
	    "student_name"), b[1], sizeof(b[1])), name ? name : "");
}

int
ctl_status(struct ctl *c)
{
	json_t *j, *list, *s;
	char path[64];
	long long id;
	size_t i;
	int k, code, worst = CTL_OK;

	if (c->o->nargs == 0) {
		if ((j = ctl_get_json(c, "/api/v1/submissions", &code)) == NULL)
			return code;
		if (c->o->json) {
			ctl_print_json(c, j);
			return CTL_OK;
		}
		json_array_foreach(json_object_get(j, "submissions"), i, s)
			print_submission(c, s);
		json_decref(j);
		return CTL_OK;
	}
	list = json_array();
	for (k = 0; k < c->o->nargs; k++) {
		if (!ctl_read_id(c->o->args[k], &id)) {
			ctl_warnx("status: \"%s\" is not a submission's number",
			    c->o->args[k]);
			json_decref(list);
			return CTL_USAGE;
		}
		snprintf(path, sizeof(path), "/api/v1/submissions/%lld", id);
		if ((s = ctl_get_json(c, path, &code)) == NULL) {
			if (worst == CTL_OK)
				worst = code;
			continue;
		}
		if (!c->o->json)
			print_submission(c, s);
		json_array_append_new(list, s);
	}
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:o}", "submissions", list));
	else
		json_decref(list);
	return worst;
}

/* --course as a number, or a course code looked up in /api/v1/courses. */
static bool
course_id(struct ctl *c, long long *id, int *code)
{
	json_t *j, *co;
	const char *want = c->o->course;
	size_t i;

	*code = CTL_USAGE;
	if (want == NULL) {
		ctl_warnx("%s: name the course with --course (its number or "
		    "code)", c->o->cmd_name);
		return false;
	}
	if (ctl_read_id(want, id))
		return true;
	if ((j = ctl_try_json(c, "/api/v1/courses", code)) == NULL) {
		ctl_warnx("%s: give the course's number (this server cannot "
		    "look up the code \"%s\")", c->o->cmd_name, want);
		return false;
	}
	json_array_foreach(json_object_get(j, "courses"), i, co)
		if (json_is_string(json_object_get(co, "code")) &&
		    strcasecmp(json_string_value(json_object_get(co, "code")),
		    want) == 0) {
			*id = json_integer_value(json_object_get(co, "id"));
			json_decref(j);
			return true;
		}
	json_decref(j);
	ctl_warnx("%s: no course of yours has the code \"%s\"",
	    c->o->cmd_name, want);
	*code = CTL_NOTFOUND;
	return false;
}

/* row's value for key, where "name|node" takes the first one present */
static json_t *
field(json_t *row, const char *key)
{
	const char *bar = strchr(key, '|');
	json_t *v;

	if (bar == NULL)
		return json_object_get(row, key);
	if ((v = json_object_getn(row, key, (size_t)(bar - key))) != NULL)
		return v;
	return field(row, bar + 1);
}

/*
 * A header line, then one line per row: the keys' values in columns as
 * wide as their widest cell (at most 16 keys; a cell at most 40 wide).
 */
static void
print_rows(struct ctl *c, json_t *rows, const char *const *keys,
    const char *const *titles)
{
	int w[16] = { 0 }, n;
	json_t *row;
	size_t i, k;
	char b[64];

	for (k = 0; keys[k] != NULL && k < 16; k++)
		w[k] = (int)strlen(titles[k]);
	json_array_foreach(rows, i, row)
		for (k = 0; keys[k] != NULL && k < 16; k++)
			if ((n = (int)strlen(text_of(field(row, keys[k]), b,
			    sizeof(b)))) > w[k])
				w[k] = n > 40 ? 40 : n;
	for (k = 0; keys[k] != NULL && k < 16; k++)
		fprintf(c->out, "%s%-*s", k ? "  " : "", keys[k + 1] ? w[k] : 0,
		    titles[k]);
	fputc('\n', c->out);
	json_array_foreach(rows, i, row) {
		for (k = 0; keys[k] != NULL && k < 16; k++)
			fprintf(c->out, "%s%-*.40s", k ? "  " : "", keys[k + 1] ?
			    w[k] : 0, text_of(field(row, keys[k]), b,
			    sizeof(b)));
		fputc('\n', c->out);
	}
}

int
ctl_results(struct ctl *c)
{
	char path[160], q[64] = "", state[600], b[2][32];
	struct ctl_req req = { .method = "GET", .path = path };
	struct ctl_resp r;
	json_t *j, *row;
	long long id, aid = 0;
	size_t i;
	int code;

	if (!course_id(c, &id, &code))
		return code;
	if (c->o->assignment != NULL) {
		if (!ctl_read_id(c->o->assignment, &aid)) {
			ctl_warnx("results: --assignment wants a number");
			return CTL_USAGE;
		}
		snprintf(q, sizeof(q), "?assignment=%lld", aid);
	}
	if (c->o->csv) {
		snprintf(path, sizeof(path), "/courses/%lld/results.csv%s", id,
		    q);
		if (!ctl_http(c, &req, &r) || r.status != 200) {
			code = ctl_report(c, "results", &r);
			ctl_resp_free(&r);
			return code;
		}
		fwrite(r.body, 1, r.len, c->out);
		fflush(c->out);
		ctl_resp_free(&r);
		return CTL_OK;
	}
	snprintf(path, sizeof(path), "/api/v1/courses/%lld/progress%s", id, q);
	if ((j = ctl_get_json(c, path, &code)) == NULL)
		return code;
	if (c->o->json) {
		ctl_print_json(c, j);
		return CTL_OK;
	}
	json_array_foreach(json_object_get(j, "rows"), i, row) {
		ctl_state_text(row, state, sizeof(state));
		fprintf(c->out, "%-24s %-30s %-6s %s\n",
		    text_of(json_object_get(row, "name"), b[0], sizeof(b[0])),
		    json_string_value(json_object_get(row, "email")) ?
		    json_string_value(json_object_get(row, "email")) : "",
		    text_of(json_object_get(row, "id"), b[1], sizeof(b[1])),
		    state);
	}
	json_decref(j);
	return CTL_OK;
}

static void
print_preview(struct ctl *c, json_t *p)
{
	json_t *q, *cand, *m = json_object_get(p, "matches");
	const char *sum = json_string_value(json_object_get(p, "summary"));
	size_t i, k;
	char b[32];

	fprintf(c->out, "Request read (%s): %s\n",
	    text_of(json_object_get(p, "parser"), b, sizeof(b)),
	    sum ? sum : "(no summary)");
	fprintf(c->out, "It matches %lld submission(s)",
	    (long long)json_integer_value(json_object_get(m, "count")));
	json_array_foreach(json_object_get(m, "submission_ids"), i, q)
		fprintf(c->out, "%s%lld", i ? ", " : ": ",
		    (long long)json_integer_value(q));
	fputs(".\n", c->out);
	json_array_foreach(json_object_get(p, "questions"), i, q) {
		fprintf(c->out, "Question: %s\n", json_string_value(
		    json_object_get(q, "message")) ? json_string_value(
		    json_object_get(q, "message")) : "?");
		json_array_foreach(json_object_get(q, "candidates"), k, cand)
			fprintf(c->out, "  - %s (%s)\n", json_string_value(
			    json_object_get(cand, "label")) ?
			    json_string_value(json_object_get(cand, "label")) :
			    "?", text_of(json_object_get(cand, "id"), b,
			    sizeof(b)));
	}
	fflush(c->out);
}

static bool
confirm(const char *prompt)
{
	char ans[16];
	FILE *tty;
	bool yes = false;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return false;
	fputs(prompt, tty);
	fflush(tty);
	if (fgets(ans, sizeof(ans), tty) != NULL)
		yes = ans[0] == 'y' || ans[0] == 'Y';
	fclose(tty);
	return yes;
}

int
ctl_job(struct ctl *c)
{
	char words[4096] = "";
	json_t *body, *pre, *job;
	long long cid;
	long status;
	size_t n = 0;
	int i, code;

	for (i = 0; i < c->o->nargs; i++)
		n += (size_t)snprintf(words + n, n < sizeof(words) ?
		    sizeof(words) - n : 0, "%s%s", i ? " " : "", c->o->args[i]);
	if (words[0] == '\0' || n >= sizeof(words)) {
		ctl_warnx("job: say what to do, e.g. introevalctl job \"retry "
		    "everything that failed today\"");
		return CTL_USAGE;
	}
	body = json_pack("{s:s}", "request", words);
	if (c->o->course != NULL) {
		if (!course_id(c, &cid, &code)) {
			json_decref(body);
			return code;
		}
		json_object_set_new(body, "course_id", json_integer(cid));
	}
	pre = ctl_send_json(c, "POST", "/api/v1/jobs/preview", body, &status,
	    &code);
	if (code != CTL_OK) {
		json_decref(pre);
		return code;
	}
	if (!c->o->json)
		print_preview(c, pre);
	if (json_array_size(json_object_get(pre, "questions")) > 0) {
		if (c->o->json)
			ctl_print_json(c, json_pack("{s:O, s:n}", "preview",
			    pre, "job"));
		ctl_warnx("job: not run: the request leaves questions open; "
		    "say it more precisely");
		json_decref(pre);
		return CTL_FAILED;
	}
	if (json_integer_value(json_object_get(json_object_get(pre, "matches"),
	    "count")) == 0) {
		if (c->o->json)
			ctl_print_json(c, json_pack("{s:O, s:n}", "preview",
			    pre, "job"));
		else
			fprintf(c->out, "Nothing to run.\n");
		json_decref(pre);
		return CTL_OK;
	}
	if (!c->o->yes && (!isatty(STDIN_FILENO) || !confirm("Run this job? "
	    "[y/N] "))) {
		if (c->o->json)
			ctl_print_json(c, json_pack("{s:O, s:n}", "preview",
			    pre, "job"));
		ctl_warnx("job: not run%s", isatty(STDIN_FILENO) ? "" :
		    " (no terminal to ask: add --yes to run it)");
		json_decref(pre);
		return CTL_FAILED;
	}
	job = ctl_send_json(c, "POST", "/api/v1/jobs", json_pack("{s:O, s:s, "
	    "s:O}", "spec", json_object_get(pre, "spec"), "request", words,
	    "parser", json_object_get(pre, "parser")), &status, &code);
	if (code == CTL_OK && c->o->json)
		ctl_print_json(c, json_pack("{s:O, s:O}", "preview", pre, "job",
		    job));
	else if (code == CTL_OK)
		fprintf(c->out, "Job %lld: %s, %lld matched, %lld queued\n",
		    (long long)json_integer_value(json_object_get(job, "id")),
		    json_string_value(json_object_get(job, "state")) ?
		    json_string_value(json_object_get(job, "state")) : "?",
		    (long long)json_integer_value(json_object_get(job,
		    "matched")), (long long)json_integer_value(
		    json_object_get(job, "queued")));
	json_decref(job);
	json_decref(pre);
	return code;
}

/* The answer j (taken) as JSON, or its array `member` as a table. */
static int
show_rows(struct ctl *c, json_t *j, const char *member,
    const char *const *keys, const char *const *titles)
{
	if (c->o->json)
		ctl_print_json(c, j);
	else {
		print_rows(c, json_object_get(j, member), keys, titles);
		json_decref(j);
	}
	return CTL_OK;
}

/*
 * backends and nodes read /api/v1/backends and /api/v1/nodes; a server
 * without them answers 404, and the nodes' rows of /api/v1/system say
 * what it knows instead.
 */
int
ctl_backends(struct ctl *c)
{
	static const char *const bk[] = { "name", "kind", "type", "model",
	    "state", "in_flight", "p50_ms", "p95_ms", "last_error", NULL };
	static const char *const bt[] = { "NAME", "KIND", "TYPE", "MODEL",
	    "STATE", "IN FLIGHT", "P50 MS", "P95 MS", "LAST ERROR", NULL };
	static const char *const nk[] = { "node", "stt_available",
	    "llm_healthy", "phase", NULL };
	static const char *const nt[] = { "NODE", "STT UP", "LLM HEALTHY",
	    "PHASE", NULL };
	json_t *j;
	int code;

	if ((j = ctl_try_json(c, "/api/v1/backends", &code)) != NULL)
		return show_rows(c, j, "backends", bk, bt);
	if (code != CTL_NOTFOUND)
		return code;
	if ((j = ctl_get_json(c, "/api/v1/system", &code)) == NULL)
		return code;
	return show_rows(c, j, "nodes", nk, nt);
}

int
ctl_nodes(struct ctl *c)
{
	/* /api/v1/nodes's rows, or /api/v1/system's where there is none */
	static const char *const nk[] = { "name|node", "role", "phase",
	    "phase_s", "batch_done", "batch_size", "queue_stt", "queue_llm",
	    "llm_healthy", "last_heartbeat|updated_at", NULL };
	static const char *const nt[] = { "NODE", "ROLE", "PHASE", "FOR (S)",
	    "BATCH DONE", "BATCH SIZE", "STT QUEUE", "LLM QUEUE",
	    "LLM HEALTHY", "HEARTBEAT", NULL };
	json_t *j;
	int code;

	if ((j = ctl_try_json(c, "/api/v1/nodes", &code)) == NULL) {
		if (code != CTL_NOTFOUND)
			return code;
		if ((j = ctl_get_json(c, "/api/v1/system", &code)) == NULL)
			return code;
	}
	return show_rows(c, j, "nodes", nk, nt);
}
