/* Addresses and prefixes from configuration text, and prefix matching for access rules. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/addr.h>
#include <clouddns/conf.h>
#include <clouddns/error.h>
#include <clouddns/name.h>

static int parse_port(const char *s, unsigned long *port)
{
	if (*s < '0' || *s > '9')
		return CDNS_EINVAL;
	char *end;
	*port = strtoul(s, &end, 10);
	return *end == '\0' && *port <= 65535 ? 0 : CDNS_EINVAL;
}

int cdns_sockaddr_parse(const char *text, uint16_t default_port, cdns_sockaddr_t *a,
			socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned long port = default_port;
	bool have_port = false;
	const char *colon = strrchr(text, ':');
	memset(a, 0, sizeof(*a));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
			return CDNS_EINVAL;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':') {
			if (parse_port(end + 2, &port) != 0)
				return CDNS_EINVAL;
			have_port = true;
		} else if (end[1] != '\0') {
			return CDNS_EINVAL;
		}
	} else if (colon != NULL && strchr(text, ':') == colon) {
		/* One colon: IPv4 with a port. */
		if ((size_t)(colon - text) >= sizeof(host) || parse_port(colon + 1, &port) != 0)
			return CDNS_EINVAL;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		have_port = true;
	} else {
		if (strlen(text) >= sizeof(host))
			return CDNS_EINVAL;
		strcpy(host, text);
	}
	if (!have_port && default_port == 0)
		return CDNS_EINVAL;
	if (inet_pton(AF_INET, host, &a->sin.sin_addr) == 1) {
		a->sin.sin_family = AF_INET;
		a->sin.sin_port = htons((uint16_t)port);
		*len = sizeof(a->sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->sin6.sin6_addr) == 1) {
		/* An IPv6 address with a port must use brackets: "2001:db8::1:53" is ambiguous. */
		if (have_port && text[0] != '[')
			return CDNS_EINVAL;
		a->sin6.sin6_family = AF_INET6;
		a->sin6.sin6_port = htons((uint16_t)port);
		*len = sizeof(a->sin6);
		return 0;
	}
	return CDNS_EINVAL;
}

char *cdns_sockaddr_to_text(const cdns_sockaddr_t *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6.sin6_port));
	} else {
		snprintf(buf, len, "(unknown)");
	}
	return buf;
}

int cdns_netprefix_parse(const char *text, cdns_netprefix_t *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(text) >= sizeof(buf))
		return CDNS_EINVAL;
	strcpy(buf, text);
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash != NULL) {
		char *end;
		*slash = '\0';
		if (slash[1] < '0' || slash[1] > '9')
			return CDNS_EINVAL;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0')
			return CDNS_EINVAL;
	}
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		if (bits > 32)
			return CDNS_EINVAL;
		p->family = AF_INET;
		p->bits = bits < 0 ? 32 : (unsigned)bits;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		if (bits > 128)
			return CDNS_EINVAL;
		p->family = AF_INET6;
		p->bits = bits < 0 ? 128 : (unsigned)bits;
	} else {
		return CDNS_EINVAL;
	}
	return 0;
}

bool cdns_netprefix_match(const cdns_netprefix_t *p, const cdns_sockaddr_t *a)
{
	const uint8_t *addr;
	int family = a->sa.sa_family;
	if (family == AF_INET) {
		addr = (const uint8_t *)&a->sin.sin_addr;
	} else if (family == AF_INET6) {
		addr = (const uint8_t *)&a->sin6.sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6.sin6_addr)) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != p->family)
		return false;
	unsigned full = p->bits / 8, rest = p->bits % 8;
	if (memcmp(addr, p->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == (p->addr[full] & mask);
}

bool cdns_acl_who_conf(cdns_diag_t *d, const char *prefix, const cdns_conf_t *rn,
		       const char *address, const char *key, cdns_acl_who_t *w)
{
	bool ok = true;
	memset(w, 0, sizeof(*w));
	if (address != NULL) {
		if (cdns_netprefix_parse(address, &w->net) != 0) {
			cdns_diag_error(d, cdns_conf_get(rn, "address"),
					"%sacl rule: 'address' must be an address or a prefix such as "
					"\"192.0.2.0/24\", got \"%s\"",
					prefix, address);
			ok = false;
		}
		w->has_net = true;
	}
	if (key != NULL) {
		if (cdns_name_from_text(key, strlen(key), (const uint8_t *)"", w->key) <= 0) {
			cdns_diag_error(d, cdns_conf_get(rn, "key"),
					"%sacl rule: 'key' must be a key name, got \"%s\"", prefix, key);
			ok = false;
		}
		cdns_name_lower(w->key);
		w->has_key = true;
	}
	return ok;
}

bool cdns_acl_who_match(const cdns_acl_who_t *w, const cdns_sockaddr_t *addr, const uint8_t *key)
{
	if (w->has_net && !cdns_netprefix_match(&w->net, addr))
		return false;
	if (w->has_key && (key == NULL || !cdns_name_equal(key, w->key)))
		return false;
	return true;
}
