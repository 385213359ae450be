/* libFuzzer harness: the console backend's ring (cons_ring.c) against a guest that writes any indexes and bytes. */
#include "fuzz_common.h"
#include <xen/io/console.h>
#include "cons_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	/* Exactly the page's structure, so any access past it is ASan's to see. */
	struct xencons_interface *page = malloc(sizeof(*page));
	struct cons_ring r;
	char buf[4096];

	fz_bytes(&f, page, sizeof(*page) < 64 ? sizeof(*page) : 64);
	fz_bytes(&f, page->out, sizeof(page->out) < 32 ? sizeof(page->out) : 32);
	page->in_cons = fz_u32(&f);
	page->in_prod = fz_u32(&f);
	page->out_cons = fz_u32(&f);
	page->out_prod = fz_u32(&f);
	cons_ring__init(&r, page);
	while (f.n) {
		uint8_t op = fz_u8(&f);
		size_t len = fz_u16(&f) % (sizeof(buf) + 1);
		int n;

		switch (op % 5) {
		case 0: /* the guest moves one of its indexes */
			if (op & 0x80)
				page->out_prod = fz_u32(&f);
			else
				page->in_cons = fz_u32(&f);
			break;
		case 1: /* the guest scribbles on ours too */
			if (op & 0x80)
				page->out_cons = fz_u32(&f);
			else
				page->in_prod = fz_u32(&f);
			break;
		case 2:
			n = cons_ring__peek_out(&r, buf, len);
			FZ_CHECK(n == -EPROTO || (n >= 0 && (size_t)n <= len && (size_t)n <= sizeof(page->out)),
				 "peek_out(%zu) = %d", len, n);
			if (n > 0 && (op & 0x80)) {
				XENCONS_RING_IDX before = r.out_cons;

				cons_ring__consume_out(&r, (size_t)n);
				FZ_CHECK(r.out_cons - before == (XENCONS_RING_IDX)n, "consumed %d", n);
				FZ_CHECK(page->out_cons == r.out_cons, "out_cons not published");
			}
			break;
		case 3:
			fz_bytes(&f, buf, len);
			n = cons_ring__put_in(&r, buf, len);
			FZ_CHECK(n == -EPROTO || (n >= 0 && (size_t)n <= len && (size_t)n <= sizeof(page->in)),
				 "put_in(%zu) = %d", len, n);
			if (n >= 0)
				FZ_CHECK(r.in_prod - page->in_cons <= sizeof(page->in),
					 "in_prod %u more than a ring past in_cons %u", r.in_prod, page->in_cons);
			break;
		default: /* a restarted backend resumes from the page */
			cons_ring__init(&r, page);
			break;
		}
	}
	free(page);
	return 0;
}
