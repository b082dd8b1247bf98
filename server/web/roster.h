/*
 * roster: a course's class list imported from CSV (columns email, name,
 * section and optionally student_number, a header row first). A check
 * reads every row and says, per row, whether it makes a new account,
 * enrols an existing one, updates someone already enrolled, or is in
 * error (in words). An import writes nothing while any row is in error,
 * and otherwise writes every row in one transaction: new student
 * accounts (no password: each gets a one-time "welcome" code to set
 * one), memberships with section and student number.
 */
#ifndef INTROEVAL_ROSTER_H
#define INTROEVAL_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct db;

#define ROSTER_MAX_ROWS	2000

enum roster_status {
	ROSTER_NEW,		/* a new student account */
	ROSTER_EXISTS,		/* an existing student, enrolled now */
	ROSTER_ENROLLED,	/* enrolled already: section, number updated */
	ROSTER_ERROR
};

struct roster_row {
	int			 line;
	char			*email, *name, *section, *number;
	enum roster_status	 status;
	char			 error[256];
	char			*code;		/* after an import, new rows */
};

struct roster {
	struct roster_row	*rows;
	int			 nrows;
	int			 nerrors;	/* rows in error, or 1 for the file */
	char			 file_error[256];	/* the whole file */
	bool			 imported;
};

/*
 * Reads and checks text against the course's members and the accounts
 * that exist. False only when the database failed (err); the file's
 * and rows' problems are in *ro. Free with roster_free.
 */
bool	 roster_check(struct db *, long long course, const char *text,
	    size_t len, struct roster *ro, char *err, size_t errlen);
/*
 * Checks, then (with no error) imports in one transaction; ro->imported
 * tells whether it did. False when the database failed.
 */
bool	 roster_import(struct db *, long long course, long long actor,
	    int code_ttl_h, const char *text, size_t len, struct roster *ro,
	    char *err, size_t errlen);
/*
 * {imported, errors, file_error, counts: {new, exists, enrolled},
 * rows: [{line, email, name, section, student_number, status,
 * status_text, error, code}]}.
 */
json_t	*roster_json(const struct roster *);
void	 roster_free(struct roster *);

#endif
