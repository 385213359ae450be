/* gwin_probe: can a VMM move a guest page from its RAM memfd into another memfd under a running KVM guest (docs/grant-tables.md, "the grant window")? */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "probe_vm.h"

#define T DATA_GPA
#define STOP (DATA_GPA + 0x1000)
#define PG 4096

static int fails;
static int ram_fd;   /* the VM's RAM memfd */
#define CHECK(c, ...) do { if (!(c)) { fails++; printf("FAIL: " __VA_ARGS__); printf("\n"); } else { printf("ok:   " __VA_ARGS__); printf("\n"); } } while (0)

static int run_snip(struct pvm_vm *p, const void *snip, uint64_t rsi, uint64_t rdx, struct kvm_regs *out)
{
	struct kvm_regs r;
	ioctl(p->vcpu, KVM_GET_REGS, &r);
	r.rip = probe__gva(snip); r.rsp = USTACK_TOP; r.rsi = rsi; r.rdx = rdx; r.rflags = 0x3002;
	r.r13 = 0; r.r14 = 0;
	ioctl(p->vcpu, KVM_SET_REGS, &r);
	int e = probe__resume(p);
	ioctl(p->vcpu, KVM_GET_REGS, out);
	if (e != KVM_EXIT_IO || p->run->io.port != EXIT_PORT) {
		printf("unexpected exit %d (%s) rip %#llx\n", e, e >= 0 ? probe__exit_name(e) : strerror(-e),
		       (unsigned long long)out->rip);
		return -1;
	}
	return 0;
}

static double now_us(void) { return probe__now_ns() / 1000; }

/* page gpa -> window fd at woff: copy, then map over kxen-hv's (here: the probe's) view */
static int move_in(struct pvm_vm *p, uint64_t gpa, int win, off_t woff)
{
	if (pwrite(win, p->mem + gpa, PG, woff) != PG) return -errno;
	if (mmap(p->mem + gpa, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, win, woff) == MAP_FAILED) return -errno;
	return 0;
}
static int move_out(struct pvm_vm *p, uint64_t gpa)
{
	if (pwrite(ram_fd, p->mem + gpa, PG, (off_t)gpa) != PG) return -errno;
	if (mmap(p->mem + gpa, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ram_fd, (off_t)gpa) == MAP_FAILED) return -errno;
	return 0;
}

/* ---- a second process holding only the window fd ---- */
static int to_child[2], from_child[2];
static void child_main(int win)
{
	volatile uint64_t *w = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, win, 0);
	char cmd;
	while (read(to_child[0], &cmd, 1) == 1) {
		uint64_t v = 0;
		if (cmd == 'w') w[1] = 0xC0FFEE;          /* write slot 1 */
		if (cmd == 'x') w[1] = 0x5555;
		if (cmd == 'i') w[1] = w[1] + 1;          /* increment slot 1 */
		v = w[0];                                 /* report slot 0 */
		if (write(from_child[1], &v, 8) != 8) break;
	}
	_exit(0);
}
static uint64_t child(char cmd)
{
	uint64_t v = 0;
	if (write(to_child[1], &cmd, 1) != 1 || read(from_child[0], &v, 8) != 8) { printf("child gone\n"); exit(1); }
	return v;
}

/* ---- vCPU thread with a pause that waits for the acknowledgement ---- */
static struct pvm_vm *gp;
static atomic_int pause_req, paused, done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t vt;
static struct kvm_regs final_regs;
static int final_exit;

static void on_kick(int sig) { (void)sig; gp->run->immediate_exit = 1; }

