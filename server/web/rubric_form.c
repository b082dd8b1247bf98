/*
 * rubric_form: the teachers' rubric pages (see rubric_web.h): the list
 * of rubrics with the assignments that use each version, a version's
 * page with the editor, and the new-rubric form.
 *
 * The editor works without JavaScript. It shows the criteria rows plus
 * a few blank ones; "More rows" posts the form back and draws it again
 * with what was typed and more blank rows (and with descriptor boxes for
 * a changed scale); a row's "Remove" box drops it on the next post. A
 * refused save draws the form again (400) with the words next to the
 * field and everything as typed. Descriptor fields are named by level
 * (d_ROW_LEVEL), so a changed scale keeps the texts of the levels that
 * remain.
 */
#include "rubric_web.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "rubric.h"
#include "rubrics.h"
#include "util.h"

#define BLANK_ROWS	2	/* blank criteria rows under the filled ones */
#define MORE_ROWS	3	/* added by "More rows" */
#define FIELD_MAX	65536	/* a decoded form field (the body's limit) */

/* A form being edited: what was typed and the words for what is wrong. */
struct form {
	json_t	*view;		/* f_title, f_min, f_max, rows, errors */
	json_t	*rows;		/* borrowed from view */
	bool	 bad;
};

static void	 form_init(struct form *, const char *, const char *,
		    const char *);
static json_t	*row_view(size_t, const char *, const char *, const char *,
		    const char *);
static void	 row_levels(json_t *, json_t *, int, int, bool);
static void	 form_blank_rows(struct form *, size_t, int, int, bool);
static bool	 scale_of(struct form *, int *, int *, bool *);
static void	 set_shown(struct form *, int, int, bool);
static void	 form_from_definition(struct form *, json_t *);
static void	 form_from_body(struct form *, const char *, char *);
static json_t	*form_definition(struct form *, json_t **);
static void	 form_fault(struct form *, const struct rubric_fault *,
		    json_t *);
static void	 set_error(json_t *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static const char *field_label(const char *);
static bool	 parse_int(const char *, int *);
static int	 render_form(struct req *, int, struct form *, json_t *);
static int	 post_form(struct req *, long long);
static void	 version_view(json_t *, json_t *);

/* ---- the form's view ---------------------------------------------- */

static void
form_init(struct form *f, const char *title, const char *min,
    const char *max)
{
	f->view = json_pack("{s:s, s:s, s:s, s:[], s:b, s:b, s:b}",
	    "f_title", title, "f_min", min, "f_max", max, "rows",
	    "err_title", 0, "err_scale", 0, "err_general", 0);
	f->rows = json_object_get(f->view, "rows");
	f->bad = false;
}

/* One criteria row; every field the template reads is set. */
static json_t *
row_view(size_t i, const char *key, const char *title, const char *desc,
    const char *weight)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:[], s:b, s:b, "
	    "s:b, s:b, s:b, s:b, s:b}", "rw_i", (json_int_t)i, "rw_n",
	    (json_int_t)i + 1, "rw_key", key, "rw_title", title,
	    "rw_description", desc, "rw_weight", weight, "levels",
	    "err_key", 0, "err_title_row", 0, "err_description", 0,
	    "err_weight", 0, "err_descriptors", 0, "rw_bad", 0,
	    "rw_no_levels", 0);
}

/*
 * The descriptor boxes of a row for the levels min..max, filled from
 * texts (an object level -> text) when given.
 */
static void
row_levels(json_t *row, json_t *texts, int min, int max, bool ok)
{
	json_t *levels = json_object_get(row, "levels");
	char lv[16];
	int l;

	json_array_clear(levels);
	if (!ok || max - min + 1 > RUBRIC_MAX_LEVELS) {
		json_object_set_new(row, "rw_no_levels", json_true());
		return;
	}
	for (l = min; l <= max; l++) {
		snprintf(lv, sizeof(lv), "%d", l);
		json_array_append_new(levels, json_pack("{s:I, s:i, s:s}",
		    "lv_row", json_integer_value(json_object_get(row, "rw_i")),
		    "lv_level", l, "lv_text", json_string_value(
		    json_object_get(texts, lv)) ? json_string_value(
		    json_object_get(texts, lv)) : ""));
	}
}

