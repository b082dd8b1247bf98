/*
 * comments: time-coded comments and their one reply (see comments.h).
 *
 * Every write is one transaction that starts by bumping the submission's
 * review_seq (010_review.sql): the UPDATE both finds the submission and
 * takes its row lock, so the write and the live pages' event commit
 * together or not at all, and a refused write is simply rolled back (by
 * db_release, which never hands a connection on inside a transaction).
 */
#include "comments.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "util.h"

/* Seconds past a known duration still taken as its end. */
#define AT_SLACK_S	1.0

/* One comment with its reply, from "comments c JOIN users cu". */
#define COMMENT_JSON \
	"json_build_object('id', c.id, 'submission_id', c.submission_id, " \
	"  'at_s', round(c.at_s::numeric, 2), 'body', c.body, " \
	"  'author_id', c.author_id, 'author_name', cu.name, " \
	"  'created_at', iso_utc(c.created_at), " \
	"  'reply', (SELECT json_build_object('id', r.id, 'body', r.body, " \
	"    'author_id', r.author_id, 'author_name', ru.name, " \
	"    'created_at', iso_utc(r.created_at)) " \
	"    FROM comment_replies r JOIN users ru ON ru.id = r.author_id " \
	"    WHERE r.comment_id = c.id))"
#define COMMENT_FROM \
	" FROM comments c JOIN users cu ON cu.id = c.author_id "

static char	*clean_body(const char *, char *, size_t);
static long	 utf8_chars(const unsigned char *);
static bool	 parse_decimal(const char *, double *);
static enum comments_outcome finish(PGconn *, long long, json_t **,
		    char *, size_t);
static enum comments_outcome refuse(enum comments_outcome, char *,
		    size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static enum comments_outcome
refuse(enum comments_outcome rc, char *err, size_t errlen, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Characters in a UTF-8 string; -1 when it is not valid UTF-8. */
static long
utf8_chars(const unsigned char *s)
{
	unsigned long cp, min;
	long n = 0;
	int len, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			n++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			len = 2, cp = *s & 0x1f, min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			len = 3, cp = *s & 0x0f, min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			len = 4, cp = *s & 0x07, min = 0x10000;
		} else
			return -1;
		for (i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		/* Overlong forms and surrogates: PostgreSQL refuses them. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		s += len;
		n++;
	}
	return n;
}

/*
 * The body as stored: without the blank lines and spaces around it
 * (a textarea's trailing newline is not part of what was said). NULL
 * with the reason in words when it cannot be stored; the caller frees.
 */
static char *
clean_body(const char *body, char *err, size_t errlen)
{
	static const char blanks[] = " \t\r\n\f\v";
	size_t len;
	long n;
	char *text;

	if (body == NULL)
		body = "";
	body += strspn(body, blanks);
	len = strlen(body);
	while (len > 0 && strchr(blanks, body[len - 1]) != NULL)
		len--;
	text = xstrndup(body, len);
	n = utf8_chars((const unsigned char *)text);
	if (n > 0 && n <= COMMENTS_BODY_MAX)
		return text;
	free(text);
	if (n == 0)
		util_seterr(err, errlen, "write something first: the text is "
		    "empty");
	else if (n < 0)
		util_seterr(err, errlen, "the text is not valid UTF-8");
	else
		util_seterr(err, errlen, "the text is too long: at most %d "
		    "characters, this one has %ld", COMMENTS_BODY_MAX, n);
	return NULL;
}

/* Reads back comment id as JSON and commits what the caller wrote. */
static enum comments_outcome
finish(PGconn *c, long long id, json_t **out, char *err, size_t errlen)
{
	char idb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(idb, id) };
	json_error_t jerr;
	PGresult *r;

	r = db_query(c, "SELECT " COMMENT_JSON "::text AS j" COMMENT_FROM
	    "WHERE c.id = $1", 1, p, err, errlen);
	if (r == NULL)
		return COMMENTS_DB_ERROR;
	*out = PQntuples(r) == 1 ? json_loads(db_get(r, 0, "j"), 0, &jerr) :
	    NULL;
	PQclear(r);
	if (*out == NULL)
		return refuse(COMMENTS_DB_ERROR, err, errlen, "comment %lld "
		    "could not be read back", id);
	if (!db_exec(c, "COMMIT", 0, NULL, err, errlen)) {
		json_decref(*out);
		*out = NULL;
		return COMMENTS_DB_ERROR;
	}
	return COMMENTS_OK;
}

enum comments_outcome
comments_add(struct db *db, long long submission_id, long long author_id,
    double at_s, const char *body, json_t **out, char *err, size_t errlen)
{
	char sb[DB_NUM_LEN], ab[DB_NUM_LEN], tb[DB_NUM_LEN];
	const char *p[4];
	enum comments_outcome rc = COMMENTS_DB_ERROR;
	PGconn *c = NULL;
	PGresult *r = NULL;
	char *text;
	double dur;

	*out = NULL;
	if (!isfinite(at_s) || at_s < 0)
		return refuse(COMMENTS_INVALID, err, errlen, "the moment must "
		    "be a number of seconds from the start (0 or more)");
	if ((text = clean_body(body, err, errlen)) == NULL)
		return COMMENTS_INVALID;
	p[0] = db_param_ll(sb, submission_id);
	c = db_acquire(db);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen))
		goto out;
	r = db_query(c, "UPDATE submissions SET review_seq = review_seq + 1 "
	    "WHERE id = $1 RETURNING duration_s", 1, p, err, errlen);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		rc = refuse(COMMENTS_NOT_FOUND, err, errlen, "no such "
		    "submission");
		goto out;
	}
	if (db_get(r, 0, "duration_s") != NULL) {
		dur = db_get_double(r, 0, "duration_s");
		if (at_s > dur + AT_SLACK_S) {
			rc = refuse(COMMENTS_INVALID, err, errlen, "%.1f s is "
			    "past the end of the recording, which lasts "
			    "%.1f s", at_s, dur);
			goto out;
		}
		at_s = fmin(at_s, dur);
	}
	PQclear(r);
	p[1] = db_param_ll(ab, author_id);
	p[2] = db_param_double(tb, at_s);
	p[3] = text;
	r = db_query(c, "INSERT INTO comments (submission_id, author_id, "
	    "at_s, body) VALUES ($1, $2, $3, $4) RETURNING id", 4, p, err,
	    errlen);
	if (r == NULL)
		goto out;
	rc = finish(c, db_get_ll(r, 0, "id"), out, err, errlen);
	if (rc == COMMENTS_OK)
		log_info("submission=%lld comment=%lld at_s=%.2f by user=%lld",
		    submission_id, db_get_ll(r, 0, "id"), at_s, author_id);
