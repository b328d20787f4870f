/* libFuzzer harness for the master-file reader: any input must be read or refused with a
 * well-formed message, without a crash, a leak or an endless loop. $INCLUDE is off
 * (max_include_depth 0), and the callback stops after a few thousand records so that a
 * $GENERATE over a huge range stays quick. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rdata.h>
#include <clouddns/zonefile.h>

#define FUZZ_MAX_RECORDS 5000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_msg(const cdns_zf_msg_t *m)
{
	if (m->file == NULL || memchr(m->token, '\0', sizeof(m->token)) == NULL ||
	    memchr(m->text, '\0', sizeof(m->text)) == NULL || m->text[0] == '\0')
		__builtin_trap();
}

static int fuzz_rr(void *ctx, const cdns_zf_rr_t *rr)
{
	unsigned *n = ctx;

	/* The record must be well-formed: an absolute owner and RDATA the type accepts. */
	if (cdns_name_check(rr->owner, CDNS_NAME_MAXLEN) < 0 || rr->file == NULL || rr->line == 0 ||
	    rr->ttl > 2147483647u)
		__builtin_trap();
	if (cdns_rdata_check(rr->type, rr->rdata, rr->rdlen) != 0)
		__builtin_trap();
	return ++*n >= FUZZ_MAX_RECORDS ? 1 : 0;
}

static void fuzz_warn(void *ctx, const cdns_zf_msg_t *m)
{
	(void)ctx;
	fuzz_check_msg(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t origin[] = "\007example\003com";
	cdns_zf_opts_t o = {
		.origin = origin,
		.max_include_depth = 0,
		.warn = fuzz_warn,
	};
	cdns_zf_msg_t err;
	unsigned n = 0;
	int r;

	r = cdns_zonefile_read_buf((const char *)data, size, "fuzz.zone", &o, fuzz_rr, &n, &err);
	if (r == CDNS_ESYNTAX || r == CDNS_EIO)
		fuzz_check_msg(&err);
	else if (r != 0 && r != 1)
		__builtin_trap();
	return 0;
}
