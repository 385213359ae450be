/* libkxctrl's grant ops (batches of Xen's gnttab structs over the control socket) and the kxgnt page mapper. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen/kxctrl_gnttab.h"

#define PAGE 4096u

/* Sends ops in chunks of the batch limit; the reply's array overwrites ops in place. */
static int batch(kxctrl *h, uint32_t op, void *ops, size_t elem, unsigned count)
{
	size_t hdr = sizeof(struct kxctl_gnttab_batch);
	uint8_t *buf = malloc(hdr + (size_t)KXCTL_GNTTAB_BATCH_MAX * elem);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (unsigned done = 0; done < count && rc == 0;) {
		unsigned n = count - done;
		if (n > KXCTL_GNTTAB_BATCH_MAX)
			n = KXCTL_GNTTAB_BATCH_MAX;
		struct kxctl_gnttab_batch b = { .count = n };
		size_t len = hdr + n * elem, got = 0;
		memcpy(buf, &b, hdr);
		memcpy(buf + hdr, (uint8_t *)ops + done * elem, n * elem);
		rc = kxctrl_call(h, op, buf, len, buf, len, &got, NULL, 0);
		if (rc == 0 && got != len)
			rc = -EPROTO;
		if (rc == 0)
			memcpy((uint8_t *)ops + done * elem, buf + hdr, n * elem);
		done += n;
	}
	free(buf);
	return rc;
}

int kxctrl_gnttab_map(kxctrl *h, struct gnttab_map_grant_ref *ops, unsigned count)
{
	return batch(h, KXCTL_GNTTAB_MAP, ops, sizeof(*ops), count);
}

int kxctrl_gnttab_unmap(kxctrl *h, struct gnttab_unmap_grant_ref *ops, unsigned count)
{
	return batch(h, KXCTL_GNTTAB_UNMAP, ops, sizeof(*ops), count);
}

int kxctrl_gnttab_copy(kxctrl *h, struct gnttab_copy *ops, unsigned count)
{
	return batch(h, KXCTL_GNTTAB_COPY, ops, sizeof(*ops), count);
}

int kxctrl_gnttab_copybuf(kxctrl *h, uint64_t size, int *memfd, void **base)
{
	struct kxctl_gnttab_copybuf cb = { .size = size };
	int fd, rc = kxctrl_call(h, KXCTL_GNTTAB_COPYBUF, &cb, sizeof(cb), NULL, 0, NULL, &fd, 1);

	if (rc)
		return rc;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*memfd = fd;
	*base = p;
	return 0;
}

int kxctrl_gnttab_memfd(kxctrl *h, uint32_t domid, int *memfd, uint64_t *size)
{
	struct kxctl_domid id = { .domid = domid };
	struct kxctl_map_memory_reply r;
	int rc = kxctrl_call(h, KXCTL_GNTTAB_MEMFD, &id, sizeof(id), &r, sizeof(r), NULL, memfd, 1);

	if (rc == 0)
		*size = r.mem_bytes;
	return rc;
}

/* ---- kxgnt ---- */

struct kxgnt_map {
	void *addr;
	grant_handle_t handle;
	uint32_t domid;
};

struct kxgnt_dom {
	uint32_t domid;
	int memfd;
	uint64_t size;
	unsigned pages;          /* mapped through us; the memfd is dropped at 0 */
};

struct kxgnt {
	kxctrl *h;
	struct kxgnt_map *maps;  /* unsorted; unmap looks addresses up */
	unsigned nr, cap;
	struct kxgnt_dom *doms;
	unsigned nr_doms;
};

int kxgnt_open(kxctrl *h, kxgnt **out)
{
	kxgnt *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->h = h;
	*out = g;
	return 0;
}

unsigned kxgnt_count(const kxgnt *g)
{
	return g->nr;
}

static struct kxgnt_dom *dom_find(kxgnt *g, uint32_t domid)
{
	for (unsigned i = 0; i < g->nr_doms; i++)
		if (g->doms[i].domid == domid)
			return &g->doms[i];
	return NULL;
}

/* The domain's grant window, fetched once we hold a map of it (kxen-hv's rule). */
static struct kxgnt_dom *dom_get(kxgnt *g, uint32_t domid)
{
	struct kxgnt_dom *d = dom_find(g, domid);