out:
	PQclear(r);
	db_release(db, c);
	free(text);
	return rc;
}

enum comments_outcome
comments_reply(struct db *db, long long comment_id, long long student_id,
    const char *body, json_t **out, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN], ub[DB_NUM_LEN];
	const char *p[3];
	enum comments_outcome rc = COMMENTS_DB_ERROR;
	PGconn *c = NULL;
	PGresult *r = NULL;
	char *text = NULL;

	*out = NULL;
	p[0] = db_param_ll(cb, comment_id);
	p[1] = db_param_ll(ub, student_id);
	c = db_acquire(db);
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen))
		goto out;
	r = db_query(c, "UPDATE submissions s SET review_seq = "
	    "s.review_seq + 1 FROM comments c WHERE c.id = $1 AND "
	    "s.id = c.submission_id RETURNING s.student_id", 1, p, err,
	    errlen);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		rc = refuse(COMMENTS_NOT_FOUND, err, errlen, "no such comment");
		goto out;
	}
	if (db_get_ll(r, 0, "student_id") != student_id) {
		rc = refuse(COMMENTS_NOT_OWNER, err, errlen, "only the student "
		    "whose recording this is can reply to its comments");
		goto out;
	}
	PQclear(r);
	/* The body is checked after ownership: a stranger learns nothing. */
	r = NULL;
	if ((text = clean_body(body, err, errlen)) == NULL) {
		rc = COMMENTS_INVALID;
		goto out;
	}
	p[2] = text;
	r = db_query(c, "INSERT INTO comment_replies (comment_id, author_id, "
	    "body) VALUES ($1, $2, $3) ON CONFLICT (comment_id) DO NOTHING "
	    "RETURNING id", 3, p, err, errlen);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0)
		rc = refuse(COMMENTS_DUPLICATE, err, errlen, "you have already "
		    "replied to this comment");
	else if ((rc = finish(c, comment_id, out, err, errlen)) ==
	    COMMENTS_OK)
		log_info("comment=%lld reply by user=%lld", comment_id,
		    student_id);
