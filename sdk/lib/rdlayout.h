/* Private to libclouddns: where the domain names sit inside the RDATA of the types that may
 * carry compressed names (RFC 3597 §4), shared by the reader (wire.c) and the builder (pkt.c).
 * The table itself lives in wire.c. */
#ifndef CDNS_RDLAYOUT_H
#define CDNS_RDLAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/* Field codes; any other value 1..CDNS__RDF_FIXED_MAX is a fixed run of that many octets. */
enum {
	CDNS__RDF_END = 0, /* end of the layout: the RDATA must end here too */
	CDNS__RDF_FIXED_MAX = 0xf0,
	CDNS__RDF_NAME = 0xfd, /* a domain name (possibly compressed on the wire) */
	CDNS__RDF_CSTR = 0xfe, /* a <character-string>: one length octet and that many octets */
	CDNS__RDF_REST = 0xff, /* every remaining octet (zero or more); always last */
};

#define CDNS__RDLAYOUT_MAXFIELDS 7

typedef struct cdns__rdlayout {
	uint16_t type;
	/* RFC 1035 types, whose RDATA names a writer may compress (RFC 3597 §4). */
	bool compress;
	uint8_t field[CDNS__RDLAYOUT_MAXFIELDS]; /* terminated by CDNS__RDF_END or REST */
} cdns__rdlayout_t;

/* Layout of type's RDATA, or NULL when its RDATA holds no compressible name (and is then
 * opaque: RFC 3597 §4). */
__attribute__((visibility("hidden"))) const cdns__rdlayout_t *cdns__rdlayout(uint16_t type);

#endif
