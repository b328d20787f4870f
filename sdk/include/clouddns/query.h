/* A query on its way through the pipeline: the parsed request, who sent it, and the response
 * being built. The core fills the request part once; plugins read it and build the response
 * with the cdns_resp_* functions. */
#ifndef CLOUDDNS_QUERY_H
#define CLOUDDNS_QUERY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <clouddns/edns.h>
#include <clouddns/pkt.h>
#include <clouddns/wire.h>

/* Most plugins one pipeline may hold. */
#define CDNS_PIPELINE_MAX 32

typedef enum {
	CDNS_TRANSPORT_UDP,
	CDNS_TRANSPORT_TCP,
	CDNS_TRANSPORT_TLS,
	CDNS_TRANSPORT_HTTPS,
} cdns_transport_t;

typedef union cdns_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
} cdns_sockaddr_t;

typedef struct cdns_worker cdns_worker_t;
struct cdns_query;
/* Fills the next message of a streamed answer: see cdns_query_stream(). */
typedef int (*cdns_stream_cb)(void *state, struct cdns_query *q);

typedef struct cdns_query {
	/* The request, parsed once (valid until the response has been sent). */
	cdns_msg_t msg;      /* the whole request message, validated */
	uint16_t id, flags;  /* header as received */
	uint8_t opcode;
	uint8_t qname_len;   /* 0 when the message has no question */
	uint8_t qname_labels;
	uint16_t qtype, qclass;
	uint32_t qname_hash; /* cdns_name_hash(qname) */
	uint8_t qname[CDNS_NAME_MAXLEN]; /* lower-cased (RFC 4343); the client's case is in msg */
	size_t qname_off;    /* offset of the question name in msg.wire */
	cdns_edns_t edns;    /* the request's OPT, if edns.present */
	size_t tsig_off;     /* offset of the request's TSIG RR (last in additional), or 0 */

	/* Where it came from. */
	cdns_transport_t transport;
	cdns_sockaddr_t client, local;
	const char *view;         /* "default" unless a plugin (split-horizon) sets it */
	const uint8_t *tsig_key;  /* name of the verified TSIG key (set by the tsig plugin) */

	/* The response under construction. */
	cdns_pkt_t resp;
	uint16_t resp_max;   /* size the response must fit (UDP: the client's limit) */
	uint16_t rcode;      /* 12-bit extended rcode; written to header/OPT when sent */
	int32_t ede;         /* Extended DNS Error info code, or -1 */
	const char *ede_text; /* static or arena text for the EDE, or NULL */
	bool edns_reply;     /* add an OPT record to the response (default: request had one) */
	uint16_t resp_reserve; /* bytes kept free below resp_max for records a response hook
				* appends (TSIG): see cdns_resp_reserve() */
	const uint8_t *resp_nsid; /* NSID payload (RFC 5001) for the response OPT, or NULL; */
	uint16_t resp_nsid_len;   /* the core adds it only when the request asked (edns.nsid) */

	/* Runtime. */
	cdns_worker_t *worker;
	uint64_t start_ns;   /* CLOCK_MONOTONIC at receipt */
	void *slot[CDNS_PIPELINE_MAX]; /* one pointer per pipeline position for the plugin there */
	uint16_t pos;        /* pipeline position of the plugin being called */
	uint16_t resp_wire_set; /* the response was handed over whole (cdns_resp_set_wire) */
	uint16_t stream_index;  /* 0 for the first message of a response, then 1, 2, ... */
	uint16_t stream_pos;    /* pipeline position of the plugin that streams */
	cdns_stream_cb stream_cb; /* set by cdns_query_stream() */
	void *stream_state;
	uint8_t n_done;           /* callbacks registered with cdns_query_on_done() */
	void (*done_cb[4])(void *arg);
	void *done_arg[4];
	uint8_t *arena;      /* per-query scratch memory, reset after the response */
	size_t arena_used, arena_cap;
} cdns_query_t;

