/* Probes what kvm_pvm offers a Xen PV kernel: PVM mode, its entry/return paths and their costs. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest.h"
#include "probe_vm.h"

#define MSR_PVM_BASE 0x4b564df0u
#define MSR_PVM_VCPU_STRUCT 0x4b564df1u

static const char *const pvm_msr_names[16] = {
	"LINEAR_ADDRESS_RANGE", "VCPU_STRUCT", "SUPERVISOR_RSP(old)/-", "SUPERVISOR_REDZONE(old)/-",
	"EVENT_ENTRY", "RETU_RIP", "RETS_RIP", "SWITCH_CR3(old)",
};

static void report_msrs(void)
{
	struct pvm_vm p;
	uint64_t v;

	printf("PVM MSRs on a fresh vCPU (KVM_GET_MSRS):\n");
	if (probe__fresh(&p, 0))
		return;
	for (unsigned i = 0; i < 8; i++) {
		int rc = probe__get_msr(&p, MSR_PVM_BASE + i, &v);
		if (rc == 0)
			printf("  %#x %-26s = %#018" PRIx64 "\n", MSR_PVM_BASE + i, pvm_msr_names[i], v);
		else
			printf("  %#x %-26s   not readable\n", MSR_PVM_BASE + i, pvm_msr_names[i]);
	}
	probe__vm_destroy(&p);
}

/* Whether a guest can enter PVM mode itself: wrmsr of MSR_PVM_VCPU_STRUCT from (emulated) CPL 0. */
static void report_guest_wrmsr(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
	                              .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN };
	struct pvm_vm p;
	struct probe_timed t;

	if (probe__fresh(&p, 0))
		return;
	if (ioctl(p.vm, KVM_ENABLE_CAP, &cap) < 0)
		printf("  KVM_CAP_X86_USER_SPACE_MSR: %s\n", strerror(errno));
	bool gp = probe__caught(&p, 13, g_wrmsr, 0, MSR_PVM_VCPU_STRUCT, PVCS_GPA, &t);
	if (t.exit == KVM_EXIT_X86_WRMSR)
		printf("  guest wrmsr MSR_PVM_VCPU_STRUCT at CPL 0: KVM_EXIT_X86_WRMSR (an MSR this KVM does not know)\n");
	else if (gp)
		printf("  guest wrmsr MSR_PVM_VCPU_STRUCT at CPL 0: #GP\n");
	else
		printf("  guest wrmsr MSR_PVM_VCPU_STRUCT at CPL 0: exit %d (%s) rip %#llx: accepted\n", t.exit,
		       t.exit >= 0 ? probe__exit_name(t.exit) : "error", (unsigned long long)t.r.rip);
	probe__vm_destroy(&p);
}

/* Cost of plain instructions at CPL 3 and CPL 0, in the lower and the upper half. */
static void report_ring_speed(void)
{
	static const struct { int cpl; uint64_t base; uint64_t n; const char *what; } cases[] = {
		{ 3, CODE_GPA, 1000000, "CPL 3, low half" },
		{ 3, HIGH_ALIAS + CODE_GPA, 1000000, "CPL 3, upper half 0xffffffff80010000" },
		{ 0, CODE_GPA, 20000, "CPL 0, low half (20k)" },
		{ 0, CODE_GPA, 1000000, "CPL 0, low half (1M)" },
		{ 0, HIGH_ALIAS + CODE_GPA, 20000, "CPL 0, upper half 0xffffffff80010000 (20k)" },
	};
	struct pvm_vm p;
	struct probe_timed t;

	printf("\nplain instructions (add; dec; jnz), per iteration:\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (probe__fresh(&p, cases[i].cpl))
			return;
		t = probe__timed(&p, g_loop, cases[i].base, cases[i].cpl, cases[i].n, 0, 0);
		probe__print_timed(cases[i].what, &t);
		probe__vm_destroy(&p);
	}
}

/* Where `syscall` lands, and in which mode, when executed at CPL 3 and at CPL 0. */
static void report_syscall_landing(void)
{
	struct pvm_vm p;
	struct kvm_sregs sr;
	struct probe_timed t;

	printf("\nsyscall with LSTAR -> a reporting stub:\n");
	for (int cpl = 3; cpl >= 0; cpl -= 3) {
		if (probe__fresh(&p, cpl))
			return;
		probe__set_msr(&p, MSR_STAR, STAR_VALUE);
		probe__set_msr(&p, MSR_LSTAR, probe__gva(g_report));
		probe__set_msr(&p, MSR_SFMASK, 0x100);
		t = probe__timed(&p, g_syscall_loop, CODE_GPA, cpl, 1, 17, 0);
		probe__sregs(&p, &sr);
		printf("  from CPL %d: exit %s at rip %#llx (LSTAR %#llx) cs %#x dpl %u ss %#x, "
		       "rcx %#llx r11 %#llx\n", cpl, t.exit >= 0 ? probe__exit_name(t.exit) : "error",
		       (unsigned long long)t.r.rip, (unsigned long long)probe__gva(g_report),
		       sr.cs.selector, sr.cs.dpl, sr.ss.selector,
		       (unsigned long long)t.r.rcx, (unsigned long long)t.r.r11);
		probe__vm_destroy(&p);
	}
}

int main(int argc, char **argv)
{
	if (probe__kvm_open() < 0)
		return 77;
	report_msrs();
	report_guest_wrmsr();
	report_ring_speed();
	report_syscall_landing();
	return 0;
}
