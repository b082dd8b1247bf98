/*
 * router: the HTTP server and its route table, the top of the web layer.
 * It owns the CivetWeb context, authentication and CSRF checks on every
 * route and the static files, and calls the handlers (pages, api, dash,
 * upload, tus, metrics) that answer through http.h.
 */
#ifndef INTROEVAL_ROUTER_H
#define INTROEVAL_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct app;
struct mg_context;
struct router;

/*
 * Listens on the configured host and port; NULL with the reason. With
 * health_only (role worker) it answers /healthz, /readyz and /metrics
 * and 404 to everything else: no pages, uploads, static files or WebSockets.
 */
struct router		*router_start(struct app *, bool health_only,
			    char *err, size_t errlen);
/* Lets requests in once every handler (WebSockets too) is in place. */
void			 router_open(struct router *);
void			 router_stop(struct router *);
/*
 * Prints the route table, one JSON object a line: {method, pattern,
 * roles: ["anonymous", "student", "teacher", "admin"], csrf: "none",
 * "header" or "form"}, then the WebSocket (/ws, csrf "origin"), which
 * ws.c serves outside the table. /static/ (anyone) is left out. False
 * when writing failed.
 */
bool			 router_print_routes(FILE *);
/* The CivetWeb context, for modules that add handlers (WebSockets). */
struct mg_context	*router_context(struct router *);

#endif
