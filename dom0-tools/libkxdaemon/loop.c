/* The dom0 daemons' epoll loop: one callback per fd, safe against removal and frees in the middle of a batch. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kxen/kxd.h"

#define BATCH 64

struct kxd_reg {
	int fd;
	bool dead;
	kxd_fd_fn fn;
	void *arg;
	struct kxd_reg *next;           /* in the graveyard */
};

struct kxd_deferred {
	void (*fn)(void *);
	void *p;
	struct kxd_deferred *next;
};

int kxd_loop_init(struct kxd_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static struct kxd_reg *lookup(struct kxd_loop *l, int fd)
{
	return fd >= 0 && (unsigned)fd < l->nbyfd ? l->byfd[fd] : NULL;
}

/* Frees what the batch deleted or deferred: nothing of it can be named any more. */
static void end_batch(struct kxd_loop *l)
{
	while (l->graveyard) {
		struct kxd_reg *r = l->graveyard;

		l->graveyard = r->next;
		free(r);
	}
	while (l->deferred) {
		struct kxd_deferred *d = l->deferred;

		l->deferred = d->next;
		d->fn(d->p);
		free(d);
	}
}

void kxd_loop_fini(struct kxd_loop *l)
{
	if (l->sigfd >= 0) {
		kxd_loop_del(l, l->sigfd);
		close(l->sigfd);
	}
	for (unsigned i = 0; i < l->nbyfd; i++)
		free(l->byfd[i]);
	free(l->byfd);
	end_batch(l);
	if (l->epfd >= 0)
		close(l->epfd);
	l->byfd = NULL;
	l->nbyfd = 0;
	l->epfd = l->sigfd = -1;
}

int kxd_loop_add(struct kxd_loop *l, int fd, uint32_t ev, kxd_fd_fn fn, void *arg)
{
	struct epoll_event e = { .events = ev };
	struct kxd_reg *r;

	if (fd < 0)
		return -EBADF;
	if (lookup(l, fd))
		return -EEXIST;
	if ((unsigned)fd >= l->nbyfd) {
		unsigned n = l->nbyfd ? l->nbyfd : 64;
		struct kxd_reg **t;

		while (n <= (unsigned)fd)
			n *= 2;
		if (!(t = realloc(l->byfd, n * sizeof(*t))))
			return -ENOMEM;
		memset(t + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*t));
		l->byfd = t;
		l->nbyfd = n;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	*r = (struct kxd_reg){ .fd = fd, .fn = fn, .arg = arg };
	e.data.ptr = r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int rc = -errno;

		free(r);
		return rc;
	}
	l->byfd[fd] = r;
	return 0;
}

int kxd_loop_mod(struct kxd_loop *l, int fd, uint32_t ev)
{
	struct kxd_reg *r = lookup(l, fd);
	struct epoll_event e = { .events = ev };

	if (!r)
		return -ENOENT;
	e.data.ptr = r;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

void kxd_loop_del(struct kxd_loop *l, int fd)
{
	struct kxd_reg *r = lookup(l, fd);

	if (!r)
		return;
	l->byfd[fd] = NULL;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Later events of this batch may still point at r. */
	r->dead = true;
	r->next = l->graveyard;
	l->graveyard = r;
}

int kxd_loop_defer(struct kxd_loop *l, void (*fn)(void *), void *p)
{
	struct kxd_deferred *d = malloc(sizeof(*d));

	if (!d) {
		fn(p);
		return -ENOMEM;
	}
	*d = (struct kxd_deferred){ .fn = fn, .p = p, .next = l->deferred };
	l->deferred = d;
	return 0;
}

static void on_signal(struct kxd_loop *l, int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;

	(void)ev;
	(void)arg;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		int rc = kxd_log_reopen();

		if (rc)
			kxd_log("SIGHUP: cannot reopen %s: %s", kxd_log_path(), strerror(-rc));
		if (l->on_hup)
			l->on_hup(l, l->hup_arg);
		kxd_log("SIGHUP: log files reopened");
		return;
	}
	kxd_log("signal %u: exiting", si.ssi_signo);
	l->quit = true;
}

int kxd_loop_signals(struct kxd_loop *l, void (*on_hup)(struct kxd_loop *l, void *arg), void *arg)
{
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	l->on_hup = on_hup;
	l->hup_arg = arg;
	l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sigfd < 0)
		return -errno;
	if ((rc = kxd_loop_add(l, l->sigfd, EPOLLIN, on_signal, NULL))) {
		close(l->sigfd);
		l->sigfd = -1;
	}
	return rc;
}

void kxd_loop_on_batch_end(struct kxd_loop *l, void (*fn)(struct kxd_loop *l, void *arg), void *arg)
{
	l->on_batch_end = fn;
	l->batch_arg = arg;
}

int kxd_loop_run(struct kxd_loop *l)
{
	struct epoll_event ev[BATCH];

	while (!l->quit) {
		int n = epoll_wait(l->epfd, ev, BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->quit; i++) {
			struct kxd_reg *r = ev[i].data.ptr;

			if (!r->dead)
				r->fn(l, r->fd, ev[i].events, r->arg);
		}
		if (l->on_batch_end)
			l->on_batch_end(l, l->batch_arg);
		end_batch(l);
	}
	return 0;
}
