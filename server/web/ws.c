/*
 * ws: the WebSocket hub's sockets (see ws.h and ws_impl.h).
 *
 * A socket is signed in when it opens (the session cookie or a bearer
 * token, checked like any request, plus an Origin check against
 * cross-site pages) and may then subscribe:
 *
 *   course:ID      the course's teachers and admins
 *   submission:ID  its student, teachers and admins
 *   mine           a student's own submissions
 *   system         admins and teachers (read-only, like every topic)
 *   job:ID         a job's progress: staff who may see its course
 *
 * Every subscription is checked against the session when it is made, and
 * every event is checked again when it is routed (a student's socket is
 * only ever sent that student's submissions), so a bug in one check does
 * not leak another student's work.
 */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>
#include <jansson.h>

#include "apitoken.h"
#include "app.h"
#include "course.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "submission.h"
#include "util.h"
#include "ws_impl.h"

#define COOKIE_NAME	"introeval_session"
#define MSG_MAX		4096	/* longest message a client may send */

enum topic_kind { TOPIC_COURSE, TOPIC_SUBMISSION, TOPIC_MINE, TOPIC_SYSTEM,
	TOPIC_JOB };

static int	 on_connect(const struct mg_connection *, void *);
static void	 on_ready(struct mg_connection *, void *);
static int	 on_data(struct mg_connection *, int, char *, size_t, void *);
static void	 on_close(const struct mg_connection *, void *);
static void	 reject(const struct mg_connection *, int, const char *);
static bool	 origin_ok(const struct mg_connection *);
static void	 find_token(const struct mg_connection *, char *, size_t);
static void	 handle_message(struct ws_hub *, struct ws_client *,
		    json_t *);
static bool	 parse_topic(const char *, enum topic_kind *, long long *);
static bool	 authorize(struct ws_hub *, struct ws_client *,
		    enum topic_kind, long long, char *, size_t);
static void	 subscribe(struct ws_hub *, struct ws_client *, const char *,
		    json_t *);
static void	 unsubscribe(struct ws_client *, enum topic_kind, long long);
static bool	 add_sub(struct ws_client *, enum topic_kind, long long);
static void	 send_backlog(struct ws_hub *, struct ws_client *,
		    enum topic_kind, long long, long long);
static void	 send_system(struct ws_hub *, struct ws_client *);
static void	 send_text(struct ws_client *, const char *);
static void	 send_json(struct ws_client *, json_t *);
static bool	 has(const long long *, int, long long);
static bool	 wants(const struct ws_client *, const struct events_row *);

struct ws_hub *
ws_start(struct app *app, struct mg_context *ctx, char *err, size_t errlen)
{
	struct ws_hub *hub = xcalloc(1, sizeof(*hub));

	hub->app = app;
	pthread_mutex_init(&hub->lock, NULL);
	if (!ws_listen_start(hub, err, errlen)) {
		pthread_mutex_destroy(&hub->lock);
		free(hub);
		return NULL;
	}
	mg_set_websocket_handler(ctx, WS_PATH "$", on_connect, on_ready, on_data,
	    on_close, hub);
	__atomic_store_n(&app->ws, hub, __ATOMIC_RELEASE);
	log_info("ws: hub at %s", WS_PATH);
	return hub;
}

void
ws_stop(struct ws_hub *hub)
{
	struct ws_client *cl, *next;

	if (hub == NULL)
		return;
	__atomic_store_n(&hub->app->ws, NULL, __ATOMIC_RELEASE);
	ws_listen_stop(hub);
	/* Only clients whose close handler never ran are left. */
	for (cl = hub->clients; cl != NULL; cl = next) {
		next = cl->next;
		free(cl);
	}
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

void
ws_close_all(struct ws_hub *hub)
{
	/* 1012 "service restart", then the hint as the close reason. */
	static const char frame[] = "\x03\xf4" WS_RESTART_REASON;
	struct ws_client *cl;
	int n = 0;

	if (hub == NULL)
		return;
	pthread_mutex_lock(&hub->lock);
	for (cl = hub->clients; cl != NULL; cl = cl->next) {
		if (cl->dead)
			continue;
		mg_websocket_write(cl->conn,
		    MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, frame,
		    sizeof(frame) - 1);
		cl->dead = true;
		n++;
	}
	pthread_mutex_unlock(&hub->lock);
	log_info("ws: closed %d socket(s) with 1012 (restarting)", n);
}

int
ws_clients(const struct ws_hub *hub)
{
	return hub == NULL ? 0 : __atomic_load_n(&hub->nclients,
	    __ATOMIC_RELAXED);
}

/*
 * CivetWeb gives the connect handler a const connection, but the
 * handshake has not been answered yet, so a plain HTTP refusal is the
 * clearest answer a client can get (a browser sees a failed socket).
 */
static void
reject(const struct mg_connection *conn, int status, const char *why)
{
	struct mg_connection *c = (struct mg_connection *)conn;

	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s", status,
	    mg_get_response_code_text(c, status), strlen(why),
	    status == 503 ? "Retry-After: 5\r\n" : "", why);
}

