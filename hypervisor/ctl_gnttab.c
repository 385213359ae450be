/* The control socket's grant ops: batched map/unmap/copy for dom0 backends, copy buffers, grant windows. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gnttab.h"
#include "domain.h"
#include "ctl.h"
#include "gmem_window.h"

_Static_assert(KXCTL_GNTTAB_BATCH_MAX == GNTTAB_BATCH_MAX, "one batch limit");
_Static_assert(sizeof(struct kxctl_gnttab_batch) + KXCTL_GNTTAB_BATCH_MAX * sizeof(struct gnttab_copy)
               + sizeof(struct kxctl_hdr) <= KXCTL_MAX_MSG, "a full batch fits one message");

/*
 * Checks a batch request of elem-sized entries and copies it to the reply,
 * where the handlers fill the OUT fields in place. Returns the count or -errno.
 */
static int batch_in(struct ctl_req *r, size_t elem)
{
	struct kxctl_gnttab_batch b;

	memcpy(&b, r->p, sizeof(b));   /* ctl_dispatch checked len >= sizeof(b) */
	if (b.count > GNTTAB_BATCH_MAX || r->len != sizeof(b) + b.count * elem)
		return -EINVAL;
	memcpy(r->rep, r->p, r->len);
	r->rlen = r->len;
	return (int)b.count;
}

static int maptrack(struct ctl_gnttab *g)
{
	return g->mt ? 0 : gnttab_maptrack_create(0, &g->mt);
}

int ctl_gnttab_map(struct ctl_req *r)
{
	struct ctl_gnttab *g = &r->conn->gnt;
	int n = batch_in(r, sizeof(struct gnttab_map_grant_ref));
	int rc;

	if (n < 0)
		return n;
	if ((rc = maptrack(g)))
		return rc;
	struct gnttab_map_grant_ref *m = (void *)((uint8_t *)r->rep + sizeof(struct kxctl_gnttab_batch));
	gmem_batch_begin();   /* the pages' moves into the window wait for each domain's vCPUs once */
	for (int i = 0; i < n; i++) {
		grant_handle_t h = ~0u;
		uint64_t gpa = 0;
		if (!(m[i].flags & (GNTMAP_host_map | GNTMAP_device_map)))
			m[i].status = GNTST_bad_gntref;   /* Xen's answer to "bad flags" */
		else
			m[i].status = gnttab_map(g->mt, m[i].dom, m[i].ref,
			                         m[i].flags & GNTMAP_readonly, &h, &gpa);
		m[i].handle = h;
		m[i].dev_bus_addr = gpa;   /* the frame's offset in the domain's grant window */
	}
	gmem_batch_end();
	return 0;
}

int ctl_gnttab_unmap(struct ctl_req *r)
{
	struct ctl_gnttab *g = &r->conn->gnt;
	int n = batch_in(r, sizeof(struct gnttab_unmap_grant_ref));

	if (n < 0)
		return n;
	struct gnttab_unmap_grant_ref *u = (void *)((uint8_t *)r->rep + sizeof(struct kxctl_gnttab_batch));
	gmem_batch_begin();
	for (int i = 0; i < n; i++)
		u[i].status = g->mt ? gnttab_unmap(g->mt, u[i].handle) : GNTST_bad_handle;
	gmem_batch_end();
	return 0;
}

int ctl_gnttab_copy(struct ctl_req *r)
{
	struct ctl_gnttab *g = &r->conn->gnt;
	int n = batch_in(r, sizeof(struct gnttab_copy));
	struct gnttab_local self = { .domid = 0, .base = g->copybuf, .min_frame = 0,
	                             .nr_frames = g->copybuf_size / KXEN_PAGE_SIZE };

	if (n < 0)
		return n;
	struct gnttab_copy *c = (void *)((uint8_t *)r->rep + sizeof(struct kxctl_gnttab_batch));
	for (int i = 0; i < n; i++)
		gnttab_copy(&self, &c[i]);
	return 0;
}

int ctl_gnttab_copybuf(struct ctl_req *r)
{
	struct ctl_gnttab *g = &r->conn->gnt;
	struct kxctl_gnttab_copybuf cb;

	memcpy(&cb, r->p, sizeof(cb));
	if (cb.size == 0 || cb.size > GNTTAB_COPYBUF_MAX || cb.size % KXEN_PAGE_SIZE)
		return -EINVAL;
	int fd = memfd_create("kxen-copybuf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	void *base = MAP_FAILED;
	if (ftruncate(fd, (off_t)cb.size) == 0)
		base = mmap(NULL, cb.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if (g->copybuf)
		munmap(g->copybuf, g->copybuf_size);
	g->copybuf = base;
	g->copybuf_size = cb.size;
	memcpy(r->rep, &cb, sizeof(cb));
	r->rlen = sizeof(cb);
	/* The reply carries a duplicate: ctl.c sends it, then we may close ours. */
	r->fds[r->nfds++] = fd;
	r->own_fds = true;
	return 0;
}

int ctl_gnttab_memfd(struct ctl_req *r)
{
	struct ctl_gnttab *g = &r->conn->gnt;
	struct kxctl_domid id;

	memcpy(&id, r->p, sizeof(id));
	/* Only for a domain this connection serves: one that granted it something now mapped. */
	if (id.domid == 0 || id.domid >= DOMID_FIRST_RESERVED ||
	    !gnttab_maptrack_holds(g->mt, (domid_t)id.domid))
		return -EPERM;
	struct domain *d = domain_get(id.domid);
	if (!d)
		return -ESRCH;
	/* The window, never the RAM memfd: it holds the pages dom0 maps now, at their offsets, and holes. */
	struct kxctl_map_memory_reply out = { .mem_bytes = d->mem.size };
	int fd = gmem_window_fd(d);
	domain_put(d);
	if (fd < 0)
		return fd;
	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	r->fds[r->nfds++] = fd;
	r->own_fds = true;
	return 0;
}

void ctl_gnttab_release(struct ctl_gnttab *g)
{
	gmem_batch_begin();
	gnttab_maptrack_destroy(g->mt);
	gmem_batch_end();
	g->mt = NULL;
	if (g->copybuf)
		munmap(g->copybuf, g->copybuf_size);
	g->copybuf = NULL;
	g->copybuf_size = 0;
}
