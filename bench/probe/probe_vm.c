/* Raw-KVM probe VMs: memory, page tables, GDT, modes, MSRs and the run call, with no kxen code. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "probe_vm.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_ALL (PTE_P | PTE_W | PTE_U)

extern const uint8_t guest_blob[], guest_blob_end[];

static int kvm_fd = -1;
static int run_size;

int probe__kvm_open(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		fprintf(stderr, "probe: cannot open /dev/kvm: %s\n", strerror(errno));
		return -errno;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		fprintf(stderr, "probe: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

/* Flat 64-bit descriptors matching the host's selectors (PVM wants __USER_CS = 0x33). */
static void build_gdt(uint8_t *mem)
{
	put64(mem, GDT_GPA + SEL_KCS, 0x00af9b000000ffffull);
	put64(mem, GDT_GPA + SEL_KDS, 0x00cf93000000ffffull);
	put64(mem, GDT_GPA + (SEL_UCS32 & ~3), 0x00cffb000000ffffull);
	put64(mem, GDT_GPA + (SEL_UDS & ~3), 0x00cff3000000ffffull);
	put64(mem, GDT_GPA + (SEL_UCS & ~3), 0x00affb000000ffffull);
}

static void build_page_tables(uint8_t *mem)
{
	put64(mem, PG_PML4, PG_PDPT | PTE_ALL);
	put64(mem, PG_PML4 + 511 * 8, PG_PDPT_HI | PTE_ALL);
	put64(mem, PG_PML4_U, PG_PDPT | PTE_ALL);
	put64(mem, PG_PDPT, PG_PD | PTE_ALL);
	put64(mem, PG_PDPT_HI + 510 * 8, PG_PD | PTE_ALL);
	put64(mem, PG_PD, PG_PT | PTE_ALL);
	put64(mem, PG_PD + 8, (2ull << 20) | PTE_ALL | PTE_PS);
	for (uint64_t i = 1; i < 512; i++)
		if (i * 4096 != HOLE_GPA)
			put64(mem, PG_PT + i * 8, (i * 4096) | PTE_ALL);
}

int probe__vm_create(struct pvm_vm *p)
{
	struct kvm_userspace_memory_region r;
	int rc;

	memset(p, 0, sizeof(*p));
	p->vm = p->vcpu = -1;
	p->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED)
		return -errno;
	p->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		goto fail;
	r = (struct kvm_userspace_memory_region){ .slot = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)p->mem };
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		goto fail;
	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		goto fail;
	p->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		goto fail;
	}
	rc = ioctl(p->vcpu, KVM_GET_TSC_KHZ, 0);
	p->tsc_khz = rc > 0 ? (uint64_t)rc : 1000000;
	build_gdt(p->mem);
	build_page_tables(p->mem);
	put64(p->mem, TSS_GPA + 4, RING0_STACK_TOP);            /* rsp0 */
	p->mem[TSS_GPA + 0x66] = 0x68;                          /* I/O bitmap right after the TSS */
	memset(p->mem + TSS_GPA + 0x68 + 8192, 0xff, 1);
	memcpy(p->mem + CODE_GPA, guest_blob, (size_t)(guest_blob_end - guest_blob));
	return 0;
fail:
	rc = -errno;
	probe__vm_destroy(p);
	return rc;
}

void probe__vm_destroy(struct pvm_vm *p)
{
	if (p->run)
		munmap(p->run, (size_t)run_size);
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->vm >= 0)
		close(p->vm);
	if (p->mem && p->mem != MAP_FAILED)
		munmap(p->mem, MEM_SIZE);
	memset(p, 0, sizeof(*p));
	p->vm = p->vcpu = -1;
}

static struct kvm_segment seg(uint16_t sel, bool code, int dpl)
{
	return (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
		.type = code ? 11 : 3, .present = 1, .dpl = (uint8_t)dpl, .db = code ? 0 : 1,
		.s = 1, .l = code ? 1 : 0, .g = 1 };
}

int probe__set_mode(struct pvm_vm *p, int cpl)
{
	struct kvm_sregs s;

	if (ioctl(p->vcpu, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = 0x80050033;   /* PG WP NE ET MP PE */
	s.cr4 = 0x620;        /* PAE OSFXSR OSXMMEXCPT */
	s.cr3 = PG_PML4;
	s.efer = 0xd01;       /* LMA LME SCE NXE */
	s.cs = seg(cpl ? SEL_UCS : SEL_KCS, true, cpl);
	s.ss = s.ds = s.es = s.fs = s.gs = seg(cpl ? SEL_UDS : SEL_KDS, false, cpl);
	s.gdt = (struct kvm_dtable){ .base = GDT_GPA, .limit = 0x3f };
	s.idt = (struct kvm_dtable){ .base = IDT_GPA, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = TSS_GPA, .limit = 0x68 + 8192, .selector = 0x40,
	                             .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	return ioctl(p->vcpu, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

void probe__set_gate(struct pvm_vm *p, unsigned vec, uint64_t handler, int dpl)
{
	uint64_t lo = (handler & 0xffff) | ((uint64_t)SEL_KCS << 16) |
	              ((uint64_t)(0x8e | dpl << 5) << 40) | ((handler >> 16 & 0xffff) << 48);

	put64(p->mem, IDT_GPA + vec * 16, lo);
	put64(p->mem, IDT_GPA + vec * 16 + 8, handler >> 32);
}

int probe__set_cpuid(struct pvm_vm *p)
{
	struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[256]; } c = { .h.nent = 256 };

	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &c) < 0 || ioctl(p->vcpu, KVM_SET_CPUID2, &c) < 0)
		return -errno;
	return 0;
}

int probe__set_msr(struct pvm_vm *p, uint32_t index, uint64_t value)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = {
		.h.nmsrs = 1, .e.index = index, .e.data = value };
	int rc = ioctl(p->vcpu, KVM_SET_MSRS, &m);

	return rc == 1 ? 0 : rc < 0 ? -errno : -EINVAL;
}

int probe__get_msr(struct pvm_vm *p, uint32_t index, uint64_t *value)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = { .h.nmsrs = 1, .e.index = index };
	int rc = ioctl(p->vcpu, KVM_GET_MSRS, &m);

	if (rc != 1)
		return rc < 0 ? -errno : -EINVAL;
	*value = m.e.data;
	return 0;
}

