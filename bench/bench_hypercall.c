/* bench_hypercall: bare KVM port-I/O exit floor vs kxen null hypercall vs interdomain event round trip. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_hypercall"
#define BARE_MEM (4ul << 20)     /* kxbuild_write_layout's minimum */
#define BARE_CODE 0x100000ul     /* KXEN_PV_KERNEL_MIN: above the builder-owned pages */
#define BARE_STACK 0x200000ul

/* Segment descriptor for KVM_SET_SREGS, exactly as kxen-hv's kvm_x86.c builds them. */
static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = dpl, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

struct bare {
	int kvm, vm, vcpu, memfd;
	uint8_t *ram;
	struct kvm_run *run;
	size_t run_size;
};

static void bare_close(struct bare *b)
{
	if (b->run)
		munmap(b->run, b->run_size);
	if (b->ram)
		munmap(b->ram, BARE_MEM);
	if (b->vcpu >= 0) close(b->vcpu);
	if (b->vm >= 0) close(b->vm);
	if (b->memfd >= 0) close(b->memfd);
	if (b->kvm >= 0) close(b->kvm);
}

/*
 * A one-vCPU VM in the same CPL-3 long-mode state as a kxen xenpv guest
 * (the builder's page tables, GDT, TSS and I/O bitmap), whose code is
 * `1: out %eax,$0xe4; jmp 1b`. Returns 0 or a message in err.
 */
