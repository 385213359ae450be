/* hv.c: reaching guests through kxen-hv: map the store page, bind its event channel, notice dead domains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxen/kxctrl.h"
#include "kxenstored.h"
#include "kxsd_main.h"
#include "persist.h"

#define PAGE 4096u

struct hv_ring {
	struct xs_ring ring;
	struct hv *hv;
	void *page;
	int notify_fd, kick_fd;
	uint32_t local_port;
};

static void on_events(struct kxd_loop *l, int fd, uint32_t ev, void *arg);

static int hv_connect(struct hv *hv)
{
	int rc;

	if (hv->h)
		return 0;
	if ((rc = kxctrl_open(hv->sock, &hv->h)) < 0) {
		hv->h = NULL;
		return rc;
	}
	/* Death notices: without them (older kxen-hv) dead guests linger until RELEASE. */
	if (kxctrl_domain_events_fd(hv->h, &hv->events_fd) < 0) {
		hv->events_fd = -1;
	} else if (kxd_loop_add(hv->loop, hv->events_fd, EPOLLIN, on_events, hv) < 0) {
		close(hv->events_fd);
		hv->events_fd = -1;
	}
	return 0;
}

static void ring_notify(struct xs_ring *r)
{
	struct hv_ring *hr = (struct hv_ring *)r;
	uint64_t one = 1;

	if (write(hr->kick_fd, &one, sizeof(one)) != sizeof(one))
		return;     /* the port is gone: the domain is dying, its release follows */
}

static void ring_release(struct xs_ring *r)
{
	struct hv_ring *hr = (struct hv_ring *)r;

	munmap(hr->page, PAGE);
	close(hr->notify_fd);
	close(hr->kick_fd);
	if (hr->hv->h)
		kxctrl_evtchn_close(hr->hv->h, hr->local_port);
	free(hr);
}

static int hv_attach(struct xs_server *srv, unsigned domid, uint64_t gfn, unsigned port,
                     struct xs_conn **out)
{
	struct hv *hv = srv->domops->arg;
	struct hv_ring *hr = NULL;
	uint64_t page_gfn;
	int memfd = -1, rc;

	if ((rc = hv_connect(hv)) < 0) {
		server__log(srv, "cannot reach kxen-hv at %s: %s", kxctrl_socket_path(hv->sock), strerror(-rc));
		return -EIO;
	}
	/* The store page alone, as Xen gives xenstored nothing else of a guest. */
	if ((rc = kxctrl_map_special_page(hv->h, domid, KXCTL_PAGE_STORE, &memfd, &page_gfn)) < 0)
		return rc == -ESRCH ? -ENOENT : rc;
	if (gfn != page_gfn) {
		server__log(srv, "d%u: store gfn %#llx is not the domain's store page (%#llx)", domid,
		            (unsigned long long)gfn, (unsigned long long)page_gfn);
		rc = -EINVAL;
		goto out;
	}
	if (!(hr = calloc(1, sizeof(*hr)))) {
		rc = -ENOMEM;
		goto out;
	}
	hr->hv = hv;
	hr->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (hr->page == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	rc = kxctrl_evtchn_bind_interdomain(hv->h, domid, port, &hr->local_port, &hr->notify_fd,
	                                    &hr->kick_fd);
	if (rc < 0) {
		munmap(hr->page, PAGE);
		goto out;
	}
	hr->ring.intf = hr->page;
	hr->ring.notify = ring_notify;
	hr->ring.release = ring_release;
	if (!(*out = ring__conn_new(srv, &hr->ring, hr->notify_fd, domid))) {
		ring_release(&hr->ring);
		hr = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = kxd_loop_add(hv->loop, hr->notify_fd, EPOLLIN, hv->on_ring, *out)) < 0) {
		conn__free(*out);   /* releases the ring, hr with it */
		*out = NULL;
		hr = NULL;
		goto out;
	}
	/* The bind leaves the port pending, so the loop serves what the guest already queued. */
	uint64_t one = 1;
	if (write(hr->notify_fd, &one, sizeof(one)) != sizeof(one))
		server__log(srv, "d%u: cannot prime its event fd", domid);
	hr = NULL;
	rc = 0;
out:
	free(hr);
	if (memfd >= 0)
		close(memfd);
	return rc;
}

static int cmp_dom(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = ((const struct kxctl_dominfo *)b)->domid;

	return (x > y) - (x < y);
}

/* After a domain event: releases introduced domains that are gone or dying. */
static void check_domains(struct hv *hv, struct xs_server *srv)
{
	struct kxctl_dominfo *list = NULL;
	unsigned n = 0;
	uint64_t cnt;

	if (hv->events_fd >= 0 && read(hv->events_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	if (!hv->h || kxctrl_domain_list(hv->h, &list, &n) < 0)
		return;
	for (unsigned b = 0; b < XS_DOM_BUCKETS; b++) {
		struct xs_domain *d = srv->domains[b], *next;
		for (; d; d = next) {
			next = d->hnext;
			const struct kxctl_dominfo *i = bsearch(&d->domid, list, n, sizeof(*list), cmp_dom);
			if (!i || (i->flags & KXCTL_DOMF_DYING)) {
				unsigned id = d->domid;
				server__log(srv, "d%u is gone", id);
				domain__release(srv, id);
				domain__forget_home(srv, id);
			} else if ((i->flags & (KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED)) && !d->shutdown) {
				/* Xen tells @releaseDomain watchers about shutdowns as well. */
				d->shutdown = true;
				persist__domain(srv, d->domid);
				watch__fire(srv, "@releaseDomain", true, NULL, 0);
			}
		}
	}
	free(list);
}

static void on_events(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	struct hv *hv = arg;

	check_domains(hv, hv->srv);
	server__flush(hv->srv);
}

/* Xen's xenstored asks the hypervisor too (xc_domain_getinfo) before accepting a domain in a permission. */
static int hv_exists(struct xs_server *srv, unsigned domid)
{
	struct hv *hv = srv->domops->arg;
	struct kxctl_dominfo info;
	int rc;

	if ((rc = hv_connect(hv)) < 0)
		return rc;
	if ((rc = kxctrl_domain_info(hv->h, domid, &info)) < 0)
		return rc == -ESRCH ? 0 : rc;
	return !(info.flags & KXCTL_DOMF_DYING);
}

const struct xs_domain_ops *hv__ops(struct hv *hv)
{
	hv->ops.attach = hv_attach;
	hv->ops.exists = hv_exists;
	hv->ops.arg = hv;
	return &hv->ops;
}

void hv__close(struct hv *hv)
{
	if (hv->events_fd >= 0) {
		kxd_loop_del(hv->loop, hv->events_fd);
		close(hv->events_fd);
	}
	if (hv->h)
		kxctrl_close(hv->h);
	hv->h = NULL;
	hv->events_fd = -1;
}
