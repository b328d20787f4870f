/* RR type and class mnemonics (IANA "Resource Record (RR) TYPEs" and "DNS CLASSes"), with the
 * RFC 3597 §5 "TYPEnnn" / "CLASSnnn" forms for the numbers that have no mnemonic. */
#include <stdio.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/rrtype.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

typedef struct cdns__mnemonic {
	uint16_t value;
	const char *name;
} cdns__mnemonic_t;

/* Every type of rrtype.h, plus a few registered ones that only ever travel in generic form here
 * but deserve their name when printed. */
static const cdns__mnemonic_t cdns__types[] = {
    {CDNS_T_A, "A"},
    {CDNS_T_NS, "NS"},
    {CDNS_T_MD, "MD"},
    {CDNS_T_MF, "MF"},
    {CDNS_T_CNAME, "CNAME"},
    {CDNS_T_SOA, "SOA"},
    {CDNS_T_MB, "MB"},
    {CDNS_T_MG, "MG"},
    {CDNS_T_MR, "MR"},
    {CDNS_T_NULL, "NULL"},
    {CDNS_T_WKS, "WKS"},
    {CDNS_T_PTR, "PTR"},
    {CDNS_T_HINFO, "HINFO"},
    {CDNS_T_MINFO, "MINFO"},
    {CDNS_T_MX, "MX"},
    {CDNS_T_TXT, "TXT"},
    {CDNS_T_RP, "RP"},
    {CDNS_T_AFSDB, "AFSDB"},
    {19, "X25"},
    {20, "ISDN"},
    {CDNS_T_RT, "RT"},
    {22, "NSAP"},
    {23, "NSAP-PTR"},
    {CDNS_T_SIG, "SIG"},
    {CDNS_T_KEY, "KEY"},
    {CDNS_T_PX, "PX"},
    {27, "GPOS"},
    {CDNS_T_AAAA, "AAAA"},
    {CDNS_T_LOC, "LOC"},
    {CDNS_T_NXT, "NXT"},
    {CDNS_T_SRV, "SRV"},
    {34, "ATMA"},
    {CDNS_T_NAPTR, "NAPTR"},
    {CDNS_T_KX, "KX"},
    {CDNS_T_CERT, "CERT"},
    {38, "A6"},
    {CDNS_T_DNAME, "DNAME"},
    {40, "SINK"},
    {CDNS_T_OPT, "OPT"},
    {CDNS_T_APL, "APL"},
    {CDNS_T_DS, "DS"},
    {CDNS_T_SSHFP, "SSHFP"},
    {CDNS_T_IPSECKEY, "IPSECKEY"},
    {CDNS_T_RRSIG, "RRSIG"},
    {CDNS_T_NSEC, "NSEC"},
    {CDNS_T_DNSKEY, "DNSKEY"},
    {CDNS_T_DHCID, "DHCID"},
    {CDNS_T_NSEC3, "NSEC3"},
    {CDNS_T_NSEC3PARAM, "NSEC3PARAM"},
    {CDNS_T_TLSA, "TLSA"},
    {CDNS_T_SMIMEA, "SMIMEA"},
    {55, "HIP"},
    {56, "NINFO"},
    {57, "RKEY"},
    {58, "TALINK"},
    {CDNS_T_CDS, "CDS"},
    {CDNS_T_CDNSKEY, "CDNSKEY"},
    {CDNS_T_OPENPGPKEY, "OPENPGPKEY"},
    {CDNS_T_CSYNC, "CSYNC"},
    {CDNS_T_ZONEMD, "ZONEMD"},
    {CDNS_T_SVCB, "SVCB"},
    {CDNS_T_HTTPS, "HTTPS"},
    {CDNS_T_SPF, "SPF"},
    {104, "NID"},
    {105, "L32"},
    {106, "L64"},
    {107, "LP"},
    {CDNS_T_EUI48, "EUI48"},
    {CDNS_T_EUI64, "EUI64"},
    {CDNS_T_TKEY, "TKEY"},
    {CDNS_T_TSIG, "TSIG"},
    {CDNS_T_IXFR, "IXFR"},
    {CDNS_T_AXFR, "AXFR"},
    {CDNS_T_MAILB, "MAILB"},
    {CDNS_T_MAILA, "MAILA"},
    {CDNS_T_ANY, "ANY"},
    {CDNS_T_URI, "URI"},
    {CDNS_T_CAA, "CAA"},
    {258, "AVC"},
    {259, "DOA"},
    {260, "AMTRELAY"},
    {261, "RESINFO"},
    {32768, "TA"},
    {32769, "DLV"},
};

