/* kxen-hv's control-thread epoll loop: fd registrations with callbacks, safe against removal mid-batch. */
#ifndef KXEN_HV_LOOP_H
#define KXEN_HV_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The design of kxen-backd's pv-drivers/back/loop.c (which a shared dom0
 * library will take over): an epoll event carries a registration, never
 * the object behind it. hvloop_del() marks the registration dead and frees
 * it only after the current batch, so a later event of the same batch for
 * an fd that an earlier callback closed (a connection that hung up with
 * its ports, a port closed by a request) is skipped instead of followed
 * into freed memory.
 */

struct hvloop;
struct hvloop_reg;

/* Called with the epoll events of one ready fd. */
typedef void (*hvloop_fn)(struct hvloop *l, struct hvloop_reg *r, uint32_t events, void *arg);

/* Creates an empty loop; NULL with errno set on failure. */
struct hvloop *hvloop_new(void);
/* Frees the loop and every registration still in it (their fds stay open). */
void hvloop_free(struct hvloop *l);
/*
 * Watches fd for events (EPOLLIN, ...) and calls fn(l, reg, events, arg).
 * Returns the registration, or NULL with errno set. The caller keeps
 * ownership of fd: hvloop_del() it before closing it.
 */
struct hvloop_reg *hvloop_add(struct hvloop *l, int fd, uint32_t events, hvloop_fn fn, void *arg);
/* Stops watching r's fd; r is freed after the current batch. NULL is a no-op. */
void hvloop_del(struct hvloop *l, struct hvloop_reg *r);
/* The fd r watches. */
int hvloop_fd(const struct hvloop_reg *r);
/*
 * Waits and dispatches until hvloop_quit() or an epoll error; returns 0
 * or -errno. max_batch bounds the events taken per epoll_wait (at most 64).
 */
int hvloop_run(struct hvloop *l, int max_batch);
/* Makes hvloop_run return after the current callback; the rest of the batch is dropped. */
void hvloop_quit(struct hvloop *l);

#endif
