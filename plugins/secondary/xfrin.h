/* The transfer client of the secondary plugin (private to plugins/secondary): one exchange
 * with one primary, non-blocking on the control loop: an SOA query (UDP, then TCP when the
 * answer is truncated), an IXFR (RFC 1995) or an AXFR (RFC 5936) over TCP. */
#ifndef SECONDARY_XFRIN_H
#define SECONDARY_XFRIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <clouddns/clouddns.h>

enum xfrin_kind { XFRIN_SOA, XFRIN_IXFR, XFRIN_AXFR };

/* How an exchange ended. */
enum xfrin_outcome {
	XFRIN_FAILED,   /* network error, timeout, malformed or inconsistent data: see err */
	XFRIN_REFUSED,  /* the primary answered with an error rcode (rcode) */
	XFRIN_SERIAL,   /* SOA query: the primary's serial */
	XFRIN_UPTODATE, /* IXFR answered with the SOA alone (serial: the primary's) */
	XFRIN_FULL,     /* AXFR, or an IXFR answered AXFR-style: a whole new zone */
	XFRIN_INCR,     /* IXFR difference sequences, oldest first */
};

typedef struct xfrin_result {
	int outcome;
	bool bad_data;   /* FAILED because of what the primary sent (not the network) */
	bool axfr_style; /* FULL from an IXFR request */
	bool via_tcp;    /* SOA query: retried over TCP after TC */
	uint16_t rcode;  /* REFUSED */
	uint32_t serial; /* SERIAL, UPTODATE, FULL, INCR: the primary's serial */
	cdns_zone_t *zone;      /* FULL: one reference, for the callback to take */
	cdns_changeset_t **cs;  /* INCR: the difference sequences, for the callback to take */
	size_t n_cs;
	size_t n_msgs, n_rrs;
	uint64_t bytes;
	char err[256];
} xfrin_result_t;

typedef struct xfrin xfrin_t;

/* Called once, from the control loop, when the exchange is over. The callback may take
 * res->zone and res->cs (set them to NULL/0); what it leaves is freed after it returns, as
 * is x itself. It may start new exchanges but must not cancel x. */
typedef void (*xfrin_done_cb)(xfrin_t *x, xfrin_result_t *res, void *arg);

typedef struct xfrin_params {
	int kind;
	const uint8_t *apex;      /* lower-cased */
	const char *zone_text;    /* for log messages */
	const cdns_sockaddr_t *peer;
	socklen_t peer_len;
	const cdns_zone_t *current; /* IXFR: our version, whose SOA goes in the authority section */
	double timeout;           /* seconds allowed for the connection and for each read */
	uint64_t max_bytes;       /* a transfer larger than this fails */
	const cdns_tsig_key_t *key; /* sign the query and verify every answer message, or NULL */
} xfrin_params_t;

/* Start an exchange on the control loop. Returns 0 and *out (cb will be called later, never
 * from inside this call), or CDNS_EIO (errno set) / CDNS_ENOMEM / CDNS_EINVAL. */
int xfrin_start(const xfrin_params_t *p, xfrin_done_cb cb, void *arg, xfrin_t **out);

/* Abandon an exchange: sockets closed, everything freed, cb not called. */
void xfrin_cancel(xfrin_t *x);

/* "192.0.2.1@53" / "[2001:db8::1]@53" for messages. */
void xfrin_addr_text(const cdns_sockaddr_t *a, char *out, size_t len);

#endif
