/* Readiness for systemd: the one place kxen's daemons say "serving now" to a Type=notify unit. */
#ifndef KXEN_NOTIFY_H
#define KXEN_NOTIFY_H

#include <systemd/sd-daemon.h>

/*
 * Tells the service manager that the daemon serves from now on, with status
 * as the unit's status line. Call it once, when clients can connect (its
 * socket listens, or its watches are set). A no-op when $NOTIFY_SOCKET is
 * unset (not started by systemd); the variable is then removed, so that
 * children do not inherit it.
 */
static inline void notify__ready(const char *status)
{
	sd_notifyf(1, "READY=1\nSTATUS=%s", status);
}

#endif
