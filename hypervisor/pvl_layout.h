/* The Linux PV flavour's in-guest layer: kxen's region above RAM, its guest-virtual slots, and its data offsets (C and assembler). */
#ifndef KXEN_HV_PVL_LAYOUT_H
#define KXEN_HV_PVL_LAYOUT_H

/*
 * kxen's region: guest-physical frames just above the domain's RAM, in a
 * KVM memory slot of their own, so Linux never sees them as RAM (its
 * nr_pages and memory map end below). Pages shared by the domain first:
 */
#define PVL_PG_L3K       0    /* slot 257, kernel variant */
#define PVL_PG_L2K       1    /* entry 2i: vCPU i's common L1, 2i + 1: its kernel-variant L1 */
#define PVL_PG_L3U       2    /* slot 257, user variant */
#define PVL_PG_L2U       3    /* entry 2i: vCPU i's common L1, 2i + 1: its user-variant L1 */
#define PVL_PG_AL_L3     4    /* slot 259: kxen's read-write alias of RAM, by 2 MiB pages */
#define PVL_PG_AL_L2     5    /* 16 pages: up to 16 GiB */
#define PVL_PG_M2P_L3    21   /* slot 258: the read-only M2P */
#define PVL_PG_M2P_L2    22
#define PVL_PG_MODEK     23   /* mode "kernel" (one byte = 1), in every vCPU's kernel variant */
#define PVL_PG_MODEU     24   /* mode "user" (= 0) */
#define PVL_PG_TEXT      28   /* the layer's text, mapped at every vCPU's base (position-independent) */
#define PVL_TEXT_PAGES   4
#define PVL_PG_VCPU0     (PVL_PG_TEXT + PVL_TEXT_PAGES)
/*
 * Then one block per vCPU. Each vCPU runs the same text at its own base,
 * PVL_KX_VA + id * PVL_VCPU_STRIDE (its LSTAR and IDT point there), so
 * every rip-relative reference of the layer reaches that vCPU's own IDT,
 * GDT, TSS, ring-0 stack, info and data pages: a vCPU's identity is the
 * copy of the text it runs, with no lookup (docs/linux-pv.md 3.3).
 */
#define PVL_VP_L1C       0    /* the common 2 MiB: text, then IDT..TSS below, read-only at CPL 3 */
#define PVL_VP_L1K       1    /* kernel variant of the next 2 MiB: mode "kernel", data, writable GDT */
#define PVL_VP_L1U       2    /* user variant of the next 2 MiB: mode "user" only */
#define PVL_VP_IDT       3    /* from here to the TSS, in this order, after the text in the common L1 */
#define PVL_VP_GDT       (PVL_VP_IDT + 1)     /* 16 pages: Linux's 14, Xen's reserved 2 */
#define PVL_VP_R0STK     (PVL_VP_GDT + 16)
#define PVL_VP_INFO      (PVL_VP_R0STK + 1)
#define PVL_VP_TSS       (PVL_VP_INFO + 1)    /* TSS, I/O bitmap: 3 pages */
#define PVL_VP_DATA      (PVL_VP_TSS + 3)     /* 2 pages */
#define PVL_VCPU_PAGES   (PVL_VP_DATA + 2)
#define PVL_COMMON_PAGES (PVL_TEXT_PAGES + PVL_VP_TSS + 3 - PVL_VP_IDT)
#define PVL_PG_V(id, k)  (PVL_PG_VCPU0 + (id) * PVL_VCPU_PAGES + (k))
#define PVL_PG_M2P_L1(nv) PVL_PG_V(nv, 0)     /* then the M2P's L1s, then the M2P itself */
#define PVL_MAX_VCPUS    32                   /* XEN_LEGACY_MAX_VCPUS; 2 L2 entries each */
#define PVL_VCPU_STRIDE  0x400000ull

/* Guest-virtual: kxen's L4 slots (Xen's hypervisor hole). */
/*
 * The M2P sits in slot 258, not at Xen's MACH2PHYS_VIRT_START (slot 256):
 * under kvm_pvm a guest's accesses through L4 slot 256 fault as not present
 * (the entry is never even marked accessed), whatever it holds; Linux takes
 * the M2P's place from XENMEM_machphys_mapping, so any slot of the hole does.
 */
