/*
 * jobspec_dates: relative and absolute dates in a request, resolved in
 * the course's time zone at ctx->now. A date names a span [start, end):
 * a day is local midnight to the next ("yesterday", "monday",
 * "2026-11-30"), "this week" runs from Monday 00:00 (weeks start on
 * Monday) and "this month" from the 1st, "last week"/"last month" are
 * the previous calendar ones, "last N days" the N days ending today
 * (today included, from midnight N-1 days ago), "last N hours" the N
 * hours before now, "past week" the last 7 days. What comes before it
 * says how the span bounds the spec: "since/after" sets since to its
 * start, "until/till/through" sets until to its end, "before" sets
 * until to its start, and a bare date, "on" or "from" sets both ("from
 * yesterday" is yesterday's uploads). "From X to Y" and "between X and
 * Y" run from X's start to Y's end. An end after now is left open
 * (null): nothing was uploaded later.
 */
#include <stdio.h>
#include <string.h>

#include "jobspec_impl.h"
#include "util.h"

#define NONE	((time_t)-1)

enum js_bound { B_SPAN, B_FROM, B_SINCE, B_UNTIL, B_BEFORE };

static time_t	 day_start(struct js_parse *, int days);
static size_t	 span(struct js_parse *, size_t, time_t *, time_t *);
static void	 set_time(struct js_parse *, const char *, time_t);
static enum js_bound bound_word(const char *);

/* Local midnight `days` days from today. */
static time_t
day_start(struct js_parse *p, int days)
{
	struct tm tm;

	tz_localtime(p->tz, p->ctx->now, &tm);
	tm.tm_mday += days;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return tz_mktime(p->tz, &tm);
}

static time_t
month_start(struct js_parse *p, int months)
{
	struct tm tm;

	tz_localtime(p->tz, p->ctx->now, &tm);
	tm.tm_mon += months;
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return tz_mktime(p->tz, &tm);
}

/* The span named by the tokens at i: how many tokens it took (0: none). */
static size_t
span(struct js_parse *p, size_t i, time_t *a, time_t *b)
{
	const char *w = p->t[i].w, *n1 = i + 1 < p->n ? p->t[i + 1].w : "",
	    *n2 = i + 2 < p->n ? p->t[i + 2].w : "";
	struct tm tm;
	int wd, back, num, y, mo, d, k;
	size_t used = 1;

	tz_localtime(p->tz, p->ctx->now, &tm);
	back = (tm.tm_wday + 6) % 7;	/* days since Monday */
	*b = NONE;
	if (strcmp(w, "today") == 0) {
		*a = day_start(p, 0);
		*b = day_start(p, 1);
	} else if (strcmp(w, "yesterday") == 0) {
		*a = day_start(p, -1);
		*b = day_start(p, 0);
	} else if ((wd = js_weekday(w)) >= 0) {
		k = (tm.tm_wday - wd + 7) % 7;
		*a = day_start(p, -k);
		*b = day_start(p, -k + 1);
	} else if (strlen(w) == 10 && sscanf(w, "%4d-%2d-%2d", &y, &mo, &d) ==
	    3) {
		struct tm day = { .tm_year = y - 1900, .tm_mon = mo - 1,
		    .tm_mday = d };

		if (mo < 1 || mo > 12 || d < 1 || d > 31)
			return 0;
		*a = tz_mktime(p->tz, &day);
		day.tm_mday++;
		*b = tz_mktime(p->tz, &day);
	} else if (strcmp(w, "this") == 0 && strcmp(n1, "week") == 0) {
		*a = day_start(p, -back);
		used = 2;
	} else if (strcmp(w, "this") == 0 && strcmp(n1, "month") == 0) {
		*a = month_start(p, 0);
		used = 2;
	} else if ((strcmp(w, "last") == 0 || strcmp(w, "past") == 0) &&
	    (wd = js_weekday(n1)) >= 0) {
		/* "last monday": the latest before today. */
		k = (tm.tm_wday - wd + 7) % 7;
		if (k == 0)
			k = 7;
		*a = day_start(p, -k);
		*b = day_start(p, -k + 1);
		used = 2;
	} else if (strcmp(w, "last") == 0 && strcmp(n1, "week") == 0) {
		*a = day_start(p, -back - 7);
		*b = day_start(p, -back);
		used = 2;
	} else if (strcmp(w, "last") == 0 && strcmp(n1, "month") == 0) {
		*a = month_start(p, -1);
		*b = month_start(p, 0);
		used = 2;
	} else if (strcmp(w, "past") == 0 && strcmp(n1, "week") == 0) {
		*a = day_start(p, -6);
		used = 2;
	} else if ((strcmp(w, "last") == 0 || strcmp(w, "past") == 0) &&
	    (num = js_number(n1)) > 0) {
		used = 3;
		if (strcmp(n2, "days") == 0 || strcmp(n2, "day") == 0)
			*a = day_start(p, -(num - 1));
		else if (strcmp(n2, "hours") == 0 || strcmp(n2, "hour") == 0)
			*a = p->ctx->now - (time_t)num * 3600;
		else if (strcmp(n2, "weeks") == 0 || strcmp(n2, "week") == 0)
			*a = day_start(p, -(7 * num - 1));
		else
			return 0;
	} else if ((strcmp(w, "last") == 0 || strcmp(w, "past") == 0) &&
	    (strcmp(n1, "day") == 0 || strcmp(n1, "hour") == 0)) {
		*a = p->ctx->now - (strcmp(n1, "day") == 0 ? 86400 : 3600);
		used = 2;
	} else
		return 0;
	if (*b != NONE && *b > p->ctx->now)
		*b = NONE;
	return used;
}

