/* kxen's own xenpv guest ABI: I/O ports and the fixed layout of builder-owned guest pages. */
#ifndef KXEN_ABI_H
#define KXEN_ABI_H

/*
 * Everything here is shared by the domain builder (which writes guest
 * memory), kxen-hv (which sets vCPU state and decodes exits) and our guest
 * kernel. Xen's own structures come from <xen/...>; only what Xen leaves to
 * the hypervisor's discretion is defined here. docs/guest-abi.md explains it.
 *
 * Address space of a xenpv guest: guest virtual == guest physical for all
 * RAM. The guest runs at CPL 3; the page tables, GDT, IDT, TSSes and ring-0
 * exception stubs live in [KXEN_PV_RESERVED_START, KXEN_PV_RESERVED_END),
 * mapped supervisor-only so the guest can neither read nor change them.
 * Page 0 is not mapped, so a NULL dereference faults.
 */

/* Hypercall: `mov $nr,%eax; out %eax,$KXEN_HYPERCALL_PORT; ret`. */
#define KXEN_HYPERCALL_PORT   0xe4
/* Ring-0 exception stubs: `[push $0;] push %rax; mov $vector,%al; out %al,$KXEN_FAULT_PORT`. */
#define KXEN_FAULT_PORT       0xe8
/*
 * Event-channel doorbell: a 4-byte `out %eax,$KXEN_DOORBELL_PORT` with
 * %eax = an event-channel port P is EVTCHNOP_send on P. kxen-hv completes
 * it in the host kernel (a KVM ioeventfd) when P is bound to a dom0 backend
 * or to another guest, and otherwise takes the exit and performs the full
 * EVTCHNOP_send with the evtchn_send structure at %rsi, puts its result in
 * %rax and resumes 2 bytes after the `out`. So a caller must have %rsi
 * pointing at a struct evtchn_send holding P, and must follow the `out`
 * with a 2-byte instruction that gives the in-kernel result
 * (`xor %eax,%eax`, 0 as Xen returns for a send) which the exit path skips.
 * The builder's event_channel_op stub is such a caller (docs/guest-abi.md);
 * hypervisor/doorbell.h has kxen-hv's half.
 */
#define KXEN_DOORBELL_PORT    0xf0
/* Bytes per hypercall-page stub (Xen's layout: stub for hypercall N at N*32). */
#define KXEN_HYPERCALL_STUB_SIZE 32

#define KXEN_PAGE_SIZE        4096UL
#define KXEN_LARGE_PAGE_SIZE  (2UL << 20)

/* Guest RAM is a whole number of 2 MiB pages, at least 4 MiB, at most 16 GiB. */
#define KXEN_PV_MIN_MEM       (4UL << 20)
#define KXEN_PV_MAX_MEM       (16UL << 30)
#define KXEN_PV_MAX_VCPUS     32   /* XEN_LEGACY_MAX_VCPUS: vcpu_info lives in shared_info */

/* Builder-owned pages (all below 1 MiB, supervisor-only). */
#define KXEN_PV_RESERVED_START 0x1000UL
#define KXEN_PV_PML4          0x1000UL  /* cr3 */
#define KXEN_PV_PDPT          0x2000UL
#define KXEN_PV_PT0           0x3000UL  /* 4 KiB mappings of the first 2 MiB */
#define KXEN_PV_PD_BASE       0x4000UL  /* one page directory per GiB, 16 pages */
#define KXEN_PV_GDT           0x14000UL
#define KXEN_PV_IDT           0x15000UL
#define KXEN_PV_FAULT_STUBS   0x16000UL /* 256 stubs of 16 bytes */
#define KXEN_PV_FAULT_STUB_SIZE 16
#define KXEN_PV_TSS_BASE      0x17000UL /* TSS of vCPU i at base + i*KXEN_PV_TSS_STRIDE */
#define KXEN_PV_TSS_STRIDE    0x80UL
#define KXEN_PV_IOBITMAP      0x18000UL /* shared by all TSSes: 8192 bytes + 0xff terminator */
#define KXEN_PV_IOBITMAP_END  0x1a001UL
#define KXEN_PV_RING0_STACKS  0x20000UL /* vCPU i's ring-0 stack top: base + (i+1)*4096 */
#define KXEN_PV_RESERVED_END  0x40000UL
#define KXEN_PV_NR_PT_FRAMES(mem) (3UL + (((mem) + (1UL << 30) - 1) >> 30))

/* Lowest address a kernel segment may be loaded at. */
#define KXEN_PV_KERNEL_MIN    0x100000UL

/* GDT selectors. */
#define KXEN_SEL_KERNEL_CS    0x08
#define KXEN_SEL_KERNEL_DS    0x10
#define KXEN_SEL_USER_CS      0x1b    /* GDT[3], DPL 3, 64-bit */
#define KXEN_SEL_USER_DS      0x23    /* GDT[4], DPL 3 */
#define KXEN_SEL_TSS(i)       (0x30 + 16 * (i))  /* GDT[6 + 2i], 16-byte descriptor */
#define KXEN_GDT_ENTRIES      (6 + 2 * KXEN_PV_MAX_VCPUS)

/* Boot stack the builder places after the special pages; free RAM starts at its top. */
#define KXEN_PV_BOOT_STACK_PAGES 16

/*
 * Event upcall bounce frame (Xen x86_64 PV): at callback entry %rsp points at
 *   [rcx][r11][rip][cs][rflags][rsp][ss]
 * placed below the interrupted code's 128-byte red zone and 16-byte aligned
 * for the iret part. The guest pops rcx and r11 and returns with iretq.
 * Hypercall 23 (__HYPERVISOR_iret) in the hypercall page does exactly that
 * in ring 3, from Xen's struct iret_context, without an exit.
 */
#define KXEN_REDZONE_BYTES    128

#endif
