/* The KVM layer: VMs, vCPUs, CPL-3 long-mode boot state, CPUID, and one guest entry with its exit decoded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "vcpu.h"
#include "domain.h"
#include "kvm.h"
#include "pvl.h"
#include "pvl_layout.h"

#define MSR_IA32_TSC 0x10
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

static int kvm_fd = -1;
static int vcpu_mmap_size;
static uint64_t tsc_khz;
static struct kvm_cpuid2 *cpuid_template;

static int pool_start(void);

uint64_t kvm_tsc_khz(void)
{
	return tsc_khz;
}

/* KVM's supported CPUID with its own signature leaves replaced by Xen's. */
static int cpuid_prepare(void)
{
	int n = 256;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)(n + 8) * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = (uint32_t)n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			unsigned out = 0;
			for (unsigned i = 0; i < c->nent; i++)
				if ((c->entries[i].function & 0xffff0000u) != 0x40000000u)
					c->entries[out++] = c->entries[i];
			/* "XenVMMXenVMM", version, and one hypercall page via MSR 0x40000000. */
			c->entries[out++] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
				.eax = 0x40000002, .ebx = 0x566e6558, .ecx = 0x65584d4d, .edx = 0x4d4d566e };
			c->entries[out++] = (struct kvm_cpuid_entry2){ .function = 0x40000001,
				.eax = (KXEN_VERSION_MAJOR << 16) | KXEN_VERSION_MINOR };
			c->entries[out++] = (struct kvm_cpuid_entry2){ .function = 0x40000002,
				.eax = 1, .ebx = 0x40000000 };
			c->nent = out;
			cpuid_template = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || n > 4096)
			return -errno;
		n *= 2;
	}
}

int kvm_init(char *why, size_t whylen)
{
	int vm = -1, vc = -1;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		snprintf(why, whylen, "cannot open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(why, whylen, "/dev/kvm has an unexpected API version");
		goto out;
	}
	if (!(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS)) {
		snprintf(why, whylen, "KVM lacks KVM_CAP_SYNC_REGS (needed for cheap hypercall exits)");
		goto out;
	}
	vcpu_mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu_mmap_size <= 0) {
		snprintf(why, whylen, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		goto out;
	}
	if (cpuid_prepare() < 0) {
		snprintf(why, whylen, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		goto out;
	}
	/* The TSC rate is per vCPU in KVM; a throwaway vCPU tells us the host's. */
	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm >= 0)
		vc = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vc >= 0) {
		int khz = ioctl(vc, KVM_GET_TSC_KHZ, 0);
		if (khz > 0)
			tsc_khz = (uint64_t)khz;
	}
	if (vc >= 0)
		close(vc);
	if (vm >= 0)
		close(vm);
	if (!tsc_khz) {
		snprintf(why, whylen, "cannot create a KVM vCPU to read the TSC rate: %s", strerror(errno));
		goto out;
	}
	if (pool_start() < 0) {
		snprintf(why, whylen, "cannot start the VM pool thread: %s", strerror(errno));
		goto out;
	}
	return 0;
out:
	close(kvm_fd);
	kvm_fd = -1;
	return -ENODEV;
}

/* Creates vCPU id of vm_fd with its kvm_run mapping and kxen's CPUID. */
static int vcpu_fd_create(int vm_fd, unsigned id, int *fd_out, void **run_out)
{
	size_t sz = sizeof(*cpuid_template) + cpuid_template->nent * sizeof(cpuid_template->entries[0]);
	struct kvm_cpuid2 *c;
	void *run;
	int fd, rc;

	fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	run = mmap(NULL, (size_t)vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	c = malloc(sz);
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(c, cpuid_template, sz);
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)   /* initial APIC id = vCPU id */
			c->entries[i].ebx = (c->entries[i].ebx & 0x00ffffffu) | (id << 24);
	rc = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	if (rc)
		goto out;
	*fd_out = fd;
	*run_out = run;
	return 0;
out:
	munmap(run, (size_t)vcpu_mmap_size);
	close(fd);
	return rc;
}

/*
 * A few VMs with vCPU 0 made ahead of time by a background thread: creating
 * them costs ~0.35 ms, which would otherwise sit inside every domain
 * creation (the "create to first output" path).
 */
#define POOL_SIZE 2

struct prebuilt {
	int vm_fd, vcpu_fd;
	void *run;
};

static struct prebuilt pool[POOL_SIZE];
static unsigned pool_len;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wants = PTHREAD_COND_INITIALIZER;

