/*
 * Step 1 of docs/linux-pv.md: kxen's in-guest entry layer, a Xen PV "kernel" and a process,
 * as three position-independent blobs the VMM copies into the guest.
 */
#include "pvstep1.h"

#define HC_set_trap_table   0
#define HC_mmu_update       1
#define HC_stack_switch     3
#define HC_update_va_mapping 14
#define HC_xen_version      17
#define HC_console_io       18
#define HC_iret             23
#define HC_sched_op         29
#define HC_callback_op      30
#define HC_MAX              41
#define EINVAL              22
#define ENOSYS              38

#define KX_INFO(off)  kx_blob + S1_KX_INFO_OFF + (off)(%rip)
#define KX_MODE       kx_blob + S1_KX_MODE_OFF(%rip)
#define KX_DATA(off)  kx_blob + S1_KX_DATA_OFF + (off)(%rip)

/*
 * Xen's GS switch on a change of mode: save the live GS base in `save`,
 * load the one kept in `load` (wrgsbase/rdgsbase run natively at CPL 3).
 * Needs a usable stack.
 */
.macro gs_switch save, load
	push %rax
	rdgsbase %rax
	mov %rax, KX_DATA(\save)
	mov KX_DATA(\load), %rax
	wrgsbase %rax
	pop %rax
.endm

/* Copies one quadword into kxen's data page through %rax. */
.macro stash from, field
	mov \from, %rax
	mov %rax, KX_DATA(\field)
.endm

	.section .rodata
	.globl kx_blob, kx_blob_end, k_blob, k_blob_end, u_blob, u_blob_end

/* ===================== kxen: runs at L4 slot 257 ===================== */
	.p2align 12
kx_blob:

/*
 * LSTAR. On kvm_pvm `syscall` arrives here at CPL 3 with the caller's CR3:
 * rcx = return rip, r11 = rflags, rsp untouched. The mode page (mapped at a
 * fixed place by two L3 variants) says which L4 that is.
 */
	.globl kx_lstar
kx_lstar:
	cmpb $0, KX_MODE
	je kx_from_user
	push %rcx
	push %r11
	cmp $HC_MAX, %rax
	jae kx_enosys
	lea kx_table(%rip), %rcx
	movslq (%rcx,%rax,4), %r11
	add %rcx, %r11
	jmp *%r11

/* Return to the kernel in ring 3: sysret's work without ring 0. */
kx_ret:
	incq KX_DATA(D_NINGUEST)
	pop %r11
	pop %rcx
	push %r11
	popfq
	jmp *%rcx

kx_enosys:
	mov $-ENOSYS, %rax
	jmp kx_ret

/* Everything kxen does not do in the guest goes to the VMM with one port write. */
kx_forward:
	out %al, $S1_FWD_PORT
	pop %r11
	pop %rcx
	push %r11
	popfq
	jmp *%rcx

/* xen_version: answered from the data page the VMM filled. */
kx_xen_version:
	test %rdi, %rdi
	jnz kx_forward
	mov KX_DATA(D_VERSION), %rax
	jmp kx_ret

/* stack_switch(ss, esp): the kernel stack for entries from user mode. */
kx_stack_switch:
	mov %rsi, KX_DATA(D_KSP)
	xor %eax, %eax
	jmp kx_ret

/* callback_op(CALLBACKOP_register, {type, flags, address}): only the syscall callback here. */
kx_callback_op:
	test %rdi, %rdi
	jnz kx_einval
	cmpw $2, (%rsi)                 /* CALLBACKTYPE_syscall */
	jne kx_forward
	mov 8(%rsi), %rax
	mov %rax, KX_DATA(D_SYSCB)
	xor %eax, %eax
	jmp kx_ret

kx_einval:
	mov $-EINVAL, %rax
	jmp kx_ret

/* set_trap_table(trap_info[]): {u8 vector, u8 flags, u16 cs, pad, u64 address}, ends at address 0. */
kx_set_trap_table:
	lea KX_DATA(D_TRAPS), %rdx
1:	mov 8(%rdi), %rax
	test %rax, %rax
	jz 2f
	movzbl (%rdi), %r8d
	cmp $32, %r8d
	jae kx_einval
	mov %rax, (%rdx,%r8,8)
	add $16, %rdi
	jmp 1b
2:	xor %eax, %eax
	jmp kx_ret

