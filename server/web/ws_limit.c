/*
 * ws_limit: how many WebSockets the hub lets in (see ws_impl.h).
 *
 * CivetWeb keeps a worker thread for each open WebSocket for its whole
 * life, so sockets are threads: without limits one account opening
 * sockets in a loop took every thread and /healthz stopped answering.
 *
 *  - In total, sockets may take all but max(4, threads/4) of the
 *    threads; beyond that an upgrade is answered 503 from the connect
 *    handler, before the handshake, so it holds its thread only for that
 *    answer and ordinary requests always find threads.
 *  - One account may hold ws_per_user sockets; opening one more closes
 *    its oldest with code 4008 and a sentence the page shows.
 *
 * A close frame alone does not free the thread: CivetWeb's read loop
 * waits for the peer's answering close frame, and a peer that never
 * sends one holds the thread until five unanswered pings (about 90 s).
 * So a closed socket is also shut down (shutdown(2), never close(2):
 * the descriptor stays CivetWeb's), which ends the read at once; the
 * close frame is already in the socket's send queue ahead of the FIN.
 * CivetWeb does not hand out a connection's descriptor, so it is found
 * by the peer's address and port, while the hub's lock keeps the
 * connection's close handler, and with it the descriptor's close,
 * waiting.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include "ws.h"
#include "ws_impl.h"

static int	 find_fd(const struct ws_client *);
static bool	 same_peer(int, const struct ws_client *);

int
ws_limit_total(int threads)
{
	int keep = threads / 4 > 4 ? threads / 4 : 4;

	return threads > keep ? threads - keep : 1;
}

bool
ws_limit_full(const struct ws_hub *hub)
{
	return ws_clients(hub) >= ws_limit_total(hub->app->cfg->threads);
}

void
ws_limit_note_peer(struct ws_client *cl, const struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	util_strlcpy(cl->peer_addr, ri->remote_addr, sizeof(cl->peer_addr));
	cl->peer_port = ri->remote_port;
	cl->server_port = ri->server_port;
}

/*
 * Called with the hub locked, after cl joined the list (newest first):
 * the user's sockets beyond ws_per_user, oldest first, are closed.
 */
void
ws_limit_user(struct ws_hub *hub, const struct ws_client *cl)
{
	struct ws_client *c, *oldest;
	int n;

	for (;;) {
		n = 0;
		oldest = NULL;
		for (c = hub->clients; c != NULL; c = c->next) {
			if (c->dead || c->user.id != cl->user.id)
				continue;
			n++;
			if (oldest == NULL || c->serial < oldest->serial)
				oldest = c;
		}
		if (n <= hub->app->cfg->ws_per_user || oldest == cl)
			return;
		log_info("ws: too many sockets user=%lld open=%d limit=%d: "
		    "closing the oldest", cl->user.id, n,
		    hub->app->cfg->ws_per_user);
		ws_close_client(oldest, WS_CLOSE_TOO_MANY, WS_TOO_MANY_TEXT);
	}
}

void
ws_close_client(struct ws_client *cl, int code, const char *reason)
{
	char frame[125];
	size_t len = strlen(reason);
	int fd;

	if (cl->dead)
		return;
	if (len > sizeof(frame) - 2)
		len = sizeof(frame) - 2;	/* a control frame's limit */
	frame[0] = (char)(code >> 8);
	frame[1] = (char)(code & 0xff);
	memcpy(frame + 2, reason, len);
	mg_websocket_write(cl->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE,
	    frame, len + 2);
	cl->dead = true;
	if ((fd = find_fd(cl)) >= 0)
		shutdown(fd, SHUT_RDWR);
	else
		log_warnx("ws: user=%lld peer=%s:%d: socket not found; its "
		    "thread waits for the peer", cl->user.id, cl->peer_addr,
		    cl->peer_port);
}

/* The descriptor connected to cl's peer, or -1. */
static int
find_fd(const struct ws_client *cl)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char *end;
	long fd;
	int found = -1;

	if (d == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		fd = strtol(e->d_name, &end, 10);
		if (*end != '\0' || end == e->d_name || fd == dirfd(d))
			continue;
		if (same_peer((int)fd, cl))
			found = (int)fd;
	}
	closedir(d);
	return found;
}

static bool
same_peer(int fd, const struct ws_client *cl)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	const void *ip;
	int port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return false;
	if (port != cl->server_port)
		return false;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		ip = &((struct sockaddr_in *)&ss)->sin_addr;
	} else {
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	}
	if (port != cl->peer_port || inet_ntop(ss.ss_family, ip, addr,
	    sizeof(addr)) == NULL)
		return false;
	return strcmp(addr, cl->peer_addr) == 0;
}
