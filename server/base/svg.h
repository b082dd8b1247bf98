/*
 * svg: the geometry of the health page's charts. Functions turn data
 * into plain numbers and labels (JSON) that templates/health.mustache
 * draws as <rect>, <path> and <text>, so every label a chart shows passes
 * through the template's escaping like any other value. No chart
 * library, no script: the charts are complete when the page arrives.
 *
 * Coordinates are in the chart's viewBox (SVG_W wide); the page scales it.
 */
#ifndef INTROEVAL_SVG_H
#define INTROEVAL_SVG_H

#include <jansson.h>

#define SVG_W		720	/* viewBox width */
#define SVG_LABEL_W	110	/* room for lane labels and y ticks */

/*
 * A Gantt chart of the time window [t0, t1] (seconds since the epoch).
 * lanes: [{label, bars: [{s, e, kind, tip, inset}]}], a bar's e may be
 * null for "still running"; inset (pixels, optional) draws it thinner.
 * Returns {width, height, lanes: [{label, y, y_mid}], bars: [{x, y, w,
 * h, kind, tip}], ticks: [{x, label, anchor}], plot_x, plot_w, plot_h,
 * axis_y}. Does not steal lanes.
 */
json_t	*svg_gantt(json_t *lanes, double t0, double t1);
/*
 * Stacked columns, one per bucket: buckets: [{label, parts: [{v, kind,
 * tip}]}], on a y axis up to at least ymax_min. Returns {width, height,
 * cols: [{x, y, w, h, kind, tip}], yticks: [{y, label}], xlabels: [{x,
 * label, minor}], plot_x, plot_w, base_y}; a minor label may be left out
 * where there is little room.
 */
json_t	*svg_columns(json_t *buckets, double ymax_min);
/*
 * A line through values (one per bucket, null for "no data"), on a y
 * axis from 0 to at least ymax_min, with unit appended to tick labels.
 * points: [{v, label, tip}]. Returns {width, height, path, dots: [{x, y,
 * tip}], yticks, xlabels, plot_x, plot_w, base_y}.
 */
json_t	*svg_line(json_t *points, double ymax_min, const char *unit);

#endif