static int prebuild(struct prebuilt *p)
{
	int rc;

	p->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0)
		return -errno;
	fcntl(p->vm_fd, F_SETFD, FD_CLOEXEC);
	rc = vcpu_fd_create(p->vm_fd, 0, &p->vcpu_fd, &p->run);
	if (rc)
		close(p->vm_fd);
	return rc;
}

static void *pool_filler(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		while (pool_len == POOL_SIZE)
			pthread_cond_wait(&pool_wants, &pool_lock);
		pthread_mutex_unlock(&pool_lock);
		struct prebuilt p;
		int rc = prebuild(&p);
		pthread_mutex_lock(&pool_lock);
		if (rc == 0) {
			pool[pool_len++] = p;
		} else {
			/* Out of fds or memory: creations still work without the pool; retry later. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&pool_wants, &pool_lock, &ts);
		}
	}
	return NULL;
}

static int pool_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&t, &attr, pool_filler, NULL);
	pthread_attr_destroy(&attr);
	return -rc;
}

static bool pool_take(struct prebuilt *p)
{
	bool got = false;

	pthread_mutex_lock(&pool_lock);
	if (pool_len) {
		*p = pool[--pool_len];
		got = true;
	}
	pthread_cond_signal(&pool_wants);
	pthread_mutex_unlock(&pool_lock);
	return got;
}

int kvm_vm_create(struct domain *d)
{
	struct kvm_userspace_memory_region r;
	struct prebuilt p;

	if (pool_take(&p)) {
		d->vm_fd = p.vm_fd;
		d->vcpu0_fd = p.vcpu_fd;
		d->vcpu0_run = p.run;
	} else {
		d->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
		if (d->vm_fd < 0)
			return -errno;
		fcntl(d->vm_fd, F_SETFD, FD_CLOEXEC);
	}
	r = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = d->mem.size,
		.userspace_addr = (uint64_t)(uintptr_t)d->mem.base,
	};
	if (ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

int kvm_vm_add_region(struct domain *d, unsigned slot, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

void kvm_vm_destroy(struct domain *d)
{
	/* A prebuilt vCPU 0 that no struct vcpu took over (creation failed early). */
	if (d->vcpu0_run)
		munmap(d->vcpu0_run, (size_t)vcpu_mmap_size);
	if (d->vcpu0_fd >= 0)
		close(d->vcpu0_fd);
	d->vcpu0_run = NULL;
	d->vcpu0_fd = -1;
	if (d->vm_fd >= 0)
		close(d->vm_fd);
	d->vm_fd = -1;
}

int kvm_vcpu_create(struct vcpu *v)
{
	struct domain *d = v->d;

	v->run_size = (size_t)vcpu_mmap_size;
	if (v->id == 0 && d->vcpu0_fd >= 0) {
		v->fd = d->vcpu0_fd;
		v->run = d->vcpu0_run;
		d->vcpu0_fd = -1;
		d->vcpu0_run = NULL;
		return 0;
	}
	return vcpu_fd_create(d->vm_fd, v->id, &v->fd, &v->run);
}

void kvm_vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int kvm_ioeventfd(struct domain *d, uint32_t datamatch, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch, .addr = KXEN_DOORBELL_PORT, .len = 4, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
		         (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (d->vm_fd < 0)
		return -ENODEV;
	return ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = dpl, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

int kvm_vcpu_get_context(struct vcpu *v, vcpu_guest_context_t *ctx)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (v->fault_ctx_valid) {
		*ctx = v->fault_ctx;
		return 0;
	}
	memset(ctx, 0, sizeof(*ctx));
	if (v->fd < 0)
		return -ENODEV;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	struct cpu_user_regs *u = &ctx->user_regs;
	u->rax = r.rax; u->rbx = r.rbx; u->rcx = r.rcx; u->rdx = r.rdx;
	u->rsi = r.rsi; u->rdi = r.rdi; u->rbp = r.rbp; u->rsp = r.rsp;
	u->r8 = r.r8; u->r9 = r.r9; u->r10 = r.r10; u->r11 = r.r11;
	u->r12 = r.r12; u->r13 = r.r13; u->r14 = r.r14; u->r15 = r.r15;
	u->rip = r.rip;
	u->rflags = r.rflags;
	u->cs = s.cs.selector; u->ss = s.ss.selector; u->ds = s.ds.selector;
	u->es = s.es.selector; u->fs = s.fs.selector; u->gs = s.gs.selector;
	ctx->ctrlreg[0] = s.cr0;
	ctx->ctrlreg[2] = s.cr2;
	ctx->ctrlreg[3] = s.cr3;
	ctx->ctrlreg[4] = s.cr4;
	ctx->fs_base = s.fs.base;
	ctx->gs_base_user = s.gs.base;
	return 0;
}

unsigned kvm_tr_type(void)
{
	const char *e = getenv("KXEN_TCG_TR_TYPE9");

	return e && strcmp(e, "1") == 0 ? 9 : 11;
}

int kvm_vcpu_load_boot(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_sregs s;
	uint64_t tss = KXEN_PV_TSS_BASE + v->id * KXEN_PV_TSS_STRIDE;

	if (v->d->pvl)
		return pvl_kvm_load_boot(v);
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	s.efer = EFER_LME | EFER_LMA;
	s.cr3 = KXEN_PV_PML4;
	s.cs = seg(KXEN_SEL_USER_CS, 11, 3, true);
	s.ss = s.ds = s.es = s.fs = s.gs = seg(KXEN_SEL_USER_DS, 3, 3, false);
	s.gdt = (struct kvm_dtable){ .base = KXEN_PV_GDT, .limit = KXEN_GDT_ENTRIES * 8 - 1 };
	s.idt = (struct kvm_dtable){ .base = KXEN_PV_IDT, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = tss, .limit = (uint32_t)(KXEN_PV_IOBITMAP_END - 1 - tss),
	                             .selector = KXEN_SEL_TSS(v->id), .type = kvm_tr_type(), .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	memset(&run->s.regs.regs, 0, sizeof(run->s.regs.regs));
	run->s.regs.regs.rip = v->boot.rip;
	run->s.regs.regs.rsp = v->boot.rsp;
	run->s.regs.regs.rdi = v->boot.rdi;
	run->s.regs.regs.rsi = v->boot.rsi;
	run->s.regs.regs.rflags = 0x202;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

/* Reads the guest TSC and the host TSC back to back (vCPU thread only). */
/*
 * The guest's TSC (KVM_GET_MSRS) between two host reads: *host_tsc is the
 * later, *window how long the ioctl took. The guest's value was taken at a
 * host TSC inside the window, so guest - later host never exceeds the true
 * offset: a pvclock built on it is never ahead of the guest's own TSC.
 */
static int kvm_vcpu_read_tsc(struct vcpu *v, uint64_t *guest_tsc, uint64_t *host_tsc, uint64_t *window)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = {
		.h.nmsrs = 1, .e.index = MSR_IA32_TSC,
	};
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t before = ((uint64_t)hi << 32) | lo;
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	*host_tsc = ((uint64_t)hi << 32) | lo;
	*window = *host_tsc - before;
	*guest_tsc = m.e.data;
	return 0;
}

static int set_signal_mask(struct vcpu *v)
{
	struct { struct kvm_signal_mask m; uint8_t set[8]; } k;
	sigset_t set;

	/* SIG_KICK stays blocked in the thread but interrupts KVM_RUN. */
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	sigdelset(&set, SIG_KICK);
	k.m.len = 8;
	memcpy(k.set, &set, 8);
	return ioctl(v->fd, KVM_SET_SIGNAL_MASK, &k) < 0 ? -errno : 0;
}

static int kvm_setup(struct vcpu *v, char *why, size_t len)
{
	struct kvm_run *run = v->run;
	int rc = set_signal_mask(v);

	if (rc < 0) {
		snprintf(why, len, "KVM_SET_SIGNAL_MASK failed: %s", strerror(-rc));
		return rc;
	}
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	return 0;
}

static void measure_tsc_offset(struct vcpu *v)
{
	struct domain *d = v->d;
	uint64_t g, h, w, best = UINT64_MAX;

	if (d->tsc_offset_known)
		return;
	/*
	 * An offset too large puts pvclock's tsc_timestamp ahead of the guest's
	 * TSC: a read just after an update then scales a negative delta (Linux
	 * once marked its sched_clock stable at 7e18 ns). Too small by the
	 * window only runs the guest's clock that much early, steadily; the
	 * narrowest of a few windows keeps that small on a loaded host.
	 */
	for (int i = 0; i < 8; i++) {
		if (kvm_vcpu_read_tsc(v, &g, &h, &w) < 0)
			continue;
		if (w < best) {
			best = w;
			d->tsc_offset = (int64_t)(g - h);
			d->tsc_offset_known = true;
		}
	}
}

/* The boot context, with the guest's TSC offset measured first (pvclock needs it). */
static int kvm_boot(struct vcpu *v)
{
	measure_tsc_offset(v);
	return kvm_vcpu_load_boot(v);
}

static void kvm_get_frame(struct vcpu *v, struct vcpu_frame *f)
{
	const struct kvm_regs *r = &((struct kvm_run *)v->run)->s.regs.regs;

	*f = (struct vcpu_frame){ .rip = r->rip, .rsp = r->rsp, .rflags = r->rflags,
	                          .rcx = r->rcx, .r11 = r->r11 };
}

static void kvm_set_frame(struct vcpu *v, const struct vcpu_frame *f)
{
	struct kvm_run *run = v->run;

	run->s.regs.regs.rip = f->rip;
	run->s.regs.regs.rsp = f->rsp;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

static void kvm_set_result(struct vcpu *v, uint64_t rax)
{
	struct kvm_run *run = v->run;

	run->s.regs.regs.rax = rax;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

static void decode_io(struct vcpu *v, struct kvm_run *run, struct vcpu_exit *e)
{
	struct kvm_regs *r = &run->s.regs.regs;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == KXEN_HYPERCALL_PORT &&
	    run->io.count == 1) {
		e->kind = VCPU_EXIT_HYPERCALL;
		e->nr = r->rax;
		e->args[0] = r->rdi;
		e->args[1] = r->rsi;
		e->args[2] = r->rdx;
		e->args[3] = r->r10;
		e->args[4] = r->r8;
		return;
	}
	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == KXEN_DOORBELL_PORT &&
	    run->io.size == 4 && run->io.count == 1) {
		/* No ioeventfd took it: the full send, past the stub's in-kernel `xor %eax,%eax` (abi.h). */
		atomic_fetch_add(&v->d->doorbell_misses, 1);
		r->rip += 2;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		e->kind = VCPU_EXIT_HYPERCALL;
		e->nr = __HYPERVISOR_event_channel_op;
		e->args[0] = EVTCHNOP_send;
		e->args[1] = r->rsi;
		e->args[2] = e->args[3] = e->args[4] = 0;
		return;
	}
	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == KXEN_FAULT_PORT &&
	    run->io.size == 1) {
		struct kvm_sregs s;
		e->kind = VCPU_EXIT_FAULT;
		e->vector = data[0];
		e->regs = (struct fault_regs){
			.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx, .rsi = r->rsi,
			.rdi = r->rdi, .rbp = r->rbp, .rsp = r->rsp, .r8 = r->r8, .r9 = r->r9,
			.r10 = r->r10, .r11 = r->r11, .r12 = r->r12, .r13 = r->r13, .r14 = r->r14,
			.r15 = r->r15, .rip = r->rip, .rflags = r->rflags,
		};
		if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
			e->regs.cr2 = s.cr2;
		return;
	}
	if (v->d->pvl && run->io.port == PVL_FATAL_PORT) {
		pvl_fatal_exit(v, e);
		return;
	}
	e->kind = VCPU_EXIT_FATAL;
	snprintf(e->why, sizeof(e->why), "unexpected port I/O %s port %#x size %u at rip %#llx",
	         run->io.direction == KVM_EXIT_IO_OUT ? "write to" : "read from",
	         run->io.port, run->io.size, (unsigned long long)r->rip);
}

static void decode_exit(struct vcpu *v, struct kvm_run *run, struct vcpu_exit *e)
{
	unsigned long long rip = run->s.regs.regs.rip;

	e->kind = VCPU_EXIT_FATAL;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		decode_io(v, run, e);
		break;
	case KVM_EXIT_INTR:
		e->kind = VCPU_EXIT_NONE;
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(e->why, sizeof(e->why), "triple fault at rip %#llx", rip);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(e->why, sizeof(e->why),
		         "KVM internal error %u (an instruction KVM cannot emulate?) at rip %#llx",
		         run->internal.suberror, rip);
		break;
	case KVM_EXIT_MMIO:
		snprintf(e->why, sizeof(e->why), "access to unbacked guest-physical address %#llx at rip %#llx",
		         (unsigned long long)run->mmio.phys_addr, rip);
		break;
	case KVM_EXIT_HLT:
		snprintf(e->why, sizeof(e->why), "hlt at rip %#llx", rip);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(e->why, sizeof(e->why), "KVM entry failed (reason %#llx)",
		         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(e->why, sizeof(e->why), "unhandled KVM exit %u at rip %#llx", run->exit_reason, rip);
		break;
	}
}

/* A kick that interrupted KVM_RUN stays pending (the thread blocks it): consume it. */
static void eat_kick(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static int kvm_run_once(struct vcpu *v, struct vcpu_exit *e)
{
	struct kvm_run *run = v->run;

	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		int rc = -errno;
		if (rc == -EINTR || rc == -EAGAIN)
			eat_kick();
		return rc;
	}
	decode_exit(v, run, e);
	return 0;
}

const struct vcpu_run_ops kvm_vcpu_run_ops = {
	.setup = kvm_setup,
	.load_boot = kvm_boot,
	.get_frame = kvm_get_frame,
	.set_frame = kvm_set_frame,
	.set_result = kvm_set_result,
	.run = kvm_run_once,
};
