/* A gone domain's console pty stays open until its client has read the last words: closing the master hangs the slave up and drops what it holds. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "backd.h"
#include "cons_linger.h"

#define TICK_MS   50
#define MAX_TICKS 40      /* 2 s: a client that does not read by then never will */

struct linger {
	int master, slave;
	unsigned ticks;
	struct linger *next;
};

static struct {
	struct linger *list;
	int timer;
} lg = { .timer = -1 };

/* Bytes the slave side holds that no client has read yet. */
static bool unread(int slave)
{
	int n = 0;

	return ioctl(slave, FIONREAD, &n) == 0 && n > 0;
}

static void on_tick(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	uint64_t t;

	if (read(fd, &t, sizeof(t)) != sizeof(t))
		return;
	for (struct linger **pp = &lg.list; *pp;) {
		struct linger *l = *pp;

		/* At least one tick: the pty moves written bytes to the slave's queue asynchronously. */
		if (++l->ticks < MAX_TICKS && unread(l->slave)) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		close(l->master);
		close(l->slave);
		free(l);
	}
	if (!lg.list) {
		kxd_loop_del(loop, lg.timer);
		close(lg.timer);
		lg.timer = -1;
	}
}

void cons_linger__close(struct backd *bd, int master, int slave)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L }, .it_value = { 0, TICK_MS * 1000000L } };
	struct linger *l = malloc(sizeof(*l));

	if (l && lg.timer < 0) {
		lg.timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (lg.timer >= 0 && (timerfd_settime(lg.timer, 0, &its, NULL) < 0 ||
		                      kxd_loop_add(&bd->loop, lg.timer, EPOLLIN, on_tick, NULL) < 0)) {
			close(lg.timer);
			lg.timer = -1;
		}
	}
	if (!l || lg.timer < 0) {
		/* Without a timer the words may be lost to a slow client, but nothing leaks. */
		free(l);
		close(master);
		close(slave);
		return;
	}
	*l = (struct linger){ .master = master, .slave = slave, .next = lg.list };
	lg.list = l;
}
