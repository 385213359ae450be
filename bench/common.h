/* Shared benchmark plumbing: a private kxen-hv and kxenstored, /dev/kvm checks, clocks, statistics, log polling. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "kxen/kxctrl.h"

/* Automake's "skipped" status: /dev/kvm is absent or unusable here. */
#define BENCH_SKIP 77

/* The private hypervisor every benchmark starts (never the system's own). */
struct bench_hv {
	pid_t pid;
	char dir[256];          /* private temporary directory */
	char sock[300];         /* control socket inside dir */
	char log[300];          /* log file inside dir */
	char scratch[300];      /* a file a benchmark may write (removed even on a signal) */
	kxctrl *h;
};

extern struct bench_hv bench_hv;

/* Top of the build tree ($KXEN_BUILDDIR overrides the configure-time path). */
const char *bench_builddir(void);
/* builddir/rel into buf (which must hold PATH_MAX bytes). */
const char *bench_path(char *buf, size_t len, const char *rel);

/* Exits BENCH_SKIP with a message unless /dev/kvm can create a VM. */
void bench_require_kvm(const char *prog);
/* Starts kxen-hv from the build tree, connects bench_hv.h; kills it at exit or on a signal. */
void bench_start_hv(const char *prog);
/* Stops kxen-hv now (also done automatically at exit). */
void bench_stop_hv(void);
/*
 * Starts kxenstored from the build tree next to the private kxen-hv and
 * points $XENSTORED_PATH at it (kxl create needs it); stopped at exit.
 * Call after bench_start_hv. Returns its pid.
 */
pid_t bench_start_xenstored(const char *prog);
/* An option replacing kxenstored's private store (-D DIR), e.g. "--no-persist"; NULL: persist. */
extern const char *bench_xs_store_opt;
/* Writes a domain XML for kxl: the hello guest, mib MiB, destroyed at poweroff. */
int bench_write_hello_xml(const char *path, const char *name, unsigned mib);
/* Forks `kxl create [flag] xml` against the private kxen-hv (stdout to /dev/null); its pid or -1. */
pid_t bench_spawn_kxl(const char *kxl, const char *flag, const char *xml);
/*
 * One whole process, timed from the fork to waitpid: path (kxl NULL), or
 * `kxl create -F xml`. Its ms (and *t0, *t1 in bench_now_ns), or -1 after
 * printing prog's message when it did not exit 0.
 */
double bench_whole_run(const char *prog, const char *path, const char *kxl, const char *xml,
                       uint64_t *t0, uint64_t *t1);
/* Keep the private directory (with hv.log) at exit, for a failed run. */
void bench_keep_log(void);

uint64_t bench_now_ns(void);
/* CPU time of all of pid's threads in ns, from schedstat (stat's ticks are 10 ms: too coarse). */
uint64_t bench_task_cpu_ns(pid_t pid);
void bench_sleep_ns(uint64_t ns);

/* Sorts v and returns the q-quantile (0..1) by nearest rank. */
double bench_quantile(double *v, size_t n, double q);
void bench_sort(double *v, size_t n);

/*
 * Log cursor plus a partial-line buffer: bench_log_poll reads whatever the
 * hypervisor logged since the last call and hands back complete lines.
 */
struct bench_log {
	uint64_t cursor;
	char part[4096];
	size_t partlen;
	uint64_t lost;
};
/* Moves the cursor to the current end of the log (discarding older text). */
int bench_log_skip(kxctrl *h, struct bench_log *l);
/*
 * Reads new log text; calls fn(line, arg) for each complete line (without
 * the newline) until fn returns non-zero, which is then returned. 0 when no
 * callback stopped; -errno on a control-socket error.
 */
int bench_log_poll(kxctrl *h, struct bench_log *l, int (*fn)(const char *line, void *arg), void *arg);

/*
 * Waits up to timeout_ns for a log line of domain domid ("(dN) ...") that
 * contains needle (NULL: any line of that domain); copies it into out.
 * Returns 0, -ETIMEDOUT, or -errno. Polls every poll_ns.
 */
int bench_log_wait_dom(kxctrl *h, struct bench_log *l, uint32_t domid, const char *needle,
                       char *out, size_t outlen, uint64_t timeout_ns, uint64_t poll_ns);

/* The guest kernel in the build tree. */
const char *bench_guest_kernel(void);

/* Parses a positive integer option or exits 2 with a message. */
unsigned long bench_parse_count(const char *prog, const char *opt, const char *s);

#endif
