/* What the kxen-hv harnesses share: guarded fake-domain RAM, the results a guest may get, calls that would sleep. */
#ifndef FUZZ_HV_H
#define FUZZ_HV_H

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz_common.h"
#include "hv_fixture.h"
#include <xen/event_channel.h>
#include <xen/sched.h>

#define FZ_PAGE 4096ull

/*
 * Moves d's RAM (MEM_SIZE, the fixture's) between two PROT_NONE pages: the
 * mapping of the same memfd, so nothing else changes. Returns the
 * reservation for fz_unguard.
 */
static inline uint8_t *fz_guard(struct domain *d)
{
	uint8_t *r = mmap(NULL, MEM_SIZE + 2 * FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FZ_CHECK(r != MAP_FAILED, "guard reservation");
	FZ_CHECK(mmap(r + FZ_PAGE, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, d->mem.memfd, 0) != MAP_FAILED,
		 "guarded RAM");
	munmap(d->mem.base, MEM_SIZE);
	d->mem.base = r + FZ_PAGE;
	d->shared = gmem_ptr(&d->mem, SHARED_GPA, FZ_PAGE);
	return r;
}

/*
 * The process as kxen-hv's vCPU threads see it: SIG_KICK blocked (kicks are
 * waited for, never delivered), the log (on stderr when log_fd is 2) and
 * the domain table.
 */
static inline void fz_hv_init(int log_fd)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	hvlog_init(log_fd);
	FZ_CHECK(domain_table_init() == 0, "domain_table_init");
}

/*
 * The neighbour a harness's guest must not reach: four ports offered to d,
 * and all its RAM but the shared_info page PROT_NONE, so any access of
 * kxen-hv's to the wrong domain's memory faults.
 */
static inline void fz_peer_setup(struct domain *peer, const struct domain *d)
{
	evtchn_port_t port;

	for (unsigned i = 0; i < 4; i++)
		evtchn_alloc_unbound(peer, (domid_t)d->domid, &port);
	mprotect(peer->mem.base, SHARED_GPA, PROT_NONE);
	mprotect(peer->mem.base + SHARED_GPA + FZ_PAGE, MEM_SIZE - SHARED_GPA - FZ_PAGE, PROT_NONE);
}

/* A guest's own stores: up to 255 input bytes at an input-chosen offset of the window [win, win + len). */
static inline void fz_guest_store(struct fz *f, uint8_t *win, uint64_t win_len)
{
	uint8_t buf[256];
	uint64_t off = fz_u16(f) % win_len;
	size_t len = fz_u8(f);

	if (len > win_len - off)
		len = win_len - off;
	fz_bytes(f, buf, len);
	memcpy(win + off, buf, len);
}

/* Drops the guard pages once domain_destroy has unmapped the RAM itself. */
static inline void fz_unguard(uint8_t *r)
{
	munmap(r, FZ_PAGE);
	munmap(r + FZ_PAGE + MEM_SIZE, FZ_PAGE);
}

/* What a guest may legitimately get back. */
static inline bool fz_rc_ok(long rc)
{
	switch (rc) {
	case -ENOSYS: case -EFAULT: case -EINVAL: case -EPERM: case -ENOENT: case -EEXIST:
	case -ENOSPC: case -ESRCH: case -E2BIG: case -ETIME: case -ENOMEM: case -EOPNOTSUPP:
		return true;
	default:
		return rc >= 0;
	}
}

/* Calls that sleep until an event no one will send: a hang, not a finding. */
static inline bool fz_blocks(uint64_t nr, uint64_t a0)
{
	return nr == __HYPERVISOR_sched_op && (a0 == SCHEDOP_block || a0 == SCHEDOP_poll);
}

/* Whether the multicall list at gva (as it is now) holds a sleeping call. */
static inline bool fz_list_blocks(struct domain *d, uint64_t gva, uint64_t n)
{
	for (uint64_t i = 0; i < n && i < 512; i++) {
		multicall_entry_t e;

		if (gmem_read(&d->mem, &e, gva + i * sizeof(e), sizeof(e)) < 0)
			return false;
		if (fz_blocks(e.op, e.args[0]))
			return true;
	}
	return false;
}

/* Interdomain ports agree on both ends; no port of d is in a state Xen does not have. */
static inline void fz_check_ports(struct domain *d, struct domain *peer)
{
	for (evtchn_port_t p = 1; p < 64; p++) {
		evtchn_status_t st = { .dom = DOMID_SELF, .port = p };

		if (evtchn_status(d, &st) < 0)
			continue;
		FZ_CHECK(st.status <= EVTCHNSTAT_ipi, "port %u: status %u", p, st.status);
		if (st.status != EVTCHNSTAT_interdomain || st.u.interdomain.dom != peer->domid)
			continue;
		evtchn_status_t ps = { .dom = DOMID_SELF, .port = st.u.interdomain.port };

		FZ_CHECK(evtchn_status(peer, &ps) == 0 && ps.status == EVTCHNSTAT_interdomain &&
			 ps.u.interdomain.dom == d->domid && ps.u.interdomain.port == p,
			 "port %u bound to d%u port %u, which does not point back", p, peer->domid,
			 st.u.interdomain.port);
	}
}

#endif
