/* kxen-backd's single epoll loop: fd registrations with callbacks, safe against removal mid-batch. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include "backd.h"

struct reg {
	int fd;
	bool dead;
	backd_fd_fn fn;
	void *arg;
	struct reg *next;          /* all registrations, to find one by fd */
};

static struct reg *regs;
/* Removed during a batch: freed only after it, since later events of the batch may still point at them. */
static struct reg *graveyard;

int backd_fd_add(struct backd *bd, int fd, uint32_t ev, backd_fd_fn fn, void *arg)
{
	struct reg *r = calloc(1, sizeof(*r));
	struct epoll_event e = { .events = ev };

	if (!r)
		return -ENOMEM;
	*r = (struct reg){ .fd = fd, .fn = fn, .arg = arg, .next = regs };
	e.data.ptr = r;
	if (epoll_ctl(bd->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int rc = -errno;

		free(r);
		return rc;
	}
	regs = r;
	return 0;
}

static struct reg *find(int fd)
{
	for (struct reg *r = regs; r; r = r->next)
		if (r->fd == fd)
			return r;
	return NULL;
}

int backd_fd_mod(struct backd *bd, int fd, uint32_t ev)
{
	struct reg *r = find(fd);
	struct epoll_event e = { .events = ev };

	if (!r)
		return -ENOENT;
	e.data.ptr = r;
	return epoll_ctl(bd->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

void backd_fd_del(struct backd *bd, int fd)
{
	struct reg **pp;

	for (pp = &regs; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct reg *r = *pp;

			*pp = r->next;
			epoll_ctl(bd->epfd, EPOLL_CTL_DEL, fd, NULL);
			r->dead = true;
			r->next = graveyard;
			graveyard = r;
			return;
		}
	}
}

int backd_loop_run(struct backd *bd)
{
	struct epoll_event ev[32];

	while (!bd->quit) {
		int n = epoll_wait(bd->epfd, ev, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !bd->quit; i++) {
			struct reg *r = ev[i].data.ptr;

			if (!r->dead)
				r->fn(bd, r->fd, ev[i].events, r->arg);
		}
		while (graveyard) {
			struct reg *r = graveyard;

			graveyard = r->next;
			free(r);
		}
	}
	return 0;
}
