/* RR types and classes: numbers and mnemonics (IANA "Resource Record (RR) TYPEs"). */
#ifndef CLOUDDNS_RRTYPE_H
#define CLOUDDNS_RRTYPE_H

#include <stddef.h>
#include <stdint.h>

enum {
	CDNS_T_A = 1,
	CDNS_T_NS = 2,
	CDNS_T_MD = 3,
	CDNS_T_MF = 4,
	CDNS_T_CNAME = 5,
	CDNS_T_SOA = 6,
	CDNS_T_MB = 7,
	CDNS_T_MG = 8,
	CDNS_T_MR = 9,
	CDNS_T_NULL = 10,
	CDNS_T_WKS = 11,
	CDNS_T_PTR = 12,
	CDNS_T_HINFO = 13,
	CDNS_T_MINFO = 14,
	CDNS_T_MX = 15,
	CDNS_T_TXT = 16,
	CDNS_T_RP = 17,
	CDNS_T_AFSDB = 18,
	CDNS_T_RT = 21,
	CDNS_T_SIG = 24,
	CDNS_T_KEY = 25,
	CDNS_T_PX = 26,
	CDNS_T_AAAA = 28,
	CDNS_T_LOC = 29,
	CDNS_T_NXT = 30,
	CDNS_T_SRV = 33,
	CDNS_T_NAPTR = 35,
	CDNS_T_KX = 36,
	CDNS_T_CERT = 37,
	CDNS_T_DNAME = 39,
	CDNS_T_OPT = 41,
	CDNS_T_APL = 42,
	CDNS_T_DS = 43,
	CDNS_T_SSHFP = 44,
	CDNS_T_IPSECKEY = 45,
	CDNS_T_RRSIG = 46,
	CDNS_T_NSEC = 47,
	CDNS_T_DNSKEY = 48,
	CDNS_T_DHCID = 49,
	CDNS_T_NSEC3 = 50,
	CDNS_T_NSEC3PARAM = 51,
	CDNS_T_TLSA = 52,
	CDNS_T_SMIMEA = 53,
	CDNS_T_CDS = 59,
	CDNS_T_CDNSKEY = 60,
	CDNS_T_OPENPGPKEY = 61,
	CDNS_T_CSYNC = 62,
	CDNS_T_ZONEMD = 63,
	CDNS_T_SVCB = 64,
	CDNS_T_HTTPS = 65,
	CDNS_T_SPF = 99,
	CDNS_T_EUI48 = 108,
	CDNS_T_EUI64 = 109,
	CDNS_T_TKEY = 249,
	CDNS_T_TSIG = 250,
	CDNS_T_IXFR = 251,
	CDNS_T_AXFR = 252,
	CDNS_T_MAILB = 253,
	CDNS_T_MAILA = 254,
	CDNS_T_ANY = 255,
	CDNS_T_URI = 256,
	CDNS_T_CAA = 257,
};

enum {
	CDNS_C_IN = 1,
	CDNS_C_CH = 3,
	CDNS_C_HS = 4,
	CDNS_C_NONE = 254,
	CDNS_C_ANY = 255,
};

/* Mnemonic of a type ("A", "NSEC3PARAM") or NULL if it has none. */
const char *cdns_rrtype_name(uint16_t type);
/* Write the mnemonic, or "TYPEnnn" (RFC 3597 §5) for a type without one. Returns the length
 * or CDNS_ESPACE. */
int cdns_rrtype_to_text(uint16_t type, char *out, size_t outlen);
/* Parse a mnemonic (case-insensitive) or "TYPEnnn". Returns 0 or CDNS_ESYNTAX. */
int cdns_rrtype_from_text(const char *text, size_t len, uint16_t *type);

/* The same for classes: "IN", "CH", "HS", "NONE", "ANY", "CLASSnnn". */
const char *cdns_rrclass_name(uint16_t rclass);
int cdns_rrclass_to_text(uint16_t rclass, char *out, size_t outlen);
int cdns_rrclass_from_text(const char *text, size_t len, uint16_t *rclass);

/* True for QTYPE-only and pseudo types that never live in a zone: OPT, TKEY, TSIG, IXFR, AXFR,
 * MAILB, MAILA, ANY. */
int cdns_rrtype_is_meta(uint16_t type);

#endif
