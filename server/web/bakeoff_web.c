/*
 * bakeoff_web: an admin starts a model bake-off (backends, trials, which
 * submissions), watches its runs finish and reads the report: a table and
 * two charts (agreement with the teachers as mean absolute error and as
 * quadratic-weighted kappa) per model, and the same figures as CSV.
 */
#include "bakeoff_web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "api_query.h"
#include "app.h"
#include "bakeoff.h"
#include "buf.h"
#include "config.h"
#include "csv.h"
#include "http.h"
#include "util.h"

#define TRIALS_DEFAULT	3
#define LAST_N_DEFAULT	10
#define BAR_X		120	/* room for the model's name */
#define BAR_W		420
#define BAR_STEP	34

static int	 list_page(struct req *, int, const char *, json_t *);
static json_t	*backend_choices(struct req *, json_t *);
static int	 start(struct req *, json_t *, int, long long, int,
		    long long *, char *, size_t);
static json_t	*report(struct req *, int *);
static json_t	*charts(json_t *);
static json_t	*bars(json_t *, const char *, const char *, double,
		    const char *);
static void	 mae_lists(json_t *);

int
bakeoff_list_page(struct req *r)
{
	return list_page(r, 200, NULL, NULL);
}

/* The form (with what was chosen, after an error) and the bake-offs. */
static int
list_page(struct req *r, int status, const char *error, json_t *chosen)
{
	char err[512];
	json_t *list, *choices, *view;

	if ((list = bakeoff_list(r->app->db, err, sizeof(err))) == NULL ||
	    (choices = bakeoff_choices(r->app->db, err, sizeof(err))) ==
	    NULL) {
		json_decref(list);
		json_decref(chosen);
		return http_db_error(r);
	}
	view = json_pack("{s:s, s:o, s:o, s:o, s:i, s:i, s:s?}", "title",
	    "Model bake-off", "bakeoffs", list, "backends",
	    backend_choices(r, chosen), "choices", choices, "trials",
	    TRIALS_DEFAULT, "last_n", LAST_N_DEFAULT, "error", error);
	json_decref(chosen);
	return http_render(r, status, "bakeoffs", view);
}

/* Every configured LLM backend, checked if chosen (all, at first). */
static json_t *
backend_choices(struct req *r, json_t *chosen)
{
	json_t *out = json_array(), *b;
	const char *name;
	size_t i;

	json_array_foreach(r->app->cfg->llm_backends, i, b) {
		name = json_string_value(json_object_get(b, "name"));
		json_array_append_new(out, json_pack("{s:s, s:s?, s:i, s:b}",
		    "name", name, "model", json_string_value(json_object_get(b,
		    "model")), "i", (int)i, "checked", chosen == NULL ||
		    json_is_true(json_object_get(chosen, name))));
	}
	return out;
}

int
bakeoff_create_form(struct req *r)
{
	char *body = NULL, v[32], key[16], msg[512], loc[64];
	json_t *names = json_array(), *chosen = json_object(), *b;
	long long id = 0, assignment = 0;
	int trials = TRIALS_DEFAULT, last_n = 0, rc;
	size_t i;

	if (!http_read_form(r, &body)) {
		json_decref(names);
		json_decref(chosen);
		return 400;
	}
	json_array_foreach(r->app->cfg->llm_backends, i, b) {
		snprintf(key, sizeof(key), "b_%zu", i);
		if (http_form_get(body, key, v, sizeof(v))) {
			json_array_append(names, json_object_get(b, "name"));
			json_object_set_new(chosen, json_string_value(
			    json_object_get(b, "name")), json_true());
		}
	}
	if (http_form_get(body, "trials", v, sizeof(v)))
		trials = atoi(v);
	if (http_form_get(body, "pick", v, sizeof(v)) &&
	    strcmp(v, "assignment") == 0 &&
	    http_form_get(body, "assignment", v, sizeof(v)))
		assignment = atoll(v);
	else if (http_form_get(body, "last_n", v, sizeof(v)))
		last_n = atoi(v);
	free(body);
	rc = start(r, names, trials, assignment, last_n, &id, msg,
	    sizeof(msg));
	json_decref(names);
	if (rc == 503) {
		json_decref(chosen);
		return http_db_error(r);
	}
	if (rc != 0)
		return list_page(r, rc, msg, chosen);
	json_decref(chosen);
	snprintf(loc, sizeof(loc), "/admin/bakeoffs/%lld", id);
	return http_redirect(r, loc, NULL);
}

/*
 * The form's and the API's one way to start a bake-off: 0 with *id, or
 * the status to answer (422 with msg in words, 503 for the database).
 */
