/* 2-level event channels: upcall dispatch, per-port handlers, bind/send/mask helpers. */
#ifndef GUEST_EVENTS_H
#define GUEST_EVENTS_H

#include "kernel.h"
#include "smp.h"

typedef void (*evtchn_handler_t)(evtchn_port_t port, void *arg);

#define NR_EVTCHN EVTCHN_2L_NR_CHANNELS

/*
 * Event delivery masking for this vCPU (the PV replacement for cli/sti,
 * which fault at CPL 3). evt_save_disable returns the previous state for
 * evt_restore, which, when it enables, also runs whatever became pending
 * meanwhile: the hypervisor raises no upcall for events that arrived while
 * we were masked.
 *
 * The state is c->evt_off, not vcpu_info's mask: with lazy upcalls (the
 * default, events_lazy) threads run with evtchn_upcall_mask set even when
 * events are enabled, and events are run at the scheduling points instead
 * (evt_restore, schedule, the block in idle). The scheduler is cooperative:
 * a handler only wakes threads, which cannot run before the running thread
 * schedules, so an upcall in the middle of a thread only costs an exit (the
 * kick that interrupts the vCPU; kxen-hv sends none to a masked vCPU).
 */
extern bool events_lazy;

static inline int evt_save_disable(void)
{
	struct percpu *c = this_cpu();
	int old = c->evt_off;

	c->evt_off = true;
	c->vcpu->evtchn_upcall_mask = 1;
	barrier();
	return old;
}

void evt_restore(int old);

static inline void evt_enable(void)
{
	evt_restore(0);
}

/* Switches between lazy upcalls (true) and upcalls whenever enabled (false); from the boot thread only. */
void events_set_lazy(bool lazy);

/* Boot vCPU: masks every port, registers the callback. Secondary vCPUs: registers the callback. */
void events_init(void);
void events_init_cpu(void);

/* Called by hypervisor_callback (start.S) with events masked; returns this vCPU's vcpu_info. */
struct vcpu_info *evtchn_do_upcall(void);
/* Runs pending events from thread context; events must be masked. */
void evtchn_poll_local(void);

/* Installs handler for port on vCPU cpu (ports only notify the vCPU they are bound to). */
void evtchn_set_handler(evtchn_port_t port, unsigned cpu, evtchn_handler_t fn, void *arg);
void evtchn_clear_handler(evtchn_port_t port);

/* These return the local port, or a negative Xen errno. All leave the port unmasked. */
int evtchn_bind_virq(uint32_t virq, unsigned vcpu, evtchn_handler_t fn, void *arg);
int evtchn_alloc_unbound(domid_t remote, evtchn_handler_t fn, void *arg);
int evtchn_bind_interdomain(domid_t remote, evtchn_port_t rport, evtchn_handler_t fn, void *arg);

int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
void evtchn_mask(evtchn_port_t port);
void evtchn_unmask(evtchn_port_t port);
bool evtchn_test_and_clear(evtchn_port_t port);

#endif
