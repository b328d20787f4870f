/* Binary-to-text encodings used by presentation formats: base64 (RFC 4648 §4), base32hex
 * without padding (RFC 4648 §7, as NSEC3 uses it, RFC 5155 §3.3) and base16/hex.
 *
 * Encoders write a terminating NUL after the text and need room for it; they return the text
 * length without the NUL. Decoders take exactly the characters given (no blanks, no line
 * breaks) and return the number of octets written. */
#include <limits.h>

#include <clouddns/error.h>
#include <clouddns/rdata.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

static const char cdns__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/* Lower case: NSEC3 hashes appear in owner names, which are compared and shown lower-cased. */
static const char cdns__b32hex[] = "0123456789abcdefghijklmnopqrstuv";
static const char cdns__hex[] = "0123456789ABCDEF";

static int cdns__b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int cdns__b32hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'V')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'v')
		return c - 'a' + 10;
	return -1;
}

static int cdns__hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cdns_base64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t need = (len + 2) / 3 * 4;
	size_t o = 0;

	/* The length must fit the int result. */
	if (len > (size_t)INT_MAX / 4 * 3 || need >= outlen)
		return CDNS_ESPACE;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i;
		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		out[o++] = cdns__b64[v >> 18 & 63];
		out[o++] = cdns__b64[v >> 12 & 63];
		out[o++] = n > 1 ? cdns__b64[v >> 6 & 63] : '=';
		out[o++] = n > 2 ? cdns__b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* RFC 4648 §4 with strict padding: the length is a multiple of four and "=" appears only as
 * one or two final characters of the last quantum. Non-zero pad bits are accepted (§3.5
 * allows either), so decoding is not always the inverse of encoding. */
int cdns_base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	size_t o = 0;

	if (len > INT_MAX)
		return CDNS_ESPACE;
	if (len % 4 != 0)
		return CDNS_ESYNTAX;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t j = 0; j < 4; j++) {
			char c = in[i + j];
			if (c == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return CDNS_ESYNTAX; /* data after padding */
			v[j] = cdns__b64_value(c);
			if (v[j] < 0)
				return CDNS_ESYNTAX;
		}
		uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		size_t n = 3 - pad;
		if (o + n > outlen)
			return CDNS_ESPACE;
		out[o++] = (uint8_t)(q >> 16);
		if (n > 1)
			out[o++] = (uint8_t)(q >> 8);
		if (n > 2)
			out[o++] = (uint8_t)q;
	}
	return (int)o;
}

int cdns_base32hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	/* Eight characters per five octets; a partial group ends after the last used bit. */
	size_t need = len / 5 * 8 + (len % 5 * 8 + 4) / 5;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (len > (size_t)INT_MAX / 8 * 5 || need >= outlen)
		return CDNS_ESPACE;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = cdns__b32hex[acc >> bits & 31];
		}
	}
	if (bits > 0)
		out[o++] = cdns__b32hex[acc << (5 - bits) & 31];
	out[o] = '\0';
	return (int)o;
}

/* RFC 4648 §7 alphabet, either case, no "=" padding (RFC 5155 §3.3). A final group must have
 * a length a complete octet ends in (2, 4, 5 or 7 characters); its pad bits are ignored. */
int cdns_base32hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (len > INT_MAX)
		return CDNS_ESPACE;
	switch (len % 8) {
	case 1:
	case 3:
	case 6: return CDNS_ESYNTAX;
	default: break;
	}
	for (size_t i = 0; i < len; i++) {
		int v = cdns__b32hex_value(in[i]);
		if (v < 0)
			return CDNS_ESYNTAX;
		acc = (acc << 5 | (uint32_t)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return CDNS_ESPACE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

int cdns_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	if (len > (size_t)INT_MAX / 2 || len * 2 >= outlen)
		return CDNS_ESPACE;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = cdns__hex[in[i] >> 4];
		out[2 * i + 1] = cdns__hex[in[i] & 15];
	}
	out[len * 2] = '\0';
	return (int)(len * 2);
}

int cdns_hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	if (len > INT_MAX)
		return CDNS_ESPACE;
	if (len % 2 != 0)
		return CDNS_ESYNTAX;
	if (len / 2 > outlen)
		return CDNS_ESPACE;
	for (size_t i = 0; i < len; i += 2) {
		int hi = cdns__hex_value(in[i]), lo = cdns__hex_value(in[i + 1]);
		if (hi < 0 || lo < 0)
			return CDNS_ESYNTAX;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

#pragma GCC visibility pop