static int
start(struct req *r, json_t *names, int trials, long long assignment,
    int last_n, long long *id, char *msg, size_t msglen)
{
	*id = 0;
	if (json_array_size(names) == 0) {
		util_strlcpy(msg, "Choose at least one backend.", msglen);
		return 422;
	}
	if (trials < 1 || trials > 10 || (assignment <= 0 &&
	    (last_n < 1 || last_n > 500))) {
		util_strlcpy(msg, "Trials must be 1 to 10, and the "
		    "submissions an assignment or the last 1 to 500 a teacher "
		    "adjusted.", msglen);
		return 422;
	}
	if (!bakeoff_create(r->app->db, r->user.id, names, trials,
	    assignment, last_n, id, msg, msglen))
		return 503;
	return *id == 0 ? 422 : 0;
}

/* The bake-off of the path's ID, or NULL with the answer sent (*rc). */
static json_t *
report(struct req *r, int *rc)
{
	char err[512];
	bool found = true;
	json_t *rep;

	if ((rep = bakeoff_report(r->app->db, r->id, &found, err,
	    sizeof(err))) == NULL)
		*rc = found ? http_db_error(r) : http_error(r, 404,
		    "no such bake-off");
	return rep;
}

int
bakeoff_page(struct req *r)
{
	json_t *rep;
	int rc;

	if ((rep = report(r, &rc)) == NULL)
		return rc;
	json_object_set_new(rep, "charts", charts(json_object_get(rep,
	    "models")));
	mae_lists(json_object_get(rep, "models"));
	json_object_set_new(rep, "running", json_boolean(strcmp(
	    json_string_value(json_object_get(rep, "state")), "running") == 0));
	return http_render(r, 200, "bakeoff", json_pack("{s:o, s:o}",
	    "title", json_sprintf("Bake-off %lld", r->id), "bakeoff", rep));
}

/* The error by criterion as a list the template can walk. */
static void
mae_lists(json_t *models)
{
	json_t *m, *list, *v;
	const char *k;
	size_t i;

	json_array_foreach(models, i, m) {
		list = json_array();
		json_object_foreach(json_object_get(m, "mae"), k, v)
			json_array_append_new(list, json_pack("{s:s, s:O}", "k",
			    k, "v", v));
		json_object_set_new(m, "mae_list", list);
	}
}

/*
 * Two horizontal bar charts, one bar per model: the mean absolute error
 * (scaled to the largest, at least one point) and the kappa (0..1; a
 * negative kappa is drawn as no bar, its value still written).
 */
static json_t *
charts(json_t *models)
{
	json_t *out = json_array();

	json_array_append_new(out, bars(models, "mae_mean", "%.2f", 1.0,
	    "Mean absolute error from the teachers' scores, in points "
	    "(lower is closer)"));
	json_array_append_new(out, bars(models, "qwk", "%.3f", 1.0,
	    "Agreement with the teachers, quadratic-weighted kappa (higher is "
	    "closer; 1 is perfect)"));
	return out;
}

static json_t *
bars(json_t *models, const char *key, const char *fmt, double min_max,
    const char *caption)
{
	json_t *rows = json_array(), *m, *v;
	double max = min_max, x, w;
	char value[32];
	size_t i;

	json_array_foreach(models, i, m)
		if (json_number_value(json_object_get(m, key)) > max)
			max = json_number_value(json_object_get(m, key));
	json_array_foreach(models, i, m) {
		v = json_object_get(m, key);
		x = json_is_number(v) ? json_number_value(v) : 0;
		w = x > 0 ? x / max * BAR_W : 0;
		if (json_is_number(v))
			snprintf(value, sizeof(value), fmt, x);
		else
			snprintf(value, sizeof(value), "–");
		json_array_append_new(rows, json_pack("{s:s, s:i, s:i, s:f, "
		    "s:i, s:i, s:f, s:s, s:o}", "label", json_string_value(
		    json_object_get(m, "backend")), "x", BAR_X, "y",
		    (int)i * BAR_STEP, "w", w, "h", BAR_STEP - 8, "ty",
		    (int)i * BAR_STEP + (BAR_STEP - 8) / 2 + 5, "vx",
		    BAR_X + w + 6, "value", value, "tip", json_sprintf("%s: %s",
		    json_string_value(json_object_get(m, "backend")), value)));
	}
	return json_pack("{s:i, s:I, s:s, s:o}", "width", BAR_X + BAR_W + 60,
	    "height", (json_int_t)(json_array_size(rows) * BAR_STEP),
	    "caption", caption, "rows", rows);
}

