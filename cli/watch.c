/*
 * watch: follows submissions live over the WebSocket /ws (server/web/ws.c)
 * with libwebsockets, one line per change, until every one is completed
 * or failed (exit 0, or 1 when any failed).
 *
 * Nothing final may be missed, across drops and server restarts:
 *   - the socket subscribes first and only then reads each unfinished
 *     submission's state over REST, so a change between the two arrives
 *     as an event;
 *   - every event's version is remembered; after a drop it reconnects
 *     (0.5 s doubling to 5 s) and subscribes with "since" the highest
 *     version seen, so the hub sends what changed meanwhile, and then
 *     reads the REST state again, which is authoritative;
 *   - a final state is kept: an older event arriving late does not undo
 *     it.
 * Students subscribe to "mine"; staff to "submission:ID" for each (at
 * most 16) or to "course:ID" with --course, which also picks up uploads
 * made while it watches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "ctl.h"

#define MAX_TOPICS	16	/* the hub's limit per kind and socket */
#define MSG_LIMIT	(1024 * 1024)

struct item {
	long long	 id;
	long long	 version;
	char		 name[160];	/* student and file, for the line */
	char		 shown[600];	/* the state last printed */
	bool		 final, failed;
	bool		 unnamed;	/* met in an event: read it once */
};

enum wstate { W_CLOSED, W_CONNECTING, W_OPEN };

struct watch {
	struct ctl		*c;
	struct lws_context	*ctx;
	struct lws		*wsi;
	enum wstate		 st;
	long long		 course;	/* 0: submissions by id */
	bool			 student;
	struct item		*items;
	size_t			 n, cap;
	char			 topics[MAX_TOPICS][48];
	int			 ntopics, sent, subscribed;
	long long		 since;		/* highest version seen */
	bool			 resync;	/* read REST once subscribed */
	char			*msg;
	size_t			 mlen;
	double			 next_try, backoff, next_resync;
	bool			 dropped;	/* said "reconnecting" */
	bool			 finished;	/* closing: no reconnection */
	char			 host[256], path[300];
	int			 port;
	bool			 tls;
	lws_sorted_usec_list_t	 tick;
};

static double	 now_s(void);
static struct item *find(struct watch *, long long);
static struct item *add(struct watch *, long long);
static void	 apply(struct watch *, struct item *, json_t *, bool);
static bool	 refresh(struct watch *);
static bool	 refresh_one(struct watch *, struct item *);
static bool	 refresh_course(struct watch *);
static void	 on_message(struct watch *);
static int	 callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);
static bool	 parse_url(struct watch *);
static void	 connect_ws(struct watch *);
static void	 on_tick(lws_sorted_usec_list_t *);
static bool	 all_final(struct watch *, int *);
static bool	 signed_in(struct watch *);
static int	 setup(struct watch *);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct item *
find(struct watch *w, long long id)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->items[i].id == id)
			return &w->items[i];
	return NULL;
}

static struct item *
add(struct watch *w, long long id)
{
	struct item *it;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		if ((it = realloc(w->items, w->cap * sizeof(*it))) == NULL) {
			ctl_warnx("watch: out of memory");
			exit(CTL_FAILED);
		}
		w->items = it;
	}
	it = &w->items[w->n++];
	memset(it, 0, sizeof(*it));
	it->id = id;
	return it;
}

/*
 * A state from an event (with its version) or from REST (authoritative,
 * without one); prints a line when what it says changed.
 */
static void
apply(struct watch *w, struct item *it, json_t *s, bool event)
{
	const char *status = json_string_value(json_object_get(s, "status"));
	const char *who = json_string_value(json_object_get(s,
	    "student_name"));
	const char *file = json_string_value(json_object_get(s,
	    "original_name"));
	long long v = json_integer_value(json_object_get(s, "version"));
	char state[600];

	if (event && v > 0 && v <= it->version)
		return;		/* a late or repeated event */
	if (it->final && !ctl_state_final(status))
		return;		/* final is final for a watch */
	if (v > it->version)
		it->version = v;
	if (file != NULL || (who != NULL && it->name[0] == '\0'))
		snprintf(it->name, sizeof(it->name), "%s%s%s", who ? who : "",
		    who && file ? ", " : "", file ? file : "");
	ctl_state_text(s, state, sizeof(state));
	it->final = ctl_state_final(status);
	it->failed = status != NULL && strcmp(status, "failed") == 0;
	if (strcmp(state, it->shown) == 0)
		return;
	snprintf(it->shown, sizeof(it->shown), "%s", state);
	if (w->c->o->json)
		ctl_print_json(w->c, json_pack("{s:s, s:I, s:O?, s:O?, s:O?, "
		    "s:O?, s:O?, s:O?, s:b}", "type", "submission", "id",
		    (json_int_t)it->id, "student_name", json_object_get(s,
		    "student_name"), "phase", json_object_get(s, "phase"),
		    "status", json_object_get(s, "status"), "stt_progress",
		    json_object_get(s, "stt_progress"), "overall",
		    json_object_get(s, "overall"), "error", json_object_get(s,
		    "error"), "final", it->final));
	else {
		fprintf(w->c->out, "%lld %s: %s\n", it->id, it->name, state);
		fflush(w->c->out);
	}
}