/*
 * mmu_update(reqs, count, done, domid): each store made here, in guest
 * context, through kxen's alias of guest RAM; U forced on as Xen does.
 */
kx_mmu_update:
	xor %eax, %eax
	mov KX_DATA(D_MEMSIZE), %r8
1:	cmp %rsi, %rax
	jae 3f
	mov (%rdi), %r10
	test $7, %r10                   /* MMU_NORMAL_PT_UPDATE only here */
	jnz kx_einval
	lea 8(%r10), %r11
	cmp %r8, %r11
	ja kx_einval
	mov 8(%rdi), %r11
	test $1, %r11
	jz 2f
	or $4, %r11
2:	push %rax
	movabs $S1_ALIAS, %rax
	mov %r11, (%rax,%r10)
	pop %rax
	add $16, %rdi
	inc %rax
	jmp 1b
3:	test %rdx, %rdx
	jz 4f
	mov %eax, (%rdx)
4:	xor %eax, %eax
	jmp kx_ret

/*
 * update_va_mapping(va, val, flags): walk the kernel's L4 through the alias
 * to the L1 entry, store, and flush with UVMF_INVLPG/TLB_FLUSH by the one
 * ring-0 instruction it needs.
 */
kx_update_va_mapping:
	movabs $S1_ALIAS, %r8
	mov KX_INFO(I_KCR3), %r11
	mov $39, %ecx
1:	mov %rdi, %rax
	shr %cl, %rax
	and $511, %eax
	lea (%r8,%r11), %r10
	lea (%r10,%rax,8), %r10         /* the entry at this level */
	cmp $12, %ecx
	je 2f
	mov (%r10), %r11
	test $1, %r11
	jz kx_einval
	test $0x80, %r11
	jnz kx_einval                   /* large pages: not in this probe */
	movabs $0x000ffffffffff000, %rax
	and %rax, %r11
	sub $9, %ecx
	jmp 1b
2:	test $1, %rsi
	jz 3f
	or $4, %rsi
3:	mov %rsi, (%r10)
	test $3, %rdx
	jz 4f
	mov %rdi, KX_DATA(D_ARG)
	int3
kx_site_flush:
4:	xor %eax, %eax
	jmp kx_ret

/*
 * iret: [rax, r11, rcx, flags, rip, cs, rflags, rsp, ss] on the kernel
 * stack under our two pushes. Back to the kernel: a native CPL-3 iretq.
 * To a process: ring 0 must load its L4.
 */
kx_iret:
	add $16, %rsp
	mov 48(%rsp), %rax              /* the upcall mask follows the IF being returned to */
	shr $9, %eax
	and $1, %eax
	xor $1, %eax
	mov KX_DATA(D_SHINFO), %r11
	mov %al, 1(%r11)
	test %al, %al                   /* unmasked with an event pending: Xen would bounce it now */
	jnz 5f
	cmpb $0, (%r11)
	jne kx_iret_event
5:	testb $3, 40(%rsp)
	jnz 1f
	movq $0x33, 40(%rsp)
	movq $0x2b, 64(%rsp)
	incq KX_DATA(D_NINGUEST)
	mov 0(%rsp), %rax
	mov 8(%rsp), %r11
	mov 16(%rsp), %rcx
	add $32, %rsp
	iretq
1:	stash 32(%rsp), D_TRIP
	stash 48(%rsp), D_TRFL
	stash 56(%rsp), D_TRSP
	stash 0(%rsp), D_TRAX
	stash 8(%rsp), D_TR11
	stash 16(%rsp), D_TRCX
	gs_switch D_GSK, D_GSU
	int3
kx_site_to_user:
	out %al, $S1_FATAL_PORT

/*
 * iret into a context with an event pending and now unmasked: complete the
 * return and deliver the event in one step, as Xen's exit path does, with
 * no ring 0 even when the context is a process's (the kernel L4 and GS stay).
 */
kx_iret_event:
	movb $1, 1(%r11)                /* events masked again for the callback */
	incq KX_DATA(D_NEVIN)
	stash 32(%rsp), D_TRIP
	stash 48(%rsp), D_TRFL
	stash 56(%rsp), D_TRSP
	stash 0(%rsp), D_TRAX
	stash 8(%rsp), D_TR11
	stash 16(%rsp), D_TRCX
	mov $0x30, %ecx
	mov KX_DATA(D_TRSP), %rax
	testb $3, 40(%rsp)
	jz 1f
	mov $0x33, %ecx
	mov KX_DATA(D_KSP), %rax
