/* libkxctrl's grant API: batched map/unmap/copy through kxen-hv, and kxgnt, the page-mapping module for backends. */
#ifndef KXCTRL_GNTTAB_H
#define KXCTRL_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>

#include "kxctrl.h"

/*
 * Low level, one control round trip per KXCTL_GNTTAB_BATCH_MAX ops (longer
 * arrays are split). Each returns 0 when kxen-hv answered, and then every
 * op's own status field (GNTST_*) says how it went; -errno otherwise.
 * Maps: flags GNTMAP_host_map [| GNTMAP_readonly], dom, ref in; status,
 * handle and dev_bus_addr (the frame's offset in the domain's grant window) out.
 * Copies: the dom0 side (no GNTCOPY_*_gref flag, domid DOMID_SELF) names
 * pages of the copy buffer set with kxctrl_gnttab_copybuf.
 */
int kxctrl_gnttab_map(kxctrl *h, struct gnttab_map_grant_ref *ops, unsigned count);
int kxctrl_gnttab_unmap(kxctrl *h, struct gnttab_unmap_grant_ref *ops, unsigned count);
int kxctrl_gnttab_copy(kxctrl *h, struct gnttab_copy *ops, unsigned count);
/* A size-byte copy buffer shared with kxen-hv, mapped at *base (caller munmaps and closes). */
int kxctrl_gnttab_copybuf(kxctrl *h, uint64_t size, int *memfd, void **base);
/*
 * The domain's grant window, a memfd as large as its RAM that holds the pages
 * dom0 maps now (holes elsewhere; docs/grant-tables.md): only while this
 * handle maps a grant of domid (-EPERM otherwise).
 */
int kxctrl_gnttab_memfd(kxctrl *h, uint32_t domid, int *memfd, uint64_t *size);

/*
 * kxgnt: what a backend should use. It maps each granted page on its own
 * (PROT_READ for readonly grants) from the granting domain's grant window, so
 * the backend's address space holds granted pages only. The window fd is cached
 * while the domain has pages mapped through this kxgnt.
 */
typedef struct kxgnt kxgnt;

int kxgnt_open(kxctrl *h, kxgnt **out);
/* Unmaps everything still mapped, then frees g. */
void kxgnt_close(kxgnt *g);
/*
 * Maps refs[0..n) of domid. addrs[i] is the page or NULL, status[i] its
 * GNTST_* (or GNTST_general_error when mmap failed). Returns 0 or -errno
 * (control socket errors; then nothing is mapped).
 */
int kxgnt_map(kxgnt *g, uint32_t domid, const grant_ref_t *refs, unsigned n, bool readonly,
              void **addrs, int16_t *status);
/* Unmaps pages kxgnt_map returned (NULL entries are skipped). Returns 0 or the first error. */
int kxgnt_unmap(kxgnt *g, void *const *addrs, unsigned n);
/* Pages mapped now. */
unsigned kxgnt_count(const kxgnt *g);

#endif
