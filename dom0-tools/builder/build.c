/* Builds a xenpv domain through kxen-hv: loads the kernel, writes the layout and start_info, starts vCPU 0. */
/* A toolstack uses the current Xen interface; the legacy default would rename console_evtchn. */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include "builder_int.h"
#include "kxen/kxbuild.h"
#include "kxen/kxbuild_pv.h"

#define MAX_KERNEL_BYTES (64UL << 20)
#define MAX_INITRD_BYTES (1UL << 30)

/* What a build holds at any moment, so one cleanup path can undo it all. */
struct build {
	kxctrl *h;
	const struct kxbuild_config *cfg;
	char *err;
	size_t errlen;
	uint8_t *file;
	size_t file_len;
	uint8_t *unwrapped;         /* a bzImage's decompressed ELF, else NULL */
	const uint8_t *elf;         /* the ELF kernel: file or unwrapped */
	size_t elf_len;
	uint8_t *initrd;
	size_t initrd_len;
	struct kxbuild_inspect in;
	struct kxbuild_image img;
	uint32_t domid;
	int created;
	int memfd;
	uint8_t *ram;
};

#define fail KXBUILD_FAIL

/*
 * event_channel_op with EVTCHNOP_send and a pointer the guest can read at
 * CPL 3 (RAM above the reserved pages, below min(RAM, 2 GiB) so the bound
 * fits an imm32): load the port and write it to the doorbell (abi.h's
 * contract); anything else takes the full hypercall. 31 bytes here, and 7
 * in the int3 padding of the next stub (reached by a jump, never called).
 */
static void fill_doorbell_stub(uint8_t *s, uint64_t mem_bytes)
{
	uint64_t top = mem_bytes < (2ULL << 30) ? mem_bytes : (2ULL << 30);
	uint32_t neg_low = (uint32_t)-(int32_t)KXEN_PV_RESERVED_END;
	uint32_t span = (uint32_t)(top - KXEN_PV_RESERVED_END - sizeof(evtchn_port_t));
	uint32_t nr = __HYPERVISOR_event_channel_op;
	uint8_t *t = s + KXEN_HYPERCALL_STUB_SIZE + 8;   /* after the next stub's mov/out/ret */
	const uint8_t head[] = {
		0x48, 0x83, 0xff, EVTCHNOP_send,     /*  0: cmp $EVTCHNOP_send,%rdi */
		0x75, 0x11,                          /*  4: jne 23 (full hypercall) */
		0x48, 0x8d, 0x86, 0, 0, 0, 0,        /*  6: lea -RESERVED_END(%rsi),%rax */
		0x48, 0x3d, 0, 0, 0, 0,              /* 13: cmp $span,%rax */
		0x77, 0x02,                          /* 19: ja 23 */
		0xeb, 0x11,                          /* 21: jmp 40 (the tail) */
		0xb8, 0, 0, 0, 0,                    /* 23: mov $nr,%eax */
		0xe7, KXEN_HYPERCALL_PORT,           /* 28: out %eax,$hypercall */
		0xc3,                                /* 30: ret */
	};
	const uint8_t tail[] = {
		0x8b, 0x06,                          /* 40: mov (%rsi),%eax */
		0xe7, KXEN_DOORBELL_PORT,            /* 42: out %eax,$doorbell */
		0x31, 0xc0,                          /* 44: xor %eax,%eax (skipped on an exit) */
		0xc3,                                /* 46: ret */
	};

	memcpy(s, head, sizeof head);
	memcpy(s + 9, &neg_low, 4);
	memcpy(s + 15, &span, 4);
	memcpy(s + 24, &nr, 4);
	memcpy(t, tail, sizeof tail);
}

void kxbuild_fill_hypercall_page(uint8_t *page, uint64_t mem_bytes)
{
	/* pop %rax; pop %r11; pop %rcx; add $8,%rsp (flags); iretq: Xen's iret_context. */
	static const uint8_t iret_stub[] = {
		0x58, 0x41, 0x5b, 0x59, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf,
	};
	unsigned n;

	/* int3 padding: a call into the middle of a stub traps instead of sliding on. */
	memset(page, 0xcc, KXEN_PAGE_SIZE);
	for (n = 0; n < KXEN_PAGE_SIZE / KXEN_HYPERCALL_STUB_SIZE; n++) {
		uint8_t *s = page + n * KXEN_HYPERCALL_STUB_SIZE;
		uint32_t nr = n;

		if (n == __HYPERVISOR_iret) {
			memcpy(s, iret_stub, sizeof iret_stub);
			continue;
		}
		s[0] = 0xb8;                    /* mov $nr,%eax */
		memcpy(s + 1, &nr, 4);
		s[5] = 0xe7;                    /* out %eax,$port */
		s[6] = KXEN_HYPERCALL_PORT;
		s[7] = 0xc3;                    /* ret */
	}
	fill_doorbell_stub(page + __HYPERVISOR_event_channel_op * KXEN_HYPERCALL_STUB_SIZE, mem_bytes);
}

