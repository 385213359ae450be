/* The vkbd device type on the xenbus layer: Xen's PV keyboard and pointer (xen/io/kbdif.h), connected but never fed input (kxen has no input source). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <xen/io/kbdif.h>
#include "backd.h"
#include "xenbus.h"

/* Nothing to take: the device has no input source. Offers what Xen's own vkbd backends offer first. */
static int vkbd_probe(struct xenbus_dev *xd, char *err, size_t len)
{
	(void)err;
	(void)len;
	return xenbus_write(xd->bd, xd->be, XENKBD_FIELD_FEAT_ABS_POINTER, "1");
}

/*
 * The frontend's page and port are checked, not mapped: no event is ever
 * written to the page, so holding a mapping would only pin the guest's
 * page. Linux's xen-kbdfront then finds its device connected and idle.
 */
static int vkbd_connect(struct xenbus_dev *xd, char *err, size_t len)
{
	struct backd *bd = xd->bd;
	unsigned long gref, port;

	if (xenbus_read_ulong(bd, xd->fe, XENKBD_FIELD_RING_GREF, UINT32_MAX, &gref) &&
	    xenbus_read_ulong(bd, xd->fe, XENKBD_FIELD_RING_REF, UINT64_MAX, &gref)) {
		snprintf(err, len, "%s (nor %s): %s", XENKBD_FIELD_RING_GREF, XENKBD_FIELD_RING_REF, xenbus_why());
		return -EINVAL;
	}
	if (xenbus_read_ulong(bd, xd->fe, XENKBD_FIELD_EVT_CHANNEL, UINT32_MAX, &port) || port == 0) {
		snprintf(err, len, "%s missing or invalid", XENKBD_FIELD_EVT_CHANNEL);
		return -EINVAL;
	}
	xenbus_dev_log(xd, "connected (page %lu, port %lu): no input source, no events will be sent", gref, port);
	return 0;
}

static void vkbd_disconnect(struct xenbus_dev *xd)
{
	xenbus_dev_log(xd, "disconnected");
}

const struct xenbus_type vkbd_xenbus = {
	.type = "vkbd",
	.max_devid = 255,
	.probe = vkbd_probe,
	.connect = vkbd_connect,
	.disconnect = vkbd_disconnect,
};
