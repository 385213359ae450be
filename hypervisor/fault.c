/* Guest CPU exceptions: decode the ring-0 stub frame, dump registers, crash only that domain. */
#include <stdio.h>
#include <string.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "fault.h"

static const char *const vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

/* What the guest had in its registers when it faulted: the stub's frame plus the ring-0 exit state. */
static void save_fault_ctx(struct vcpu *v, const uint64_t f[7], const struct fault_regs *r0)
{
	struct cpu_user_regs *u = &v->fault_ctx.user_regs;
	memset(&v->fault_ctx, 0, sizeof(v->fault_ctx));
	u->rax = f[0];
	u->error_code = (uint32_t)f[1];
	u->rip = f[2];
	u->cs = (uint16_t)f[3];
	u->rflags = f[4];
	u->rsp = f[5];
	u->ss = (uint16_t)f[6];
	u->rbx = r0->rbx;
	u->rcx = r0->rcx;
	u->rdx = r0->rdx;
	u->rsi = r0->rsi;
	u->rdi = r0->rdi;
	u->rbp = r0->rbp;
	u->r8 = r0->r8;
	u->r9 = r0->r9;
	u->r10 = r0->r10;
	u->r11 = r0->r11;
	u->r12 = r0->r12;
	u->r13 = r0->r13;
	u->r14 = r0->r14;
	u->r15 = r0->r15;
	u->ds = u->es = u->ss;
	v->fault_ctx.ctrlreg[2] = r0->cr2;
	v->fault_ctx.ctrlreg[3] = KXEN_PV_PML4;
	v->fault_ctx.user_regs.entry_vector = 0;
	v->fault_ctx_valid = true;
}

void fault_report(struct vcpu *v, unsigned vector, const struct fault_regs *r0)
{
	struct domain *d = v->d;
	uint64_t f[7];   /* [rax][error][rip][cs][rflags][rsp][ss] pushed by the stub */
	uint64_t sp = r0->rsp;
	const char *name = vector < 32 && vector_names[vector] ? vector_names[vector] : "interrupt";

	/* The frame lives in the builder's supervisor-only stacks, which gmem_read refuses on purpose. */
	if (gmem_read_region(&d->mem, f, sp, sizeof(f), KXEN_PV_RING0_STACKS, KXEN_PV_RESERVED_END) < 0) {
		domain_crash(d, "vcpu %u: exception %u with a corrupt ring-0 stack (rsp %#llx)",
		             v->id, vector, (unsigned long long)sp);
		return;
	}
	hvlog("(XEN) d%u v%u: fatal exception %u (%s) at rip %#018llx, error code %#llx",
	      d->domid, v->id, vector, name, (unsigned long long)f[2], (unsigned long long)f[1]);
	if (vector == 14)
		hvlog("(XEN) d%u v%u: page fault address (cr2) %#llx", d->domid, v->id,
		      (unsigned long long)r0->cr2);
	hvlog("(XEN) d%u v%u: rax %016llx rbx %016llx rcx %016llx", d->domid, v->id,
	      (unsigned long long)f[0], (unsigned long long)r0->rbx, (unsigned long long)r0->rcx);
	hvlog("(XEN) d%u v%u: rdx %016llx rsi %016llx rdi %016llx", d->domid, v->id,
	      (unsigned long long)r0->rdx, (unsigned long long)r0->rsi, (unsigned long long)r0->rdi);
	hvlog("(XEN) d%u v%u: rbp %016llx rsp %016llx r8  %016llx", d->domid, v->id,
	      (unsigned long long)r0->rbp, (unsigned long long)f[5], (unsigned long long)r0->r8);
	hvlog("(XEN) d%u v%u: r9  %016llx r10 %016llx r11 %016llx", d->domid, v->id,
	      (unsigned long long)r0->r9, (unsigned long long)r0->r10, (unsigned long long)r0->r11);
	hvlog("(XEN) d%u v%u: r12 %016llx r13 %016llx r14 %016llx", d->domid, v->id,
	      (unsigned long long)r0->r12, (unsigned long long)r0->r13, (unsigned long long)r0->r14);
	hvlog("(XEN) d%u v%u: r15 %016llx rflags %08llx cs %04llx ss %04llx", d->domid, v->id,
	      (unsigned long long)r0->r15, (unsigned long long)f[4], (unsigned long long)f[3],
	      (unsigned long long)f[6]);
	save_fault_ctx(v, f, r0);
	domain_crash(d, "vcpu %u: %s at rip %#llx", v->id, name, (unsigned long long)f[2]);
}
