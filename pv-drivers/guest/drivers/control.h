/* The guest's control/shutdown handling: acts on the toolstack's xenstore requests as Linux's manage.c does. */
#ifndef GUEST_CONTROL_H
#define GUEST_CONTROL_H

/*
 * Starts the "control" thread on vCPU 0 (needs xenbus_init first). It
 * never blocks boot: it advertises control/feature-poweroff and
 * control/feature-reboot, waiting as long as it takes for xenstore, then
 * watches control/shutdown. Returns 0 or -XEN_ENOMEM.
 */
int control_init(void);

#endif