/* A browser names the page's origin; it must be this very host. */
static bool
origin_ok(const struct mg_connection *conn)
{
	const char *origin = mg_get_header(conn, "Origin");
	const char *host = mg_get_header(conn, "Host");
	const char *p;

	if (origin == NULL)
		return true;	/* not a browser */
	if (host == NULL || (p = strstr(origin, "://")) == NULL)
		return false;
	return strcasecmp(p + 3, host) == 0;
}

static void
find_token(const struct mg_connection *conn, char *token, size_t len)
{
	const char *auth = mg_get_header(conn, "Authorization");
	const char *cookie = mg_get_header(conn, "Cookie");

	token[0] = '\0';
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		util_strlcpy(token, auth + 7, len);
	else if (cookie == NULL || mg_get_cookie(cookie, COOKIE_NAME, token,
	    len) < 0)
		token[0] = '\0';
}

static int
on_connect(const struct mg_connection *conn, void *arg)
{
	struct ws_hub *hub = arg;
	struct ws_client *cl;
	struct apitoken tok;
	bool dbfail = false;

	/*
	 * Checked before the session (no database work for a refusal); a
	 * few upgrades racing past it are bounded by the threads anyway.
	 */
	if (ws_limit_full(hub)) {
		log_info("ws: refused: %d sockets open, the limit",
		    ws_clients(hub));
		reject(conn, 503, "the server has too many open live pages; "
		    "try again in a minute\n");
		return 1;
	}
	if (!origin_ok(conn)) {
		reject(conn, 403, "this page may not open IntroEval's live "
		    "updates\n");
		return 1;
	}
	cl = xcalloc(1, sizeof(*cl));
	find_token(conn, cl->token, sizeof(cl->token));
	if (cl->token[0] == '\0' || !apitoken_authenticate(hub->app->db,
	    cl->token, &cl->user, &tok, &dbfail)) {
		free(cl);
		/* An outage is not a sign-out: the page must not drop it. */
		if (dbfail)
			reject(conn, 503, "the database is unavailable; try "
			    "again shortly\n");
		else
			reject(conn, 401, "sign in first\n");
		return 1;
	}
	cl->student = strcmp(cl->user.role, "student") == 0;
	cl->admin = strcmp(cl->user.role, "admin") == 0;
	ws_limit_note_peer(cl, conn);
	mg_set_user_connection_data(conn, cl);
	return 0;
}

static void
on_ready(struct mg_connection *conn, void *arg)
{
	struct ws_hub *hub = arg;
	struct ws_client *cl = mg_get_user_connection_data(conn);
	int n;

	if (cl == NULL)
		return;
	cl->conn = conn;
	pthread_mutex_lock(&hub->lock);
	cl->serial = ++hub->next_serial;
	cl->next = hub->clients;
	hub->clients = cl;
	n = __atomic_add_fetch(&hub->nclients, 1, __ATOMIC_RELAXED);
	send_json(cl, json_pack("{s:s, s:I, s:s}", "type", "hello",
	    "user_id", (json_int_t)cl->user.id, "role", cl->user.role));
	ws_limit_user(hub, cl);
	pthread_mutex_unlock(&hub->lock);
	log_debug("ws: open user=%lld clients=%d", cl->user.id, n);
}

static void
on_close(const struct mg_connection *conn, void *arg)
{
	struct ws_hub *hub = arg;
	struct ws_client *cl = mg_get_user_connection_data(conn), **pp;

	if (cl == NULL)
		return;
	pthread_mutex_lock(&hub->lock);
	for (pp = &hub->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			__atomic_sub_fetch(&hub->nclients, 1,
			    __ATOMIC_RELAXED);
			break;
		}
	pthread_mutex_unlock(&hub->lock);
	mg_set_user_connection_data(conn, NULL);
	log_debug("ws: closed user=%lld", cl->user.id);
	free(cl);
}

