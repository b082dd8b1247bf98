/*
 * cidr: address lists (see cidr.h). An IPv4 address is compared as its
 * IPv4-mapped IPv6 form, so "10.0.0.0/8" also matches "::ffff:10.1.2.3".
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct net {
	unsigned char	addr[16];
	int		bits;		/* prefix length over the 128 */
};

static bool	parse_addr(const char *, unsigned char [16], bool *);
static bool	parse_net(const char *, size_t, struct net *);
static bool	in_net(const struct net *, const unsigned char [16]);

/* Text to 16 bytes; *v4 when it was an IPv4 address (mapped). */
static bool
parse_addr(const char *text, unsigned char out[16], bool *v4)
{
	unsigned char a4[4];

	*v4 = false;
	if (inet_pton(AF_INET6, text, out) == 1)
		return true;
	if (inet_pton(AF_INET, text, a4) != 1)
		return false;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a4, 4);
	*v4 = true;
	return true;
}

/* One entry, "ADDR" or "ADDR/BITS", of len bytes (spaces trimmed). */
static bool
parse_net(const char *p, size_t len, struct net *n)
{
	char text[64], *slash, *end;
	long bits;
	bool v4;

	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	if ((slash = strchr(text, '/')) != NULL)
		*slash++ = '\0';
	if (!parse_addr(text, n->addr, &v4))
		return false;
	n->bits = 128;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return false;
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || bits > (v4 ? 32 : 128))
			return false;
		n->bits = (int)bits + (v4 ? 96 : 0);
	}
	return true;
}

static bool
in_net(const struct net *n, const unsigned char a[16])
{
	int full = n->bits / 8, rest = n->bits % 8;
	unsigned char mask;

	if (memcmp(n->addr, a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (a[full] & mask);
}

bool
cidr_list_valid(const char *list, char *err, size_t errlen)
{
	const char *p = list, *end;
	struct net n;

	while (*p != '\0') {
		end = p + strcspn(p, ",");
		if (strspn(p, " \t") < (size_t)(end - p) &&
		    !parse_net(p, (size_t)(end - p), &n))
			return util_seterr(err, errlen, "trusted_proxies: \"%.*s\" "
			    "is not an address or a network (like 10.0.0.0/8)",
			    (int)(end - p), p);
		p = *end == ',' ? end + 1 : end;
	}
	return true;
}

bool
cidr_list_match(const char *list, const char *addr)
{
	unsigned char a[16];
	const char *p = list, *end;
	struct net n;
	bool v4;

	if (list == NULL || addr == NULL || !parse_addr(addr, a, &v4))
		return false;
	while (*p != '\0') {
		end = p + strcspn(p, ",");
		if (parse_net(p, (size_t)(end - p), &n) && in_net(&n, a))
			return true;
		p = *end == ',' ? end + 1 : end;
	}
	return false;
}
