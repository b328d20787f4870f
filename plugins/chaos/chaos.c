#include <clouddns/clouddns.h>
CDNS_PLUGIN(.name = "chaos", .version = CDNS_VERSION);
