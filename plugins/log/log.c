#include <clouddns/clouddns.h>
CDNS_PLUGIN(.name = "log", .version = CDNS_VERSION);