1:	and $-16, %rax
	mov %rax, %rsp
	pushq $0x2b
	pushq KX_DATA(D_TRSP)
	mov KX_DATA(D_TRFL), %rax
	or $0x200, %rax
	push %rax
	push %rcx
	pushq KX_DATA(D_TRIP)
	pushq KX_DATA(D_TR11)
	pushq KX_DATA(D_TRCX)
	mov KX_DATA(D_TRAX), %rax
	jmp *KX_DATA(D_EVCB)

/*
 * A process's `syscall`: nothing of kxen's is writable in its L4, so go to
 * ring 0 first (it loads the kernel's L4 and comes back below).
 */
kx_from_user:
	int3
kx_site_user_entry:
	out %al, $S1_FATAL_PORT

/* Kernel L4 now: Xen's syscall frame on kernel_sp, then the syscall callback. */
kx_user_syscall_k:
	mov %rsp, KX_DATA(D_SCR)
	mov KX_DATA(D_KSP), %rsp
	and $-16, %rsp
	pushq $0x2b
	pushq KX_DATA(D_SCR)
	push %r11
	pushq $0x33
	push %rcx
	push %r11
	push %rcx
	gs_switch D_GSU, D_GSK
	jmp *KX_DATA(D_SYSCB)

/*
 * An exception, after the ring-0 stub: rsp and every register are the
 * interrupted context's, the L4 is the kernel's. From the kernel, first what
 * Xen would do itself: forced-emulation cpuid, wrmsr of the FS/GS bases, and
 * the U bit Linux's direct PTE writes lack. Anything else is Linux's: build
 * Xen's frame {rcx, r11, [error], rip, cs, rflags, rsp, ss} on kernel_sp
 * (from a process) or below rsp (from the kernel), cr2 into vcpu_info, and
 * enter the trap table.
 */
kx_exception_k:
	testb $3, KX_DATA(D_ECS)
	jnz kx_bounce
	push %rax                       /* the kernel's stack: Linux keeps no red zone */
	push %rcx
	push %rdx
	push %r8
	mov KX_DATA(D_VEC), %rax
	cmp $6, %eax
	je kx_emul_ud
	cmp $13, %eax
	je kx_emul_gp
	cmp $14, %eax
	je kx_fix_user_bit
kx_not_ours:
	pop %r8
	pop %rdx
	pop %rcx
	pop %rax
kx_bounce:
	mov %rsp, KX_DATA(D_SCR)
	testb $3, KX_DATA(D_ECS)
	jz 1f
	mov KX_DATA(D_KSP), %rsp
	gs_switch D_GSU, D_GSK
1:	and $-16, %rsp
	pushq $0x2b
	pushq KX_DATA(D_SCR)
	pushq KX_DATA(D_EFL)
	pushq KX_DATA(D_ECS)
	pushq KX_DATA(D_ERIP)
	cmpq $6, KX_DATA(D_VEC)
	je 2f                           /* #UD has no error code */
	pushq KX_DATA(D_ERR)
2:	push %r11
	push %rcx
	incq KX_DATA(D_NTRAPS)
	mov KX_DATA(D_SHINFO), %r11
	mov KX_DATA(D_CR2), %rcx
	mov %rcx, 16(%r11)              /* vcpu_info[0].arch.cr2 */
	mov KX_DATA(D_VEC), %rcx
	lea KX_DATA(D_TRAPS), %r11
	mov (%r11,%rcx,8), %r11
	test %r11, %r11
	jz kx_fatal
	jmp *%r11

/* Back to the interrupted kernel at D_ERIP, scratch registers restored: a CPL-3 iretq. */
kx_resume:
	pop %r8
	pop %rdx
	pop %rcx
	pop %rax
	mov %rsp, KX_DATA(D_SCR)
	pushq $0x2b
	pushq KX_DATA(D_SCR)
	pushq KX_DATA(D_EFL)
	pushq $0x33
	pushq KX_DATA(D_ERIP)
	incq KX_DATA(D_NEMUL)
	iretq

