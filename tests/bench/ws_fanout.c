/*
 * bench_ws_fanout: the WebSocket hub's fan-out, measured from outside.
 *
 * Opens --clients sockets (libwebsockets client, one thread) to a running
 * server, each signed in with --cookie and subscribed to --topic; reads
 * the server's RSS (--pid) before and after, then --rounds times changes
 * the status of submission --submission straight in the database
 * (--db, libpq) and times how long each socket takes to receive the
 * event: from just before the UPDATE to the socket's receive callback.
 * tests/bench/ws_fanout.py sets everything up and runs it. Prints:
 *
 *   ws_fanout_clients=N          sockets that subscribed
 *   ws_fanout_samples=N          receipts timed (clients x rounds)
 *   ws_fanout_missed=N           receipts that never came (5 s limit)
 *   ws_fanout_p50_ms=M           median latency
 *   ws_fanout_p99_ms=M
 *   ws_fanout_max_ms=M
 *   ws_rss_per_conn_kib=K        server RSS growth / open sockets
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <libwebsockets.h>

#define MSG_MAX		8192
#define BATCH		25	/* sockets opened at once */
#define ROUND_LIMIT_S	5.0

struct client {
	struct lws	*wsi;
	int		 index;
	int		 state;		/* -2 not yet, 0 connecting,
					   1 open, 2 subscribed, -1 failed */
	char		 msg[MSG_MAX];
	size_t		 len;
	long long	 got_version;	/* newest event version seen */
	double		 got_at;	/* when it arrived */
};

static struct opts {
	const char	*host;
	int		 port;
	const char	*cookie;
	const char	*topic;
	const char	*db;
	long long	 submission;
	int		 clients;
	int		 rounds;
	int		 pid;
} o = { "127.0.0.1", 8080, "", "system", "", 0, 500, 20, 0 };

static struct client	*cl;
static struct lws_context *ctx;
static lws_sorted_usec_list_t tick;

static double	 now_ms(void);
static long	 rss_kib(int);
static void	 on_message(struct client *);
static int	 callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);
static void	 connect_one(struct lws_context *, struct client *);
static int	 count_state(int);
static void	 service_until(struct lws_context *, double, int (*)(void));
static int	 all_settled(void);
static int	 all_received(void);
static long long change_status(PGconn *);
static int	 cmp_double(const void *, const void *);
static void	 parse_args(int, char **);
static void	 on_tick(lws_sorted_usec_list_t *);

static long long	 want_version;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static long
rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void
on_message(struct client *c)
{
	json_t *m = json_loadb(c->msg, c->len, 0, NULL);
	const char *type = json_string_value(json_object_get(m, "type"));
	long long v;

	if (type != NULL && strcmp(type, "subscribed") == 0)
		c->state = 2;
	else if (type != NULL && strcmp(type, "error") == 0) {
		fprintf(stderr, "bench: socket %d: %s\n", c->index,
		    json_string_value(json_object_get(m, "error")));
		c->state = -1;
	} else if (type != NULL && strcmp(type, "submission") == 0) {
		v = json_integer_value(json_object_get(m, "version"));
		if (v > c->got_version) {
			c->got_version = v;
			c->got_at = now_ms();
		}
	}
	json_decref(m);
	c->len = 0;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct client *c = user;
	unsigned char buf[LWS_PRE + 256], **p, *end;
	int n;

	if (c == NULL && reason != LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		p = (unsigned char **)in;
		end = *p + len;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)
		    "cookie:", (const unsigned char *)o.cookie,
		    (int)strlen(o.cookie), p, end))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->state = 1;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		    "{\"type\":\"subscribe\",\"topic\":\"%s\"}", o.topic);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n,
		    LWS_WRITE_TEXT) < n)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c->len + len < sizeof(c->msg)) {
			memcpy(c->msg + c->len, in, len);
			c->len += len;
		}
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0)
			on_message(c);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "bench: socket %d failed: %s\n", c->index,
		    in != NULL ? (const char *)in : "?");
		c->state = -1;
		c->wsi = NULL;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c->state >= 0)
			c->state = -1;
		c->wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static void
connect_one(struct lws_context *context, struct client *c)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = context;
	ci.address = o.host;
	ci.port = o.port;
	ci.path = "/ws";
	ci.host = o.host;
	ci.protocol = NULL;
	ci.ietf_version_or_minus_one = -1;
	ci.userdata = c;
	ci.pwsi = &c->wsi;
	if (lws_client_connect_via_info(&ci) == NULL)
		c->state = -1;
}

static int
count_state(int state)
{
	int i, n = 0;

	for (i = 0; i < o.clients; i++)
		n += cl[i].state == state;
	return n;
}

static int
all_settled(void)
{
	return count_state(0) == 0 && count_state(1) == 0;
}

static int
all_received(void)
{
	int i;

	for (i = 0; i < o.clients; i++)
		if (cl[i].state == 2 && cl[i].got_version < want_version)
			return 0;
	return 1;
}

/* lws_service sleeps until something happens: wake it now and then. */
static void
on_tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(ctx, 0, sul, on_tick, 20 * LWS_US_PER_MS);
}

