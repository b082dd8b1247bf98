/*
 * api_query: reading an API list's query string (api_query.c). Every
 * parameter is validated here, so a handler either has values it can
 * hand to a module or knows which parameter to name in its 400: ids are
 * positive integers, times ISO 8601 (a date, or a date and time with an
 * optional offset; without one, UTC), a page is `limit` (1..max) and an
 * opaque `cursor` that names the last row of the previous page by its
 * (created_at in microseconds, id), the order every paginated list
 * keeps (newest first). Pure functions: the unit tests call them.
 */
#ifndef INTROEVAL_API_QUERY_H
#define INTROEVAL_API_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define API_CURSOR_LEN	64	/* an encoded cursor, with its NUL */
#define API_TIME_LEN	48	/* a normalised time, with its NUL */
#define API_PAGE_DEFAULT 50	/* rows of a page without a limit */
#define API_PAGE_MAX	200	/* rows of a page at most */

/* Why a parameter was refused: the parameter and the words. */
struct api_bad {
	const char	*field;
	char		 msg[160];
};

struct api_page {
	int		 limit;
	bool		 after;		/* a cursor was given */
	long long	 after_us;	/* its row's created_at, microseconds */
	long long	 after_id;	/* and id */
};

/*
 * The parameter name of qs (NULL: none) into out. *present false when
 * it is absent or empty; false (and bad) when it is too long.
 */
bool	api_query_text(const char *qs, const char *name, char *out,
	    size_t outlen, bool *present, struct api_bad *bad);
/* A positive id; *id 0 when absent. */
bool	api_query_id(const char *qs, const char *name, long long *id,
	    struct api_bad *bad);
/* One of the words in allowed (NULL-terminated); out "" when absent. */
bool	api_query_word(const char *qs, const char *name,
	    const char *const *allowed, char *out, size_t outlen,
	    struct api_bad *bad);
/*
 * An ISO 8601 time, normalised for PostgreSQL's timestamptz (a date is
 * its midnight UTC; no offset is UTC); out "" when absent.
 */
bool	api_query_time(const char *qs, const char *name, char out[API_TIME_LEN],
	    struct api_bad *bad);
/* limit (def when absent, 1..max) and cursor. */
bool	api_query_page(const char *qs, int def, int max, struct api_page *,
	    struct api_bad *bad);

struct req;

/* The 400 naming bad's parameter as its field; the status sent. */
int	api_refuse(struct req *, const struct api_bad *);
/*
 * Answers 200 {key: the first limit rows, next_cursor: the cursor after
 * the last of them, or null when rows had no more}: rows are the limit+1
 * a module returned, newest first, each with cursor_us and id (removed
 * here). Steals rows.
 */
int	api_page_answer(struct req *, const char *key, json_t *rows,
	    int limit);

/* Whether s is a time api_query_time accepts; the normalised form. */
bool	api_time_parse(const char *s, char out[API_TIME_LEN]);
void	api_cursor_encode(long long us, long long id,
	    char out[API_CURSOR_LEN]);
bool	api_cursor_decode(const char *s, long long *us, long long *id);

#endif