/* Xen's forced emulation prefix: ud2; .ascii "xen"; cpuid. */
kx_emul_ud:
	mov KX_DATA(D_ERIP), %rdx
	cmpl $0x65780b0f, (%rdx)
	jne kx_not_ours
	cmpw $0x0f6e, 4(%rdx)
	jne kx_not_ours
	cmpb $0xa2, 6(%rdx)
	jne kx_not_ours
	mov 24(%rsp), %rax              /* the kernel's rax and rcx: leaf, subleaf */
	mov 16(%rsp), %rcx
	cpuid                           /* production answers from a table kxen-hv fills */
	mov %rax, 24(%rsp)
	mov %rcx, 16(%rsp)
	mov %rdx, 8(%rsp)
	addq $7, KX_DATA(D_ERIP)
	jmp kx_resume

/* wrmsr of MSR_FS_BASE / MSR_GS_BASE (startup_xen's first instruction does one). */
kx_emul_gp:
	mov KX_DATA(D_ERIP), %rdx
	cmpw $0x300f, (%rdx)
	jne kx_not_ours
	mov 8(%rsp), %rdx               /* edx:eax = the value */
	shl $32, %rdx
	mov 24(%rsp), %rax
	mov %eax, %eax
	or %rdx, %rax
	mov 16(%rsp), %rcx
	cmp $0xc0000101, %ecx
	je 1f
	cmp $0xc0000100, %ecx
	jne kx_not_ours
	wrfsbase %rax
	jmp 2f
1:	wrgsbase %rax
2:	addq $2, KX_DATA(D_ERIP)
	jmp kx_resume

/*
 * A kernel access stopped by U=0 somewhere on the walk (Linux wrote the
 * entry itself, without the U bit Xen would have added): set U on every
 * level, flush the address, retry. Only protection faults (P=1) qualify.
 */
kx_fix_user_bit:
	testb $1, KX_DATA(D_ERR)
	jz kx_not_ours
	movabs $S1_ALIAS, %r8
	mov KX_INFO(I_KCR3), %rdx
	xor %eax, %eax
	push %rax                       /* entries changed */
	mov $39, %ecx
1:	mov KX_DATA(D_CR2), %rax
	shr %cl, %rax
	and $511, %eax
	add %r8, %rdx
	lea (%rdx,%rax,8), %rdx         /* the entry at this level */
	mov (%rdx), %rax
	test $1, %rax
	jz 3f
	test $4, %rax
	jnz 2f
	or $4, %rax
	mov %rax, (%rdx)
	incq (%rsp)
2:	cmp $12, %ecx
	je 3f
	test $0x80, %rax
	jnz 3f
	movabs $0x000ffffffffff000, %rdx
	and %rax, %rdx
	sub $9, %ecx
	jmp 1b
3:	pop %rax
	test %rax, %rax
	jz kx_not_ours
	incq KX_DATA(D_NUFIX)
	stash KX_DATA(D_CR2), D_ARG
	int3
kx_site_fix_flush:
	jmp kx_resume

kx_fatal:
	out %al, $S1_FATAL_PORT
	jmp kx_fatal

	.p2align 2
/* Hypercall number -> handler, as offsets from the table (position-independent). */
.macro kx_fwd n
	.rept \n
	.long kx_forward - kx_table
	.endr
.endm
kx_table:
	.long kx_set_trap_table - kx_table      /* 0 */
	.long kx_mmu_update - kx_table          /* 1 */
	kx_fwd 1
	.long kx_stack_switch - kx_table        /* 3 */
	kx_fwd 10
	.long kx_update_va_mapping - kx_table   /* 14 */
	kx_fwd 2
	.long kx_xen_version - kx_table         /* 17 */
	kx_fwd 5
	.long kx_iret - kx_table                /* 23 */
	kx_fwd 6
	.long kx_callback_op - kx_table         /* 30 */
	kx_fwd (HC_MAX-31)

/* ---- ring 0: as few instructions as possible, they are emulated here ---- */

/* Jumps to `target` when the int3 being handled (its return rip in rax) sits at `site`. */
.macro int3_from site, target
	lea \site(%rip), %rcx
	cmp %rcx, %rax
	je \target
.endm

/* int3 (gate DPL 3): kxen's requests, recognised by where the int3 was. */
	.globl kx_r0_int3
kx_r0_int3:
	push %rax
	push %rcx
	mov 16(%rsp), %rax
	int3_from kx_site_flush, 1f
	int3_from kx_site_fix_flush, 1f
	int3_from kx_site_user_entry, 2f
	int3_from kx_site_to_user, 3f
	out %al, $S1_FATAL_PORT         /* a guest int3: Linux's #BP bounce, not in this probe */
