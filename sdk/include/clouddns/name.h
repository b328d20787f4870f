/* Domain names in wire form (RFC 1035 §3.1): a sequence of length-prefixed labels ending with
 * the root label (a zero byte). Unless a function says otherwise, a name here is uncompressed
 * and trusted (already validated); lengths include the final zero byte. */
#ifndef CLOUDDNS_NAME_H
#define CLOUDDNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDNS_NAME_MAXLEN 255  /* RFC 1035 §2.3.4, wire octets including the root label */
#define CDNS_LABEL_MAXLEN 63
#define CDNS_NAME_MAXLABELS 128
/* Enough for the longest presentation form: every octet as \DDD plus dots and a NUL. */
#define CDNS_NAME_MAXTEXT (CDNS_NAME_MAXLEN * 4 + 1)

/* Read a possibly compressed name from a message (RFC 1035 §4.1.4), validating as RFC 9267
 * asks: every pointer must point strictly before the label that holds it (so no loops and no
 * forward references), labels of type 01/10 are rejected, labels ≤ 63, the name ≤ 255.
 * Writes the uncompressed name to out (CDNS_NAME_MAXLEN bytes) unless out is NULL, advances
 * *pos past the name as it is stored at *pos. Returns the uncompressed length, or CDNS_ETRUNC,
 * CDNS_EPTR, CDNS_ELABEL, CDNS_ENAMELEN, CDNS_EFORMAT.
 * Precisely: a pointer must target an offset ≥ CDNS_HDR_LEN and before the start of the run
 * of labels that holds it, and the labels it leads to must end before that run starts ("a
 * prior occurrence"), else CDNS_EPTR; more than CDNS_NAME_MAXLABELS + 1 pointers in one name
 * is CDNS_EPTR too (bounded work). Label types 01 and 10 (a length byte 0x40..0xbf, so also
 * a "label of 64") are CDNS_EFORMAT; running off msglen is CDNS_ETRUNC. On error *pos is
 * left unchanged. */
int cdns_name_unpack(const uint8_t *msg, size_t msglen, size_t *pos, uint8_t *out);

/* Validate an uncompressed name in a buffer of buflen bytes; returns its length or an error:
 * CDNS_ETRUNC (no root label within buflen), CDNS_EFORMAT (a length byte > 63: pointers and
 * other label types), CDNS_ENAMELEN. */
int cdns_name_check(const uint8_t *name, size_t buflen);

/* Length of a trusted uncompressed name, including the root label. */
size_t cdns_name_len(const uint8_t *name);

/* Number of labels, not counting the root label ("." has 0). */
unsigned cdns_name_labels(const uint8_t *name);

/* Copy a trusted name into out, lower-casing ASCII letters (RFC 4343). Returns the length. */
size_t cdns_name_copy_lower(uint8_t *out, const uint8_t *name);
/* Lower-case in place. */
void cdns_name_lower(uint8_t *name);

/* Case-insensitive equality (RFC 4343). */
bool cdns_name_equal(const uint8_t *a, const uint8_t *b);

/* Canonical DNS name order (RFC 4034 §6.1): <0, 0, >0. Case-insensitive. */
int cdns_name_cmp(const uint8_t *a, const uint8_t *b);

/* True if name is parent or below it (case-insensitive). */
bool cdns_name_in(const uint8_t *name, const uint8_t *parent);

/* Pointer to the suffix of name after skipping n labels (n ≤ cdns_name_labels(name)). */
const uint8_t *cdns_name_skip(const uint8_t *name, unsigned n);

/* Hash of a name that is already lower-cased (FNV-1a over the wire bytes). */
uint32_t cdns_name_hash(const uint8_t *name);

/* Parse presentation form (RFC 1035 §5.1: "\." and "\DDD" escapes). A name that does not end
 * in an unescaped dot is relative and origin (may be NULL: then it is an error) is appended.
 * "@" is not handled here (it is master-file syntax). The case is kept. Writes out
 * (CDNS_NAME_MAXLEN bytes). Returns the wire length or CDNS_ESYNTAX, CDNS_ELABEL,
 * CDNS_ENAMELEN, CDNS_EINVAL (relative name without origin). */
int cdns_name_from_text(const char *text, size_t len, const uint8_t *origin, uint8_t *out);

/* Write presentation form, absolute with the final dot ("." for the root), escaping '.' '\\'
 * '"' '(' ')' ';' '@' '$' and space as "\c" and other non-printables as "\DDD".
 * Returns the text length (without NUL) or CDNS_ESPACE. */
int cdns_name_to_text(const uint8_t *name, char *out, size_t outlen);

#endif
