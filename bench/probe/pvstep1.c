/* Step 1 of docs/linux-pv.md end to end: a CPL-3 Xen PV kernel, its process and kxen's in-guest layer. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest.h"
#include "probe_vm.h"
#include "pvstep1.h"

#include <xen/xen.h>

/* pvstep1_guest.S writes cr2 at vcpu_info[0] + 16 and trap_info entries of 16 bytes. */
_Static_assert(offsetof(struct vcpu_info, arch.cr2) == 16, "vcpu_info.arch.cr2 moved");
_Static_assert(sizeof(struct trap_info) == 16, "trap_info size");

#define P 1ull
#define W 2ull
#define U 4ull
#define PS 0x80ull

#define HC_console_io 18
#define HC_callback_op 30
#define HC_sched_op 29

extern const uint8_t kx_blob[], kx_blob_end[], k_blob[], k_blob_end[], u_blob[], u_blob_end[];
extern const uint8_t kx_lstar[], kx_r0_int3[], kx_r0_ud[], kx_r0_gp[], kx_r0_pf[], k_start[];

static uint8_t *mem;

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, 8);
	return v;
}

static void set_gate(uint64_t gpa_idt, unsigned vec, uint64_t handler, int dpl)
{
	put64(gpa_idt + vec * 16, (handler & 0xffff) | ((uint64_t)SEL_KCS << 16) |
	      ((uint64_t)(0x8e | dpl << 5) << 40) | ((handler >> 16 & 0xffff) << 48));
	put64(gpa_idt + vec * 16 + 8, handler >> 32);
}

