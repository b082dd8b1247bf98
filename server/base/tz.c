/*
 * tz: a small TZif reader (RFC 8536) so time-zone arithmetic never uses
 * the process-wide TZ. The 64-bit (version 2+) block's transitions give
 * the offset up to the last transition; after it, the footer's POSIX TZ
 * rule ("CET-1CEST,M3.5.0,M10.5.0/3") does, so both fat and slim zone
 * files work. Only the month-week-day rule form (Mm.w.d) is computed;
 * a footer with Julian-day rules falls back to the last transition's
 * type, which no IANA zone with daylight saving uses today.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"
#include "util.h"

#define TZ_DIR		"/usr/share/zoneinfo"
#define TZ_MAX_FILE	(256 * 1024)

struct tz_type {
	long		 off;
	int		 isdst;
	char		 abbr[16];
};

struct tz_rule_date {
	int		 mon, week, wday;	/* Mm.w.d */
	long		 secs;			/* local time of the change */
};

struct tz_rule {
	bool		 have;
	bool		 has_dst;
	struct tz_type	 std, dst;
	struct tz_rule_date start, end;
};

struct tz {
	char		 name[64];
	size_t		 ntrans;
	int64_t		*trans;
	unsigned char	*idx;
	size_t		 ntypes;
	struct tz_type	*types;
	struct tz_rule	 rule;
};

static bool	 tz_name_ok(const char *);
static bool	 tz_parse(struct tz *, const unsigned char *, size_t);
static uint32_t	 be32(const unsigned char *);
static int64_t	 be64(const unsigned char *);
static const char *rule_abbr(const char *, char *, size_t);
static const char *rule_offset(const char *, long *);
static const char *rule_date(const char *, struct tz_rule_date *);
static bool	 rule_parse(struct tz_rule *, const char *);
static time_t	 rule_change(const struct tz_rule_date *, int year, long off);
static const struct tz_type *rule_type(const struct tz *, time_t);

static bool
tz_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= sizeof(((struct tz *)0)->name) || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    strchr("/_+-", name[i]) == NULL)
			return false;
	return true;
}

struct tz *
tz_load(const char *name, char *err, size_t errlen)
{
	struct tz *tz;
	unsigned char *data = NULL;
	char path[256];
	size_t n = 0;
	FILE *f;

	tz = xcalloc(1, sizeof(*tz));
	if (name == NULL || *name == '\0') {
		util_strlcpy(tz->name, "UTC", sizeof(tz->name));
		return tz;
	}
	if (!tz_name_ok(name)) {
		util_seterr(err, errlen, "not a time zone name: %s", name);
		goto fail;
	}
	util_strlcpy(tz->name, name, sizeof(tz->name));
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if ((f = fopen(path, "rb")) == NULL) {
		util_seterr(err, errlen, "unknown time zone %s: %s", name,
		    strerror(errno));
		goto fail;
	}
	data = xmalloc(TZ_MAX_FILE);
	n = fread(data, 1, TZ_MAX_FILE, f);
	fclose(f);
	if (!tz_parse(tz, data, n)) {
		util_seterr(err, errlen, "time zone %s: not a TZif file", name);
		goto fail;
	}
	free(data);
	return tz;
fail:
	free(data);
	tz_free(tz);
	return NULL;
}

void
tz_free(struct tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->types);
	free(tz);
}

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the header at p; the counts in order isut, isstd, leap, time,
   type, char; returns the data block's size for times of tsize bytes. */
static size_t
block_size(const unsigned char *p, uint32_t c[6], size_t tsize)
{
	int i;

	for (i = 0; i < 6; i++)
		c[i] = be32(p + 20 + 4 * i);
	return c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) +
	    c[1] + c[0];
}

