/* Checks the TLB, permission and CPL-3 instruction semantics a Xen PV design on kvm_pvm relies on. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest.h"
#include "probe_vm.h"

#define DATA2_GPA (DATA_GPA + 0x1000)
#define PTE_OF(va) (PG_PT + ((va) >> 12) * 8)

static void put64(struct pvm_vm *p, uint64_t gpa, uint64_t v)
{
	memcpy(p->mem + gpa, &v, 8);
}

static void set_rcx(struct pvm_vm *p, uint64_t rcx)
{
	struct kvm_regs r;

	if (probe__regs(p, &r) == 0) {
		r.rcx = rcx;
		ioctl(p->vcpu, KVM_SET_REGS, &r);
	}
}

static int set_cr4_bits(struct pvm_vm *p, uint64_t bits)
{
	struct kvm_sregs s;

	if (probe__sregs(p, &s) < 0)
		return -1;
	s.cr4 |= bits;
	return ioctl(p->vcpu, KVM_SET_SREGS, &s);
}

static void user_bit(void)
{
	struct pvm_vm p;
	struct probe_timed t;
	struct kvm_sregs s;

	if (probe__fresh(&p, 3))
		return;
	put64(&p, PTE_OF(DATA_GPA), DATA_GPA | 3);   /* present, writable, supervisor-only */
	bool fault = probe__caught(&p, 14, g_load, 3, DATA_GPA, 0, &t);
	probe__sregs(&p, &s);
	if (fault)
		printf("  load of a U=0 page at CPL 3: #PF (cr2 %#llx): the guest's U bit is enforced\n",
		       (unsigned long long)s.cr2);
	else
		printf("  load of a U=0 page at CPL 3: no fault (rip %#llx)\n", (unsigned long long)t.r.rip);
	probe__vm_destroy(&p);
}

/* A fresh CPL-3 VM whose vector `vec` goes to `stub` (gate DPL 3), with rcx set for the snippet. */
static int fresh_with_stub(struct pvm_vm *p, unsigned vec, const void *stub, uint64_t rcx)
{
	if (probe__fresh(p, 3))
		return -1;
	probe__set_gate(p, vec, probe__gva(stub), 3);
	set_rcx(p, rcx);
	return 0;
}

static void not_present_to_present(void)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (fresh_with_stub(&p, 14, g_r0_pf_count, PTE_OF(HOLE_GPA)))
		return;
	t = probe__timed(&p, g_np_to_p, CODE_GPA, 3, 1, HOLE_GPA, HOLE_GPA | 7);
	printf("  PTE not-present -> present by a guest store, no flush: %llu fault(s) "
	       "(1 = visible at once, 2 = stale)\n", (unsigned long long)t.r.r15);
	probe__vm_destroy(&p);
}

static void present_to_other(void)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (fresh_with_stub(&p, 3, g_r0_invlpg, PTE_OF(DATA_GPA)))
		return;
	put64(&p, DATA_GPA, 0x1111);
	put64(&p, DATA2_GPA, 0x2222);
	t = probe__timed(&p, g_p_to_p, CODE_GPA, 3, 1, DATA_GPA, DATA2_GPA | 7);
	printf("  PTE present -> other frame by a guest store: before %#llx, after the store "
	       "%#llx (%s), after invlpg %#llx\n", (unsigned long long)t.r.r8,
	       (unsigned long long)t.r.r9, t.r.r9 == 0x1111 ? "stale" : "already new",
	       (unsigned long long)t.r.r10);
	probe__vm_destroy(&p);
}

static void fsgsbase(void)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (probe__fresh(&p, 3))
		return;
	if (set_cr4_bits(&p, 1ull << 16) < 0)
		printf("  CR4.FSGSBASE: refused by KVM_SET_SREGS\n");
	if (probe__caught(&p, 6, g_fsgsbase, 3, 0x123000, 0x456000, &t))
		printf("  wrgsbase at CPL 3: #UD\n");
	else
		printf("  wrgsbase/wrfsbase at CPL 3: gs base %#llx, fs base %#llx (native, no trap)\n",
		       (unsigned long long)t.r.rax, (unsigned long long)t.r.rbx);
	probe__vm_destroy(&p);
}

