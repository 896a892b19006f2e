/* klog.h — the logging API (common/log.h), under a name that cannot be
 * confused with the broker's partition log (broker/log.h). */
#include "log.h"
