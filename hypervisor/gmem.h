/* memory.c's interface: a domain's RAM as a memfd, checked guest-memory access, pages split out by role. */
#ifndef KXEN_HV_GMEM_H
#define KXEN_HV_GMEM_H

#include <stdatomic.h>
#include <stdint.h>

#include "kxen/ctl.h"

/* A page split out of the RAM memfd into its own (gmem_split_page); gfn 0 = none. */
struct gmem_page {
	uint64_t gfn;
	int fd;
};

struct guest_mem {
	uint8_t *base;
	uint64_t size;
	int memfd;
	struct gmem_page special[KXCTL_PAGE_NR];   /* by enum kxctl_page_role */
	const uint64_t *pv_l4;        /* Linux PV: guest pointers are virtual, walked from this L4 (pvl.h) */
	struct gmem_window *_Atomic win;   /* granted pages mapped by dom0 (gmem_window.h), lazily */
	atomic_int hold, parked;      /* gmem_hold: holders, and vCPU threads parked for them */
};

/* Creates zeroed memfd-backed RAM of size bytes mapped into kxen-hv; 0 or -errno (m is then unusable). */
int gmem_create(struct guest_mem *m, uint64_t size, const char *name);
/* Unmaps and closes the RAM and its split pages; m may be half-created or already destroyed. */
void gmem_destroy(struct guest_mem *m);
/*
 * Guest pointers are guest-virtual == guest-physical; only RAM the guest
 * itself can reach (>= KXEN_PV_RESERVED_END) is valid. For a Linux PV
 * domain (pv_l4 set) they are virtual and translated by pvl_gmem_ptr. gmem_ptr returns
 * NULL, gmem_read and gmem_write -EFAULT, for anything else, including
 * ranges that wrap; every guest-supplied address goes through these.
 */
void *gmem_ptr(const struct guest_mem *m, uint64_t gva, uint64_t len);
/*
 * A guest-physical range of RAM the guest can reach (>= KXEN_PV_RESERVED_END,
 * inside the memfd), whatever its paging: for frames named by number (a
 * grant's frame, a grant-table frame placed by add_to_physmap), which are
 * physical for our guests and a Linux PV guest alike. NULL otherwise.
 */
void *gmem_frame_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
int gmem_read(const struct guest_mem *m, void *dst, uint64_t gva, uint64_t len);
int gmem_write(const struct guest_mem *m, uint64_t gva, const void *src, uint64_t len);
/*
 * Reads len bytes at gpa that must lie inside [lo, hi) and inside RAM:
 * for kxen-hv's own reads of the builder's supervisor-only pages (a fault
 * stub's frame on a ring-0 stack), which gmem_read refuses on purpose.
 * 0 or -EFAULT (wrap included).
 */
int gmem_read_region(const struct guest_mem *m, void *dst, uint64_t gpa, uint64_t len,
                     uint64_t lo, uint64_t hi);
/*
 * Moves guest page gfn (guest RAM, not the builder's reserved pages) out of
 * the RAM memfd into a sealed one-page memfd of its own, mapped at the same
 * place in m->base (so kxen-hv and KVM, which follows m->base, see the same
 * page) with its contents kept, and records it as m->special[role]; the
 * old page in the RAM memfd is released. Only while the domain cannot run.
 * -EINVAL for a bad gfn or role, -EEXIST if role is taken or gfn already split.
 */
int gmem_split_page(struct guest_mem *m, unsigned role, uint64_t gfn);
/*
 * Copies the split pages' contents back into the RAM memfd, so that a
 * whole-RAM reader (dump-core, with the domain paused) sees them.
 */
void gmem_sync_split(const struct guest_mem *m);

#endif