static int bare_setup(struct bare *b, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region r;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs s;
	struct kvm_regs regs;
	int n = 256;
	static const uint8_t code[] = { 0xe7, 0xe4, 0xeb, 0xfc };  /* out %eax,$0xe4; jmp .-2 */

	memset(b, 0, sizeof(*b));
	b->kvm = b->vm = b->vcpu = b->memfd = -1;
#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)
	if ((b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0)
		FAIL("open /dev/kvm: %s", strerror(errno));
	if ((b->memfd = memfd_create("bench-bare", MFD_CLOEXEC)) < 0 || ftruncate(b->memfd, BARE_MEM) < 0)
		FAIL("memfd: %s", strerror(errno));
	b->ram = mmap(NULL, BARE_MEM, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->ram == MAP_FAILED) {
		b->ram = NULL;
		FAIL("mmap: %s", strerror(errno));
	}
	if (kxbuild_write_layout(b->ram, BARE_MEM, 1) < 0)
		FAIL("kxbuild_write_layout failed");
	memcpy(b->ram + BARE_CODE, code, sizeof(code));
	if ((b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0)) < 0)
		FAIL("KVM_CREATE_VM: %s", strerror(errno));
	r = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0, .memory_size = BARE_MEM,
	                                          .userspace_addr = (uint64_t)(uintptr_t)b->ram };
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		FAIL("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	if ((b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0)) < 0)
		FAIL("KVM_CREATE_VCPU: %s", strerror(errno));
	b->run_size = (size_t)ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu, 0);
	if (b->run == MAP_FAILED) {
		b->run = NULL;
		FAIL("mmap kvm_run: %s", strerror(errno));
	}
	/* KVM refuses EFER.LME unless the guest's CPUID has long mode: give it the supported set. */
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + (size_t)n * sizeof(cpuid->entries[0]));
		if (!cpuid)
			FAIL("out of memory");
		cpuid->nent = (uint32_t)n;
		if (ioctl(b->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		free(cpuid);
		if (errno != E2BIG || n > 4096)
			FAIL("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		n *= 2;
	}
	int rc = ioctl(b->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (rc < 0)
		FAIL("KVM_SET_CPUID2: %s", strerror(errno));

	/* The same CPL-3 long-mode state kxen-hv's kvm_vcpu_load_boot gives vCPU 0. */
	if (ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
		FAIL("KVM_GET_SREGS: %s", strerror(errno));
	s.cr0 = (1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 16) | (1u << 31); /* PE MP ET NE WP PG */
	s.cr4 = (1u << 5) | (1u << 9) | (1u << 10);                                     /* PAE OSFXSR OSXMMEXCPT */
	s.efer = (1u << 8) | (1u << 10);                                                 /* LME LMA */
	s.cr3 = KXEN_PV_PML4;
	s.cs = seg(KXEN_SEL_USER_CS, 11, 3, 1);
	s.ss = s.ds = s.es = s.fs = s.gs = seg(KXEN_SEL_USER_DS, 3, 3, 0);
	s.gdt = (struct kvm_dtable){ .base = KXEN_PV_GDT, .limit = KXEN_GDT_ENTRIES * 8 - 1 };
	s.idt = (struct kvm_dtable){ .base = KXEN_PV_IDT, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = KXEN_PV_TSS_BASE,
	                             .limit = (uint32_t)(KXEN_PV_IOBITMAP_END - 1 - KXEN_PV_TSS_BASE),
	                             .selector = KXEN_SEL_TSS(0), .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	if (ioctl(b->vcpu, KVM_SET_SREGS, &s) < 0)
		FAIL("KVM_SET_SREGS: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rip = BARE_CODE;
	regs.rsp = BARE_STACK;
	regs.rflags = 0x202;
	if (ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		FAIL("KVM_SET_REGS: %s", strerror(errno));
#undef FAIL
	return 0;
}

/*
 * Runs n exits. sync_regs: also ask KVM to copy the GPRs into kvm_run on each
 * exit and back in on entry, as kxen-hv does to decode a hypercall.
 * Returns ns per exit, or < 0 with err set.
 */
static double bare_loop(struct bare *b, unsigned long n, int sync_regs, char *err, size_t errlen)
{
	uint64_t t0 = bench_now_ns();

	for (unsigned long i = 0; i < n; i++) {
		if (sync_regs) {
			b->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
			/* Dirty only once an exit has filled s.regs: before that they are zeros (rip 0). */
			b->run->kvm_dirty_regs = i ? KVM_SYNC_X86_REGS : 0;
		}
		if (ioctl(b->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "KVM_RUN: %s", strerror(errno));
			return -1;
		}
		/* The only check: anything but our port means the setup is wrong, not slow. */
		if (b->run->exit_reason != KVM_EXIT_IO || b->run->io.port != KXEN_HYPERCALL_PORT) {
			struct kvm_regs regs;
			ioctl(b->vcpu, KVM_GET_REGS, &regs);
			snprintf(err, errlen, "unexpected exit %u (port %#x, data %#x) after %lu exits, rip %#llx",
			         b->run->exit_reason, b->run->exit_reason == KVM_EXIT_IO ? b->run->io.port : 0,
			         b->run->exit_reason == KVM_EXIT_IO ? *((uint8_t *)b->run + b->run->io.data_offset) : 0,
			         i, (unsigned long long)regs.rip);
			return -1;
		}
	}
	b->run->kvm_valid_regs = 0;
	return (double)(bench_now_ns() - t0) / (double)n;
}

/*
 * Runs code (at BARE_CODE + 0x100) once with %rsi = n and %eax = 1: a loop
 * of n iterations that ends with `out %eax,$0xe4`. Returns ns per iteration
 * (the one closing exit included, negligible for large n), or < 0.
 */
static double bare_burst(struct bare *b, const uint8_t *code, size_t len, unsigned long n,
                         char *err, size_t errlen)
{
	struct kvm_regs regs = { .rip = BARE_CODE + 0x100, .rsp = BARE_STACK, .rflags = 0x202,
	                         .rsi = n, .rax = 1 };
	uint64_t t0;

	memcpy(b->ram + BARE_CODE + 0x100, code, len);
	b->run->kvm_valid_regs = b->run->kvm_dirty_regs = 0;
	if (ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	t0 = bench_now_ns();
	for (;;) {
		if (ioctl(b->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "KVM_RUN: %s", strerror(errno));
			return -1;
		}
		if (b->run->exit_reason == KVM_EXIT_IO && b->run->io.port == KXEN_HYPERCALL_PORT)
			break;
		snprintf(err, errlen, "unexpected exit %u (port %#x) in a burst", b->run->exit_reason,
		         b->run->exit_reason == KVM_EXIT_IO ? b->run->io.port : 0);
		return -1;
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* The in-kernel floors: `cpuid` (KVM handles it without leaving the kernel) and an ioeventfd doorbell write. */
static int bare_floors(struct bare *b, unsigned long n, double *trap_ns, double *bell_ns,
                       char *err, size_t errlen)
{
	static const uint8_t cpuid_loop[] = {
		0x31, 0xc0, 0x0f, 0xa2, 0xff, 0xce, 0x75, 0xf8,   /* 1: xor %eax,%eax; cpuid; dec %esi; jnz 1b */
		0xe7, KXEN_HYPERCALL_PORT, 0xeb, 0xfe,             /* out %eax,$0xe4; jmp . */
	};
	static const uint8_t bell_loop[] = {
		0xe7, KXEN_DOORBELL_PORT, 0xff, 0xce, 0x75, 0xfa, /* 1: out %eax,$doorbell; dec %esi; jnz 1b */
		0xe7, KXEN_HYPERCALL_PORT, 0xeb, 0xfe,             /* out %eax,$0xe4; jmp . */
	};
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct kvm_ioeventfd io = { .datamatch = 1, .addr = KXEN_DOORBELL_PORT, .len = 4, .fd = efd,
	                            .flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH };
	uint64_t rung = 0;
	int rc = -1;

	if (efd < 0 || ioctl(b->vm, KVM_IOEVENTFD, &io) < 0) {
		snprintf(err, errlen, "KVM_IOEVENTFD: %s", strerror(errno));
		goto out;
	}
	if ((*trap_ns = bare_burst(b, cpuid_loop, sizeof(cpuid_loop), n, err, errlen)) < 0 ||
	    (*bell_ns = bare_burst(b, bell_loop, sizeof(bell_loop), n, err, errlen)) < 0)
		goto out;
	/* Every write must have completed in the kernel: the eventfd counted them all. */
	if (read(efd, &rung, sizeof(rung)) != sizeof(rung) || rung != n) {
		snprintf(err, errlen, "the doorbell eventfd counted %llu of %lu writes",
		         (unsigned long long)rung, n);
		goto out;
	}
	rc = 0;
out:
	if (efd >= 0)
		close(efd);
	return rc;
}

/* Builds and starts one guest; on_poweroff preserve keeps its counters readable after it ends. */
static int start_guest(const char *name, const char *cmdline, uint32_t *domid)
{
	struct kxbuild_config cfg = {
		.name = name, .mem_bytes = 4ul << 20, .vcpus = 1, .kernel = bench_guest_kernel(),
		.cmdline = cmdline, .on_poweroff = KXCTL_ACTION_PRESERVE,
		.on_reboot = KXCTL_ACTION_DESTROY, .on_crash = KXCTL_ACTION_PRESERVE,
	};
	struct kxbuild_result res;
	char err[KXBUILD_ERR_MAX];
	int rc = kxbuild_domain(bench_hv.h, &cfg, &res, err, sizeof(err));

	if (rc < 0) {
		printf("%s: cannot start %s (%s): %s\n", PROG, name, cmdline, err);
		return rc;
	}
	*domid = res.domid;
	return 0;
}

static void guest_failed(const char *what, uint32_t domid, int rc)
{
	printf("%s: %s (dom%u): %s\n", PROG, what, domid,
	       rc == -ETIMEDOUT ? "timed out waiting for its log line" : strerror(-rc));
	bench_keep_log();
	exit(1);
}

#define POLL_NS 200000ull   /* 0.2 ms: log polling here only finds results, it times nothing */

/* (2): the hypercall-bench app; returns ns per call and fills the domain's counters. */
static double run_hypercall_guest(unsigned long n, struct kxctl_dominfo *info)
{
	struct bench_log log = { 0 };
	char cmd[64], line[512];
	uint32_t dom;
	unsigned long calls, ns;
	int rc;

	bench_log_skip(bench_hv.h, &log);
	snprintf(cmd, sizeof(cmd), "hypercall-bench %lu", n);
	if (start_guest("hcbench", cmd, &dom) < 0)
		exit(1);
	rc = bench_log_wait_dom(bench_hv.h, &log, dom, "ns/call", line, sizeof(line), 100ull * 1000000000ull, POLL_NS);
	if (rc < 0)
		guest_failed("hypercall-bench", dom, rc);
	if (sscanf(strstr(line, "hypercall-bench:"), "hypercall-bench: %lu calls, %lu ns/call", &calls, &ns) != 2)
		guest_failed("hypercall-bench: unparseable result line", dom, -EINVAL);
	/* Counters are final once the guest has shut down (preserved, not destroyed). */
	for (int i = 0; i < 1000; i++) {
		if ((rc = kxctrl_domain_info(bench_hv.h, dom, info)) < 0)
			guest_failed("domain_info", dom, rc);
		if (info->flags & KXCTL_DOMF_SHUTDOWN)
			break;
		bench_sleep_ns(1000000);
	}
	kxctrl_domain_destroy(bench_hv.h, dom);
	return (double)ns;
}

/* The port an app offered in its "APP: port N" log line (exits on failure). */
static unsigned wait_port(struct bench_log *log, uint32_t dom, const char *app)
{
	char needle[64], line[512];
	unsigned port;
	int rc;

	snprintf(needle, sizeof(needle), "%s: port ", app);
	rc = bench_log_wait_dom(bench_hv.h, log, dom, needle, line, sizeof(line), 10ull * 1000000000ull, POLL_NS);
	if (rc < 0)
		guest_failed(app, dom, rc);
	if (sscanf(strstr(line, needle) + strlen(needle), "%u", &port) != 1)
		guest_failed("unparseable port line", dom, -EINVAL);
	return port;
}

struct pingpong {
	unsigned long rounds, rate;
	double median_us, total_ms;
	uint64_t exits, hypercalls, events, sends_exit;
};

/* (3): evtchn-pong, then evtchn-ping bound to its port; mode "poll" or "upcall". */
static int run_pingpong(const char *mode, unsigned long rounds, struct pingpong *out)
{
	struct bench_log log = { 0 };
	char cmd[128], line[512], pname[32], qname[32];
	uint32_t pong, ping;
	unsigned port;
	unsigned long r, ms, rate, med_i, med_f;
	struct kxctl_dominfo ip, iq;
	int rc;

	bench_log_skip(bench_hv.h, &log);
	snprintf(pname, sizeof(pname), "pong-%s", mode);
	snprintf(qname, sizeof(qname), "ping-%s", mode);
	/*
	 * The pong must name its peer before the peer exists. kxen-hv hands out
	 * domids in sequence, so a throwaway domain tells us the next two: pong
	 * gets probe+1, ping probe+2 (both checked below).
	 */
	uint32_t probe;
	if (start_guest("probe", "hello", &probe) < 0)
		return -1;
	kxctrl_domain_destroy(bench_hv.h, probe);
	snprintf(cmd, sizeof(cmd), "evtchn-pong %u", probe + 2);
	if (start_guest(pname, cmd, &pong) < 0)
		return -1;
	if (pong != probe + 1) {
		printf("%s: pong got domid %u, expected %u; cannot predict the ping's domid\n", PROG, pong, probe + 1);
		return -1;
	}
	port = wait_port(&log, pong, "evtchn-pong");
	snprintf(cmd, sizeof(cmd), "evtchn-ping %u %u %lu %s", pong, port, rounds, mode);
	if (start_guest(qname, cmd, &ping) < 0)
		return -1;
	if (ping != pong + 1) {
		printf("%s: ping got domid %u, the pong expects %u\n", PROG, ping, pong + 1);
		return -1;
	}
	rc = bench_log_wait_dom(bench_hv.h, &log, ping, "round trips/s", line, sizeof(line),
	                        60ull * 1000000000ull, POLL_NS);
	if (rc < 0)
		guest_failed("evtchn-ping", ping, rc);
	if (sscanf(strstr(line, "evtchn-ping:"),
	           "evtchn-ping: %lu round trips in %lu ms, %lu round trips/s, median %lu.%lu us",
	           &r, &ms, &rate, &med_i, &med_f) != 5)
		guest_failed("evtchn-ping: unparseable result line", ping, -EINVAL);
	/* Both domains' counters: a round trip's exits happen on both sides. */
	for (int i = 0; i < 1000; i++) {
		if ((rc = kxctrl_domain_info(bench_hv.h, ping, &iq)) < 0)
			guest_failed("domain_info", ping, rc);
		if (iq.flags & KXCTL_DOMF_SHUTDOWN)
			break;
		bench_sleep_ns(1000000);
	}
	if ((rc = kxctrl_domain_info(bench_hv.h, pong, &ip)) < 0)
		guest_failed("domain_info", pong, rc);
	kxctrl_domain_destroy(bench_hv.h, ping);
	kxctrl_domain_destroy(bench_hv.h, pong);
	out->rounds = r;
	out->rate = rate;
	out->median_us = (double)med_i + (double)med_f / 10.0;
	out->total_ms = (double)ms;
	out->exits = ip.exits + ip.kicks + iq.exits + iq.kicks;   /* every return from KVM_RUN */
	out->hypercalls = ip.hypercalls + iq.hypercalls;
	out->events = ip.events + iq.events;
	out->sends_exit = ip.sends_exit + iq.sends_exit;
	return 0;
}

/* (4): evtchn-send to a port dom0 binds here: the guest's ns per send and how many sends exited. */
static double run_dom0_send(unsigned long n, double *exits_per_send)
{
	struct bench_log log = { 0 };
	char cmd[64], line[512];
	uint32_t dom, lport;
	unsigned port;
	unsigned long sends, ns;
	int nfd = -1, kfd = -1, rc;
	struct kxctl_dominfo info;

	bench_log_skip(bench_hv.h, &log);
	snprintf(cmd, sizeof(cmd), "evtchn-send 0 %lu", n);
	if (start_guest("send0", cmd, &dom) < 0)
		exit(1);
	port = wait_port(&log, dom, "evtchn-send");
	/* The eventfd counts the sends (a backend would read it); nobody needs to drain it here. */
	if ((rc = kxctrl_evtchn_bind_interdomain(bench_hv.h, dom, port, &lport, &nfd, &kfd)) < 0)
		guest_failed("bind to evtchn-send's port", dom, rc);
	rc = bench_log_wait_dom(bench_hv.h, &log, dom, "ns/send", line, sizeof(line),
	                        100ull * 1000000000ull, POLL_NS);
	if (rc < 0)
		guest_failed("evtchn-send", dom, rc);
	if (sscanf(strstr(line, "evtchn-send:"), "evtchn-send: %lu sends, %lu ns/send", &sends, &ns) != 2)
		guest_failed("evtchn-send: unparseable result line", dom, -EINVAL);
	if ((rc = kxctrl_domain_info(bench_hv.h, dom, &info)) < 0)
		guest_failed("domain_info", dom, rc);
	*exits_per_send = (double)info.sends_exit / (double)sends;
	kxctrl_evtchn_close(bench_hv.h, lport);
	close(nfd);
	close(kfd);
	kxctrl_domain_destroy(bench_hv.h, dom);
	return (double)ns;
}

/* Median ms of n runs of a whole process: bench/kvm_min, or `kxl create -F` of the hello guest (kxl != NULL). */
static double whole_process_ms(const char *path, const char *kxl, const char *xml, unsigned n)
{
	double *v = calloc(n, sizeof(*v));

	if (!v)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t0, t1;

		if ((v[i] = bench_whole_run(PROG, path, kxl, xml, &t0, &t1)) < 0) {
			free(v);
			return -1;
		}
	}
	double med = bench_quantile(v, n, 0.5);
	free(v);
	return med;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-n EXITS] [-c CALLS] [-r ROUNDS] [-p RUNS]\n"
	        "Compares a bare KVM port-I/O exit with kxen's null hypercall and event round trip.\n"
	        "  -n EXITS   bare exits to time, each way (default 50000)\n"
	        "  -c CALLS   null hypercalls in the hypercall-bench guest (default 100000)\n"
	        "  -r ROUNDS  event round trips per ping-pong mode, and sends to dom0 (default 5000)\n"
	        "  -p RUNS    whole-process runs of kvm_min and of kxl create -F (default 30)\n", PROG);
}

int main(int argc, char **argv)
{
	unsigned long nexits = 50000, ncalls = 100000, nrounds = 5000, nprocs = 30;
	struct bare b;
	char err[256];
	int c;

	while ((c = getopt(argc, argv, "n:c:r:p:h")) != -1) {
		switch (c) {
		case 'n': nexits = bench_parse_count(PROG, "-n", optarg); break;
		case 'c': ncalls = bench_parse_count(PROG, "-c", optarg); break;
		case 'r': nrounds = bench_parse_count(PROG, "-r", optarg); break;
		case 'p': nprocs = bench_parse_count(PROG, "-p", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_require_kvm(PROG);

	/* (1) The floor: before kxen-hv starts, so nothing else competes for the CPUs. */
	if (bare_setup(&b, err, sizeof(err)) < 0) {
		printf("%s: bare KVM setup failed: %s\n", PROG, err);
		bare_close(&b);
		return 1;
	}
	if (bare_loop(&b, 1000, 0, err, sizeof(err)) < 0) {   /* warm-up: first-run page faults */
		printf("%s: bare KVM loop failed: %s\n", PROG, err);
		bare_close(&b);
		return 1;
	}
	double bare_ns = bare_loop(&b, nexits, 0, err, sizeof(err));
	double bare_sync_ns = bare_ns < 0 ? -1 : bare_loop(&b, nexits, 1, err, sizeof(err));
	double trap_ns = 0, bell_ns = 0;
	int frc = bare_ns < 0 || bare_sync_ns < 0 ? -1 : bare_floors(&b, nexits, &trap_ns, &bell_ns, err, sizeof(err));
	bare_close(&b);
	if (bare_ns < 0 || bare_sync_ns < 0 || frc < 0) {
		printf("%s: bare KVM loop failed: %s\n", PROG, err);
		return 1;
	}
	double bare_us = bare_ns / 1000.0;
	printf("bare exit (ring-3 out to user space and back, %lu exits): %.2f us/exit  [baseline]\n",
	       nexits, bare_us);
	printf("bare exit + KVM_SYNC_X86_REGS (as kxen-hv decodes):       %.2f us/exit = %.2fx bare exit\n",
	       bare_sync_ns / 1000.0, bare_sync_ns / bare_ns);
	printf("in-kernel trap (ring-3 cpuid, answered by KVM):          %.2f us = %.2fx bare exit  [floor]\n",
	       trap_ns / 1000.0, trap_ns / bare_ns);
	printf("doorbell write (ioeventfd, completed in the kernel):     %.2f us = %.2fx bare exit  [floor]\n",
	       bell_ns / 1000.0, bell_ns / bare_ns);

	char kvm_min[PATH_MAX], kxl[PATH_MAX], xml[PATH_MAX];
	bench_path(kvm_min, sizeof(kvm_min), "bench/kvm_min");
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	double min_ms = whole_process_ms(kvm_min, NULL, NULL, (unsigned)nprocs);
	if (min_ms < 0)
		return 1;
	printf("minimal KVM program (create a VM, one exit, end; %lu runs): %.2f ms median  [floor]\n",
	       nprocs, min_ms);

	bench_start_hv(PROG);
	bench_start_xenstored(PROG);   /* kxl create introduces domains */

	/* (2) */
	struct kxctl_dominfo hi;
	double hc_ns = run_hypercall_guest(ncalls, &hi);
	double hc_us = hc_ns / 1000.0;
	printf("null hypercall (xen_version, %lu calls in the guest): %.2f us = %.2fx bare exit\n",
	       ncalls, hc_us, hc_us / bare_us);
	printf("  whole hypercall-bench domain: %llu exits, %llu hypercalls, %.3f exits per hypercall\n",
	       (unsigned long long)hi.exits, (unsigned long long)hi.hypercalls,
	       hi.hypercalls ? (double)hi.exits / (double)hi.hypercalls : 0.0);

	/* (3) both ways the ping can wait for the echo. */
	static const char *const modes[] = { "poll", "upcall" };
	struct pingpong pp[2];
	for (int m = 0; m < 2; m++) {
		if (run_pingpong(modes[m], nrounds, &pp[m]) < 0) {
			bench_keep_log();
			return 1;
		}
		printf("event ping-pong (%s, %lu rounds): %.1f us median = %.2fx bare exit, %lu round trips/s "
		       "(a round trip is 2 sends + 2 wakeups)\n", modes[m], pp[m].rounds, pp[m].median_us,
		       pp[m].median_us / bare_us, pp[m].rate);
		printf("  both domains: %llu exits, %llu hypercalls, %llu events; %.2f exits and %.2f hypercalls "
		       "per round trip (boot included)\n",
		       (unsigned long long)pp[m].exits, (unsigned long long)pp[m].hypercalls,
		       (unsigned long long)pp[m].events, (double)pp[m].exits / (double)pp[m].rounds,
		       (double)pp[m].hypercalls / (double)pp[m].rounds);
		printf("  exits per event sent: %.3f (%llu of %lu sends exited; the rest rang the doorbell)\n",
		       (double)pp[m].sends_exit / (2.0 * (double)pp[m].rounds),
		       (unsigned long long)pp[m].sends_exit, 2 * pp[m].rounds);
	}

	/* (4) a send to dom0, against the doorbell floor. */
	double send_exits;
	double send_ns = run_dom0_send(nrounds, &send_exits);
	printf("send to a dom0 port (%lu sends in the guest): %.2f us = %.2fx doorbell floor = %.2fx bare exit, "
	       "%.3f exits per send\n", nrounds, send_ns / 1000.0, send_ns / bell_ns, send_ns / bare_ns, send_exits);

	/* (5) kxl create -F hello as a whole command, against the minimal KVM program. */
	snprintf(xml, sizeof(xml), "%s/hello.xml", bench_hv.dir);
	if (bench_write_hello_xml(xml, "hello-F", 4) < 0)
		return 1;
	double kxl_ms = whole_process_ms(kvm_min, kxl, xml, (unsigned)nprocs);
	if (kxl_ms < 0) {
		bench_keep_log();
		return 1;
	}
	printf("kxl create -F hello (whole command, %lu runs): %.2f ms median = %.2fx the minimal KVM program\n",
	       nprocs, kxl_ms, kxl_ms / min_ms);

	printf("RESULT bench_hypercall trap_ratio=%.3f doorbell_ratio=%.3f kvm_min_ms=%.2f dom0_send_us=%.2f "
	       "dom0_send_doorbell_ratio=%.2f dom0_send_exits=%.3f kxl_create_F_ms=%.2f kxl_create_F_ratio=%.2f "
	       "pingpong_poll_ratio=%.2f pingpong_exits_per_send=%.3f\n",
	       trap_ns / bare_ns, bell_ns / bare_ns, min_ms, send_ns / 1000.0, send_ns / bell_ns, send_exits,
	       kxl_ms, kxl_ms / min_ms, pp[0].median_us / bare_us,
	       (double)pp[0].sends_exit / (2.0 * (double)pp[0].rounds));
	printf("RESULT bench_hypercall bare_exit_us=%.3f bare_exit_sync_us=%.3f null_hypercall_us=%.3f "
	       "null_hypercall_ratio=%.2f exits_per_hypercall=%.3f pingpong_poll_median_us=%.1f "
	       "pingpong_poll_rate=%lu pingpong_upcall_median_us=%.1f pingpong_upcall_rate=%lu\n",
	       bare_us, bare_sync_ns / 1000.0, hc_us, hc_us / bare_us,
	       hi.hypercalls ? (double)hi.exits / (double)hi.hypercalls : 0.0,
	       pp[0].median_us, pp[0].rate, pp[1].median_us, pp[1].rate);
	return 0;
}
