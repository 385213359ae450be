/* Event-channel doorbells: one ioeventfd per bound port, kept in step with the binding, and the thread that delivers guest-to-guest sends. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "evtchn.h"
#include "domain.h"
#include "kvm.h"
#include "doorbell.h"

struct db_reg {
	int fd;              /* ours: a dup of dom0's notify eventfd, or our own eventfd */
	bool direct;         /* signals a dom0 backend; the thread never sees it */
	bool armed;          /* KVM has the ioeventfd (doorbell_arm_pending assigned it) */
	uint32_t gen;        /* names this registration in the thread's epoll data */
	domid_t rdom;
	uint32_t rport;
};

struct doorbell {
	struct db_reg *reg[EVTCHN_MAX_PORTS];
	atomic_bool want[EVTCHN_MAX_PORTS];   /* a full-path send asked for this port's arming */
	atomic_uint n_dom0, n_guest;     /* armed ones; read without the lock by doorbell_stats */
	_Atomic uint64_t guest_sends;
};

/*
 * Ports waiting to be armed. Arming is a KVM I/O-bus update with an SRCU
 * grace period (8-9 ms here under load): done at bind time it made every
 * xenstore INTRODUCE and backend connect wait for it, and most ports of a
 * short-lived domain are never sent on. So a port is armed after its first
 * send through the full hypercall, by the doorbell thread, off the vCPU's path.
 */
#define ARM_QUEUE 256
static struct { domid_t domid; uint16_t port; } arm_q[ARM_QUEUE];
static unsigned arm_head, arm_n;
static pthread_mutex_t arm_lock = PTHREAD_MUTEX_INITIALIZER;
static int arm_kick = -1;          /* eventfd in the thread's epoll set, tag 0 */

static const struct doorbell_ops kvm_ops = { .ioeventfd = kvm_ioeventfd };
const struct doorbell_ops *doorbell_ops = &kvm_ops;

static int epfd = -1;
static _Atomic uint32_t next_gen;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static uint64_t tag(domid_t domid, uint32_t port, uint32_t gen)
{
	return (uint64_t)domid << 48 | (uint64_t)port << 32 | gen;
}

/* Reads what KVM counted on a guest doorbell and delivers it, if g's registration is still gen (g->lock held). */
static void deliver_locked(struct domain *g, struct db_reg *r, struct domain *to)
{
	uint64_t n = 0;

	if (read(r->fd, &n, sizeof(n)) != sizeof(n) || n == 0)
		return;
	atomic_fetch_add(&g->db->guest_sends, n);
	if (to && !atomic_load(&to->dying))
		evtchn_set_pending(to, r->rport);
}

static struct db_reg *current_reg(struct domain *g, uint32_t port, uint32_t gen)
{
	struct db_reg *r = g->db && port < EVTCHN_MAX_PORTS ? g->db->reg[port] : NULL;
	return r && !r->direct && r->gen == gen ? r : NULL;
}

/* One wake-up: look the registration up again under the lock, so a rebind in between is never delivered to. */
static void handle(uint64_t t)
{
	domid_t domid = (domid_t)(t >> 48);
	uint32_t port = (uint32_t)(t >> 32) & 0xffff, gen = (uint32_t)t;
	struct domain *g = domain_get(domid), *to = NULL;
	struct db_reg *r;

	if (!g)
		return;   /* dying: evtchn_fini unbinds and drains */
	pthread_mutex_lock(&g->lock);
	r = current_reg(g, port, gen);
	domid_t rdom = r ? r->rdom : 0;
	pthread_mutex_unlock(&g->lock);
	if (!r)
		goto out;
	to = domain_get(rdom);   /* not under g->lock: the table lock comes first */
	pthread_mutex_lock(&g->lock);
	r = current_reg(g, port, gen);
	if (r && r->rdom == rdom)
		deliver_locked(g, r, to);
	pthread_mutex_unlock(&g->lock);
out:
	domain_put(to);
	domain_put(g);
}

/* Arms one queued port if it is still bound, unarmed and its domain alive (g->lock held, as bind/unbind). */
static void arm_one(domid_t domid, uint32_t port)
{
	struct domain *g = domain_get(domid);

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	struct db_reg *r = g->db ? g->db->reg[port] : NULL;
	if (r && !r->armed && !atomic_load(&g->dying) && doorbell_ops->ioeventfd(g, port, r->fd, true) == 0) {
		r->armed = true;
		atomic_fetch_add(r->direct ? &g->db->n_dom0 : &g->db->n_guest, 1);
	}
	/* want stays set on a refusal (KVM's bus full): no retry until the port is bound anew. */
	pthread_mutex_unlock(&g->lock);
	domain_put(g);
}

void doorbell_arm_pending(void)
{
	for (;;) {
		pthread_mutex_lock(&arm_lock);
		if (!arm_n) {
			pthread_mutex_unlock(&arm_lock);
			return;
		}
		domid_t domid = arm_q[arm_head].domid;
		uint32_t port = arm_q[arm_head].port;
		arm_head = (arm_head + 1) % ARM_QUEUE;
		arm_n--;
		pthread_mutex_unlock(&arm_lock);
		arm_one(domid, port);
	}
}

static void *doorbell_thread(void *arg)
{
	struct epoll_event ev[32];

	(void)arg;
	prctl(PR_SET_NAME, "kxen-doorbell");
	for (;;) {
		int n = epoll_wait(epfd, ev, 32, -1);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == 0) {
				uint64_t c;
				if (read(arm_kick, &c, sizeof(c)) < 0 && errno != EAGAIN)
					continue;
				doorbell_arm_pending();
			} else {
				handle(ev[i].data.u64);
			}
		}
	}
	return NULL;
}

