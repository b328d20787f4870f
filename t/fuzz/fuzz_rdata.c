/* libFuzzer harness for the RDATA presentation and wire code (sdk/lib/rdata.c, base.c).
 *
 * Input: two octets choosing the RR type, then the body. Below 0x8000 the two octets index
 * the list of types below (so most inputs exercise a real layout); from 0x8000 up the value
 * itself is the type (unknown types, TA, DLV, ...).
 *
 * The body is used twice:
 *   - as presentation text: if cdns_rdata_from_text accepts it, the wire must pass
 *     cdns_rdata_check, print, and parse back from its text to the very same octets;
 *   - as wire RDATA: cdns_rdata_to_text must always print it (generic form at worst); when
 *     cdns_rdata_check accepts it, the text must parse back to the same octets, and when it
 *     does not, the generic text must be refused for types that have a layout.
 * Output-buffer limits are probed at the exact text length, and the base encodings must
 * round-trip whatever they accept. Any broken invariant aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
    CDNS_T_A,     CDNS_T_NS,     CDNS_T_MD,    CDNS_T_MF,       CDNS_T_CNAME,
    CDNS_T_SOA,   CDNS_T_MB,     CDNS_T_MG,    CDNS_T_MR,       CDNS_T_NULL,
    CDNS_T_PTR,   CDNS_T_HINFO,  CDNS_T_MINFO, CDNS_T_MX,       CDNS_T_TXT,
    CDNS_T_RP,    CDNS_T_AFSDB,  CDNS_T_RT,    CDNS_T_SIG,      CDNS_T_KEY,
    CDNS_T_PX,    CDNS_T_AAAA,   CDNS_T_LOC,   CDNS_T_NXT,      CDNS_T_SRV,
    CDNS_T_NAPTR, CDNS_T_KX,     CDNS_T_CERT,  38 /* A6 */,     CDNS_T_DNAME,
    CDNS_T_OPT,   CDNS_T_DS,     CDNS_T_SSHFP, CDNS_T_IPSECKEY, CDNS_T_RRSIG,
    CDNS_T_NSEC,  CDNS_T_DNSKEY, CDNS_T_DHCID, CDNS_T_NSEC3,    CDNS_T_NSEC3PARAM,
    CDNS_T_TLSA,  CDNS_T_SMIMEA, CDNS_T_CDS,   CDNS_T_CDNSKEY,  CDNS_T_OPENPGPKEY,
    CDNS_T_CSYNC, CDNS_T_ZONEMD, CDNS_T_SVCB,  CDNS_T_HTTPS,    CDNS_T_SPF,
    CDNS_T_EUI48, CDNS_T_EUI64,  CDNS_T_TKEY,  CDNS_T_TSIG,     CDNS_T_URI,
    CDNS_T_CAA,   CDNS_T_WKS,    CDNS_T_APL,   65400,
};

static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Worst case text: every octet as "\DDD" inside quotes, plus field separators. */
#define TEXT_MAX (CDNS_RDATA_MAXLEN * 5 + 1024)

static uint8_t w1[CDNS_RDATA_MAXLEN], w2[CDNS_RDATA_MAXLEN], w3[CDNS_RDATA_MAXLEN];
static char txt[TEXT_MAX], small[TEXT_MAX];

/* Print, probe the exact buffer size, parse back; the result must be the same octets. */
static void print_and_reparse(uint16_t type, const uint8_t *wire, size_t n, int must_reparse)
{
	int tl = cdns_rdata_to_text(type, wire, n, txt, sizeof(txt));
	CHECK(tl >= 0 && (size_t)tl == strlen(txt));
	CHECK(cdns_rdata_to_text(type, wire, n, small, (size_t)tl + 1) == tl);
	CHECK(memcmp(small, txt, (size_t)tl + 1) == 0);
	CHECK(cdns_rdata_to_text(type, wire, n, small, (size_t)tl) == CDNS_ESPACE);

	cdns_text_err_t err;
	int n2 = cdns_rdata_from_text(type, txt, (size_t)tl, NULL, w2, sizeof(w2), &err);
	if (!must_reparse) {
		CHECK(n2 == CDNS_ESYNTAX);
		return;
	}
	if (n2 < 0) {
		fprintf(stderr, "type %u: cannot reparse '%.200s': %s\n", type, txt, err.msg);
		abort();
	}
	CHECK((size_t)n2 == n && memcmp(wire, w2, n) == 0);
}

