/*
 * http: what every handler works with: the request (struct req, filled
 * in by the router) and the response helpers that are the only place a
 * status code is written, plus small request-body readers. Handlers
 * (pages, api, upload, ...) parse, authorize, call one module and render
 * through these helpers. The router (router.h) sits above them all.
 */
#ifndef INTROEVAL_HTTP_H
#define INTROEVAL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "apitoken.h"
#include "auth.h"

struct app;
struct mg_connection;
struct mg_request_info;
struct req;

/*
 * The first answer a handler sends, kept (with its body copied) while a
 * capture is set: idem.c stores it for an Idempotency-Key's replays.
 * keep, when set, is called with it before a byte of it is sent, so a
 * client that has the answer finds it stored; kept is what it returned.
 */
struct http_capture {
	bool	 taken;
	bool	 streamed;	/* sent by http_send_head: no body kept */
	int	 status;
	char	*ctype;
	char	*headers;	/* the extra header lines, or NULL */
	char	*body;
	size_t	 len;
	bool	(*keep)(struct req *, struct http_capture *);
	bool	 kept;
	void	*arg;		/* keep's */
};

struct req {
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	struct app			*app;
	struct user			 user;
	bool				 authed;
	bool				 api;		/* under /api/: JSON errors */
	bool				 bearer;	/* authed by its bearer token */
	long long			 id;		/* the :id in the path */
	long long			 id2;		/* the :uid in the path */
	char				 name[64];	/* the :name in the path */
	char				 token[AUTH_TOKEN_LEN + 1]; /* cookie */
	struct apitoken			 apitoken;	/* id 0: not one */
	struct http_capture		*capture;	/* NULL: none */
	char				*prebody;	/* read ahead (idem.c) */
	/* Called once with the status, before the first answer is sent. */
	void				(*on_answer)(struct req *, int);
};

/* Responses; each returns the status it sent. Bodies are copied. */
int	http_send(struct req *, int status, const char *ctype,
	    const char *body, size_t len, const char *extra_headers);
int	http_json(struct req *, int status, json_t *body); /* steals body */
/*
 * Errors. For the API (and scripts that accept JSON) every error is
 * {"error": {"code": "snake_case", "message": "plain words", "field":
 * "name"}}: code is the status's default (http_status_code: 404
 * not_found, 422 invalid, ...) unless the handler names a more specific
 * one, and field appears only when one field of the request is at
 * fault. A page gets the error page with the words. http_error_body
 * builds the JSON (a new reference) and is the only place that does.
 */
int	http_error(struct req *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	http_error_field(struct req *, int status, const char *code,
	    const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* A code of its own and no field; extra header lines may be NULL. */
int	http_error_code(struct req *, int status, const char *code,
	    const char *extra_headers, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/*
 * A JSON body's member at fault: code missing_field when body has no
 * member `field`, else invalid. Call it before letting go of body.
 */
int	http_error_member(struct req *, int status, json_t *body,
	    const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
const char *http_status_code(int status);
json_t	*http_error_body(int status, const char *code, const char *field,
	    const char *msg);
/* The code of http_db_error's answer (tus answers it too). */
#define HTTP_DB_CODE	"database_unavailable"
/* Frees what a capture holds. */
void	http_capture_free(struct http_capture *);
/*
 * The one answer to a failed database call: 503 with a Retry-After
 * header, "busy, try again" when no connection came free in time
 * (db_last_busy), else "the database is unavailable". http_db_status
 * gives the status, words and header line ("Retry-After: N\r\n") to
 * handlers with their own reply format (tus); http_db_error answers a
 * page or JSON like http_error.
 */
int	http_db_status(const char **msg, const char **headers);
int	http_db_error(struct req *);
int	http_redirect(struct req *, const char *location,
	    const char *extra_headers);
/*
 * A Range header against a file of `size` bytes (RFC 9110 14.1): one
 * range, "bytes=A-B", "bytes=A-" or "bytes=-N", becomes [*from, *to]
 * (inclusive). HTTP_RANGE_NONE: no header, or one to ignore (another
 * unit, several ranges, not parsable): send the whole file.
 * HTTP_RANGE_BAD: a range that starts past the end (416).
 */
enum http_range { HTTP_RANGE_NONE, HTTP_RANGE_OK, HTTP_RANGE_BAD };
enum http_range http_range_parse(const char *header, long long size,
	    long long *from, long long *to);
/*
 * Sends the open file fd (size bytes; the caller closes it) as ctype to
 * its one reader: the whole file (200) or the Range asked for (206 with
 * Content-Range, 416 when unsatisfiable), Accept-Ranges, nosniff,
 * Cache-Control: private. HEAD sends the headers only.
 */
int	http_send_file(struct req *, int fd, long long size,
	    const char *ctype);
/*
 * The status line and headers of an answer whose length bytes of body
 * the caller then sends itself with mg_write (a streamed download).
 * Nothing is sent after the headers for HEAD; the return is status.
 */
int	http_send_head(struct req *, int status, const char *ctype,
	    long long length, const char *extra_headers);
/* Renders templates/NAME.mustache with ctx (stolen) plus user/csrf. */
int	http_render(struct req *, int status, const char *name, json_t *ctx);
/* The same with extra header lines (each ending "\r\n"). */
int	http_render_with(struct req *, int status, const char *name,
	    json_t *ctx, const char *extra_headers);
/* http_json and http_error (words as they are) with extra headers. */
int	http_json_headers(struct req *, int status, json_t *body,
	    const char *extra_headers);
int	http_error_headers(struct req *, int status,
	    const char *extra_headers, const char *msg);

/*
 * Reads a small request body (at most 64 KiB); false: error sent. A body
 * the router read ahead (r->prebody) is handed over instead.
 */
bool	http_read_body(struct req *, char **body);
/*
 * The request's body as a JSON object (duplicate keys refused); NULL
 * when it is not one, with the error answered and its status in *status.
 */
json_t	*http_read_json(struct req *, int *status);
/*
 * Reads a small application/x-www-form-urlencoded body (at most 64 KiB).
 * For a signed-in user it also checks the form's csrf field; false means
 * an error response was already sent.
 */
bool	http_read_form(struct req *, char **body);
/* A field of a form body or query string, URL-decoded; false if absent. */
bool	http_form_get(const char *body, const char *name, char *out,
	    size_t outlen);
const char *http_header(struct req *, const char *name);

#endif
