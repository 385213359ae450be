/* The Linux PV ("direct paging") flavour of a domain: kxen's in-guest layer, its region, and guest-virtual access for kxen-hv. */
#ifndef KXEN_HV_PVL_H
#define KXEN_HV_PVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kxen/ctl.h"

struct domain;
struct vcpu;
struct vcpu_exit;
struct guest_mem;

/* kxen's region of a Linux domain: frames above RAM holding the in-guest layer, its tables and the M2P. */
struct pvl {
	uint8_t *region;       /* kxen-hv's mapping */
	uint64_t gpa, size;    /* guest-physical place: right above RAM */
	uint64_t cr3;          /* the builder's L4 */
	uint64_t nr_pages;     /* Linux's RAM at boot (start_info) */
	uint64_t ram_pages;    /* its e820: up to the shared_info frame; above nr_pages starts ballooned out */
	uint64_t entry, stack, start_info_va;
	uint64_t m2p_pages;
	uint64_t upcalls_pushed;   /* event upcalls kxen-hv pushed at exits (pvl_upcall_deliver) */
	uint64_t upcalls_retried;  /* exits that found an event it could not push then (a retry kick armed) */
};

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
 * Xen's adjust_guest_l*e on the builder's initial tables (libxc writes its
 * L1 entries without U): sets U on every present entry reachable from the
 * L4 at l4, tables inside RAM only. Before the guest first runs (the host's
 * stores are seen then). Returns the number of entries changed.
 */
unsigned pvl_adjust_initial(uint8_t *ram, uint64_t ram_size, uint64_t l4);
/* Number of region pages for RAM of mem_bytes (fixed pages, the M2P's L1s and the M2P). */
uint64_t pvl_region_pages(uint64_t mem_bytes);
/*
 * Checks a Linux set_boot against d's RAM (cr3 a page inside RAM, start_info
 * naming nr_pages no larger than RAM, entry and stack mapped through cr3)
 * and fills p's boot fields; -EINVAL naming nothing else. Pure.
 */
int pvl_check_boot(const uint8_t *ram, uint64_t ram_size, const struct kxctl_set_boot *b,
                   struct pvl *p);
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
/* A port write from the layer to PVL_FATAL_PORT: e becomes fatal with the layer's record. */
void pvl_fatal_exit(struct vcpu *v, struct vcpu_exit *e);

#endif
