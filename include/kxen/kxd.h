/* libkxdaemon: what every dom0 daemon shares: the epoll loop, the log, daemonising, the run directory, device statistics, dropping root and seccomp filters. */
#ifndef KXEN_KXD_H
#define KXEN_KXD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Names are kxd_FILE_verb (dom0-tools/libkxdaemon/FILE.c); every function
 * returning int returns 0 or -errno.
 */

/* ---- loop.c: one epoll loop per daemon, callbacks per fd, frees deferred to the end of a batch ---- */

struct kxd_loop;
/* Called when fd has events (EPOLLIN etc. in ev). */
typedef void (*kxd_fd_fn)(struct kxd_loop *l, int fd, uint32_t ev, void *arg);

struct kxd_reg;
struct kxd_deferred;
struct kxd_loop {
	int epfd;
	bool quit;                       /* set by anyone: kxd_loop_run returns after this event */
	struct kxd_reg **byfd;           /* registration of each fd, indexed by fd */
	unsigned nbyfd;
	struct kxd_reg *graveyard;       /* deleted during a batch: freed after it */
	struct kxd_deferred *deferred;   /* kxd_loop_defer'd frees, run after the batch */
	int sigfd;
	void (*on_hup)(struct kxd_loop *l, void *arg);
	void *hup_arg;
	void (*on_batch_end)(struct kxd_loop *l, void *arg);
	void *batch_arg;
};

/* Creates the epoll instance. Call it in the process that will run the loop (after kxd_daemon_start). */
int kxd_loop_init(struct kxd_loop *l);
/* Closes the signalfd and the epoll fd and frees every registration; fds added stay the caller's to close. */
void kxd_loop_fini(struct kxd_loop *l);
/* Watches fd for ev, calling fn(l, fd, ev, arg). -EEXIST if fd is already watched. */
int kxd_loop_add(struct kxd_loop *l, int fd, uint32_t ev, kxd_fd_fn fn, void *arg);
/* Changes the events watched on an added fd; -ENOENT if it is not. */
int kxd_loop_mod(struct kxd_loop *l, int fd, uint32_t ev);
/* Stops watching fd, before the caller closes it; later events of the current batch for it are dropped. */
void kxd_loop_del(struct kxd_loop *l, int fd);
/*
 * Calls fn(p) after the current batch of events (or in kxd_loop_fini): for
 * objects that later events of the batch, or callers up the stack, may
 * still name. Returns -ENOMEM (having called fn at once) only if it
 * cannot queue.
 */
int kxd_loop_defer(struct kxd_loop *l, void (*fn)(void *), void *p);
/*
 * SIGTERM and SIGINT end the loop (logged), SIGHUP calls on_hup (may be
 * NULL), SIGPIPE is ignored; through a signalfd, so no handler runs
 * between a callback's steps. Call it after kxd_daemon_start: epoll reports
 * a signalfd only to the process that added it.
 */
int kxd_loop_signals(struct kxd_loop *l, void (*on_hup)(struct kxd_loop *l, void *arg), void *arg);
/*
 * Calls fn(l, arg) after each batch of events, before the batch's deferred
 * frees: for work that one pass should do for the whole batch (kxenstored
 * commits its store and sends replies there). fn NULL: none.
 */
void kxd_loop_on_batch_end(struct kxd_loop *l, void (*fn)(struct kxd_loop *l, void *arg), void *arg);
/* Runs until l->quit; -errno only when epoll itself fails. */
int kxd_loop_run(struct kxd_loop *l);

/* ---- log.c: "YYYY-MM-DD HH:MM:SS.mmm NAME: message" lines, to a file or standard error ---- */

/* Names the daemon in every line (a static string). */
void kxd_log_init(const char *name);
/* Appends further lines to path (created 0640); NULL: standard error. Remembered for kxd_log_reopen. */
int kxd_log_open(const char *path);
/* Reopens the file kxd_log_open named (SIGHUP after logrotate); 0 when logging to stderr. */
int kxd_log_reopen(void);
/* The log's fd (standard error's when no file is open): kxd_daemon_ready points stderr at it. */
int kxd_log_fd(void);
/* The file kxd_log_open named, or NULL. */
const char *kxd_log_path(void);
void kxd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kxd_vlog(const char *fmt, va_list ap);

