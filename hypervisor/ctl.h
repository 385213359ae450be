/* The control socket's dispatch interface: one table entry per op, handlers in their subsystems. */
#ifndef KXEN_HV_CTL_H
#define KXEN_HV_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kxen/ctl.h"
#include "gnttab.h"

#define CTL_CONN_MAX_PORTS 1024

struct kxd_loop;
struct domain;

/* One dom0 client of the control socket and what it holds (all released when it goes). */
struct ctl_conn {
	struct kxd_loop *loop;   /* the control loop watching fd and the ports' kick eventfds */
	int fd;
	/*
	 * dom0 ports this client bound, with the kick eventfd the loop watches
	 * for each. kxd_loop knows fds by number, so the kick fd must leave the
	 * loop before it is closed: only ctl.c's conn_close_port closes these
	 * ports (guests closing their side leave ours unbound, fds open).
	 */
	struct ctl_port {
		uint32_t port;
		int kick;
	} ports[CTL_CONN_MAX_PORTS];
	unsigned nr_ports;
	struct ctl_gnttab gnt;   /* grants this client mapped (gnttab.h) */
	bool privileged;         /* root or kxen-hv's own user, not a --socket-group peer: may take a whole RAM */
	int events_fd;           /* KXCTL_DOMAIN_EVENTS subscription, or -1 */
	struct ctl_conn *next, **pprev;   /* all connections, released at shutdown */
};

/*
 * One request as a handler sees it. ctl.c has checked len against the op's
 * size and, for ops that name a domain, looked it up (d holds a reference
 * that ctl.c drops). A handler fills rep (at most rep_max bytes; rlen is
 * discarded on failure) and up to two fds, and returns 0 or -errno, which
 * the client gets as the reply's ret.
 */
struct ctl_req {
	struct ctl_conn *conn;
	const void *p;
	uint32_t len;
	struct domain *d;
	void *rep;
	size_t rep_max, rlen;
	int fds[2];
	int nfds;
	bool own_fds;            /* fds were made for this reply: close them once sent */
};

typedef int (*ctl_handler)(struct ctl_req *r);

enum ctl_size { CTL_ANY, CTL_EXACT, CTL_MIN };
/* CTL_DOMU: the request starts with a struct kxctl_domid naming a live domain other than dom0. */
enum ctl_dom { CTL_NODOM, CTL_DOMU };

struct ctl_op {
	uint32_t op;
	const char *name;
	uint32_t size;
	enum ctl_size size_rule;
	enum ctl_dom dom;
	ctl_handler fn;
};

/*
 * The table entry for op, NULL if unknown (ctl_table.c).
 */
const struct ctl_op *ctl_op_find(uint32_t op);
/*
 * Runs one request: the central size and domain checks, then the handler.
 * Returns 0 or -errno; on failure r->rlen is 0 and fds r->own_fds made are closed.
 */
int ctl_dispatch(const struct ctl_op *op, struct ctl_req *r);

/*
 * Serves the control socket at path on the calling thread until SIGTERM or
 * SIGINT; also reaps shut-down domains and forwards dom0 event sends.
 */
int ctl_serve(const char *path);
/* Called once ctl_serve listens (main: tells a daemon's starter it is ready); may be NULL. */
extern void (*ctl_ready_hook)(void);
/* --socket-group: peers whose primary group this is are accepted too (kxen-backd -u); (gid_t)-1: none. */
extern gid_t ctl_peer_gid;

/* ---- handlers that live with their subsystems ---- */

/*
 * Each is the ctl_handler of the op ctl_table.c pairs it with (its name
 * says which): the contract is struct ctl_req's, and the op's request and
 * reply structs in include/kxen/ctl.h say what goes in and out.
 */
int ctl_hello(struct ctl_req *r);                  /* ctl.c */
int ctl_host_info(struct ctl_req *r);
int ctl_evtchn_bind_interdomain(struct ctl_req *r);
int ctl_evtchn_close(struct ctl_req *r);
int ctl_domain_events(struct ctl_req *r);
int domain_ctl_create(struct ctl_req *r);          /* domain.c */
int domain_ctl_destroy(struct ctl_req *r);
int domain_ctl_pause(struct ctl_req *r);
int domain_ctl_unpause(struct ctl_req *r);
int domain_ctl_shutdown(struct ctl_req *r);
int domain_ctl_rename(struct ctl_req *r);
int domain_ctl_info(struct ctl_req *r);
int domain_ctl_list(struct ctl_req *r);
int domain_ctl_set_boot(struct ctl_req *r);
int vcpu_ctl_info(struct ctl_req *r);              /* vcpu.c */
int vcpu_ctl_context(struct ctl_req *r);
int vcpu_ctl_avail(struct ctl_req *r);
int cpupool_ctl_vcpu_affinity(struct ctl_req *r);    /* cpupool.c */
int cpupool_ctl_credit(struct ctl_req *r);
int gmem_ctl_map_memory(struct ctl_req *r);        /* memory.c */
int gmem_ctl_map_special_page(struct ctl_req *r);
int evtchn_ctl_alloc_unbound(struct ctl_req *r);   /* evtchn.c */
int hvlog_ctl_read(struct ctl_req *r);             /* log.c */
int ctl_gnttab_map(struct ctl_req *r);             /* ctl_gnttab.c */
int ctl_gnttab_unmap(struct ctl_req *r);
int ctl_gnttab_copy(struct ctl_req *r);
int ctl_gnttab_copybuf(struct ctl_req *r);
int ctl_gnttab_memfd(struct ctl_req *r);

#endif