#define PVL_SLOT_HOLE    256      /* the first of Xen's reserved slots 256-271 */
#define PVL_SLOT_KX      257
#define PVL_SLOT_M2P     258
#define PVL_SLOT_ALIAS   259
#define PVL_HOLE_VA      0xffff800000000000
#define PVL_M2P_VA       0xffff810000000000
#define PVL_KX_VA        0xffff808000000000
#define PVL_ALIAS_VA     0xffff818000000000
#define PVL_LINUX_DIRECT_VA 0xffff888000000000 /* Linux's direct map of RAM (no KASLR as a PV guest) */
#define PVL_ALIAS_MAX    (16UL << 30)

/* Offsets from PVL_KX_VA. */
#define PVL_TEXT_OFF     0x0000
#define PVL_IDT_OFF      (PVL_TEXT_PAGES * 0x1000)
#define PVL_GDT_OFF      (PVL_IDT_OFF + 0x1000)
#define PVL_R0TOP_OFF    (PVL_GDT_OFF + 0x11000)  /* the ring-0 stack's top */
#define PVL_INFO_OFF     PVL_R0TOP_OFF
#define PVL_TSS_OFF      (PVL_INFO_OFF + 0x1000)
#define PVL_MODE_OFF     0x200000
#define PVL_DATA_OFF     0x201000
#define PVL_GDTRW_OFF    0x203000  /* the GDT again, writable, in kernel L4s only: set_gdt/update_descriptor */

/* Selectors: Linux's GDT pages 0-13, Xen's reserved entries from 0xe000 (FLAT_RING3_* as Xen's). */
#define PVL_SEL_R0_CS    0xe008
#define PVL_SEL_R0_DS    0xe010
#define PVL_SEL_K_SS     0xe02b   /* FLAT_KERNEL_SS64 */
#define PVL_SEL_K_CS     0xe033   /* FLAT_KERNEL_CS64 */
#define PVL_SEL_TSS      0xe040
#define PVL_SEL_U_DS     0x2b     /* Linux's __USER_DS */
#define PVL_SEL_U_CS     0x33     /* Linux's __USER_CS */
#define PVL_SEL_U_CS32   0x23
#define PVL_GDT_LIMIT    0xffff

/* Ports the layer uses (open in its TSS's I/O bitmap, with kxen's hypercall port). */
#define PVL_FATAL_PORT   0xe9     /* the layer met something it cannot handle: record in the data page */

/* Info page (read-only at CPL 3; written by ring 0 or kxen-hv). */
#define I_KCR3   0x00   /* the kernel L4 in use */
#define I_UCR3   0x08   /* the user L4 in use (0: none yet) */
#define I_FLRIP  0x10   /* a remote flush (kxen-hv): where the vCPU resumes after the trampoline */
#define I_FLGEN  0x18   /*   the request it answers (kxen-hv) */
#define I_FLDONE 0x20   /*   the last request flushed (ring 0) */
#define I_LSRSP  0x28   /* the caller's rsp across a `syscall` that entered at CPL 0 (VMX/SVM; ring 0) */