int
bakeoff_csv(struct req *r)
{
	static const char *const cols[] = { "backend", "model", "runs",
	    "done", "invalid", "invalid_rate", "mean_latency_s", "tokens_per_s",
	    "stability_sd", "mae_mean", "qwk", "compared" };
	char hdr[160];
	json_t *rep, *m, *v;
	struct buf b = BUF_INIT;
	const char *crit;
	size_t i, k;
	int rc;

	if ((rep = report(r, &rc)) == NULL)
		return rc;
	for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		buf_printf(&b, "%s%s", k ? "," : "", cols[k]);
	buf_puts(&b, ",mae_by_criterion\r\n");
	json_array_foreach(json_object_get(rep, "models"), i, m) {
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			if (k)
				buf_putc(&b, ',');
			v = json_object_get(m, cols[k]);
			if (json_is_string(v))
				csv_put_text(&b, json_string_value(v));
			else if (json_is_real(v))
				buf_printf(&b, "%.3f", json_real_value(v));
			else
				csv_put_number(&b, v);
		}
		buf_putc(&b, ',');
		{
			struct buf f = BUF_INIT;

			json_object_foreach(json_object_get(m, "mae"), crit, v)
				buf_printf(&f, "%s%s=%.2f", f.len ? " " : "",
				    crit, json_number_value(v));
			csv_put_text(&b, f.data != NULL ? f.data : "");
			buf_free(&f);
		}
		buf_puts(&b, "\r\n");
	}
	snprintf(hdr, sizeof(hdr), "Content-Disposition: attachment; "
	    "filename=\"bakeoff-%lld.csv\"\r\n", r->id);
	rc = http_send(r, 200, "text/csv; charset=utf-8", buf_cstr(&b), b.len,
	    hdr);
	buf_free(&b);
	json_decref(rep);
	return rc;
}

int
bakeoff_cancel_form(struct req *r)
{
	char *body = NULL, err[512], loc[64];

	if (!http_read_form(r, &body))
		return 400;
	free(body);
	if (!bakeoff_cancel(r->app->db, r->id, err, sizeof(err)))
		return http_db_error(r);
	snprintf(loc, sizeof(loc), "/admin/bakeoffs/%lld", r->id);
	return http_redirect(r, loc, NULL);
}

int
bakeoff_api_get(struct req *r)
{
	json_t *rep;
	int rc;

	if ((rep = report(r, &rc)) == NULL)
		return rc;
	return http_json(r, 200, rep);
}

int
bakeoff_api_list(struct req *r)
{
	char err[512];
	json_t *list;

	if ((list = bakeoff_list(r->app->db, err, sizeof(err))) == NULL)
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "bakeoffs", list));
}

/*
 * POST /api/v1/bakeoffs {backends: [names], trials, assignment_id or
 * last_n}: the form's choices, checked as the form checks them.
 */
int
bakeoff_api_create(struct req *r)
{
	char msg[512];
	struct config_backend cb;
	json_t *body, *names, *b, *rep;
	json_int_t trials = TRIALS_DEFAULT, assignment = 0, last_n = 0;
	long long id;
	size_t i;
	int rc;

	if ((body = http_read_json(r, &rc)) == NULL)
		return rc;
	if (json_unpack(body, "{s:o, s?I, s?I, s?I}", "backends", &names,
	    "trials", &trials, "assignment_id", &assignment, "last_n",
	    &last_n) != 0 || !json_is_array(names)) {
		rc = http_error_member(r, 400, body, !json_is_array(
		    json_object_get(body, "backends")) ? "backends" :
		    !json_is_integer(json_object_get(body, "trials")) &&
		    json_object_get(body, "trials") != NULL ? "trials" :
		    !json_is_integer(json_object_get(body, "last_n")) &&
		    json_object_get(body, "last_n") != NULL ? "last_n" :
		    "assignment_id", "send {\"backends\": [names], \"trials\": "
		    "N, and \"assignment_id\" or \"last_n\"}");
		json_decref(body);
		return rc;
	}
	json_array_foreach(names, i, b)
		if (!config_backend_find(r->app->cfg, json_string_value(b),
		    &cb)) {
			rc = http_error_field(r, 422, "invalid", "backends",
			    "backends: \"%s\" is not a configured LLM backend",
			    json_is_string(b) ? json_string_value(b) : "?");
			json_decref(body);
			return rc;
		}
	rc = start(r, names, trials > 100 ? 100 : (int)trials, assignment,
	    last_n > 100000 ? 100000 : (int)last_n, &id, msg, sizeof(msg));
	json_decref(body);
	if (rc == 503)
		return http_db_error(r);
	if (rc != 0)
		return http_error(r, rc, "%s", msg);
	r->id = id;
	if ((rep = report(r, &rc)) == NULL)
		return rc;
	return http_json(r, 201, rep);
}
