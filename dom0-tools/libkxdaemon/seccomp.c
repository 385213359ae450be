/* System call filters: each daemon (and each kind of thread) may make only the calls its list names (docs/architecture.md "Least privilege"). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "kxen/kxd.h"
#include "kxd_int.h"

#define NAMES_MAX 512

static const uint64_t no_new_privs[] = { PR_SET_NO_NEW_PRIVS };

const struct kxd_scrule kxd_seccomp_base[] = {
	/* a thread stacking its own filter (libseccomp sets no_new_privs first): both only take away */
	KXD_SC(seccomp), KXD_SC_ARG(prctl, 0, no_new_privs),
	/* memory: malloc's arenas, thread stacks, free's trimming */
	KXD_SC(brk), KXD_SC(mmap), KXD_SC(munmap), KXD_SC(mprotect), KXD_SC(madvise), KXD_SC(mremap),
	/* threads: locks, waits, glibc's per-thread setup and exit */
	KXD_SC(futex), KXD_SC(sched_yield), KXD_SC(nanosleep), KXD_SC(clock_nanosleep), KXD_SC(set_robust_list),
	KXD_SC(rseq), KXD_SC(exit), KXD_SC(exit_group), KXD_SC(restart_syscall),
	/* signals and time (the vDSO falls back to the calls); abort's own */
	KXD_SC(rt_sigprocmask), KXD_SC(rt_sigreturn), KXD_SC(clock_gettime), KXD_SC(gettimeofday),
	KXD_SC(getpid), KXD_SC(gettid), KXD_SC(tgkill), KXD_SC(getuid), KXD_SC(geteuid), KXD_SC(getgid), KXD_SC(getegid),
	/* the log (SIGHUP reopens it; kxd_daemon_ready points stderr at it) */
	KXD_SC(write), KXD_SC(writev), KXD_SC(dup2), KXD_SC(dup3),
	{ NULL },
};

static bool disabled;
/* Syscall names by number, resolved before any filter is in: the SIGSYS handler may not allocate. */
static char *names[NAMES_MAX];

void kxd_seccomp_disable(void)
{
	disabled = true;
}

enum kxd_seccomp_mode kxd_seccomp_mode(void)
{
	const char *e = getenv(KXD_SECCOMP_ENV);

	if (disabled || (e && !strcmp(e, "off")))
		return KXD_SECCOMP_OFF;
	if (e && !strcmp(e, "log"))
		return KXD_SECCOMP_LOG;
	return KXD_SECCOMP_KILL;
}

/* Async-signal-safe: appends s to buf at *n. */
static void put(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s && *n + 1 < len)
		buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t len, size_t *n, long v)
{
	char d[24];
	int i = 0;

	if (v < 0) {
		put(buf, len, n, "-");
		v = -v;
	}
	do
		d[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < (int)sizeof(d));
	while (i && *n + 1 < len)
		buf[(*n)++] = d[--i];
}

/*
 * A forbidden call: one log line, then the same call again with SIGSYS's
 * default action (SA_RESETHAND reset it), so the kernel kills the whole
 * process with SIGSYS (and a core dump where enabled): nothing can go on
 * after a call its list does not allow.
 */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	char line[256];
	size_t n = 0;
	int nr = si->si_syscall;

	(void)sig;
	put(line, sizeof(line), &n, "seccomp: forbidden system call ");
	put_num(line, sizeof(line), &n, nr);
	put(line, sizeof(line), &n, " (");
	put(line, sizeof(line), &n, nr >= 0 && nr < NAMES_MAX && names[nr] ? names[nr] : "?");
	put(line, sizeof(line), &n, ") in thread ");
	put_num(line, sizeof(line), &n, (long)syscall(SYS_gettid));
	put(line, sizeof(line), &n, "; killing the process\n");
	if (write(kxd_log_fd(), line, n) < 0)
		(void)0;   /* nowhere left to say it */
#ifdef __x86_64__
	greg_t *r = uc->uc_mcontext.gregs;

	syscall(nr, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]);
#else
	(void)uc;
	syscall(nr);