static void
form_blank_rows(struct form *f, size_t n, int min, int max, bool ok)
{
	json_t *row;

	while (n-- > 0 && json_array_size(f->rows) < RUBRIC_MAX_CRITERIA) {
		row = row_view(json_array_size(f->rows), "", "", "", "");
		row_levels(row, NULL, min, max, ok);
		json_array_append_new(f->rows, row);
	}
	set_shown(f, min, max, ok);
	json_object_set_new(f->view, "f_rows", json_integer((json_int_t)
	    json_array_size(f->rows)));
	json_object_set_new(f->view, "can_more", json_boolean(
	    json_array_size(f->rows) < RUBRIC_MAX_CRITERIA));
}

/* The scale as typed; false (with the words by the field) if unusable. */
static bool
scale_of(struct form *f, int *min, int *max, bool *ok)
{
	*ok = parse_int(json_string_value(json_object_get(f->view, "f_min")),
	    min) && parse_int(json_string_value(json_object_get(f->view,
	    "f_max")), max) && *min < *max;
	if (!*ok)
		set_error(f->view, "err_scale", "The scale needs two whole "
		    "numbers, the lowest score less than the highest.");
	return *ok;
}

static void
form_from_definition(struct form *f, json_t *def)
{
	json_t *c, *row, *texts, *d;
	int min, max, l;
	size_t i, j;
	char buf[32];

	min = (int)json_integer_value(json_object_get(json_object_get(def,
	    "scale"), "min"));
	max = (int)json_integer_value(json_object_get(json_object_get(def,
	    "scale"), "max"));
	snprintf(buf, sizeof(buf), "%d", min);
	json_object_set_new(f->view, "f_min", json_string(buf));
	snprintf(buf, sizeof(buf), "%d", max);
	json_object_set_new(f->view, "f_max", json_string(buf));
	json_array_foreach(json_object_get(def, "criteria"), i, c) {
		d = json_object_get(c, "weight");
		if (json_is_number(d))
			snprintf(buf, sizeof(buf), "%g", json_number_value(d));
		else
			snprintf(buf, sizeof(buf), "1");
		row = row_view(i, json_string_value(json_object_get(c, "key")),
		    json_string_value(json_object_get(c, "title")),
		    json_string_value(json_object_get(c, "description")) ?
		    json_string_value(json_object_get(c, "description")) : "",
		    buf);
		texts = json_object();
		json_array_foreach(json_object_get(c, "descriptors"), j, d) {
			l = min + (int)j;
			snprintf(buf, sizeof(buf), "%d", l);
			json_object_set(texts, buf, d);
		}
		row_levels(row, texts, min, max, true);
		json_decref(texts);
		json_array_append_new(f->rows, row);
	}
	form_blank_rows(f, BLANK_ROWS, min, max, true);
}

/*
 * The rows as posted: removed rows and blank ones are dropped, the rest
 * keep what was typed, descriptors by level for the scale now typed.
 */
static void
form_from_body(struct form *f, const char *body, char *tmp)
{
	char name[48], key[128], weight[64];
	json_t *row, *texts;
	int min = 0, max = 0, smin = 0, smax = 0, l, n = 0, i;
	bool ok, any, changed = false, described = false;
	char *title, *desc;

	scale_of(f, &min, &max, &ok);
	json_object_set_new(f->view, "err_scale", json_false());
	/* The scale the descriptor boxes were drawn for: a scale typed
	   wrong keeps them, a changed one is pointed out before saving. */
	if (http_form_get(body, "shown_min", tmp, 16) && parse_int(tmp,
	    &smin) && http_form_get(body, "shown_max", tmp, 16) &&
	    parse_int(tmp, &smax) && smin < smax) {
		if (!ok) {
			min = smin;
			max = smax;
			ok = true;
		} else
			changed = min != smin || max != smax;
	}
	if (http_form_get(body, "rows", tmp, 16))
		parse_int(tmp, &n);
	n = n < 0 ? 0 : n > RUBRIC_MAX_CRITERIA ? RUBRIC_MAX_CRITERIA : n;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "rm_%d", i);
		if (http_form_get(body, name, tmp, 16))
			continue;
		snprintf(name, sizeof(name), "k_%d", i);
		if (!http_form_get(body, name, key, sizeof(key)))
			key[0] = '\0';
		snprintf(name, sizeof(name), "w_%d", i);
		if (!http_form_get(body, name, weight, sizeof(weight)))
			weight[0] = '\0';
		snprintf(name, sizeof(name), "t_%d", i);
		title = xstrdup(http_form_get(body, name, tmp, FIELD_MAX) ?
		    tmp : "");
		snprintf(name, sizeof(name), "x_%d", i);
		desc = xstrdup(http_form_get(body, name, tmp, FIELD_MAX) ?
		    tmp : "");
		texts = json_object();
		any = false;
		for (l = changed ? smin : min; ok && l <= (changed ? smax : max)
		    && (changed ? smax - smin : max - min) < RUBRIC_MAX_LEVELS;
		    l++) {
			snprintf(name, sizeof(name), "d_%d_%d", i, l);
			if (http_form_get(body, name, tmp, FIELD_MAX) &&
			    tmp[strspn(tmp, " \t\r\n")] != '\0') {
				snprintf(name, sizeof(name), "%d", l);
				json_object_set_new(texts, name,
				    json_string(tmp));
				any = described = true;
			}
		}
		if (any || key[strspn(key, " ")] != '\0' ||
		    title[strspn(title, " \t\r\n")] != '\0' ||
		    desc[strspn(desc, " \t\r\n")] != '\0') {
			row = row_view(json_array_size(f->rows), key, title,
			    desc, weight);
			row_levels(row, texts, min, max, ok);
			json_array_append_new(f->rows, row);
		}
		json_decref(texts);
		free(title);
		free(desc);
	}
	if (changed && described)
		json_object_set_new(f->view, "scale_changed", json_sprintf(
		    "The scale changed from %d–%d to %d–%d: the boxes for what "
		    "each score means now follow the new levels. Check them, "
		    "then save.", smin, smax, min, max));
	set_shown(f, min, max, ok);
}

