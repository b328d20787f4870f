/* Error codes shared by libclouddns, the server and plugins. */
#ifndef CLOUDDNS_ERROR_H
#define CLOUDDNS_ERROR_H

/* Functions return 0 (or a length/count) on success and one of these negative codes on error. */
enum {
	CDNS_OK = 0,
	CDNS_ENOMEM = -1,    /* out of memory */
	CDNS_EINVAL = -2,    /* invalid argument */
	CDNS_EFORMAT = -3,   /* malformed wire data */
	CDNS_ESPACE = -4,    /* no room in the output buffer */
	CDNS_ERANGE = -5,    /* value out of range */
	CDNS_ENOENT = -6,    /* not found */
	CDNS_EEXIST = -7,    /* already exists */
	CDNS_ESYNTAX = -8,   /* text syntax error */
	CDNS_ENOTSUP = -9,   /* not supported */
	CDNS_EIO = -10,      /* I/O error (errno has more) */
	CDNS_ELABEL = -11,   /* label longer than 63 octets */
	CDNS_ENAMELEN = -12, /* name longer than 255 octets */
	CDNS_EPTR = -13,     /* bad compression pointer (forward, loop, out of bounds) */
	CDNS_ETRAIL = -14,   /* trailing bytes after the last record */
	CDNS_EABI = -15,     /* plugin built for another ABI */
	CDNS_EAGAIN = -16,   /* try again later */
	CDNS_ELIMIT = -17,   /* a configured limit was reached */
	CDNS_ETRUNC = -18,   /* data ends before the structure does */
	CDNS_ECONFIG = -19,  /* configuration error (details were reported) */
};

/* Human-readable text for a CDNS_E* code; never NULL. */
const char *cdns_strerror(int err);

#endif
