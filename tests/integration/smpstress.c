/* smpstress: SMP checks run inside a Linux guest (threads on both CPUs, pipe ping-pong across CPUs, mmap churn seen by another CPU, fork/exec, a segfaulting child), each printing one checked result line. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Linked static (tests/integration/Makefile.am) and put into the busybox
 * initramfs with scripts/mkinitramfs.sh -x; linux_smp.sh runs it with
 * kxen.run=. Every check computes its result and compares it with what it
 * must be; a line "smpstress: NAME ok ..." or "smpstress: NAME FAIL ...",
 * and the exit status is the number of failed checks. Work is pinned to
 * CPU 0 and CPU 1 alternately (with one CPU online, everything runs on it).
 *
 * usage: smpstress [-n ROUNDS] [-d DIVISOR] CHECK...   CHECK: threads pipe mmap fork segv mix
 */

static long rounds = 1;
static long scale_div = 1;   /* -d: every count divided by it (a quick run in make check) */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* A CPU that is offline refuses the pin: the work then runs where it can. */
	sched_setaffinity(0, sizeof(set), &set);
}

static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

static int result(const char *name, int ok, const char *detail)
{
	printf("smpstress: %s %s %s\n", name, ok ? "ok" : "FAIL", detail);
	fflush(stdout);
	return !ok;
}

/* --- threads: shared counters updated with atomics and under a mutex --- */

#define NTHREADS 4
#define THREAD_ITERS (100000l / scale_div)

static atomic_long atomic_count;
static long locked_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int cpus_seen;   /* bit i: some thread ran on CPU i */

static void *counter_thread(void *arg)
{
	int id = (int)(long)arg;

	pin(id % ncpus());
	for (long i = 0; i < THREAD_ITERS; i++) {
		atomic_fetch_add_explicit(&atomic_count, 1, memory_order_relaxed);
		pthread_mutex_lock(&lock);
		locked_count++;
		pthread_mutex_unlock(&lock);
		if ((i & 4095) == 0) {
			int c = sched_getcpu();

			if (c >= 0 && c < 31)
				atomic_fetch_or(&cpus_seen, 1 << c);
		}
	}
	return NULL;
}

static int check_threads(void)
{
	pthread_t t[NTHREADS];
	char detail[160];
	long want = (long)NTHREADS * THREAD_ITERS;
	int err = 0, seen;

	atomic_store(&atomic_count, 0);
	locked_count = 0;
	atomic_store(&cpus_seen, 0);
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, counter_thread, (void *)(long)i))
			return result("threads", 0, "pthread_create failed");
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	seen = atomic_load(&cpus_seen);
	snprintf(detail, sizeof(detail), "threads=%d atomic=%ld mutex=%ld want=%ld cpus_seen=0x%x",
		 NTHREADS, atomic_load(&atomic_count), locked_count, want, seen);
	if (atomic_load(&atomic_count) != want || locked_count != want)
		err = 1;
	/* Every online CPU must have run a counter thread: the threads are pinned to them. */
	if (seen != (1 << ncpus()) - 1)
		err = 1;
	return result("threads", !err, detail);
}

/* --- pipe: a token passed back and forth between a process on each CPU --- */

#define PIPE_ITERS (3000l / scale_div)

static int check_pipe(void)
{
	int ab[2], ba[2], status;
	unsigned long v = 0, bad = 0;
	char detail[120];
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return result("pipe", 0, strerror(errno));
	pid = fork();
	if (pid < 0)
		return result("pipe", 0, strerror(errno));
	if (pid == 0) {
		pin(1 % ncpus());
		close(ab[1]);
		close(ba[0]);
		for (;;) {
			if (read(ab[0], &v, sizeof(v)) != sizeof(v))
				_exit(0);
			v++;
			if (write(ba[1], &v, sizeof(v)) != sizeof(v))
				_exit(2);
		}
	}
	pin(0);
	close(ab[0]);
	close(ba[1]);
	for (long i = 0; i < PIPE_ITERS; i++) {
		unsigned long w = 2 * i, r = 0;

		if (write(ab[1], &w, sizeof(w)) != sizeof(w) || read(ba[0], &r, sizeof(r)) != sizeof(r) || r != w + 1) {
			bad++;
			break;
		}
	}
	close(ab[1]);
	waitpid(pid, &status, 0);
	close(ba[0]);
	snprintf(detail, sizeof(detail), "round_trips=%ld bad=%lu child_status=%d", PIPE_ITERS, bad, status);
	return result("pipe", !bad && WIFEXITED(status) && WEXITSTATUS(status) == 0, detail);
}

/* --- mmap: one thread replaces a page at a fixed address, another on the other CPU must see each new page --- */

#define MMAP_ITERS (1000l / scale_div)

static atomic_long published;   /* the generation the writer made visible */
static atomic_long acked;       /* the last generation the reader saw */
static volatile long *window;
static atomic_long stale;