/* The scale the descriptor boxes are drawn for, posted back hidden. */
static void
set_shown(struct form *f, int min, int max, bool ok)
{
	if (!ok)
		return;
	json_object_set_new(f->view, "f_shown_min", json_integer(min));
	json_object_set_new(f->view, "f_shown_max", json_integer(max));
}

/*
 * The definition the form describes; f->bad with the words by the
 * fields when the form itself is wrong (a weight that is no number, no
 * criterion). *crit_rows maps each criterion to its row.
 */
static json_t *
form_definition(struct form *f, json_t **crit_rows)
{
	json_t *crit = json_array(), *row, *c, *descs, *lv;
	const char *w;
	int min = 0, max = 0;
	bool ok;
	size_t i, j;
	double weight;
	char *end;

	*crit_rows = json_array();
	scale_of(f, &min, &max, &ok);
	json_array_foreach(f->rows, i, row) {
		c = json_pack("{s:O, s:O, s:O}", "key", json_object_get(row,
		    "rw_key"), "title", json_object_get(row, "rw_title"),
		    "description", json_object_get(row, "rw_description"));
		w = json_string_value(json_object_get(row, "rw_weight"));
		if (w != NULL && w[strspn(w, " ")] != '\0') {
			errno = 0;
			weight = strtod(w, &end);
			if (errno != 0 || end == w || end[strspn(end, " ")] !=
			    '\0' || !isfinite(weight))
				set_error(row, "err_weight", "Weight must be a "
				    "number such as 1, 2 or 0.5.");
			else
				json_object_set_new(c, "weight",
				    json_real(weight));
		}
		descs = json_array();
		json_array_foreach(json_object_get(row, "levels"), j, lv)
			json_array_append(descs, json_object_get(lv,
			    "lv_text"));
		/* All blank: no descriptors; some blank: the parser says. */
		for (j = 0; j < json_array_size(descs); j++)
			if (json_string_length(json_array_get(descs, j)) > 0)
				break;
		if (j < json_array_size(descs))
			json_object_set_new(c, "descriptors", descs);
		else
			json_decref(descs);
		json_array_append_new(crit, c);
		json_array_append_new(*crit_rows, json_integer((json_int_t)i));
	}
	if (json_array_size(crit) == 0)
		set_error(f->view, "err_general", "Give the rubric at least one "
		    "criterion: fill in a row's key and title.");
	json_array_foreach(f->rows, i, row)
		if (json_is_string(json_object_get(row, "err_weight")))
			f->bad = true;
	if (json_is_string(json_object_get(f->view, "err_scale")) ||
	    json_is_string(json_object_get(f->view, "err_general")))
		f->bad = true;
	return json_pack("{s:O, s:{s:i, s:i}, s:o}", "name",
	    json_object_get(f->view, "f_title"), "scale", "min", min, "max",
	    max, "criteria", crit);
}

