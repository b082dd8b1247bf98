/*
 * api_nodes: backends, nodes and the phase timeline in the JSON API (see
 * api_nodes.h). Staff read them, as they read /api/v1/system; the
 * figures come from the loaders of the health page (health_backends) and
 * of the node records (node.c). A backend's address is shown to admins
 * only, as on the health page.
 */
#include "api_nodes.h"

#include <stdio.h>
#include <string.h>

#include <civetweb.h>
#include <jansson.h>

#include "api_query.h"
#include "app.h"
#include "config.h"
#include "health.h"
#include "http.h"
#include "node.h"
#include "util.h"

#define PHASES_DEFAULT	1000	/* phase log rows of one answer */
#define PHASES_MAX	10000

static void	 with_configuration(struct req *, json_t *);

/*
 * What the configuration says of an LLM backend where the live pool
 * does not (a web process has no pool): its type, model and concurrency
 * limit. Nothing secret is copied (no api_key).
 */
static void
with_configuration(struct req *r, json_t *b)
{
	struct config_backend cb;

	if (strcmp(r->user.role, "admin") != 0)
		json_object_del(b, "url");
	if (!config_backend_find(r->app->cfg, json_string_value(
	    json_object_get(b, "name")), &cb))
		return;
	if (json_object_get(b, "type") == NULL)
		json_object_set_new(b, "type", json_string(cb.type));
	if (json_object_get(b, "model") == NULL)
		json_object_set_new(b, "model", json_string(cb.model));
	if (json_object_get(b, "max_concurrent") == NULL)
		json_object_set_new(b, "max_concurrent", json_integer(
		    cb.max_concurrent));
	if (json_object_get(b, "limit") == NULL)
		json_object_set_new(b, "limit", json_integer(
		    cb.concurrency_max > 0 ? cb.concurrency_min :
		    cb.max_concurrent));
}

int
api_backends(struct req *r)
{
	char err[512];
	json_t *list, *b;
	size_t i;

	if (!health_backends(r->app, &list, err, sizeof(err)))
		return http_db_error(r);
	json_array_foreach(list, i, b)
		with_configuration(r, b);
	return http_json(r, 200, json_pack("{s:o}", "backends", list));
}

int
api_nodes(struct req *r)
{
	char err[512];
	json_t *list;

	if (!node_list_json(r->app->db, &list, err, sizeof(err)))
		return http_db_error(r);
	return http_json(r, 200, json_pack("{s:o}", "nodes", list));
}

/*
 * GET /api/v1/nodes/:name/phases?since=&until=&limit=: the node's STT
 * and LLM calls (and model unloads) from the phase log, oldest first;
 * by default the last hour. truncated says more rows were in the range.
 */
int
api_node_phases(struct req *r)
{
	const char *qs = r->ri->query_string;
	char err[512], since[API_TIME_LEN], until[API_TIME_LEN];
	struct api_page pg;
	struct api_bad bad;
	json_t *rows;
	bool found, more;

	if (!api_query_time(qs, "since", since, &bad) ||
	    !api_query_time(qs, "until", until, &bad) ||
	    !api_query_page(qs, PHASES_DEFAULT, PHASES_MAX, &pg, &bad))
		return api_refuse(r, &bad);
	if (pg.after)
		return http_error_field(r, 400, "invalid", "cursor", "cursor: "
		    "this list is narrowed by since and until, not paged by a "
		    "cursor");
	if (since[0] == '\0')
		util_iso8601(util_wallclock() - 3600, since, sizeof(since));
	if (until[0] == '\0')
		util_strlcpy(until, "infinity", sizeof(until));
	if (!node_phases_json(r->app->db, r->name, since, until, pg.limit + 1,
	    &rows, &found, err, sizeof(err)))
		return http_db_error(r);
	if (!found)
		return http_error(r, 404, "no node named %s has run here",
		    r->name);
	if ((more = json_array_size(rows) > (size_t)pg.limit))
		json_array_remove(rows, (size_t)pg.limit);
	return http_json(r, 200, json_pack("{s:s, s:s, s:s?, s:o, s:b}",
	    "node", r->name, "since", since, "until", strcmp(until,
	    "infinity") == 0 ? NULL : until, "phases", rows, "truncated",
	    more));
}