#endif
	abort();   /* not reached: the call traps again, now fatally */
}

/* Once per process: later threads' filters reuse the handler (and may forbid sigaction). */
static int trap_init(void)
{
	static bool done;
	struct sigaction sa;

	if (done)
		return 0;

	for (int i = 0; i < NAMES_MAX; i++)
		if (!names[i])
			names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* A thread that blocked SIGSYS would otherwise be killed without the log line. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	int rc = -pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	done = rc == 0;
	return rc;
}

/* Adds one list entry: the call outright, or once per allowed value of one argument. */
static int add_rule(scmp_filter_ctx ctx, const struct kxd_scrule *r)
{
	int nr = seccomp_syscall_resolve_name(r->name);

	if (nr == __NR_SCMP_ERROR)
		return -EINVAL;
	if (r->err)
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)r->err), nr, 0);
	if (!r->nvals)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	for (unsigned i = 0; i < r->nvals; i++) {
		/* 32 bits by default: ioctl numbers and socket families are ints that glibc may sign-extend. */
		struct scmp_arg_cmp c = SCMP_CMP((unsigned)r->arg, SCMP_CMP_MASKED_EQ,
		                                 r->mask ? r->mask : 0xffffffffu, r->vals[i]);
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &c);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_list(scmp_filter_ctx ctx, const char *what, const struct kxd_scrule *rules, int *n)
{
	for (const struct kxd_scrule *r = rules; r->name; r++, (*n)++) {
		int rc = add_rule(ctx, r);

		if (rc < 0) {
			kxd_log("seccomp: %s: cannot add %s: %s", what, r->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* The hidden test hook: KXEN_SECCOMP_PROBE=WHAT:CALL makes the thread installing filter WHAT make CALL (zero arguments). */
static void probe(const char *what)
{
	const char *e = getenv(KXD_SECCOMP_PROBE_ENV), *colon;
	size_t wl = strlen(what);

	if (!e || !(colon = strchr(e, ':')) || (size_t)(colon - e) != wl || strncmp(e, what, wl))
		return;
	int nr = seccomp_syscall_resolve_name(colon + 1);

	if (nr < 0)
		return;
	kxd_log("seccomp: %s: probing with forbidden call %s", what, colon + 1);
	syscall(nr, 0, 0, 0, 0, 0, 0);
	kxd_log("seccomp: %s: probe call %s returned: the filter did not stop it", what, colon + 1);
}

int kxd_seccomp_install(const char *what, const struct kxd_scrule *rules, bool all_threads)
{
	enum kxd_seccomp_mode mode = kxd_seccomp_mode();
	scmp_filter_ctx ctx;
	int rc, n = 0;

	if (mode == KXD_SECCOMP_OFF)
		return 0;
	if (mode == KXD_SECCOMP_KILL && (rc = trap_init()) < 0)
		return rc;
	ctx = seccomp_init(mode == KXD_SECCOMP_KILL ? SCMP_ACT_TRAP : SCMP_ACT_LOG);
	if (!ctx)
		return -ENOMEM;
	if (all_threads && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto out;
	if ((rc = add_list(ctx, what, kxd_seccomp_base, &n)) < 0 || (rc = add_list(ctx, what, rules, &n)) < 0)
		goto out;
	/* The log's timestamps need the zone file read, before a filter without openat; tzset stats it on every call. */
	static bool tz_read;

	if (!tz_read) {
		tzset();
		tz_read = true;
	}
	rc = seccomp_load(ctx);
	if (rc == 0 && all_threads)
		log__info("seccomp: %s filter in (%d calls; %s)", what, n,
		        mode == KXD_SECCOMP_KILL ? "others kill the process" : "others logged by the kernel");
out:
	seccomp_release(ctx);
	if (rc == 0)
		probe(what);
	return rc;
}

void kxd_seccomp_thread(const char *what, const struct kxd_scrule *rules)
{
	int rc = kxd_seccomp_install(what, rules, false);

	if (rc < 0) {
		kxd_log("seccomp: cannot install the %s thread's filter: %s", what, strerror(-rc));
		abort();
	}
}