/* Puts the parser's words next to the field they are about. */
static void
form_fault(struct form *f, const struct rubric_fault *fault,
    json_t *crit_rows)
{
	json_t *row;
	const char *field = fault->field;
	char slot[32];

	f->bad = true;
	if (fault->criterion < 0) {
		set_error(f->view, strcmp(field, "name") == 0 ? "err_title" :
		    strcmp(field, "scale") == 0 ? "err_scale" : "err_general",
		    "%s %s.", field_label(field), fault->msg);
		return;
	}
	row = json_array_get(f->rows, (size_t)json_integer_value(
	    json_array_get(crit_rows, (size_t)fault->criterion)));
	if (row == NULL) {
		set_error(f->view, "err_general", "Criterion %d: %s %s.",
		    fault->criterion + 1, field_label(field), fault->msg);
		return;
	}
	snprintf(slot, sizeof(slot), "err_%s", strcmp(field, "title") == 0 ?
	    "title_row" : strcmp(field, "criterion") == 0 ? "key" : field);
	set_error(row, slot, "%s %s.", field_label(field), fault->msg);
	json_object_set_new(row, "rw_bad", json_true());
}

static void
set_error(json_t *o, const char *slot, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o, slot, json_string(msg));
}

static const char *
field_label(const char *field)
{
	static const struct { const char *field, *label; } labels[] = {
		{ "name", "The title" }, { "scale", "The scale" },
		{ "criteria", "The rubric" }, { "version", "The version" },
		{ "definition", "The rubric" }, { "criterion", "The row" },
		{ "key", "The key" }, { "title", "The title" },
		{ "description", "The description" }, { "weight", "The weight" },
		{ "descriptors", "The descriptors" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(labels); i++)
		if (strcmp(labels[i].field, field) == 0)
			return labels[i].label;
	return field;
}

static bool
parse_int(const char *s, int *out)
{
	long v;
	char *end;

	if (s == NULL)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || end[strspn(end, " ")] != '\0' ||
	    v < -1000000 || v > 1000000)
		return false;
	*out = (int)v;
	return true;
}

/* ---- pages ---------------------------------------------------------- */

int
rubric_page_list(struct req *r)
{
	char err[512];
	json_t *list, *set, *v;
	size_t i, j;

	if (!rubrics_list(r->app->db, r->user.id, r->user.role, &list, err,
	    sizeof(err)))
		return http_db_error(r);
	json_array_foreach(list, i, set) {
		json_object_set(set, "newest", json_array_get(
		    json_object_get(set, "versions"), 0));
		json_object_set_new(set, "version_count", json_integer(
		    (json_int_t)json_array_size(json_object_get(set,
		    "versions"))));
		json_array_foreach(json_object_get(set, "versions"), j, v)
			json_object_set_new(v, "has_assignments", json_boolean(
			    json_array_size(json_object_get(v,
			    "assignments")) > 0));
	}
	return http_render(r, 200, "rubrics", json_pack("{s:s, s:o, s:b}",
	    "title", "Rubrics", "sets", list, "has_sets",
	    json_array_size(list) > 0));
}

int
rubric_page_new(struct req *r)
{
	struct form f;

	form_init(&f, "", "1", "5");
	form_blank_rows(&f, 4, 1, 5, true);
	return render_form(r, 200, &f, NULL);
}

int
rubric_page_create(struct req *r)
{
	return post_form(r, 0);
}

int
rubric_page_save(struct req *r)
{
	int status;

	if ((status = rubric_web_may_edit(r, r->id)) != 0)
		return status;
	return post_form(r, r->id);
}