static inline bool cdns_query_is_tcp(const cdns_query_t *q)
{
	return q->transport != CDNS_TRANSPORT_UDP;
}

/* The calling plugin's per-query pointer (NULL when the query arrives). */
static inline void **cdns_query_slot(cdns_query_t *q)
{
	return &q->slot[q->pos];
}

/* Scratch memory that lives until the response is sent; never freed individually. Returns
 * NULL (no room) rather than ever calling malloc. Aligned to 16 bytes. */
void *cdns_query_alloc(cdns_query_t *q, size_t size);

/* Continue a query whose hook returned CDNS_ASYNC. Must be called on the query's worker loop
 * (from a watcher callback of that loop), exactly once, with NEXT, DONE or DROP. */
void cdns_query_resume(cdns_query_t *q, int verdict);

/* Multi-message answers over TCP (AXFR, RFC 5936 §2.2): after the current response has been
 * written, the core starts a fresh message (header and question as for cdns_resp_reset, the
 * arena and slots kept) and calls cb(state, q) to fill it; cb returns CDNS_NEXT when more
 * messages follow, CDNS_DONE for the last one, CDNS_DROP to abort (the connection is closed).
 * Each message goes through the response hooks (a TSIG plugin signs each). The next message
 * is only built once the previous one has been written, so a slow reader holds one message,
 * not the whole zone. Returns 0, or CDNS_ENOTSUP over UDP. */
int cdns_query_stream(cdns_query_t *q, cdns_stream_cb cb, void *state);

/* Call fn(arg) when the query is over (its last message written, dropped, or its connection
 * gone): where a plugin releases what it holds for the query (a zone reference for a stream,
 * an upstream request). At most 4 per query. Returns 0 or CDNS_ELIMIT. */
int cdns_query_on_done(cdns_query_t *q, void (*fn)(void *arg), void *arg);

/* Start over: header (ID, opcode, RD and CD copied, QR set), the question as the client sent
 * it, no records, rcode NOERROR. The core calls this before the first plugin. */
void cdns_resp_reset(cdns_query_t *q);

/* Add a record (uncompressed owner and RDATA; compression is applied). Returns 0 or
 * CDNS_ESPACE when it does not fit resp_max (nothing added): the caller decides whether that
 * means TC (answer, authority) or just stopping (additional, RFC 2181 §9). */
int cdns_resp_add(cdns_query_t *q, int section, const uint8_t *owner, uint16_t type,
		  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* Keep n more bytes free at the end of the response for a record a response hook will append
 * (a TSIG signature): records added from now on must leave that room. Lasts for the query
 * (also across cdns_resp_reset). Returns 0 or CDNS_ESPACE if the room is not there. */
int cdns_resp_reserve(cdns_query_t *q, uint16_t n);

void cdns_resp_set_rcode(cdns_query_t *q, uint16_t rcode);
/* Set and clear header flag bits (CDNS_FLAG_*). */
void cdns_resp_set_flags(cdns_query_t *q, uint16_t set, uint16_t clear);
/* Attach an Extended DNS Error (RFC 8914) to the response if the client sent EDNS. */
void cdns_resp_set_ede(cdns_query_t *q, uint16_t info, const char *text);

/* Hand over a finished response message (a cache hit, an upstream's answer). It is copied;
 * the core rewrites the ID and the question's case to the client's. Returns 0, CDNS_EFORMAT
 * (not a message for this question), or CDNS_ESPACE (larger than resp_max: the caller may
 * set TC instead). */
int cdns_resp_set_wire(cdns_query_t *q, const uint8_t *wire, size_t len);

/* The response as it will leave (after the core adds OPT), for response hooks. */
static inline const uint8_t *cdns_resp_wire(const cdns_query_t *q)
{
	return q->resp.wire;
}
static inline uint16_t cdns_resp_len(const cdns_query_t *q)
{
	return q->resp.len;
}

#endif
