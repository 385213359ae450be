/* Domain RAM as a memfd mapped into kxen-hv, and checked guest-memory access. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "gmem_window.h"
#include "domain.h"
#include "ctl.h"
#include "pvl.h"
#include "hostmem.h"

int gmem_create(struct guest_mem *m, uint64_t size, const char *name)
{
	memset(m->special, 0, sizeof(m->special));
	atomic_store(&m->win, NULL);
	m->pv_l4 = NULL;
	m->memfd = memfd_create(name, MFD_CLOEXEC);
	if (m->memfd < 0)
		return -errno;
	if (ftruncate(m->memfd, (off_t)size) < 0)
		goto out;
	/* NORESERVE: idle guests touch a few hundred KiB of their RAM. */
	m->base = hostmem__fault("mmap") ? (errno = ENOMEM, MAP_FAILED) :
	          mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->memfd, 0);
	if (m->base == MAP_FAILED)
		goto out;
	m->size = size;
	return 0;
out:;
	int err = -errno;
	close(m->memfd);
	m->memfd = -1;
	m->base = NULL;
	return err;
}

void gmem_destroy(struct guest_mem *m)
{
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++) {
		if (m->special[i].gfn)
			close(m->special[i].fd);
		m->special[i].gfn = 0;
	}
	gmem_window_free(m);
	/* One munmap also takes the split and window pages mapped inside the range. */
	if (m->base)
		munmap(m->base, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->base = NULL;
	m->memfd = -1;
	m->size = 0;
}

/* The one bounds check: [gpa, gpa + len) inside [lo, hi) and inside RAM, without wrapping. */
static void *region_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len, uint64_t lo, uint64_t hi)
{
	if (hi > m->size)
		hi = m->size;
	if (!m->base || gpa < lo || gpa > hi || len > hi - gpa)
		return NULL;
	return m->base + gpa;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gva, uint64_t len)
{
	if (m->pv_l4)
		return pvl_gmem_ptr(m, gva, len);
	return region_ptr(m, gva, len, KXEN_PV_RESERVED_END, m->size);
}

void *gmem_frame_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	return region_ptr(m, gpa, len, KXEN_PV_RESERVED_END, m->size);
}

int gmem_read_region(const struct guest_mem *m, void *dst, uint64_t gpa, uint64_t len,
                     uint64_t lo, uint64_t hi)
{
	const void *p = region_ptr(m, gpa, len, lo, hi);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_read(const struct guest_mem *m, void *dst, uint64_t gva, uint64_t len)
{
	const void *p = gmem_ptr(m, gva, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *m, uint64_t gva, const void *src, uint64_t len)
{
	void *p = gmem_ptr(m, gva, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int gmem_split_page(struct guest_mem *m, unsigned role, uint64_t gfn)
{
	uint64_t off = gfn * KXEN_PAGE_SIZE;
	char name[32];
	int fd, rc;

	if (role >= KXCTL_PAGE_NR || gfn >= m->size / KXEN_PAGE_SIZE || !gmem_ptr(m, off, KXEN_PAGE_SIZE))
		return -EINVAL;
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++)
		if (m->special[i].gfn == gfn || (i == role && m->special[i].gfn))
			return -EEXIST;
	snprintf(name, sizeof(name), "kxen-page-%u", role);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Contents first, then the swap: KVM follows m->base, so the guest sees the new page from now on. */
	if (ftruncate(fd, KXEN_PAGE_SIZE) < 0 ||
	    pwrite(fd, m->base + off, KXEN_PAGE_SIZE, 0) != (ssize_t)KXEN_PAGE_SIZE ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
	    mmap(m->base + off, KXEN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
	         fd, 0) == MAP_FAILED) {
		rc = errno ? -errno : -EIO;
		close(fd);
		return rc;
	}
	/* The RAM memfd's copy is stale from now on: give it back (reads as zeros). */
	fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, KXEN_PAGE_SIZE);
	m->special[role] = (struct gmem_page){ .gfn = gfn, .fd = fd };
	return 0;
}

void gmem_sync_split(const struct guest_mem *m)
{
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++) {
		uint64_t off = m->special[i].gfn * KXEN_PAGE_SIZE;
		if (m->special[i].gfn &&
		    pwrite(m->memfd, m->base + off, KXEN_PAGE_SIZE, (off_t)off) != (ssize_t)KXEN_PAGE_SIZE)
			hvlog("(XEN) cannot copy special page %#llx into the RAM memfd: %s",
			      (unsigned long long)m->special[i].gfn, strerror(errno));
	}
}

/*
 * KXCTL_MAP_MEMORY: a domain's whole RAM, for dump-core, only while the
 * domain cannot run (docs/architecture.md, "Who gets guest memory").
 */
int gmem_ctl_map_memory(struct ctl_req *r)
{
	struct kxctl_map_memory_reply out = { .mem_bytes = r->d->mem.size };

	/* Not for --socket-group peers (kxen-backd -u): a backend gets granted pages only. */
	if (!r->conn->privileged)
		return -EPERM;
	if (!atomic_load(&r->d->paused) && !atomic_load(&r->d->shutdown))
		return -EBUSY;
	gmem_sync_split(&r->d->mem);
	gmem_window_sync(r->d);   /* the granted pages' current home is the window */

	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	r->fds[r->nfds++] = r->d->mem.memfd;
	return 0;
}

/* KXCTL_MAP_SPECIAL_PAGE: the xenstore or console page alone, for the daemon that serves it. */
int gmem_ctl_map_special_page(struct ctl_req *r)
{
	const struct kxctl_special_page *sp = r->p;
	const struct guest_mem *m = &r->d->mem;

	if (sp->role >= KXCTL_PAGE_NR)
		return -EINVAL;
	if (!m->special[sp->role].gfn)
		return -ENOENT;
	struct kxctl_special_page_reply out = { .gfn = m->special[sp->role].gfn };
	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	/* SCM_RIGHTS sends a duplicate; the domain keeps its own. */
	r->fds[r->nfds++] = m->special[sp->role].fd;
	return 0;
}