out:
	PQclear(r);
	db_release(db, c);
	free(text);
	return rc;
}

enum comments_outcome
comments_delete(struct db *db, long long comment_id, long long author_id,
    bool any_author, long long *submission_id, char *err, size_t errlen)
{
	char cb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(cb, comment_id) };
	enum comments_outcome rc = COMMENTS_DB_ERROR;
	PGconn *c = db_acquire(db);
	PGresult *r = NULL;

	*submission_id = 0;
	if (!db_exec(c, "BEGIN", 0, NULL, err, errlen))
		goto out;
	r = db_query(c, "UPDATE submissions s SET review_seq = "
	    "s.review_seq + 1 FROM comments c WHERE c.id = $1 AND "
	    "s.id = c.submission_id RETURNING s.id, c.author_id", 1, p, err,
	    errlen);
	if (r == NULL)
		goto out;
	if (PQntuples(r) == 0) {
		rc = refuse(COMMENTS_NOT_FOUND, err, errlen, "no such comment");
		goto out;
	}
	*submission_id = db_get_ll(r, 0, "id");
	if (!any_author && db_get_ll(r, 0, "author_id") != author_id) {
		rc = refuse(COMMENTS_NOT_OWNER, err, errlen, "only its author "
		    "(or an admin) can delete a comment");
		goto out;
	}
	if (db_exec(c, "DELETE FROM comments WHERE id = $1", 1, p, err,
	    errlen) && db_exec(c, "COMMIT", 0, NULL, err, errlen)) {
		rc = COMMENTS_OK;
		log_info("submission=%lld comment=%lld deleted by user=%lld",
		    *submission_id, comment_id, author_id);
	}
out:
	PQclear(r);
	db_release(db, c);
	return rc;
}

enum comments_outcome
comments_list(struct db *db, long long submission_id, long long *student_id,
    json_t **out, char *err, size_t errlen)
{
	char sb[DB_NUM_LEN];
	const char *p[1] = { db_param_ll(sb, submission_id) };
	enum comments_outcome rc = COMMENTS_DB_ERROR;
	json_error_t jerr;
	PGconn *c;
	PGresult *r;

	*out = NULL;
	*student_id = 0;
	c = db_acquire(db);
	r = db_query(c, "SELECT s.student_id, (SELECT coalesce(json_agg("
	    COMMENT_JSON " ORDER BY c.at_s, c.id), '[]')" COMMENT_FROM
	    "WHERE c.submission_id = s.id)::text AS list "
	    "FROM submissions s WHERE s.id = $1", 1, p, err, errlen);
	db_release(db, c);
	if (r == NULL)
		return COMMENTS_DB_ERROR;
	if (PQntuples(r) == 0)
		rc = refuse(COMMENTS_NOT_FOUND, err, errlen, "no such "
		    "submission");
	else if ((*out = json_loads(db_get(r, 0, "list"), 0, &jerr)) == NULL)
		util_seterr(err, errlen, "comments of submission %lld: %s",
		    submission_id, jerr.text);
	else {
		*student_id = db_get_ll(r, 0, "student_id");
		rc = COMMENTS_OK;
	}
	PQclear(r);
	return rc;
}

/* Digits with an optional fraction, and blanks around; nothing else. */
static bool
parse_decimal(const char *s, double *v)
{
	size_t whole, frac = 0;
	char *end;

	s += strspn(s, " ");
	whole = strspn(s, "0123456789");
	if (s[whole] == '.')
		frac = strspn(s + whole + 1, "0123456789") + 1;
	if (whole == 0 || whole > 9 || s[whole + frac +
	    strspn(s + whole + frac, " ")] != '\0')
		return false;
	*v = strtod(s, &end);
	return end == s + whole + frac;
}

bool
comments_parse_time(const char *s, double *seconds)
{
	const char *colon = strchr(s, ':');
	double min = 0, sec;
	char mins[16];

	if (colon != NULL) {
		if ((size_t)(colon - s) >= sizeof(mins))
			return false;
		memcpy(mins, s, (size_t)(colon - s));
		mins[colon - s] = '\0';
		if (strchr(mins, '.') != NULL || !parse_decimal(mins, &min))
			return false;
		s = colon + 1;
	}
	if (!parse_decimal(s, &sec) || (colon != NULL && sec >= 60))
		return false;
	*seconds = min * 60 + sec;
	return true;
}
