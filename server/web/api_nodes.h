/*
 * api_nodes: the pipeline's machinery as data for staff scripts
 * (api_nodes.c): the LLM and STT backends as the health page shows
 * them, the GPU nodes and each node's phase timeline.
 */
#ifndef INTROEVAL_API_NODES_H
#define INTROEVAL_API_NODES_H

struct req;

int	api_backends(struct req *);	/* GET /api/v1/backends */
int	api_nodes(struct req *);	/* GET /api/v1/nodes */
int	api_node_phases(struct req *);	/* GET /api/v1/nodes/:name/phases */

#endif