static bool
tz_parse(struct tz *tz, const unsigned char *d, size_t n)
{
	const unsigned char *p, *abbrs;
	uint32_t c[6];
	size_t sz, i, tsize = 4;
	char footer[128];

	if (n < 44 || memcmp(d, "TZif", 4) != 0)
		return false;
	sz = block_size(d, c, 4);
	p = d + 44;
	if (d[4] >= '2') {
		/* Skip the 32-bit block: the 64-bit one follows. */
		if (44 + sz + 44 > n || memcmp(d + 44 + sz, "TZif", 4) != 0)
			return false;
		p = d + 44 + sz + 44;
		sz = block_size(d + 44 + sz, c, 8);
		tsize = 8;
	}
	if ((size_t)(p - d) + sz > n || c[4] == 0 || c[4] > 256)
		return false;
	tz->ntrans = c[3];
	tz->trans = xcalloc(c[3] + 1, sizeof(*tz->trans));
	tz->idx = xcalloc(c[3] + 1, 1);
	for (i = 0; i < c[3]; i++)
		tz->trans[i] = tsize == 8 ? be64(p + 8 * i) :
		    (int32_t)be32(p + 4 * i);
	p += c[3] * tsize;
	for (i = 0; i < c[3]; i++)
		if ((tz->idx[i] = p[i]) >= c[4])
			return false;
	p += c[3];
	tz->ntypes = c[4];
	tz->types = xcalloc(c[4], sizeof(*tz->types));
	abbrs = p + c[4] * 6;
	for (i = 0; i < c[4]; i++, p += 6) {
		tz->types[i].off = (int32_t)be32(p);
		tz->types[i].isdst = p[4];
		if (p[5] < c[5])
			snprintf(tz->types[i].abbr, sizeof(tz->types[i].abbr),
			    "%.*s", (int)(c[5] - p[5]), abbrs + p[5]);
	}
	p = d + (p - d) + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
	/* The footer: "\nTZSTRING\n". */
	if (tsize == 8 && (size_t)(p - d) < n && *p == '\n') {
		const unsigned char *e = memchr(p + 1, '\n', n - (p - d) - 1);

		if (e != NULL && (size_t)(e - p - 1) < sizeof(footer)) {
			memcpy(footer, p + 1, e - p - 1);
			footer[e - p - 1] = '\0';
			rule_parse(&tz->rule, footer);
		}
	}
	return true;
}

/* A zone abbreviation: letters, or anything between < and >. */
static const char *
rule_abbr(const char *s, char *out, size_t len)
{
	const char *b = s;

	if (*s == '<') {
		b = ++s;
		while (*s != '\0' && *s != '>')
			s++;
		if (*s != '>')
			return NULL;
		snprintf(out, len, "%.*s", (int)(s - b), b);
		return s + 1;
	}
	while (isalpha((unsigned char)*s))
		s++;
	if (s - b < 3)
		return NULL;
	snprintf(out, len, "%.*s", (int)(s - b), b);
	return s;
}

/* [+-]hh[:mm[:ss]] as seconds (POSIX: positive is west of Greenwich
   for offsets, plain for rule times; the caller decides). */
static const char *
rule_offset(const char *s, long *secs)
{
	long sign = 1, v[3] = { 0, 0, 0 };
	int i;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return NULL;
	for (i = 0; i < 3; i++) {
		char *end;

		v[i] = strtol(s, &end, 10);
		s = end;
		if (*s != ':' || i == 2)
			break;
		s++;
	}
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return s;
}

static const char *
rule_date(const char *s, struct tz_rule_date *d)
{
	char *end;

	if (*s != 'M')
		return NULL;
	d->mon = (int)strtol(s + 1, &end, 10);
	if (*end != '.')
		return NULL;
	d->week = (int)strtol(end + 1, &end, 10);
	if (*end != '.')
		return NULL;
	d->wday = (int)strtol(end + 1, &end, 10);
	s = end;
	if (d->mon < 1 || d->mon > 12 || d->week < 1 || d->week > 5 ||
	    d->wday < 0 || d->wday > 6)
		return NULL;
	d->secs = 7200;
	if (*s == '/')
		s = rule_offset(s + 1, &d->secs);
	return s;
}

static bool
rule_parse(struct tz_rule *r, const char *s)
{
	long off;

	memset(r, 0, sizeof(*r));
	if ((s = rule_abbr(s, r->std.abbr, sizeof(r->std.abbr))) == NULL ||
	    (s = rule_offset(s, &off)) == NULL)
		return false;
	r->std.off = -off;
	if (*s == '\0') {
		r->have = true;
		return true;
	}
	if ((s = rule_abbr(s, r->dst.abbr, sizeof(r->dst.abbr))) == NULL)
		return false;
	r->dst.off = r->std.off + 3600;
	r->dst.isdst = 1;
	if (*s != ',' && *s != '\0') {
		if ((s = rule_offset(s, &off)) == NULL)
			return false;
		r->dst.off = -off;
	}
	if (*s != ',' || (s = rule_date(s + 1, &r->start)) == NULL ||
	    *s != ',' || (s = rule_date(s + 1, &r->end)) == NULL || *s != '\0')
		return false;
	r->has_dst = r->have = true;
	return true;
}

