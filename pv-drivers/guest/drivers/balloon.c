/* memory/target for kxen's own kernel: free pages go back to the hypervisor and come back, a batch per hypercall. */
#include "balloon.h"
#include "clock.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "xenbus.h"
#include <xen/memory.h>

#define TARGET_NODE  "memory/target"
#define TARGET_TOKEN "kxen-balloon-target"
#define BATCH 256
/* As control.c: a domain nobody introduced keeps this thread asleep. */
#define BALLOON_WAIT_NS (3600 * NSEC_PER_SEC)

static unsigned long *given;            /* one bit per RAM page: given back to the hypervisor */
static unsigned long ram_pages, nr_given;
static xen_pfn_t frames[BATCH];

static bool is_given(unsigned long pfn)
{
	return given[pfn / 64] & (1UL << (pfn % 64));
}

static void set_given(unsigned long pfn, bool on)
{
	if (on)
		given[pfn / 64] |= 1UL << (pfn % 64);
	else
		given[pfn / 64] &= ~(1UL << (pfn % 64));
}

/* One reservation hypercall over frames[0..n): the count the hypervisor did. */
static long reservation(unsigned cmd, unsigned long n)
{
	struct xen_memory_reservation r = { .nr_extents = n, .domid = DOMID_SELF };

	set_xen_guest_handle(r.extent_start, frames);
	return HYPERVISOR_memory_op(cmd, &r);
}

/* Gives up to n free pages back; stops when the allocator has none or the hypervisor refuses one. */
static void shrink(unsigned long n)
{
	while (n) {
		unsigned long k = 0;

		while (k < BATCH && k < n) {
			void *p = alloc_pages(1, 1);

			if (!p)
				break;
			frames[k++] = (uint64_t)p >> PAGE_SHIFT;   /* auto-translated: v == p, and the gfn */
		}
		if (!k)
			return;
		long done = reservation(XENMEM_decrease_reservation, k);
		/* The frame it stopped at stays allocated, never offered again; the rest go back to the allocator. */
		unsigned long keep = done < 0 ? 0 : (unsigned long)done + ((unsigned long)done < k);

		for (long i = 0; i < done; i++)
			set_given(frames[i], true);
		nr_given += done > 0 ? (unsigned long)done : 0;
		for (unsigned long i = keep; i < k; i++)
			free_pages((void *)(frames[i] << PAGE_SHIFT), 1);
		if (done < 0 || (unsigned long)done < k) {
			printk("balloon: the hypervisor took %ld of %lu pages\n", done, k);
			return;
		}
		n -= k;
	}
}

/* Takes up to n given-back pages again, lowest first, and frees them to the allocator (they read as zeroes). */
static void grow(unsigned long n)
{
	unsigned long pfn = 0;

	while (n) {
		unsigned long k = 0;

		for (; pfn < ram_pages && k < BATCH && k < n; pfn++)
			if (is_given(pfn))
				frames[k++] = pfn;
		if (!k)
			return;
		long done = reservation(XENMEM_populate_physmap, k);

		for (long i = 0; i < done; i++) {
			set_given(frames[i], false);
			free_pages((void *)(frames[i] << PAGE_SHIFT), 1);
		}
		nr_given -= done > 0 ? (unsigned long)done : 0;
		if (done < 0 || (unsigned long)done < k) {
			printk("balloon: the hypervisor gave back %ld of %lu pages\n", done, k);
			return;
		}
		n -= k;
	}
}

static void target_watch(const char *path, const char *token, void *arg)
{
	unsigned long kib, want, have;

	(void)path;
	(void)token;
	(void)arg;
	if (xenbus_read_ulong(XBT_NIL, TARGET_NODE, &kib))
		return;
	want = kib >> (PAGE_SHIFT - 10);
	have = ram_pages - nr_given;
	if (want == have)
		return;   /* the watch's first firing, at the size the domain was built with */
	if (want < have)
		shrink(have - want);
	else
		grow(want - have);
	printk("balloon: target %lu KiB, %lu pages given back, %lu held\n", kib, nr_given, ram_pages - nr_given);
}

static void balloon_main(void *arg)
{
	int rc;

	(void)arg;
	while ((rc = xenbus_write_timeout(XBT_NIL, "control/feature-balloon", "1", BALLOON_WAIT_NS)) ==
	       -XEN_ETIMEDOUT)
		;
	if (rc)
		printk("balloon: cannot write control/feature-balloon: error %d\n", rc);
	rc = xenbus_watch(TARGET_NODE, TARGET_TOKEN, target_watch, NULL);
	if (rc)
		printk("balloon: cannot watch %s: error %d; the memory target will not be followed\n",
		       TARGET_NODE, rc);
}

int balloon_init(void)
{
	struct mm_stats st;

	mm_get_stats(&st);
	ram_pages = st.ram_end >> PAGE_SHIFT;
	given = calloc((ram_pages + 63) / 64, sizeof(*given));
	if (!given)
		return -XEN_ENOMEM;
	return thread_create("balloon", balloon_main, NULL) ? 0 : -XEN_ENOMEM;
}