/* Reads a whole regular file of at most max bytes into a malloc'd *buf; what names it in messages. */
static int read_file(struct build *b, const char *what, const char *path, uint64_t max,
                     uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc;

	if (!path || !*path)
		return fail(b, -EINVAL, "no %s given", what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return fail(b, rc, "%s '%s': %s", what, path, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		fail(b, rc, "%s '%s': %s", what, path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(b, -EINVAL, "%s '%s': not a regular file", what, path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = fail(b, -EFBIG, "%s '%s': %lld bytes, the limit is %llu", what, path,
		          (long long)st.st_size, (unsigned long long)max);
		goto out;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		rc = fail(b, -ENOMEM, "%s '%s': %s", what, path, strerror(ENOMEM));
		goto out;
	}
	while (got < *len) {
		ssize_t n = read(fd, *buf + got, *len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			fail(b, rc, "%s '%s': %s", what, path, strerror(-rc));
			goto out;
		}
		if (n == 0) {
			rc = fail(b, -EIO, "%s '%s': shrank while being read", what, path);
			goto out;
		}
		got += (size_t)n;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Rejects what the hypervisor would reject anyway, before a domain exists. */
static int check_config(struct build *b)
{
	const struct kxbuild_config *cfg = b->cfg;
	size_t cmdlen = cfg->cmdline ? strlen(cfg->cmdline) : 0;

	if (!cfg->name || !*cfg->name)
		return fail(b, -EINVAL, "domain has no name");
	if (strlen(cfg->name) >= KXCTL_NAME_MAX)
		return fail(b, -EINVAL, "domain name '%s' is longer than %d bytes", cfg->name,
		            KXCTL_NAME_MAX - 1);
	if (cfg->mem_bytes % KXEN_LARGE_PAGE_SIZE || cfg->mem_bytes < KXEN_PV_MIN_MEM ||
	    cfg->mem_bytes > KXEN_PV_MAX_MEM)
		return fail(b, -EINVAL, "domain '%s': memory %llu bytes is not a multiple of 2 MiB "
		            "between %lu MiB and %lu GiB", cfg->name,
		            (unsigned long long)cfg->mem_bytes, KXEN_PV_MIN_MEM >> 20,
		            KXEN_PV_MAX_MEM >> 30);
	if (cfg->vcpus == 0 || cfg->vcpus > KXEN_PV_MAX_VCPUS)
		return fail(b, -EINVAL, "domain '%s': %u vCPUs, must be 1 to %d", cfg->name,
		            cfg->vcpus, KXEN_PV_MAX_VCPUS);
	if (cmdlen >= MAX_GUEST_CMDLINE)
		return fail(b, -E2BIG, "domain '%s': command line is %zu bytes, the limit is %d",
		            cfg->name, cmdlen, MAX_GUEST_CMDLINE - 1);
	return 0;
}

/* The most vCPUs a Linux guest is tested with on kxen (tests/integration/linux_smp.sh). */
#define LINUX_TESTED_VCPUS 2

const char *kxbuild_direct_paging_refusal(unsigned vcpus)
{
	return vcpus > LINUX_TESTED_VCPUS ? "Linux PV guests are tested on kxen with up to 2 vCPUs: "
	                                    "set <vcpu> to 2 or fewer; see docs/linux-pv.md" : NULL;
}

/*
 * Everything that needs no domain: reads the kernel, unwraps a bzImage,
 * tells the two kinds apart, checks the image, reads the initrd and, for a
 * direct-paging kernel, plans the layout. Fills b->in.
 */
static int load_image(struct build *b)
{
	const struct kxbuild_config *cfg = b->cfg;
	uint64_t cap = cfg->mem_bytes;
	char perr[KXBUILD_ERR_MAX];
	int rc;

	if ((rc = check_config(b)) ||
	    (rc = read_file(b, "kernel", cfg->kernel, MAX_KERNEL_BYTES, &b->file, &b->file_len)))
		return rc;
	rc = kxbuild_kernel_unwrap(b->file, b->file_len, cap, &b->unwrapped, &b->elf_len,
	                           b->in.format, sizeof b->in.format, perr, sizeof perr);
	if (rc)
		return fail(b, rc, "kernel '%s': %s", cfg->kernel, perr);
	b->elf = b->unwrapped ? b->unwrapped : b->file;
	if (!b->unwrapped)
		b->elf_len = b->file_len;
	rc = kxbuild_elf_kind(b->elf, b->elf_len, perr, sizeof perr);
	if (rc < 0)
		return fail(b, rc, "kernel '%s': %s", cfg->kernel, perr);
	b->in.kind = rc;
	if (b->in.kind == KXBUILD_KIND_AUTOTRANSLATED) {
		if (cfg->initrd)
			return fail(b, -EINVAL, "initrd '%s': kernel '%s' is kxen's own (auto-translated) "
			            "kind, which takes no initrd", cfg->initrd, cfg->kernel);
		rc = kxbuild_elf_parse(b->elf, b->elf_len, cfg->mem_bytes, &b->img, perr, sizeof perr);
		if (rc)
			return fail(b, rc, "kernel '%s': %s", cfg->kernel, perr);
		return 0;
	}
	rc = kxbuild_pvlinux_parse(b->elf, b->elf_len, cfg->mem_bytes, &b->in.pv, perr, sizeof perr);
	if (rc)
		return fail(b, rc, "kernel '%s': %s", cfg->kernel, perr);
	if (cfg->initrd &&
	    (rc = read_file(b, "initrd", cfg->initrd,
	                    cap < MAX_INITRD_BYTES ? cap : MAX_INITRD_BYTES, &b->initrd,
	                    &b->initrd_len)))
		return rc;
	if (cfg->initrd && b->initrd_len == 0)
		return fail(b, -EINVAL, "initrd '%s': empty file", cfg->initrd);
	rc = kxbuild_pv_plan_current(&b->in.pv, cfg->mem_bytes, cfg->cur_mem_bytes, b->initrd_len,
	                             &b->in.plan, perr, sizeof perr);
	if (rc && cfg->cur_mem_bytes && cfg->cur_mem_bytes < cfg->mem_bytes)
		return fail(b, rc, "kernel '%s'%s%s in <currentMemory> (%llu KiB): %s", cfg->kernel,
		            cfg->initrd ? " with initrd " : "", cfg->initrd ? cfg->initrd : "",
		            (unsigned long long)(cfg->cur_mem_bytes >> 10), perr);
	if (rc)
		return fail(b, rc, "kernel '%s'%s%s: %s", cfg->kernel, cfg->initrd ? " with initrd " : "",
		            cfg->initrd ? cfg->initrd : "", perr);
	return 0;
}

static void release(struct build *b)
{
	free(b->file);
	free(b->unwrapped);
	free(b->initrd);
}

int kxbuild_inspect(const struct kxbuild_config *cfg, struct kxbuild_inspect *out,
                    char *err, size_t errlen)
{
	struct build b = { .cfg = cfg, .err = err, .errlen = errlen, .memfd = -1 };
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = cfg ? load_image(&b) : fail(&b, -EINVAL, "no configuration");
	if (rc == 0) {
		*out = b.in;
		out->img = b.img;
	}
	release(&b);
	return rc;
}

static int create_domain(struct build *b)
{
	const struct kxbuild_config *cfg = b->cfg;
	struct kxctl_domain_create req;
	struct stat st;
	int rc;

	memset(&req, 0, sizeof req);
	memcpy(req.name, cfg->name, strlen(cfg->name));
	if (cfg->uuid)
		memcpy(req.uuid, cfg->uuid, sizeof req.uuid);
	req.mem_bytes = cfg->mem_bytes;
	req.max_vcpus = cfg->vcpus;
	req.on_poweroff = cfg->on_poweroff;
	req.on_reboot = cfg->on_reboot;
	req.on_crash = cfg->on_crash;
	req.wallclock_offset_s = cfg->wallclock_offset_s;
	req.max_grant_frames = cfg->max_grant_frames;
	rc = kxctrl_domain_create(b->h, &req, &b->domid, &b->memfd);
	if (rc)
		return fail(b, rc, "kxen-hv: create domain '%s': %s", cfg->name, strerror(-rc));
	b->created = 1;
	/* A short memfd would turn a bad reply into SIGBUS while we write. */
	if (fstat(b->memfd, &st) < 0) {
		rc = -errno;
		return fail(b, rc, "domain '%s': memory fd: %s", cfg->name, strerror(-rc));
	}
	if ((uint64_t)st.st_size < cfg->mem_bytes)
		return fail(b, -EIO, "domain '%s': memory fd holds %lld bytes, expected %llu",
		            cfg->name, (long long)st.st_size, (unsigned long long)cfg->mem_bytes);
	b->ram = mmap(NULL, cfg->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->ram == MAP_FAILED) {
		b->ram = NULL;
		rc = -errno;
		return fail(b, rc, "domain '%s': map guest memory: %s", cfg->name, strerror(-rc));
	}
	return 0;
}

static void load_kernel(struct build *b)
{
	unsigned i;

	for (i = 0; i < b->img.nr_segments; i++) {
		const struct kxbuild_segment *s = &b->img.seg[i];

		memcpy(b->ram + s->paddr, b->elf + s->offset, s->filesz);
		memset(b->ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
	kxbuild_fill_hypercall_page(b->ram + b->img.hypercall_page, b->cfg->mem_bytes);
}

static int alloc_evtchn(struct build *b, const char *what, uint32_t *port)
{
	int rc = kxctrl_evtchn_alloc_unbound(b->h, b->domid, 0, port);

	if (rc)
		return fail(b, rc, "kxen-hv: domain '%s': allocate %s event channel: %s",
		            b->cfg->name, what, strerror(-rc));
	return 0;
}

static int write_start_info(struct build *b, struct kxbuild_result *res)
{
	uint64_t base = b->img.load_end;
	start_info_t *si;
	int rc;

	res->start_info_gpa = base + KXBUILD_PG_START_INFO * KXEN_PAGE_SIZE;
	res->shared_info_gpa = base + KXBUILD_PG_SHARED_INFO * KXEN_PAGE_SIZE;
	res->store_pfn = base / KXEN_PAGE_SIZE + KXBUILD_PG_STORE;
	res->console_pfn = base / KXEN_PAGE_SIZE + KXBUILD_PG_CONSOLE;
	/* kxen-hv hands out zeroed RAM; clearing here keeps this file's contract self-evident. */
	memset(b->ram + base, 0, (uint64_t)KXBUILD_SPECIAL_PAGES * KXEN_PAGE_SIZE);

	if ((rc = alloc_evtchn(b, "xenstore", &res->store_evtchn)) ||
	    (rc = alloc_evtchn(b, "console", &res->console_evtchn)))
		return rc;

	si = (start_info_t *)(b->ram + res->start_info_gpa);
	snprintf(si->magic, sizeof si->magic, "xen-3.0-x86_64");
	si->nr_pages = b->cfg->mem_bytes / KXEN_PAGE_SIZE;
	si->shared_info = res->shared_info_gpa;
	si->flags = 0;
	si->store_mfn = res->store_pfn;
	si->store_evtchn = res->store_evtchn;
	si->console.domU.mfn = res->console_pfn;
	si->console.domU.evtchn = res->console_evtchn;
	si->pt_base = KXEN_PV_PML4;
	si->nr_pt_frames = KXEN_PV_NR_PT_FRAMES(b->cfg->mem_bytes);
	si->mfn_list = 0;
	si->mod_start = 0;
	si->mod_len = 0;
	if (b->cfg->cmdline)
		memcpy(si->cmd_line, b->cfg->cmdline, strlen(b->cfg->cmdline));  /* length checked */
	return 0;
}

/* kxen's own guest: builder-owned identity map and descriptors, the kernel, start_info. */
static int fill_autotranslated(struct build *b, struct kxbuild_result *res,
                               struct kxctl_set_boot *boot)
{
	const struct kxbuild_config *cfg = b->cfg;
	int rc = kxbuild_write_layout(b->ram, cfg->mem_bytes, cfg->vcpus);

	if (rc)
		return fail(b, rc, "domain '%s': write page tables and descriptors: %s",
		            cfg->name, strerror(-rc));
	load_kernel(b);
	if ((rc = write_start_info(b, res)))
		return rc;
	boot->entry = b->img.entry;
	boot->stack = b->img.load_end + (uint64_t)KXBUILD_SPECIAL_PAGES * KXEN_PAGE_SIZE;
	boot->rsi = res->start_info_gpa;
	return 0;
}

/* A direct-paging kernel: the planned libxc layout; vCPU 0's registers are virtual addresses. */
static int fill_direct(struct build *b, struct kxbuild_result *res, struct kxctl_set_boot *boot)
{
	const struct kxbuild_pv_plan *p = &b->in.plan;
	struct kxbuild_pv_boot pb = { .cmdline = b->cfg->cmdline };
	int rc;

	if ((rc = alloc_evtchn(b, "xenstore", &res->store_evtchn)) ||
	    (rc = alloc_evtchn(b, "console", &res->console_evtchn)))
		return rc;
	pb.store_evtchn = res->store_evtchn;
	pb.console_evtchn = res->console_evtchn;
	kxbuild_pv_write(b->ram, p, &b->in.pv, b->elf, b->initrd, b->initrd_len, &pb);
	res->start_info_gpa = p->start_info_pfn * KXEN_PAGE_SIZE;
	res->shared_info_gpa = p->shared_info_pfn * KXEN_PAGE_SIZE;
	res->store_pfn = p->store_pfn;
	res->console_pfn = p->console_pfn;
	res->direct_paging = 1;
	res->cr3 = p->cr3;
	boot->cr3 = p->cr3;
	boot->entry = p->entry;
	boot->stack = p->stack_top;
	boot->rsi = p->start_info_va;
	return 0;
}

static int build(struct build *b, struct kxbuild_result *res, int force)
{
	const struct kxbuild_config *cfg = b->cfg;
	struct kxctl_set_boot boot;
	const char *why;
	int rc;

	if ((rc = load_image(b)))
		return rc;
	/* Linux is refused what kxen-hv would let it crash on, before any domain exists. */
	if (b->in.kind == KXBUILD_KIND_DIRECT_PAGING && !force &&
	    (why = kxbuild_direct_paging_refusal(cfg->vcpus)))
		return fail(b, -EOPNOTSUPP, "domain '%s': kernel '%s' (%s, guest OS %s) with %u vCPUs: %s",
		            cfg->name, cfg->kernel, b->in.format,
		            b->in.pv.guest_os[0] ? b->in.pv.guest_os : "?", cfg->vcpus, why);
	if ((rc = create_domain(b)))
		return rc;
	res->domid = b->domid;
	memset(&boot, 0, sizeof boot);
	rc = b->in.kind == KXBUILD_KIND_DIRECT_PAGING ? fill_direct(b, res, &boot) :
	     fill_autotranslated(b, res, &boot);
	if (rc)
		return rc;
	boot.domid = b->domid;
	boot.shared_info_gpa = res->shared_info_gpa;
	boot.start_info_gpa = res->start_info_gpa;
	rc = kxctrl_domain_set_boot(b->h, &boot);
	if (rc)
		return fail(b, rc, "kxen-hv: domain '%s': set boot state: %s", cfg->name,
		            strerror(-rc));
	/* Our mapping is not needed to run the guest; drop it before it can run. */
	munmap(b->ram, cfg->mem_bytes);
	b->ram = NULL;
	close(b->memfd);
	b->memfd = -1;
	if (!cfg->paused && (rc = kxctrl_domain_unpause(b->h, b->domid)))
		return fail(b, rc, "kxen-hv: domain '%s': unpause: %s", cfg->name, strerror(-rc));
	return 0;
}

static int domain(kxctrl *h, const struct kxbuild_config *cfg, struct kxbuild_result *res,
                  char *err, size_t errlen, int force)
{
	struct build b = { .h = h, .cfg = cfg, .err = err, .errlen = errlen, .memfd = -1 };
	struct kxbuild_result r;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(&r, 0, sizeof r);
	if (!h || !cfg)
		rc = fail(&b, -EINVAL, "no control handle or configuration");
	else
		rc = build(&b, &r, force);
	if (b.ram)
		munmap(b.ram, cfg->mem_bytes);
	if (b.memfd >= 0)
		close(b.memfd);
	/* Leave nothing half-built behind; the first error is the one worth reporting. */
	if (rc && b.created)
		kxctrl_domain_destroy(h, b.domid);
	release(&b);
	if (rc == 0 && res)
		*res = r;
	return rc;
}

int kxbuild_domain(kxctrl *h, const struct kxbuild_config *cfg,
                   struct kxbuild_result *res, char *err, size_t errlen)
{
	return domain(h, cfg, res, err, errlen, 0);
}

int kxbuild_domain_force(kxctrl *h, const struct kxbuild_config *cfg,
                         struct kxbuild_result *res, char *err, size_t errlen)
{
	return domain(h, cfg, res, err, errlen, 1);
}
