/* Measures the candidate mechanisms for a Xen PV kernel at CPL 3: syscall, traps, exits, PTE stores. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest.h"
#include "probe_vm.h"

/* A kernel's hypercall arriving at CPL 3 and returning in ring 3: the in-guest fast path. */
static void report_syscall_cost(void)
{
	struct pvm_vm p;
	struct probe_timed t;

	printf("\nround trips that stay in the guest at CPL 3:\n");
	if (probe__fresh(&p, 3))
		return;
	probe__set_msr(&p, MSR_STAR, STAR_VALUE);
	probe__set_msr(&p, MSR_LSTAR, probe__gva(g_sysret3));
	probe__set_msr(&p, MSR_SFMASK, 0);
	t = probe__timed(&p, g_xen_hcall_loop, CODE_GPA, 3, 100000, 17, 0);
	probe__print_timed("Xen PV hypercall sequence (syscall at CPL 3 -> LSTAR -> ring-3 return)", &t);
	probe__vm_destroy(&p);
}

struct trap_case {
	const char *what;
	unsigned vec;
	const uint8_t *stub;
	const uint8_t *loop;
	uint64_t rsi, rdx, rcx;
	uint64_t n;
};

/* Traps into KVM through the IDT, ring-0 work, exits to user space, and page-table stores. */
static void report_traps(void)
{
	const uint64_t data_pte = PG_PT + (DATA_GPA >> 12) * 8;
	const uint64_t data_pte_val = DATA_GPA | 7;
	const struct trap_case cases[] = {
		{ "int3 -> ring-0 iretq", 3, g_r0_iret, g_int3_loop, 0, 0, 0, 2000 },
		{ "int3 -> ring-0 CR3 reload + iretq", 3, g_r0_cr3, g_int3_loop, 0, 0, 0, 2000 },
		{ "ud2 -> ring-0 skip + iretq", 6, g_r0_skip2, g_ud_loop, 0, 0, 0, 2000 },
		{ "ud2 -> ring-0 stub -> CPL-3 handler (skip)", 6, g_r0_to_ring3, g_ud_loop, 0, 0, 0, 2000 },
		{ "iretq at CPL 3 to CPL 3 (no trap expected)", 0, NULL, g_iret3_loop, 0, 0, 0, 2000 },
		{ "cpuid at CPL 3", 0, NULL, g_cpuid_loop, 0, 0, 0, 2000 },
		{ "#PF (not-present PTE) -> ring-0 skip + iretq", 14, g_r0_pf_skip2, g_pf_loop, HOLE_GPA, 0, 0, 2000 },
		{ "port I/O exit to user space and back", 0, NULL, g_out_loop, 0, 0, 0, 2000 },
		{ "L1 PTE store at CPL 3 (same value)", 0, NULL, g_pte_store_loop, data_pte, data_pte_val, 0, 100000 },
		{ "L2 PDE store at CPL 3 (same value)", 0, NULL, g_pte_store_loop, PG_PD + 8, (2ull << 20) | 0x87, 0, 2000 },
		{ "L4 store at CPL 3 (empty slot)", 0, NULL, g_pte_store_loop, PG_PML4 + 8, 0, 0, 2000 },
		{ "L1 PTE store + int3 -> ring-0 invlpg", 3, g_r0_invlpg, g_pte_flush_loop, data_pte, data_pte_val, DATA_GPA, 2000 },
	};
	struct pvm_vm p;

	printf("\ntraps, exits and page-table stores from CPL 3 (per iteration):\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trap_case *c = &cases[i];
		struct kvm_regs r;
		struct probe_timed t;

		if (probe__fresh(&p, 3))
			return;
		if (c->stub)
			probe__set_gate(&p, c->vec, probe__gva(c->stub), 3);
		if (probe__regs(&p, &r) == 0) {
			r.rcx = c->rcx;
			ioctl(p.vcpu, KVM_SET_REGS, &r);
		}
		t = probe__timed(&p, c->loop, CODE_GPA, 3, c->n, c->rsi, c->rdx);
		probe__print_timed(c->what, &t);
		probe__vm_destroy(&p);
	}
}

int main(void)
{
	if (probe__kvm_open() < 0)
		return 77;
	report_syscall_cost();
	report_traps();
	return 0;
}