static void *vcpu_thread(void *a)
{
	(void)a;
	for (;;) {
		pthread_mutex_lock(&mu);
		if (atomic_load(&pause_req)) {
			atomic_store(&paused, 1);
			pthread_cond_broadcast(&cv);
			while (atomic_load(&pause_req))
				pthread_cond_wait(&cv, &mu);
			atomic_store(&paused, 0);
		}
		pthread_mutex_unlock(&mu);
		int rc = ioctl(gp->vcpu, KVM_RUN, 0);
		if (rc < 0 && (errno == EINTR || errno == EAGAIN)) { gp->run->immediate_exit = 0; continue; }
		final_exit = rc < 0 ? -errno : (int)gp->run->exit_reason;
		break;
	}
	ioctl(gp->vcpu, KVM_GET_REGS, &final_regs);
	atomic_store(&done, 1);
	return NULL;
}
static void vpause(void)
{
	pthread_mutex_lock(&mu);
	atomic_store(&pause_req, 1);
	pthread_kill(vt, SIGUSR1);
	while (!atomic_load(&paused) && !atomic_load(&done))
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}
static void vresume(void)
{
	pthread_mutex_lock(&mu);
	atomic_store(&pause_req, 0);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 200;
	int nopause = argc > 2 && !strcmp(argv[2], "nopause");
	struct pvm_vm p;
	struct kvm_regs r;
	uint64_t v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (probe__kvm_open())
		return 77;
	if (probe__fresh(&p, 3))
		return 1;
	gp = &p;
	/* RAM as kxen-hv has it, a shared memfd: moved under the not-yet-run VM the same way pages are moved later. */
	int ram = ram_fd = memfd_create("probe-ram", MFD_CLOEXEC);
	if (ram < 0 || ftruncate(ram, MEM_SIZE) < 0 || pwrite(ram, p.mem, MEM_SIZE, 0) != (ssize_t)MEM_SIZE ||
	    mmap(p.mem, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ram, 0) == MAP_FAILED) {
		perror("gwin_probe: memfd RAM");
		return 1;
	}
	int win = memfd_create("grant-window", MFD_CLOEXEC);
	ftruncate(win, PG);
	pipe(to_child); pipe(from_child);
	pid_t pid = fork();
	if (pid == 0) { close(to_child[1]); close(from_child[0]); close(ram_fd); munmap(p.mem, MEM_SIZE); child_main(win); }

	printf("== A. sequential (vCPU stopped at an exit around each move)\n");
	run_snip(&p, g_gw_store, T, 0xAAAA1111, &r);
	memcpy(&v, p.mem + T, 8);
	CHECK(v == 0xAAAA1111, "guest store seen through the RAM memfd mapping (%#lx)", v);
	run_snip(&p, g_gw_rw, T, 0xAAAA1111, &r);   /* KVM now has a writable translation of T */
	CHECK(move_in(&p, T, win, 0) == 0, "page moved into the window (copy + MAP_FIXED)");
	uint64_t poison = 0xDEADDEADDEADull;
	pwrite(ram_fd, &poison, 8, T);           /* the old page: a stale translation would read this */
	child('w');                               /* second process writes slot 1 through the window */
	run_snip(&p, g_gw_rw, T, 0xBBBB2222, &r);
	CHECK(r.rax == 0xAAAA1111, "guest reads its own earlier write at the same frame after the move (%#llx; %#lx = stale old page)", (unsigned long long)r.rax, poison);
	CHECK(r.r8 == 0xC0FFEE, "guest sees the window-holder's write (%#llx)", (unsigned long long)r.r8);
	v = child('r');
	CHECK(v == 0xBBBB2222, "window-holder sees the guest's write (%#lx)", v);
	pread(ram_fd, &v, 8, T);
	CHECK(v == poison, "the guest's write did not reach the old RAM-memfd page (%#lx)", v);
	CHECK(move_out(&p, T) == 0, "page moved back into the RAM memfd");
	child('x');                               /* writes to the window no longer reach the guest */
	run_snip(&p, g_gw_rw, T, 0xCCCC3333, &r);
	CHECK(r.rax == 0xBBBB2222 && r.r8 == 0xC0FFEE, "after moving back the guest sees the page's last contents, not the window's later write (%#llx %#llx)", (unsigned long long)r.rax, (unsigned long long)r.r8);
	pread(ram_fd, &v, 8, T);
	CHECK(v == 0xCCCC3333, "the guest's write lands in the RAM memfd again (%#lx)", v);
	v = child('r');
	CHECK(v == 0xBBBB2222, "window-holder no longer sees guest writes (%#lx)", v);

	printf("== B. concurrent: vCPU running a load/inc/store loop on the page, %d move-in/move-out cycles%s\n",
	       cycles, nopause ? " WITHOUT pausing" : " with pause+ack around each move");
	memset(p.mem + T, 0, 16);
	memset(p.mem + STOP, 0, 8);
	child('0');
	struct sigaction sa = { .sa_handler = on_kick };
	sigaction(SIGUSR1, &sa, NULL);
	ioctl(p.vcpu, KVM_GET_REGS, &r);
	r.rip = probe__gva(g_gw_inc_loop); r.rsp = USTACK_TOP; r.rsi = T; r.rdx = STOP; r.rflags = 0x3002; r.r13 = 0;
	ioctl(p.vcpu, KVM_SET_REGS, &r);
	pthread_create(&vt, NULL, vcpu_thread, NULL);
	double *tp = calloc(cycles, sizeof(double)), *tm = calloc(cycles, sizeof(double)), *to = calloc(cycles, sizeof(double));
	uint64_t last = 0, nondecr = 0, childinc = 0, advanced = 0;
	for (int i = 0; i < cycles; i++) {
		double t0 = now_us();
		if (!nopause) vpause();
		double t1 = now_us();
		if (move_in(&p, T, win, 0)) { printf("move_in failed\n"); break; }
		double t2 = now_us();
		if (!nopause) vresume();
		tp[i] = t1 - t0; tm[i] = t2 - t1;
		usleep(500);
		/* second process: read the guest's live counter, bump slot 1 */
		v = child('i');
		childinc++;
		if (v >= last) nondecr++;
		if (v > last) advanced++;
		last = v;
		usleep(500);
		t0 = now_us();
		if (!nopause) vpause();
		t1 = now_us();
		if (move_out(&p, T)) { printf("move_out failed\n"); break; }
		if (!nopause) vresume();
		to[i] = now_us() - t1;
	}
	uint64_t one = 1;
	memcpy(p.mem + STOP, &one, 8);
	pthread_join(vt, NULL);
	CHECK(final_exit == KVM_EXIT_IO, "guest loop ended at its exit (exit %d)", final_exit);
	memcpy(&v, p.mem + T, 8);
	printf("      guest iterations r13=%llu, page counter=%lu, lost=%lld\n", (unsigned long long)final_regs.r13, v,
	       (long long)final_regs.r13 - (long long)v);
	CHECK(v == final_regs.r13, "no guest store lost across %d moves in and out", cycles);
	CHECK(final_regs.r14 == childinc, "every window-holder increment reached the guest (%llu of %lu)", (unsigned long long)final_regs.r14, childinc);
	CHECK(nondecr == childinc && advanced > 0 && last <= v, "window-holder's reads of the guest's live counter never went back (%lu of %lu) and advanced in %lu cycles", nondecr, childinc, advanced);
	qsort(tp, cycles, sizeof(double), cmpd); qsort(tm, cycles, sizeof(double), cmpd); qsort(to, cycles, sizeof(double), cmpd);
	printf("      medians: pause+ack %.1f us (p90 %.1f), copy+mmap in %.1f us (p90 %.1f), copy+mmap out %.1f us (p90 %.1f)\n",
	       tp[cycles / 2], tp[cycles * 9 / 10], tm[cycles / 2], tm[cycles * 9 / 10], to[cycles / 2], to[cycles * 9 / 10]);
	close(to_child[1]);
	waitpid(pid, NULL, 0);
	printf("%s (%d failures)\n", fails ? "PROBE FAILED" : "PROBE HOLDS", fails);
	return fails ? 1 : 0;
}
