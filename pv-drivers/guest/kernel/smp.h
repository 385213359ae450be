/* Per-vCPU data (a table indexed by vCPU id) and secondary vCPU bring-up. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "kernel.h"
#include "sched.h"

struct percpu {
	unsigned id;
	bool online;
	struct vcpu_info *vcpu;      /* &shared_info->vcpu_info[id] */
	struct thread *threads;      /* any thread of the ring (the boot thread) */
	struct thread *current;      /* the running thread (for scheduler bookkeeping) */
	evtchn_port_t timer_port;    /* VIRQ_TIMER bound to this vCPU */
	uint64_t timer_armed;        /* last deadline passed to set_timer_op, 0 = none */
	uint64_t nr_upcalls, nr_blocks, nr_switches;
	uint64_t nr_polls_won;      /* idles that an event ended within idlepoll= (no block, no exit) */
	bool evt_off;                /* events disabled for this vCPU's threads (events.h); true until evt_enable */
};

extern struct percpu percpu_table[KXEN_PV_MAX_VCPUS];
extern unsigned nr_cpus_online;

static inline struct percpu *this_cpu(void)
{
	return current_thread()->cpu;
}

static inline unsigned smp_id(void)
{
	return this_cpu()->id;
}

/* Fills in percpu_table[id] for a vCPU about to run. */
void percpu_init(unsigned id);

/* Number of vCPUs the domain has (probes VCPUOP_is_up until it errors). */
unsigned smp_probe_vcpus(void);

/*
 * Starts vCPU id at fn(id, arg) on a fresh stack, with events, time and its
 * VIRQ_TIMER set up. When fn returns the vCPU idles forever.
 * Returns 0 or a negative Xen errno.
 */
int smp_start_cpu(unsigned id, void (*fn)(unsigned id, void *arg), void *arg);

void smp_secondary_main(unsigned id, void *boot);   /* from start.S only */

#endif