/* A fresh CPL-3 VM with CR4.FSGSBASE, STAR and LSTAR (rebased on `base`) set. */
static int fresh_fsgs(struct pvm_vm *p, const void *lstar, uint64_t base)
{
	if (probe__fresh(p, 3))
		return -1;
	set_cr4_bits(p, 1ull << 16);
	probe__set_msr(p, MSR_STAR, STAR_VALUE);
	probe__set_msr(p, MSR_LSTAR, base + probe__gva(lstar) - CODE_GPA);
	return 0;
}

static const char *gs_verdict(uint64_t got, uint64_t other)
{
	return got == 0x123000 ? "kept" : got == other ? "SWAPPED with KERNEL_GS_BASE" : "LOST";
}

/* Whether a trap through ring 0, or a syscall, keeps the GS base set at CPL 3. */
static void gs_across(const char *what, const void *snippet, unsigned gate, const void *stub)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (fresh_fsgs(&p, g_sysret3, CODE_GPA))
		return;
	if (stub)
		probe__set_gate(&p, gate, probe__gva(stub), 3);
	t = probe__timed(&p, snippet, CODE_GPA, 3, 1, 0x123000, 0);
	printf("  GS base 0x123000 set by wrgsbase, after %s: %#llx (%s)\n", what,
	       (unsigned long long)t.r.rax, gs_verdict(t.r.rax, 0));
	probe__vm_destroy(&p);
}

/* The GS base code at LSTAR finds right after a syscall at CPL 3 (with KERNEL_GS_BASE set). */
static void gs_at_lstar(uint64_t kernel_gs_base, uint64_t base)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (fresh_fsgs(&p, g_lstar_rdgs, base))
		return;
	probe__set_msr(&p, MSR_KERNEL_GS_BASE, kernel_gs_base);
	t = probe__timed(&p, g_gs_syscall, base, 3, 1, 0x123000, 0);
	printf("  GS base 0x123000 set by wrgsbase at %#llx, MSR_KERNEL_GS_BASE %#llx: at LSTAR after "
	       "syscall %#llx (%s)\n", (unsigned long long)base, (unsigned long long)kernel_gs_base,
	       (unsigned long long)t.r.rax, gs_verdict(t.r.rax, kernel_gs_base));
	probe__vm_destroy(&p);
}

static void rdpid(void)
{
	struct pvm_vm p;
	struct probe_timed t;

	if (probe__fresh(&p, 3))
		return;
	if (probe__set_msr(&p, MSR_TSC_AUX, 5) < 0)
		printf("  MSR_TSC_AUX: refused\n");
	if (probe__caught(&p, 6, g_rdpid, 3, 0, 0, &t))
		printf("  rdpid at CPL 3: #UD\n");
	else
		printf("  rdpid at CPL 3 with the guest's TSC_AUX = 5: %llu (%s)\n", (unsigned long long)t.r.rax,
		       t.r.rax == 5 ? "the guest's value" : "not the guest's value: unusable as a vCPU id");
	probe__vm_destroy(&p);
}

int main(void)
{
	if (probe__kvm_open() < 0)
		return 77;
	printf("semantics at CPL 3:\n");
	user_bit();
	not_present_to_present();
	present_to_other();
	fsgsbase();
	rdpid();
	gs_at_lstar(0, CODE_GPA);
	gs_at_lstar(0x999000, CODE_GPA);
	gs_at_lstar(0x999000, HIGH_ALIAS + CODE_GPA);
	gs_across("int3 -> ring-0 iretq", g_gs_int3, 3, g_r0_iret);
	gs_across("int3 -> ring-0 CR3 reload + iretq", g_gs_int3, 3, g_r0_cr3);
	gs_across("int3 -> ring-0 load of another L4 + iretq", g_gs_int3, 3, g_r0_cr3_other);
	gs_across("a syscall at CPL 3", g_gs_syscall, 0, NULL);
	gs_across("cpuid at CPL 3", g_gs_cpuid, 0, NULL);
	gs_across("ud2 -> ring-0 skip + iretq", g_gs_ud, 6, g_r0_skip2);
	return 0;
}
