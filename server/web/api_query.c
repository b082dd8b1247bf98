/*
 * api_query: the query parameters of the API's lists (see api_query.h).
 */
#include "api_query.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "util.h"

#define RAW_MAX		512	/* a parameter's decoded value, at most */

static bool	 refuse(struct api_bad *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static bool	 digits(const char *, size_t);
static int	 number(const char *, size_t);
static bool	 parse_offset(const char *);

static bool
refuse(struct api_bad *bad, const char *field, const char *fmt, ...)
{
	va_list ap;

	bad->field = field;
	va_start(ap, fmt);
	vsnprintf(bad->msg, sizeof(bad->msg), fmt, ap);
	va_end(ap);
	return false;
}

bool
api_query_text(const char *qs, const char *name, char *out, size_t outlen,
    bool *present, struct api_bad *bad)
{
	char raw[RAW_MAX + 1];
	size_t nlen = strlen(name), vlen;
	const char *p = qs;

	out[0] = '\0';
	*present = false;
	/* The first name=value; its encoded length bounds the decoded one. */
	while (p != NULL && *p != '\0' && !(strncmp(p, name, nlen) == 0 &&
	    p[nlen] == '=')) {
		p = strchr(p, '&');
		p = p != NULL ? p + 1 : NULL;
	}
	if (p == NULL || *p == '\0')
		return true;
	if ((vlen = strcspn(p + nlen + 1, "&")) > RAW_MAX ||
	    !http_form_get(p, name, raw, sizeof(raw)) || strlen(raw) >= outlen)
		return refuse(bad, name, "%s is too long (at most %zu "
		    "characters)", name, outlen - 1);
	util_strlcpy(out, raw, outlen);
	*present = raw[0] != '\0';
	return true;
}

static bool
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

bool
api_query_id(const char *qs, const char *name, long long *id,
    struct api_bad *bad)
{
	char v[32];
	bool present;

	*id = 0;
	if (!api_query_text(qs, name, v, sizeof(v), &present, bad))
		return false;
	if (!present)
		return true;
	if (!digits(v, strlen(v)) || strlen(v) > 15 || (*id = atoll(v)) <= 0)
		return refuse(bad, name, "%s must be a positive whole number, "
		    "not \"%s\"", name, v);
	return true;
}

bool
api_query_word(const char *qs, const char *name, const char *const *allowed,
    char *out, size_t outlen, struct api_bad *bad)
{
	char list[200] = "";
	bool present;
	size_t i;

	if (!api_query_text(qs, name, out, outlen, &present, bad))
		return false;
	if (!present)
		return true;
	for (i = 0; allowed[i] != NULL; i++) {
		if (strcmp(out, allowed[i]) == 0)
			return true;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i > 0 ? ", " : "", allowed[i]);
	}
	return refuse(bad, name, "%s must be one of %s", name, list);
}

/* The n characters at s as a number (they are digits). */
static int
number(const char *s, size_t n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* "", "Z", "+HH:MM", "-HH:MM", "+HHMM", "+HH". */
static bool
parse_offset(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0)
		return true;
	if (s[0] != '+' && s[0] != '-')
		return false;
	if (n == 3)
		return digits(s + 1, 2) && number(s + 1, 2) <= 14;
	if (n == 5)
		return digits(s + 1, 4) && number(s + 1, 2) <= 14 &&
		    number(s + 3, 2) < 60;
	return n == 6 && digits(s + 1, 2) && s[3] == ':' &&
	    digits(s + 4, 2) && number(s + 1, 2) <= 14 && number(s + 4, 2) < 60;
}

/*
 * YYYY-MM-DD, or YYYY-MM-DD(T| )HH:MM[:SS[.fraction]] and an offset.
 * A day that does not exist (February 30) is refused here, so
 * PostgreSQL's cast never fails on what passed.
 */
