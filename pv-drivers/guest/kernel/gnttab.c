/* Guest grant tables (v1): frames placed in our RAM, a ref free list, grant and end with Xen's flag protocol. */
#include "gnttab.h"
#include "hypercall.h"
#include "kstring.h"
#include "lock.h"
#include "mm.h"

#define ENTRIES_PER_FRAME (PAGE_SIZE / sizeof(grant_entry_v1_t))

static grant_entry_v1_t *table;     /* frames placed contiguously in our RAM (v == p) */
static unsigned nr_refs;
static grant_ref_t *free_list;      /* stack of free refs */
static unsigned nr_free;
static spinlock_t gnt_lock = SPINLOCK_INIT;

long gnttab_op(unsigned cmd, void *uop, unsigned count)
{
	return _hypercall3(__HYPERVISOR_grant_table_op, cmd, uop, count);
}

int gnttab_query_size(uint32_t *nr_frames, uint32_t *max_frames)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	long rc = gnttab_op(GNTTABOP_query_size, &q, 1);

	if (rc < 0)
		return (int)rc;
	if (q.status != GNTST_okay)
		return -XEN_EINVAL;
	*nr_frames = q.nr_frames;
	*max_frames = q.max_nr_frames;
	return 0;
}

int gnttab_init(unsigned nr_frames)
{
	struct gnttab_set_version sv = { .version = 1 };
	uint32_t cur = 0, max = 0;
	long rc;

	if (table)
		return -XEN_EEXIST;
	if ((rc = gnttab_query_size(&cur, &max)) < 0)
		return (int)rc;
	if (nr_frames == 0 || nr_frames > max)
		nr_frames = max;
	if ((rc = gnttab_op(GNTTABOP_set_version, &sv, 1)) < 0)
		return (int)rc;
	table = alloc_pages(nr_frames, 1);
	free_list = malloc(nr_frames * ENTRIES_PER_FRAME * sizeof(*free_list));
	if (!table || !free_list)
		return -XEN_ENOMEM;
	memset(table, 0, nr_frames * PAGE_SIZE);
	for (unsigned i = 0; i < nr_frames; i++) {
		struct xen_add_to_physmap x = {
			.domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = i,
			.gpfn = ((uint64_t)table >> PAGE_SHIFT) + i,
		};
		if ((rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x)) < 0)
			return (int)rc;
	}
	nr_refs = nr_frames * ENTRIES_PER_FRAME;
	/* Low refs come out first: easier to read in logs. */
	for (unsigned r = nr_refs; r-- > GNTTAB_NR_RESERVED_ENTRIES;)
		free_list[nr_free++] = r;
	return 0;
}

int gnttab_grant_foreign_access(domid_t domid, unsigned long frame, bool readonly)
{
	int flags = spin_lock_irqsave(&gnt_lock);
	grant_ref_t ref = nr_free ? free_list[--nr_free] : 0;

	spin_unlock_irqrestore(&gnt_lock, flags);
	if (!ref)
		return table ? -XEN_ENOSPC : -XEN_EINVAL;
	grant_entry_v1_t *e = &table[ref];
	e->frame = (uint32_t)frame;
	e->domid = domid;
	/* The hypervisor may look at the entry any time: flags go last. */
	barrier();
	WRITE_ONCE(e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)));
	return (int)ref;
}

bool gnttab_query_foreign_access(grant_ref_t ref)
{
	if (ref >= nr_refs)
		return false;
	return READ_ONCE(table[ref].flags) & (GTF_reading | GTF_writing);
}

int gnttab_end_foreign_access(grant_ref_t ref)
{
	if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= nr_refs)
		return -XEN_EINVAL;
	uint16_t *fp = &table[ref].flags;
	uint16_t f = __atomic_load_n(fp, __ATOMIC_SEQ_CST);
	/* The hypervisor sets GTF_reading/GTF_writing by cmpxchg: we must race it the same way. */
	do {
		if (f & (GTF_reading | GTF_writing))
			return -XEN_EBUSY;
		if (!(f & GTF_permit_access))
			return -XEN_EINVAL;
	} while (!__atomic_compare_exchange_n(fp, &f, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	int flags = spin_lock_irqsave(&gnt_lock);
	free_list[nr_free++] = ref;
	spin_unlock_irqrestore(&gnt_lock, flags);
	return 0;
}

int gnttab_copy(struct gnttab_copy *ops, unsigned count)
{
	return (int)gnttab_op(GNTTABOP_copy, ops, count);
}
