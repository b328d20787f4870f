#include <clouddns/clouddns.h>
CDNS_PLUGIN(.name = "whoami", .version = CDNS_VERSION);
