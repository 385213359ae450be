/* Layout shared by pvstep1.c and pvstep1_guest.S: guest-physical frames, kxen's virtual slots, data offsets. */
#ifndef PVSTEP1_H
#define PVSTEP1_H

/* Guest-physical layout. */
#define S1_KL4        0x1000   /* the kernel's L4 */
#define S1_UL4        0x2000   /* the process's L4 (Xen's NEW_USER_BASEPTR) */
#define S1_UPDPT      0x3000   /* user half, shared by both L4s as Linux does */
#define S1_UPD        0x4000
#define S1_UPT        0x5000   /* VA 0x400000: code, 0x401000: stack, 0x402000: the faulting page */
#define S1_KX_L3K     0x6000   /* slot 257 in the kernel's L4 */
#define S1_KX_L2K     0x7000
#define S1_KX_L3U     0x8000   /* slot 257 in the process's L4 */
#define S1_KX_L2U     0x9000
#define S1_KX_L1C     0xa000   /* kxen's common 2 MiB: text, IDT, GDT/TSS, ring-0 stack, info */
#define S1_KX_L1K     0xb000   /* kernel variant of the next 2 MiB: mode page "kernel", data */
#define S1_KX_L1U     0xc000   /* process variant: mode page "user" only */
#define S1_KHI_PDPT   0xd000   /* slot 511: the kernel image at 0xffffffff80000000 */
#define S1_KHI_PD     0xe000
#define S1_AL_PDPT    0x11000  /* slot 259: kxen's read-write alias of guest RAM */
#define S1_AL_PD      0x12000
#define S1_K_L3       0x13000  /* slot 510: a kernel area mapped by 4 KiB pages, entries without U */
#define S1_K_L2       0x14000
#define S1_K_L1       0x15000
#define S1_K_PAGE     0x16000
#define S1_KX_TEXT    0x20000  /* two pages */
#define S1_KX_IDT     0x22000
#define S1_KX_GDT     0x23000  /* GDT at +0, TSS at +0x800 */
#define S1_KX_R0STK   0x24000
#define S1_KX_INFO    0x25000  /* read-only to CPL 3: the L4s the ring-0 stubs load */
#define S1_KX_MODEK   0x26000
#define S1_KX_DATA    0x27000
#define S1_KX_MODEU   0x28000
#define S1_KX_TSS     0x29000  /* TSS and its I/O bitmap: three pages */
#define S1_K_TEXT     0x30000  /* the "kernel" */
#define S1_K_BOOT_STACK 0x3a000
#define S1_K_STACK_TOP 0x3c000
#define S1_K_RESULTS  0x3d000
#define S1_SHINFO     0x3e000
#define S1_U_TEXT     0x40000  /* the process */
#define S1_U_STACK    0x41000
#define S1_U_FAULT    0x42000  /* mapped by the kernel's #PF handler, unmapped on request */

/* Guest-virtual addresses. */
#define S1_KX_BASE    0xffff808000000000   /* L4 slot 257 */
#define S1_ALIAS      0xffff818000000000   /* L4 slot 259 */
#define S1_KHI        0xffffffff80000000   /* L4 slot 511, PDPT 510 */
#define S1_K_LOW      0xffffff0000000000   /* L4 slot 510 */
#define S1_U_VA       0x400000
#define S1_U_FAULT_VA 0x402000

#define S1_KX_IDT_OFF   0x2000
#define S1_KX_GDT_OFF   0x3000
#define S1_KX_TSS_OFF   0x6000
#define S1_KX_R0TOP_OFF 0x5000
#define S1_KX_INFO_OFF  0x5000
#define S1_KX_MODE_OFF  0x200000
#define S1_KX_DATA_OFF  0x201000

/* kxen info page (written by ring 0 or the VMM only). */
#define I_KCR3 0x00
#define I_UCR3 0x08

/* kxen per-vCPU data (kernel L4 only). */
#define D_KSP     0x000
#define D_SYSCB   0x008
#define D_TRIP    0x010
#define D_TRFL    0x018
#define D_TRSP    0x020
#define D_TRAX    0x028
#define D_TRCX    0x030
#define D_TR11    0x038
#define D_SCR     0x040
#define D_ARG     0x048
#define D_CR2     0x050
#define D_ERR     0x058
#define D_ERIP    0x060
#define D_ECS     0x068
#define D_EFL     0x070
#define D_VERSION 0x078
#define D_MEMSIZE 0x080
#define D_SHINFO  0x088
#define D_NINGUEST 0x090
#define D_NTRAPS  0x098
#define D_VEC     0x0a0
#define D_NEMUL   0x0a8
#define D_NUFIX   0x0b0
#define D_GSK     0x0b8   /* the kernel GS base while a process runs */
#define D_GSU     0x0c0   /* the process GS base while the kernel runs */
#define D_EVCB    0x0c8   /* the event callback (the VMM writes it when it is registered) */
#define D_NEVIN   0x0d0   /* events kxen delivered itself on iret */
#define D_TRAPS   0x100   /* 32 handler addresses from set_trap_table */

/* The kernel's results page. */
#define R_HC      0x00
#define R_FWD     0x08
#define R_VER     0x10
#define R_USYS    0x18
#define R_UPF     0x20
#define R_BAD     0x28
#define R_PFCOUNT 0x30
#define R_PFERR   0x38
#define R_PFCR2   0x40
#define R_SYSCOUNT 0x48
#define R_TTRC    0x50
#define R_ISOL    0x58
#define R_GS      0x60
#define R_CPUID   0x68
#define R_UFIX    0x70
#define R_T_CPUID 0x78
#define R_T_WRMSR 0x80
#define R_T_UFIX  0x88
#define R_EVENTS  0x90
#define R_EV_USER 0x98
#define R_GSBAD   0xa0

#define S1_N_HC   1000
#define S1_N_FWD  50
#define S1_N_SYS  200
#define S1_N_PF   100
#define S1_N_EMUL 100
#define S1_N_SPIN 50000000   /* a process busy loop for events to land in */

#define S1_FWD_PORT   0x12   /* kxen's in-guest layer forwards a hypercall to the VMM */
#define S1_FATAL_PORT 0x13   /* kxen's in-guest layer hit something it cannot handle */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct pvm_vm;

/* What the VMM did with the kicks that interrupted KVM_RUN. */
struct pvstep1_events {
	unsigned to_user, to_kernel;     /* upcalls delivered, by the mode they interrupted */
	unsigned in_kxen, masked;        /* left pending: rip inside kxen's layer, or events masked */
};

/* Starts a thread that interrupts the calling (vCPU) thread's KVM_RUN every 2 ms. */
int pvstep1__kick_start(void);
void pvstep1__kick_stop(void);
/*
 * At a kick: pushes Xen's event frame and enters the kernel's event callback
 * `cb`, switching to the kernel's L4 and stack if a process was running, as
 * kxen-hv's upcall delivery would; never while rip is in kxen's layer or
 * events are masked: then it only marks the event pending, for kxen's iret.
 * Returns 1 if delivered, 0 if left pending, -errno on failure.
 */
int pvstep1__deliver(struct pvm_vm *p, uint64_t cb, struct pvstep1_events *st);
#endif

#endif
