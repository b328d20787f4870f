/* Text for the CDNS_E* codes. */
#include <clouddns/error.h>

const char *cdns_strerror(int err)
{
	switch (err) {
	case CDNS_OK: return "success";
	case CDNS_ENOMEM: return "out of memory";
	case CDNS_EINVAL: return "invalid argument";
	case CDNS_EFORMAT: return "malformed data";
	case CDNS_ESPACE: return "no room in buffer";
	case CDNS_ERANGE: return "value out of range";
	case CDNS_ENOENT: return "not found";
	case CDNS_EEXIST: return "already exists";
	case CDNS_ESYNTAX: return "syntax error";
	case CDNS_ENOTSUP: return "not supported";
	case CDNS_EIO: return "input/output error";
	case CDNS_ELABEL: return "label longer than 63 octets";
	case CDNS_ENAMELEN: return "name longer than 255 octets";
	case CDNS_EPTR: return "bad compression pointer";
	case CDNS_ETRAIL: return "trailing data after the message";
	case CDNS_EABI: return "plugin ABI mismatch";
	case CDNS_EAGAIN: return "try again";
	case CDNS_ELIMIT: return "limit reached";
	case CDNS_ETRUNC: return "data truncated";
	case CDNS_ECONFIG: return "configuration error";
	default: return "unknown error";
	}
}