static void *mmap_reader(void *arg)
{
	(void)arg;
	pin(1 % ncpus());
	for (long g = 1; g <= MMAP_ITERS; g++) {
		while (atomic_load_explicit(&published, memory_order_acquire) < g)
			sched_yield();   /* with one CPU online the writer needs it */
		/* A TLB entry left over from the page unmapped before would show an older generation. */
		if (*window != g)
			atomic_fetch_add(&stale, 1);
		atomic_store_explicit(&acked, g, memory_order_release);
	}
	return NULL;
}

static int check_mmap(void)
{
	char detail[120];
	pthread_t t;
	void *p;

	atomic_store(&published, 0);
	atomic_store(&acked, 0);
	atomic_store(&stale, 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return result("mmap", 0, strerror(errno));
	window = p;
	if (pthread_create(&t, NULL, mmap_reader, NULL))
		return result("mmap", 0, "pthread_create failed");
	pin(0);
	for (long g = 1; g <= MMAP_ITERS; g++) {
		/* The reader has this page's old frame in its TLB: replacing it must flush that CPU. */
		void *q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (q != p) {
			atomic_fetch_add(&stale, 1000000);
			atomic_store_explicit(&published, MMAP_ITERS, memory_order_release);
			break;
		}
		*(volatile long *)q = g;
		atomic_store_explicit(&published, g, memory_order_release);
		while (atomic_load_explicit(&acked, memory_order_acquire) < g)
			sched_yield();
	}
	pthread_join(t, NULL);
	munmap(p, 4096);
	snprintf(detail, sizeof(detail), "replacements=%ld stale_reads=%ld", MMAP_ITERS, atomic_load(&stale));
	return result("mmap", atomic_load(&stale) == 0, detail);
}

/* --- fork: fork+exec+wait from both CPUs at once --- */

#define FORK_ITERS (100l / scale_div)

static int fork_exec_loop(int cpu)
{
	pin(cpu);
	for (int i = 0; i < FORK_ITERS; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			execl("/bin/busybox", "sh", "-c", "exit 5", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 5)
			return 1;
	}
	return 0;
}

static int check_fork(void)
{
	int status, bad;
	char detail[80];
	pid_t pid = fork();

	if (pid < 0)
		return result("fork", 0, strerror(errno));
	if (pid == 0)
		_exit(fork_exec_loop(1 % ncpus()));
	bad = fork_exec_loop(0);
	waitpid(pid, &status, 0);
	bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	snprintf(detail, sizeof(detail), "execs=%ld failed_loops=%d", 2 * FORK_ITERS, bad);
	return result("fork", !bad, detail);
}

/* --- segv: a child writes through a null pointer; the kernel kills it with SIGSEGV --- */

static int check_segv(void)
{
	int status;
	char detail[80];
	pid_t pid = fork();

	if (pid < 0)
		return result("segv", 0, strerror(errno));
	if (pid == 0) {
		pin(1 % ncpus());
		volatile int *volatile null = NULL;   /* volatile: the compiler may not drop the store */

		*null = 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	snprintf(detail, sizeof(detail), "signaled=%d signal=%d", WIFSIGNALED(status),
		 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return result("segv", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, detail);
}

/* --- mix: pipe, mmap, fork and threads all at once, in separate processes --- */

static int check_one(const char *name);

static int check_mix(void)
{
	static const char *const parts[] = { "pipe", "mmap", "fork", "threads" };
	pid_t pids[4];
	int bad = 0;
	char detail[80];

	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(check_one(parts[i]));
	}
	for (int i = 0; i < 4; i++) {
		int status;

		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad++;
	}
	snprintf(detail, sizeof(detail), "parts=4 failed=%d", bad);
	return result("mix", !bad, detail);
}

static const struct {
	const char *name;
	int (*run)(void);
} checks[] = {
	{ "threads", check_threads }, { "pipe", check_pipe }, { "mmap", check_mmap },
	{ "fork", check_fork }, { "segv", check_segv }, { "mix", check_mix },
};

static int check_one(const char *name)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(name, checks[i].name))
			return checks[i].run();
	printf("smpstress: unknown check '%s' (threads pipe mmap fork segv mix)\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	int opt, bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:d:")) != -1) {
		long *to = opt == 'n' ? &rounds : opt == 'd' ? &scale_div : NULL;

		if (!to || (*to = strtol(optarg, NULL, 10)) < 1 || *to > 1000)
			optind = argc;   /* the usage below */
	}
	if (optind >= argc) {
		printf("usage: smpstress [-n ROUNDS] [-d DIVISOR] CHECK... (CHECK: threads pipe mmap fork segv mix)\n");
		return 2;
	}
	for (long r = 0; r < rounds; r++)
		for (int i = optind; i < argc; i++)
			bad += check_one(argv[i]);
	printf("smpstress: done cpus=%d failed=%d\n", ncpus(), bad);
	return bad > 125 ? 125 : bad;
}
