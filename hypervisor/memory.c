/* Domain RAM as a memfd mapped into kxen-hv, and checked guest-memory access. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "ctl.h"

int gmem_create(struct guest_mem *m, uint64_t size, const char *name)
{
	m->memfd = memfd_create(name, MFD_CLOEXEC);
	if (m->memfd < 0)
		return -errno;
	if (ftruncate(m->memfd, (off_t)size) < 0)
		goto fail;
	/* NORESERVE: idle guests touch a few hundred KiB of their RAM. */
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_NORESERVE, m->memfd, 0);
	if (m->base == MAP_FAILED)
		goto fail;
	m->size = size;
	return 0;
fail:;
	int err = -errno;
	close(m->memfd);
	m->memfd = -1;
	m->base = NULL;
	return err;
}

void gmem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->base = NULL;
	m->memfd = -1;
	m->size = 0;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gva, uint64_t len)
{
	if (!m->base || gva < KXEN_PV_RESERVED_END || gva > m->size ||
	    len > m->size - gva)
		return NULL;
	return m->base + gva;
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

/* KXCTL_MAP_MEMORY: a domain's whole RAM, for dump-core; see docs/architecture.md. */
int gmem_ctl_map_memory(struct ctl_req *r)
{
	struct kxctl_map_memory_reply out = { .mem_bytes = r->d->mem.size };

	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	r->fds[r->nfds++] = r->d->mem.memfd;
	return 0;
}