/* A version's facts as the page shows them. */
static void
version_view(json_t *v, json_t *rq)
{
	json_t *def = json_object_get(v, "definition"), *c, *lv, *a;
	const char *qs_saved = rq == NULL ? NULL : json_string_value(
	    json_object_get(rq, "saved"));
	int min = (int)json_integer_value(json_object_get(json_object_get(def,
	    "scale"), "min"));
	size_t i, j;

	json_object_set(v, "scale_min", json_object_get(json_object_get(def,
	    "scale"), "min"));
	json_object_set(v, "scale_max", json_object_get(json_object_get(def,
	    "scale"), "max"));
	json_object_set(v, "criteria", json_object_get(def, "criteria"));
	json_array_foreach(json_object_get(def, "criteria"), i, c) {
		if (!json_is_number(json_object_get(c, "weight")))
			json_object_set_new(c, "weight", json_integer(1));
		json_object_set_new(c, "c_levels", json_array());
		json_array_foreach(json_object_get(c, "descriptors"), j, lv)
			json_array_append_new(json_object_get(c, "c_levels"),
			    json_pack("{s:i, s:O}", "cl_level", min + (int)j,
			    "cl_text", lv));
		json_object_set_new(c, "c_has_levels", json_boolean(
		    json_array_size(json_object_get(c, "c_levels")) > 0));
	}
	json_array_foreach(json_object_get(v, "versions"), i, c)
		json_object_set_new(c, "current", json_boolean(
		    json_integer_value(json_object_get(c, "id")) ==
		    json_integer_value(json_object_get(v, "id"))));
	/* The buttons re-evaluate with the version on the page. */
	json_array_foreach(json_object_get(v, "family_assignments"), i, a) {
		json_object_set_new(a, "uses_this", json_boolean(
		    json_integer_value(json_object_get(a, "rubric_id")) ==
		    json_integer_value(json_object_get(v, "id"))));
		json_object_set(a, "fa_rubric", json_object_get(v, "id"));
		json_object_set(a, "fa_version", json_object_get(v,
		    "version"));
	}
	json_object_set_new(v, "has_family_assignments", json_boolean(
	    json_array_size(json_object_get(v, "family_assignments")) > 0));
	json_object_set_new(v, "saved_text", qs_saved == NULL ? json_false() :
	    strcmp(qs_saved, "new") == 0 ? json_sprintf("Saved as version "
	    "%lld.", (long long)json_integer_value(json_object_get(v,
	    "version"))) : strcmp(qs_saved, "inplace") == 0 ? json_string(
	    "Saved. This version was not used yet, so it was changed in "
	    "place.") : strcmp(qs_saved, "created") == 0 ? json_string(
	    "Rubric created.") : json_false());
	json_object_set_new(v, "queued_text", rq != NULL && json_is_string(
	    json_object_get(rq, "queued_text")) ? json_incref(json_object_get(
	    rq, "queued_text")) : json_false());
}

int
rubric_page_view(struct req *r)
{
	const char *qs = r->ri->query_string;
	char err[512], saved[16], queued[16];
	json_t *v, *rq;
	struct form f;
	long n;

	if (!rubrics_version(r->app->db, r->id, r->user.id, r->user.role, &v,
	    err, sizeof(err)))
		return http_db_error(r);
	if (v == NULL)
		return http_error(r, 404, "no such rubric version");
	rq = json_object();
	if (qs != NULL && http_form_get(qs, "saved", saved, sizeof(saved)))
		json_object_set_new(rq, "saved", json_string(saved));
	if (qs != NULL && http_form_get(qs, "queued", queued,
	    sizeof(queued)) && (n = strtol(queued, NULL, 10)) >= 0)
		json_object_set_new(rq, "queued_text", json_sprintf("%ld "
		    "submission%s sent back for evaluation with version %lld; "
		    "the scheduler takes them up in its next evaluation "
		    "phase.", n, n == 1 ? "" : "s", (long long)
		    json_integer_value(json_object_get(v, "version"))));
	else
		json_object_set_new(rq, "queued_text", json_false());
	form_init(&f, json_string_value(json_object_get(v, "title")), "", "");
	form_from_definition(&f, json_object_get(v, "definition"));
	version_view(v, rq);
	json_decref(rq);
	return render_form(r, 200, &f, v);
}

int
rubric_page_reevaluate(struct req *r)
{
	char *body, aid[32], loc[96];
	int status, queued = 0;
	long long assignment;

	if (!http_read_form(r, &body))
		return 403;
	assignment = http_form_get(body, "assignment_id", aid, sizeof(aid)) ?
	    strtoll(aid, NULL, 10) : 0;
	free(body);
	if (assignment <= 0)
		return http_error(r, 400, "choose an assignment to "
		    "re-evaluate");
	if ((status = rubric_web_reevaluate(r, assignment, r->id, &queued))
	    != 0)
		return status;
	snprintf(loc, sizeof(loc), "/rubrics/%lld?queued=%d", r->id, queued);
	return http_redirect(r, loc, NULL);
}

/*
 * Draws the editor (and the version, when there is one). The form's
 * view and the version go to the page: both are taken.
 */
