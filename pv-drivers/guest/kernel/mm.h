/* Physical page allocator over free RAM and a small malloc on top of it. */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include "kernel.h"

/* free_start..ram_end (bytes, page aligned) is ours; everything below free_start stays reserved. */
void mm_init(uint64_t free_start, uint64_t ram_end);
/* Keeps [start, end) out of the allocator (pages the builder put in free RAM). */
void mm_reserve(uint64_t start, uint64_t end);

/* n contiguous pages whose first page number is a multiple of align (a power of two, >= 1). */
void *alloc_pages(unsigned long n, unsigned long align);
void free_pages(void *p, unsigned long n);

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void free(void *p);

struct mm_stats {
	unsigned long total_pages, free_pages;
	uint64_t free_start, ram_end;
};
void mm_get_stats(struct mm_stats *st);

#endif
