/* Raw-KVM probe VMs: one flat 4 MiB guest with its own page tables, entered at CPL 0 or 3. */
#ifndef PROBE_VM_H
#define PROBE_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* Guest-physical layout (identity-mapped at the same low virtual addresses). */
#define PG_PML4     0x1000ull
#define PG_PDPT     0x2000ull   /* low half: PML4[0] */
#define PG_PD       0x3000ull   /* 0-2 MiB by PG_PT, 2-4 MiB as one 2 MiB page */
#define PG_PT       0x4000ull
#define PG_PDPT_HI  0x5000ull   /* PML4[511] -> PDPT[510] -> PG_PD: 0xffffffff80000000 aliases GPA 0 */
#define PG_PML4_U   0x6000ull   /* a second L4 ("user" L4 of the Xen PV model): low half only */
#define GDT_GPA     0x7000ull
#define PVCS_GPA    0x8000ull   /* PVM's per-vCPU struct */
#define TSS_GPA     0x9000ull   /* 64-bit TSS with rsp0 and an all-allowing I/O bitmap */
#define IDT_GPA     0xc000ull
#define CODE_GPA    0x10000ull
#define KSTACK_TOP  0x30000ull
#define USTACK_TOP  0x40000ull
#define DATA_GPA    0x50000ull  /* scratch page the guest code may use */
#define RING0_STACK_TOP 0x38000ull
#define HOLE_GPA    0x60000ull  /* PTE left not present: page-fault tests */
#define MEM_SIZE    (4ull << 20)
#define HIGH_ALIAS  0xffffffff80000000ull

#define EXIT_PORT   0x10        /* guest snippets end with `out %al, $EXIT_PORT` */

#define SEL_KCS 0x10
#define SEL_KDS 0x18
#define SEL_UCS32 0x23
#define SEL_UDS 0x2b
#define SEL_UCS 0x33

struct pvm_vm {
	int vm, vcpu;
	struct kvm_run *run;
	uint8_t *mem;
	uint64_t tsc_khz;
};

/* Opens /dev/kvm once; returns -errno (and prints why) when it is unusable. */
int probe__kvm_open(void);
/* Creates a VM with memory, page tables, GDT and guest code; vcpu not yet entered. */
int probe__vm_create(struct pvm_vm *p);
void probe__vm_destroy(struct pvm_vm *p);
/* Long mode, paging on CR3 = PG_PML4, CS at CPL `cpl` (0 or 3), EFER.SCE. */
int probe__set_mode(struct pvm_vm *p, int cpl);
/* Points IDT vector `vec` at guest address `handler` (gate DPL `dpl`). */
void probe__set_gate(struct pvm_vm *p, unsigned vec, uint64_t handler, int dpl);
/* Gives the vCPU KVM_GET_SUPPORTED_CPUID as its CPUID; returns -errno. */
int probe__set_cpuid(struct pvm_vm *p);
/* Writes one MSR the way a VMM does (host-initiated); returns -errno. */
int probe__set_msr(struct pvm_vm *p, uint32_t index, uint64_t value);
int probe__get_msr(struct pvm_vm *p, uint32_t index, uint64_t *value);
/* Sets rip/rsp/rdi/rsi and runs until an exit our user space sees; returns exit_reason or -errno. */
int probe__run(struct pvm_vm *p, uint64_t rip, uint64_t rsp, uint64_t rdi, uint64_t rsi);
/* Runs again from where the vCPU stopped. */
int probe__resume(struct pvm_vm *p);
int probe__regs(struct pvm_vm *p, struct kvm_regs *r);
int probe__sregs(struct pvm_vm *p, struct kvm_sregs *s);
/* Guest address of a snippet of guest.S (its offset from guest_blob, placed at CODE_GPA). */
uint64_t probe__gva(const void *snippet);
/* Nanoseconds for a guest TSC delta. */
double probe__tsc_ns(const struct pvm_vm *p, uint64_t delta);
double probe__now_ns(void);
const char *probe__exit_name(int reason);

/* What a timed snippet run returned. */
struct probe_timed {
	int exit;           /* final exit reason, or -errno */
	double ns_per;      /* guest TSC per iteration */
	double wall_per;    /* host wall clock per iteration */
	uint64_t port_exits;
	struct kvm_regs r;
};

/* A fresh VM with its vCPU in long mode at `cpl`; prints why on failure. */
int probe__fresh(struct pvm_vm *p, int cpl);
/*
 * Runs `snippet` (rebased on rip_base) at `cpl` with rdi = n, rsi, rdx until it
 * reports on EXIT_PORT (port 0x11 exits are counted and resumed); per-iteration
 * costs from the guest's TSC and the host's clock.
 */
struct probe_timed probe__timed(struct pvm_vm *p, const void *snippet, uint64_t rip_base, int cpl,
                                uint64_t n, uint64_t rsi, uint64_t rdx);
void probe__print_timed(const char *what, const struct probe_timed *t);
/*
 * Runs `snippet` once at `cpl` with rsi, rdx and exception vector `vec` routed
 * to the reporting stub; true when the exception was taken there.
 */
bool probe__caught(struct pvm_vm *p, unsigned vec, const void *snippet, int cpl, uint64_t rsi,
                   uint64_t rdx, struct probe_timed *t);

#endif
