/*
 * roster: see roster.h. The check runs twice on an import: once before,
 * so a file in error writes nothing, and the writes themselves refuse
 * what changed meanwhile (an email that became a teacher's), rolling the
 * whole transaction back.
 */
#include "roster.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "auth.h"
#include "csv.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define NAME_MAX_CHARS		200
#define SECTION_MAX_CHARS	32
#define NUMBER_MAX_CHARS	64

/* Column indexes in the file, -1 when absent. */
struct columns {
	int	email, name, section, number;
};

static char	*trimmed(const char *);
static bool	 read_header(const struct csv_row *, struct columns *,
		    char *, size_t);
static void	 check_row(struct roster *, int);
static bool	 check_accounts(struct db *, long long, struct roster *,
		    char *, size_t);
static bool	 text_bad(const char *, size_t, const char *, char *, size_t);
static bool	 write_rows(PGconn *, long long, long long, int,
		    struct roster *, char *, size_t);

static char *
trimmed(const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

static bool
read_header(const struct csv_row *h, struct columns *col, char *err,
    size_t errlen)
{
	int i, *slot;
	char *name;

	col->email = col->name = col->section = col->number = -1;
	for (i = 0; i < h->nfields; i++) {
		name = trimmed(h->fields[i]);
		if (strcasecmp(name, "email") == 0)
			slot = &col->email;
		else if (strcasecmp(name, "name") == 0)
			slot = &col->name;
		else if (strcasecmp(name, "section") == 0)
			slot = &col->section;
		else if (strcasecmp(name, "student_number") == 0)
			slot = &col->number;
		else {
			util_seterr(err, errlen, "the header names a column "
			    "\"%s\"; the columns are email, name, section "
			    "and (optional) student_number", name);
			free(name);
			return false;
		}
		free(name);
		if (*slot >= 0)
			return util_seterr(err, errlen, "the header names the "
			    "column \"%s\" twice", h->fields[i]);
		*slot = i;
	}
	if (col->email < 0 || col->name < 0 || col->section < 0)
		return util_seterr(err, errlen, "the first row must be a "
		    "header naming the columns email, name, section and "
		    "(optional) student_number");
	return true;
}

static bool
text_bad(const char *s, size_t max, const char *what, char *err,
    size_t errlen)
{
	size_t i;

	if (strlen(s) > max) {
		util_seterr(err, errlen, "the %s is longer than %zu "
		    "characters", what, max);
		return true;
	}
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20) {
			util_seterr(err, errlen, "the %s has control "
			    "characters", what);
			return true;
		}
	return false;
}

/* The checks that need no database; the first problem wins. */
static void
check_row(struct roster *ro, int i)
{
	struct roster_row *row = &ro->rows[i];
	int j;

	if (row->error[0] != '\0')
		return;
	if (row->email[0] == '\0')
		util_seterr(row->error, sizeof(row->error), "the email is "
		    "missing");
	else if (!auth_email_valid(row->email))
		util_seterr(row->error, sizeof(row->error), "\"%s\" is not an "
		    "email address", row->email);
	else if (row->name[0] == '\0')
		util_seterr(row->error, sizeof(row->error), "the name is "
		    "missing");
	else if (text_bad(row->name, NAME_MAX_CHARS, "name", row->error,
	    sizeof(row->error)) || text_bad(row->section, SECTION_MAX_CHARS,
	    "section", row->error, sizeof(row->error)) ||
	    text_bad(row->number, NUMBER_MAX_CHARS, "student number",
	    row->error, sizeof(row->error)))
		;
	else
		for (j = 0; j < i; j++)
			if (strcasecmp(ro->rows[j].email, row->email) == 0) {
				util_seterr(row->error, sizeof(row->error),
				    "the email %s is also on line %d",
				    row->email, ro->rows[j].line);
				break;
			}
}

/*
 * One query for every email of the file: who has an account, with what
 * role, and who is in this course already.
 */
