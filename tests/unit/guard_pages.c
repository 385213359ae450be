/* Page-aligned test memory between PROT_NONE guard pages, so a ring consumer's stray access faults the test. */
#include <errno.h>
#include <sys/mman.h>

#include "guard_pages.h"

void *guard_pages__alloc(size_t npages)
{
	size_t len = (npages + 2) * GUARD_PAGE_SIZE;
	char *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (area == MAP_FAILED)
		return NULL;
	if (mprotect(area, GUARD_PAGE_SIZE, PROT_NONE) < 0 ||
	    mprotect(area + len - GUARD_PAGE_SIZE, GUARD_PAGE_SIZE, PROT_NONE) < 0) {
		int e = errno;

		munmap(area, len);
		errno = e;
		return NULL;
	}
	return area + GUARD_PAGE_SIZE;
}

int guard_pages__free(void *p, size_t npages)
{
	if (!p)
		return 0;
	if (munmap((char *)p - GUARD_PAGE_SIZE, (npages + 2) * GUARD_PAGE_SIZE) < 0)
		return -errno;
	return 0;
}
