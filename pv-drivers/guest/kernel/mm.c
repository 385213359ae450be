/* Bitmap page allocator (first fit) and a size-class malloc, both locked for SMP. */
#include "mm.h"
#include "console.h"
#include "kstring.h"
#include "lock.h"

#define BITS_PER_LONG 64

static unsigned long *page_bitmap;	/* one bit per page of RAM, set = in use */
static unsigned long nr_ram_pages, nr_free_pages, search_hint;
static uint64_t mm_free_start, mm_ram_end;
static spinlock_t page_lock = SPINLOCK_INIT;

static bool page_used(unsigned long pfn)
{
	return page_bitmap[pfn / BITS_PER_LONG] & (1UL << (pfn % BITS_PER_LONG));
}

static void mark(unsigned long pfn, unsigned long n, bool used)
{
	for (unsigned long i = pfn; i < pfn + n; i++) {
		unsigned long bit = 1UL << (i % BITS_PER_LONG);

		if (used && !(page_bitmap[i / BITS_PER_LONG] & bit)) {
			page_bitmap[i / BITS_PER_LONG] |= bit;
			nr_free_pages--;
		} else if (!used && (page_bitmap[i / BITS_PER_LONG] & bit)) {
			page_bitmap[i / BITS_PER_LONG] &= ~bit;
			nr_free_pages++;
		}
	}
}

void mm_init(uint64_t free_start, uint64_t ram_end)
{
	free_start = PAGE_ALIGN(free_start);
	ram_end &= ~(PAGE_SIZE - 1);
	nr_ram_pages = ram_end >> PAGE_SHIFT;

	/*
	 * The bitmap takes the last pages of RAM: the builder's special pages
	 * sit low, just above the kernel, so they can never be under it.
	 */
	unsigned long words = (nr_ram_pages + BITS_PER_LONG - 1) / BITS_PER_LONG;
	uint64_t bitmap_bytes = PAGE_ALIGN(words * sizeof(unsigned long));

	if (ram_end < free_start + bitmap_bytes + 4 * PAGE_SIZE)
		panic("mm: no free RAM (free start %p, RAM end %p)", (void *)free_start, (void *)ram_end);
	page_bitmap = (unsigned long *)(ram_end - bitmap_bytes);
	memset(page_bitmap, 0xff, bitmap_bytes);
	nr_free_pages = 0;
	mm_free_start = free_start;
	mm_ram_end = ram_end;

	unsigned long first = free_start >> PAGE_SHIFT;
	unsigned long last = (ram_end - bitmap_bytes) >> PAGE_SHIFT;

	for (unsigned long pfn = first; pfn < last; pfn++)
		page_bitmap[pfn / BITS_PER_LONG] &= ~(1UL << (pfn % BITS_PER_LONG));
	nr_free_pages = last - first;
	search_hint = first;
}

void mm_reserve(uint64_t start, uint64_t end)
{
	unsigned long s = start >> PAGE_SHIFT;
	unsigned long e = PAGE_ALIGN(end) >> PAGE_SHIFT;

	if (e > nr_ram_pages)
		e = nr_ram_pages;
	if (s >= e)
		return;
	int flags = spin_lock_irqsave(&page_lock);
	mark(s, e - s, true);
	spin_unlock_irqrestore(&page_lock, flags);
}

static long find_free(unsigned long from, unsigned long n, unsigned long align)
{
	unsigned long pfn = (from + align - 1) & ~(align - 1);

	while (pfn + n <= nr_ram_pages) {
		/* Skip whole used words quickly: the common case in a full region. */
		if ((pfn % BITS_PER_LONG) == 0 && page_bitmap[pfn / BITS_PER_LONG] == ~0UL) {
			pfn = (pfn + BITS_PER_LONG + align - 1) & ~(align - 1);
			continue;
		}
		unsigned long i;

		for (i = 0; i < n && !page_used(pfn + i); i++)
			;
		if (i == n)
			return pfn;
		pfn = (pfn + i + 1 + align - 1) & ~(align - 1);
	}
	return -1;
}

