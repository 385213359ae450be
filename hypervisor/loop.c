/* kxen-hv's control-thread epoll loop: registrations freed only after the batch that removed them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

struct hvloop_reg {
	int fd;
	bool dead;
	hvloop_fn fn;
	void *arg;
	struct hvloop_reg *next;   /* live list, then the graveyard */
	struct hvloop_reg **pprev; /* what points at us in the live list: O(1) removal */
};

struct hvloop {
	int epfd;
	bool quit;
	struct hvloop_reg *regs;
	/* Removed during a batch: later events of the batch may still point at them. */
	struct hvloop_reg *graveyard;
};

struct hvloop *hvloop_new(void)
{
	struct hvloop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void free_list(struct hvloop_reg *r)
{
	while (r) {
		struct hvloop_reg *next = r->next;
		free(r);
		r = next;
	}
}

void hvloop_free(struct hvloop *l)
{
	if (!l)
		return;
	free_list(l->regs);
	free_list(l->graveyard);
	close(l->epfd);
	free(l);
}

struct hvloop_reg *hvloop_add(struct hvloop *l, int fd, uint32_t events, hvloop_fn fn, void *arg)
{
	struct hvloop_reg *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = events };

	if (!r)
		return NULL;
	*r = (struct hvloop_reg){ .fd = fd, .fn = fn, .arg = arg };
	ev.data.ptr = r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(r);
		errno = e;
		return NULL;
	}
	r->next = l->regs;
	if (r->next)
		r->next->pprev = &r->next;
	r->pprev = &l->regs;
	l->regs = r;
	return r;
}

void hvloop_del(struct hvloop *l, struct hvloop_reg *r)
{
	if (!r || r->dead)
		return;
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, r->fd, NULL);
	r->dead = true;
	r->next = l->graveyard;
	l->graveyard = r;
}

int hvloop_fd(const struct hvloop_reg *r)
{
	return r->fd;
}

void hvloop_quit(struct hvloop *l)
{
	l->quit = true;
}

int hvloop_run(struct hvloop *l, int max_batch)
{
	struct epoll_event ev[64];
	int rc = 0;

	if (max_batch < 1 || max_batch > 64)
		max_batch = 64;
	while (!l->quit) {
		int n = epoll_wait(l->epfd, ev, max_batch, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (int i = 0; i < n && !l->quit; i++) {
			struct hvloop_reg *r = ev[i].data.ptr;
			if (!r->dead)
				r->fn(l, r, ev[i].events, r->arg);
		}
		free_list(l->graveyard);
		l->graveyard = NULL;
	}
	return rc;
}
