/* libkxctrl: the dom0 client of kxen-hv's control socket; every dom0 program uses it. */
#ifndef KXCTRL_H
#define KXCTRL_H

#include <stddef.h>
#include <stdint.h>
#include <kxen/ctl.h>

struct vcpu_guest_context;   /* <xen/xen.h>; not included here: its macros clash with common names */

/* Every function returns 0 or -errno. Not thread-safe per handle. */
typedef struct kxctrl kxctrl;

/*
 * Connect to kxen-hv. path NULL means $KXEN_HV_SOCKET or KXCTL_DEFAULT_SOCKET.
 * On failure *out is NULL and the return says why (-ENOENT/-ECONNREFUSED: the
 * daemon is not running; -EACCES: not root).
 */
int kxctrl_open(const char *path, kxctrl **out);
void kxctrl_close(kxctrl *h);
/* The socket path this handle used or tried, for error messages. */
const char *kxctrl_socket_path(const char *path);

/* Creates a paused domain with zeroed RAM; *memfd (caller closes) maps it. */
int kxctrl_domain_create(kxctrl *h, const struct kxctl_domain_create *cfg,
                         uint32_t *domid, int *memfd);
int kxctrl_domain_set_boot(kxctrl *h, const struct kxctl_set_boot *boot);
int kxctrl_domain_destroy(kxctrl *h, uint32_t domid);
int kxctrl_domain_pause(kxctrl *h, uint32_t domid);
int kxctrl_domain_unpause(kxctrl *h, uint32_t domid);
/* reason: SHUTDOWN_poweroff/reboot/suspend/crash from <xen/sched.h>. */
int kxctrl_domain_shutdown(kxctrl *h, uint32_t domid, unsigned reason);
int kxctrl_domain_rename(kxctrl *h, uint32_t domid, const char *name);
int kxctrl_domain_info(kxctrl *h, uint32_t domid, struct kxctl_dominfo *info);
/* All domains, sorted by domid; *out is malloc'd (caller frees). */
int kxctrl_domain_list(kxctrl *h, struct kxctl_dominfo **out, unsigned *count);
/* Looks a domain up by name or decimal id. -ESRCH when there is none. */
int kxctrl_domain_lookup(kxctrl *h, const char *name_or_id, uint32_t *domid);
int kxctrl_vcpu_info(kxctrl *h, uint32_t domid, struct kxctl_vcpuinfo *out,
                     unsigned max, unsigned *count);
/*
 * The domain's whole RAM as a memfd (caller closes) and its size; only for
 * a paused, shut-down or crashed domain (-EBUSY otherwise): dump-core's op.
 */
int kxctrl_map_memory(kxctrl *h, uint32_t domid, int *memfd, uint64_t *size);
/*
 * One of the domain's special pages (role KXCTL_PAGE_STORE or
 * KXCTL_PAGE_CONSOLE) as a sealed one-page memfd in *fd (mmap 4096 bytes at
 * offset 0; caller closes) and the guest frame it is at in *gfn.
 */
int kxctrl_map_special_page(kxctrl *h, uint32_t domid, unsigned role, int *fd, uint64_t *gfn);
/* A port in domid, unbound, that remote_domid may bind. */
int kxctrl_evtchn_alloc_unbound(kxctrl *h, uint32_t domid, uint32_t remote_domid,
                                uint32_t *port);
/*
 * Binds a new dom0 port to (remote_domid, remote_port). The guest's sends
 * make *notify_fd readable (an eventfd: read 8 bytes to consume); writing an
 * 8-byte count to *kick_fd sends to the guest. Both closed by the caller;
 * the port is closed by kxctrl_evtchn_close or when the handle closes.
 */
int kxctrl_evtchn_bind_interdomain(kxctrl *h, uint32_t remote_domid,
                                   uint32_t remote_port, uint32_t *local_port,
                                   int *notify_fd, int *kick_fd);
int kxctrl_evtchn_close(kxctrl *h, uint32_t port);
/*
 * Reads hypervisor log text from *cursor (0: the oldest kept) into buf,
 * NUL-terminated; advances *cursor. *lost counts bytes overwritten before
 * they could be read.
 */
int kxctrl_log_read(kxctrl *h, uint64_t *cursor, char *buf, size_t len,
                    size_t *got, uint64_t *lost);
int kxctrl_host_info(kxctrl *h, struct kxctl_host_info *info);
/*
 * One raw request/reply of op (for ops with their own wrappers elsewhere,
 * e.g. kxctrl_gnttab.c): the reply body (at most rep_len bytes) goes to rep,
 * its full length to *got; nfds descriptors are expected into fds.
 */
int kxctrl_call(kxctrl *h, uint32_t op, const void *req, size_t req_len, void *rep,
                size_t rep_len, size_t *got, int *fds, unsigned nfds);
/*
 * Subscribes this handle to domain-state changes (Xen's VIRQ_DOM_EXC,
 * broadened): *fd is a non-blocking eventfd that becomes readable whenever a
 * domain is created, shuts down, crashes or is destroyed; read 8 bytes to
 * reset it, then list domains to see what changed. The subscription lasts
 * while the handle is open; asking again returns another copy of the same
 * eventfd. The caller closes *fd.
 */
int kxctrl_domain_events_fd(kxctrl *h, int *fd);
/* Registers of vCPU vcpu of a paused, shut-down or crashed domain (-EBUSY if it runs). */
int kxctrl_vcpu_context(kxctrl *h, uint32_t domid, uint32_t vcpu, struct vcpu_guest_context *ctx);
/* Pins vCPU vcpu (KXCTL_VCPU_ALL: all) of domid to the host CPUs in cpumap (KXCTL_CPUMAP_BITS bits). */
int kxctrl_vcpu_affinity(kxctrl *h, uint32_t domid, uint32_t vcpu, const uint64_t *cpumap);
/*
 * Sets what flags (KXCTL_SCHED_SET_*) name of weight and cap, and fills
 * out with what is in force (with flags 0 it only reads). -EOPNOTSUPP when
 * kxen-hv has no cgroup to apply them: a read then says why in out->why.
 */
int kxctrl_sched_credit(kxctrl *h, uint32_t domid, uint32_t flags, uint32_t weight, uint32_t cap,
                        struct kxctl_sched_credit_reply *out);
/* The vCPUs domid's guest may bring up: bit N = vCPU N (vCPU 0 always may). */
int kxctrl_vcpu_avail(kxctrl *h, uint32_t domid, uint64_t mask);

#endif
