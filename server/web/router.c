/*
 * router: the top of the web layer. One catch-all CivetWeb handler feeds
 * one route table. For every request it serves static files itself
 * (CivetWeb's document_root is never used: its directory redirect carries
 * an unpatched overflow in 1.15), finds the session, matches the route,
 * enforces the route's roles and, for state-changing requests made with
 * the session cookie, the CSRF token, then calls the handler. Handlers
 * answer through http.h, the only place a status line is written.
 *
 * CivetWeb runs each connection on its own thread, so everything here is
 * per-request except struct app, which is read-only once serving starts.
 */
#include "router.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>
#include <jansson.h>
#include <sodium.h>

#include "adjust.h"
#include "api.h"
#include "apitoken.h"
#include "api_comments.h"
#include "api_courses.h"
#include "api_nodes.h"
#include "app.h"
#include "assign_web.h"
#include "audit.h"
#include "bakeoff_web.h"
#include "config.h"
#include "course_admin.h"
#include "dash.h"
#include "health.h"
#include "http.h"
#include "idem.h"
#include "jobs_web.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "pages.h"
#include "people.h"
#include "rubric_web.h"
#include "privacy_pages.h"
#include "ratelimit.h"
#include "submission.h"
#include "tokens_web.h"
#include "tus.h"
#include "upload.h"
#include "util.h"
#include "ws.h"

#define COOKIE_NAME	"introeval_session"
#define STATIC_MAX	(4 * 1024 * 1024)
#define KEEP_ALIVE_S	15	/* idle kept-alive connection, at most */
#define RATE_SLOTS	4096	/* scripts whose request rates are kept */

/* Who may call a route. */
#define R_ANON		0x01	/* no sign-in needed */
#define R_STUDENT	0x02
#define R_TEACHER	0x04
#define R_ADMIN		0x08
#define R_STAFF		(R_TEACHER | R_ADMIN)
#define R_USER		(R_STUDENT | R_STAFF)

/* How a state-changing route proves it came from our own page. */
enum csrf { CSRF_NONE, CSRF_HEADER, CSRF_FORM };

struct route {
	const char	*method;
	const char	*pattern;	/* ":id", ":uid": positive integers */
	int		 roles;
	enum csrf	 csrf;
	int		(*handler)(struct req *);
};

