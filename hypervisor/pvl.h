/* The Linux PV ("direct paging") flavour of a domain: kxen's in-guest layer, its region, and guest-virtual access for kxen-hv. */
#ifndef KXEN_HV_PVL_H
#define KXEN_HV_PVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxen/ctl.h"
#include "pvl_layout.h"

struct domain;
struct vcpu;
struct vcpu_exit;
struct guest_mem;
struct vcpu_guest_context;

/* kxen's region of a Linux domain: frames above RAM holding the in-guest layer, its tables and the M2P. */
struct pvl {
	uint8_t *region;       /* kxen-hv's mapping */
	uint64_t gpa, size;    /* guest-physical place: right above RAM */
	uint64_t cr3;          /* the builder's L4 */
	uint64_t nr_pages;     /* Linux's RAM at boot (start_info) */
	uint64_t ram_pages;    /* its e820: up to the shared_info frame; above nr_pages starts ballooned out */
	uint64_t entry, stack, start_info_va;
	uint64_t m2p_pages;
	unsigned nr_vcpus;         /* the domain's vCPUs: one block of the region and one text base each */
	uint64_t upcalls_pushed;   /* event upcalls kxen-hv pushed at exits (pvl_upcall_deliver) */
	uint64_t upcalls_retried;  /* exits that found an event it could not push then (a retry kick armed) */
	uint64_t flushes_by_sregs; /* remote flushes made by KVM_SET_SREGS, where the trampoline could not run */
	uint64_t flushes_deferred; /* arrangements put off because the vCPU stopped past an int3 (a retry kick armed) */
};

/* vCPU id's base in slot 257: the text it runs, its descriptors, stacks, info and data at PVL_*_OFF from here. */
static inline uint64_t pvl_vcpu_base(unsigned id)
{
	return PVL_KX_VA + id * PVL_VCPU_STRIDE;
}
/* kxen-hv's view of vCPU id's info page (read-only to the guest at CPL 3) and of its data pages. */
static inline uint64_t *pvl_info(const struct pvl *p, unsigned id)
{
	return (uint64_t *)(p->region + PVL_PG_V(id, PVL_VP_INFO) * 4096ull);
}
static inline uint64_t *pvl_vdata(const struct pvl *p, unsigned id, unsigned off)
{
	return (uint64_t *)(p->region + PVL_PG_V(id, PVL_VP_DATA) * 4096ull + off);
}

enum { PVL_UP_NONE, PVL_UP_KERNEL, PVL_UP_USER };
/*
 * Where a vCPU stopped, for an upcall. The mode (PVL_UP_KERNEL or _USER)
 * comes from its L4: the kernel runs at CPL 3 with cs 0xe033 or, after a
 * hypercall the layer answered (`syscall` keeps CPL 3 here), 0x33, so cs
 * cannot tell it from a process.
 */
struct pvl_stop {
	int mode;
	uint16_t cs;
	uint64_t rip, rsp, rflags, rcx, r11;
};
/*
 * Xen's create_bounce_frame for an event upcall to a vCPU stopped at *at
 * with events enabled: PVL_UP_NONE in ring 0 or inside kxen's layer (its
 * return paths deliver), else the frame {rcx, r11, rip, cs, rflags, rsp,
 * ss} to store at *base: below the interrupted rsp in kernel mode
 * (PVL_UP_KERNEL), below ksp, Linux's kernel stack, for a process
 * (PVL_UP_USER, which also needs the switch to kernel mode). Pure.
 */
int pvl_upcall_plan(const struct pvl_stop *at, uint64_t ksp, uint64_t frame[7], uint64_t *base);
/*
 * upcall_deliver for a Linux domain: if v has an event pending and unmasked
 * and stopped in Linux, pushes the upcall frame (pvl_upcall_plan), switches a
 * process to kernel mode (kernel L4, kernel GS base, Xen's flat kernel
 * selectors) and sets *rip to the event callback and *rsp to the frame,
 * with the upcall mask set. 1 if delivered, 0 if not now, -EFAULT if the
 * kernel stack cannot take the frame.
 */
/*
 * Whether v, stopped at rip with CR3 cr3, is right past an int3 of the
 * layer's text or of the guest's (pvl_int3_behind): then neither its rip
 * nor its registers may be rewritten before it runs again.
 */
bool pvl_stopped_past_int3(const struct vcpu *v, uint64_t cr3, uint64_t rip);
int pvl_upcall_deliver(struct vcpu *v, uint64_t *rip, uint64_t *rsp, uint64_t rflags,
                       uint64_t rcx, uint64_t r11);

/*
 * Pure helpers (no KVM, unit-tested). pvl_walk translates the guest-virtual
 * va through the L4 at guest-physical l4 in ram[0, ram_size): 4 KiB, 2 MiB
 * and 1 GiB pages, every table inside RAM; returns the guest-physical address
 * or -EFAULT (not present, a table outside RAM, a non-canonical va). With
 * write set, an entry on the walk without RW also fails.
 */
int64_t pvl_walk(const uint8_t *ram, uint64_t ram_size, uint64_t l4, uint64_t va, bool write);
/*
 * A kxen-hv pointer to [va, va + len) of a Linux domain's current kernel
 * address space, or NULL: every page of the range must translate, inside
 * RAM, to physically contiguous frames (Linux's direct map and kernel image
 * are). gmem_ptr calls it for domains with a translation.
 */
void *pvl_gmem_ptr(const struct guest_mem *m, uint64_t va, uint64_t len);
/*
 * From now on, on the calling thread, pvl_gmem_ptr walks m's pointers from
 * the L4 at *l4 (a vCPU thread: its own vCPU's current kernel L4, as Xen
 * translates a hypercall's pointers in the caller's address space) instead
 * of m->pv_l4 (vCPU 0's, for everyone else).
 */