/* The UTC instant of a rule's change in year, the local clock then
   running at off. */
static time_t
rule_change(const struct tz_rule_date *d, int year, long off)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm tm = { .tm_year = year - 1900, .tm_mon = d->mon - 1,
	    .tm_mday = 1 };
	time_t first = timegm(&tm);
	int ndays = mdays[d->mon - 1], mday;

	if (d->mon == 2 && (year % 4 == 0 && (year % 100 != 0 ||
	    year % 400 == 0)))
		ndays = 29;
	mday = 1 + (d->wday - tm.tm_wday + 7) % 7 + (d->week - 1) * 7;
	while (mday > ndays)
		mday -= 7;
	return first + (time_t)(mday - 1) * 86400 + d->secs - off;
}

static const struct tz_type *
rule_type(const struct tz *tz, time_t t)
{
	const struct tz_rule *r = &tz->rule;
	struct tm tm;
	time_t start, end, lt = t + r->std.off;
	bool dst;

	if (!r->has_dst)
		return &r->std;
	gmtime_r(&lt, &tm);
	start = rule_change(&r->start, tm.tm_year + 1900, r->std.off);
	end = rule_change(&r->end, tm.tm_year + 1900, r->dst.off);
	dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? &r->dst : &r->std;
}

long
tz_offset(const struct tz *tz, time_t t, const char **abbr)
{
	const struct tz_type *ty;
	size_t lo, hi, i;

	if (tz->ntypes == 0) {
		if (abbr != NULL)
			*abbr = "UTC";
		return 0;
	}
	if (tz->ntrans == 0 || t < tz->trans[0]) {
		/* Before the first transition: the first standard type. */
		ty = &tz->types[0];
		for (i = 0; i < tz->ntypes; i++)
			if (!tz->types[i].isdst) {
				ty = &tz->types[i];
				break;
			}
		if (tz->ntrans == 0 && tz->rule.have)
			ty = rule_type(tz, t);
	} else if (t >= tz->trans[tz->ntrans - 1] && tz->rule.have) {
		ty = rule_type(tz, t);
	} else {
		lo = 0;
		hi = tz->ntrans;	/* trans[lo] <= t < trans[hi] */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (tz->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &tz->types[tz->idx[lo]];
	}
	if (abbr != NULL)
		*abbr = ty->abbr;
	return ty->off;
}

void
tz_localtime(const struct tz *tz, time_t t, struct tm *out)
{
	long off = tz_offset(tz, t, NULL);
	time_t lt = t + off;
	size_t i;

	gmtime_r(&lt, out);
	out->tm_gmtoff = off;
	out->tm_isdst = 0;
	/* Whether this offset is a daylight one. */
	for (i = 0; i < tz->ntypes; i++)
		if (tz->types[i].off == off && tz->types[i].isdst)
			out->tm_isdst = 1;
	if (tz->rule.has_dst && off == tz->rule.dst.off)
		out->tm_isdst = 1;
}

time_t
tz_mktime(const struct tz *tz, const struct tm *local)
{
	struct tm tm = *local;
	time_t l, ta, tb;
	long oa, ob;
	bool va, vb;

	tm.tm_isdst = 0;
	l = timegm(&tm);
	/* Offsets change at most once in two days in every real zone. */
	oa = tz_offset(tz, l - 86400, NULL);
	ob = tz_offset(tz, l + 86400, NULL);
	ta = l - oa;
	tb = l - ob;
	va = tz_offset(tz, ta, NULL) == oa;
	vb = tz_offset(tz, tb, NULL) == ob;
	if (va && vb)
		return ta < tb ? ta : tb;
	if (vb)
		return tb;
	return ta;	/* valid, or in a gap: read with the offset before */
}

time_t
tz_day_start(const struct tz *tz, time_t t)
{
	struct tm tm;

	tz_localtime(tz, t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return tz_mktime(tz, &tm);
}