static const struct route routes[] = {
	{ "GET",  "/login",			R_ANON | R_USER, CSRF_NONE,
	  pages_login_form },
	{ "POST", "/login",			R_ANON | R_USER, CSRF_NONE,
	  pages_login },
	{ "POST", "/logout",			R_USER,  CSRF_FORM,
	  pages_logout },
	{ "GET",  "/",				R_USER,  CSRF_NONE,
	  pages_home },
	{ "GET",  "/submissions/:id",		R_USER,  CSRF_NONE,
	  pages_submission },
	{ "POST", "/submissions/:id/action",	R_STAFF, CSRF_FORM,
	  pages_submission_action },
	{ "POST", "/submissions/:id/scores",	R_STAFF, CSRF_FORM,
	  adjust_page_scores },
	{ "POST", "/submissions/:id/comments",	R_STAFF, CSRF_FORM,
	  api_comment_form_add },
	{ "POST", "/comments/:id/reply",	R_USER,  CSRF_FORM,
	  api_comment_form_reply },
	{ "POST", "/comments/:id/delete",	R_STAFF, CSRF_FORM,
	  api_comment_form_delete },
	{ "GET",  "/admin/users",		R_ADMIN, CSRF_NONE,
	  pages_users },
	{ "POST", "/admin/users",		R_ADMIN, CSRF_FORM,
	  pages_user_create },
	{ "GET",  "/admin/consent",		R_ADMIN, CSRF_NONE,
	  privacy_consent_page },
	{ "POST", "/admin/consent",		R_ADMIN, CSRF_FORM,
	  privacy_consent_save },
	{ "POST", "/consent",			R_STUDENT, CSRF_FORM,
	  privacy_consent_accept_form },
	{ "POST", "/me/deletion-request",	R_STUDENT, CSRF_FORM,
	  privacy_deletion_form },
	{ "GET",  "/admin/requests",		R_ADMIN, CSRF_NONE,
	  privacy_requests_page },
	{ "POST", "/admin/requests/:id",	R_ADMIN, CSRF_FORM,
	  privacy_carry_out_form },
	{ "GET",  "/admin/audit",		R_ADMIN, CSRF_NONE,
	  privacy_audit_page },
	{ "GET",  "/healthz",			R_ANON | R_USER, CSRF_NONE,
	  health_healthz },
	{ "GET",  "/readyz",			R_ANON | R_USER, CSRF_NONE,
	  health_readyz },
	{ "GET",  "/courses",			R_STAFF, CSRF_NONE,
	  dash_courses },
	{ "POST", "/courses",			R_ADMIN, CSRF_FORM,
	  dash_course_create },
	{ "GET",  "/courses/:id",		R_STAFF, CSRF_NONE,
	  dash_course },
	{ "POST", "/courses/:id/members",	R_STAFF, CSRF_FORM,
	  dash_course_enrol },
	{ "GET",  "/courses/:id/results.csv",	R_STAFF, CSRF_NONE,
	  dash_results_csv },
	{ "POST", "/courses/:id/assignments",	R_STAFF, CSRF_FORM,
	  assign_form_create },
	{ "POST", "/courses/:id/time-zone",	R_STAFF, CSRF_FORM,
	  assign_form_time_zone },
	{ "GET",  "/assignments/:id",		R_USER,  CSRF_NONE,
	  assign_page },
	{ "POST", "/assignments/:id",		R_STAFF, CSRF_FORM,
	  assign_form_edit },
	{ "POST", "/assignments/:id/delete",	R_STAFF, CSRF_FORM,
	  assign_form_delete },
	{ "GET",  "/api/v1/courses/:id/assignments", R_USER, CSRF_NONE,
	  assign_api_list },
	{ "POST", "/api/v1/courses/:id/assignments", R_STAFF, CSRF_HEADER,
	  assign_api_create },
	{ "GET",  "/api/v1/assignments/:id",	R_USER,  CSRF_NONE,
	  assign_api_get },
	{ "PATCH", "/api/v1/assignments/:id",	R_STAFF, CSRF_HEADER,
	  assign_api_patch },
	{ "DELETE", "/api/v1/assignments/:id",	R_STAFF, CSRF_HEADER,
	  assign_api_delete },
	{ "GET",  "/api/v1/courses/:id/progress", R_STAFF, CSRF_NONE,
	  dash_course_progress },
	/* Courses, enrolment, users as data (api_courses.c, people.c). */
	{ "GET",  "/api/v1/courses",		R_USER,  CSRF_NONE,
	  api_courses_list },
	{ "POST", "/api/v1/courses",		R_ADMIN, CSRF_HEADER,
	  api_course_create },
	{ "GET",  "/api/v1/courses/:id",	R_USER,  CSRF_NONE,
	  api_course_get },
	{ "POST", "/api/v1/courses/:id/members", R_STAFF, CSRF_HEADER,
	  api_course_enrol },
	{ "GET",  "/api/v1/users",		R_ADMIN, CSRF_NONE,
	  people_api_users },
	{ "POST", "/api/v1/users",		R_ADMIN, CSRF_HEADER,
	  people_api_user_create },
	{ "GET",  "/api/v1/users/:id",		R_STAFF, CSRF_NONE,
	  people_api_user_get },
	/* Accounts and course administration (people.c, course_admin.c). */
	{ "GET",  "/signup",			R_ANON | R_USER, CSRF_NONE,
	  people_signup_form },
	{ "POST", "/signup",			R_ANON | R_USER, CSRF_NONE,
	  people_signup },
	{ "GET",  "/reset",			R_ANON | R_USER, CSRF_NONE,
	  people_reset_form },
	{ "POST", "/reset",			R_ANON | R_USER, CSRF_NONE,
	  people_reset },
	{ "GET",  "/account",			R_USER,  CSRF_NONE,
	  people_account },
	{ "POST", "/account/password",		R_USER,  CSRF_FORM,
	  people_account_password },
	{ "POST", "/account/signout-all",	R_USER,  CSRF_FORM,
	  people_account_signout_all },
	{ "POST", "/account/tokens",		R_STAFF, CSRF_FORM,
	  tokens_form_create },
	{ "POST", "/account/tokens/:id/revoke",	R_STAFF, CSRF_FORM,
	  tokens_form_revoke },
	{ "GET",  "/api/v1/tokens",		R_STAFF, CSRF_NONE,
	  tokens_api_list },
	{ "POST", "/api/v1/tokens",		R_STAFF, CSRF_HEADER,
	  tokens_api_create },
	{ "DELETE", "/api/v1/tokens/:id",	R_STAFF, CSRF_HEADER,
	  tokens_api_revoke },
	{ "GET",  "/users/:id",			R_STAFF, CSRF_NONE,
	  people_user },
	{ "POST", "/users/:id",			R_STAFF, CSRF_FORM,
	  people_user_update },
	{ "GET",  "/courses/:id/manage",	R_STAFF, CSRF_NONE,
	  course_admin_page },
	{ "POST", "/courses/:id/manage",	R_STAFF, CSRF_FORM,
	  course_admin_update },
	{ "POST", "/courses/:id/roster",	R_STAFF, CSRF_FORM,
	  course_admin_roster },
	{ "PATCH", "/api/v1/users/:id",		R_STAFF, CSRF_HEADER,
	  people_api_user_patch },
	{ "POST", "/api/v1/users/:id/reset",	R_STAFF, CSRF_HEADER,
	  people_api_user_reset },
	{ "POST", "/api/v1/me/password",	R_USER,  CSRF_HEADER,
	  people_api_me_password },
	{ "POST", "/api/v1/me/signout-all",	R_USER,  CSRF_HEADER,
	  people_api_me_signout_all },
	{ "PATCH", "/api/v1/courses/:id",	R_STAFF, CSRF_HEADER,
	  course_admin_api_patch },
	{ "DELETE", "/api/v1/courses/:id/members/:uid", R_STAFF, CSRF_HEADER,
	  course_admin_api_unenrol },
	{ "POST", "/api/v1/courses/:id/roster",	R_STAFF, CSRF_HEADER,
	  course_admin_api_roster },
	{ "GET",  "/rubrics",			R_STAFF, CSRF_NONE,
	  rubric_page_list },
	{ "GET",  "/rubrics/new",		R_STAFF, CSRF_NONE,
	  rubric_page_new },
	{ "POST", "/rubrics/new",		R_STAFF, CSRF_FORM,
	  rubric_page_create },
	{ "GET",  "/rubrics/:id",		R_STAFF, CSRF_NONE,
	  rubric_page_view },
	{ "POST", "/rubrics/:id",		R_STAFF, CSRF_FORM,
	  rubric_page_save },
	{ "POST", "/rubrics/:id/reevaluate",	R_STAFF, CSRF_FORM,
	  rubric_page_reevaluate },
	{ "GET",  "/api/v1/rubrics",		R_STAFF, CSRF_NONE,
	  rubric_api_list },
	{ "POST", "/api/v1/rubrics",		R_STAFF, CSRF_HEADER,
	  rubric_api_create },
	{ "GET",  "/api/v1/rubrics/:id",	R_USER,  CSRF_NONE,
	  rubric_api_get },
	{ "POST", "/api/v1/rubrics/:id/versions", R_STAFF, CSRF_HEADER,
	  rubric_api_new_version },
	{ "POST", "/api/v1/assignments/:id/reevaluate", R_STAFF, CSRF_HEADER,
	  rubric_api_reevaluate },
	{ "GET",  "/jobs",			R_STAFF, CSRF_NONE,
	  jobs_page_list },
	{ "POST", "/jobs",			R_STAFF, CSRF_FORM,
	  jobs_page_create },
	{ "GET",  "/jobs/new",			R_STAFF, CSRF_NONE,
	  jobs_page_new },
	{ "GET",  "/jobs/:id",			R_STAFF, CSRF_NONE,
	  jobs_page_get },
	{ "POST", "/jobs/:id/cancel",		R_STAFF, CSRF_FORM,
	  jobs_page_cancel },
	{ "GET",  "/jobs/:id/export.csv",	R_STAFF, CSRF_NONE,
	  jobs_export_csv },
	{ "POST", "/api/v1/jobs/preview",	R_STAFF, CSRF_HEADER,
	  jobs_api_preview },
	{ "POST", "/api/v1/jobs",		R_STAFF, CSRF_HEADER,
	  jobs_api_create },
	{ "GET",  "/api/v1/jobs",		R_STAFF, CSRF_NONE,
	  jobs_api_list },
	{ "GET",  "/api/v1/jobs/:id",		R_STAFF, CSRF_NONE,
	  jobs_api_get },
	{ "POST", "/api/v1/jobs/:id/cancel",	R_STAFF, CSRF_HEADER,
	  jobs_api_cancel },
	{ "GET",  "/admin/health",		R_ADMIN, CSRF_NONE,
	  health_page },
	{ "GET",  "/admin/bakeoffs",		R_ADMIN, CSRF_NONE,
	  bakeoff_list_page },
	{ "POST", "/admin/bakeoffs",		R_ADMIN, CSRF_FORM,
	  bakeoff_create_form },
	{ "GET",  "/admin/bakeoffs/:id",	R_ADMIN, CSRF_NONE,
	  bakeoff_page },
	{ "GET",  "/admin/bakeoffs/:id/report.csv", R_ADMIN, CSRF_NONE,
	  bakeoff_csv },
	{ "POST", "/admin/bakeoffs/:id/cancel",	R_ADMIN, CSRF_FORM,
	  bakeoff_cancel_form },
	{ "GET",  "/api/v1/bakeoffs",		R_ADMIN, CSRF_NONE,
	  bakeoff_api_list },
	{ "POST", "/api/v1/bakeoffs",		R_ADMIN, CSRF_HEADER,
	  bakeoff_api_create },
	{ "GET",  "/api/v1/bakeoffs/:id",	R_ADMIN, CSRF_NONE,
	  bakeoff_api_get },
	{ "GET",  "/metrics",			R_ANON | R_USER, CSRF_NONE,
	  metrics_handler },
	{ "GET",  "/api/v1/openapi.json",	R_ANON | R_USER, CSRF_NONE,
	  openapi_serve },
	{ "GET",  "/api/v1/me",			R_USER,  CSRF_NONE,
	  api_me },
	{ "GET",  "/api/v1/submissions",	R_USER,  CSRF_NONE,
	  api_submissions_list },
	{ "POST", "/api/v1/submissions",	R_STUDENT, CSRF_HEADER,
	  upload_submission },
	{ "GET",  "/api/v1/submissions/:id",	R_USER,  CSRF_NONE,
	  api_submission_get },
	{ "GET",  "/api/v1/submissions/:id/media", R_USER, CSRF_NONE,
	  api_submission_media },
	{ "POST", "/api/v1/submissions/:id/cancel", R_STAFF, CSRF_HEADER,
	  api_submission_cancel },
	{ "POST", "/api/v1/submissions/:id/retry", R_STAFF, CSRF_HEADER,
	  api_submission_retry },
	{ "POST", "/api/v1/submissions/:id/priority", R_STAFF, CSRF_HEADER,
	  api_submission_priority },
	{ "POST", "/api/v1/submissions/:id/scores", R_STAFF, CSRF_HEADER,
	  adjust_api_scores },
	{ "GET",  "/api/v1/submissions/:id/audit", R_STAFF, CSRF_NONE,
	  adjust_api_audit },
	{ "GET",  "/api/v1/submissions/:id/comments", R_USER, CSRF_NONE,
	  api_comments_get },
	{ "POST", "/api/v1/submissions/:id/comments", R_STAFF, CSRF_HEADER,
	  api_comment_add },
	{ "POST", "/api/v1/comments/:id/reply",	R_USER,  CSRF_HEADER,
	  api_comment_reply },
	{ "DELETE", "/api/v1/comments/:id",	R_STAFF, CSRF_HEADER,
	  api_comment_delete },
	{ "GET",  "/api/v1/system",		R_STAFF, CSRF_NONE,
	  api_system },
	{ "GET",  "/api/v1/backends",		R_STAFF, CSRF_NONE,
	  api_backends },
	{ "GET",  "/api/v1/nodes",		R_STAFF, CSRF_NONE,
	  api_nodes },
	{ "GET",  "/api/v1/nodes/:name/phases",	R_STAFF, CSRF_NONE,
	  api_node_phases },
	{ "GET",  "/api/v1/consent",		R_USER,  CSRF_NONE,
	  privacy_api_consent },
	{ "POST", "/api/v1/consent",		R_STUDENT, CSRF_HEADER,
	  privacy_api_consent_accept },
	{ "POST", "/api/v1/admin/consent",	R_ADMIN, CSRF_HEADER,
	  privacy_api_consent_set },
	{ "GET",  "/api/v1/admin/audit",	R_ADMIN, CSRF_NONE,
	  privacy_api_audit },
	{ "GET",  "/api/v1/me/export",		R_STUDENT, CSRF_NONE,
	  privacy_api_export },
	{ "POST", "/api/v1/me/deletion-request", R_STUDENT, CSRF_HEADER,
	  privacy_api_deletion },
	{ "OPTIONS", "/api/v1/uploads",		R_ANON | R_USER, CSRF_NONE,
	  tus_options },
	{ "POST", "/api/v1/uploads",		R_STUDENT, CSRF_HEADER,
	  tus_create },
	{ "HEAD", "/api/v1/uploads/:id",	R_USER,  CSRF_NONE,
	  tus_head },
	{ "PATCH", "/api/v1/uploads/:id",	R_USER,  CSRF_HEADER,
	  tus_patch },
	{ "GET",  "/api/v1/uploads/:id",	R_USER,  CSRF_NONE,
	  tus_get },
};

