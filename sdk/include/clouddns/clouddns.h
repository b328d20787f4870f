/* Everything a plugin needs. */
#ifndef CLOUDDNS_CLOUDDNS_H
#define CLOUDDNS_CLOUDDNS_H

#include <clouddns/changeset.h>
#include <clouddns/addr.h>
#include <clouddns/conf.h>
#include <clouddns/edns.h>
#include <clouddns/error.h>
#include <clouddns/event.h>
#include <clouddns/journal.h>
#include <clouddns/log.h>
#include <clouddns/name.h>
#include <clouddns/pkt.h>
#include <clouddns/plugin.h>
#include <clouddns/query.h>
#include <clouddns/rcu.h>
#include <clouddns/registry.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/tsig.h>
#include <clouddns/version.h>
#include <clouddns/wire.h>
#include <clouddns/zone.h>
#include <clouddns/zonefile.h>

#endif
