/* doorbell.c's interface: EVTCHNOP_send completed in the host kernel through KVM ioeventfds. */
#ifndef KXEN_HV_DOORBELL_H
#define KXEN_HV_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#include "kxen-hv.h"

/*
 * The contract (the guest half is in include/kxen/abi.h, KXEN_DOORBELL_PORT):
 * a guest sends on port P by a 4-byte `out` of P to KXEN_DOORBELL_PORT.
 * For every port P of a guest domain G that is interdomain-bound to
 *  - a dom0 port with eventfds attached: kxen-hv registers one ioeventfd
 *    (datamatch P) whose eventfd is that dom0 port's notify eventfd, so
 *    KVM signals the backend directly and kxen-hv never runs;
 *  - a port of another guest domain: one ioeventfd (datamatch P) on an
 *    eventfd of kxen-hv's own, which the doorbell thread reads and turns
 *    into evtchn_set_pending on the peer port.
 * A registration is armed (assigned to KVM) after P's first send through
 * the full hypercall (doorbell_want), by the doorbell thread: arming costs
 * an SRCU grace period, which binds no longer wait for.
 * Every other write (unbound, VIRQ, IPI, a port bound to G itself, a
 * registration KVM refused) exits to user space and is completed there as
 * the full EVTCHNOP_send with the guest's own argument pointer (%rsi), so
 * the result is the one the hypercall would have given.
 *
 * Registrations change only under the domain lock(s) that change the
 * binding (evtchn.c calls doorbell_bind/doorbell_unbind with the same locks
 * held), and doorbell_unbind drains the eventfd before the binding goes: a
 * send that KVM completed before a close is delivered to the port it was
 * bound to then, and one after the close exits to user space and sees the
 * closed port. The thread validates each registration's generation under
 * the domain lock before delivering, so a stale wake-up never reaches a
 * port that was rebound meanwhile.
 */

struct domain;

/* How registrations reach KVM; tests install a recording fake (no /dev/kvm). */
struct doorbell_ops {
	/* Assigns (or deassigns) an ioeventfd on d's VM: 4-byte write of port to KXEN_DOORBELL_PORT signals fd. */
	int (*ioeventfd)(struct domain *d, uint32_t port, int fd, bool assign);
};
extern const struct doorbell_ops *doorbell_ops;

/*
 * Registers a doorbell for g's port (interdomain to peer's rport), if the
 * binding allows one (see above); dom0_notify_fd is the dom0 port's notify
 * eventfd when peer is dom0 (-1: none attached yet, no doorbell). Called with g's and peer's locks held
 * (lock_pair order); a registration that cannot be made leaves the port on
 * the full-hypercall path (never an error for the caller).
 */
void doorbell_bind(struct domain *g, uint32_t port, struct domain *peer, uint32_t rport,
                   int dom0_notify_fd);
/*
 * Removes g's doorbell for port, if any, before its binding changes (g's
 * lock held, and the peer's when deliver_to is not NULL). Sends KVM
 * completed but the thread has not delivered yet go to deliver_to's rport
 * (NULL: they are dropped, the target port is going away).
 */
void doorbell_unbind(struct domain *g, uint32_t port, struct domain *deliver_to, uint32_t rport);
/*
 * Starts the delivery and arming thread, from kxen-hv's main thread: a
 * thread inherits its creator's name, pinning, cgroup and seccomp filter,
 * none of which a vCPU thread's may be. (Started lazily otherwise, in tests.)
 */
void doorbell_init(void);
/*
 * A send on g's port went through the full hypercall: queue the port for
 * arming (once; lock-free, from the vCPU thread). The doorbell thread then
 * assigns its ioeventfd under g's lock if it is still registered and unarmed.
 */
void doorbell_want(struct domain *g, uint32_t port);
/* Arms every queued port now (the doorbell thread's work; tests call it to be synchronous). */
void doorbell_arm_pending(void);
/* Frees g's registration table (all ports already unbound: after evtchn_fini). */
void doorbell_free(struct domain *g);

/* Per-domain send counters (kxl list -l and the log at destruction show them); lock-free. */
struct doorbell_stats {
	uint64_t sends_hypercall;   /* EVTCHNOP_send completed in kxen-hv (exits), doorbell misses included */
	uint64_t doorbell_misses;   /* doorbell writes that matched no registration (exited) */
	uint64_t doorbell_guest;    /* sends completed in the kernel and delivered to a guest by the thread */
	uint32_t doorbells_dom0;    /* armed ports whose doorbell signals a dom0 backend directly (uncounted sends) */
	uint32_t doorbells_guest;   /* armed ports whose doorbell goes to another guest */
};
void doorbell_stats(struct domain *g, struct doorbell_stats *st);

#endif
