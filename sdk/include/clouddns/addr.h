/* Addresses in configurations: "192.0.2.1", "192.0.2.1:5300", "2001:db8::1",
 * "[2001:db8::1]:5300", and prefixes ("192.0.2.0/24", "2001:db8::/32") for access rules. */
#ifndef CLOUDDNS_ADDR_H
#define CLOUDDNS_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include <clouddns/query.h>

/* Parse an address with an optional port ("[v6]:port" brackets for IPv6 with a port; a bare
 * IPv6 address has no port). default_port is used when none is given; when it is 0 a port is
 * required. Returns 0 (a and len filled) or CDNS_EINVAL. */
int cdns_sockaddr_parse(const char *text, uint16_t default_port, cdns_sockaddr_t *a,
			socklen_t *len);

/* Write "192.0.2.1:53" / "[2001:db8::1]:53" into buf (at least 64 bytes); returns buf. */
char *cdns_sockaddr_to_text(const cdns_sockaddr_t *a, char *buf, size_t len);

typedef struct cdns_netprefix {
	int family; /* AF_INET or AF_INET6 */
	unsigned bits;
	uint8_t addr[16];
} cdns_netprefix_t;

/* Parse "192.0.2.0/24", "2001:db8::/32" or a single address (a /32 or /128). Bits beyond the
 * prefix length are ignored. Returns 0 or CDNS_EINVAL. */
int cdns_netprefix_parse(const char *text, cdns_netprefix_t *p);

/* True if the address is inside the prefix; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match
 * IPv4 prefixes. */
bool cdns_netprefix_match(const cdns_netprefix_t *p, const cdns_sockaddr_t *a);

/* Who an access rule is for: client addresses, a TSIG key, or both (both must match). */
typedef struct cdns_acl_who {
	bool has_net, has_key;
	cdns_netprefix_t net;
	uint8_t key[CDNS_NAME_MAXLEN]; /* lower-cased wire form */
} cdns_acl_who_t;

struct cdns_conf;
struct cdns_diag;

/* Read a rule's 'address' (a prefix) and 'key' (a key name) texts, NULL when the rule map rn
 * lacks them, into w. Errors go to d at the option's position ("<prefix>acl rule: 'address'
 * must be ..."). Returns true when what is given is good. */
bool cdns_acl_who_conf(struct cdns_diag *d, const char *prefix, const struct cdns_conf *rn,
		       const char *address, const char *key, cdns_acl_who_t *w);

/* Does a client match: its address is in the prefix (if any), and its request was signed with
 * the key (if any; key is the verified key's name, NULL for unsigned requests)? */
bool cdns_acl_who_match(const cdns_acl_who_t *w, const cdns_sockaddr_t *addr, const uint8_t *key);

#endif
