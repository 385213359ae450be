/* A Xen PV guest's grant-table frames: kxen-owned pages just above its layer's region, in a KVM slot of their own. */
#include <errno.h>
#include <sys/mman.h>

#include "domain.h"
#include "gnttab.h"
#include "gnttab_pv.h"
#include "kvm.h"

int gnttab_pv_frames(struct domain *d, unsigned slot, uint64_t gpa)
{
	size_t size = (size_t)d->max_grant_frames * KXEN_PAGE_SIZE;   /* the domain's limit: gnttab sizes its table so */
	uint8_t *host;
	int rc;

	/* Anonymous and shared: zeroed, and KVM maps exactly what kxen-hv reads and cmpxchg's. */
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (host == MAP_FAILED)
		return -errno;
	if ((rc = gnttab_fix_frames(d, gpa, host)) < 0) {
		munmap(host, size);
		return rc;
	}
	/* From here gnttab_free owns the mapping, whatever KVM says (a failed setup frees the domain). */
	return kvm_vm_add_region(d, slot, gpa, host, size);
}
