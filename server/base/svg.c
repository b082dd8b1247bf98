/*
 * svg: chart geometry for server-rendered SVG (see svg.h). Numbers are
 * rounded to a tenth of a unit, which is finer than a pixel and keeps the
 * page small.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define LANE_H		22
#define LANE_GAP	6
#define AXIS_H		22
#define CHART_H		150
#define TOP_PAD		8

static double	 r1(double);
static double	 nice_max(double);
static json_t	*y_ticks(double, double, double, const char *);
static json_t	*x_labels(json_t *, double, double);

static double
r1(double v)
{
	return round(v * 10) / 10;
}

/* The smallest 1, 2 or 5 times a power of ten at or above v. */
static double
nice_max(double v)
{
	double p, m;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	return (m <= 1.000001 ? 1 : m <= 2.000001 ? 2 : m <= 5.000001 ? 5 :
	    10) * p;
}

/* Ticks at round steps: 1 and 10 in fifths, 2 in quarters, 5 in ones. */
static json_t *
y_ticks(double ymax, double base_y, double plot_h, const char *unit)
{
	double lead = ymax / pow(10, floor(log10(ymax)));
	int i, n = fabs(lead - 2) < 0.01 ? 4 : 5;
	json_t *ticks = json_array();

	for (i = 0; i <= n; i++) {
		double v = ymax * i / n;

		json_array_append_new(ticks, json_pack("{s:f, s:o}", "y",
		    r1(base_y - plot_h * i / n), "label", fabs(v - round(v)) <
		    1e-9 ? json_sprintf("%.0f%s", v, unit) :
		    json_sprintf("%g%s", v, unit)));
	}
	return ticks;
}

/*
 * Every other bucket's label under its column centre, the last one
 * included; every second of those is "minor", for a narrow screen to
 * leave out (a phone shows the labels larger).
 */
static json_t *
x_labels(json_t *items, double plot_x, double col_w)
{
	json_t *labels = json_array(), *it;
	size_t i, n = json_array_size(items);

	json_array_foreach(items, i, it)
		if (i % 2 == (n - 1) % 2 && json_is_string(json_object_get(it,
		    "label")))
			json_array_append_new(labels, json_pack("{s:f, s:O, "
			    "s:b}", "x", r1(plot_x + col_w * ((double)i +
			    0.5)), "label", json_object_get(it, "label"),
			    "minor", (n - 1 - i) % 4 == 2));
	return labels;
}

json_t *
svg_gantt(json_t *lanes, double t0, double t1)
{
	double plot_x = SVG_LABEL_W, plot_w = SVG_W - SVG_LABEL_W - 8;
	double span = t1 > t0 ? t1 - t0 : 1, y, s, e, plot_h, inset;
	json_t *lane_out = json_array(), *bars = json_array();
	static const double steps[] = { 60, 120, 180, 300, 600, 900 };
	json_t *ticks = json_array(), *lane, *bar;
	size_t i, k;
	int m, nt;

	json_array_foreach(lanes, i, lane) {
		y = TOP_PAD + (double)i * (LANE_H + LANE_GAP);
		json_array_append_new(lane_out, json_pack("{s:O?, s:f, s:f}",
		    "label", json_object_get(lane, "label"), "y", y, "y_mid",
		    y + LANE_H / 2.0 + 4));
		json_array_foreach(json_object_get(lane, "bars"), k, bar) {
			s = json_number_value(json_object_get(bar, "s"));
			e = json_is_number(json_object_get(bar, "e")) ?
			    json_number_value(json_object_get(bar, "e")) : t1;
			s = s < t0 ? t0 : s;
			e = e > t1 ? t1 : e;
			if (e <= s)
				continue;
			inset = json_number_value(json_object_get(bar,
			    "inset"));
			json_array_append_new(bars, json_pack("{s:f, s:f, s:f, "
			    "s:f, s:O?, s:O?}", "x", r1(plot_x + (s - t0) /
			    span * plot_w), "y", y + inset, "w", fmax(r1((e -
			    s) / span * plot_w), 1), "h", LANE_H - 2 * inset,
			    "kind",
			    json_object_get(bar, "kind"), "tip",
			    json_object_get(bar, "tip")));
		}
	}
	plot_h = TOP_PAD + (double)json_array_size(lanes) * (LANE_H +
	    LANE_GAP);
	/* Ticks at whole minutes, labelled back from the window's end. */
	for (k = 0; k < ARRAY_LEN(steps) - 1 && span / steps[k] > 6; k++)
		;
	nt = (int)(span / steps[k]);
	for (m = 0; m <= nt; m++)
		json_array_append_new(ticks, json_pack("{s:f, s:o, s:s}", "x",
		    r1(plot_x + plot_w * (1 - (double)m * steps[k] / span)),
		    "label", m == 0 ? json_string("now") : json_sprintf(
		    "−%d min", m * (int)steps[k] / 60), "anchor", m == 0 ?
		    "end" : "middle"));
	return json_pack("{s:i, s:f, s:o, s:o, s:o, s:f, s:f, s:f, s:f}",
	    "width", SVG_W, "height", plot_h + AXIS_H, "lanes", lane_out,
	    "bars", bars, "ticks", ticks, "plot_x", plot_x, "plot_w", plot_w,
	    "plot_h", plot_h, "axis_y", plot_h + 16);
}