static void
service_until(struct lws_context *c, double limit_ms, int (*done)(void))
{
	double deadline = now_ms() + limit_ms;

	while (!done() && now_ms() < deadline)
		lws_service(c, 0);
}

/* Completed <-> failed: a real status change the scheduler ignores. */
static long long
change_status(PGconn *pg)
{
	char id[32];
	const char *p[1] = { id };
	PGresult *r;
	long long v = -1;

	snprintf(id, sizeof(id), "%lld", o.submission);
	r = PQexecParams(pg, "UPDATE submissions SET "
	    "phase = CASE WHEN status = 'completed' THEN 'failed' "
	    "  ELSE 'completed' END, "
	    "status = CASE WHEN status = 'completed' THEN 'failed' "
	    "  ELSE 'completed' END, "
	    "error_message = CASE WHEN status = 'completed' "
	    "  THEN 'benchmark' END "
	    "WHERE id = $1::bigint RETURNING version", 1, NULL, p, NULL, NULL,
	    0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoll(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "bench: %s", PQerrorMessage(pg));
	PQclear(r);
	return v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "cookie", required_argument, NULL, 'c' },
		{ "topic", required_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "submission", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'c': o.cookie = optarg; break;
		case 't': o.topic = optarg; break;
		case 'd': o.db = optarg; break;
		case 's': o.submission = atoll(optarg); break;
		case 'n': o.clients = atoi(optarg); break;
		case 'r': o.rounds = atoi(optarg); break;
		case 'P': o.pid = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bench_ws_fanout --port P "
			    "--cookie C --topic T --db URL --submission ID "
			    "[--clients N] [--rounds R] [--pid PID]\n");
			exit(2);
		}
	}
	if (o.clients < 1 || o.rounds < 1 || o.submission <= 0) {
		fprintf(stderr, "bench: --clients, --rounds and --submission "
		    "must be positive\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	static const struct lws_protocols protocols[] = {
		{ "introeval", callback, 0, MSG_MAX, 0, NULL, 0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 }
	};
	struct lws_context_creation_info info;
	double *lat, t0, started = now_ms();
	long rss0, rss1;
	int i, r, open, nlat = 0, missed = 0;
	PGconn *pg;

	parse_args(argc, argv);
	if ((pg = PQconnectdb(o.db)) == NULL || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench: database: %s", PQerrorMessage(pg));
		return 1;
	}
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned int)o.clients + 64;
	if ((ctx = lws_create_context(&info)) == NULL) {
		fprintf(stderr, "bench: no libwebsockets context\n");
		return 1;
	}
	memset(&tick, 0, sizeof(tick));
	on_tick(&tick);
	cl = calloc((size_t)o.clients, sizeof(*cl));
	lat = calloc((size_t)o.clients * (size_t)o.rounds, sizeof(*lat));
	for (i = 0; i < o.clients; i++)
		cl[i].state = -2;
	rss0 = o.pid > 0 ? rss_kib(o.pid) : -1;

	/* Open in small batches: each socket takes a server thread. */
	for (i = 0; i < o.clients; i += BATCH) {
		for (r = i; r < i + BATCH && r < o.clients; r++) {
			cl[r].index = r;
			cl[r].state = 0;
			connect_one(ctx, &cl[r]);
		}
		service_until(ctx, 15000, all_settled);
	}
	service_until(ctx, 15000, all_settled);
	open = count_state(2);
	fprintf(stderr, "bench: %d of %d sockets subscribed in %.1f s\n", open,
	    o.clients, (now_ms() - started) / 1000);
	usleep(300 * 1000);
	rss1 = o.pid > 0 ? rss_kib(o.pid) : -1;

	for (r = 0; r < o.rounds && open > 0; r++) {
		t0 = now_ms();
		if ((want_version = change_status(pg)) < 0)
			break;
		service_until(ctx, ROUND_LIMIT_S * 1000, all_received);
		for (i = 0; i < o.clients; i++) {
			if (cl[i].state != 2)
				continue;
			if (cl[i].got_version >= want_version)
				lat[nlat++] = cl[i].got_at - t0;
			else
				missed++;
		}
		/* Let the hub's coalescing window pass between rounds. */
		t0 = now_ms();
		while (now_ms() < t0 + 150)
			lws_service(ctx, 0);
	}
	fprintf(stderr, "bench: %d rounds done at %.1f s\n", r,
	    (now_ms() - started) / 1000);
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
	printf("ws_fanout_clients=%d\n", open);
	printf("ws_fanout_samples=%d\n", nlat);
	printf("ws_fanout_missed=%d\n", missed);
	if (nlat > 0) {
		printf("ws_fanout_p50_ms=%.2f\n", lat[nlat / 2]);
		printf("ws_fanout_p99_ms=%.2f\n", lat[(nlat * 99) / 100 <
		    nlat ? (nlat * 99) / 100 : nlat - 1]);
		printf("ws_fanout_max_ms=%.2f\n", lat[nlat - 1]);
	}
	if (rss0 > 0 && rss1 > 0 && open > 0)
		printf("ws_rss_per_conn_kib=%.1f\n", (double)(rss1 - rss0) /
		    open);
	lws_context_destroy(ctx);
	PQfinish(pg);
	free(cl);
	free(lat);
	return open == o.clients && missed == 0 ? 0 : 1;
}
