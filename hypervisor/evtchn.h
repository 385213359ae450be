/* evtchn.c's interface: 2-level event channels (no ioctls; the CUnit suites drive them). */
#ifndef KXEN_HV_EVTCHN_H
#define KXEN_HV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "kxen-hv.h"

#define EVTCHN_MAX_PORTS   (sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64)  /* 4096 */
#define EVTCHN_BUCKET      64
#define EVTCHN_NR_BUCKETS  (EVTCHN_MAX_PORTS / EVTCHN_BUCKET)

struct evtchn {
	uint8_t state;        /* EVTCHNSTAT_* from <xen/event_channel.h> */
	uint8_t notify_vcpu;
	uint16_t virq;
	domid_t remote_dom;   /* unbound: who may bind; interdomain: peer */
	evtchn_port_t remote_port;
	int notify_fd;        /* dom0 ports: eventfd kxen-hv writes on a send to dom0 */
	int kick_fd;          /* dom0 ports: eventfd dom0 writes to send */
};

struct domain;
struct vcpu;

/*
 * Every function takes d->lock itself (both domains' locks, in domid order,
 * for interdomain operations) and returns 0 or -errno as Xen's
 * EVTCHNOP_* would: -EINVAL for a bad port or state, -ENOSPC when ports
 * run out, -ESRCH for a missing remote domain.
 */

/* Allocates d's (empty) port table. */
int evtchn_init(struct domain *d);
/* Closes every port of d (interdomain peers see unbound) and frees the table. */
void evtchn_fini(struct domain *d);
/* A new port of d in state unbound that domain remote may bind. */
int evtchn_alloc_unbound(struct domain *d, domid_t remote, evtchn_port_t *port);
/* Binds a new port of ld to (remote_dom, remote_port), which must be unbound for ld; the new port is left pending. */
int evtchn_bind_interdomain(struct domain *ld, domid_t remote_dom,
                            evtchn_port_t remote_port, evtchn_port_t *port);
/* A new port delivering virq to vCPU vcpu (-EEXIST if that vCPU already bound it). */
int evtchn_bind_virq(struct domain *d, uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
/* A new port for inter-processor events to vCPU vcpu. */
int evtchn_bind_ipi(struct domain *d, uint32_t vcpu, evtchn_port_t *port);
/* Closes port (an interdomain peer becomes unbound for us; a dom0 port closes its eventfds). */
int evtchn_close(struct domain *d, evtchn_port_t port);
/* Sends on port: sets the peer's (or our own, for VIRQ/IPI) port pending. Unbound ports drop it. */
int evtchn_send(struct domain *d, evtchn_port_t port);
/* Fills st (EVTCHNOP_status) for st->port of d. */
int evtchn_status(struct domain *d, evtchn_status_t *st);
/* Clears port's mask bit and, if it is pending, raises the upcall as Xen does. */
int evtchn_unmask(struct domain *d, evtchn_port_t port);
/* Moves port's notifications to vCPU vcpu (-EINVAL for IPIs and per-vCPU VIRQs, bound for life). */
int evtchn_bind_vcpu(struct domain *d, evtchn_port_t port, uint32_t vcpu);
/* Closes every port of d, as EVTCHNOP_reset. */
int evtchn_reset(struct domain *d);
/* Marks port pending in d and notifies (upcall, poller wake or dom0 eventfd). */
void evtchn_set_pending(struct domain *d, evtchn_port_t port);
/* Raises a VIRQ on a vCPU if the guest bound it; returns whether it was bound. */
bool evtchn_raise_virq(struct vcpu *v, uint32_t virq);
/* Whether port is pending in d's shared_info (false without shared_info). */
bool evtchn_is_pending(struct domain *d, evtchn_port_t port);
/* Attaches eventfds to a dom0 port (dom0's ports only); the port owns and closes them. */
int evtchn_dom0_attach(struct domain *dom0, evtchn_port_t port, int notify_fd, int kick_fd);

#endif