static int
on_data(struct mg_connection *conn, int bits, char *data, size_t len,
    void *arg)
{
	struct ws_hub *hub = arg;
	struct ws_client *cl = mg_get_user_connection_data(conn);
	int opcode = bits & 0x0f;
	json_t *msg;

	if (cl == NULL || cl->dead ||
	    opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
		return 0;
	if (opcode != MG_WEBSOCKET_OPCODE_TEXT)
		return 1;
	if (len > MSG_MAX || !(bits & 0x80)) {
		pthread_mutex_lock(&hub->lock);
		send_json(cl, json_pack("{s:s, s:s}", "type", "error",
		    "error", "messages are single frames of at most 4 KiB"));
		pthread_mutex_unlock(&hub->lock);
		return 1;
	}
	msg = json_loadb(data, len, 0, NULL);
	handle_message(hub, cl, msg);
	json_decref(msg);
	return cl->dead ? 0 : 1;
}

static void
handle_message(struct ws_hub *hub, struct ws_client *cl, json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *topic = json_string_value(json_object_get(msg, "topic"));
	enum topic_kind kind;
	long long key;

	if (type != NULL && strcmp(type, "subscribe") == 0 && topic != NULL) {
		subscribe(hub, cl, topic, json_object_get(msg, "since"));
		return;
	}
	pthread_mutex_lock(&hub->lock);
	if (type != NULL && strcmp(type, "unsubscribe") == 0 &&
	    topic != NULL && parse_topic(topic, &kind, &key))
		unsubscribe(cl, kind, key);
	else if (type != NULL && strcmp(type, "ping") == 0)
		send_json(cl, json_pack("{s:s}", "type", "pong"));
	else
		send_json(cl, json_pack("{s:s, s:s}", "type", "error", "error",
		    "send {\"type\": \"subscribe\", \"topic\": T, \"since\": "
		    "VERSION}"));
	pthread_mutex_unlock(&hub->lock);
}

static bool
parse_topic(const char *topic, enum topic_kind *kind, long long *key)
{
	const char *num = NULL;
	char *end;

	*key = 0;
	if (strcmp(topic, "mine") == 0)
		*kind = TOPIC_MINE;
	else if (strcmp(topic, "system") == 0)
		*kind = TOPIC_SYSTEM;
	else if (strncmp(topic, "course:", 7) == 0) {
		*kind = TOPIC_COURSE;
		num = topic + 7;
	} else if (strncmp(topic, "submission:", 11) == 0) {
		*kind = TOPIC_SUBMISSION;
		num = topic + 11;
	} else if (strncmp(topic, "job:", 4) == 0) {
		*kind = TOPIC_JOB;
		num = topic + 4;
	} else
		return false;
	if (num == NULL)
		return true;
	if (*num < '1' || *num > '9' || strlen(num) > 15)
		return false;
	*key = strtoll(num, &end, 10);
	return *end == '\0';
}

/* May this socket's user see the topic? why: a sentence when not. */
static bool
authorize(struct ws_hub *hub, struct ws_client *cl, enum topic_kind kind,
    long long key, char *why, size_t whylen)
{
	char err[512];
	long long owner = 0;
	bool ok = false, found = false;

	switch (kind) {
	case TOPIC_MINE:
		return true;
	case TOPIC_SYSTEM:
		if (cl->student)
			return util_seterr(why, whylen, "students do not see "
			    "the system");
		return true;
	case TOPIC_COURSE:
		if (!course_access(hub->app->db, key, &cl->user, &ok, err,
		    sizeof(err)))
			return util_seterr(why, whylen, "the database is not "
			    "answering");
		if (!ok)
			return util_seterr(why, whylen, "no such course");
		return true;
	case TOPIC_SUBMISSION:
		/* One that may not be seen looks like a missing one. */
		if (!submission_visible(hub->app->db, key, cl->user.id,
		    cl->user.role, &ok, err, sizeof(err)))
			return util_seterr(why, whylen, "the database is not "
			    "answering");
		if (!ok)
			return util_seterr(why, whylen, "no such submission");
		return true;
	case TOPIC_JOB:
		/* A job is seen by whoever sees its course, as staff. */
		if (cl->student)
			return util_seterr(why, whylen, "no such job");
		if (!jobs_course(hub->app->db, key, &owner, &found, err,
		    sizeof(err)) || (found && !course_access(hub->app->db,
		    owner, &cl->user, &ok, err, sizeof(err))))
			return util_seterr(why, whylen, "the database is not "
			    "answering");
		if (!found || !ok)
			return util_seterr(why, whylen, "no such job");
		return true;
	}
	return false;
}

static bool
add_sub(struct ws_client *cl, enum topic_kind kind, long long key)
{
	long long *arr = kind == TOPIC_COURSE ? cl->courses :
	    kind == TOPIC_JOB ? cl->jobs : cl->subs;
	int *n = kind == TOPIC_COURSE ? &cl->ncourses :
	    kind == TOPIC_JOB ? &cl->njobs : &cl->nsubs;

	if (kind == TOPIC_MINE)
		cl->mine = true;
	else if (kind == TOPIC_SYSTEM)
		cl->system = true;
	else if (!has(arr, *n, key)) {
		if (*n >= WS_MAX_TOPICS)
			return false;
		arr[(*n)++] = key;
	}
	return true;
}

static void
unsubscribe(struct ws_client *cl, enum topic_kind kind, long long key)
{
	long long *arr = kind == TOPIC_COURSE ? cl->courses :
	    kind == TOPIC_JOB ? cl->jobs : cl->subs;
	int *n = kind == TOPIC_COURSE ? &cl->ncourses :
	    kind == TOPIC_JOB ? &cl->njobs : &cl->nsubs;
	int i;

	if (kind == TOPIC_MINE)
		cl->mine = false;
	else if (kind == TOPIC_SYSTEM)
		cl->system = false;
	else
		for (i = 0; i < *n; i++)
			if (arr[i] == key) {
				arr[i] = arr[--(*n)];
				break;
			}
}

/*
 * The backlog is read and sent under the hub's lock, after the
 * subscription is in place: a fan-out cannot slip between them, so the
 * client sees the backlog in version order and then every later event
 * (some perhaps twice, which the version lets it ignore).
 */
static void
subscribe(struct ws_hub *hub, struct ws_client *cl, const char *topic,
    json_t *since)
{
	enum topic_kind kind = TOPIC_MINE;
	long long key = 0;
	char why[256];
	bool ok;

	if (!parse_topic(topic, &kind, &key))
		ok = util_seterr(why, sizeof(why), "unknown topic");
	else
		ok = authorize(hub, cl, kind, key, why, sizeof(why));
	pthread_mutex_lock(&hub->lock);
	if (ok && !add_sub(cl, kind, key)) {
		ok = false;
		util_seterr(why, sizeof(why), "at most %d topics of a kind",
		    WS_MAX_TOPICS);
	}
	if (!ok) {
		log_info("ws: refused user=%lld topic=%s: %s", cl->user.id,
		    topic, why);
		send_json(cl, json_pack("{s:s, s:s, s:s}", "type", "error",
		    "topic", topic, "error", why));
	} else {
		if (kind == TOPIC_SYSTEM)
			send_system(hub, cl);
		else if (kind == TOPIC_JOB)
			/* No backlog: the page reads the job when told. */
			send_json(cl, json_pack("{s:s, s:I}", "type", "job",
			    "id", (json_int_t)key));
		else if (json_is_integer(since))
			send_backlog(hub, cl, kind, kind == TOPIC_MINE ?
			    cl->user.id : key, json_integer_value(since));
		send_json(cl, json_pack("{s:s, s:s, s:I}", "type",
		    "subscribed", "topic", topic, "version",
		    (json_int_t)hub->high_water));
	}
	pthread_mutex_unlock(&hub->lock);
}

static void
send_backlog(struct ws_hub *hub, struct ws_client *cl, enum topic_kind kind,
    long long key, long long since)
{
	static const enum events_topic map[] = {
		[TOPIC_COURSE] = EVENTS_COURSE,
		[TOPIC_SUBMISSION] = EVENTS_SUBMISSION,
		[TOPIC_MINE] = EVENTS_STUDENT,
	};
	struct events_row *rows;
	char err[512];
	int i, n;
	PGconn *c = db_acquire(hub->app->db);
	bool ok = events_since(c, map[kind], key, since > WS_RESYNC_OVERLAP ?
	    since - WS_RESYNC_OVERLAP : 0, WS_RESYNC_LIMIT, &rows, &n, err,
	    sizeof(err));

	db_release(hub->app->db, c);
	if (!ok) {
		log_warnx("ws: backlog: %s", err);
		send_json(cl, json_pack("{s:s, s:s}", "type", "error", "error",
		    "the database is unavailable; reload the page"));
		return;
	}
	for (i = 0; i < n; i++)
		if (wants(cl, &rows[i]))
			send_text(cl, rows[i].json);
	events_rows_free(rows, n);
}

static void
send_system(struct ws_hub *hub, struct ws_client *cl)
{
	char err[512], *text;
	PGconn *c = db_acquire(hub->app->db);

	text = events_system(c, err, sizeof(err));
	db_release(hub->app->db, c);
	if (text == NULL)
		log_warnx("ws: system: %s", err);
	else
		send_text(cl, text);
	free(text);
}

static void
send_text(struct ws_client *cl, const char *text)
{
	if (cl->dead)
		return;
	if (mg_websocket_write(cl->conn, MG_WEBSOCKET_OPCODE_TEXT, text,
	    strlen(text)) <= 0)
		cl->dead = true;
}

static void
send_json(struct ws_client *cl, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (text != NULL)
		send_text(cl, text);
	free(text);
	json_decref(j);
}

static bool
has(const long long *arr, int n, long long v)
{
	int i;

	for (i = 0; i < n; i++)
		if (arr[i] == v)
			return true;
	return false;
}

/* The routing rule; a student only ever gets their own submissions. */
static bool
wants(const struct ws_client *cl, const struct events_row *row)
{
	int i;

	if (cl->student)
		return row->student_id == cl->user.id && (cl->mine ||
		    has(cl->subs, cl->nsubs, row->id));
	if (has(cl->subs, cl->nsubs, row->id))
		return true;
	for (i = 0; i < row->ncourses; i++)
		if (has(cl->courses, cl->ncourses, row->courses[i]))
			return true;
	return false;
}

void
ws_fanout_submission(struct ws_hub *hub, const struct events_row *row)
{
	struct ws_client *cl;

	for (cl = hub->clients; cl != NULL; cl = cl->next)
		if (wants(cl, row))
			send_text(cl, row->json);
	if (row->version > hub->high_water)
		hub->high_water = row->version;
}

void
ws_fanout_job(struct ws_hub *hub, long long job, const char *json)
{
	struct ws_client *cl;

	for (cl = hub->clients; cl != NULL; cl = cl->next)
		if (!cl->student && has(cl->jobs, cl->njobs, job))
			send_text(cl, json);
}

void
ws_fanout_system(struct ws_hub *hub, const char *json)
{
	struct ws_client *cl;

	for (cl = hub->clients; cl != NULL; cl = cl->next)
		if (cl->system && !cl->student)
			send_text(cl, json);
}

/*
 * A socket outlives neither its session nor its account: every minute
 * each distinct token is looked up again (outside the lock), and sockets
 * whose session ended get a close frame and nothing more.
 */
void
ws_check_sessions(struct ws_hub *hub)
{
	struct ws_client *cl;
	struct user u;
	struct apitoken tok;
	char (*tokens)[AUTH_TOKEN_LEN + 1];
	bool *valid, dbfail;
	int i, n = 0, cap;

	pthread_mutex_lock(&hub->lock);
	cap = hub->nclients + 1;
	tokens = xcalloc((size_t)cap, sizeof(*tokens));
	for (cl = hub->clients; cl != NULL && n < cap; cl = cl->next) {
		for (i = 0; i < n && strcmp(tokens[i], cl->token) != 0; i++)
			;
		if (i == n)
			util_strlcpy(tokens[n++], cl->token, sizeof(*tokens));
	}
	pthread_mutex_unlock(&hub->lock);
	valid = xcalloc((size_t)n + 1, sizeof(*valid));
	/* A database that cannot answer ends no session (issue 15). */
	for (i = 0; i < n; i++)
		valid[i] = apitoken_authenticate(hub->app->db, tokens[i], &u,
		    &tok, &dbfail) || dbfail;
	pthread_mutex_lock(&hub->lock);
	for (cl = hub->clients; cl != NULL; cl = cl->next)
		for (i = 0; i < n; i++)
			if (!valid[i] && !cl->dead &&
			    strcmp(tokens[i], cl->token) == 0) {
				log_info("ws: session ended user=%lld",
				    cl->user.id);
				ws_close_client(cl, WS_CLOSE_SESSION,
				    "your session ended");
			}
	pthread_mutex_unlock(&hub->lock);
	free(tokens);
	free(valid);
}