/* ---- daemon.c: detaching, with the starter waiting until the daemon is ready ---- */

/*
 * Detaches as a daemon: double fork and setsid. The calling process waits
 * and exits 0 once the daemon calls kxd_daemon_ready, or 1 if the daemon
 * exits before that (its errors reach the starter's standard error, which
 * it keeps until ready). Returns 0 in the daemon. Call it before creating
 * any thread, signalfd or library handle with threads (libxenstore's
 * watches have one): fork keeps only the calling thread.
 */
int kxd_daemon_start(void);
/*
 * In the daemon: writes pidfile (if not NULL) with our pid, tells the
 * starter to exit 0, and points standard input at /dev/null and standard
 * output and error at the log (kxd_log_fd), never at the starter's
 * terminal. A no-op apart from the pidfile outside kxd_daemon_start.
 */
int kxd_daemon_ready(const char *pidfile);
/* Writes only the pid file (then kxd_daemon_ready(NULL)): a daemon that drops root writes it first. */
int kxd_daemon_pidfile(const char *pidfile);
/* Removes the pidfile kxd_daemon_ready or kxd_daemon_pidfile wrote (at exit). */
void kxd_daemon_stop(void);
/* The log file a daemon uses without -l: /var/log/kxen/NAME.log (its directory created); NULL if that fails. */
const char *kxd_daemon_default_log(const char *name);

/* ---- rundir.c: $KXEN_RUN_DIR (tests, benchmarks), else /run/kxen ---- */

#define KXD_RUNDIR_DEFAULT "/run/kxen"

const char *kxd_rundir(void);
/* buf = RUNDIR/sub, made with its parents (0755). -ENAMETOOLONG if it does not fit. */
int kxd_rundir_mkdir(const char *sub, char *buf, size_t len);
/* buf = RUNDIR/NAME.pid (RUNDIR made if needed), where a daemon started with kxd_daemon_start records its pid. */
int kxd_rundir_pidfile(const char *name, char *buf, size_t len);

/* ---- devstats.c: per-device counter files, RUNDIR/KIND/DOMID-DEVID, one "name value" per line ---- */

#define KXD_DEVSTATS_MAX 16

/* One kind of device and the names of its counters, in the order of the value arrays. */
struct kxd_devkind {
	const char *dir;                 /* under the run directory: "vbd", "vif" */
	unsigned n;
	const char *const *names;
};

enum { KXD_VBD_OO_REQ, KXD_VBD_RD_REQ, KXD_VBD_WR_REQ, KXD_VBD_RD_SECT, KXD_VBD_WR_SECT, KXD_VBD_NR };
/* tx is what the guest sent, rx what it received (xentop's view). */
enum { KXD_VIF_TX_BYTES, KXD_VIF_TX_PKTS, KXD_VIF_TX_ERR, KXD_VIF_TX_DROP,
       KXD_VIF_RX_BYTES, KXD_VIF_RX_PKTS, KXD_VIF_RX_ERR, KXD_VIF_RX_DROP, KXD_VIF_NR };
extern const struct kxd_devkind kxd_devstats_vbd, kxd_devstats_vif;

/*
 * Replaces domid/devid's file atomically (a temporary, then rename) with
 * "created_ns C" (the domain's creation time: tells a new domain from an
 * old one with the same id) and the kind's counters. Makes the kind's
 * directory if needed.
 */
int kxd_devstats_write(const struct kxd_devkind *k, uint32_t domid, uint32_t devid,
                       uint64_t created_ns, const uint64_t *vals);
/* Removes the device's file (it disconnected); 0 if there was none. */
int kxd_devstats_remove(const struct kxd_devkind *k, uint32_t domid, uint32_t devid);
/*
 * Parses one file's text: created_ns and every counter of the kind, once
 * each, strict decimal, in any order; unknown names are skipped (a newer
 * writer). -EINVAL for anything else.
 */
int kxd_devstats_parse(const struct kxd_devkind *k, const char *text, uint64_t *created_ns, uint64_t *vals);
/*
 * Calls fn for each device of domid whose file parses and whose created_ns
 * matches (0 on either side matches anything); skips temporaries and other
 * domains' files. Never blocks beyond local reads; a missing directory is
 * no devices. Returns the number of devices reported.
 */