static void base_roundtrips(const char *s, size_t n)
{
	static uint8_t dec[4096];
	static char enc[8192];
	static uint8_t dec2[4096];
	int d, e;

	if (n > 2048)
		return;
	d = cdns_base64_decode(s, n, dec, sizeof(dec));
	if (d >= 0) {
		e = cdns_base64_encode(dec, (size_t)d, enc, sizeof(enc));
		CHECK(e >= 0 && (size_t)e == n);
		CHECK(cdns_base64_decode(enc, (size_t)e, dec2, sizeof(dec2)) == d);
		CHECK(memcmp(dec, dec2, (size_t)d) == 0);
	}
	d = cdns_base32hex_decode(s, n, dec, sizeof(dec));
	if (d >= 0) {
		e = cdns_base32hex_encode(dec, (size_t)d, enc, sizeof(enc));
		CHECK(e >= 0 && (size_t)e == n);
		CHECK(cdns_base32hex_decode(enc, (size_t)e, dec2, sizeof(dec2)) == d);
		CHECK(memcmp(dec, dec2, (size_t)d) == 0);
	}
	d = cdns_hex_decode(s, n, dec, sizeof(dec));
	if (d >= 0) {
		e = cdns_hex_encode(dec, (size_t)d, enc, sizeof(enc));
		CHECK(e >= 0 && (size_t)e == n);
		CHECK(cdns_hex_decode(enc, (size_t)e, dec2, sizeof(dec2)) == d);
		CHECK(memcmp(dec, dec2, (size_t)d) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned sel = (unsigned)data[0] << 8 | data[1];
	uint16_t type =
	    sel < 0x8000 ? types[sel % (sizeof(types) / sizeof(types[0]))] : (uint16_t)sel;
	const uint8_t *body = data + 2;
	size_t blen = size - 2;

	/* 1. The body as presentation text. */
	cdns_text_err_t err;
	int n = cdns_rdata_from_text(type, (const char *)body, blen, origin, w1, sizeof(w1), &err);
	if (n < 0) {
		CHECK(n == CDNS_ESYNTAX);
		CHECK(err.msg[0] != '\0' && err.offset <= blen);
	} else {
		CHECK(n <= CDNS_RDATA_MAXLEN);
		CHECK(cdns_rdata_check(type, w1, (size_t)n) == 0);
		print_and_reparse(type, w1, (size_t)n, 1);
		/* A smaller output buffer fails cleanly. */
		if (n > 0)
			CHECK(cdns_rdata_from_text(type, (const char *)body, blen, origin, w3,
			                           (size_t)n - 1, NULL) == CDNS_ESPACE);
		memcpy(w3, w1, (size_t)n);
		cdns_rdata_canonicalize(type, w3, (size_t)n);
		CHECK(cdns_rdata_check(type, w3, (size_t)n) == 0);
	}

	/* 2. The body as wire RDATA (copied so that reads past its end are caught). */
	if (blen <= CDNS_RDATA_MAXLEN) {
		uint8_t *wire = malloc(blen ? blen : 1);
		if (wire == NULL)
			return 0;
		memcpy(wire, body, blen);
		int ok = cdns_rdata_check(type, wire, blen) == 0;
		print_and_reparse(type, wire, blen, ok);
		cdns_rdata_canonicalize(type, wire, blen);
		CHECK((cdns_rdata_check(type, wire, blen) == 0) == ok);
		free(wire);
	}

	base_roundtrips((const char *)body, blen);
	return 0;
}
