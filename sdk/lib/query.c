/* Building the response of a query: thin, allocation-free helpers over the message builder. */
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/query.h>

void *cdns_query_alloc(cdns_query_t *q, size_t size)
{
	size_t at = (q->arena_used + 15) & ~(size_t)15;
	if (at > q->arena_cap || size > q->arena_cap - at)
		return NULL;
	q->arena_used = at + size;
	return q->arena + at;
}

/* Bytes kept free at the end of the response: the OPT record the core appends, and what
 * response hooks asked for. */
static uint16_t opt_reserve(const cdns_query_t *q)
{
	return (uint16_t)((q->edns_reply ? CDNS_OPT_BASE_LEN : 0) + q->resp_reserve);
}

int cdns_resp_reserve(cdns_query_t *q, uint16_t n)
{
	uint32_t reserve = (uint32_t)opt_reserve(q) + n;
	if (reserve + q->resp.len > q->resp_max)
		return CDNS_ESPACE;
	q->resp_reserve = (uint16_t)(q->resp_reserve + n);
	if (q->resp.limit > q->resp_max - reserve)
		cdns_pkt_set_limit(&q->resp, (uint16_t)(q->resp_max - reserve));
	return 0;
}

void cdns_resp_reset(cdns_query_t *q)
{
	cdns_pkt_init(&q->resp, q->resp.wire, q->resp.cap);
	uint16_t reserve = opt_reserve(q);
	cdns_pkt_set_limit(&q->resp, reserve < q->resp_max ? (uint16_t)(q->resp_max - reserve) : 0);
	cdns_pkt_set_id(&q->resp, q->id);
	/* RFC 1035 §4.1.1: RD is copied; RFC 4035 §3.1.6: so is CD. */
	cdns_pkt_set_flags(&q->resp, (uint16_t)(CDNS_FLAG_QR | (q->flags & (0x7800 | CDNS_FLAG_RD |
									       CDNS_FLAG_CD))));
	q->rcode = CDNS_RCODE_NOERROR;
	q->ede = -1;
	q->ede_text = NULL;
	q->resp_wire_set = 0;
	if (q->qname_len > 0) {
		/* Echo the question with the client's case (RFC 4343 §4.1), read in place: the
		 * first name of a message cannot be compressed (nothing precedes it to point
		 * to). Unpacking stays as the fallback for a hand-made cdns_query_t. */
		const uint8_t *wire = q->msg.wire;
		if (q->qname_off + q->qname_len <= q->msg.len &&
		    cdns_name_check(wire + q->qname_off, q->qname_len) == q->qname_len) {
			(void)cdns_pkt_put_question(&q->resp, wire + q->qname_off, q->qtype,
						    q->qclass);
		} else {
			uint8_t name[CDNS_NAME_MAXLEN];
			size_t pos = q->qname_off;
			if (cdns_name_unpack(wire, q->msg.len, &pos, name) > 0)
				(void)cdns_pkt_put_question(&q->resp, name, q->qtype, q->qclass);
		}
	}
}

int cdns_resp_add(cdns_query_t *q, int section, const uint8_t *owner, uint16_t type,
		  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	return cdns_pkt_put_rr(&q->resp, section, owner, type, rclass, ttl, rdata, rdlen);
}

void cdns_resp_set_rcode(cdns_query_t *q, uint16_t rcode)
{
	q->rcode = rcode & 0xfff;
}

void cdns_resp_set_flags(cdns_query_t *q, uint16_t set, uint16_t clear)
{
	uint16_t f = cdns_pkt_flags(&q->resp);
	cdns_pkt_set_flags(&q->resp, (uint16_t)((f & ~clear) | set));
}

void cdns_resp_set_ede(cdns_query_t *q, uint16_t info, const char *text)
{
	q->ede = info;
	q->ede_text = text;
}

int cdns_resp_set_wire(cdns_query_t *q, const uint8_t *wire, size_t len)
{
	if (len < CDNS_HDR_LEN || cdns_get16(wire + 4) != 1 || q->qname_len == 0)
		return CDNS_EFORMAT;
	/* The question must be ours: same name (any case, uncompressed), type and class. */
	size_t qend = CDNS_HDR_LEN + q->qname_len + 4;
	if (len < qend || cdns_name_check(wire + CDNS_HDR_LEN, len - CDNS_HDR_LEN) != q->qname_len)
		return CDNS_EFORMAT;
	if (!cdns_name_equal(wire + CDNS_HDR_LEN, q->qname) ||
	    cdns_get16(wire + CDNS_HDR_LEN + q->qname_len) != q->qtype ||
	    cdns_get16(wire + CDNS_HDR_LEN + q->qname_len + 2) != q->qclass)
		return CDNS_EFORMAT;
	if (len > q->resp_max)
		return CDNS_ESPACE;
	memcpy(q->resp.wire, wire, len);
	q->resp.len = (uint16_t)len;
	q->resp.limit = (uint16_t)len;
	cdns_pkt_set_id(&q->resp, q->id);
	/* The client's case: same length, so copy the name bytes as the client sent them. */
	size_t pos = q->qname_off;
	uint8_t name[CDNS_NAME_MAXLEN];
	if (cdns_name_unpack(q->msg.wire, q->msg.len, &pos, name) == q->qname_len)
		memcpy(q->resp.wire + CDNS_HDR_LEN, name, q->qname_len);
	q->resp_wire_set = 1;
	return 0;
}

int cdns_query_stream(cdns_query_t *q, cdns_stream_cb cb, void *state)
{
	if (!cdns_query_is_tcp(q))
		return CDNS_ENOTSUP;
	q->stream_cb = cb;
	q->stream_state = state;
	q->stream_pos = q->pos;
	return 0;
}

int cdns_query_on_done(cdns_query_t *q, void (*fn)(void *arg), void *arg)
{
	if (q->n_done >= sizeof(q->done_cb) / sizeof(q->done_cb[0]))
		return CDNS_ELIMIT;
	q->done_cb[q->n_done] = fn;
	q->done_arg[q->n_done] = arg;
	q->n_done++;
	return 0;
}