void *alloc_pages(unsigned long n, unsigned long align)
{
	if (!n || !align || (align & (align - 1)))
		return NULL;
	int flags = spin_lock_irqsave(&page_lock);
	long pfn = find_free(search_hint, n, align);

	if (pfn < 0)
		pfn = find_free(0, n, align);
	if (pfn >= 0) {
		mark(pfn, n, true);
		if (align == 1)
			search_hint = pfn + n;
	}
	spin_unlock_irqrestore(&page_lock, flags);
	return pfn < 0 ? NULL : (void *)((uint64_t)pfn << PAGE_SHIFT);
}

void free_pages(void *p, unsigned long n)
{
	unsigned long pfn = (uint64_t)p >> PAGE_SHIFT;

	if (!p)
		return;
	BUG_ON(((uint64_t)p & (PAGE_SIZE - 1)) || pfn + n > nr_ram_pages ||
	       (uint64_t)p < mm_free_start);
	int flags = spin_lock_irqsave(&page_lock);
	for (unsigned long i = 0; i < n; i++)
		BUG_ON(!page_used(pfn + i));	/* double free */
	mark(pfn, n, false);
	if (pfn < search_hint)
		search_hint = pfn;
	spin_unlock_irqrestore(&page_lock, flags);
}

/*
 * malloc: every block starts with a 16-byte header (keeps 16-byte
 * alignment). Small blocks come from per-class free lists carved out of
 * whole pages and are never returned to the page allocator; large blocks
 * are whole pages and go straight back.
 */
#define MALLOC_MAGIC   0x6d616c6cU
#define NR_CLASSES     8		/* 32 .. 4096 bytes including the header */
#define MIN_CLASS_SHIFT 5

struct block_header {
	uint32_t magic;
	uint32_t cls;		/* size class, or NR_CLASSES for a page run */
	uint64_t npages;	/* page runs only */
};

struct free_block {
	struct block_header hdr;
	struct free_block *next;
};

static struct free_block *free_lists[NR_CLASSES];
static spinlock_t malloc_lock = SPINLOCK_INIT;

void *malloc(size_t size)
{
	size_t need = size + sizeof(struct block_header);
	unsigned cls = 0;

	if (size > (1UL << 40))
		return NULL;
	while (cls < NR_CLASSES && (1UL << (cls + MIN_CLASS_SHIFT)) < need)
		cls++;
	if (cls == NR_CLASSES) {
		unsigned long n = PAGE_ALIGN(need) >> PAGE_SHIFT;
		struct block_header *h = alloc_pages(n, 1);

		if (!h)
			return NULL;
		h->magic = MALLOC_MAGIC;
		h->cls = NR_CLASSES;
		h->npages = n;
		return h + 1;
	}

	int flags = spin_lock_irqsave(&malloc_lock);
	if (!free_lists[cls]) {
		size_t bsize = 1UL << (cls + MIN_CLASS_SHIFT);
		char *page = alloc_pages(1, 1);

		if (!page) {
			spin_unlock_irqrestore(&malloc_lock, flags);
			return NULL;
		}
		for (size_t off = 0; off + bsize <= PAGE_SIZE; off += bsize) {
			struct free_block *b = (struct free_block *)(page + off);

			b->next = free_lists[cls];
			free_lists[cls] = b;
		}
	}
	struct free_block *b = free_lists[cls];

	free_lists[cls] = b->next;
	spin_unlock_irqrestore(&malloc_lock, flags);
	b->hdr.magic = MALLOC_MAGIC;
	b->hdr.cls = cls;
	b->hdr.npages = 0;
	return &b->hdr + 1;
}

void *calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size)
		return NULL;
	void *p = malloc(nmemb * size);

	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void free(void *p)
{
	if (!p)
		return;
	struct block_header *h = (struct block_header *)p - 1;

	if (h->magic != MALLOC_MAGIC || h->cls > NR_CLASSES)
		panic("free: bad pointer %p", p);
	h->magic = 0;	/* catches double free */
	if (h->cls == NR_CLASSES) {
		free_pages(h, h->npages);
		return;
	}
	struct free_block *b = (struct free_block *)h;
	int flags = spin_lock_irqsave(&malloc_lock);

	b->next = free_lists[h->cls];
	free_lists[h->cls] = b;
	spin_unlock_irqrestore(&malloc_lock, flags);
}

void mm_get_stats(struct mm_stats *st)
{
	st->total_pages = nr_ram_pages;
	st->free_pages = nr_free_pages;
	st->free_start = mm_free_start;
	st->ram_end = mm_ram_end;
}
