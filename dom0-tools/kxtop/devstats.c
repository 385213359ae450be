/* Device counters for kxtop: the seam where kxen-backd's vif and vbd statistics will come in. */
#include <string.h>

#include "devstats.h"

/*
 * No backend exports counters yet. When kxen-backd grows vif/vbd backends,
 * this reads their per-domain statistics (for instance a file or a
 * xenstore-free shared page it publishes) and nothing else in kxtop changes.
 */
int devstats__get(uint32_t domid, uint64_t created_ns, struct kxtop_devstats *out)
{
	memset(out, 0, sizeof(*out));
	return 0;
}