void pvl_thread_walk_from(const struct guest_mem *m, const uint64_t *l4);
/*
 * Whether the byte before rip, in the address space of the L4 at l4, is an
 * int3 (0xcc). kvm_pvm lets a vCPU stop at CPL 3 with rip past an int3
 * whose #BP it has not yet delivered to ring 0, and shows nothing of it in
 * KVM_GET_VCPU_EVENTS; KVM_SET_REGS then drops that #BP. Such a stop must
 * be re-entered as it is. A byte that only ends an instruction gives a
 * false true, which costs a retry.
 */
bool pvl_int3_behind(const uint8_t *ram, uint64_t ram_size, uint64_t l4, uint64_t rip);
/*
 * Xen's adjust_guest_l*e on the builder's initial tables (libxc writes its
 * L1 entries without U): sets U on every present entry reachable from the
 * L4 at l4, tables inside RAM only. Before the guest first runs (the host's
 * stores are seen then). Returns the number of entries changed.
 */
unsigned pvl_adjust_initial(uint8_t *ram, uint64_t ram_size, uint64_t l4);
/* Number of region pages for RAM of mem_bytes and nr_vcpus vCPUs (fixed pages, per-vCPU blocks, the M2P's L1s and the M2P). */
uint64_t pvl_region_pages(uint64_t mem_bytes, unsigned nr_vcpus);
/*
 * Checks a Linux set_boot against d's RAM (cr3 a page inside RAM, start_info
 * naming nr_pages no larger than RAM, entry and stack mapped through cr3)
 * and fills p's boot fields; -EINVAL naming nothing else. Pure.
 */
int pvl_check_boot(const uint8_t *ram, uint64_t ram_size, unsigned nr_vcpus,
                   const struct kxctl_set_boot *b, struct pvl *p);
/* Writes kxen's layer, tables and descriptors into p->region and its L4 slots into the guest's L4. */
void pvl_region_fill(struct pvl *p, uint8_t *ram);

/*
 * Makes d a Linux domain: pvl_check_boot, then kxen's region built and added
 * to d's VM as a second memory slot. 0 or -errno (d unchanged on failure
 * but for a KVM slot that dies with the VM).
 */
int pvl_domain_setup(struct domain *d, const struct kxctl_set_boot *b);
/* Starts translating d's guest pointers through the layer's current kernel L4. */
void pvl_domain_enable(struct domain *d);
/* Frees d's region (safe when d has none). */
void pvl_domain_destroy(struct domain *d);
/* vCPU v's boot state for the Linux flavour (segments, LSTAR, the layer's IDT/GDT/TSS); 0 or -errno. */
int pvl_kvm_load_boot(struct vcpu *v);
/*
 * VCPUOP_register_vcpu_info for v, its struct at guest pointer arg: the
 * frame must be Linux's RAM (not shared_info or a split page), the offset 8-byte
 * aligned and the vcpu_info must fit in
 * it; the current contents move there and kxen-hv (and the layer, for cr2)
 * use it from then on. Only for Linux domains and only once: -ENOSYS,
 * -EFAULT, -EINVAL, -EEXIST.
 */
long pvl_register_vcpu_info(struct vcpu *v, uint64_t arg);
/*
 * VCPUOP_initialise of a Linux domain's vCPU t (not running, never
 * initialised): Xen's arch_set_info_guest for a 64-bit PV vCPU. Checks the
 * context (kernel mode, kernel and user L4 frames inside RAM with kxen's
 * slots free or kxen's, GDT frames inside RAM and at most 14 of them),
 * then fills t's data and info pages (trap table, callbacks, kernel_sp, GS
 * user base, Linux's GDT sanitised into t's, its L4s) and t->boot with the
 * rest (registers, CR3, FS and kernel GS bases). 0, -EINVAL or -EFAULT.
 */
long pvl_vcpu_initialise(struct vcpu *t, const struct vcpu_guest_context *ctx);
/*
 * On v's thread before an entry: if another vCPU asked v for a TLB flush
 * (hc_pvl_mmuext_op) that v has not yet arranged, and v stopped at CPL 3
 * with nothing for KVM to inject, points *rip at the layer's flush
 * trampoline (the flush in ring 0, then back to the old rip); else has KVM
 * rebuild v's shadow roots (a CR3 changed and restored). Cheap when nothing
 * is asked.
 */
void pvl_flush_arrange(struct vcpu *v, uint64_t *rip);
/*
 * Whether a flush was asked of v since its last pvl_flush_arrange (checked
 * again once in_guest is set: the asker, seeing v outside the guest, does
 * not wait). One that could not be arranged then is retried by a kick.
 */
bool pvl_flush_wanted(struct vcpu *v);
/*
 * mmuext_op forwarded by the layer for the other vCPUs' part of a
 * TLB_FLUSH_MULTI/ALL or INVLPG_MULTI/ALL (or update_va_mapping's
 * UVMF_MULTI/ALL, which it sends as one of those): each other vCPU named
 * (the vcpumask a guest pointer to a bitmap) that may hold TLB entries
 * flushes before the call returns, or before it next runs guest code.
 * -ENOSYS for other domains and commands.
 */
long hc_pvl_mmuext_op(struct vcpu *v, const uint64_t a[5]);

/* A port write from the layer to PVL_FATAL_PORT: e becomes fatal with the layer's record. */
void pvl_fatal_exit(struct vcpu *v, struct vcpu_exit *e);

#endif
