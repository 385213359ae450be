/* The control socket's grant ops: batched map/unmap/copy for dom0 backends, copy buffers, domain memfds. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gnttab.h"

_Static_assert(KXCTL_GNTTAB_BATCH_MAX == GNTTAB_BATCH_MAX, "one batch limit");
_Static_assert(sizeof(struct kxctl_gnttab_batch) + KXCTL_GNTTAB_BATCH_MAX * sizeof(struct gnttab_copy)
               + sizeof(struct kxctl_hdr) <= KXCTL_MAX_MSG, "a full batch fits one message");

typedef int (*ctl_gnttab_fn)(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep,
                             size_t *rlen, int *fds, int *nfds);

/*
 * Checks a batch request of elem-sized entries and copies it to the reply,
 * where the handlers fill the OUT fields in place. Returns the count or -errno.
 */
static int batch_in(const void *p, uint32_t len, size_t elem, void *rep, size_t *rlen)
{
	struct kxctl_gnttab_batch b;

	if (len < sizeof(b))
		return -EINVAL;
	memcpy(&b, p, sizeof(b));
	if (b.count > GNTTAB_BATCH_MAX || len != sizeof(b) + b.count * elem)
		return -EINVAL;
	memcpy(rep, p, len);
	*rlen = len;
	return (int)b.count;
}

static int maptrack(struct ctl_gnttab *g)
{
	return g->mt ? 0 : gnttab_maptrack_create(0, &g->mt);
}

static int op_map(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep, size_t *rlen,
                  int *fds, int *nfds)
{
	int n = batch_in(p, len, sizeof(struct gnttab_map_grant_ref), rep, rlen);
	int rc;

	(void)fds;
	(void)nfds;
	if (n < 0)
		return n;
	if ((rc = maptrack(g)))
		return rc;
	struct gnttab_map_grant_ref *m = (void *)((uint8_t *)rep + sizeof(struct kxctl_gnttab_batch));
	for (int i = 0; i < n; i++) {
		grant_handle_t h = ~0u;
		uint64_t gpa = 0;
		if (!(m[i].flags & (GNTMAP_host_map | GNTMAP_device_map)))
			m[i].status = GNTST_bad_gntref;   /* Xen's answer to "bad flags" */
		else
			m[i].status = gnttab_map(g->mt, m[i].dom, m[i].ref,
			                         m[i].flags & GNTMAP_readonly, &h, &gpa);
		m[i].handle = h;
		m[i].dev_bus_addr = gpa;   /* the frame's offset in the domain's memfd */
	}
	return 0;
}

static int op_unmap(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep, size_t *rlen,
                    int *fds, int *nfds)
{
	int n = batch_in(p, len, sizeof(struct gnttab_unmap_grant_ref), rep, rlen);

	(void)fds;
	(void)nfds;
	if (n < 0)
		return n;
	struct gnttab_unmap_grant_ref *u = (void *)((uint8_t *)rep + sizeof(struct kxctl_gnttab_batch));
	for (int i = 0; i < n; i++)
		u[i].status = g->mt ? gnttab_unmap(g->mt, u[i].handle) : GNTST_bad_handle;
	return 0;
}

static int op_copy(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep, size_t *rlen,
                   int *fds, int *nfds)
{
	int n = batch_in(p, len, sizeof(struct gnttab_copy), rep, rlen);
	struct gnttab_local self = { .domid = 0, .base = g->copybuf, .min_frame = 0,
	                             .nr_frames = g->copybuf_size / KXEN_PAGE_SIZE };

	(void)fds;
	(void)nfds;
	if (n < 0)
		return n;
	struct gnttab_copy *c = (void *)((uint8_t *)rep + sizeof(struct kxctl_gnttab_batch));
	for (int i = 0; i < n; i++)
		gnttab_copy(&self, &c[i]);
	return 0;
}

static int op_copybuf(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep, size_t *rlen,
                      int *fds, int *nfds)
{
	struct kxctl_gnttab_copybuf cb;

	if (len != sizeof(cb))
		return -EINVAL;
	memcpy(&cb, p, sizeof(cb));
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
	memcpy(rep, &cb, sizeof(cb));
	*rlen = sizeof(cb);
	/* The reply carries a duplicate: ctl.c sends it, then we may close ours. */
	fds[(*nfds)++] = fd;
	return 0;
}

static int op_memfd(struct ctl_gnttab *g, const void *p, uint32_t len, void *rep, size_t *rlen,
                    int *fds, int *nfds)
{
	struct kxctl_domid id;

	if (len < sizeof(id))
		return -EINVAL;
	memcpy(&id, p, sizeof(id));
	/* Only for a domain this connection serves: one that granted it something now mapped. */
	if (id.domid == 0 || id.domid >= DOMID_FIRST_RESERVED ||
	    !gnttab_maptrack_holds(g->mt, (domid_t)id.domid))
		return -EPERM;
	struct domain *d = domain_get(id.domid);
	if (!d)
		return -ESRCH;
	struct kxctl_map_memory_reply r = { .mem_bytes = d->mem.size };
	int fd = dup(d->mem.memfd);
	domain_put(d);
	if (fd < 0)
		return -errno;
	memcpy(rep, &r, sizeof(r));
	*rlen = sizeof(r);
	fds[(*nfds)++] = fd;
	return 0;
}

static const struct {
	uint32_t op;
	ctl_gnttab_fn fn;
} handlers[] = {
	{ KXCTL_GNTTAB_MAP, op_map },
	{ KXCTL_GNTTAB_UNMAP, op_unmap },
	{ KXCTL_GNTTAB_COPY, op_copy },
	{ KXCTL_GNTTAB_COPYBUF, op_copybuf },
	{ KXCTL_GNTTAB_MEMFD, op_memfd },
};

bool ctl_gnttab_op(uint32_t op)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].op == op)
			return true;
	return false;
}

int ctl_gnttab_request(struct ctl_gnttab *g, uint32_t op, const void *p, uint32_t len,
                       void *rep, size_t *rlen, int *fds, int *nfds)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].op == op)
			return handlers[i].fn(g, p, len, rep, rlen, fds, nfds);
	return -ENOSYS;
}

void ctl_gnttab_release(struct ctl_gnttab *g)
{
	gnttab_maptrack_destroy(g->mt);
	g->mt = NULL;
	if (g->copybuf)
		munmap(g->copybuf, g->copybuf_size);
	g->copybuf = NULL;
	g->copybuf_size = 0;
}