bool
api_time_parse(const char *s, char out[API_TIME_LEN])
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d;
	size_t n = strlen(s), t;
	const char *rest;

	if (n < 10 || n > 40 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	y = number(s, 4);
	m = number(s + 5, 2);
	d = number(s + 8, 2);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0))))
		return false;
	if (n == 10) {
		snprintf(out, API_TIME_LEN, "%.10sT00:00:00Z", s);
		return true;
	}
	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || n < 16 ||
	    !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
	    number(s + 11, 2) > 23 || number(s + 14, 2) > 59)
		return false;
	rest = s + 16;
	if (*rest == ':') {
		if (!digits(rest + 1, 2) || number(rest + 1, 2) > 59)
			return false;
		rest += 3;
		if (*rest == '.') {
			t = strspn(rest + 1, "0123456789");
			if (t == 0 || t > 6)
				return false;
			rest += 1 + t;
		}
	}
	if (!parse_offset(rest))
		return false;
	snprintf(out, API_TIME_LEN, "%.10sT%.*s%s", s, (int)(rest - s - 11),
	    s + 11, *rest == '\0' ? "Z" : rest);
	return true;
}

bool
api_query_time(const char *qs, const char *name, char out[API_TIME_LEN],
    struct api_bad *bad)
{
	char v[API_TIME_LEN];
	bool present;

	out[0] = '\0';
	if (!api_query_text(qs, name, v, sizeof(v), &present, bad))
		return false;
	if (present && !api_time_parse(v, out))
		return refuse(bad, name, "%s must be an ISO 8601 time such as "
		    "2026-12-06 or 2026-12-06T14:30:00Z, not \"%s\"", name, v);
	return true;
}

bool
api_query_page(const char *qs, int def, int max, struct api_page *pg,
    struct api_bad *bad)
{
	char v[API_CURSOR_LEN];
	bool present;

	memset(pg, 0, sizeof(*pg));
	pg->limit = def;
	if (!api_query_text(qs, "limit", v, sizeof(v), &present, bad))
		return false;
	if (present && (!digits(v, strlen(v)) || strlen(v) > 6 ||
	    (pg->limit = atoi(v)) < 1 || pg->limit > max))
		return refuse(bad, "limit", "limit must be a whole number from "
		    "1 to %d", max);
	if (!api_query_text(qs, "cursor", v, sizeof(v), &present, bad))
		return false;
	if (present && !(pg->after = api_cursor_decode(v, &pg->after_us,
	    &pg->after_id)))
		return refuse(bad, "cursor", "cursor is not one this server "
		    "gave (pass next_cursor from the previous page as it is)");
	return true;
}

void
api_cursor_encode(long long us, long long id, char out[API_CURSOR_LEN])
{
	char plain[48];
	int n = snprintf(plain, sizeof(plain), "%lld.%lld", us, id);

	sodium_bin2base64(out, API_CURSOR_LEN, (const unsigned char *)plain,
	    (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool
api_cursor_decode(const char *s, long long *us, long long *id)
{
	unsigned char plain[48];
	size_t n;
	char text[49], *dot, *end;

	if (sodium_base642bin(plain, sizeof(plain) - 1, s, strlen(s), NULL,
	    &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	memcpy(text, plain, n);
	text[n] = '\0';
	if ((dot = strchr(text, '.')) == NULL || !digits(text, (size_t)(dot -
	    text)) || !digits(dot + 1, strlen(dot + 1)) || dot - text > 18 ||
	    strlen(dot + 1) > 18)
		return false;
	errno = 0;
	*us = strtoll(text, &end, 10);
	*id = strtoll(dot + 1, &end, 10);
	return errno == 0 && *id > 0;
}

int
api_refuse(struct req *r, const struct api_bad *bad)
{
	return http_error_field(r, 400, "invalid", bad->field, "%s",
	    bad->msg);
}

int
api_page_answer(struct req *r, const char *key, json_t *rows, int limit)
{
	char cursor[API_CURSOR_LEN];
	json_t *row, *next = json_null();
	size_t i;

	if (json_array_size(rows) > (size_t)limit) {
		json_array_remove(rows, (size_t)limit);
		row = json_array_get(rows, (size_t)limit - 1);
		api_cursor_encode(json_integer_value(json_object_get(row,
		    "cursor_us")), json_integer_value(json_object_get(row,
		    "id")), cursor);
		json_decref(next);
		next = json_string(cursor);
	}
	json_array_foreach(rows, i, row)
		json_object_del(row, "cursor_us");
	return http_json(r, 200, json_pack("{s:o, s:o}", key, rows,
	    "next_cursor", next));
}
