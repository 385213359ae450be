/* kxsd_main.h: the daemon-only layer (kxen-hv access) that main.c drives; not part of the store library. */
#ifndef KXSD_MAIN_H
#define KXSD_MAIN_H

#include "kxctrl.h"
#include "kxenstored.h"

struct hv {
	const char *sock;           /* kxen-hv control socket; NULL: libkxctrl's default */
	kxctrl *h;                  /* opened at the first INTRODUCE */
	int epfd;                   /* main loop's epoll, for the fds hv adds */
	int events_fd;              /* KXCTL_DOMAIN_EVENTS eventfd, or -1 */
	char events_tag;            /* epoll data.ptr marking events_fd */
	struct xs_domain_ops ops;
};

/* The ops table that INTRODUCE uses to reach guests through kxen-hv. */
const struct xs_domain_ops *hv__ops(struct hv *hv);
/* After a domain event: releases introduced domains that are gone or dying. */
void hv__check_domains(struct hv *hv, struct xs_server *srv);
void hv__close(struct hv *hv);

#endif