/* What a worker (health_only) answers; everything else is 404. */
static const char *const health_paths[] = { "/healthz", "/readyz",
    "/metrics" };

struct router {
	struct mg_context	*ctx;
	struct app		*app;
	struct ratelimit	*api_rate;	/* bearer requests, per script */
	bool			 health_only;
	atomic_bool		 open;	/* every handler is in place */
};

static int	 dispatch(struct mg_connection *, void *);
static int	 dispatch_one(struct mg_connection *, struct router *);
static void	 take_request_id(struct mg_connection *);
static bool	 match(const char *, const char *, struct req *);
static bool	 health_path(const char *);
static int	 role_bit(const char *);
static bool	 find_session(struct req *);
static int	 rate_gate(struct router *, struct req *);
static int	 token_gate(struct req *);
static int	 run(struct req *, const struct route *);
static void	 audit_token_use(struct req *, int);
static int	 serve_static(struct req *, const char *);
static const char *static_type(const char *);
static int	 submission_gate(struct req *, const struct route *);
static int	 log_civetweb(const struct mg_connection *, const char *);
static int	 not_yet_open(struct mg_connection *);
static bool	 print_route(FILE *, const char *, const char *, int,
		    const char *);

struct router *
router_start(struct app *app, bool health_only, char *err, size_t errlen)
{
	struct router *s = xcalloc(1, sizeof(*s));
	struct mg_callbacks cb;
	char ports[300], threads[16], request_ms[16], idle_ms[16];
	/*
	 * request_timeout_ms is, in CivetWeb 1.15, the time for a request's
	 * whole header, counted from when the thread starts reading it
	 * (measured: a sender of one byte a second is cut off after it, not
	 * after a silence), and the longest silence inside a body read or a
	 * write; the next header on a kept-alive connection gets
	 * keep_alive_timeout_ms instead. Both are header_timeout_s at most,
	 * so a slow sender holds a thread that long and no longer.
	 */
	const char *opts[] = {
		"listening_ports", ports,
		"num_threads", threads,
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", idle_ms,
		"tcp_nodelay", "1",
		"request_timeout_ms", request_ms,
		"max_request_size", "65536",
		"enable_websocket_ping_pong", "yes",
		/* A dead WebSocket frees its thread in about 90 s. */
		"websocket_timeout_ms", "15000",
		NULL
	};

	s->app = app;
	s->health_only = health_only;
	s->api_rate = ratelimit_new(app->cfg->api_rate_per_minute,
	    app->cfg->api_rate_burst, RATE_SLOTS);
	snprintf(ports, sizeof(ports), strchr(app->cfg->host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", app->cfg->host, app->cfg->port);
	snprintf(threads, sizeof(threads), "%d", app->cfg->threads);
	snprintf(request_ms, sizeof(request_ms), "%d",
	    app->cfg->header_timeout_s * 1000);
	snprintf(idle_ms, sizeof(idle_ms), "%d", app->cfg->header_timeout_s <
	    KEEP_ALIVE_S ? app->cfg->header_timeout_s * 1000 :
	    KEEP_ALIVE_S * 1000);
	memset(&cb, 0, sizeof(cb));
	cb.log_message = log_civetweb;
	cb.begin_request = not_yet_open;
	mg_init_library(0);
	if ((s->ctx = mg_start(&cb, s, opts)) == NULL) {
		ratelimit_free(s->api_rate);
		free(s);
		util_seterr(err, errlen, "cannot listen on %s (is the port in "
		    "use?)", ports);
		return NULL;
	}
	mg_set_request_handler(s->ctx, "/", dispatch, s);
	return s;
}

void
router_open(struct router *s)
{
	atomic_store(&s->open, true);
}

/*
 * CivetWeb listens before our handlers are in place: until router_open,
 * a request gets 503 "starting" rather than CivetWeb's own 404 page.
 */
static int
not_yet_open(struct mg_connection *conn)
{
	static const char body[] = "{\"error\":{\"code\":\"unavailable\","
	    "\"message\":\"the server is starting; try again shortly\"}}";
	const struct router *s = mg_get_request_info(conn)->user_data;

	if (atomic_load(&s->open))
		return 0;
	mg_printf(conn, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: 1\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    sizeof(body) - 1, body);
	return 503;
}

/* One line of "introeval routes". */
static bool
print_route(FILE *f, const char *method, const char *pattern, int roles,
    const char *csrf)
{
	static const struct { int bit; const char *name; } bits[] = {
		{ R_ANON, "anonymous" }, { R_STUDENT, "student" },
		{ R_TEACHER, "teacher" }, { R_ADMIN, "admin" },
	};
	json_t *line, *names = json_array();
	size_t i;
	bool ok;

	for (i = 0; i < ARRAY_LEN(bits); i++)
		if (roles & bits[i].bit)
			json_array_append_new(names, json_string(bits[i].name));
	line = json_pack("{s:s, s:s, s:o, s:s}", "method", method, "pattern",
	    pattern, "roles", names, "csrf", csrf);
	ok = line != NULL && json_dumpf(line, f, JSON_COMPACT |
	    JSON_SORT_KEYS) == 0 && fputc('\n', f) != EOF;
	json_decref(line);
	return ok;
}

bool
router_print_routes(FILE *f)
{
	static const char *const csrf_names[] = { "none", "header", "form" };
	size_t i;
	bool ok = true;

	for (i = 0; i < ARRAY_LEN(routes) && ok; i++)
		ok = print_route(f, routes[i].method, routes[i].pattern,
		    routes[i].roles, csrf_names[routes[i].csrf]);
	/*
	 * The WebSocket is CivetWeb's own handler (ws.c), outside the
	 * table: any session, and an Origin of this host instead of a token.
	 */
	return ok && print_route(f, "GET", WS_PATH, R_USER, "origin") &&
	    fflush(f) == 0;
}

void
router_stop(struct router *s)
{
	if (s == NULL)
		return;
	mg_stop(s->ctx);
	mg_exit_library();
	ratelimit_free(s->api_rate);
	free(s);
}

struct mg_context *
router_context(struct router *s)
{
	return s->ctx;
}

static int
log_civetweb(const struct mg_connection *conn, const char *message)
{
	log_warnx("civetweb: %s", message);
	return 1;
}

/*
 * Matches path against pattern segment by segment; a ":id" segment
 * (a positive integer) fills r->id, a ":uid" segment r->id2, a ":name"
 * segment (letters, digits, '.', '_', '-'; not starting with '.') r->name.
 */
static bool
match(const char *pattern, const char *path, struct req *r)
{
	size_t pl, sl;
	long long *slot, v;
	char *end;

	for (;;) {
		pl = strcspn(pattern, "/");
		sl = strcspn(path, "/");
		slot = pl == 3 && strncmp(pattern, ":id", 3) == 0 ? &r->id :
		    pl == 4 && strncmp(pattern, ":uid", 4) == 0 ? &r->id2 :
		    NULL;
		if (pl == 5 && strncmp(pattern, ":name", 5) == 0) {
			if (sl == 0 || sl >= sizeof(r->name) || path[0] == '.' ||
			    strspn(path, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") < sl)
				return false;
			memcpy(r->name, path, sl);
			r->name[sl] = '\0';
		} else if (slot != NULL) {
			if (sl == 0 || sl > 15 || path[0] < '1' ||
			    path[0] > '9' || strspn(path, "0123456789") != sl)
				return false;
			errno = 0;
			v = strtoll(path, &end, 10);
			if (errno != 0)
				return false;
			*slot = v;
		} else if (pl != sl || strncmp(pattern, path, pl) != 0)
			return false;
		if (pattern[pl] == '\0' || path[sl] == '\0')
			return pattern[pl] == path[sl];
		pattern += pl + 1;
		path += sl + 1;
	}
}

static bool
health_path(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(health_paths); i++)
		if (strcmp(path, health_paths[i]) == 0)
			return true;
	return false;
}

static int
role_bit(const char *role)
{
	if (strcmp(role, "student") == 0)
		return R_STUDENT;
	if (strcmp(role, "teacher") == 0)
		return R_TEACHER;
	if (strcmp(role, "admin") == 0)
		return R_ADMIN;
	return 0;
}

/*
 * The session from the cookie, or for scripts an Authorization header:
 * an API token ("ie_...") or a session token from POST /login. False
 * when the database could not tell (busy or down).
 */
static bool
find_session(struct req *r)
{
	bool dbfail = false;

	const char *cookie = mg_get_header(r->conn, "Cookie");
	const char *auth = mg_get_header(r->conn, "Authorization");

	r->token[0] = '\0';
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		r->authed = apitoken_authenticate(r->app->db, auth + 7,
		    &r->user, &r->apitoken, &dbfail);
		r->bearer = r->authed;
		/* pages.c's sign-out ends the session a token names. */
		if (r->authed && r->apitoken.id == 0)
			util_strlcpy(r->token, auth + 7, sizeof(r->token));
		return !dbfail;
	}
	if (cookie != NULL && mg_get_cookie(cookie, COOKIE_NAME, r->token,
	    sizeof(r->token)) >= 0 && r->token[0] != '\0')
		r->authed = auth_session(r->app->db, r->token, &r->user,
		    &dbfail);
	else
		r->token[0] = '\0';
	return !dbfail;
}

/*
 * Scripts (a request signed in by a bearer token: an API token, or a
 * session token) are paced per token or account; pages are not. 0: go
 * on; else the 429 sent.
 */
static int
rate_gate(struct router *s, struct req *r)
{
	char key[RATELIMIT_KEY_MAX + 1], hdr[96];
	int retry;

	if (!r->bearer)
		return 0;
	if (r->apitoken.id != 0)
		snprintf(key, sizeof(key), "t:%lld", r->apitoken.id);
	else
		snprintf(key, sizeof(key), "u:%lld", r->user.id);
	if (ratelimit_take(s->api_rate, key, util_monotonic(), &retry))
		return 0;
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\nCache-Control: "
	    "no-store\r\n", retry);
	return http_error_code(r, 429, "rate_limited", hdr, "too many "
	    "requests from this script; wait %d s (Retry-After) and go on",
	    retry);
}

/* A read-scope API token only reads. 0: go on; else the 403 sent. */
static int
token_gate(struct req *r)
{
	const char *m = r->ri->request_method;

	if (r->apitoken.id == 0 || !r->apitoken.read_only ||
	    strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return 0;
	return http_error_code(r, 403, "token_read_only", NULL, "this API "
	    "token may only read (GET and HEAD); make one with scope \"act\" "
	    "to change things");
}

/* The handler, under an Idempotency-Key for the API's POSTs. */
static int
run(struct req *r, const struct route *rt)
{
	if (strcmp(rt->method, "POST") != 0 || strncmp(rt->pattern,
	    "/api/v1/", 8) != 0)
		return rt->handler(r);
	/* A raw upload streams its body to disk: the handler reads it. */
	return idem_run(r, rt->handler, rt->handler == upload_submission);
}

/*
 * A change made with an API token goes to the audit log (refusals too,
 * but not the rate limit's: a flood would become one write a request),
 * written before the answer is sent (the on_answer hook), so a script
 * that has the answer finds the entry.
 */
static void
audit_token_use(struct req *r, int status)
{
	const char *m = r->ri->request_method;
	char subject[64], err[512];
	json_t *d;

	if (status == 429)
		return;
	snprintf(subject, sizeof(subject), "api token %lld", r->apitoken.id);
	d = json_pack("{s:I, s:s, s:s, s:s, s:i}", "token_id",
	    (json_int_t)r->apitoken.id, "token_name", r->apitoken.name,
	    "method", m, "path", r->ri->local_uri, "status", status);
	if (!audit_write(r->app->db, NULL, r->user.id, "api_token.request",
	    subject, d, err, sizeof(err)))
		log_warnx("audit: token=%lld %s %s: %s", r->apitoken.id, m,
		    r->ri->local_uri, err);
	json_decref(d);
}

/*
 * The request's id for every log line its thread writes: nginx's
 * X-Request-Id when it is a plain token, else a new random one. An
 * upload stores it with the submission, so the scheduler's lines for
 * that submission carry it too.
 */
static void
take_request_id(struct mg_connection *conn)
{
	const char *given = mg_get_header(conn, "X-Request-Id");
	unsigned char raw[8];
	char hex[2 * sizeof(raw) + 1];

	if (given != NULL && log_request_id_valid(given)) {
		log_set_request_id(given);
		return;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	log_set_request_id(hex);
}

static int
dispatch(struct mg_connection *conn, void *arg)
{
	int status;

	take_request_id(conn);
	status = dispatch_one(conn, arg);
	log_set_request_id(NULL);	/* the thread serves others next */
	return status;
}

static int
dispatch_one(struct mg_connection *conn, struct router *s)
{
	struct req r;
	const struct route *rt = NULL, *get = NULL;
	const char *method, *path;
	bool path_known = false, head;
	double t0 = util_monotonic();
	size_t i;
	int status;

	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.app = s->app;
	if ((path = r.ri->local_uri) == NULL)
		return http_error(&r, 400, "this request has no path");
	method = r.ri->request_method;
	head = strcmp(method, "HEAD") == 0;
	r.api = strncmp(path, "/api/", 5) == 0;
	if (s->health_only && !health_path(path))
		return http_error(&r, 404, "this is a worker: it runs the "
		    "scheduler and answers /healthz, /readyz and /metrics "
		    "only");
	if (strncmp(path, "/static/", 8) == 0 && (head ||
	    strcmp(method, "GET") == 0))
		return serve_static(&r, path + 8);

	if (!find_session(&r)) {
		status = http_db_error(&r);
		goto out;
	}
	if (r.apitoken.id != 0 && strcmp(method, "GET") != 0 && !head)
		r.on_answer = audit_token_use;
	if ((status = rate_gate(s, &r)) != 0)
		goto out;
	/* HEAD takes a HEAD route if there is one, else the GET route. */
	for (i = 0; i < ARRAY_LEN(routes) && rt == NULL; i++) {
		if (!match(routes[i].pattern, path, &r))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) == 0)
			rt = &routes[i];
		else if (head && get == NULL &&
		    strcmp(routes[i].method, "GET") == 0)
			get = &routes[i];
	}
	if (rt == NULL)
		rt = get;
	if (rt == NULL)
		status = path_known ? http_error(&r, 405, "this address does "
		    "not accept %s", r.ri->request_method) :
		    http_error(&r, 404, "there is nothing at this address");
	else if (!r.authed && !(rt->roles & R_ANON))
		status = r.api ? http_error(&r, 401, "sign in first") :
		    http_redirect(&r, "/login", NULL);
	else if (r.authed && !(rt->roles & (R_ANON | role_bit(r.user.role))))
		status = http_error(&r, 403, "your account may not do this");
	else if ((status = token_gate(&r)) == 0) {
		/*
		 * A browser attaches the cookie to cross-site requests, so a
		 * cookie session must also show the token only our pages
		 * know. A bearer token is never sent by a browser on its own,
		 * but other Authorization headers are (Basic, Negotiate
		 * behind a proxy that asks for them): only a request that
		 * was signed in by its bearer token skips the check.
		 */
		if (r.authed && !r.bearer && rt->csrf == CSRF_HEADER &&
		    (http_header(&r, "X-CSRF-Token") == NULL ||
		    !auth_token_equal(http_header(&r, "X-CSRF-Token"),
		    r.user.csrf)))
			status = http_error_code(&r, 403, "csrf_failed", NULL,
			    "this request did not come from an IntroEval page "
			    "(missing or wrong CSRF token); reload the page "
			    "and try again");
		else if ((status = submission_gate(&r, rt)) == 0)
			status = run(&r, rt);
	}
out:
	log_info("http %s %s status=%d user=%lld token=%lld ms=%.1f",
	    r.ri->request_method, path, status, r.authed ? r.user.id : 0,
	    r.apitoken.id, (util_monotonic() - t0) * 1000);
	return status > 0 ? status : 500;
}

/*
 * Every route on one submission answers only those it is visible to
 * (submission_visible: the student, their courses' teachers, admins);
 * to anyone else it does not exist. 0: go on; else the status sent.
 */
static int
submission_gate(struct req *r, const struct route *rt)
{
	char err[512];
	bool visible;

	if (!r->authed || strstr(rt->pattern, "/submissions/:id") == NULL)
		return 0;
	if (!submission_visible(r->app->db, r->id, r->user.id, r->user.role,
	    &visible, err, sizeof(err)))
		return http_db_error(r);
	return visible ? 0 : http_error(r, 404, "no such submission");
}

static const char *
static_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".woff2", "font/woff2" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/*
 * Files directly under static/ whose names are plain (letters, digits,
 * '-', '_', one '.'), so no request can name anything else on disk.
 */
static int
serve_static(struct req *r, const char *name)
{
	char path[1024], etag[64], hdr[256];
	const char *type = static_type(name), *inm;
	struct stat st;
	char *data = NULL;
	ssize_t n = 0;
	int fd = -1, rc;

	rc = 404;
	if (name[0] == '\0' || name[0] == '.' || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
	    != strlen(name) || strstr(name, "..") != NULL || type == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/%s", r->app->static_dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0
	    || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX)
		goto out;
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_size, (unsigned long long)st.st_mtime);
	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: public, "
	    "max-age=300, must-revalidate\r\n", etag);
	inm = http_header(r, "If-None-Match");
	rc = 500;
	if (inm != NULL && strcmp(inm, etag) == 0)
		rc = 304;
	else {
		data = xmalloc((size_t)st.st_size + 1);
		if ((n = read(fd, data, (size_t)st.st_size)) == st.st_size)
			rc = 200;
	}
out:
	if (fd >= 0)
		close(fd);
	switch (rc) {
	case 200:
		rc = http_send(r, 200, type, data, (size_t)n, hdr);
		break;
	case 304:
		rc = http_send(r, 304, type, "", 0, hdr);
		break;
	case 404:
		rc = http_error(r, 404, "there is nothing at this address");
		break;
	default:
		rc = http_error(r, 500, "could not read a static file");
	}
	free(data);
	return rc;
}