int probe__resume(struct pvm_vm *p)
{
	for (;;) {
		if (ioctl(p->vcpu, KVM_RUN, 0) == 0)
			return (int)p->run->exit_reason;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

int probe__run(struct pvm_vm *p, uint64_t rip, uint64_t rsp, uint64_t rdi, uint64_t rsi)
{
	struct kvm_regs r;

	if (ioctl(p->vcpu, KVM_GET_REGS, &r) < 0)
		return -errno;
	r.rip = rip;
	r.rsp = rsp;
	r.rdi = rdi;
	r.rsi = rsi;
	r.rflags = 0x2;
	if (ioctl(p->vcpu, KVM_SET_REGS, &r) < 0)
		return -errno;
	return probe__resume(p);
}

int probe__regs(struct pvm_vm *p, struct kvm_regs *r)
{
	return ioctl(p->vcpu, KVM_GET_REGS, r) < 0 ? -errno : 0;
}

int probe__sregs(struct pvm_vm *p, struct kvm_sregs *s)
{
	return ioctl(p->vcpu, KVM_GET_SREGS, s) < 0 ? -errno : 0;
}

uint64_t probe__gva(const void *snippet)
{
	return CODE_GPA + (uint64_t)((const uint8_t *)snippet - guest_blob);
}

double probe__tsc_ns(const struct pvm_vm *p, uint64_t delta)
{
	return (double)delta * 1e6 / (double)p->tsc_khz;
}

double probe__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

const char *probe__exit_name(int reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_XEN: return "XEN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_DEBUG: return "DEBUG";
	default: return "other";
	}
}

/* Runs `snippet` at `cpl` for n iterations and reports per-iteration costs. */
struct probe_timed probe__timed(struct pvm_vm *p, const void *snippet, uint64_t rip_base, int cpl,
                              uint64_t n, uint64_t rsi, uint64_t rdx)
{
	struct probe_timed t = { 0 };
	double t0 = probe__now_ns();
	struct kvm_regs r;

	if (probe__regs(p, &r) == 0) {
		r.rdx = rdx;
		r.rflags = cpl ? 0x3002 : 0x2;   /* IOPL 3 so that ring-3 `out` reaches us */
		ioctl(p->vcpu, KVM_SET_REGS, &r);
	}
	if (probe__regs(p, &r) == 0) {
		r.rip = rip_base + probe__gva(snippet) - CODE_GPA;
		r.rsp = cpl ? USTACK_TOP : KSTACK_TOP;
		r.rdi = n;
		r.rsi = rsi;
		ioctl(p->vcpu, KVM_SET_REGS, &r);
	}
	for (;;) {
		t.exit = probe__resume(p);
		if (t.exit == KVM_EXIT_IO && p->run->io.port == 0x11) {
			t.port_exits++;
			continue;
		}
		break;
	}
	t.wall_per = (probe__now_ns() - t0) / (double)n;
	probe__regs(p, &t.r);
	if (t.exit == KVM_EXIT_IO && p->run->io.port == EXIT_PORT)
		t.ns_per = probe__tsc_ns(p, t.r.rax) / (double)n;
	return t;
}

void probe__print_timed(const char *what, const struct probe_timed *t)
{
	if (t->exit == KVM_EXIT_IO && t->ns_per > 0)
		printf("  %-52s %10.3f us/iter (wall %.3f us)\n", what, t->ns_per / 1000, t->wall_per / 1000);
	else
		printf("  %-52s did not finish: exit %d (%s) rip %#llx\n", what, t->exit,
		       t->exit >= 0 ? probe__exit_name(t->exit) : strerror(-t->exit),
		       (unsigned long long)t->r.rip);
}

int probe__fresh(struct pvm_vm *p, int cpl)
{
	int rc = probe__vm_create(p);

	if (rc == 0)
		rc = probe__set_mode(p, cpl);
	if (rc)
		fprintf(stderr, "probe: cannot create a VM: %s\n", strerror(-rc));
	return rc;
}

bool probe__caught(struct pvm_vm *p, unsigned vec, const void *snippet, int cpl, uint64_t rsi,
                   uint64_t rdx, struct probe_timed *t)
{
	probe__set_gate(p, vec, probe__gva(g_report), 0);
	*t = probe__timed(p, snippet, CODE_GPA, cpl, 1, rsi, rdx);
	return t->exit == KVM_EXIT_IO && t->r.rip == probe__gva(g_report) + 2;
}