static const cdns__mnemonic_t cdns__classes[] = {
    {CDNS_C_IN, "IN"},     {CDNS_C_CH, "CH"},   {CDNS_C_HS, "HS"},
    {CDNS_C_NONE, "NONE"}, {CDNS_C_ANY, "ANY"},
};

#define CDNS__COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *cdns__name_of(const cdns__mnemonic_t *tab, size_t n, uint16_t value)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].value == value)
			return tab[i].name;
	return NULL;
}

static int cdns__ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'a' && x <= 'z')
			x = (unsigned char)(x - 'a' + 'A');
		if (x != y)
			return 0;
	}
	return 1;
}

/* "<prefix>nnn" with 1 to 5 decimal digits and a value that fits 16 bits (RFC 3597 §5). */
static int cdns__numbered(const char *text, size_t len, const char *prefix, uint16_t *value)
{
	size_t plen = strlen(prefix);
	uint32_t v = 0;

	if (len <= plen || len > plen + 5 || !cdns__ieq(text, plen, prefix))
		return CDNS_ESYNTAX;
	for (size_t i = plen; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return CDNS_ESYNTAX;
		v = v * 10 + (uint32_t)(text[i] - '0');
	}
	if (v > 65535)
		return CDNS_ESYNTAX;
	*value = (uint16_t)v;
	return 0;
}

static int cdns__from_text(const cdns__mnemonic_t *tab, size_t n, const char *prefix,
                           const char *text, size_t len, uint16_t *value)
{
	if (text == NULL || value == NULL)
		return CDNS_ESYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (cdns__ieq(text, len, tab[i].name)) {
			*value = tab[i].value;
			return 0;
		}
	}
	return cdns__numbered(text, len, prefix, value);
}

static int cdns__to_text(const char *name, const char *prefix, uint16_t value, char *out,
                         size_t outlen)
{
	int n;

	if (name != NULL)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%s%u", prefix, (unsigned)value);
	if (n < 0 || (size_t)n >= outlen)
		return CDNS_ESPACE;
	return n;
}

const char *cdns_rrtype_name(uint16_t type)
{
	return cdns__name_of(cdns__types, CDNS__COUNT(cdns__types), type);
}

int cdns_rrtype_to_text(uint16_t type, char *out, size_t outlen)
{
	return cdns__to_text(cdns_rrtype_name(type), "TYPE", type, out, outlen);
}

int cdns_rrtype_from_text(const char *text, size_t len, uint16_t *type)
{
	return cdns__from_text(cdns__types, CDNS__COUNT(cdns__types), "TYPE", text, len, type);
}

const char *cdns_rrclass_name(uint16_t rclass)
{
	return cdns__name_of(cdns__classes, CDNS__COUNT(cdns__classes), rclass);
}

int cdns_rrclass_to_text(uint16_t rclass, char *out, size_t outlen)
{
	return cdns__to_text(cdns_rrclass_name(rclass), "CLASS", rclass, out, outlen);
}

int cdns_rrclass_from_text(const char *text, size_t len, uint16_t *rclass)
{
	return cdns__from_text(cdns__classes, CDNS__COUNT(cdns__classes), "CLASS", text, len,
	                       rclass);
}

int cdns_rrtype_is_meta(uint16_t type)
{
	switch (type) {
	case CDNS_T_OPT:
	case CDNS_T_TKEY:
	case CDNS_T_TSIG:
	case CDNS_T_IXFR:
	case CDNS_T_AXFR:
	case CDNS_T_MAILB:
	case CDNS_T_MAILA:
	case CDNS_T_ANY: return 1;
	default: return 0;
	}
}

#pragma GCC visibility pop