/* Data page (kernel L4s only). */
#define D_KSP      0x000   /* stack_switch */
#define D_SYSCB    0x008   /* the syscall callback */
#define D_TRIP     0x010   /* a return to user mode across the CR3 switch */
#define D_TRFL     0x018
#define D_TRSP     0x020
#define D_TRAX     0x028
#define D_TRCX     0x030
#define D_TR11     0x038
#define D_SCR      0x040
#define D_ARG      0x048   /* the address ring 0 invalidates */
#define D_CR2      0x050   /* the exception record */
#define D_ERR      0x058
#define D_ERIP     0x060
#define D_ECS      0x068
#define D_EFL      0x070
#define D_VEC      0x078
#define D_ERSP     0x080
#define D_NRPAGES  0x088   /* Linux's RAM frames, its e820 (kxen-hv: pvl.ram_pages) */
#define D_VINFO    0x090   /* this vCPU's vcpu_info through the alias (kxen-hv keeps it current) */
#define D_GSK      0x098   /* the kernel GS base while a process runs */
#define D_GSU      0x0a0   /* the process GS base while the kernel runs */
#define D_WHY      0x0a8   /* why the layer stopped (PVL_WHY_*) */
#define D_NHC      0x0b0   /* counters: hypercalls handled in the guest */
#define D_NFWD     0x0b8   /*   forwarded to kxen-hv */
#define D_NEXC     0x0c0   /*   exceptions taken */
#define D_NEMUL    0x0c8   /*   instructions emulated */
#define D_NBOUNCE  0x0d0   /*   exceptions bounced to Linux */
#define D_NUFIX    0x0d8   /*   U-bit fixups */
#define D_HCNR     0x0e0   /* the last hypercall number */
#define D_SCR2     0x0e8   /* scratch for the bounce path */
#define D_SCR3     0x0f0
#define D_ESS      0x0f8   /* the exception record's ss */
#define D_GPR      0x100   /* 16 registers in encoding order (rax rcx rdx rbx rsp rbp rsi rdi r8-r15) */
#define D_FBVEC    0x180   /* the first exception other than #BP bounced to Linux: vector, rip, cr2, error */
#define D_FBRIP    0x188
#define D_FBCR2    0x190
#define D_FBERR    0x198
#define D_L4E_K257 0x1a0   /* the L4 entries kxen installs (kxen-hv fills them): slot 257 kernel variant */
#define D_L4E_U257 0x1a8   /*   slot 257 user variant */
#define D_L4E_M2P  0x1b0   /*   slot 258 */
#define D_L4E_AL   0x1b8   /*   slot 259 */
#define D_NRVCPUS  0x1c0   /* the domain's vCPUs (kxen-hv) */
#define D_GDTN     0x1c8   /* set_gdt: the number of frames (0-14) */
#define D_GDTF     0x1d0   /* ... and the frames, 14 x 8 bytes (to 0x240) */
#define D_HCCOUNT  0x240   /* per-hypercall counts, 64 x 8 bytes (to 0x440) */
#define D_EVCB     0x440   /* the event callback (callback_op, mirrored before forwarding) */
#define D_NEVENT   0x448   /* event upcalls the layer delivered */
#define D_VERSION  0x450   /* XENVER_version's answer (kxen-hv) */
#define D_NPTWR    0x458   /* kernel stores into read-only page tables the layer emulated (ptwr) */
#define D_SYSMASK  0x460   /* the syscall callback masks events (CALLBACKF_mask_events) */
#define D_NRFLUSH  0x468   /* flushes this vCPU asked kxen-hv to make on others (MULTI/ALL) */
#define D_NDBELL   0x470   /* EVTCHNOP_send rung as a doorbell (those KVM did not take exited: kxen-hv counts them) */
#define D_TRAPS    0x800   /* 256 handler addresses from set_trap_table */
#define D_XIDX     0x1000  /* resumes recorded so far (the ring's next slot, modulo PVL_XRING_N) */
#define D_XRING    0x1100  /* ring of the layer's resumes into Linux: {vector, rip, rflags, cr2} x PVL_XRING_N */
#define PVL_XRING_N 64
#define D_MSRSEEN  0x1a00  /* the MSRs Linux accessed, each once: index | 1 << 32 for a write (to 0x1c00) */
#define PVL_MSRSEEN_N 64
#define D_MSRRD    0x1c00  /* MSR reads the layer answers: {index, value} x PVL_MSRTAB_N, index 0 ends (kxen-hv) */
#define D_MSRWR    0x1d00  /* MSR writes it accepts and drops: {index, bits a write may set} x PVL_MSRTAB_N */
#define PVL_MSRTAB_N 16
#define PVL_MSR_PAT  0x050100070406ull  /* Xen's PAT (XEN_MSR_PAT): what a PV guest reads and runs with */
#define D_TRAPFL   0x1900  /* set_trap_table's flags byte per vector (to 0x1a00): 4 = mask events, as an interrupt gate */

#define PVL_HC_MAX 64

/* D_WHY values. */
#define PVL_WHY_EXCEPTION 1   /* an exception with no trap-table entry */
#define PVL_WHY_IRET      2   /* iret with a frame the layer refuses */
#define PVL_WHY_INT3      3   /* a guest int3 (no #BP bounce yet) */

#endif