static void thread_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	struct epoll_event kev = { .events = EPOLLIN, .data.u64 = 0 };   /* registrations have gen >= 1 */

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return;
	arm_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (arm_kick < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, arm_kick, &kev) < 0) {
		close(epfd);
		epfd = -1;
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, doorbell_thread, NULL) != 0) {
		close(epfd);
		epfd = -1;
		hvlog("(XEN) doorbell: no delivery thread; guest-to-guest sends take the full hypercall");
	}
	pthread_attr_destroy(&attr);
}

/* A guest-to-guest registration's eventfd, watched by the thread (edge-triggered: a dying domain's cannot spin it). */
static int guest_fd(struct domain *g, uint32_t port, uint32_t gen)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = tag((domid_t)g->domid, port, gen) };
	int fd;

	pthread_once(&thread_once, thread_start);
	if (epfd < 0)
		return -ENOSYS;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void reg_drop(struct db_reg *r)
{
	if (!r->direct && epfd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd, NULL);
	close(r->fd);
	free(r);
}

void doorbell_bind(struct domain *g, uint32_t port, struct domain *peer, uint32_t rport,
                   int dom0_notify_fd)
{
	struct db_reg *r = NULL;

	if (g->is_dom0 || peer == g || port == 0 || port >= EVTCHN_MAX_PORTS ||
	    (peer->is_dom0 && dom0_notify_fd < 0))
		return;
	if (!g->db) {
		struct doorbell *db = calloc(1, sizeof(*db));
		if (!db)
			return;
		__atomic_store_n(&g->db, db, __ATOMIC_RELEASE);
	}
	doorbell_unbind(g, port, NULL, 0);
	if (!(r = calloc(1, sizeof(*r))))
		return;
	r->direct = peer->is_dom0;
	r->gen = atomic_fetch_add(&next_gen, 1) + 1;
	r->rdom = (domid_t)peer->domid;
	r->rport = rport;
	r->fd = r->direct ? fcntl(dom0_notify_fd, F_DUPFD_CLOEXEC, 0) : guest_fd(g, port, r->gen);
	if (r->fd < 0) {
		free(r);
		return;
	}
	/* Armed later, after the port's first full-path send (doorbell_want). */
	g->db->reg[port] = r;
	atomic_store(&g->db->want[port], false);
}

void doorbell_init(void)
{
	pthread_once(&thread_once, thread_start);
}

void doorbell_want(struct domain *g, uint32_t port)
{
	struct doorbell *db = __atomic_load_n(&g->db, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	if (!db || port >= EVTCHN_MAX_PORTS || atomic_exchange(&db->want[port], true))
		return;
	pthread_once(&thread_once, thread_start);
	pthread_mutex_lock(&arm_lock);
	if (arm_n == ARM_QUEUE || epfd < 0) {
		atomic_store(&db->want[port], false);   /* full: a later send asks again */
		pthread_mutex_unlock(&arm_lock);
		return;
	}
	arm_q[(arm_head + arm_n++) % ARM_QUEUE].domid = (domid_t)g->domid;
	arm_q[(arm_head + arm_n - 1) % ARM_QUEUE].port = (uint16_t)port;
	pthread_mutex_unlock(&arm_lock);
	if (write(arm_kick, &one, sizeof(one)) < 0)
		hvlog("(XEN) doorbell: cannot wake the arming thread");
}

void doorbell_unbind(struct domain *g, uint32_t port, struct domain *deliver_to, uint32_t rport)
{
	struct db_reg *r = g->db && port < EVTCHN_MAX_PORTS ? g->db->reg[port] : NULL;

	if (!r)
		return;
	g->db->reg[port] = NULL;
	atomic_store(&g->db->want[port], false);
	/*
	 * Each (de)assign is a KVM I/O-bus update with an SRCU grace period
	 * (milliseconds under load). A dying domain's vCPUs have stopped and its
	 * VM goes whole at domain_free, so its own doorbells are left to that.
	 */
	if (r->armed && !atomic_load(&g->dying))
		doorbell_ops->ioeventfd(g, port, r->fd, false);
	if (!r->direct) {
		/* Sends KVM took before the deassign belong to the binding they were made on. */
		r->rport = rport;
		deliver_locked(g, r, deliver_to);
	}
	if (r->armed)
		atomic_fetch_sub(r->direct ? &g->db->n_dom0 : &g->db->n_guest, 1);
	reg_drop(r);
}

void doorbell_free(struct domain *g)
{
	if (!g->db)
		return;
	for (unsigned p = 0; p < EVTCHN_MAX_PORTS; p++)
		if (g->db->reg[p]) {
			/* Only a domain that never reached evtchn_fini (creation failed) can have some. */
			reg_drop(g->db->reg[p]);
		}
	free(g->db);
	g->db = NULL;
}

void doorbell_stats(struct domain *g, struct doorbell_stats *st)
{
	*st = (struct doorbell_stats){
		.sends_hypercall = atomic_load(&g->sends_hypercall),
		.doorbell_misses = atomic_load(&g->doorbell_misses),
	};
	/* No lock: domain_list calls this under the table lock, which handle() takes before g->lock. */
	struct doorbell *db = __atomic_load_n(&g->db, __ATOMIC_ACQUIRE);
	if (db) {
		st->doorbell_guest = atomic_load(&db->guest_sends);
		st->doorbells_dom0 = atomic_load(&db->n_dom0);
		st->doorbells_guest = atomic_load(&db->n_guest);
	}
}
