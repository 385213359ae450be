/* The xenbus backend state machine and the rule for numbers in xenstore keys: pure functions, unit-tested without xenstore. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/io/xenbus.h>
#include "xenbus.h"

void xenbus_state_next(const struct xenbus_state_in *in, struct xenbus_state_out *out)
{
	bool closed_ours = in->ours == XenbusStateClosing || in->ours == XenbusStateClosed;

	*out = (struct xenbus_state_out){ .state = in->ours };
	/* The toolstack asks for the device back (xl/libxl: online=0 and Closing). */
	if (!in->online || (in->be_key == XenbusStateClosing && !closed_ours)) {
		out->disconnect = in->connected;
		if (in->ours != XenbusStateClosed)
			out->state = XenbusStateClosing;
		/* A frontend that never started, or has closed, has nothing more to do. */
		if (in->fe <= XenbusStateInitialising || in->fe == XenbusStateClosed)
			out->state = XenbusStateClosed;
		return;
	}
	switch (in->fe) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		out->connect = in->ours == XenbusStateInitWait && !in->broken && !in->connected;
		break;
	case XenbusStateClosing:
		out->disconnect = in->connected;
		if (in->ours != XenbusStateClosed)
			out->state = XenbusStateClosing;
		break;
	case XenbusStateClosed:
		out->disconnect = in->connected;
		out->state = XenbusStateClosed;
		break;
	case XenbusStateInitialising:
		/* A frontend starting over after a close or a cut-off (Linux's "prepare for reconnect"). */
		if (in->ours == XenbusStateClosed || in->broken) {
			out->unbreak = in->broken;
			out->disconnect = in->connected;
			out->state = XenbusStateInitWait;
		}
		break;
	default:
		/* The frontend directory is gone or unreadable: nothing to serve. */
		if (in->fe < 0)
			out->disconnect = in->connected;
		break;
	}
}

int xenbus_state_parse_ulong(const char *key, const char *text, unsigned long max, unsigned long *out,
                             char *why, size_t len)
{
	size_t n = strnlen(text, 21);
	unsigned long v = 0;

	/* 20 digits hold every 64-bit value; anything longer is not one. */
	if (n == 0 || n > 20 || strspn(text, "0123456789") != n) {
		snprintf(why, len, "%s: '%.32s%s' is not an unsigned decimal number", key, text, n > 32 ? "..." : "");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(text[i] - '0');

		if (d > max || v > (max - d) / 10) {
			snprintf(why, len, "%s: %s is above %lu", key, text, max);
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
