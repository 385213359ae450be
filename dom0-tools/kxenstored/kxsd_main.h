/* kxsd_main.h: the daemon-only layer (kxen-hv access) that main.c drives; not part of the store library. */
#ifndef KXSD_MAIN_H
#define KXSD_MAIN_H

#include "kxen/kxctrl.h"
#include "kxen/kxd.h"
#include "kxenstored.h"

struct hv {
	const char *sock;           /* kxen-hv control socket; NULL: libkxctrl's default */
	kxctrl *h;                  /* opened at the first INTRODUCE */
	struct kxd_loop *loop;      /* main's loop, for the fds hv adds */
	struct xs_server *srv;
	kxd_fd_fn on_ring;          /* main's callback for a guest connection's event fd (arg: the xs_conn) */
	int events_fd;              /* KXCTL_DOMAIN_EVENTS eventfd, or -1 */
	struct xs_domain_ops ops;
};

/* The ops table that INTRODUCE uses to reach guests through kxen-hv. */
const struct xs_domain_ops *hv__ops(struct hv *hv);
void hv__close(struct hv *hv);

/* sandbox.c: the daemon's seccomp list on its thread; 0 or -errno (0 too when off). */
int sandbox__install(void);

#endif
