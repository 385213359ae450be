/* gmem_window.c's interface: granted pages moved out of a domain's RAM memfd into a window memfd that backends get instead. */
#ifndef KXEN_HV_GMEM_WINDOW_H
#define KXEN_HV_GMEM_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

/*
 * A domain's grant window (docs/grant-tables.md, "Backends get granted
 * pages only"): a sealed memfd as large as its RAM, holding at offset gpa
 * exactly the pages dom0 connections have mapped now, and holes elsewhere.
 * While a page is in the window, kxen-hv's own mapping of guest RAM (which
 * KVM follows) maps the window's page there, so the guest, kxen-hv and the
 * backends share it; the RAM memfd's copy is released.
 */

/*
 * One more dom0 map of frame gfn of d: on the first, moves the page into the
 * window with d's vCPU threads held out of the guest (gmem_hold). Not with
 * a gnttab or domain lock held (a vCPU in a hypercall may need them to
 * park). -EINVAL for a frame outside the guest's RAM, -EBUSY for a page
 * kxen-hv shares otherwise (a split page, shared_info), -ETIMEDOUT if the
 * vCPUs did not stop, -errno from the copy or the remap.
 */
int gmem_window_get(struct domain *d, uint64_t gfn);
/*
 * One dom0 map of gfn less: after the last, the page moves back into the
 * RAM memfd (vCPUs held) and the window's copy is punched out, so the
 * window never holds a page nobody maps. A failed move back is logged and
 * the page stays in the window until the domain ends.
 */
void gmem_window_put(struct domain *d, uint64_t gfn);
/* A duplicate of d's window fd, created on first use; -errno. */
int gmem_window_fd(struct domain *d);
/* Whether gfn lives in d's window now (any thread; lock-free, so a vCPU thread may ask during a move). */
bool gmem_window_holds(struct domain *d, uint64_t gfn);
/* Copies the window's pages into the RAM memfd (dump-core, save: the domain cannot run). */
void gmem_window_sync(struct domain *d);
struct guest_mem;
/* Closes m's window and frees its counts (gmem_destroy: no map is left). */
void gmem_window_free(struct guest_mem *m);

/*
 * Holds d's vCPU threads outside the guest and outside their exit handling:
 * each parks at its next safe point (the run loop's top or vcpu_wait) and
 * gmem_hold returns once every started thread has. Nests. 0, or
 * -ETIMEDOUT (the hold is dropped again) if they do not all park in time.
 */
int gmem_hold(struct domain *d);
void gmem_release(struct domain *d);
/*
 * A control batch (the calling thread's): the moves between begin and end
 * hold each domain once, at its first move, and end releases them, so a
 * batch of first maps waits for a domain's vCPUs once instead of per page.
 */
void gmem_batch_begin(void);
void gmem_batch_end(void);

/*
 * vcpu.c's safe points: parks v while its domain is held. True if it
 * parked: kicks meant for v (events) may have been consumed meanwhile, so
 * a caller about to sleep must re-check what it waits for first.
 */
bool gmem_park(struct vcpu *v);

#endif
