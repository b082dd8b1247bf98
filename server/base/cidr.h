/*
 * cidr: lists of IP addresses and networks ("127.0.0.1, 10.0.0.0/8,
 * ::1, fd00::/8") as the trusted_proxies key writes them, and whether an
 * address falls in one. Pure functions, no allocation.
 */
#ifndef INTROEVAL_CIDR_H
#define INTROEVAL_CIDR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether every comma-separated entry parses (empty is valid); err says
 * which one does not. */
bool	cidr_list_valid(const char *list, char *err, size_t errlen);
/* Whether addr (IPv4 or IPv6 text) is in one of list's entries. */
bool	cidr_list_match(const char *list, const char *addr);

#endif