1:	mov KX_DATA(D_ARG), %rax
	invlpg (%rax)
	pop %rcx
	pop %rax
	iretq
2:	mov KX_INFO(I_KCR3), %rax
	mov %rax, %cr3
	lea kx_user_syscall_k(%rip), %rax
	mov %rax, 16(%rsp)
	pop %rcx
	pop %rax
	iretq
3:	mov KX_DATA(D_TRIP), %rax
	mov %rax, 16(%rsp)
	movq $0x33, 24(%rsp)
	mov KX_DATA(D_TRFL), %rax
	or $0x200, %rax
	mov %rax, 32(%rsp)
	mov KX_DATA(D_TRSP), %rax
	mov %rax, 40(%rsp)
	movq $0x2b, 48(%rsp)
	mov KX_DATA(D_TRAX), %rax
	mov %rax, 8(%rsp)
	mov KX_DATA(D_TRCX), %rax
	mov %rax, 0(%rsp)
	mov KX_DATA(D_TR11), %r11
	mov KX_INFO(I_UCR3), %rax
	mov %rax, %cr3
	pop %rcx
	pop %rax
	iretq

/* Exceptions: push the vector (and a 0 error code where the CPU pushes none). */
	.globl kx_r0_ud, kx_r0_gp, kx_r0_pf
kx_r0_ud:
	pushq $0
	pushq $6
	jmp kx_r0_exc
kx_r0_gp:
	pushq $13
	jmp kx_r0_exc
kx_r0_pf:
	pushq $14

/* [vector, error, rip, cs, rflags, rsp, ss]: kernel L4 first if a process faulted. */
kx_r0_exc:
	push %rax
	cmpb $0, KX_MODE
	jne 1f
	mov KX_INFO(I_KCR3), %rax
	mov %rax, %cr3
	movq $0x33, KX_DATA(D_ECS)
	jmp 2f
1:	movq $0x30, KX_DATA(D_ECS)       /* kernel frames carry cs & ~3, as Xen's */
2:	stash %cr2, D_CR2
	stash 8(%rsp), D_VEC
	stash 16(%rsp), D_ERR
	stash 24(%rsp), D_ERIP
	stash 40(%rsp), D_EFL
	lea kx_exception_k(%rip), %rax
	mov %rax, 24(%rsp)
	pop %rax
	add $16, %rsp
	iretq

	.p2align 4
kx_blob_end:

/* ===================== the "kernel": runs at 0xffffffff80030000, CPL 3 ===================== */
	.p2align 12
k_blob:

.macro hypercall nr
	mov $\nr, %eax
	push %rcx
	push %r11
	syscall
	pop %r11
	pop %rcx
.endm

/* Linux's xen_iret: flags, rcx, r11, rax on top of the iret frame, then the hypercall. */
.macro xen_iret
	pushq $0
	push %rcx
	push %r11
	push %rax
	mov $HC_iret, %eax
	syscall
.endm

.macro tsc_now
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
.endm

/* A timed loop of r13 = n iterations; the TSC delta goes to the results page (rbx) at `field`. */
.macro timed_begin n
	tsc_now
	mov %rax, %r12
	mov $\n, %r13
.endm
.macro timed_end field
	tsc_now
	sub %r12, %rax
	mov %rax, \field(%rbx)
.endm

	.globl k_start
k_start:
	movabs $(S1_KHI + S1_K_RESULTS), %rbx

	/* In-guest hypercalls: xen_version(XENVER_version) in a loop. */
	timed_begin S1_N_HC
1:	xor %edi, %edi
	xor %esi, %esi
	hypercall HC_xen_version
	dec %r13
	jnz 1b
	mov %rax, R_VER(%rbx)
	timed_end R_HC

	/* Forwarded hypercalls: sched_op(SCHEDOP_yield) reaches the VMM. */
	timed_begin S1_N_FWD
