/* Per-vCPU table and secondary vCPU bring-up through VCPUOP_initialise/VCPUOP_up. */
#include "smp.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"

struct percpu percpu_table[KXEN_PV_MAX_VCPUS];
unsigned nr_cpus_online = 1;

/* Handed to the new vCPU in %rsi; it frees it once read. */
struct secondary_boot {
	void (*fn)(unsigned id, void *arg);
	void *arg;
};

void percpu_init(unsigned id)
{
	struct percpu *c = &percpu_table[id];

	c->id = id;
	c->vcpu = &shared_info->vcpu_info[id];
	c->evt_off = true;
}

unsigned smp_probe_vcpus(void)
{
	unsigned n = 1;

	/* The hypervisor errors (-ENOENT/-EINVAL) on ids past the domain's max. */
	for (unsigned id = 1; id < KXEN_PV_MAX_VCPUS; id++) {
		if (HYPERVISOR_vcpu_op(VCPUOP_is_up, id, NULL) < 0)
			break;
		n++;
	}
	return n;
}

int smp_start_cpu(unsigned id, void (*fn)(unsigned id, void *arg), void *arg)
{
	struct percpu *c;
	long rc;

	if (id == 0 || id >= KXEN_PV_MAX_VCPUS)
		return -XEN_EINVAL;
	c = &percpu_table[id];
	if (c->online)
		return -XEN_EEXIST;

	void *stack = alloc_pages(STACK_PAGES, STACK_PAGES);
	struct secondary_boot *boot = malloc(sizeof(*boot));
	struct vcpu_guest_context *ctx = calloc(1, sizeof(*ctx));

	if (!stack || !boot || !ctx) {
		free_pages(stack, stack ? STACK_PAGES : 0);
		free(boot);
		free(ctx);
		return -XEN_ENOMEM;
	}
	percpu_init(id);
	sched_init_cpu(c, stack, "vcpu-main");
	boot->fn = fn;
	boot->arg = arg;

	/*
	 * kxen-hv reads only rip, rsp, rdi, rsi and event_callback_eip (the
	 * builder's page tables and GDT are shared); the rest is filled the
	 * way Xen would want it so the context is also valid for a real Xen.
	 */
	ctx->flags = VGCF_in_kernel;
	ctx->user_regs.rip = (unsigned long)smp_secondary_entry;
	ctx->user_regs.rsp = (unsigned long)stack + STACK_SIZE;
	ctx->user_regs.rdi = id;
	ctx->user_regs.rsi = (unsigned long)boot;
	ctx->user_regs.cs = KXEN_SEL_USER_CS;
	ctx->user_regs.ss = KXEN_SEL_USER_DS;
	ctx->user_regs.ds = KXEN_SEL_USER_DS;
	ctx->user_regs.es = KXEN_SEL_USER_DS;
	ctx->user_regs.rflags = 0x202;
	ctx->event_callback_eip = (unsigned long)hypervisor_callback;

	rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, id, ctx);
	free(ctx);
	if (rc == 0)
		rc = HYPERVISOR_vcpu_op(VCPUOP_up, id, NULL);
	if (rc < 0) {
		free(boot);
		free_pages(stack, STACK_PAGES);
		return rc;
	}
	return 0;
}

void smp_secondary_main(unsigned id, void *arg)
{
	struct percpu *c = this_cpu();
	struct secondary_boot boot;

	if (c->id != id || c != &percpu_table[id])
		panic("smp: vcpu %u started on the stack of vcpu %u", id, c->id);
	/* Whatever the hypervisor left, we start masked until our handlers exist. */
	WRITE_ONCE(c->vcpu->evtchn_upcall_mask, 1);
	barrier();
	/* Also given as event_callback_eip: registering again is harmless and covers either reading. */
	events_init_cpu();
	clock_init_cpu();
	memcpy(&boot, arg, sizeof(boot));
	free(arg);
	c->online = true;
	__atomic_fetch_add(&nr_cpus_online, 1, __ATOMIC_SEQ_CST);
	evt_enable();
	boot.fn(id, boot.arg);
	sched_idle_forever();
}
