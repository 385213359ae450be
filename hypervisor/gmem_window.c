/* The grant window: pages mapped by dom0 backends live in a memfd of their own, so a backend never holds the domain's RAM memfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "domain.h"
#include "gmem.h"
#include "gmem_window.h"
#include "log.h"
#include "vcpu.h"

/* A guest exit is handled in well under this even on a loaded host; beyond it the map fails instead of the control thread hanging on a guest. */
#define HOLD_TIMEOUT_NS 2000000000ull

struct gmem_window {
	pthread_mutex_t lock;
	int fd;
	uint64_t pages;
	uint32_t refs[];              /* dom0 maps per frame; > 0 = the page is in the window */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned started_vcpus(struct domain *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->max_vcpus && i < KXEN_PV_MAX_VCPUS; i++)
		n += d->vcpu[i] && d->vcpu[i]->thread_started;
	return n;
}

static void kick_started(struct domain *d)
{
	for (unsigned i = 0; i < d->max_vcpus && i < KXEN_PV_MAX_VCPUS; i++)
		if (d->vcpu[i] && d->vcpu[i]->thread_started)
			vcpu_kick(d->vcpu[i]);
}

int gmem_hold(struct domain *d)
{
	struct guest_mem *m = &d->mem;
	uint64_t deadline = mono_ns() + HOLD_TIMEOUT_NS;
	unsigned n = started_vcpus(d);

	/* Nested: the outer holder already waited for every thread. */
	if (atomic_fetch_add(&m->hold, 1) > 0)
		return 0;
	while ((unsigned)atomic_load(&m->parked) < n && !atomic_load(&d->dying)) {
		/* Every round: a thread woken by another kick may have gone back to sleep in vcpu_wait before it saw the hold. */
		kick_started(d);
		if (mono_ns() > deadline) {
			hvlog("(XEN) dom%u: %d of %u vCPUs stopped for a grant-window move in 2 s; giving up",
			      d->domid, atomic_load(&m->parked), n);
			gmem_release(d);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
	}
	return 0;
}

void gmem_release(struct domain *d)
{
	if (atomic_fetch_sub(&d->mem.hold, 1) == 1)
		kick_started(d);
}

bool gmem_park(struct vcpu *v)
{
	struct guest_mem *m = &v->d->mem;
	sigset_t set;

	if (!atomic_load(&m->hold))
		return false;
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	atomic_fetch_add(&m->parked, 1);
	/* SIG_KICK is blocked outside KVM_RUN: a release between the check and the wait stays pending. */
	while (atomic_load(&m->hold) && !atomic_load(&v->d->dying))
		sigwaitinfo(&set, NULL);
	atomic_fetch_sub(&m->parked, 1);
	return true;
}

/* The calling thread's batch: domains held until gmem_batch_end, each with a reference. */
#define BATCH_DOMAINS 8
static __thread struct {
	bool on;
	unsigned n;
	struct domain *d[BATCH_DOMAINS];
} batch;

void gmem_batch_begin(void)
{
	batch.on = true;
}

void gmem_batch_end(void)
{
	for (unsigned i = 0; i < batch.n; i++) {
		gmem_release(batch.d[i]);
		domain_put(batch.d[i]);
	}
	batch.n = 0;
	batch.on = false;
}

/* Holds d for one move: 1 if the caller releases it after, 0 if the batch does, or -errno. */
static int move_hold(struct domain *d)
{
	int rc;

	for (unsigned i = 0; batch.on && i < batch.n; i++)
		if (batch.d[i] == d)
			return 0;
	if ((rc = gmem_hold(d)) < 0)
		return rc;
	if (!batch.on || batch.n == BATCH_DOMAINS)
		return 1;
	atomic_fetch_add(&d->refcnt, 1);   /* the caller's reference may go before the batch ends */
	batch.d[batch.n++] = d;
	return 0;
}

static void move_release(struct domain *d, int held)
{
	if (held > 0)
		gmem_release(d);
}

/* d's window, created on first use (d->lock orders the creation); NULL with errno set. */
static struct gmem_window *window(struct domain *d)
{
	struct guest_mem *m = &d->mem;
	struct gmem_window *w = atomic_load(&m->win);
	uint64_t pages = m->size / KXEN_PAGE_SIZE;

	if (w)
		return w;
	pthread_mutex_lock(&d->lock);
	if (!(w = atomic_load(&m->win)) && (w = calloc(1, sizeof(*w) + pages * sizeof(w->refs[0])))) {
		w->pages = pages;
		w->fd = memfd_create("kxen-grant-window", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		/* Sealed size: a backend that could shrink it would make kxen-hv's and KVM's view of a page SIGBUS. */
		if (w->fd < 0 || ftruncate(w->fd, (off_t)m->size) < 0 ||
		    fcntl(w->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
			int e = errno;
			if (w->fd >= 0)
				close(w->fd);
			free(w);
			w = NULL;
			errno = e;
		} else {
			pthread_mutex_init(&w->lock, NULL);
			atomic_store(&m->win, w);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return w;
}

/* Copies the page at off from its current mapping into fd and maps fd's page there; 0 or -errno. */
static int move_page(struct guest_mem *m, int fd, uint64_t off)
{
	if (pwrite(fd, m->base + off, KXEN_PAGE_SIZE, (off_t)off) != (ssize_t)KXEN_PAGE_SIZE)
		return errno ? -errno : -EIO;
	/* KVM follows kxen-hv's mapping: the MMU notifier drops its old translation (docs/grant-tables.md, the probe). */
	if (mmap(m->base + off, KXEN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
	         (off_t)off) == MAP_FAILED)
		return -errno;
	return 0;
}

static bool shared_otherwise(struct domain *d, uint64_t gfn)
{
	if (d->shared && d->shared_gpa == gfn * KXEN_PAGE_SIZE)
		return true;
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++)
		if (d->mem.special[i].gfn == gfn)
			return true;
	return false;
}

int gmem_window_get(struct domain *d, uint64_t gfn)
{
	struct guest_mem *m = &d->mem;
	uint64_t off = gfn * KXEN_PAGE_SIZE;
	struct gmem_window *w;
	int rc = 0;

	if (!gmem_frame_ptr(m, off, KXEN_PAGE_SIZE))
		return -EINVAL;
	if (shared_otherwise(d, gfn))
		return -EBUSY;
	if (!(w = window(d)))
		return -errno;
	pthread_mutex_lock(&w->lock);
	if (w->refs[gfn] == UINT32_MAX) {
		rc = -EOVERFLOW;
		goto out;
	}
	if (__atomic_fetch_add(&w->refs[gfn], 1, __ATOMIC_RELEASE))
		goto out;
	int held = move_hold(d);
	rc = held < 0 ? held : move_page(m, w->fd, off);
	move_release(d, held);
	if (rc) {
		__atomic_store_n(&w->refs[gfn], 0, __ATOMIC_RELEASE);
		goto out;
	}
	/* The RAM memfd's copy is stale from now on: give it back. */
	fallocate(m->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, KXEN_PAGE_SIZE);
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void gmem_window_put(struct domain *d, uint64_t gfn)
{
	struct guest_mem *m = &d->mem;
	struct gmem_window *w = atomic_load(&m->win);
	uint64_t off = gfn * KXEN_PAGE_SIZE;
	int rc;

	if (!w || gfn >= w->pages)
		return;
	pthread_mutex_lock(&w->lock);
	/* The count reaches 0 only once the page is home: the balloon reads it without the lock. */
	if (w->refs[gfn] != 1) {
		if (w->refs[gfn])
			__atomic_sub_fetch(&w->refs[gfn], 1, __ATOMIC_RELEASE);
		goto out;
	}
	/* A dying domain's pages go with it: no copy back into memory nobody will run. */
	if (atomic_load(&d->dying)) {
		__atomic_store_n(&w->refs[gfn], 0, __ATOMIC_RELEASE);
		goto out;
	}
	int held = move_hold(d);
	rc = held < 0 ? held : move_page(m, m->memfd, off);
	move_release(d, held);
	if (rc) {
		/* Still the guest's page, in the window with a count nobody holds: it stays there. */
		hvlog("(XEN) dom%u: page %#llx stays in the grant window: %s", d->domid,
		      (unsigned long long)gfn, strerror(-rc));
		goto out;
	}
	/* Nothing of the page stays where a backend's window fd reaches. */
	fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, KXEN_PAGE_SIZE);
	__atomic_store_n(&w->refs[gfn], 0, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&w->lock);
}

int gmem_window_fd(struct domain *d)
{
	struct gmem_window *w = window(d);
	int fd;

	if (!w)
		return -errno;
	fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

bool gmem_window_holds(struct domain *d, uint64_t gfn)
{
	struct gmem_window *w = atomic_load(&d->mem.win);

	/* Without w->lock: its holder may be waiting for this very vCPU thread to park. */
	return w && gfn < w->pages && __atomic_load_n(&w->refs[gfn], __ATOMIC_ACQUIRE) > 0;
}

void gmem_window_sync(struct domain *d)
{
	struct guest_mem *m = &d->mem;
	struct gmem_window *w = atomic_load(&m->win);

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	for (uint64_t gfn = 0; gfn < w->pages; gfn++) {
		uint64_t off = gfn * KXEN_PAGE_SIZE;
		if (w->refs[gfn] &&
		    pwrite(m->memfd, m->base + off, KXEN_PAGE_SIZE, (off_t)off) != (ssize_t)KXEN_PAGE_SIZE)
			hvlog("(XEN) cannot copy granted page %#llx into the RAM memfd: %s",
			      (unsigned long long)gfn, strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
}

void gmem_window_free(struct guest_mem *m)
{
	struct gmem_window *w = atomic_exchange(&m->win, NULL);

	if (!w)
		return;
	close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