1:	xor %edi, %edi
	xor %esi, %esi
	hypercall HC_sched_op
	dec %r13
	jnz 1b
	timed_end R_FWD

	/* console_io(CONSOLEIO_write, len, buf) */
	xor %edi, %edi
	mov $(k_msg_end - k_msg), %esi
	lea k_msg(%rip), %rdx
	hypercall HC_console_io

	/* stack_switch, the syscall callback, the trap table: as Linux's early boot does. */
	mov $0x2b, %edi
	movabs $(S1_KHI + S1_K_STACK_TOP), %rsi
	hypercall HC_stack_switch
	lea k_cb(%rip), %rsi
	lea k_syscall_entry(%rip), %rax
	mov %rax, 8(%rsi)
	xor %edi, %edi
	hypercall HC_callback_op
	lea k_cb_event(%rip), %rsi      /* the event callback: kxen forwards it, the VMM needs it */
	lea k_event_entry(%rip), %rax
	mov %rax, 8(%rsi)
	xor %edi, %edi
	hypercall HC_callback_op
	lea k_traps(%rip), %rdi
	lea k_pf_entry(%rip), %rax
	mov %rax, 8(%rdi)
	hypercall HC_set_trap_table
	mov %rax, R_TTRC(%rbx)

	/* startup_xen's first instruction: wrmsr MSR_GS_BASE; kxen emulates it with wrgsbase. */
	timed_begin S1_N_EMUL
1:	mov $0xc0000101, %ecx
	mov $0x12345000, %eax
	cdq
	wrmsr
	dec %r13
	jnz 1b
	timed_end R_T_WRMSR
	rdgsbase %rax
	mov %rax, R_GS(%rbx)

	/* Xen's forced-emulation cpuid (leaf 0: the vendor in ebx, edx, ecx). */
	timed_begin S1_N_EMUL
1:	xor %eax, %eax
	xor %ecx, %ecx
	ud2
	.ascii "xen"
	cpuid
	dec %r13
	jnz 1b
	mov %rbx, %r14                  /* the emulated cpuid wrote rbx too */
	movabs $(S1_KHI + S1_K_RESULTS), %rbx
	timed_end R_T_CPUID
	mov %r14, R_CPUID(%rbx)

	/* A PTE the kernel writes itself, without U, as Linux's early boot does, then used. */
	movabs $(S1_KHI + S1_K_L1), %rax
	movq $(S1_K_PAGE | 3), (%rax)
	timed_begin 1
	movabs $S1_K_LOW, %rax
	mov (%rax), %r14
	timed_end R_T_UFIX
	mov %r14, R_UFIX(%rbx)

	/* Start the process: an iret frame to user mode, through the iret hypercall. */
	pushq $0x2b
	pushq $(S1_U_VA + 0x2000)
	pushq $0x202
	pushq $0x33
	pushq $S1_U_VA
	xen_iret

/* Linux's syscall callback: [rcx, r11, rip, cs, rflags, rsp, ss]. */
k_syscall_entry:
	pop %rcx
	pop %r11
	movabs $(S1_KHI + S1_K_RESULTS), %r8
	incq R_SYSCOUNT(%r8)
	rdgsbase %r10                   /* kxen switched GS to the kernel's */
	cmp $0x12345000, %r10
	je 8f
	incq R_GSBAD(%r8)
8:
	cmp $1, %eax
	je 1f
	cmp $2, %eax
	je 2f
	cmp $3, %eax
	je 3f
	mov $-ENOSYS, %rax
	jmp 9f
1:	lea 4242(%rdi), %rax            /* a result the process can check */
	jmp 9f
2:	mov $S1_U_FAULT_VA, %edi        /* unmap the page, with UVMF_INVLPG */
	xor %esi, %esi
	mov $2, %edx
	hypercall HC_update_va_mapping
	jmp 9f
3:	mov %rdi, R_USYS(%r8)
	mov %rsi, R_UPF(%r8)
	mov %rdx, R_BAD(%r8)
	mov $2, %edi                    /* SCHEDOP_shutdown */
	lea k_shutdown(%rip), %rsi
	hypercall HC_sched_op
	jmp .
9:	xen_iret

/* Linux's #PF entry: [rcx, r11, error, rip, cs, rflags, rsp, ss]. */
k_pf_entry:
	pop %rcx
	pop %r11
	push %rax
	push %rdi
	push %rsi
	push %rdx
	push %r10
	push %r8
	movabs $(S1_KHI + S1_K_RESULTS), %r8
	incq R_PFCOUNT(%r8)
	mov 48(%rsp), %rax
	mov %rax, R_PFERR(%r8)
	movabs $(S1_KHI + S1_SHINFO + 16), %rax
	mov (%rax), %rax
	mov %rax, R_PFCR2(%r8)
	cmp $S1_U_FAULT_VA, %rax
	je 1f
	incq R_ISOL(%r8)                /* the process reached for kernel or kxen memory: skip it */
	addq $9, 56(%rsp)
	jmp 2f
