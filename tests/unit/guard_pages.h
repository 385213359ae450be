/* Page-aligned test memory between PROT_NONE guard pages, so a ring consumer's stray access faults the test. */
#ifndef GUARD_PAGES_H
#define GUARD_PAGES_H

#include <stddef.h>

#define GUARD_PAGE_SIZE 4096u

/*
 * Maps npages zeroed read/write pages with a PROT_NONE page on each side
 * and returns the first of them, or NULL (errno set) on failure.
 */
void *guard_pages__alloc(size_t npages);

/* Unmaps what guard_pages__alloc(npages) returned (NULL is ignored); 0 or -errno. */
int guard_pages__free(void *p, size_t npages);

#endif