static bool
refresh_one(struct watch *w, struct item *it)
{
	char path[64];
	json_t *s;
	int code;

	snprintf(path, sizeof(path), "/api/v1/submissions/%lld", it->id);
	if ((s = ctl_get_json(w->c, path, &code)) == NULL)
		return false;
	apply(w, it, s, false);
	json_decref(s);
	return true;
}

/* The course's unfinished uploads that count, new ones included. */
static bool
refresh_course(struct watch *w)
{
	char path[80];
	json_t *j, *row, *id;
	size_t i;
	int code;

	snprintf(path, sizeof(path), "/api/v1/courses/%lld/progress",
	    w->course);
	if ((j = ctl_get_json(w->c, path, &code)) == NULL)
		return false;
	json_array_foreach(json_object_get(j, "rows"), i, row) {
		id = json_object_get(row, "id");
		if (!json_is_integer(id) || find(w, json_integer_value(id)) ||
		    ctl_state_final(json_string_value(json_object_get(row,
		    "status"))))
			continue;
		add(w, json_integer_value(id));
	}
	json_decref(j);
	return true;
}

static bool
refresh(struct watch *w)
{
	size_t i;

	if (w->course > 0 && !refresh_course(w))
		return false;
	for (i = 0; i < w->n; i++)
		if (!w->items[i].final && !refresh_one(w, &w->items[i]))
			return false;
	return true;
}

static void
on_message(struct watch *w)
{
	json_t *m = json_loadb(w->msg, w->mlen, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));
	long long id, v;
	struct item *it;
	const char *topic;
	char why[300];

	w->mlen = 0;
	if (type == NULL)
		goto out;
	if (strcmp(type, "subscribed") == 0) {
		v = json_integer_value(json_object_get(m, "version"));
		if (v > w->since)
			w->since = v;
		if (++w->subscribed == w->ntopics) {
			w->resync = true;
			if (w->dropped)
				ctl_warnx("watch: reconnected");
			w->dropped = false;
		}
	} else if (strcmp(type, "error") == 0) {
		if (!ctl_error_text(json_object_get(m, "error"), why,
		    sizeof(why)))
			snprintf(why, sizeof(why), "refused");
		topic = json_string_value(json_object_get(m, "topic"));
		ctl_warnx("watch: %s%s%s", topic ? topic : "", topic ? ": " : "",
		    why);
	} else if (strcmp(type, "submission") == 0) {
		id = json_integer_value(json_object_get(m, "id"));
		v = json_integer_value(json_object_get(m, "version"));
		if (v > w->since)
			w->since = v;
		if ((it = find(w, id)) == NULL && w->course > 0 &&
		    json_integer_value(json_object_get(m, "course_id")) ==
		    w->course) {
			it = add(w, id);
			it->unnamed = true;
		}
		if (it != NULL)
			apply(w, it, m, true);
	}