1:	/* mmu_update: the PTE of the faulting page (machine address = physical here). */
	lea k_req(%rip), %rdi
	mov $1, %esi
	xor %edx, %edx
	mov $0x7ff0, %r10d              /* DOMID_SELF */
	hypercall HC_mmu_update
2:	pop %r8
	pop %r10
	pop %rdx
	pop %rsi
	pop %rdi
	pop %rax
	add $8, %rsp
	xen_iret

/* Linux's event callback: [rcx, r11, rip, cs, rflags, rsp, ss]; count, clear pending, iret. */
k_event_entry:
	pop %rcx
	pop %r11
	push %rax
	movabs $(S1_KHI + S1_K_RESULTS), %rax
	incq R_EVENTS(%rax)
	push %rcx
	rdgsbase %rcx
	cmp $0x12345000, %rcx
	je 8f
	incq R_GSBAD(%rax)
8:	pop %rcx
	testb $3, 16(%rsp)
	jz 1f
	incq R_EV_USER(%rax)
1:	movabs $(S1_KHI + S1_SHINFO), %rax
	movb $0, (%rax)                 /* evtchn_upcall_pending */
	pop %rax
	xen_iret

	.p2align 3
k_cb:	.word 2, 0, 0, 0                /* CALLBACKTYPE_syscall */
	.quad 0
k_cb_event:
	.word 0, 0, 0, 0                /* CALLBACKTYPE_event */
	.quad 0
k_traps:
	.byte 14, 0
	.word 0x10
	.long 0
	.quad 0
	.quad 0, 0
k_req:	.quad S1_UPT + ((S1_U_FAULT_VA >> 12) & 511) * 8
	.quad S1_U_FAULT | 7
k_shutdown:
	.long 0                         /* SHUTDOWN_poweroff */
k_msg:	.ascii "kernel: hello from CPL 3 through a forwarded console_io\n"
k_msg_end:

	.p2align 4
k_blob_end:

/* ===================== the process: runs at 0x400000 ===================== */
	.p2align 12
u_blob:
	/* What the process must not reach (each a 9-byte moffs access the kernel skips). */
	movabs (S1_KHI + S1_K_TEXT), %al
	movabs (S1_KX_BASE + S1_KX_DATA_OFF), %al
	movabs %al, (S1_KX_BASE)
	xor %ebx, %ebx                  /* mismatches */
	mov $0x777000, %eax             /* the process's own GS base, kept across kernel entries */
	wrgsbase %rax
	tsc_now
	mov %rax, %r12
	mov $S1_N_SYS, %r13
1:	mov $1, %eax
	mov %r13, %rdi
	syscall
	lea 4242(%r13), %rdx
	cmp %rdx, %rax
	je 2f
	inc %rbx
2:	dec %r13
	jnz 1b
	tsc_now
	sub %r12, %rax
	mov %rax, %r14

	tsc_now
	mov %rax, %r12
	mov $S1_N_PF, %r13
1:	mov S1_U_FAULT_VA, %al          /* faults; the kernel maps it; read again */
	cmp $0x5a, %al
	je 2f
	inc %rbx
2:	mov $2, %eax                    /* ask the kernel to unmap it */
	syscall
	dec %r13
	jnz 1b
	tsc_now
	sub %r12, %rax
	mov %rax, %r15

	/* A busy loop for the VMM's events to interrupt; its sum shows nothing was disturbed. */
	mov $S1_N_SPIN, %rcx
	xor %edx, %edx
1:	add %rcx, %rdx
	dec %rcx
	jnz 1b
	movabs $(S1_N_SPIN * (S1_N_SPIN + 1) / 2), %rax
	cmp %rax, %rdx
	je 2f
	inc %rbx
2:	rdgsbase %rax
	cmp $0x777000, %rax
	je 3f
	inc %rbx
3:	mov $3, %eax
	mov %r14, %rdi
	mov %r15, %rsi
	mov %rbx, %rdx
	syscall
	jmp .

	.p2align 4
u_blob_end:
	.section .note.GNU-stack, "", @progbits
