/* ubench: Linux microbenchmarks run inside a guest (null system call, page fault, fork+exit+wait, pipe context switch), one parseable line per figure. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Built static on the host (bench/Makefile.am) and put into the initramfs by
 * scripts/mkinitramfs.sh -x; bench/linux_boot.sh runs it as `kxen.run=ubench`
 * in the same kernel under QEMU TCG, QEMU+KVM and kxen.
 *
 * The cost of one operation differs by orders of size between those (a
 * system call is ~0.5 us under TCG here and ~250 us, several traps into KVM,
 * under kxen),
 * so no fixed count fits: each figure doubles its count until one run takes
 * at least the time budget, and reports that run (a figure with a size limit,
 * the page faults, repeats runs at the limit until the budget is spent and
 * reports them all). Output, one line each:
 *   ubench: NAME iters=N ns_per_op=X
 *   ubench: done guest_ms=T
 * guest_ms is the whole run on the guest's clock: the host compares it with
 * the time it saw between /init's line before ubench and the last, so a guest clock
 * that runs wrong shows up instead of silently scaling every figure.
 */

#define PAGE 4096ul
#define MAX_FAULT_PAGES 16384ul   /* 64 MiB: the benchmark guests have 256 MiB */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	printf("ubench: error: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Each returns the ns that n operations took (setup and teardown excluded where they can be). */

static double null_syscall(unsigned long n)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < n; i++)
		syscall(SYS_getppid);   /* never cached by libc, unlike getpid once was */
	return now_ns() - t0;
}

static double page_fault(unsigned long n)
{
	volatile char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t;

	if (p == MAP_FAILED)
		die("mmap");
	/* One fault per 4 KiB page: a huge page would fill 512 of them in one fault. */
	madvise((void *)p, n * PAGE, MADV_NOHUGEPAGE);
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		p[i * PAGE] = 1;
	t = now_ns() - t0;
	munmap((void *)p, n * PAGE);
	return t;
}

static double fork_exit_wait(unsigned long n)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) != pid)
			die("waitpid");
	}
	return now_ns() - t0;
}

/* n switches = n/2 round trips of one byte between two processes on one CPU. */
static double ctxsw_pipe(unsigned long n)
{
	int ab[2], ba[2];
	unsigned long rounds = (n + 1) / 2;
	char c = 0;
	double t0, t;
	pid_t pid;

	if (pipe(ab) < 0 || pipe(ba) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (unsigned long i = 0; i < rounds; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_ns();
	for (unsigned long i = 0; i < rounds; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			die("pipe ping-pong");
	t = now_ns() - t0;
	waitpid(pid, NULL, 0);
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);
	/* n was rounded up to whole round trips: scale back to n switches. */
	return t * (double)n / (double)(rounds * 2);
}

struct figure {
	const char *name;
	double (*run)(unsigned long n);
	unsigned long max;   /* 0: no limit but the time budget */
};

static const struct figure figures[] = {
	{ "null_syscall", null_syscall, 0 },
	{ "page_fault", page_fault, MAX_FAULT_PAGES },
	{ "fork_exit_wait", fork_exit_wait, 0 },
	{ "ctxsw_pipe", ctxsw_pipe, 0 },
};

static void measure(const struct figure *f, double budget_ns)
{
	unsigned long n = 1, total_n;
	double t, total_t;

	f->run(1);   /* warm-up: first-touch costs of the code and stacks */
	for (;;) {
		t = f->run(n);
		if (t >= budget_ns || (f->max && n * 2 > f->max))
			break;
		n *= 2;
	}
	/* At the size limit, repeat whole runs until the budget is spent: a short run is mostly noise. */
	for (total_n = n, total_t = t; total_t < budget_ns; total_n += n)
		total_t += f->run(n);
	printf("ubench: %s iters=%lu ns_per_op=%.1f\n", f->name, total_n, total_t / (double)total_n);
}

int main(int argc, char **argv)
{
	double budget_ms = 200, t0;
	cpu_set_t one;
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't' || (budget_ms = atof(optarg)) <= 0) {
			fprintf(stderr, "usage: ubench [-t BUDGET_MS] [FIGURE...]\n"
			        "figures: null_syscall page_fault fork_exit_wait ctxsw_pipe (default: all)\n");
			return 2;
		}
	}
	for (int a = optind; a < argc; a++) {
		size_t i = 0;
		while (i < sizeof(figures) / sizeof(figures[0]) && strcmp(argv[a], figures[i].name) != 0)
			i++;
		if (i == sizeof(figures) / sizeof(figures[0])) {
			fprintf(stderr, "ubench: no figure named '%s'\n", argv[a]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Both ends of the ping-pong on one CPU, so a round trip is two switches, not two IPIs. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		die("sched_setaffinity");
	t0 = now_ns();
	for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
		int chosen = optind == argc;
		for (int a = optind; a < argc; a++)
			chosen |= strcmp(argv[a], figures[i].name) == 0;
		if (chosen)
			measure(&figures[i], budget_ms * 1e6);
	}
	printf("ubench: done guest_ms=%.1f\n", (now_ns() - t0) / 1e6);
	return 0;
}