static enum js_bound
bound_word(const char *w)
{
	if (strcmp(w, "from") == 0 || strcmp(w, "between") == 0)
		return B_FROM;
	if (strcmp(w, "since") == 0 || strcmp(w, "after") == 0 ||
	    strcmp(w, "starting") == 0)
		return B_SINCE;
	if (strcmp(w, "until") == 0 || strcmp(w, "till") == 0 ||
	    strcmp(w, "through") == 0 || strcmp(w, "thru") == 0 ||
	    strcmp(w, "to") == 0 || strcmp(w, "and") == 0)
		return B_UNTIL;
	if (strcmp(w, "before") == 0)
		return B_BEFORE;
	return B_SPAN;
}

static void
set_time(struct js_parse *p, const char *key, time_t t)
{
	struct tm tm;
	char iso[40], buf[48];
	long off;

	if (!json_is_null(json_object_get(p->spec, key))) {
		p->fail = true;		/* two dates for one bound */
		return;
	}
	tz_localtime(p->tz, t, &tm);
	off = tm.tm_gmtoff;
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s%c%02ld:%02ld", iso, off < 0 ? '-' : '+',
	    labs(off) / 3600, labs(off) % 3600 / 60);
	json_object_set_new(p->spec, key, json_string(buf));
}

void
js_dates(struct js_parse *p)
{
	enum js_bound bound;
	time_t a, b;
	size_t i, k, took;
	int after = 0;		/* 1: just after a date; 2: after "between X" */
	const char *w;

	for (i = 0; i < p->n; i++) {
		if (p->t[i].used)
			continue;
		w = p->t[i].w;
		bound = bound_word(w);
		k = bound == B_SPAN ? i : i + 1;
		/* "on monday" is a span. */
		if (bound == B_SPAN && strcmp(w, "on") == 0)
			k = i + 1;
		if (k >= p->n || p->t[k].used ||
		    (took = span(p, k, &a, &b)) == 0 ||
		    (strcmp(w, "to") == 0 && after == 0) ||
		    (strcmp(w, "and") == 0 && after != 2)) {
			after = 0;
			continue;
		}
		switch (bound) {
		case B_SPAN:
		case B_FROM:
			set_time(p, "since", a);
			if (b != NONE)
				set_time(p, "until", b);
			break;
		case B_SINCE:
			set_time(p, "since", a);
			break;
		case B_UNTIL:
			/* "from X to Y": Y's end replaces X's. */
			if (after != 0)
				json_object_set_new(p->spec, "until",
				    json_null());
			set_time(p, "until", b != NONE ? b : p->ctx->now);
			break;
		case B_BEFORE:
			set_time(p, "until", a);
			break;
		}
		after = strcmp(w, "between") == 0 ? 2 : 1;
		for (; i < k + took; i++)
			p->t[i].used = true;
		i--;
	}
}