json_t *
svg_columns(json_t *buckets, double ymax_min)
{
	double plot_x = SVG_LABEL_W / 2.0, plot_w = SVG_W - plot_x - 8;
	double base_y = TOP_PAD + CHART_H, total, ymax = 0, col_w, y, h;
	json_t *cols = json_array(), *b, *part;
	size_t i, k, n = json_array_size(buckets);

	json_array_foreach(buckets, i, b) {
		total = 0;
		json_array_foreach(json_object_get(b, "parts"), k, part)
			total += json_number_value(json_object_get(part, "v"));
		ymax = total > ymax ? total : ymax;
	}
	ymax = nice_max(ymax > ymax_min ? ymax : ymax_min);
	col_w = n > 0 ? plot_w / (double)n : plot_w;
	json_array_foreach(buckets, i, b) {
		y = base_y;
		json_array_foreach(json_object_get(b, "parts"), k, part) {
			h = json_number_value(json_object_get(part, "v")) /
			    ymax * CHART_H;
			if (h <= 0)
				continue;
			y -= h;
			json_array_append_new(cols, json_pack("{s:f, s:f, s:f, "
			    "s:f, s:O?, s:O?}", "x", r1(plot_x + col_w *
			    (double)i + col_w * 0.15), "y", r1(y), "w",
			    r1(col_w * 0.7), "h", r1(h), "kind",
			    json_object_get(part, "kind"), "tip",
			    json_object_get(part, "tip")));
		}
	}
	return json_pack("{s:i, s:i, s:o, s:o, s:o, s:f, s:f, s:f}", "width",
	    SVG_W, "height", TOP_PAD + CHART_H + AXIS_H, "cols", cols,
	    "yticks", y_ticks(ymax, base_y, CHART_H, ""), "xlabels",
	    x_labels(buckets, plot_x, col_w), "plot_x", plot_x, "plot_w",
	    plot_w, "base_y", base_y);
}

json_t *
svg_line(json_t *points, double ymax_min, const char *unit)
{
	double plot_x = SVG_LABEL_W / 2.0, plot_w = SVG_W - plot_x - 8;
	double base_y = TOP_PAD + CHART_H, col_w, x, y, v, ymax = ymax_min;
	struct buf path = BUF_INIT;
	json_t *dots = json_array(), *p, *out;
	size_t i, n = json_array_size(points);
	bool pen = false;

	json_array_foreach(points, i, p)
		if (json_number_value(json_object_get(p, "v")) > ymax)
			ymax = json_number_value(json_object_get(p, "v"));
	ymax = nice_max(ymax);
	col_w = n > 0 ? plot_w / (double)n : plot_w;
	json_array_foreach(points, i, p) {
		if (!json_is_number(json_object_get(p, "v"))) {
			pen = false;	/* a gap where there is no data */
			continue;
		}
		v = json_number_value(json_object_get(p, "v"));
		x = r1(plot_x + col_w * ((double)i + 0.5));
		y = r1(base_y - fmin(v / ymax, 1) * CHART_H);
		buf_printf(&path, "%s%.1f %.1f ", pen ? "L" : "M", x, y);
		pen = true;
		json_array_append_new(dots, json_pack("{s:f, s:f, s:O?}", "x",
		    x, "y", y, "tip", json_object_get(p, "tip")));
	}
	out = json_pack("{s:i, s:i, s:s, s:o, s:o, s:o, s:f, s:f, s:f}",
	    "width", SVG_W, "height", TOP_PAD + CHART_H + AXIS_H, "path",
	    buf_cstr(&path), "dots", dots, "yticks", y_ticks(ymax, base_y,
	    CHART_H, unit), "xlabels", x_labels(points, plot_x, col_w),
	    "plot_x", plot_x, "plot_w", plot_w, "base_y", base_y);
	buf_free(&path);
	return out;
}
