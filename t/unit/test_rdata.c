/* RDATA presentation <-> wire, checks, canonical form, RR type mnemonics and the base
 * encodings. Expected wire forms come from the RFCs' examples where they give one (RFC 4034
 * §2.3, §3.3, §4.3, §5.4; RFC 5155 Appendix A; RFC 9460 Appendix D; RFC 1876; RFC 4025 ...). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <clouddns/error.h>
#include <clouddns/rdata.h>
#include <clouddns/wire.h>
#include <clouddns/rrtype.h>

static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};

/* Hex written in the tests, independent of the library's decoder; blanks are skipped. */
static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

typedef struct rt_case {
	uint16_t type;
	const char *text;
	const char *wire; /* expected wire in hex, or NULL */
	const char *out;  /* expected presentation, or NULL when it is text itself */
} rt_case_t;

/* text -> wire (== expected) -> text (== expected) -> wire (identical), and the wire checks. */
static void roundtrip(const rt_case_t *c)
{
	static uint8_t w1[65536], w2[65536], exp[65536];
	static char txt[200000];
	cdns_text_err_t err;
	char tname[16];

	cdns_rrtype_to_text(c->type, tname, sizeof(tname));
	int n1 =
	    cdns_rdata_from_text(c->type, c->text, strlen(c->text), origin, w1, sizeof(w1), &err);
	if (n1 < 0)
		fail_msg("%s %s: parse failed at %zu: %s", tname, c->text, err.offset, err.msg);
	if (c->wire != NULL) {
		size_t en = unhex(c->wire, exp);
		if ((size_t)n1 != en || memcmp(w1, exp, en) != 0) {
			char got[2 * 4096 + 1];
			cdns_hex_encode(w1, (size_t)n1 < 4096 ? (size_t)n1 : 4096, got,
			                sizeof(got));
			fail_msg("%s %s: wire %s, expected %s", tname, c->text, got, c->wire);
		}
	}
	assert_int_equal(cdns_rdata_check(c->type, w1, (size_t)n1), 0);
	int tl = cdns_rdata_to_text(c->type, w1, (size_t)n1, txt, sizeof(txt));
	assert_true(tl >= 0);
	assert_int_equal((size_t)tl, strlen(txt));
	const char *want = c->out != NULL ? c->out : c->text;
	if (strcmp(txt, want) != 0)
		fail_msg("%s %s: printed '%s', expected '%s'", tname, c->text, txt, want);
	int n2 = cdns_rdata_from_text(c->type, txt, (size_t)tl, NULL, w2, sizeof(w2), &err);
	if (n2 < 0)
		fail_msg("%s '%s': reparse failed at %zu: %s", tname, txt, err.offset, err.msg);
	assert_int_equal(n1, n2);
	assert_memory_equal(w1, w2, (size_t)n1);

	/* The generic form of the same RDATA parses to the same wire. */
	int gl = snprintf(txt, sizeof(txt), "\\# %d ", n1);
	cdns_hex_encode(w1, (size_t)n1, txt + gl, sizeof(txt) - (size_t)gl);
	n2 = cdns_rdata_from_text(c->type, txt, strlen(txt), NULL, w2, sizeof(w2), &err);
	if (n2 < 0)
		fail_msg("%s generic '%s': %s", tname, txt, err.msg);
	assert_int_equal(n1, n2);
	assert_memory_equal(w1, w2, (size_t)n1);

	/* Canonical form keeps the RDATA well-formed. */
	cdns_rdata_canonicalize(c->type, w1, (size_t)n1);
	assert_int_equal(cdns_rdata_check(c->type, w1, (size_t)n1), 0);
}