out:
	json_decref(m);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct watch *w = lws_context_user(lws_get_context(wsi));
	unsigned char buf[LWS_PRE + 160], **p, *end;
	char auth[300];
	int n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		p = (unsigned char **)in;
		end = *p + len;
		n = snprintf(auth, sizeof(auth), "Bearer %s", w->c->token);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)
		    "authorization:", (const unsigned char *)auth, n, p, end))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->st = W_OPEN;
		w->sent = w->subscribed = 0;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (w->sent >= w->ntopics)
			break;
		if (w->since > 0)
			n = snprintf((char *)buf + LWS_PRE, sizeof(buf) -
			    LWS_PRE, "{\"type\":\"subscribe\",\"topic\":\"%s\","
			    "\"since\":%lld}", w->topics[w->sent], w->since);
		else
			n = snprintf((char *)buf + LWS_PRE, sizeof(buf) -
			    LWS_PRE, "{\"type\":\"subscribe\",\"topic\":\"%s\"}",
			    w->topics[w->sent]);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) <
		    n)
			return -1;
		if (++w->sent < w->ntopics)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (w->mlen + len < MSG_LIMIT) {
			char *nb = realloc(w->msg, w->mlen + len + 1);

			if (nb == NULL)
				return -1;
			w->msg = nb;
			memcpy(w->msg + w->mlen, in, len);
			w->mlen += len;
		}
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0)
			on_message(w);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (w->finished)
			break;
		if (!w->dropped)
			ctl_warnx("watch: %s; reconnecting",
			    reason == LWS_CALLBACK_CLIENT_CLOSED ?
			    "the connection closed" : (in != NULL && len > 0 ?
			    (const char *)in : "cannot connect"));
		w->dropped = true;
		w->wsi = NULL;
		w->st = W_CLOSED;
		w->resync = false;
		w->mlen = 0;
		w->next_try = now_s() + w->backoff;
		w->backoff = w->backoff * 2 > 5 ? 5 : w->backoff * 2;
		break;
	default:
		break;
	}
	return 0;
}

/* http(s)://host[:port][/prefix] -> the WebSocket's host, port, path. */
static bool
parse_url(struct watch *w)
{
	char copy[512];
	const char *prot, *ads, *path;

	snprintf(copy, sizeof(copy), "%s", w->c->url);
	if (lws_parse_uri(copy, &prot, &ads, &w->port, &path) != 0)
		return false;
	w->tls = strcmp(prot, "https") == 0;
	if (!w->tls && strcmp(prot, "http") != 0)
		return false;
	snprintf(w->host, sizeof(w->host), "%s", ads);
	snprintf(w->path, sizeof(w->path), "/%s%sws", path, path[0] &&
	    path[strlen(path) - 1] != '/' ? "/" : "");
	return true;
}

static void
connect_ws(struct watch *w)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = w->ctx;
	ci.address = w->host;
	ci.port = w->port;
	ci.path = w->path;
	ci.host = w->host;
	ci.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0;
	ci.ietf_version_or_minus_one = -1;
	ci.pwsi = &w->wsi;
	w->st = W_CONNECTING;
	if (lws_client_connect_via_info(&ci) == NULL && w->st ==
	    W_CONNECTING) {
		w->st = W_CLOSED;
		w->next_try = now_s() + w->backoff;
	}
}

/* lws_service sleeps until something happens: wake it now and then. */
static void
on_tick(lws_sorted_usec_list_t *sul)
{
	struct watch *w = lws_container_of(sul, struct watch, tick);

	lws_sul_schedule(w->ctx, 0, sul, on_tick, 100 * LWS_US_PER_MS);
}

/*
 * Before a reconnection: a socket refused or closed because the session
 * ended (signed out, expired, revoked: 401) is not retried for ever. An
 * unreachable server is; it is what a restart looks like.
 */
static bool
signed_in(struct watch *w)
{
	struct ctl_req req = { .method = "GET", .path = "/api/v1/me" };
	struct ctl_resp r;
	bool ok = true;

	if (!w->dropped)
		return true;
	if (ctl_http(w->c, &req, &r) && r.status == 401) {
		ctl_warnx("watch: the session has ended (HTTP 401); sign in "
		    "again with \"introevalctl login\"");
		ok = false;
	}
	ctl_resp_free(&r);
	return ok;
}

static bool
all_final(struct watch *w, int *failed)
{
	size_t i;
	bool all = true;

	*failed = 0;
	for (i = 0; i < w->n; i++) {
		all = all && w->items[i].final;
		*failed += w->items[i].failed;
	}
	return all;
}

