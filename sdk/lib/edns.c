/* EDNS(0) (RFC 6891): reading the OPT pseudo-record of a request and writing one. */
#include <string.h>

#include <clouddns/edns.h>
#include <clouddns/error.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

int cdns_edns_next_option(const uint8_t *opts, uint16_t opts_len, uint16_t *pos, uint16_t *code,
                          const uint8_t **data, uint16_t *len)
{
	size_t p = *pos;

	if (p >= opts_len)
		return 0;
	/* RFC 6891 §6.1.2: OPTION-CODE, OPTION-LENGTH, then that many octets, all inside
	 * RDATA. */
	if (opts_len - p < 4)
		return CDNS_EFORMAT;
	uint16_t olen = cdns_get16(opts + p + 2);
	if (opts_len - p - 4 < olen)
		return CDNS_EFORMAT;
	*code = cdns_get16(opts + p);
	*len = olen;
	*data = opts + p + 4;
	*pos = (uint16_t)(p + 4 + olen);
	return 1;
}

int cdns_edns_parse(cdns_edns_t *e, const struct cdns_rr *rr)
{
	memset(e, 0, sizeof(*e));
	/* RFC 6891 §6.1.2: the owner of OPT is the root. */
	if (rr->type != CDNS_T_OPT || rr->owner_len != 1 || rr->owner[0] != 0)
		return CDNS_EFORMAT;
	e->udp_size = rr->rclass;
	/* RFC 6891 §6.1.3: TTL = EXTENDED-RCODE(8) | VERSION(8) | DO(1) | Z(15). */
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->flags = (uint16_t)rr->ttl;
	e->do_bit = (e->flags & 0x8000) != 0;
	e->options = rr->rdlen > 0 ? rr->rdata : NULL;
	e->options_len = rr->rdlen;

	uint16_t pos = 0, code, len;
	const uint8_t *data;
	int r;
	while ((r = cdns_edns_next_option(rr->rdata, rr->rdlen, &pos, &code, &data, &len)) > 0) {
		switch (code) {
		case CDNS_EDNS_NSID:
			/* RFC 5001 §2.1: a request carries an empty NSID option. */
			if (len != 0)
				return CDNS_EFORMAT;
			e->nsid = true;
			break;
		case CDNS_EDNS_COOKIE:
			/* RFC 7873 §5.2.2: a client cookie alone (8) or with a server cookie of
			 * 8 to 32 octets (16..40); any other length is FORMERR. The first
			 * COOKIE option counts. */
			if (len != 8 && (len < 16 || len > 40))
				return CDNS_EFORMAT;
			if (e->cookie == NULL) {
				e->cookie = data;
				e->cookie_len = (uint8_t)len;
			}
			break;
		case CDNS_EDNS_CLIENT_SUBNET:
			/* RFC 7871 §6: FAMILY(2), SOURCE PREFIX(1), SCOPE PREFIX(1), then at
			 * most an IPv6 address; the plugin that uses it checks the rest. */
			if (len < 4 || len > 4 + 16)
				return CDNS_EFORMAT;
			if (e->ecs == NULL) {
				e->ecs = data;
				e->ecs_len = (uint8_t)len;
			}
			break;
		default:
			/* RFC 6891 §6.1.2: unknown options are ignored. */
			break;
		}
	}
	if (r < 0)
		return r;
	e->present = true;
	return 0;
}

int cdns_opt_begin(cdns_opt_writer_t *w, uint8_t *buf, uint16_t cap, uint16_t udp_size,
                   uint8_t ext_rcode, uint8_t version, uint16_t flags)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	if (buf == NULL || cap < CDNS_OPT_BASE_LEN)
		return CDNS_ESPACE;
	buf[0] = 0; /* root owner */
	cdns_put16(buf + 1, CDNS_T_OPT);
	cdns_put16(buf + 3, udp_size);
	cdns_put32(buf + 5, ((uint32_t)ext_rcode << 24) | ((uint32_t)version << 16) | flags);
	cdns_put16(buf + 9, 0);
	w->len = CDNS_OPT_BASE_LEN;
	return 0;
}

int cdns_opt_add(cdns_opt_writer_t *w, uint16_t code, const void *data, uint16_t len)
{
	if (w->len < CDNS_OPT_BASE_LEN || (data == NULL && len > 0))
		return CDNS_EINVAL;
	if ((size_t)w->cap - w->len < 4 + (size_t)len)
		return CDNS_ESPACE;
	uint8_t *p = w->buf + w->len;
	cdns_put16(p, code);
	cdns_put16(p + 2, len);
	if (len > 0)
		memcpy(p + 4, data, len);
	w->len = (uint16_t)(w->len + 4 + len);
	return 0;
}

int cdns_opt_add_ede(cdns_opt_writer_t *w, uint16_t info, const char *text)
{
	size_t tlen = text != NULL ? strlen(text) : 0;

	if (w->len < CDNS_OPT_BASE_LEN)
		return CDNS_EINVAL;
	/* RFC 8914 §2: INFO-CODE(2) then EXTRA-TEXT, not NUL-terminated. */
	if ((size_t)w->cap - w->len < 4 + 2 + tlen)
		return CDNS_ESPACE;
	uint8_t *p = w->buf + w->len;
	cdns_put16(p, CDNS_EDNS_EDE);
	cdns_put16(p + 2, (uint16_t)(2 + tlen));
	cdns_put16(p + 4, info);
	if (tlen > 0)
		memcpy(p + 6, text, tlen);
	w->len = (uint16_t)(w->len + 6 + tlen);
	return 0;
}

uint16_t cdns_opt_finish(cdns_opt_writer_t *w)
{
	if (w->len < CDNS_OPT_BASE_LEN)
		return 0;
	cdns_put16(w->buf + 9, (uint16_t)(w->len - CDNS_OPT_BASE_LEN));
	return w->len;
}

#pragma GCC visibility pop
