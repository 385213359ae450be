/* libkxbuild: the dom0 domain builder for xenpv guests (ELF loading, address space, start_info). */
#ifndef KXBUILD_H
#define KXBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <kxen/abi.h>
#include "kxctrl.h"

#define KXBUILD_MAX_SEGMENTS 16
#define KXBUILD_ERR_MAX 256

/*
 * Pages the builder places right after the kernel's load_end, in this order
 * (page index relative to load_end); free RAM begins after the boot stack.
 */
#define KXBUILD_PG_START_INFO  0
#define KXBUILD_PG_SHARED_INFO 1
#define KXBUILD_PG_STORE       2
#define KXBUILD_PG_CONSOLE     3
#define KXBUILD_PG_BOOT_STACK  4
#define KXBUILD_SPECIAL_PAGES  (KXBUILD_PG_BOOT_STACK + KXEN_PV_BOOT_STACK_PAGES)

struct kxbuild_segment {
	uint64_t paddr;     /* load address (guest physical == virtual) */
	uint64_t filesz, memsz;
	uint64_t offset;    /* in the file */
};

/* What the builder needs from a kernel image, checked against the guest's RAM. */
struct kxbuild_image {
	uint64_t entry;            /* XEN_ELFNOTE_ENTRY (else e_entry) */
	uint64_t hypercall_page;   /* XEN_ELFNOTE_HYPERCALL_PAGE */
	uint64_t virt_base;        /* XEN_ELFNOTE_VIRT_BASE, 0 if absent */
	uint64_t load_end;         /* page-aligned end of the highest segment */
	char guest_os[32], xen_version[16], loader[16], features[256];
	unsigned nr_segments;
	struct kxbuild_segment seg[KXBUILD_MAX_SEGMENTS];
};

/*
 * Parses and validates an ELF64 x86_64 xenpv kernel of len bytes for a guest
 * with mem_bytes of RAM. Rejects truncated headers, segments outside the file
 * or RAM or below KXEN_PV_KERNEL_MIN, overlapping segments, missing or
 * malformed notes (ENTRY/HYPERCALL_PAGE/GUEST_OS/XEN_VERSION "xen-3.0"/LOADER
 * "generic"/FEATURES with auto_translated_physmap), absurd sizes. Returns 0,
 * or -EINVAL/-E2BIG/-ENOEXEC with a message naming the problem in err.
 */
int kxbuild_elf_parse(const void *file, size_t len, uint64_t mem_bytes,
                      struct kxbuild_image *img, char *err, size_t errlen);

/* A domain to build: everything the toolstack's config gives the builder. */
struct kxbuild_config {
	const char *name;
	const uint8_t *uuid;        /* 16 bytes, or NULL for all zero */
	uint64_t mem_bytes;
	uint64_t cur_mem_bytes;     /* direct-paging kernels: what they start with (<currentMemory>); 0: all */
	unsigned vcpus;             /* max vCPUs; vCPU 0 is started */
	const char *kernel;         /* path of the ELF image or bzImage */
	const char *initrd;         /* path of the initial ramdisk, or NULL (direct-paging kernels) */
	const char *cmdline;        /* may be NULL */
	unsigned on_poweroff, on_reboot, on_crash; /* enum kxctl_action */
	int paused;                 /* leave the domain paused after building */
	int32_t wallclock_offset_s; /* seconds kxen-hv adds to the guest's wallclock */
	unsigned max_grant_frames;  /* the domain's grant table limit; 0: kxen-hv's */
};

/* What the toolstack learns from a build (for xenstore, consoles, dumpxml). */
struct kxbuild_result {
	uint32_t domid;
	uint64_t start_info_gpa, shared_info_gpa;
	uint64_t store_pfn, console_pfn;
	uint32_t store_evtchn, console_evtchn;
	int direct_paging;          /* a Linux-style kernel: the addresses below are virtual */
	uint64_t cr3;               /* direct paging: the initial L4's guest-physical address */
};

/*
 * Builds and (unless cfg->paused) starts a domain through h. On any failure
 * the half-built domain is destroyed, nothing is left behind, and err names
 * the problem (file and reason).
 */
int kxbuild_domain(kxctrl *h, const struct kxbuild_config *cfg,
                   struct kxbuild_result *res, char *err, size_t errlen);

/*
 * kxbuild_domain without the kxbuild_direct_paging_refusal() check: builds
 * a direct-paging (Linux) kernel's domain of any vCPU count (set_boot gets
 * its virtual rip, rsp, rsi and the L4 in cr3). For tests.
 */
int kxbuild_domain_force(kxctrl *h, const struct kxbuild_config *cfg,
                         struct kxbuild_result *res, char *err, size_t errlen);

/*
 * Writes the builder-owned pages (page tables, GDT, IDT, TSSes, I/O bitmap,
 * fault stubs) of abi.h into ram (mem_bytes long). Exposed for unit tests.
 */
int kxbuild_write_layout(uint8_t *ram, uint64_t mem_bytes, unsigned vcpus);

/*
 * Fills one 4 KiB hypercall page: stub N at N*32 is `mov $N,%eax; out
 * %eax,$KXEN_HYPERCALL_PORT; ret`, except __HYPERVISOR_iret, which returns
 * from Xen's iret_context in ring 3 without an exit, and
 * __HYPERVISOR_event_channel_op, whose EVTCHNOP_send rings the doorbell
 * (abi.h's KXEN_DOORBELL_PORT) when its argument lies in user-readable RAM
 * below min(mem_bytes, 2 GiB), continuing in the padding of the next stub.
 * Exposed for unit tests.
 */
void kxbuild_fill_hypercall_page(uint8_t *page, uint64_t mem_bytes);

#endif
