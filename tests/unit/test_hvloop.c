/* CUnit suite for kxen-hv's control loop: a callback that removes later registrations of its batch. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cunit_run.h"
#include "loop.h"

struct obj {
	int fd;
	int calls;
	struct hvloop_reg *reg;
	struct obj *victim;   /* removed and freed by this object's callback */
};

static void on_ready(struct hvloop *l, struct hvloop_reg *r, uint32_t events, void *arg)
{
	struct obj *o = arg;
	uint64_t n;

	(void)r;
	(void)events;
	o->calls++;
	if (read(o->fd, &n, sizeof(n)) < 0)
		CU_FAIL("read of a ready eventfd");
	if (o->victim) {
		/*
		 * As ctl.c's conn_free does: unregister and close another object
		 * (and ourselves). The object stays allocated so that a wrong
		 * call is counted even without ASan; the registrations are what
		 * the loop must not follow.
		 */
		hvloop_del(l, o->victim->reg);
		close(o->victim->fd);
		o->victim->fd = -1;
		o->victim->victim = NULL;
		o->victim = NULL;
		hvloop_del(l, o->reg);
		close(o->fd);
		o->fd = -1;
	}
}

static void on_quit(struct hvloop *l, struct hvloop_reg *r, uint32_t events, void *arg)
{
	(void)r;
	(void)events;
	(void)arg;
	hvloop_quit(l);
}

static void on_quit_later(struct hvloop *l, struct hvloop_reg *r, uint32_t events, void *arg)
{
	(void)l;
	(void)r;
	(void)events;
	(*(int *)arg)++;
}

static struct obj *obj_new(struct hvloop *l, hvloop_fn fn)
{
	struct obj *o = calloc(1, sizeof(*o));
	uint64_t one = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	o->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CU_ASSERT_FATAL(o->fd >= 0);
	o->reg = hvloop_add(l, o->fd, EPOLLIN, fn, o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o->reg);
	CU_ASSERT_EQUAL(write(o->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	return o;
}

/* Both fds are ready in one batch; whichever runs first frees the other, which must then not run. */
static void test_removed_mid_batch(void)
{
	struct hvloop *l = hvloop_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct obj *a = obj_new(l, on_ready);
	struct obj *b = obj_new(l, on_ready);
	struct obj *q = obj_new(l, on_quit);   /* readied last: ends the run after the batch */
	a->victim = b;
	b->victim = a;
	CU_ASSERT_EQUAL(hvloop_run(l, 64), 0);
	/* Both were ready in the batch; the first one's callback removed the other, which must not run. */
	CU_ASSERT_EQUAL(a->calls + b->calls, 1);
	CU_ASSERT(a->fd < 0 && b->fd < 0);
	free(a);
	free(b);
	close(q->fd);
	free(q);
	hvloop_free(l);
}

/* A registration removed and re-added for the same fd number in one batch gets only its own events. */
static void test_add_after_del(void)
{
	struct hvloop *l = hvloop_new();
	int calls = 0;
	uint64_t one = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct hvloop_reg *r = hvloop_add(l, fd, EPOLLIN, on_quit_later, &calls);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	hvloop_del(l, r);
	hvloop_del(l, r);   /* twice is harmless */
	r = hvloop_add(l, fd, EPOLLIN, on_quit_later, &calls);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(hvloop_fd(r), fd);
	CU_ASSERT_EQUAL(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	struct obj *q = obj_new(l, on_quit);
	CU_ASSERT_EQUAL(hvloop_run(l, 64), 0);
	CU_ASSERT(calls <= 1);
	close(fd);
	close(q->fd);
	free(q);
	hvloop_free(l);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "a callback removes a later registration of its batch", test_removed_mid_batch },
		{ "del then add for the same fd", test_add_after_del },
	};

	return cunit_run("hvloop", tests, CUNIT_COUNT(tests), NULL, NULL);
}