	if (d)
		return d;
	struct kxgnt_dom *grown = realloc(g->doms, (g->nr_doms + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	g->doms = grown;
	d = &g->doms[g->nr_doms];
	*d = (struct kxgnt_dom){ .domid = domid, .memfd = -1 };
	if (kxctrl_gnttab_memfd(g->h, domid, &d->memfd, &d->size) < 0)
		return NULL;
	g->nr_doms++;
	return d;
}

static void dom_unref(kxgnt *g, uint32_t domid)
{
	struct kxgnt_dom *d = dom_find(g, domid);

	if (!d || --d->pages)
		return;
	close(d->memfd);
	*d = g->doms[--g->nr_doms];
}

int kxgnt_map(kxgnt *g, uint32_t domid, const grant_ref_t *refs, unsigned n, bool readonly,
              void **addrs, int16_t *status)
{
	struct gnttab_map_grant_ref *ops = calloc(n ? n : 1, sizeof(*ops));
	struct gnttab_unmap_grant_ref un;
	int rc;

	if (!ops)
		return -ENOMEM;
	if (g->nr + n > g->cap) {
		unsigned cap = g->cap ? g->cap : 64;
		while (cap < g->nr + n)
			cap *= 2;
		struct kxgnt_map *m = realloc(g->maps, cap * sizeof(*m));
		if (!m) {
			free(ops);
			return -ENOMEM;
		}
		g->maps = m;
		g->cap = cap;
	}
	for (unsigned i = 0; i < n; i++)
		ops[i] = (struct gnttab_map_grant_ref){
			.flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
			.ref = refs[i], .dom = (domid_t)domid };
	rc = kxctrl_gnttab_map(g->h, ops, n);
	if (rc) {
		free(ops);
		return rc;
	}
	struct kxgnt_dom *d = NULL;
	for (unsigned i = 0; i < n; i++) {
		addrs[i] = NULL;
		status[i] = ops[i].status;
		if (ops[i].status != GNTST_okay)
			continue;
		void *p = MAP_FAILED;
		if (d || (d = dom_get(g, domid)))
			p = mmap(NULL, PAGE, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED,
			         d->memfd, (off_t)ops[i].dev_bus_addr);
		if (p == MAP_FAILED) {
			/* Give the grant back rather than hold a map we cannot use. */
			un = (struct gnttab_unmap_grant_ref){ .handle = ops[i].handle };
			kxctrl_gnttab_unmap(g->h, &un, 1);
			status[i] = GNTST_general_error;
			continue;
		}
		d->pages++;
		addrs[i] = p;
		g->maps[g->nr++] = (struct kxgnt_map){ .addr = p, .handle = ops[i].handle, .domid = domid };
	}
	/* A fetched memfd with no page mapped (every mmap failed) is not kept. */
	if (d && d->pages == 0) {
		d->pages = 1;
		dom_unref(g, domid);
	}
	free(ops);
	return 0;
}

int kxgnt_unmap(kxgnt *g, void *const *addrs, unsigned n)
{
	struct gnttab_unmap_grant_ref *ops = calloc(n ? n : 1, sizeof(*ops));
	uint32_t *doms = calloc(n ? n : 1, sizeof(*doms));
	unsigned k = 0;
	int rc = 0;

	if (!ops || !doms) {
		free(ops);
		free(doms);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!addrs[i])
			continue;
		unsigned j;
		for (j = 0; j < g->nr && g->maps[j].addr != addrs[i]; j++)
			;
		if (j == g->nr) {
			rc = rc ? rc : -EINVAL;   /* not a page we mapped */
			continue;
		}
		/* Unmap from our address space first: the guest may reuse the page once kxen-hv unpins it. */
		munmap(addrs[i], PAGE);
		ops[k].handle = g->maps[j].handle;
		doms[k++] = g->maps[j].domid;
		g->maps[j] = g->maps[--g->nr];
	}
	int brc = k ? kxctrl_gnttab_unmap(g->h, ops, k) : 0;
	for (unsigned i = 0; i < k; i++) {
		dom_unref(g, doms[i]);
		if (brc == 0 && ops[i].status != GNTST_okay && rc == 0)
			rc = -EINVAL;
	}
	free(ops);
	free(doms);
	return rc ? rc : brc;
}

void kxgnt_close(kxgnt *g)
{
	if (!g)
		return;
	while (g->nr) {
		unsigned n = g->nr < 256 ? g->nr : 256;
		void *a[256];
		for (unsigned i = 0; i < n; i++)
			a[i] = g->maps[g->nr - 1 - i].addr;
		kxgnt_unmap(g, a, n);
	}
	for (unsigned i = 0; i < g->nr_doms; i++)
		close(g->doms[i].memfd);
	free(g->doms);
	free(g->maps);
	free(g);
}
