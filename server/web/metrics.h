/*
 * metrics: GET /metrics in Prometheus's text exposition format (0.0.4)
 * for sites that already run Prometheus and Grafana. Readable by a
 * signed-in admin, or by anyone presenting "Authorization: Bearer" with
 * the configured metrics_token.
 */
#ifndef INTROEVAL_METRICS_H
#define INTROEVAL_METRICS_H

struct req;

int	metrics_handler(struct req *);

#endif