static void run_cases(const rt_case_t *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		roundtrip(&cases[i]);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- RFC 1035 types ---- */

static void test_rfc1035_types(void **state)
{
	(void)state;
	static const rt_case_t cases[] = {
	    {CDNS_T_A, "192.0.2.1", "c0000201", NULL},
	    {CDNS_T_A, "\\# 4 0a000001", "0a000001", "10.0.0.1"},
	    {CDNS_T_A, "\\# 4 0A 00 00 01", "0a000001", "10.0.0.1"},
	    {CDNS_T_AAAA, "2001:db8::1", "20010db8000000000000000000000001", NULL},
	    {CDNS_T_AAAA, "::", "00000000000000000000000000000000", NULL},
	    {CDNS_T_AAAA, "::FFFF:192.0.2.1", "00000000000000000000ffffc0000201",
	     "::ffff:192.0.2.1"},
	    {CDNS_T_AAAA, "2001:DB8:0:0:1:0:0:1", "20010db8000000000001000000000001",
	     "2001:db8::1:0:0:1"},
	    {CDNS_T_DNAME, "dname.example.", "05646e616d65076578616d706c6500", NULL},
	    {CDNS_T_NS, "ns1", "036e7331 076578616d706c65 03636f6d 00", "ns1.example.com."},
	    {CDNS_T_NS, "@", "076578616d706c6503636f6d00", "example.com."},
	    {CDNS_T_MD, "md.example.", NULL, NULL},
	    {CDNS_T_MF, "mf.example.", NULL, NULL},
	    {CDNS_T_CNAME, "Www.Example.ORG.", "03577777074578616d706c65034f524700", NULL},
	    {CDNS_T_SOA, "ns1 hostmaster 2024010101 7200 3600 1209600 300",
	     "036e7331076578616d706c6503636f6d00 0a686f73746d6173746572076578616d706c6503636f6d00"
	     "78a3f175 00001c20 00000e10 00127500 0000012c",
	     "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
	    {CDNS_T_SOA, ". . 0 0 0 0 4294967295",
	     "00 00 00000000 00000000 00000000 00000000 ffffffff", NULL},
	    {CDNS_T_MB, "mb.example.", NULL, NULL},
	    {CDNS_T_MG, "mg.example.", NULL, NULL},
	    {CDNS_T_MR, "mr.example.", NULL, NULL},
	    {CDNS_T_PTR, "host.example.", "04686f7374076578616d706c6500", NULL},
	    {CDNS_T_HINFO, "\"PC\" \"Linux 6\"", "025043 074c696e75782036", NULL},
	    {CDNS_T_HINFO, "PC Linux", "025043 054c696e7578", "\"PC\" \"Linux\""},
	    {CDNS_T_MINFO, "rm.example. em.example.", NULL, NULL},
	    {CDNS_T_MX, "10 mail", "000a 046d61696c076578616d706c6503636f6d00",
	     "10 mail.example.com."},
	    {CDNS_T_MX, "0 .", "0000 00", NULL},
	    {CDNS_T_TXT, "\"hello world\"", "0b68656c6c6f20776f726c64", NULL},
	    /* Escapes: \" \\ \DDD; unquoted strings; several strings; an empty one. */
	    {CDNS_T_TXT, "\"a\\\"b\\\\c\" plain \"\\255\\000\\010x\" \"\"",
	     "056122625c63 05706c61696e 04ff000a78 00",
	     "\"a\\\"b\\\\c\" \"plain\" \"\\255\\000\\010x\" \"\""},
	    {CDNS_T_TXT, "unquoted\\ blank \\\"q", "0e756e71756f74656420626c616e6b 02 2271",
	     "\"unquoted blank\" \"\\\"q\""},
	    {CDNS_T_TXT, "\"caf\\195\\169 \\t\"", "07636166c3a92074", "\"caf\\195\\169 t\""},
	};
	RUN(cases);
}

/* ---- service and mail types ---- */

static void test_service_types(void **state)
{
	(void)state;
	static const rt_case_t cases[] = {
	    {CDNS_T_RP, "mbox.example. txt.example.", NULL, NULL},
	    {CDNS_T_AFSDB, "1 afsdb.example.", "0001 056166736462076578616d706c6500", NULL},
	    {CDNS_T_RT, "10 relay.example.", NULL, NULL},
	    {CDNS_T_KX, "10 kx.example.", NULL, NULL},
	    {CDNS_T_PX, "10 map822.example. mapx400.example.", NULL, NULL},
	    /* RFC 2782 */
	    {CDNS_T_SRV, "0 5 389 ldap.example.com.",
	     "0000 0005 0185 046c646170076578616d706c6503636f6d00", NULL},
	    /* RFC 3403 §6.2, its backslashes escaped as a master file needs them. */
	    {CDNS_T_NAPTR, "100 10 \"\" \"\" \"!^urn:cid:.+@([^\\\\.]+\\\\.)(.*)$!\\\\2!i\" .",
	     "0064 000a 00 00 21 "
	     "215e75726e3a6369643a2e2b40285b5e5c2e5d2b5c2e29282e2a2924215c322169 00",
	     NULL},
	    /* "\." is a dot, as in names. */
	    {CDNS_T_NAPTR, "1 2 \"a\\.b\" \"\" \"\" .", "0001 0002 03612e62 00 00 00",
	     "1 2 \"a.b\" \"\" \"\" ."},
	    {CDNS_T_NAPTR,
	     "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:info@example.com!\" _sip._udp.example.com.",
	     "0064 000a 0153 075349502b443255 "
	     "1b215e2e2a24217369703a696e666f406578616d706c652e636f6d21"
	     "045f736970045f756470076578616d706c6503636f6d00",
	     NULL},
	    /* RFC 8659 §4.3 */
	    {CDNS_T_CAA, "0 issue \"ca.example.net\"",
	     "00 05 6973737565 63612e6578616d706c652e6e6574", NULL},
	    {CDNS_T_CAA, "128 tbs \"Unknown\"", "80 03746273 556e6b6e6f776e", NULL},
	    {CDNS_T_CAA, "0 issuewild \"\"", "00 09 697373756577696c64", NULL},
	    /* RFC 7553 §4.4 */
	    {CDNS_T_URI, "10 1 \"ftp://ftp1.example.com/public\"",
	     "000a 0001 6674703a2f2f667470312e6578616d706c652e636f6d2f7075626c6963", NULL},
	    {CDNS_T_SPF, "\"v=spf1 -all\"", "0b763d73706631202d616c6c", NULL},
	    /* RFC 4255 §3.3 */
	    {CDNS_T_SSHFP, "2 1 123456789abcdef67890123456789abcdef67890",
	     "0201123456789abcdef67890123456789abcdef67890",
	     "2 1 123456789ABCDEF67890123456789ABCDEF67890"},
	    /* RFC 6698 §2.3 */
	    {CDNS_T_TLSA, "0 0 1 d2abde240d7cd3ee6b4b28c54df034b9 7983a1d16e8a410e4561cb106618e971",
	     "000001d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971",
	     "0 0 1 D2ABDE240D7CD3EE6B4B28C54DF034B97983A1D16E8A410E4561CB106618E971"},
	    {CDNS_T_SMIMEA, "3 1 1 AABBCC", "030101aabbcc", NULL},
	    /* RFC 7043 §3.2, §4.2 */
	    {CDNS_T_EUI48, "00-00-5e-00-53-2a", "00005e00532a", NULL},
	    {CDNS_T_EUI64, "00-00-5E-EF-10-00-00-2A", "00005eef1000002a",
	     "00-00-5e-ef-10-00-00-2a"},
	    /* RFC 4701 §3.6 */
	    {CDNS_T_DHCID, "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
	     "000201636fc0b8271c82825bb1ac5c41cf5351aa69b4febd94e8f17cdb95000da48c40", NULL},
	    {CDNS_T_OPENPGPKEY, "mQENBFVH m5sBCADh", "99010d0455479b9b010800e1",
	     "mQENBFVHm5sBCADh"},
	    {CDNS_T_CERT, "PGP 0 0 AQIDBA==", "0003 0000 00 01020304", "3 0 0 AQIDBA=="},
	    {CDNS_T_CERT, "1 12345 RSASHA256 AQID", "0001 3039 08 010203", "1 12345 8 AQID"},
	    /* RFC 4025 §3.3 */
	    {CDNS_T_IPSECKEY, "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
	     "0a0102c0000226 010351537986ed35533b6064478eeeb27b5bd74dae149b6e81ba3a0521af82ab7801",
	     NULL},
	    {CDNS_T_IPSECKEY, "10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", NULL,
	     NULL},
	    {CDNS_T_IPSECKEY,
	     "10 2 2 2001:0DB8:0:8002::2000:1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
	     NULL,
	     "10 2 2 2001:db8:0:8002::2000:1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=="},
	    {CDNS_T_IPSECKEY,
	     "10 3 2 mygateway.example.com. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==", NULL,
	     NULL},
	    {CDNS_T_IPSECKEY, "10 0 0 .", "0a0000", NULL},
	};
	RUN(cases);
}

/* ---- DNSSEC ---- */

static void test_dnssec_types(void **state)
{
	(void)state;
	static const rt_case_t cases[] = {
	    /* RFC 4034 §2.3 */
	    {CDNS_T_DNSKEY,
	     "256 3 5 AQPSKmynfzW4kyBv015MUG2DeIQ3 Cbl+BBZH4b/0PY1kxkmvHjcZc8no "
	     "kfzj31GajIQKY+5CptLr3buXA10h WqTkF7H6RfoRqXQeogmMHfpftf6z "
	     "Mv1LyBUgia7za6ZEzOJBOztyvhjL "
	     "742iU/TpPSEDhm2SNKLijfUppn1U aNvv4w==",
	     "010003050103d22a6ca77f35b893206fd35e4c506d8378843709b97e041647e1bff43d8d64c649af1e371"
	     "9"
	     "73c9e891fce3df519a8c840a63ee42a6d2ebddbb97035d215aa4e417b1fa45fa11a9741ea2098c1dfa5fb"
	     "5"
	     "feb332fd4bc8152089aef36ba644cce2413b3b72be18cbef8da253f4e93d2103866d9234a2e28df529a67"
	     "d"
	     "5468dbefe3",
	     "256 3 5 AQPSKmynfzW4kyBv015MUG2DeIQ3Cbl+BBZH4b/0PY1kxkmvHjcZc8nokfzj31GajIQKY+5CptLr3"
	     "buXA10hWqTkF7H6RfoRqXQeogmMHfpftf6zMv1LyBUgia7za6ZEzOJBOztyvhjL742iU/TpPSEDhm2SNKLij"
	     "fUppn1UaNvv4w=="},
	    /* RFC 4034 §3.3 */
	    {CDNS_T_RRSIG,
	     "A 5 3 86400 20030322173103 20030220173103 2642 example.com. "
	     "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr PYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6o "
	     "B9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3t GNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkG "
	     "J5D6fwFm8nN+6pBzeDQfsS3Ap3o=",
	     "00010503000151803e7c9dd73e5510d70a52076578616d706c6503636f6d00a090755ba58d1affa576f4"
	     "375831b4310920e481218d18a9f164eb3d81afd3b875d3c75428631e0cf2a28d50875f70c329d7dbfafe"
	     "a807dc1fba1dc34c95d401f23f334ce63bfcf3f1b5b44739e5f0eded18d6b33f040a911376d173d757a9"
	     "f0c1fa1798941bb0b36b2df9062790fa7f0166f2737eea907378341fb12dc0a77a",
	     "A 5 3 86400 20030322173103 20030220173103 2642 example.com. "
	     "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+"
	     "v6oB9wfuh3DTJXUAf"
	     "I/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o"
	     "="},
	    /* Integer times (RFC 4034 §3.2) print as dates; mnemonic algorithm. */
	    {CDNS_T_RRSIG, "TYPE65534 ECDSAP256SHA256 0 0 4294967295 0 0 . AA==",
	     "fffe 0d 00 00000000 ffffffff 00000000 0000 00 00",
	     "TYPE65534 13 0 0 21060207062815 19700101000000 0 . AA=="},
	    {CDNS_T_SIG, "A 5 3 86400 20030322173103 20030220173103 2642 example.com. AQID", NULL,
	     NULL},
	    {CDNS_T_KEY, "256 3 5 AQID", "0100 03 05 010203", NULL},
	    /* RFC 4034 §4.3, bitmap in windows 0 and 4. */
	    {CDNS_T_NSEC, "host.example.com. A MX RRSIG NSEC TYPE1234",
	     "04686f7374076578616d706c6503636f6d00 0006400100000003 04 1b "
	     "000000000000000000000000000000000000000000000000000020",
	     NULL},
	    /* Types spanning windows 0, 1 and 255; unsorted, repeated and lower-case input. */
	    {CDNS_T_NSEC, "a.example. TYPE65534 caa A NSEC a",
	     "0161076578616d706c6500 0006 400000000001 0101 40 ff20"
	     "0000000000000000000000000000000000000000000000000000000000000002",
	     "a.example. A NSEC CAA TYPE65534"},
	    {CDNS_T_NSEC, "a.example.", "0161 076578616d706c65 00", NULL},
	    /* RFC 4034 §5.4, digest split by a blank. */
	    {CDNS_T_DS, "60485 5 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
	     "ec4505012bb183af5f22588179a53b0a98631fad1a292118",
	     "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
	    {CDNS_T_DS, "60485 RSASHA1 1 2bb183af5f22588179a53b0a98631fad1a292118",
	     "ec4505012bb183af5f22588179a53b0a98631fad1a292118",
	     "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
	    /* RFC 8078 §4: delete CDS / CDNSKEY. */
	    {CDNS_T_CDS, "0 0 0 00", "0000000000", NULL},
	    {CDNS_T_CDNSKEY, "0 3 0 AA==", "0000030000", NULL},
	    {CDNS_T_CDNSKEY, "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", NULL, NULL},
	    /* RFC 5155 Appendix A */
	    {CDNS_T_NSEC3,
	     "1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG",
	     "01 01 000c 04aabbccdd 14174eb2409fe28bcb4887a1836f957f0a8425e27b 0007 22010000000290",
	     "1 1 12 AABBCCDD 2t7b4g4vsa5smi47k61mv5bv1a22bojr NS SOA MX RRSIG DNSKEY NSEC3PARAM"},
	    /* Empty salt, empty bitmap (an empty non-terminal), upper-case hash. */
	    {CDNS_T_NSEC3, "1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR",
	     "01 00 0000 00 14174eb2409fe28bcb4887a1836f957f0a8425e27b",
	     "1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
	    {CDNS_T_NSEC3PARAM, "1 0 12 aabbccdd", "0100000c04aabbccdd", "1 0 12 AABBCCDD"},
	    {CDNS_T_NSEC3PARAM, "1 0 0 -", "0100000000", NULL},
	    /* RFC 8976 §A.1 */
	    {CDNS_T_ZONEMD,
	     "2018031900 1 1 c68090d90a7aed71 6bc459f9340e3d7c 1370d4d24b7e2fc3 a1ddc0b9a87153b9 "
	     "a9713b3c9ae5cc27 777f98b8e730044c",
	     "7848b91c 01 01 c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9"
	     "a9713b3c9ae5cc27777f98b8e730044c",
	     "2018031900 1 1 "
	     "C68090D90A7AED716BC459F9340E3D7C1370D4D24B7E2FC3A1DDC0B9A87153B9A9713B3"
	     "C9AE5CC27777F98B8E730044C"},
	    /* RFC 7477 §2.1.3 */
	    {CDNS_T_CSYNC, "66 3 A NS AAAA", "00000042 0003 0004 60000008", NULL},
	    {CDNS_T_NXT, "next.example. A MX NXT", "046e657874076578616d706c6500 40010002", NULL},
	};
	RUN(cases);
}

/* ---- SVCB / HTTPS: RFC 9460 Appendix D ---- */

static void test_svcb(void **state)
{
	(void)state;
	static const rt_case_t cases[] = {
	    /* D.1 */
	    {CDNS_T_HTTPS, "0 foo.example.com.", "0000 03666f6f076578616d706c6503636f6d00", NULL},
	    /* D.2 */
	    {CDNS_T_SVCB, "1 .", "0001 00", NULL},
	    {CDNS_T_SVCB, "16 foo.example.com. port=53",
	     "0010 03666f6f076578616d706c6503636f6d00 0003 0002 0035", NULL},
	    {CDNS_T_SVCB, "1 foo.example.com. key667=hello",
	     "0001 03666f6f076578616d706c6503636f6d00 029b 0005 68656c6c6f",
	     "1 foo.example.com. key667=\"hello\""},
	    {CDNS_T_SVCB, "1 foo.example.com. key667=\"hello\\210qoo\"",
	     "0001 03666f6f076578616d706c6503636f6d00 029b 0009 68656c6c6fd2716f6f", NULL},
	    {CDNS_T_SVCB, "1 foo.example.com. ipv6hint=\"2001:db8::1,2001:db8::53:1\"",
	     "0001 03666f6f076578616d706c6503636f6d00 0006 0020 20010db8000000000000000000000001"
	     "20010db8000000000000000000530001",
	     "1 foo.example.com. ipv6hint=2001:db8::1,2001:db8::53:1"},
	    {CDNS_T_SVCB, "1 example.com. ipv6hint=\"2001:db8:122:344::192.0.2.33\"",
	     "0001 076578616d706c6503636f6d00 0006 0010 20010db8012203440000 0000c0000221",
	     "1 example.com. ipv6hint=2001:db8:122:344::c000:221"},
	    {CDNS_T_SVCB,
	     "16 foo.example.org. alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1",
	     "0010 03666f6f076578616d706c65036f726700 0000 0004 0001 0004 0001 0009 02 6832 05 "
	     "68332d3139 0004 0004 c0000201",
	     "16 foo.example.org. mandatory=alpn,ipv4hint alpn=\"h2,h3-19\" ipv4hint=192.0.2.1"},
	    {CDNS_T_SVCB, "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
	     "0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832", NULL},
	    {CDNS_T_SVCB, "16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2",
	     "0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832",
	     "16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\""},
	    /* Everything at once, in the wrong order. */
	    {CDNS_T_HTTPS,
	     "1 . ech=AEP+DQA/BAAgACBC ipv6hint=2001:db8::1 ipv4hint=192.0.2.1,192.0.2.2 "
	     "port=8443 no-default-alpn alpn=h2,h3 mandatory=alpn,port key65000 "
	     "dohpath=\"/dns-query{?dns}\" ohttp",
	     "0001 00 0000 0004 0001 0003 0001 0006 026832 026833 0002 0000 0003 0002 20fb "
	     "0004 0008 c0000201 c0000202 0005 000c 0043fe0d003f040020002042 "
	     "0006 0010 20010db8000000000000000000000001 "
	     "0007 0010 2f646e732d71756572797b3f646e737d 0008 0000 fde8 0000",
	     "1 . mandatory=alpn,port alpn=\"h2,h3\" no-default-alpn port=8443 "
	     "ipv4hint=192.0.2.1,192.0.2.2 ech=AEP+DQA/BAAgACBC ipv6hint=2001:db8::1 "
	     "dohpath=\"/dns-query{?dns}\" ohttp key65000"},
	    /* "key=" and "key=\"\"" are the same as "key". */
	    {CDNS_T_SVCB, "1 . key7=\"\" no-default-alpn= alpn=x",
	     "0001 00 0001 0002 0178 0002 0000 0007 0000",
	     "1 . alpn=\"x\" no-default-alpn dohpath"},
	};
	RUN(cases);
}

/* ---- LOC (RFC 1876), TSIG, TKEY, A6, generic ---- */

static void test_other_types(void **state)
{
	(void)state;
	static const rt_case_t cases[] = {
	    /* RFC 1876 §4 */
	    {CDNS_T_LOC, "42 21 54 N 71 06 18 W -24m 30m", "00 33 16 13 89172dd0 70be15f0 00988d20",
	     "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m"},
	    {CDNS_T_LOC, "42 21 43.952 N 71 5 6.344 W -24m 1m 200m",
	     "00 12 24 13 89170690 70bf2dd8 00988d20",
	     "42 21 43.952 N 71 5 6.344 W -24.00m 1m 200m 10m"},
	    {CDNS_T_LOC, "52 14 5.5 N 0 8 E 10.5m 0.5m 0m 1.2", NULL,
	     "52 14 5.500 N 0 8 0.000 E 10.50m 0.50m 0m 1m"},
	    {CDNS_T_LOC, "90 S 180 W 42849672.95m 90000000m 90000000m 90000000m",
	     "00 99 99 99 6cb02700 59604e00 ffffffff",
	     "90 0 0.000 S 180 0 0.000 W 42849672.95m 90000000m 90000000m 90000000m"},
	    {CDNS_T_LOC, "0 N 0 E -100000m", "00 12 16 13 80000000 80000000 00000000",
	     "0 0 0.000 N 0 0 0.000 E -100000.00m 1m 10000m 10m"},
	    /* TSIG as documented in rdata.c: MAC and other data with their lengths. */
	    {CDNS_T_TSIG, "hmac-sha256. 1700000000 300 4 AQIDBA== 4660 NOERROR 0",
	     "0b686d61632d7368613235360000006553f100012c000401020304123400000000", NULL},
	    {CDNS_T_TSIG, "HMAC-SHA256. 281474976710655 0 0 0 BADTIME 6 AABlU/EA",
	     "0b484d41432d534841323536 00 ffffffffffff 0000 0000 0000 0012 0006 00006553f100",
	     NULL},
	    {CDNS_T_TSIG, "hmac-md5.sig-alg.reg.int. 0 300 0 1 99 0", NULL,
	     "hmac-md5.sig-alg.reg.int. 0 300 0 1 99 0"},
	    {CDNS_T_TKEY, "gss-tsig. 20240101000000 20240102000000 3 NOERROR 4 AQIDBA== 0",
	     "086773732d7473696700 65920080 65935200 0003 0000 0004 01020304 0000", NULL},
	    {CDNS_T_EUI48, "\\# 6 00005e00532a", "00005e00532a", "00-00-5e-00-53-2a"},
	    /* RFC 2874 A6 */
	    {38, "64 ::1:2:3:4 prefix.example.",
	     "40 0001000200030004 06707265666978076578616d706c6500", NULL},
	    {38, "0 2001:db8::1", "00 20010db8000000000000000000000001", NULL},
	    {38, "128 prefix.", "80 0670726566697800", NULL},
	    /* RFC 3597 generic form for unknown and opaque types. */
	    {65400, "\\# 4 0a000001", "0a000001", "\\# 4 0A000001"},
	    {65400, "\\# 0", "", NULL},
	    {65400, "\\# 3 01 02 0 3", "010203", "\\# 3 010203"},
	    {CDNS_T_NULL, "\\# 2 abcd", "abcd", "\\# 2 ABCD"},
	    {CDNS_T_OPT, "\\# 8 000a000401020304", "000a000401020304", "\\# 8 000A000401020304"},
	    {CDNS_T_WKS, "\\# 5 c000020106", "c000020106", "\\# 5 C000020106"},
	    {CDNS_T_APL, "\\# 8 00010f04c0000200", "00010f04c0000200", "\\# 8 00010F04C0000200"},
	};
	RUN(cases);
}

/* ---- errors: message and offset ---- */

typedef struct err_case {
	uint16_t type;
	const char *text;
	int code;
	size_t offset;
	const char *msg;
} err_case_t;

static void test_errors(void **state)
{
	(void)state;
	static const err_case_t cases[] = {
	    {CDNS_T_A, "192.0.2", CDNS_ESYNTAX, 0, "A: address: invalid IPv4 address '192.0.2'"},
	    {CDNS_T_A, "192.0.2.256", CDNS_ESYNTAX, 0,
	     "A: address: invalid IPv4 address '192.0.2.256'"},
	    {CDNS_T_A, "", CDNS_ESYNTAX, 0, "A: address: missing"},
	    {CDNS_T_A, "192.0.2.1 x", CDNS_ESYNTAX, 10, "A: unexpected 'x' after the last field"},
	    {CDNS_T_AAAA, "2001:db8::g", CDNS_ESYNTAX, 0,
	     "AAAA: address: invalid IPv6 address '2001:db8::g'"},
	    {CDNS_T_SSHFP, "256 1 abcd", CDNS_ESYNTAX, 0, "SSHFP: algorithm: '256' out of range"},
	    {CDNS_T_MX, "-1 mx.", CDNS_ESYNTAX, 0, "MX: preference: '-1' is not a number"},
	    {CDNS_T_SOA, ". . 4294967296 0 0 0 0", CDNS_ESYNTAX, 4,
	     "SOA: serial: '4294967296' out of range"},
	    {CDNS_T_SOA, ". . 1 2 3 4", CDNS_ESYNTAX, 11, "SOA: minimum: missing"},
	    {CDNS_T_TXT, "\"ok\" \"unterminated", CDNS_ESYNTAX, 5,
	     "TXT: text: unterminated quoted string"},
	    {CDNS_T_TXT, "\"bad \\25x\"", CDNS_ESYNTAX, 0,
	     "TXT: text: bad escape in '\"bad \\25x\"'"},
	    {CDNS_T_TXT, "", CDNS_ESYNTAX, 0, "TXT: text: missing"},
	    {CDNS_T_TXT, "ab\\", CDNS_ESYNTAX, 2, "TXT: text: backslash at the end of the text"},
	    /* RFC 1035 §5.1: a backslash and a digit start \DDD. */
	    {CDNS_T_TXT, "a\\2!", CDNS_ESYNTAX, 0, "TXT: text: bad escape in 'a\\2!'"},
	    {CDNS_T_CAA, "0 is-sue \"x\"", CDNS_ESYNTAX, 2,
	     "CAA: tag: invalid tag 'is-sue': letters and digits only"},
	    {CDNS_T_NS, "a..b.", CDNS_ESYNTAX, 0, "NS: nsdname: invalid name 'a..b.'"},
	    {CDNS_T_DNSKEY, "256 3 8 AQID=A==", CDNS_ESYNTAX, 8,
	     "DNSKEY: public key: invalid base64 'AQID=A=='"},
	    {CDNS_T_DNSKEY, "256 3 8 AQIDB", CDNS_ESYNTAX, 8,
	     "DNSKEY: public key: base64 length is not a multiple of 4"},
	    {CDNS_T_DNSKEY, "256 3 8 AQ== AQ==", CDNS_ESYNTAX, 13,
	     "DNSKEY: public key: data after base64 padding in 'AQ=='"},
	    {CDNS_T_DNSKEY, "256 3 FOO AQ==", CDNS_ESYNTAX, 6,
	     "DNSKEY: algorithm: 'FOO' is not a number"},
	    {CDNS_T_DS, "1 8 2 abc", CDNS_ESYNTAX, 6, "DS: digest: odd number of hex digits"},
	    {CDNS_T_DS, "1 8 2 zz", CDNS_ESYNTAX, 6, "DS: digest: invalid hex 'zz'"},
	    {CDNS_T_RRSIG, "A 8 2 300 20241301000000 20240101000000 1 . AA==", CDNS_ESYNTAX, 10,
	     "RRSIG: expiration: '20241301000000' is not a valid time"},
	    {CDNS_T_RRSIG, "A 8 2 300 21060207062816 0 1 . AA==", CDNS_ESYNTAX, 10,
	     "RRSIG: expiration: '21060207062816' out of range"},
	    {CDNS_T_RRSIG, "BOGUS 8 2 300 0 0 1 . AA==", CDNS_ESYNTAX, 0,
	     "RRSIG: type covered: unknown type 'BOGUS'"},
	    {CDNS_T_NSEC, "a. A BOGUS", CDNS_ESYNTAX, 5, "NSEC: types: unknown type 'BOGUS'"},
	    {CDNS_T_NSEC3, "1 0 0 abc 2t7b4g4vsa5smi47k61mv5bv1a22bojr", CDNS_ESYNTAX, 6,
	     "NSEC3: salt: invalid hex 'abc'"},
	    {CDNS_T_NSEC3, "1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojw", CDNS_ESYNTAX, 8,
	     "NSEC3: next hashed owner: invalid base32hex '2t7b4g4vsa5smi47k61mv5bv1a22bojw'"},
	    {CDNS_T_SVCB, "1 foo.example.com. key123=abc key123=def", CDNS_ESYNTAX, 30,
	     "SVCB: params: duplicate key 'key123'"},
	    {CDNS_T_SVCB, "1 foo.example.com. mandatory", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'mandatory' needs a value"},
	    {CDNS_T_SVCB, "1 foo.example.com. alpn", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'alpn' needs a value"},
	    {CDNS_T_SVCB, "1 foo.example.com. port", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'port' needs a value"},
	    {CDNS_T_SVCB, "1 foo.example.com. ipv4hint", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'ipv4hint' needs a value"},
	    {CDNS_T_SVCB, "1 foo.example.com. ipv6hint", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'ipv6hint' needs a value"},
	    {CDNS_T_SVCB, "1 foo.example.com. no-default-alpn=abc", CDNS_ESYNTAX, 19,
	     "SVCB: params: 'no-default-alpn=abc' takes no value"},
	    {CDNS_T_SVCB, "1 foo.example.com. mandatory=key123", CDNS_ESYNTAX, 19,
	     "SVCB: params: mandatory key missing: 'key123'"},
	    {CDNS_T_SVCB, "1 foo.example.com. mandatory=mandatory", CDNS_ESYNTAX, 19,
	     "SVCB: params: mandatory must not list itself"},
	    {CDNS_T_SVCB, "1 foo.example.com. mandatory=key123,key123 key123=abc", CDNS_ESYNTAX, 19,
	     "SVCB: params: duplicate key 'key123' in mandatory"},
	    {CDNS_T_SVCB, "1 . key65535=x", CDNS_ESYNTAX, 4, "SVCB: params: key65535 is reserved"},
	    {CDNS_T_SVCB, "1 . key012=x", CDNS_ESYNTAX, 4, "SVCB: params: unknown key 'key012'"},
	    {CDNS_T_HTTPS, "1 . alpn=h2,,h3", CDNS_ESYNTAX, 4,
	     "HTTPS: params: bad value list in 'alpn=h2,,h3'"},
	    {CDNS_T_HTTPS, "1 . port=65536", CDNS_ESYNTAX, 4,
	     "HTTPS: params: invalid port in 'port=65536'"},
	    {CDNS_T_HTTPS, "1 . ipv4hint=192.0.2.1,2001:db8::1", CDNS_ESYNTAX, 4,
	     "HTTPS: params: invalid IPv4 address '2001:db8::1'"},
	    {CDNS_T_LOC, "91 N 0 E 0m", CDNS_ESYNTAX, 0, "LOC: location: invalid degrees '91'"},
	    {CDNS_T_LOC, "90 1 N 0 E 0m", CDNS_ESYNTAX, 5, "LOC: location: more than 90 degrees"},
	    {CDNS_T_LOC, "1 2 3 4 0 E 0m", CDNS_ESYNTAX, 6,
	     "LOC: location: expected N or S, got '4'"},
	    {CDNS_T_LOC, "1 N 2 E 0m 90000001m", CDNS_ESYNTAX, 11,
	     "LOC: location: '90000001m' out of range"},
	    {CDNS_T_TSIG, "hmac-sha256. 0 300 3 AQIDBA== 1 0 0", CDNS_ESYNTAX, 21,
	     "TSIG: mac: 4 octets of base64, length says 3"},
	    {CDNS_T_EUI48, "00-00-5e-00-53", CDNS_ESYNTAX, 0,
	     "EUI48: address: invalid EUI-48 address '00-00-5e-00-53'"},
	    {CDNS_T_IPSECKEY, "10 4 2 . AQID", CDNS_ESYNTAX, 7,
	     "IPSECKEY: gateway: unknown gateway type 4"},
	    {CDNS_T_OPT, "", CDNS_ESYNTAX, 0,
	     "OPT: options: no text form: use the generic form '\\# len hex'"},
	    {65400, "1.2.3.4", CDNS_ESYNTAX, 0,
	     "TYPE65400: unknown type: use the generic form '\\# len hex'"},
	    {65400, "\\# 4 0a0000", CDNS_ESYNTAX, 3,
	     "TYPE65400: generic RDATA: length 4 but 3 octets of hex"},
	    {CDNS_T_A, "\\# 3 0a0000", CDNS_ESYNTAX, 3,
	     "A: generic RDATA: RDATA is not valid for the type"},
	    {CDNS_T_A, "\\# x", CDNS_ESYNTAX, 3, "A: generic RDATA: length 'x' is not a number"},
	    {CDNS_T_MX, "10 relative", CDNS_ESYNTAX, 3,
	     "MX: exchange: relative name 'relative' and no origin"},
	    {CDNS_T_MX, "10 @", CDNS_ESYNTAX, 3, "MX: exchange: '@' and no origin"},
	    {CDNS_T_HTTPS, "1 . ech=!!!!", CDNS_ESYNTAX, 4,
	     "HTTPS: params: invalid base64 in 'ech=!!!!'"},
	    {CDNS_T_HTTPS, "1 . alpn=\"h2\\\\x\"", CDNS_ESYNTAX, 4,
	     "HTTPS: params: bad value list in 'alpn=\"h2\\\\x\"'"},
	    {CDNS_T_HTTPS, "1 . mandatory=bogus", CDNS_ESYNTAX, 4,
	     "HTTPS: params: unknown key 'bogus' in mandatory"},
	    {CDNS_T_HTTPS, "1 . foo=bar", CDNS_ESYNTAX, 4, "HTTPS: params: unknown key 'foo'"},
	    {38, "64 2001:db8::1 p.", CDNS_ESYNTAX, 3,
	     "A6: address suffix: '2001:db8::1' has bits set in the first 64"},
	    {38, "129 ::1 p.", CDNS_ESYNTAX, 0, "A6: address suffix: prefix length 129 above 128"},
	    {CDNS_T_NXT, "a. A TYPE128", CDNS_ESYNTAX, 5,
	     "NXT: types: type 'TYPE128' out of range 1..127"},
	    {CDNS_T_RRSIG, "A 8 2 300 19691231235959 0 1 . AA==", CDNS_ESYNTAX, 10,
	     "RRSIG: expiration: '19691231235959' is not a valid time"},
	    {CDNS_T_RRSIG, "A 8 2 300 2024-01-01 0 1 . AA==", CDNS_ESYNTAX, 10,
	     "RRSIG: expiration: '2024-01-01' is not a time"},
	    {CDNS_T_TSIG, "hmac-sha256. 281474976710656 300 0 1 0 0", CDNS_ESYNTAX, 13,
	     "TSIG: time signed: '281474976710656' out of range"},
	    {CDNS_T_TSIG, "hmac-sha256. 1 300 0 1 BADFOO 0", CDNS_ESYNTAX, 23,
	     "TSIG: error: 'BADFOO' is not a number"},
	    {CDNS_T_LOC, "1 N 2 E", CDNS_ESYNTAX, 7, "LOC: location: missing"},
	    {CDNS_T_IPSECKEY, "10 0 2 gw. AQID", CDNS_ESYNTAX, 7,
	     "IPSECKEY: gateway: gateway type 0 needs '.', got 'gw.'"},
	    {CDNS_T_IPSECKEY, "10 1 2 gw. AQID", CDNS_ESYNTAX, 7,
	     "IPSECKEY: gateway: invalid IPv4 address 'gw.'"},
	    {CDNS_T_EUI64, "00-00-5e-ef-10-00-00-zz", CDNS_ESYNTAX, 0,
	     "EUI64: address: invalid EUI-64 address '00-00-5e-ef-10-00-00-zz'"},
	    {CDNS_T_NSEC3PARAM, "1 0 0", CDNS_ESYNTAX, 5, "NSEC3PARAM: salt: missing"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const err_case_t *c = &cases[i];
		uint8_t out[1024];
		cdns_text_err_t err;
		/* The last case needs no origin; the others get one so names are no issue. */
		const uint8_t *o = c->type == CDNS_T_MX ? NULL : origin;
		int r = cdns_rdata_from_text(c->type, c->text, strlen(c->text), o, out, sizeof(out),
		                             &err);
		if (r != c->code || strcmp(err.msg, c->msg) != 0 || err.offset != c->offset)
			fail_msg("'%s': got %d at %zu '%s', expected %d at %zu '%s'", c->text, r,
			         err.offset, err.msg, c->code, c->offset, c->msg);
		/* Also with no error structure. */
		assert_int_equal(cdns_rdata_from_text(c->type, c->text, strlen(c->text), o, out,
		                                      sizeof(out), NULL),
		                 c->code);
	}
}

static void test_txt_string_limit(void **state)
{
	(void)state;
	char text[300];
	uint8_t out[512];
	cdns_text_err_t err;

	/* 255 octets is the most a character-string holds (RFC 1035 §3.3). */
	memset(text, 'a', 255);
	text[255] = '\0';
	assert_int_equal(cdns_rdata_from_text(CDNS_T_TXT, text, 255, NULL, out, sizeof(out), &err),
	                 256);
	assert_int_equal(out[0], 255);
	text[255] = 'a';
	text[256] = '\0';
	assert_int_equal(cdns_rdata_from_text(CDNS_T_TXT, text, 256, NULL, out, sizeof(out), &err),
	                 CDNS_ESYNTAX);
	assert_string_equal(err.msg, "TXT: text: string longer than 255 octets");
	assert_int_equal(err.offset, 0);
	/* \DDD counts as one octet. */
	char esc[1100];
	size_t n = 0;
	esc[n++] = '"';
	for (int i = 0; i < 255; i++)
		n += (size_t)sprintf(esc + n, "\\%03d", i);
	esc[n++] = '"';
	assert_int_equal(cdns_rdata_from_text(CDNS_T_TXT, esc, n, NULL, out, sizeof(out), &err),
	                 256);
	for (int i = 0; i < 255; i++)
		assert_int_equal(out[1 + i], i);
}

static void test_output_space(void **state)
{
	(void)state;
	uint8_t out[64];
	char txt[64];
	const char *text = "10 mail.example.com.";
	int n = cdns_rdata_from_text(CDNS_T_MX, text, strlen(text), NULL, out, sizeof(out), NULL);

	assert_int_equal(n, 20);
	/* Too little room for the wire form. */
	assert_int_equal(cdns_rdata_from_text(CDNS_T_MX, text, strlen(text), NULL, out, 19, NULL),
	                 CDNS_ESPACE);
	assert_int_equal(cdns_rdata_from_text(CDNS_T_MX, text, strlen(text), NULL, NULL, 0, NULL),
	                 CDNS_ESPACE);
	/* Exactly enough for the text and its NUL, then one short. */
	assert_int_equal(cdns_rdata_to_text(CDNS_T_MX, out, (size_t)n, txt, 21), 20);
	assert_string_equal(txt, text);
	assert_int_equal(cdns_rdata_to_text(CDNS_T_MX, out, (size_t)n, txt, 20), CDNS_ESPACE);
	assert_int_equal(cdns_rdata_to_text(CDNS_T_MX, out, (size_t)n, txt, 0), CDNS_ESPACE);
	for (size_t cap = 1; cap < 21; cap++)
		assert_int_equal(cdns_rdata_to_text(CDNS_T_MX, out, (size_t)n, txt, cap),
		                 CDNS_ESPACE);
	assert_int_equal(cdns_rdata_to_text(65400, out, 2, txt, 10), 9);
	assert_string_equal(txt, "\\# 2 000A");
	assert_int_equal(cdns_rdata_to_text(65400, out, 2, txt, 9), CDNS_ESPACE);
}

/* ---- wire checks ---- */

typedef struct wire_case {
	uint16_t type;
	const char *wire;
	int ok;           /* 1 when well-formed */
	const char *text; /* expected presentation */
} wire_case_t;

static void test_check_and_generic_fallback(void **state)
{
	(void)state;
	static const wire_case_t cases[] = {
	    {CDNS_T_A, "c00002", 0, "\\# 3 C00002"},
	    {CDNS_T_A, "c000020101", 0, "\\# 5 C000020101"},
	    {CDNS_T_A, "", 0, "\\# 0"},
	    {CDNS_T_NS, "03666f6f", 0, "\\# 4 03666F6F"}, /* no root label */
	    {CDNS_T_NS, "c00c", 0, "\\# 2 C00C"},         /* compression pointer */
	    {CDNS_T_NS, "00 00", 0, "\\# 2 0000"},        /* trailing octet */
	    {CDNS_T_MX, "000a 00", 1, "10 ."},
	    {CDNS_T_TXT, "", 0, "\\# 0"},          /* one or more strings */
	    {CDNS_T_TXT, "0561", 0, "\\# 2 0561"}, /* string past the end */
	    {CDNS_T_TXT, "00 00", 1, "\"\" \"\""},
	    {CDNS_T_CAA, "00 00", 0, "\\# 2 0000"},     /* empty tag */
	    {CDNS_T_CAA, "00 012d", 0, "\\# 3 00012D"}, /* tag not alphanumeric */
	    {CDNS_T_CAA, "00 0161", 1, "0 a \"\""},
	    /* An empty key has no text form of its own. */
	    {CDNS_T_DNSKEY, "0100 03 08", 1, "\\# 4 01000308"},
	    {CDNS_T_DS, "0001 08 02", 1, "\\# 4 00010802"},
	    /* Bitmaps: window order, lengths, trailing zero octets (RFC 4034 §4.1.2). */
	    {CDNS_T_NSEC, "00 0001 40", 1, ". A"},
	    {CDNS_T_NSEC, "00 0002 4000", 0, "\\# 5 0000024000"},
	    {CDNS_T_NSEC, "00 0100 40 0001 40", 0, "\\# 7 00010040000140"},
	    {CDNS_T_NSEC, "00 0001 40 0001 40", 0, "\\# 7 00000140000140"},
	    {CDNS_T_NSEC, "00 0000", 0, "\\# 3 000000"},
	    {CDNS_T_NSEC, "00 0021 40", 0, "\\# 4 00002140"},
	    {CDNS_T_NSEC3, "01 00 0000 00 00", 0, "\\# 6 010000000000"}, /* empty hash */
	    /* SvcParams: keys must increase, values must fit their key. */
	    {CDNS_T_SVCB, "0001 00 0003 0002 0035 0001 0003 026832", 0,
	     "\\# 16 00010000030002003500010003026832"},
	    {CDNS_T_SVCB, "0001 00 0003 0002 0035 0003 0002 0035", 0,
	     "\\# 15 000100000300020035000300020035"},
	    {CDNS_T_SVCB, "0001 00 0003 0001 35", 0, "\\# 8 0001000003000135"},
	    {CDNS_T_SVCB, "0001 00 0001 0003 036832", 0, "\\# 10 00010000010003036832"},
	    {CDNS_T_SVCB, "0001 00 0001 0001 00", 0, "\\# 8 0001000001000100"},
	    {CDNS_T_SVCB, "0001 00 0000 0002 0003", 0, "\\# 9 000100000000020003"},
	    {CDNS_T_SVCB, "0001 00 ffff 0000", 0, "\\# 7 000100FFFF0000"},
	    {CDNS_T_SVCB, "0001 00 0004 0003 c00002", 0, "\\# 10 00010000040003C00002"},
	    {CDNS_T_SVCB, "0001 00 0003 0002", 0, "\\# 7 00010000030002"},
	    {CDNS_T_SVCB, "0001 00 0002 0000", 1, "1 . no-default-alpn"},
	    /* LOC: other versions have no text form; version 0 is exactly 16 octets. */
	    {CDNS_T_LOC, "01 02", 1, "\\# 2 0102"},
	    {CDNS_T_LOC, "00 12 16 13 80000000 80000000 0098", 0,
	     "\\# 14 0012161380000000800000000098"},
	    {CDNS_T_LOC, "00 1a 16 13 80000000 80000000 00989680", 0,
	     "\\# 16 001A1613800000008000000000989680"},
	    {CDNS_T_LOC, "00 12 16 13 ffffffff 80000000 00989680", 0,
	     "\\# 16 00121613FFFFFFFF8000000000989680"},
	    {CDNS_T_TSIG, "00 000000000000 0000 0005 00", 0, "\\# 12 000000000000000000000500"},
	    {CDNS_T_OPT, "000a 0004 010203", 0, "\\# 7 000A0004010203"},
	    {CDNS_T_OPT, "", 1, "\\# 0"},
	    {CDNS_T_IPSECKEY, "0a 05 00", 0, "\\# 3 0A0500"},
	    {38, "41 ffffffffffffffff 00", 0, "\\# 10 41FFFFFFFFFFFFFFFF00"}, /* pad bits set */
	    {CDNS_T_NXT, "00 80", 0, "\\# 2 0080"},
	    {65400, "", 1, "\\# 0"},
	    {65400, "0102", 1, "\\# 2 0102"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const wire_case_t *c = &cases[i];
		uint8_t w[256], back[256];
		char txt[512];
		size_t n = unhex(c->wire, w);
		int r = cdns_rdata_check(c->type, w, n);
		if ((r == 0) != c->ok)
			fail_msg("type %u wire %s: check %d", c->type, c->wire, r);
		if (!c->ok)
			assert_int_equal(r, CDNS_EFORMAT);
		int tl = cdns_rdata_to_text(c->type, w, n, txt, sizeof(txt));
		assert_true(tl >= 0);
		if (strcmp(txt, c->text) != 0)
			fail_msg("type %u wire %s: printed '%s', expected '%s'", c->type, c->wire,
			         txt, c->text);
		if (!c->ok) {
			assert_memory_equal(txt, "\\# ", 3);
			continue;
		}
		/* Well-formed RDATA comes back from its text unchanged. */
		int bn =
		    cdns_rdata_from_text(c->type, txt, (size_t)tl, NULL, back, sizeof(back), NULL);
		assert_int_equal((size_t)bn, n);
		assert_memory_equal(back, w, n);
	}
}

/* ---- the wire invariants on pseudo-random RDATA, for every type with a layout ---- */

static void test_random_wire(void **state)
{
	(void)state;
	static uint8_t w[128], back[128], canon[128];
	static char txt[1024];
	uint32_t seed = 12345;
	unsigned good = 0;

	for (unsigned type = 0; type < 270; type++) {
		for (unsigned iter = 0; iter < 400; iter++) {
			seed = seed * 1103515245u + 12345u;
			size_t n = (seed >> 16) % 48;
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				/* Small values make lengths and names that fit more often. */
				w[i] = (uint8_t)((seed >> 16) & ((seed >> 30) ? 0xff : 0x07));
			}
			int ok = cdns_rdata_check((uint16_t)type, w, n) == 0;
			int tl = cdns_rdata_to_text((uint16_t)type, w, n, txt, sizeof(txt));
			assert_true(tl > 0);
			int bn = cdns_rdata_from_text((uint16_t)type, txt, (size_t)tl, NULL, back,
			                              sizeof(back), NULL);
			if (!ok) {
				assert_int_equal(bn, CDNS_ESYNTAX);
				continue;
			}
			good++;
			if (bn < 0 || (size_t)bn != n || memcmp(back, w, n) != 0)
				fail_msg("type %u: '%s' does not come back", type, txt);
			memcpy(canon, w, n);
			cdns_rdata_canonicalize((uint16_t)type, canon, n);
			assert_int_equal(cdns_rdata_check((uint16_t)type, canon, n), 0);
		}
	}
	assert_true(good > 10000);
}

/* ---- canonical form (RFC 4034 §6.2, RFC 6840 §5.1) ---- */

static void test_canonicalize(void **state)
{
	(void)state;
	struct {
		uint16_t type;
		const char *text, *canon;
	} cases[] = {
	    {CDNS_T_MX, "10 MAIL.Example.", "10 mail.example."},
	    {CDNS_T_SOA, "NS.Example. Host.Master.Example. 1 2 3 4 5",
	     "ns.example. host.master.example. 1 2 3 4 5"},
	    {CDNS_T_RRSIG, "A 8 2 300 0 0 1 EXAMPLE.COM. AQID",
	     "A 8 2 300 19700101000000 19700101000000 1 example.com. AQID"},
	    {CDNS_T_SRV, "1 2 3 Target.Example.", "1 2 3 target.example."},
	    {CDNS_T_NAPTR, "1 2 \"S\" \"X\" \"Y\" Repl.Example.",
	     "1 2 \"S\" \"X\" \"Y\" repl.example."},
	    {CDNS_T_DNAME, "Target.Example.", "target.example."},
	    {38, "64 ::1 Prefix.Example.", "64 ::1 prefix.example."},
	    /* Not lower-cased: NSEC (RFC 6840 §5.1), SVCB, text. */
	    {CDNS_T_NSEC, "Next.Example. A", "Next.Example. A"},
	    {CDNS_T_SVCB, "1 Target.Example.", "1 Target.Example."},
	    {CDNS_T_TXT, "\"ABC\"", "\"ABC\""},
	    {CDNS_T_HINFO, "\"CPU\" \"OS\"", "\"CPU\" \"OS\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t w[512];
		char txt[512];
		int n = cdns_rdata_from_text(cases[i].type, cases[i].text, strlen(cases[i].text),
		                             NULL, w, sizeof(w), NULL);
		assert_true(n > 0);
		cdns_rdata_canonicalize(cases[i].type, w, (size_t)n);
		assert_true(cdns_rdata_to_text(cases[i].type, w, (size_t)n, txt, sizeof(txt)) > 0);
		assert_string_equal(txt, cases[i].canon);
	}
	/* Malformed RDATA is left alone. */
	uint8_t bad[] = {0x00, 0x0a, 0x03, 'F', 'O', 'O'};
	cdns_rdata_canonicalize(CDNS_T_MX, bad, sizeof(bad));
	assert_int_equal(bad[3], 'F');
}

/* ---- RR types and classes ---- */

static void test_rrtype(void **state)
{
	(void)state;
	char buf[16];
	uint16_t t;

	assert_string_equal(cdns_rrtype_name(CDNS_T_NSEC3PARAM), "NSEC3PARAM");
	assert_string_equal(cdns_rrtype_name(CDNS_T_CAA), "CAA");
	assert_null(cdns_rrtype_name(65400));
	assert_int_equal(cdns_rrtype_to_text(CDNS_T_AAAA, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "AAAA");
	assert_int_equal(cdns_rrtype_to_text(65400, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "TYPE65400");
	assert_int_equal(cdns_rrtype_to_text(65400, buf, 9), CDNS_ESPACE);
	assert_int_equal(cdns_rrtype_from_text("nsec3param", 10, &t), 0);
	assert_int_equal(t, CDNS_T_NSEC3PARAM);
	assert_int_equal(cdns_rrtype_from_text("Https", 5, &t), 0);
	assert_int_equal(t, CDNS_T_HTTPS);
	assert_int_equal(cdns_rrtype_from_text("type1", 5, &t), 0);
	assert_int_equal(t, CDNS_T_A);
	assert_int_equal(cdns_rrtype_from_text("TYPE65535", 9, &t), 0);
	assert_int_equal(t, 65535);
	assert_int_equal(cdns_rrtype_from_text("TYPE65536", 9, &t), CDNS_ESYNTAX);
	assert_int_equal(cdns_rrtype_from_text("TYPE", 4, &t), CDNS_ESYNTAX);
	assert_int_equal(cdns_rrtype_from_text("TYPE1x", 6, &t), CDNS_ESYNTAX);
	assert_int_equal(cdns_rrtype_from_text("AAAAA", 5, &t), CDNS_ESYNTAX);
	assert_int_equal(cdns_rrtype_from_text("A", 0, &t), CDNS_ESYNTAX);
	/* The length bounds the text: "MXA" with length 2 is MX. */
	assert_int_equal(cdns_rrtype_from_text("MXA", 2, &t), 0);
	assert_int_equal(t, CDNS_T_MX);

	/* Every mnemonic reads back as its own number. */
	for (unsigned v = 0; v < 65536; v++) {
		int n = cdns_rrtype_to_text((uint16_t)v, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(cdns_rrtype_from_text(buf, (size_t)n, &t), 0);
		assert_int_equal(t, v);
	}

	assert_string_equal(cdns_rrclass_name(CDNS_C_IN), "IN");
	assert_int_equal(cdns_rrclass_to_text(CDNS_C_CH, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "CH");
	assert_int_equal(cdns_rrclass_to_text(42, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "CLASS42");
	assert_int_equal(cdns_rrclass_from_text("hs", 2, &t), 0);
	assert_int_equal(t, CDNS_C_HS);
	assert_int_equal(cdns_rrclass_from_text("class255", 8, &t), 0);
	assert_int_equal(t, CDNS_C_ANY);
	assert_int_equal(cdns_rrclass_from_text("NONE", 4, &t), 0);
	assert_int_equal(t, CDNS_C_NONE);
	assert_int_equal(cdns_rrclass_from_text("TYPE1", 5, &t), CDNS_ESYNTAX);

	assert_true(cdns_rrtype_is_meta(CDNS_T_OPT));
	assert_true(cdns_rrtype_is_meta(CDNS_T_TSIG));
	assert_true(cdns_rrtype_is_meta(CDNS_T_TKEY));
	assert_true(cdns_rrtype_is_meta(CDNS_T_AXFR));
	assert_true(cdns_rrtype_is_meta(CDNS_T_IXFR));
	assert_true(cdns_rrtype_is_meta(CDNS_T_MAILA));
	assert_true(cdns_rrtype_is_meta(CDNS_T_MAILB));
	assert_true(cdns_rrtype_is_meta(CDNS_T_ANY));
	assert_false(cdns_rrtype_is_meta(CDNS_T_A));
	assert_false(cdns_rrtype_is_meta(CDNS_T_RRSIG));
	assert_false(cdns_rrtype_is_meta(CDNS_T_CAA));
}

/* ---- base64 / base32hex / hex: RFC 4648 §10 test vectors ---- */

/* SOA timers with units, as BIND and Knot read them (regression: "3h" was refused). */
static void test_soa_timer_units(void **state)
{
	static const char text[] = "ns1.example. hostmaster.example. 1 3h 15M 1w2d 1h30";
	uint8_t wire[512];
	cdns_text_err_t err;
	int n = cdns_rdata_from_text(CDNS_T_SOA, text, sizeof(text) - 1, NULL, wire, sizeof(wire),
				     &err);
	assert_true(n > 20);
	const uint8_t *t = wire + n - 20;
	assert_int_equal(cdns_get32(t), 1);
	assert_int_equal(cdns_get32(t + 4), 10800);
	assert_int_equal(cdns_get32(t + 8), 900);
	assert_int_equal(cdns_get32(t + 12), 777600);
	assert_int_equal(cdns_get32(t + 16), 3630);
	char out[256];
	assert_true(cdns_rdata_to_text(CDNS_T_SOA, wire, (size_t)n, out, sizeof(out)) > 0);
	assert_string_equal(out, "ns1.example. hostmaster.example. 1 10800 900 777600 3630");
	static const char *const bad[] = {
		"a. b. 1 3x 1 1 1", "a. b. 1 h 1 1 1", "a. b. 1 4294967296 1 1 1",
		"a. b. 1 7102w 1 1 1", "a. b. 3h 1 1 1 1", /* the serial takes no units */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cdns_rdata_from_text(CDNS_T_SOA, bad[i], strlen(bad[i]), NULL, wire,
						      sizeof(wire), &err),
				 CDNS_ESYNTAX);
}

static void test_base_encodings(void **state)
{
	(void)state;
	static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	/* RFC 4648 §10 BASE32-HEX without the padding, in lower case as NSEC3 shows it. */
	static const char *b32[] = {"", "co", "cpng", "cpnmu", "cpnmuog", "cpnmuoj1", "cpnmuoj1e8"};
	static const char *hex[] = {"",         "66",         "666F",        "666F6F",
	                            "666F6F62", "666F6F6261", "666F6F626172"};
	char buf[64];
	uint8_t dec[64];

	for (size_t i = 0; i < 7; i++) {
		size_t n = strlen(in[i]);
		assert_int_equal(cdns_base64_encode((const uint8_t *)in[i], n, buf, sizeof(buf)),
		                 (int)strlen(b64[i]));
		assert_string_equal(buf, b64[i]);
		assert_int_equal(cdns_base64_decode(b64[i], strlen(b64[i]), dec, sizeof(dec)),
		                 (int)n);
		assert_memory_equal(dec, in[i], n);

		assert_int_equal(cdns_base32hex_encode((const uint8_t *)in[i], n, buf, sizeof(buf)),
		                 (int)strlen(b32[i]));
		assert_string_equal(buf, b32[i]);
		assert_int_equal(cdns_base32hex_decode(b32[i], strlen(b32[i]), dec, sizeof(dec)),
		                 (int)n);
		assert_memory_equal(dec, in[i], n);

		assert_int_equal(cdns_hex_encode((const uint8_t *)in[i], n, buf, sizeof(buf)),
		                 (int)strlen(hex[i]));
		assert_string_equal(buf, hex[i]);
		assert_int_equal(cdns_hex_decode(hex[i], strlen(hex[i]), dec, sizeof(dec)), (int)n);
		assert_memory_equal(dec, in[i], n);
	}
	/* Upper-case base32hex and lower-case hex decode too. */
	assert_int_equal(cdns_base32hex_decode("CPNMUOJ1E8", 10, dec, sizeof(dec)), 6);
	assert_memory_equal(dec, "foobar", 6);
	assert_int_equal(cdns_hex_decode("666f6F", 6, dec, sizeof(dec)), 3);

	/* Strict padding: length a multiple of 4, "=" only at the very end. */
	assert_int_equal(cdns_base64_decode("Zg=", 3, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Zg", 2, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Zg==Zg==", 8, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Z===", 4, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Zm=v", 4, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Zm 9", 4, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base64_decode("Zm9v", 4, dec, 2), CDNS_ESPACE);
	assert_int_equal(cdns_base64_encode((const uint8_t *)"foo", 3, buf, 4), CDNS_ESPACE);
	/* Base32hex: no padding, no impossible lengths, no letters past V. */
	assert_int_equal(cdns_base32hex_decode("co======", 8, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base32hex_decode("c", 1, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base32hex_decode("cpn", 3, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base32hex_decode("cw", 2, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_base32hex_decode("cpnmuoj1e8", 10, dec, 5), CDNS_ESPACE);
	assert_int_equal(cdns_base32hex_encode((const uint8_t *)"f", 1, buf, 2), CDNS_ESPACE);
	/* Hex: even length, hex digits only. */
	assert_int_equal(cdns_hex_decode("abc", 3, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_hex_decode("0g", 2, dec, sizeof(dec)), CDNS_ESYNTAX);
	assert_int_equal(cdns_hex_decode("0102", 4, dec, 1), CDNS_ESPACE);
	assert_int_equal(cdns_hex_encode((const uint8_t *)"f", 1, buf, 2), CDNS_ESPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc1035_types),
	    cmocka_unit_test(test_service_types),
	    cmocka_unit_test(test_dnssec_types),
	    cmocka_unit_test(test_svcb),
	    cmocka_unit_test(test_other_types),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_txt_string_limit),
	    cmocka_unit_test(test_output_space),
	    cmocka_unit_test(test_check_and_generic_fallback),
	    cmocka_unit_test(test_random_wire),
	    cmocka_unit_test(test_canonicalize),
	    cmocka_unit_test(test_rrtype),
	    cmocka_unit_test(test_soa_timer_units),
	    cmocka_unit_test(test_base_encodings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