/* What to watch, from the command line and one read of each. */
static int
setup(struct watch *w)
{
	struct ctl *c = w->c;
	const char *role;
	json_t *me;
	long long id;
	int i, code;

	if ((me = ctl_get_json(c, "/api/v1/me", &code)) == NULL)
		return code;
	role = json_string_value(json_object_get(me, "role"));
	w->student = role != NULL && strcmp(role, "student") == 0;
	json_decref(me);
	if (c->o->course != NULL) {
		if (c->o->nargs > 0 || !ctl_read_id(c->o->course, &w->course)) {
			ctl_warnx("watch: give either --course ID (a number) "
			    "or submission numbers");
			return CTL_USAGE;
		}
		snprintf(w->topics[0], sizeof(w->topics[0]), "course:%lld",
		    w->course);
		w->ntopics = 1;
		return refresh(w) ? CTL_OK : CTL_FAILED;
	}
	if (c->o->nargs == 0) {
		ctl_warnx("watch: name the submissions (or --course ID)");
		return CTL_USAGE;
	}
	if (!w->student && c->o->nargs > MAX_TOPICS) {
		ctl_warnx("watch: at most %d submissions at once (or watch "
		    "the course with --course)", MAX_TOPICS);
		return CTL_USAGE;
	}
	for (i = 0; i < c->o->nargs; i++) {
		if (!ctl_read_id(c->o->args[i], &id)) {
			ctl_warnx("watch: \"%s\" is not a submission's number",
			    c->o->args[i]);
			return CTL_USAGE;
		}
		if (find(w, id) == NULL)
			add(w, id);
		if (!w->student)
			snprintf(w->topics[w->ntopics++],
			    sizeof(w->topics[0]), "submission:%lld", id);
	}
	if (w->student) {
		snprintf(w->topics[0], sizeof(w->topics[0]), "mine");
		w->ntopics = 1;
	}
	for (i = 0; (size_t)i < w->n; i++)
		if (!refresh_one(w, &w->items[i]))
			return CTL_NOTFOUND;
	return CTL_OK;
}

int
ctl_watch(struct ctl *c)
{
	static const struct lws_protocols protocols[] = {
		{ "introeval", callback, 0, 0, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 }
	};
	struct lws_context_creation_info info;
	struct watch w;
	double deadline;
	int code, failed = 0;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.backoff = 0.5;
	if (!parse_url(&w)) {
		ctl_warnx("watch: %s is not an http:// or https:// address",
		    c->url);
		return CTL_USAGE;
	}
	if ((code = setup(&w)) != CTL_OK)
		goto out;
	if (all_final(&w, &failed))
		goto done;
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = &w;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if ((w.ctx = lws_create_context(&info)) == NULL) {
		ctl_warnx("watch: libwebsockets failed to start");
		code = CTL_FAILED;
		goto out;
	}
	on_tick(&w.tick);
	deadline = c->o->timeout_s > 0 ? now_s() + (double)c->o->timeout_s :
	    0;
	connect_ws(&w);
	while (!all_final(&w, &failed)) {
		if (deadline > 0 && now_s() > deadline) {
			ctl_warnx("watch: gave up after %ld s", c->o->timeout_s);
			code = CTL_UNAVAILABLE;
			goto out;
		}
		if (w.st == W_CLOSED && now_s() >= w.next_try) {
			if (!signed_in(&w)) {
				code = CTL_AUTH;
				goto out;
			}
			connect_ws(&w);
		}
		lws_service(w.ctx, 0);
		/* An upload met in a course's event: its file's name (and
		 * state) from REST, outside libwebsockets' callback. */
		for (i = 0; i < w.n && w.st == W_OPEN; i++)
			if (w.items[i].unnamed) {
				w.items[i].unnamed = false;
				refresh_one(&w, &w.items[i]);
			}
		/* A failed read is tried again, a second later, while the
		 * socket stays open; a drop subscribes and reads anew. */
		if (w.resync && w.st == W_OPEN && now_s() >= w.next_resync) {
			if (refresh(&w)) {
				w.resync = false;
				w.backoff = 0.5;
			} else
				w.next_resync = now_s() + 1;
		}
	}
done:
	if (w.n == 0 && !c->o->json)
		fprintf(c->out, "Nothing is in progress in course %lld.\n",
		    w.course);
	code = failed > 0 ? CTL_FAILED : CTL_OK;
	if (c->o->json)
		ctl_print_json(c, json_pack("{s:s, s:I, s:i}", "type", "done",
		    "watched", (json_int_t)w.n, "failed", failed));
	else if (w.n > 0)
		fprintf(c->out, "%zu done: %zu completed, %d failed\n", w.n,
		    w.n - (size_t)failed, failed);
out:
	w.finished = true;
	if (w.ctx != NULL)
		lws_context_destroy(w.ctx);
	free(w.items);
	free(w.msg);
	return code;
}