int kxd_devstats_scan(const struct kxd_devkind *k, uint32_t domid, uint64_t created_ns,
                      void (*fn)(uint32_t devid, const uint64_t *vals, void *arg), void *arg);

/* ---- privs.c: dropping root after opening what needs it ---- */

/*
 * Becomes user (its uid, primary and supplementary groups, all three ids
 * of each), keeping only the capabilities in keep (CAP_NET_ADMIN, ...).
 * Call it before any filter that forbids setresuid; threads follow (glibc
 * changes ids on every thread). -ENOENT for an unknown user; -EPERM if
 * root could still be regained.
 */
int kxd_privs_drop(const char *user, const int *keep, unsigned nkeep);
/*
 * --socket-group NAME of a daemon whose socket grants dom0's powers: the
 * group's gid in *gid, or -ENOENT (no such group; errno's reason aside).
 */
int kxd_socket_group(const char *name, gid_t *gid);
/*
 * Whether the peer of connected socket fd may use it: root, the user this
 * daemon runs as, or (gid != (gid_t)-1) a member of the socket group by its
 * primary group. *owner (if not NULL) says whether it is root or our user,
 * the peers with every power; false on any failure.
 */
bool kxd_peer_allowed(int fd, gid_t gid, bool *owner);

/* ---- seccomp.c: system call filters (libseccomp), one list per daemon and per kind of thread ---- */

/* "off", "log" (the kernel logs what the lists miss: building a list) or unset (kill). */
#define KXD_SECCOMP_ENV "KXEN_SECCOMP"
/* Test hook: "WHAT:CALL" makes the thread installing filter WHAT make CALL once it is in. */
#define KXD_SECCOMP_PROBE_ENV "KXEN_SECCOMP_PROBE"

enum kxd_seccomp_mode { KXD_SECCOMP_KILL, KXD_SECCOMP_LOG, KXD_SECCOMP_OFF };

/*
 * One list entry: the call by name, allowed; with nvals, only when
 * argument arg masked with mask (0: all 32 bits) equals one of vals; with
 * err, not allowed but failing with -err (clone3 gets ENOSYS so glibc
 * falls back to clone, whose flags a filter can see).
 */
struct kxd_scrule {
	const char *name;
	unsigned arg;
	unsigned nvals;
	const uint64_t *vals;
	uint64_t mask;
	int err;
};
#define KXD_SC(n) { .name = #n }
#define KXD_SC_ARG(n, a, v) { .name = #n, .arg = (a), .nvals = sizeof(v) / sizeof((v)[0]), .vals = (v) }
/* Allowed when every bit of flags is set in argument a. */
#define KXD_SC_FLAGS(n, a, flags) \
	{ .name = #n, .arg = (a), .nvals = 1, .vals = (const uint64_t[]){ (flags) }, .mask = (flags) }
#define KXD_SC_ERRNO(n, e) { .name = #n, .err = (e) }
/* The calls any thread of any daemon makes (glibc's internals, the log, the SIGSYS handler's line). */
extern const struct kxd_scrule kxd_seccomp_base[];

/* --no-seccomp: kxd_seccomp_install does nothing. */
void kxd_seccomp_disable(void);
/* Off (--no-seccomp or KXEN_SECCOMP=off), log or kill. */
enum kxd_seccomp_mode kxd_seccomp_mode(void);
/*
 * Allows only the calls of kxd_seccomp_base and rules (ended by a NULL
 * name) from here on; any
 * other logs "seccomp: forbidden system call N (NAME) in thread T" to the
 * log and kills the process with SIGSYS. all_threads: every thread of the
 * process (a daemon's list); else only the calling thread (a stricter list
 * for one kind of thread, stacked on the daemon's). Filters cannot be
 * removed; threads created later inherit the creator's. -EINVAL for a name
 * libseccomp does not know.
 */
int kxd_seccomp_install(const char *what, const struct kxd_scrule *rules, bool all_threads);
/*
 * The calling thread's own list (a vCPU, an I/O thread), stacked on the
 * daemon's; logs and aborts the process if it cannot: such a thread never
 * runs guest work under the daemon's wider list.
 */
void kxd_seccomp_thread(const char *what, const struct kxd_scrule *rules);

#endif