static int
render_form(struct req *r, int status, struct form *f, json_t *version)
{
	json_t *view = f->view;
	bool is_new = version == NULL;

	f->view = NULL;
	f->rows = NULL;
	json_object_set_new(view, "title", is_new ? json_string("New rubric") :
	    json_sprintf("%s, version %lld", json_string_value(
	    json_object_get(version, "title")), (long long)json_integer_value(
	    json_object_get(version, "version"))));
	json_object_set_new(view, "is_new", json_boolean(is_new));
	json_object_set_new(view, "form_action", is_new ? json_string(
	    "/rubrics/new") : json_sprintf("/rubrics/%lld", (long long)
	    json_integer_value(json_object_get(version, "id"))));
	json_object_set_new(view, "version", version != NULL ? version :
	    json_false());
	json_object_set_new(view, "save_label", json_string(is_new ?
	    "Create rubric" : json_is_true(json_object_get(version, "used")) ?
	    "Save as a new version" : "Save changes"));
	return http_render(r, status, "rubric", view);
}

/*
 * A posted editor: "more" draws it again with more rows; a save checks
 * everything, and on success creates the rubric (from_id 0) or saves
 * the edit of version from_id.
 */
static int
post_form(struct req *r, long long from_id)
{
	struct rubric_fault fault;
	struct rubric *rb = NULL;
	struct form f;
	json_t *def = NULL, *crit_rows = NULL, *v = NULL;
	char err[512], loc[96], small[64], *body, *tmp;
	long long id = 0;
	bool in_place = false, found = true, ok;
	int status = 500, version, min = 1, max = 5;

	if (!http_read_form(r, &body))
		return 403;
	tmp = xmalloc(FIELD_MAX);
	form_init(&f, http_form_get(body, "title", tmp, FIELD_MAX) ? tmp : "",
	    http_form_get(body, "min", small, sizeof(small)) ? small : "",
	    "");
	json_object_set_new(f.view, "f_max", json_string(http_form_get(body,
	    "max", small, sizeof(small)) ? small : ""));
	form_from_body(&f, body, tmp);
	if (from_id > 0 && !rubrics_version(r->app->db, from_id, r->user.id,
	    r->user.role, &v, err, sizeof(err))) {
		status = http_db_error(r);
		goto out;
	}
	if (from_id > 0 && v == NULL) {
		status = http_error(r, 404, "no such rubric version");
		goto out;
	}
	if (v != NULL)
		version_view(v, NULL);
	if (http_form_get(body, "more", small, sizeof(small))) {
		scale_of(&f, &min, &max, &ok);
		json_object_set_new(f.view, "err_scale", json_false());
		form_blank_rows(&f, MORE_ROWS, min, max, ok);
		status = render_form(r, 200, &f, v);
		v = NULL;
		goto out;
	}
	def = form_definition(&f, &crit_rows);
	if (json_is_string(json_object_get(f.view, "scale_changed")) &&
	    !json_is_string(json_object_get(f.view, "err_scale"))) {
		json_object_set(f.view, "err_scale", json_object_get(f.view,
		    "scale_changed"));
		f.bad = true;
	}
	/* The parser's words too, unless the scale or rows are missing. */
	if (json_array_size(json_object_get(def, "criteria")) > 0 &&
	    !json_is_string(json_object_get(f.view, "err_scale")) &&
	    (rb = rubric_parse_fault(def, &fault)) == NULL)
		form_fault(&f, &fault, crit_rows);
	if (f.bad) {
		if (!json_is_string(json_object_get(f.view, "err_general")))
			set_error(f.view, "err_general", "The rubric was not "
			    "saved: see the marked fields below.");
		scale_of(&f, &min, &max, &ok);
		form_blank_rows(&f, 0, min, max, ok);
		status = render_form(r, 400, &f, v);
		v = NULL;
		goto out;
	}
	ok = from_id == 0 ? rubrics_create(r->app->db, rb, r->user.id, &id,
	    err, sizeof(err)) : rubrics_save(r->app->db, from_id, rb,
	    r->user.id, true, &id, &version, &in_place, &found, err,
	    sizeof(err));
	if (!ok || !found) {
		log_warnx("rubric save from=%lld: %s", from_id, err);
		status = !found ? http_error(r, 404, "no such rubric version") :
		    http_db_error(r);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/rubrics/%lld?saved=%s", id, from_id == 0 ?
	    "created" : in_place ? "inplace" : "new");
	status = http_redirect(r, loc, NULL);
out:
	rubric_free(rb);
	json_decref(def);
	json_decref(crit_rows);
	json_decref(f.view);
	json_decref(v);
	free(tmp);
	free(body);
	return status;
}