static bool
check_accounts(struct db *db, long long course, struct roster *ro,
    char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT coalesce(json_object_agg(lower(u.email), "
	    "  json_build_object('role', u.role, 'member', EXISTS (SELECT 1 "
	    "  FROM course_members m WHERE m.course_id = $2::bigint "
	    "  AND m.user_id = u.id))), '{}') FROM users u "
	    "WHERE lower(u.email) IN (SELECT lower(e) "
	    "  FROM json_array_elements_text($1::json) e)";
	char cb[DB_NUM_LEN], *emails, *lower;
	const char *p[2] = { NULL, db_param_ll(cb, course) };
	json_t *list = json_array(), *found, *acc;
	const char *role;
	int i;
	size_t k;

	for (i = 0; i < ro->nrows; i++)
		json_array_append_new(list, json_string(ro->rows[i].email));
	emails = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	p[0] = emails;
	found = db_query_json(db, sql, 2, p, NULL, err, errlen);
	free(emails);
	if (found == NULL)
		return false;
	for (i = 0; i < ro->nrows; i++) {
		struct roster_row *row = &ro->rows[i];

		lower = xstrdup(row->email);
		for (k = 0; lower[k] != '\0'; k++)
			lower[k] = (char)tolower((unsigned char)lower[k]);
		acc = json_object_get(found, lower);
		free(lower);
		role = json_string_value(json_object_get(acc, "role"));
		if (row->error[0] == '\0' && role != NULL &&
		    strcmp(role, "student") != 0)
			util_seterr(row->error, sizeof(row->error), "%s "
			    "belongs to a%s %s account; only students are "
			    "imported", row->email, role[0] == 'a' ? "n" : "",
			    role);
		if (row->error[0] != '\0')
			row->status = ROSTER_ERROR;
		else if (acc == NULL)
			row->status = ROSTER_NEW;
		else
			row->status = json_is_true(json_object_get(acc,
			    "member")) ? ROSTER_ENROLLED : ROSTER_EXISTS;
		if (row->status == ROSTER_ERROR)
			ro->nerrors++;
	}
	json_decref(found);
	return true;
}

bool
roster_check(struct db *db, long long course, const char *text, size_t len,
    struct roster *ro, char *err, size_t errlen)
{
	struct csv_row *rows;
	struct columns col;
	int n, i;

	memset(ro, 0, sizeof(*ro));
	if (!csv_parse(text, len, &rows, &n, ro->file_error,
	    sizeof(ro->file_error))) {
		ro->nerrors = 1;
		return true;
	}
	if (n == 0 || !read_header(&rows[0], &col, ro->file_error,
	    sizeof(ro->file_error)) || n == 1 || n - 1 > ROSTER_MAX_ROWS) {
		if (n <= 1 && ro->file_error[0] == '\0')
			util_seterr(ro->file_error, sizeof(ro->file_error),
			    "the file has no rows under its header");
		else if (ro->file_error[0] == '\0')
			util_seterr(ro->file_error, sizeof(ro->file_error),
			    "the file has %d rows; at most %d are imported "
			    "at once", n - 1, ROSTER_MAX_ROWS);
		ro->nerrors = 1;
		csv_free(rows, n);
		return true;
	}
	ro->nrows = n - 1;
	ro->rows = xcalloc((size_t)ro->nrows, sizeof(*ro->rows));
	for (i = 0; i < ro->nrows; i++) {
		struct csv_row *in = &rows[i + 1];
		struct roster_row *row = &ro->rows[i];

		row->line = in->line;
		row->email = trimmed(col.email < in->nfields ?
		    in->fields[col.email] : "");
		row->name = trimmed(col.name < in->nfields ?
		    in->fields[col.name] : "");
		row->section = trimmed(col.section < in->nfields ?
		    in->fields[col.section] : "");
		row->number = trimmed(col.number >= 0 && col.number <
		    in->nfields ? in->fields[col.number] : "");
		if (in->nfields > rows[0].nfields)
			util_seterr(row->error, sizeof(row->error), "this row "
			    "has %d fields, the header %d (a comma in a name "
			    "needs quotes)", in->nfields, rows[0].nfields);
		check_row(ro, i);
	}
	csv_free(rows, n);
	return check_accounts(db, course, ro, err, errlen);
}

/* The writes of an import, inside the caller's transaction. */
static bool
write_rows(PGconn *c, long long course, long long actor, int ttl_h,
    struct roster *ro, char *err, size_t errlen)
{
	/*
	 * A new account's password hash is "!", which no password
	 * matches: it signs in only after its welcome code set one.
	 */
	static const char sql[] =
	    "WITH n AS (INSERT INTO users (email, name, role, password_hash) "
	    "  VALUES ($1, $2, 'student', '!') ON CONFLICT DO NOTHING "
	    "  RETURNING id, role), "
	    "u AS (SELECT id, role, true AS made FROM n UNION ALL "
	    "  SELECT id, role, false FROM users "
	    "  WHERE lower(email) = lower($1)), "
	    "m AS (INSERT INTO course_members (course_id, user_id, role, "
	    "  section, student_number) SELECT $5::bigint, id, 'student', $3, "
	    "  $4 FROM u WHERE role = 'student' LIMIT 1 "
	    "  ON CONFLICT (course_id, user_id) DO UPDATE SET section = $3, "
	    "  student_number = $4 WHERE course_members.role = 'student' "
	    "  RETURNING user_id) "
	    "SELECT u.id, u.made, (SELECT count(*) FROM m) AS enrolled "
	    "FROM u ORDER BY u.made DESC LIMIT 1";
	char cb[DB_NUM_LEN];
	const char *p[5];
	PGresult *r;
	long long id;
	bool made, enrolled;
	int i;

	for (i = 0; i < ro->nrows; i++) {
		struct roster_row *row = &ro->rows[i];

		p[0] = row->email;
		p[1] = row->name;
		p[2] = row->section;
		p[3] = row->number;
		p[4] = db_param_ll(cb, course);
		if ((r = db_query(c, sql, 5, p, err, errlen)) == NULL)
			return false;
		id = PQntuples(r) == 1 ? db_get_ll(r, 0, "id") : 0;
		made = id > 0 && strcmp(db_get(r, 0, "made"), "t") == 0;
		enrolled = id > 0 && db_get_ll(r, 0, "enrolled") > 0;
		PQclear(r);
		if (!enrolled)
			return util_seterr(err, errlen, "line %d: %s changed "
			    "while importing (no longer a student); nothing "
			    "was imported", row->line, row->email);
		if (made && !account_code_create(c, id, "welcome", actor,
		    ttl_h, &row->code, err, errlen))
			return false;
	}
	return true;
}

bool
roster_import(struct db *db, long long course, long long actor,
    int code_ttl_h, const char *text, size_t len, struct roster *ro,
    char *err, size_t errlen)
{
	PGconn *c;
	bool ok;
	int i;

	if (!roster_check(db, course, text, len, ro, err, errlen))
		return false;
	if (ro->nerrors > 0)
		return true;
	c = db_acquire(db);
	ok = db_exec(c, "BEGIN", 0, NULL, err, errlen) &&
	    write_rows(c, course, actor, code_ttl_h, ro, err, errlen) &&
	    db_exec(c, "COMMIT", 0, NULL, err, errlen);
	if (!ok) {
		db_exec(c, "ROLLBACK", 0, NULL, NULL, 0);
		for (i = 0; i < ro->nrows; i++) {
			free(ro->rows[i].code);
			ro->rows[i].code = NULL;
		}
	}
	db_release(db, c);
	if (!ok)
		return false;
	ro->imported = true;
	log_info("course=%lld roster imported rows=%d by=%lld", course,
	    ro->nrows, actor);
	return true;
}

json_t *
roster_json(const struct roster *ro)
{
	static const char *const status[] = { "new", "exists", "enrolled",
	    "error" };
	static const char *const text[] = { "New account",
	    "Existing account, will be enrolled", "Already enrolled; section "
	    "and number updated", "Error" };
	static const char *const done[] = { "New account made",
	    "Existing account enrolled", "Already enrolled; section and "
	    "number updated", "Error" };
	json_t *rows = json_array();
	int i, counts[4] = { 0 };

	for (i = 0; i < ro->nrows; i++) {
		const struct roster_row *row = &ro->rows[i];

		counts[row->status]++;
		json_array_append_new(rows, json_pack("{s:i, s:s, s:s, s:s, "
		    "s:s, s:s, s:s, s:s?, s:s?}", "line", row->line, "email",
		    row->email, "name", row->name, "section", row->section,
		    "student_number", row->number, "status",
		    status[row->status], "status_text", ro->imported ?
		    done[row->status] : text[row->status], "error",
		    row->error[0] != '\0' ? row->error : NULL, "code",
		    row->code));
	}
	return json_pack("{s:b, s:i, s:s?, s:{s:i, s:i, s:i}, s:o}",
	    "imported", ro->imported, "errors", ro->nerrors, "file_error",
	    ro->file_error[0] != '\0' ? ro->file_error : NULL, "counts",
	    "new", counts[ROSTER_NEW], "exists", counts[ROSTER_EXISTS],
	    "enrolled", counts[ROSTER_ENROLLED], "rows", rows);
}

void
roster_free(struct roster *ro)
{
	int i;

	for (i = 0; i < ro->nrows; i++) {
		free(ro->rows[i].email);
		free(ro->rows[i].name);
		free(ro->rows[i].section);
		free(ro->rows[i].number);
		free(ro->rows[i].code);
	}
	free(ro->rows);
	memset(ro, 0, sizeof(*ro));
}