/* The two L4s of section 3.3: kxen's slot 257 in both (two L3 variants), its alias and the kernel only in one. */
static void build_tables(void)
{
	put64(S1_KL4 + 0 * 8, S1_UPDPT | P | W | U);
	put64(S1_KL4 + 257 * 8, S1_KX_L3K | P | W | U);
	put64(S1_KL4 + 259 * 8, S1_AL_PDPT | P | W | U);
	put64(S1_KL4 + 511 * 8, S1_KHI_PDPT | P | W | U);
	put64(S1_UL4 + 0 * 8, S1_UPDPT | P | W | U);
	put64(S1_UL4 + 257 * 8, S1_KX_L3U | P | W | U);

	put64(S1_KX_L3K, S1_KX_L2K | P | W | U);
	put64(S1_KX_L2K, S1_KX_L1C | P | W | U);
	put64(S1_KX_L2K + 8, S1_KX_L1K | P | W | U);
	put64(S1_KX_L3U, S1_KX_L2U | P | W | U);
	put64(S1_KX_L2U, S1_KX_L1C | P | W | U);
	put64(S1_KX_L2U + 8, S1_KX_L1U | P | W | U);
	/* Common part: read-only at CPL 3; ring 0 writes its stack with CR0.WP = 0. */
	const uint64_t common[] = { S1_KX_TEXT, S1_KX_TEXT + 0x1000, S1_KX_IDT, S1_KX_GDT,
	                            S1_KX_R0STK, S1_KX_INFO, S1_KX_TSS, S1_KX_TSS + 0x1000,
	                            S1_KX_TSS + 0x2000 };
	for (unsigned i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		put64(S1_KX_L1C + i * 8, common[i] | P | U);
	put64(S1_KX_L1K, S1_KX_MODEK | P | U);
	put64(S1_KX_L1K + 8, S1_KX_DATA | P | W | U);
	put64(S1_KX_L1U, S1_KX_MODEU | P | U);
	mem[S1_KX_MODEK] = 1;
	mem[S1_KX_MODEU] = 0;

	put64(S1_KHI_PDPT + 510 * 8, S1_KHI_PD | P | W | U);
	put64(S1_KHI_PD, 0 | P | W | U | PS);
	put64(S1_AL_PDPT, S1_AL_PD | P | W | U);
	put64(S1_AL_PD, 0 | P | W | U | PS);
	put64(S1_AL_PD + 8, (2ull << 20) | P | W | U | PS);

	/* Slot 510 as Linux writes its own kernel entries: no U bit anywhere on the walk. */
	put64(S1_KL4 + 510 * 8, S1_K_L3 | P | W);
	put64(S1_K_L3, S1_K_L2 | P | W);
	put64(S1_K_L2, S1_K_L1 | P | W);
	put64(S1_K_PAGE, 0x77);

	put64(S1_UPDPT, S1_UPD | P | W | U);
	put64(S1_UPD + 2 * 8, S1_UPT | P | W | U);
	put64(S1_UPT + 0 * 8, S1_U_TEXT | P | U);
	put64(S1_UPT + 1 * 8, S1_U_STACK | P | W | U);
	mem[S1_U_FAULT] = 0x5a;
}

static void build_kxen(void)
{
	const uint64_t gdt = S1_KX_GDT, tss = S1_KX_BASE + S1_KX_TSS_OFF;

	memcpy(mem + S1_KX_TEXT, kx_blob, (size_t)(kx_blob_end - kx_blob));
	memcpy(mem + S1_K_TEXT, k_blob, (size_t)(k_blob_end - k_blob));
	memcpy(mem + S1_U_TEXT, u_blob, (size_t)(u_blob_end - u_blob));
	put64(gdt + SEL_KCS, 0x00af9b000000ffffull);
	put64(gdt + SEL_KDS, 0x00cf93000000ffffull);
	put64(gdt + (SEL_UCS32 & ~3), 0x00cffb000000ffffull);
	put64(gdt + (SEL_UDS & ~3), 0x00cff3000000ffffull);
	put64(gdt + (SEL_UCS & ~3), 0x00affb000000ffffull);
	put64(gdt + 0x40, ((0x68ull + 8192) & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |
	      (((tss >> 24) & 0xff) << 56));
	put64(gdt + 0x48, tss >> 32);
	put64(S1_KX_TSS + 4, S1_KX_BASE + S1_KX_R0TOP_OFF);
	mem[S1_KX_TSS + 0x66] = 0x68;            /* I/O bitmap follows: all ports allowed in this probe */
	mem[S1_KX_TSS + 0x68 + 8192] = 0xff;
	set_gate(S1_KX_IDT, 3, S1_KX_BASE + (uint64_t)(kx_r0_int3 - kx_blob), 3);
	set_gate(S1_KX_IDT, 6, S1_KX_BASE + (uint64_t)(kx_r0_ud - kx_blob), 0);
	set_gate(S1_KX_IDT, 13, S1_KX_BASE + (uint64_t)(kx_r0_gp - kx_blob), 0);
	set_gate(S1_KX_IDT, 14, S1_KX_BASE + (uint64_t)(kx_r0_pf - kx_blob), 0);
	put64(S1_KX_INFO + I_KCR3, S1_KL4);
	put64(S1_KX_INFO + I_UCR3, S1_UL4);
	put64(S1_KX_DATA + D_VERSION, (4 << 16) | 17);
	put64(S1_KX_DATA + D_MEMSIZE, MEM_SIZE);
	put64(S1_KX_DATA + D_SHINFO, S1_KHI + S1_SHINFO);
}

static struct kvm_segment seg(uint16_t sel, bool code)
{
	return (struct kvm_segment){ .limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3,
		.present = 1, .dpl = 3, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1 };
}

static int enter_kernel(struct pvm_vm *p)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (probe__sregs(p, &s) < 0)
		return -errno;
	s.cr0 = 0x80000033;   /* PG NE ET MP PE, and WP off: ring 0 writes kxen's read-only pages */
	s.cr4 = 0x10620;      /* PAE OSFXSR OSXMMEXCPT FSGSBASE (kxen's GS/FS switching at CPL 3) */
	s.cr3 = S1_KL4;
	s.efer = 0xd01;
	s.cs = seg(SEL_UCS, true);
	s.ss = s.ds = s.es = s.fs = s.gs = seg(SEL_UDS, false);
	s.gdt = (struct kvm_dtable){ .base = S1_KX_BASE + S1_KX_GDT_OFF, .limit = 0x4f };
	s.idt = (struct kvm_dtable){ .base = S1_KX_BASE + S1_KX_IDT_OFF, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = S1_KX_BASE + S1_KX_TSS_OFF, .limit = 0x68 + 8192,
	                             .selector = 0x40, .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	if (ioctl(p->vcpu, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (probe__set_cpuid(p) < 0 ||
	    probe__set_msr(p, MSR_STAR, STAR_VALUE) < 0 ||
	    probe__set_msr(p, MSR_LSTAR, S1_KX_BASE + (uint64_t)(kx_lstar - kx_blob)) < 0 ||
	    probe__set_msr(p, MSR_SFMASK, 0) < 0)
		return -EIO;
	memset(&r, 0, sizeof(r));
	r.rip = S1_KHI + S1_K_TEXT + (uint64_t)(k_start - k_blob);
	r.rsp = S1_KHI + S1_K_BOOT_STACK;
	r.rflags = 0x202;
	return ioctl(p->vcpu, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

static uint64_t event_cb;

/* The VMM's half: the hypercalls kxen's layer forwards. Returns 1 at shutdown, -1 on failure. */
static int forwarded(struct pvm_vm *p, unsigned *nfwd)
{
	struct kvm_regs r;

	if (probe__regs(p, &r) < 0)
		return -1;
	(*nfwd)++;
	switch (r.rax) {
	case HC_console_io:
		if (r.rdi == 0 && r.rsi < 256 && r.rdx >= S1_KHI && r.rdx - S1_KHI + r.rsi <= MEM_SIZE)
			printf("  guest console: %.*s", (int)r.rsi, (const char *)mem + (r.rdx - S1_KHI));
		r.rax = 0;
		break;
	case HC_sched_op:
		if (r.rdi == 2)
			return 1;
		r.rax = 0;
		break;
	case HC_callback_op:        /* CALLBACKOP_register of CALLBACKTYPE_event */
		r.rax = (uint64_t)-EINVAL;
		if (r.rdi == 0 && r.rsi >= S1_KHI && r.rsi - S1_KHI + 16 <= MEM_SIZE &&
		    mem[r.rsi - S1_KHI] == 0) {
			event_cb = get64(r.rsi - S1_KHI + 8);
			put64(S1_KX_DATA + D_EVCB, event_cb);   /* kxen's iret delivers pending events */
			r.rax = 0;
		}
		break;
	default:
		r.rax = (uint64_t)-ENOSYS;
		break;
	}
	return ioctl(p->vcpu, KVM_SET_REGS, &r) < 0 ? -1 : 0;
}

static uint32_t host_vendor_ebx(void)
{
	uint32_t a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return b;
}

static double per(const struct pvm_vm *p, uint64_t off, unsigned n)
{
	return probe__tsc_ns(p, get64(S1_K_RESULTS + off)) / n / 1000;
}

int main(void)
{
	struct pvm_vm p;
	struct kvm_regs r;
	unsigned nfwd = 0, nexits = 0;
	int rc, fails = 0;

	if (probe__kvm_open() < 0)
		return 77;
	if (probe__vm_create(&p) < 0)
		return 1;
	mem = p.mem;
	memset(mem, 0, MEM_SIZE);
	build_tables();
	build_kxen();
	if ((rc = enter_kernel(&p)) < 0) {
		fprintf(stderr, "pvstep1: cannot set up the vCPU: %s\n", strerror(-rc));
		return 1;
	}
	struct pvstep1_events ev = { 0 };
	unsigned kicks = 0;
	bool kicking = false;
	double t0 = probe__now_ns();
	for (;;) {
		if (ioctl(p.vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				rc = -errno;
				goto stopped;
			}
			kicks++;
			if ((rc = pvstep1__deliver(&p, event_cb, &ev)) < 0)
				goto stopped;
			continue;
		}
		rc = (int)p.run->exit_reason;
		nexits++;
		if (rc == KVM_EXIT_IO && p.run->io.port == S1_FWD_PORT) {
			int f = forwarded(&p, &nfwd);
			/* Events start once the kernel has an event callback (after the timed hypercalls). */
			if (f == 0 && event_cb && !kicking) {
				if ((rc = pvstep1__kick_start()) < 0)
					goto stopped;
				kicking = true;
			}
			if (f == 0)
				continue;
			if (f > 0)
				break;
		}
stopped:
		if (kicking)
			pvstep1__kick_stop();
		probe__regs(&p, &r);
		fprintf(stderr, "pvstep1: stopped: exit %d (%s) port %#x at rip %#llx rsp %#llx rax %#llx\n",
		        rc, rc >= 0 ? probe__exit_name(rc) : strerror(-rc),
		        rc == KVM_EXIT_IO ? p.run->io.port : 0, (unsigned long long)r.rip,
		        (unsigned long long)r.rsp, (unsigned long long)r.rax);
		return 1;
	}
	double wall = (probe__now_ns() - t0) / 1e6;
	if (kicking)
		pvstep1__kick_stop();

	printf("step 1: kernel and process at CPL 3, two L4s, kxen's layer in slot 257 (%.1f ms, "
	       "%u exits of which %u forwarded hypercalls)\n", wall, nexits, nfwd);
	printf("  in-guest hypercall (xen_version)                   %8.1f us\n", per(&p, R_HC, S1_N_HC));
	printf("  forwarded hypercall (sched_op yield -> VMM)        %8.1f us\n", per(&p, R_FWD, S1_N_FWD));
	printf("  process system call round trip (entry + iret)      %8.1f us\n", per(&p, R_USYS, S1_N_SYS));
	printf("  process page fault + mmu_update + iret, then a\n"
	       "  system call doing update_va_mapping(UVMF_INVLPG)   %8.1f us\n", per(&p, R_UPF, S1_N_PF));
	printf("  events: %u kicks; upcalls delivered by the VMM to a process %u, to the kernel %u; "
	       "left pending (rip in kxen's layer %u, masked %u), of which kxen's iret delivered %llu\n",
	       kicks, ev.to_user, ev.to_kernel, ev.in_kxen, ev.masked,
	       (unsigned long long)get64(S1_KX_DATA + D_NEVIN));
	printf("  kernel wrmsr MSR_GS_BASE emulated (#GP -> wrgsbase)   %8.1f us\n", per(&p, R_T_WRMSR, S1_N_EMUL));
	printf("  kernel forced-emulation cpuid (#UD -> cpuid)        %8.1f us\n", per(&p, R_T_CPUID, S1_N_EMUL));
	printf("  kernel access through entries without U, fixed      %8.1f us (once)\n", per(&p, R_T_UFIX, 1));
	printf("  kxen counters: %llu in-guest hypercalls/returns, %llu exceptions bounced, %llu emulated, "
	       "%llu U-bit fixups\n",
	       (unsigned long long)get64(S1_KX_DATA + D_NINGUEST),
	       (unsigned long long)get64(S1_KX_DATA + D_NTRAPS),
	       (unsigned long long)get64(S1_KX_DATA + D_NEMUL),
	       (unsigned long long)get64(S1_KX_DATA + D_NUFIX));

	/* What the values carried must be, not only that it ran. */
	struct { const char *what; uint64_t got, want; } checks[] = {
		{ "xen_version result", get64(S1_K_RESULTS + R_VER), (4 << 16) | 17 },
		{ "GS base after the emulated wrmsr", get64(S1_K_RESULTS + R_GS), 0x12345000 },
		{ "cpuid(0).ebx through forced emulation (the host vendor)", get64(S1_K_RESULTS + R_CPUID) & 0xffffffff, host_vendor_ebx() },
		{ "data read through entries the kernel wrote without U", get64(S1_K_RESULTS + R_UFIX), 0x77 },
		{ "U bit now set in the kernel's L4 entry for slot 510", get64(S1_KL4 + 510 * 8) & U, U },
		{ "emulations (wrmsr, cpuid, U-bit fixup)", get64(S1_KX_DATA + D_NEMUL), 2 * S1_N_EMUL + 1 },
		{ "set_trap_table result", get64(S1_K_RESULTS + R_TTRC), 0 },
		{ "process-side mismatches (results, data, spin sum, its GS base)", get64(S1_K_RESULTS + R_BAD), 0 },
		{ "page faults taken by the kernel", get64(S1_K_RESULTS + R_PFCOUNT), S1_N_PF + 3 },
		{ "process faults on kernel text, kxen data, kxen text (write)", get64(S1_K_RESULTS + R_ISOL), 3 },
		{ "error code of the last fault (user, read, not present)", get64(S1_K_RESULTS + R_PFERR), 4 },
		{ "cr2 of the last fault", get64(S1_K_RESULTS + R_PFCR2), S1_U_FAULT_VA },
		{ "system calls seen by the kernel", get64(S1_K_RESULTS + R_SYSCOUNT), S1_N_SYS + S1_N_PF + 1 },
		{ "forwarded hypercalls", nfwd, S1_N_FWD + 3 },
		{ "events the kernel's callback saw (= delivered by the VMM and by kxen)",
		  get64(S1_K_RESULTS + R_EVENTS), ev.to_user + ev.to_kernel + get64(S1_KX_DATA + D_NEVIN) },
		{ "some pending event delivered by kxen's iret", get64(S1_KX_DATA + D_NEVIN) > 0, 1 },
		{ "some event interrupted the process", ev.to_user > 0, 1 },
		{ "kernel entries that found the process's GS base", get64(S1_K_RESULTS + R_GSBAD), 0 },
		{ "fault page left unmapped by update_va_mapping", get64(S1_UPT + 2 * 8), 0 },
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		bool ok = checks[i].got == checks[i].want;
		printf("  check %-58s %s (%#llx)\n", checks[i].what, ok ? "ok" : "WRONG",
		       (unsigned long long)checks[i].got);
		fails += !ok;
	}
	probe__vm_destroy(&p);
	return fails ? 1 : 0;
}
