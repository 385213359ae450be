/*
 * The Linux PV flavour's in-guest layer (docs/linux-pv.md 3.1): Xen's entry
 * code inside the guest, at L4 slot 257, CPL 3 except the ring-0 stubs.
 * kxen-hv copies pvl_blob into its region; it is position-independent.
 */
#include "pvl_layout.h"
#include "kxen/abi.h"
#include "pvl_ptwr.inc"

#define HC_set_trap_table    0
#define HC_mmu_update        1
#define HC_set_gdt           2
#define HC_stack_switch      3
#define HC_fpu_taskswitch    5
#define HC_memory_op         12
#define HC_update_va_mapping 14
#define HC_xen_version       17
#define HC_iret              23
#define HC_vm_assist         21
#define HC_set_segment_base  25
#define HC_callback_op       30
#define HC_mmuext_op         26
#define DOMID_SELF           0x7ff0
#define ENOENT 2
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38

#define KX_INFO(off)  pvl_blob + PVL_INFO_OFF + (off)(%rip)
#define KX_MODE       pvl_blob + PVL_MODE_OFF(%rip)
#define KX_DATA(off)  pvl_blob + PVL_DATA_OFF + (off)(%rip)
#define GPR(n)        KX_DATA(D_GPR + 8 * (n))

/* Xen's GS switch on a change of mode (rdgsbase/wrgsbase are native at CPL 3). */
.macro gs_switch save, load
	push %rax
	rdgsbase %rax
	mov %rax, KX_DATA(\save)
	mov KX_DATA(\load), %rax
	wrgsbase %rax
	pop %rax
.endm

.macro stash from, field
	mov \from, %rax
	mov %rax, KX_DATA(\field)
.endm

/* The interrupted kernel's registers to and from the array of the data page (rsp saved, never loaded). */
.macro gpr_save
	mov %rax, GPR(0)
	mov %rcx, GPR(1)
	mov %rdx, GPR(2)
	mov %rbx, GPR(3)
	mov %rsp, GPR(4)
	mov %rbp, GPR(5)
	mov %rsi, GPR(6)
	mov %rdi, GPR(7)
	mov %r8, GPR(8)
	mov %r9, GPR(9)
	mov %r10, GPR(10)
	mov %r11, GPR(11)
	mov %r12, GPR(12)
	mov %r13, GPR(13)
	mov %r14, GPR(14)
	mov %r15, GPR(15)
.endm
.macro gpr_load
	mov GPR(0), %rax
	mov GPR(1), %rcx
	mov GPR(2), %rdx
	mov GPR(3), %rbx
	mov GPR(5), %rbp
	mov GPR(6), %rsi
	mov GPR(7), %rdi
	mov GPR(8), %r8
	mov GPR(9), %r9
	mov GPR(10), %r10
	mov GPR(11), %r11
	mov GPR(12), %r12
	mov GPR(13), %r13
	mov GPR(14), %r14
	mov GPR(15), %r15
.endm

	.section .rodata
	.globl pvl_blob, pvl_blob_end, pvl_lstar, pvl_r0_int3, pvl_r0_vectors, pvl_fwd_ret, pvl_db_ret, pvl_flush_tramp
	.p2align 12
pvl_blob:

/*
 * LSTAR. On kvm_pvm `syscall` arrives at CPL 3 with the caller's CR3 (rcx =
 * return rip, r11 = rflags); the mode page tells a kernel hypercall from a
 * process. On VMX/SVM it arrives at CPL 0 on the caller's stack: `verw` of
 * kxen's ring-0 data selector (ZF only where CPL 0 may write it; it needs no
 * register and no stack, since a process's red zone is live) sends that case
 * to kx_lstar_r0, which comes back to kx_lstar3 at CPL 3 as kvm_pvm would.
 */
pvl_lstar:
	verw kx_r0_ds(%rip)
	jz kx_lstar_r0
kx_lstar3:
	cmpb $0, KX_MODE
	je kx_from_user
	push %rcx
	push %r11
/* rax = hypercall number, [rsp] = r11 and [rsp + 8] = the return rip: to the handler. */
kx_dispatch:
	mov %rax, KX_DATA(D_HCNR)
	cmp $PVL_HC_MAX, %rax
	jae kx_forward
	lea KX_DATA(D_HCCOUNT), %rcx
	incq (%rcx,%rax,8)
	lea kx_table(%rip), %rcx
	movslq (%rcx,%rax,4), %r11
	add %rcx, %r11
	jmp *%r11

/* Back to the kernel at CPL 3: sysret's work without ring 0. */
kx_ret:
	incq KX_DATA(D_NHC)
kx_ret_nocount:
	/*
	 * Xen's exit path: an event pending and unmasked is delivered now (Linux
	 * forces this with xen_version(0) when it unmasks with one pending).
	 * rcx, r11 and the argument registers are the caller's to lose.
	 */
	mov KX_DATA(D_VINFO), %rdi
	cmpb $0, (%rdi)                 /* evtchn_upcall_pending */
	je 1f
	cmpb $0, 1(%rdi)                /* evtchn_upcall_mask */
	jne 1f
	cmpq $0, KX_DATA(D_EVCB)
	je 1f
	movb $1, 1(%rdi)
	incq KX_DATA(D_NEVENT)
	pop %r11
	pop %rcx
	mov %rsp, %rsi
	and $-16, %rsp
	pushq $PVL_SEL_K_SS
	push %rsi
	or $0x200, %r11
	push %r11
	pushq $(PVL_SEL_K_CS & ~3)
	push %rcx
	push %r11
	push %rcx
	jmp *KX_DATA(D_EVCB)
1:	pop %r11
	pop %rcx
	push %r11
	popfq
	jmp *%rcx

kx_einval:
	mov $-EINVAL, %rax
	jmp kx_ret
kx_efault:
	mov $-EFAULT, %rax
	jmp kx_ret
kx_zero:
	xor %eax, %eax
	jmp kx_ret

/* Everything that needs the host: one port write, kxen-hv's dispatcher answers in rax. */
kx_forward:
	incq KX_DATA(D_NFWD)
	out %al, $KXEN_HYPERCALL_PORT
pvl_fwd_ret:                            /* kxen-hv: from here the layer delivers a pending event itself */
	jmp kx_ret_nocount

/*
 * A guest pointer the layer writes through: must be in the lower half or in
 * the kernel's upper half outside kxen's slots (a non-canonical one would
 * #GP inside the layer). Jumps to \bad (kx_efault, or a handler's own
 * path that first pops what it pushed) otherwise. Clobbers r11.
 */
.macro check_ptr reg, bad=kx_efault
	movabs $0x0000800000000000, %r11
	cmp %r11, \reg
	jb 98f
	movabs $0xffff880000000000, %r11
	cmp %r11, \reg
	jb \bad
98:
.endm

/*
 * event_channel_op: EVTCHNOP_send rings the doorbell (abi.h's contract), so
 * a send to a port bound to a dom0 backend or another guest is completed by
 * KVM in the host kernel, without an exit (issue 11 item 1). Any other port
 * exits: kxen-hv makes the full send with (%rsi), puts its result in rax and
 * resumes past the `xor`; the first send on a bound port arms its doorbell.
 * Everything else is forwarded as before.
 */
kx_event_channel_op:
	cmp $4, %rdi                    /* EVTCHNOP_send */
	jne kx_forward
	check_ptr %rsi
	incq KX_DATA(D_NDBELL)
	mov (%rsi), %eax
	out %eax, $KXEN_DOORBELL_PORT
	xor %eax, %eax                  /* 2 bytes, skipped on an exit (kxen-hv's result) */
pvl_db_ret:                             /* kxen-hv: from here the layer delivers a pending event itself */
	jmp kx_ret

/* xen_version: the version, and get_features as Xen gives a 64-bit PV guest (none that kxen lacks). */
kx_xen_version:
	test %rdi, %rdi                 /* XENVER_version: Linux's xen_force_evtchn_callback, often */
	jnz 1f
	mov KX_DATA(D_VERSION), %rax
	jmp kx_ret
1:	cmp $6, %rdi                    /* XENVER_get_features */
	jne kx_forward
	check_ptr %rsi
	movl $0, 4(%rsi)
	cmpl $0, (%rsi)                 /* submap 0: mmu_pt_update_preserve_ad, gnttab_map_avail_bits (Linux 6.1 needs both) */
	jne kx_zero
	movl $(1 << 5 | 1 << 7), 4(%rsi)
	jmp kx_zero

/* memory_op: the M2P's place and the memory map answered here, the rest by kxen-hv. */
kx_memory_op:
	cmp $12, %rdi                   /* XENMEM_machphys_mapping */
	je 1f
	cmp $9, %rdi                    /* XENMEM_memory_map */
	je 2f
	jmp kx_forward
1:	check_ptr %rsi
	movabs $PVL_M2P_VA, %rax
	mov %rax, (%rsi)                /* v_start */
	mov KX_DATA(D_NRPAGES), %rcx
	lea (%rax,%rcx,8), %rax
	mov %rax, 8(%rsi)               /* v_end */
	dec %rcx
	mov %rcx, 16(%rsi)              /* max_mfn */
	jmp kx_zero
2:	check_ptr %rsi                  /* {nr_entries, buffer}: one RAM entry [0, ram_pages) */
	cmpl $1, (%rsi)
	jb kx_einval
	mov 8(%rsi), %rdx
	check_ptr %rdx
	movq $0, (%rdx)
	mov KX_DATA(D_NRPAGES), %rax
	shl $12, %rax
	mov %rax, 8(%rdx)
	movl $1, 16(%rdx)               /* E820_RAM */
	movl $1, (%rsi)
	jmp kx_zero

/*
 * multicall(entries, count): {op, result, args[6]} entry by entry through
 * the same handlers (those that need the host forward that entry alone),
 * each returning here as if from a hypercall. No nested multicall or iret.
 */
kx_multicall:
	push %rbx
	push %r12
	push %r13
	mov %rdi, %r12
	mov %rsi, %r13
	xor %ebx, %ebx
1:	cmp %r13, %rbx
	jae 9f
	check_ptr %r12, 8f
	mov (%r12), %rax
	mov $-EINVAL, %rcx
	cmp $13, %rax                   /* multicall */
	je 2f
	cmp $23, %rax                   /* iret */
	je 2f
	mov 16(%r12), %rdi
	mov 24(%r12), %rsi
	mov 32(%r12), %rdx
	mov 40(%r12), %r10
	mov 48(%r12), %r8
	lea 3f(%rip), %rcx
	pushfq
	pop %r11
	push %rcx
	push %r11
	jmp kx_dispatch
3:	mov %rax, %rcx
2:	mov %rcx, 8(%r12)
	add $64, %r12
	inc %rbx
	jmp 1b
9:	pop %r13
	pop %r12
	pop %rbx
	jmp kx_zero
8:	pop %r13                        /* a bad list: -EFAULT with the stack as it came */
	pop %r12
	pop %rbx
	jmp kx_efault

/* physdev_op: set_iopl is bookkeeping (kxen emulates Linux's port I/O as a domU's); the rest by kxen-hv. */
kx_physdev_op:
	cmp $6, %rdi                    /* PHYSDEVOP_set_iopl */
	jne kx_forward
	jmp kx_zero

/* vcpu_op: is_up of a vCPU the domain lacks answered here; the rest (the runstate area too) is kxen-hv's. */
kx_vcpu_op:
	cmp $3, %rdi                    /* VCPUOP_is_up of a vCPU the domain lacks: -ENOENT, as Xen */
	jne kx_forward
	cmp KX_DATA(D_NRVCPUS), %rsi
	jb kx_forward
	mov $-ENOENT, %rax
	jmp kx_ret

/* stack_switch(ss, esp): the kernel stack for entries from user mode. */
kx_stack_switch:
	mov %rsi, KX_DATA(D_KSP)
	jmp kx_zero

/* set_segment_base(which, base): FS, kernel GS and user GS by their bases; the selector one accepted. */
kx_set_segment_base:
	cmp $0, %rdi                    /* SEGBASE_FS */
	jne 1f
	wrfsbase %rsi
	jmp kx_zero
1:	cmp $1, %rdi                    /* SEGBASE_GS_USER */
	jne 2f
	mov %rsi, KX_DATA(D_GSU)
	jmp kx_zero
2:	cmp $2, %rdi                    /* SEGBASE_GS_KERNEL */
	jne 3f
	wrgsbase %rsi
	jmp kx_zero
3:	cmp $3, %rdi                    /* SEGBASE_GS_USER_SEL */
	je kx_zero
	jmp kx_einval

/* callback_op(CALLBACKOP_register, {type, flags, address}): syscall here; event and failsafe by kxen-hv. */
kx_callback_op:
	test %rdi, %rdi
	jnz kx_forward
	check_ptr %rsi
	cmpw $0, (%rsi)                 /* CALLBACKTYPE_event: the layer delivers too; kxen-hv records it */
	jne 1f
	mov 8(%rsi), %rax
	mov %rax, KX_DATA(D_EVCB)
	mov $HC_callback_op, %eax
	jmp kx_forward
1:	cmpw $2, (%rsi)                 /* CALLBACKTYPE_syscall */
	jne kx_forward
	mov 8(%rsi), %rax
	mov %rax, KX_DATA(D_SYSCB)
	movzwl 2(%rsi), %eax            /* CALLBACKF_mask_events: Linux always asks for it */
	and $1, %eax
	mov %rax, KX_DATA(D_SYSMASK)
	jmp kx_zero

/* set_trap_table(trap_info[]): {u8 vector, u8 flags, u16 cs, pad, u64 address}, ends at address 0. */
kx_set_trap_table:
	test %rdi, %rdi
	jz kx_zero                      /* NULL: Xen clears the table; Linux never does */
	lea KX_DATA(D_TRAPS), %rdx
	mov $256, %ecx
1:	check_ptr %rdi
	mov 8(%rdi), %rax
	test %rax, %rax
	jz kx_zero
	movzbl (%rdi), %r8d
	mov %rax, (%rdx,%r8,8)
	movzbl 1(%rdi), %r9d            /* flags: 4 masks events on entry (Linux: interrupt gates) */
	lea KX_DATA(D_TRAPFL), %r10
	mov %r9b, (%r10,%r8)
	add $16, %rdi
	dec %ecx
	jnz 1b
	jmp kx_einval

/* get_debugreg(reg): no guest debug registers yet: DR6 and DR7 at their reset values, the rest 0. */
kx_get_debugreg:
	xor %eax, %eax
	cmp $6, %rdi
	jne 1f
	mov $0xffff0ff0, %eax
1:	cmp $7, %rdi
	jne kx_ret
	mov $0x400, %eax
	jmp kx_ret

/*
 * Xen's check_descriptor for a 64-bit PV guest, on the descriptor in rax:
 * not present passes; code and data get DPL 3; system descriptors (TSS,
 * LDT, gates) are refused: jumps to \bad. Clobbers nothing else.
 */
.macro sanitise bad
	bt $47, %rax
	jnc 97f
	bt $44, %rax
	jnc \bad
	bts $45, %rax
	bts $46, %rax
97:
.endm

/*
 * set_gdt(frames, entries): Linux's descriptors, sanitised, into kxen's GDT
 * (its first 14 pages; the last two are Xen's reserved selectors), the
 * frames kept for update_descriptor.
 */
kx_set_gdt:
	cmp $(14 * 512), %rsi
	ja kx_einval
	check_ptr %rdi
	mov %rsi, %rcx
	add $511, %rcx
	shr $9, %rcx                    /* frames */
	mov %rcx, KX_DATA(D_GDTN)
	xor %r8d, %r8d                  /* entry index */
	lea KX_DATA(D_GDTF), %r10
1:	cmp %rsi, %r8
	jae 3f
	mov %r8, %rdx
	shr $9, %rdx
	test $511, %r8
	jnz 2f
	mov (%rdi,%rdx,8), %r11         /* a new frame: checked and remembered */
	cmp KX_DATA(D_NRPAGES), %r11
	jae kx_einval
	mov %r11, (%r10,%rdx,8)
2:	mov (%r10,%rdx,8), %r11
	shl $12, %r11
	mov %r8, %rax
	and $511, %eax
	lea (%r11,%rax,8), %r11
	movabs $PVL_ALIAS_VA, %rax
	mov (%rax,%r11), %rax
	sanitise 4f
	jmp 5f
4:	xor %eax, %eax                  /* a refused descriptor becomes not-present here */
5:	lea pvl_blob + PVL_GDTRW_OFF(%rip), %r11
	mov %rax, (%r11,%r8,8)
	inc %r8
	jmp 1b
3:	jmp kx_zero

/*
 * update_descriptor(maddr, desc): sanitised, stored in Linux's frame (read-
 * only to Linux: through the alias) and, when that frame is in the loaded
 * GDT, in kxen's copy.
 */
kx_update_descriptor:
	test $7, %rdi
	jnz kx_einval
	mov KX_DATA(D_NRPAGES), %rax
	shl $12, %rax
	cmp %rax, %rdi
	jae kx_einval
	mov %rsi, %rax
	sanitise kx_einval
	movabs $PVL_ALIAS_VA, %r8
	mov %rax, (%r8,%rdi)
	mov %rdi, %r8
	shr $12, %r8
	lea KX_DATA(D_GDTF), %r10
	xor %ecx, %ecx
1:	cmp KX_DATA(D_GDTN), %rcx
	jae kx_zero
	cmp (%r10,%rcx,8), %r8
	je 2f
	inc %ecx
	jmp 1b
2:	shl $12, %rcx
	mov %rdi, %rdx
	and $0xfff, %edx
	add %rdx, %rcx
	lea pvl_blob + PVL_GDTRW_OFF(%rip), %r11
	mov %rax, (%r11,%rcx)
	jmp kx_zero

/*
 * mmu_update(reqs, count, done, domid): each store in guest context through
 * kxen's alias of RAM, U forced on present entries as Xen does; the target
 * must be inside RAM; MACHPHYS_UPDATE is accepted (the M2P is an identity).
 */
kx_mmu_update:
	xor %eax, %eax
	mov KX_DATA(D_NRPAGES), %r8
	shl $12, %r8
1:	cmp %rsi, %rax
	jae 3f
	check_ptr %rdi
	mov (%rdi), %r10
	mov %r10, %rcx
	and $7, %ecx
	and $-8, %r10
	cmp %r8, %r10                   /* inside RAM (aligned, so the whole entry is; no wrap) */
	jae kx_einval
	cmp $1, %ecx                    /* MMU_MACHPHYS_UPDATE: the M2P is an identity, its frame RAM */
	je 4f
	cmp $2, %ecx                    /* MMU_PT_UPDATE_PRESERVE_AD */
	ja kx_einval
	mov %r10, %r11                  /* kxen's slots 256-271 of a loaded L4: Xen's "Xen-private area" */
	and $0xff8, %r11d
	cmp $(PVL_SLOT_HOLE * 8), %r11d
	jb 6f
	cmp $(272 * 8), %r11d
	jae 6f
	mov %r10, %r11
	and $-4096, %r11
	cmp KX_INFO(I_KCR3), %r11
	je kx_einval
	cmp KX_INFO(I_UCR3), %r11
	je kx_einval
6:	mov 8(%rdi), %r11
	test $1, %r11
	jz 2f
	or $4, %r11
2:	push %rax
	movabs $PVL_ALIAS_VA, %rax
	add %rax, %r10
	cmp $2, %ecx                    /* PRESERVE_AD: the entry's accessed and dirty bits stay */
	jne 5f
	mov (%r10), %rax
	and $0x60, %eax
	or %rax, %r11
5:	mov %r11, (%r10)
	pop %rax
4:	add $16, %rdi
	inc %rax
	jmp 1b
3:	test %rdx, %rdx
	jz kx_zero
	check_ptr %rdx
	mov %eax, (%rdx)
	jmp kx_zero

/*
 * mmuext_op(ops, count, done, domid), struct mmuext_op {u32 cmd, pad; u64
 * arg1; u64 arg2}. Pins are bookkeeping plus Xen's U bit on every present
 * entry; a new kernel or user L4 gets kxen's slots (through the alias, so a
 * trapped store only where one is missing) before ring 0 loads it; flushes
 * are made here and, for MULTI/ALL, forwarded for the other vCPUs. Frames
 * must be inside Linux's RAM.
 */
kx_mmuext_op:
	push %rbx
	push %r12
	push %r13
	push %r14
	mov %rdi, %r12                  /* ops */
	mov %rsi, %r13                  /* count */
	xor %r14d, %r14d                /* done */
1:	cmp %r13, %r14
	jae 8f
	check_ptr %r12, 18f
	mov (%r12), %eax                /* cmd */
	mov 8(%r12), %rbx               /* arg1 */
	cmp $3, %eax
	jbe kx_mx_pin
	cmp $4, %eax                    /* UNPIN_TABLE */
	je 7f
	cmp $5, %eax                    /* NEW_BASEPTR */
	je kx_mx_baseptr
	cmp $15, %eax                   /* NEW_USER_BASEPTR */
	je kx_mx_user_baseptr
	cmp $7, %eax                    /* INVLPG_LOCAL */
	je kx_mx_invlpg
	cmp $9, %eax                    /* INVLPG_MULTI */
	je kx_mx_invlpg
	cmp $11, %eax                   /* INVLPG_ALL */
	je kx_mx_invlpg
	cmp $6, %eax                    /* TLB_FLUSH_LOCAL, _MULTI, _ALL */
	je kx_mx_flush
	cmp $8, %eax
	je kx_mx_flush
	cmp $10, %eax
	je kx_mx_flush
	cmp $12, %eax                   /* FLUSH_CACHE */
	je 7f
	cmp $13, %eax                   /* SET_LDT: only the empty one (64-bit Linux uses none) */
	jne 9f
	cmpq $0, 16(%r12)
	je 7f
9:	mov $-EINVAL, %rax
	jmp 10f
7:	add $24, %r12
	inc %r14
	jmp 1b
8:	xor %eax, %eax
10:	test %rdx, %rdx
	jz 11f
	check_ptr %rdx, 19f
	mov %r14d, (%rdx)
11:	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	jmp kx_ret
18:	mov $-EFAULT, %rax              /* a bad op pointer: -EFAULT, pushes popped at 11 */
	jmp 10b
19:	mov $-EFAULT, %rax              /* a bad done pointer */
	jmp 11b

/* The frame in rbx must be Linux RAM: its alias address into rbx, or -EINVAL. */
.macro mx_frame
	cmp KX_DATA(D_NRPAGES), %rbx
	jae 9b
	shl $12, %rbx
	movabs $PVL_ALIAS_VA, %rax
	add %rax, %rbx
.endm

kx_mx_pin:
	mx_frame
	xor %ecx, %ecx                  /* Xen's adjust_guest_l*e: U on present entries */
12:	mov (%rbx,%rcx,8), %rax
	test $1, %rax
	jz 13f
	test $4, %rax
	jnz 13f
	or $4, %rax
	mov %rax, (%rbx,%rcx,8)
13:	inc %ecx
	cmp $256, %ecx                  /* the lower half; the upper half's kxen slots are not Linux's */
	jne 14f
	cmpl $3, (%r12)
	jne 14f
	mov $272, %ecx                  /* an L4: skip slots 256-271 */
14:	cmp $512, %ecx
	jb 12b
	jmp 7b

/*
 * Installs kxen's L4 entry \field at slot \slot of the L4 whose alias
 * address is rbx, if it differs but for the accessed bit the CPU sets on
 * its walks (a store there is trapped: ~35 us at every switch otherwise).
 * Clobbers rax, r11.
 */
.macro mx_slot slot, field
	mov \slot * 8(%rbx), %r11
	and $~0x20, %r11
	mov KX_DATA(\field), %rax
	cmp %rax, %r11
	je 15f
	mov %rax, \slot * 8(%rbx)
15:
.endm

kx_mx_baseptr:
	mov %rbx, %rcx
	mx_frame
	mx_slot PVL_SLOT_KX, D_L4E_K257
	mx_slot PVL_SLOT_M2P, D_L4E_M2P
	mx_slot PVL_SLOT_ALIAS, D_L4E_AL
	shl $12, %rcx
	mov %rcx, KX_DATA(D_ARG)
	int3
kx_site_new_cr3:
	jmp 7b

kx_mx_user_baseptr:
	xor %ecx, %ecx
	test %rbx, %rbx
	jz 16f
	mov %rbx, %rcx
	mx_frame
	mx_slot PVL_SLOT_KX, D_L4E_U257
	shl $12, %rcx
16:	mov %rcx, KX_DATA(D_ARG)
	int3
kx_site_new_ucr3:
	jmp 7b

/* Jumps to \bad unless the address in \reg is canonical (invlpg of another #GPs in ring 0). Clobbers rax. */
.macro canonical reg, bad
	mov \reg, %rax
	sar $47, %rax
	inc %rax
	cmp $1, %rax
	ja \bad
.endm

kx_mx_invlpg:
	canonical %rbx, 9b
	movabs $PVL_HOLE_VA, %rax       /* kxen's own slots never change: nothing to flush */
	cmp %rax, %rbx
	jb 17f
	movabs $0xffff880000000000, %rax
	cmp %rax, %rbx
	jb 7b
17:	mov %rbx, KX_DATA(D_ARG)
	int3
kx_site_mx_invlpg:
	jmp kx_mx_remote

kx_mx_flush:
	int3
kx_site_flush_all:
	jmp kx_mx_remote

/* TLB_FLUSH_MULTI/ALL, INVLPG_MULTI/ALL (8-11): done here, then the other vCPUs' part by kxen-hv. */
kx_mx_remote:
	mov (%r12), %eax
	cmp $8, %eax
	jb 7b
	cmp $11, %eax
	ja 7b
	cmpq $1, KX_DATA(D_NRVCPUS)
	jbe 7b
	push %rdx
	mov %r12, %rdi
	call kx_remote_flush
	pop %rdx
	jmp 7b

/*
 * The other vCPUs' part of a flush, rdi one struct mmuext_op: forwarded as
 * mmuext_op(rdi, 1, NULL, DOMID_SELF); kxen-hv returns once each target
 * has flushed (or will before it runs again). Clobbers rax, rsi, rdx, r10.
 */
kx_remote_flush:
	incq KX_DATA(D_NRFLUSH)
	mov $1, %esi
	xor %edx, %edx
	mov $DOMID_SELF, %r10d
	mov $HC_mmuext_op, %eax
	out %al, $KXEN_HYPERCALL_PORT
	ret

/*
 * update_va_mapping(va, val, flags): walk the kernel's L4 through the alias
 * to the L1 entry, store, flush by ring 0 when UVMF_INVLPG/TLB_FLUSH ask.
 */
kx_update_va_mapping:
	canonical %rdi, kx_einval
	movabs $PVL_ALIAS_VA, %r8
	mov KX_INFO(I_KCR3), %r11
	mov $39, %ecx
1:	mov %rdi, %rax
	shr %cl, %rax
	and $511, %eax
	lea (%r8,%r11), %r10
	lea (%r10,%rax,8), %r10
	cmp $12, %ecx
	je 2f
	mov (%r10), %r11
	test $1, %r11
	jz kx_einval
	test $0x80, %r11
	jnz kx_einval
	movabs $0x000ffffffffff000, %rax
	and %rax, %r11
	mov KX_DATA(D_NRPAGES), %rax
	shl $12, %rax
	cmp %rax, %r11
	jae kx_einval
	sub $9, %ecx
	jmp 1b
2:	test $1, %rsi
	jz 3f
	or $4, %rsi
3:	mov %rsi, (%r10)
	test $3, %rdx
	jz kx_zero
	mov %rdi, KX_DATA(D_ARG)
	int3
kx_site_flush:
	mov %rdx, %rcx                  /* UVMF_ALL (4) or UVMF_MULTI (a vcpumask pointer): the others too */
	and $~3, %rcx
	jz kx_zero
	cmpq $1, KX_DATA(D_NRVCPUS)
	jbe kx_zero
	push %rcx                       /* arg2: the vcpumask */
	push %rdi                       /* arg1: the address */
	mov $11, %eax                   /* INVLPG_ALL */
	cmp $4, %rcx
	je 1f
	mov $9, %eax                    /* INVLPG_MULTI */
1:	push %rax
	mov %rsp, %rdi
	call kx_remote_flush
	add $24, %rsp
	jmp kx_zero

/*
 * iret: [rax, r11, rcx, flags, rip, cs, rflags, rsp, ss] under our two
 * pushes. To the kernel: a native CPL-3 iretq with Xen's flat selectors.
 * To a process: ring 0 loads its L4.
 */
kx_iret:
	add $16, %rsp
	incq KX_DATA(D_NHC)
	mov 48(%rsp), %rax              /* the upcall mask follows the IF being returned to, as Xen's */
	shr $9, %eax
	and $1, %eax
	xor $1, %eax
	mov KX_DATA(D_VINFO), %rcx
	mov %al, 1(%rcx)
	test %al, %al                   /* unmasked with an event pending: Xen bounces it now */
	jnz 2f
	cmpb $0, (%rcx)
	je 2f
	cmpq $0, KX_DATA(D_EVCB)
	jne kx_iret_event
2:	testb $3, 40(%rsp)
	jz 1f
	cmpq $PVL_SEL_K_CS, 40(%rsp)
	je 1f
	cmpq $0, KX_INFO(I_UCR3)
	je kx_iret_bad
	stash 32(%rsp), D_TRIP
	stash 48(%rsp), D_TRFL
	stash 56(%rsp), D_TRSP
	stash 0(%rsp), D_TRAX
	stash 8(%rsp), D_TR11
	stash 16(%rsp), D_TRCX
	gs_switch D_GSK, D_GSU
	int3
kx_site_to_user:
	jmp kx_iret_bad
1:	movq $PVL_SEL_K_CS, 40(%rsp)
	movq $PVL_SEL_K_SS, 64(%rsp)
	orq $0x200, 48(%rsp)            /* events are masked in vcpu_info, never by IF */
	andq $~0x3000, 48(%rsp)         /* IOPL stays 0 */
	mov 0(%rsp), %rax
	mov 8(%rsp), %r11
	mov 16(%rsp), %rcx
	add $32, %rsp
	iretq
/*
 * Complete the return and deliver the pending event in one step, as Xen's
 * exit path: Xen's frame below the target rsp for the kernel; for a process
 * on kernel_sp, as if it had been interrupted just after the return (still
 * in kernel mode here: no L4 or GS switch either way).
 */
kx_iret_event:
	movb $1, 1(%rcx)
	incq KX_DATA(D_NEVENT)
	stash 32(%rsp), D_TRIP
	stash 48(%rsp), D_TRFL
	stash 56(%rsp), D_TRSP
	stash 0(%rsp), D_TRAX
	stash 8(%rsp), D_TR11
	stash 16(%rsp), D_TRCX
	testb $3, 40(%rsp)
	jz 1f
	cmpq $PVL_SEL_K_CS, 40(%rsp)
	je 1f
	mov KX_DATA(D_KSP), %rsp
	and $-16, %rsp
	pushq $PVL_SEL_U_DS
	pushq KX_DATA(D_TRSP)
	mov KX_DATA(D_TRFL), %rax
	or $0x200, %rax
	push %rax
	pushq $PVL_SEL_U_CS
	jmp 2f
1:	mov KX_DATA(D_TRSP), %rsp
	and $-16, %rsp
	pushq $PVL_SEL_K_SS
	pushq KX_DATA(D_TRSP)
	mov KX_DATA(D_TRFL), %rax
	or $0x200, %rax
	push %rax
	pushq $(PVL_SEL_K_CS & ~3)
2:	pushq KX_DATA(D_TRIP)
	pushq KX_DATA(D_TR11)
	pushq KX_DATA(D_TRCX)
	mov KX_DATA(D_TRAX), %rax
	jmp *KX_DATA(D_EVCB)

kx_iret_bad:
	movq $PVL_WHY_IRET, KX_DATA(D_WHY)
	out %al, $PVL_FATAL_PORT
	jmp kx_iret_bad

/*
 * kxen-hv points a vCPU here, wherever it stopped at CPL 3, when another
 * vCPU asked it for a TLB flush (pvl_flush.c): ring 0 flushes, records the
 * request answered and resumes the vCPU where it was (I_FLRIP), every
 * register and flag untouched.
 */
pvl_flush_tramp:
	int3
kx_site_remote_flush:
	jmp kx_iret_bad

/*
 * `syscall` at CPL 0 (VMX/SVM), on the caller's rsp, which is never trusted
 * (a process's could point at kxen's read-only text, writable at CPL 0 under
 * CR0.WP = 0): rsp is parked in the info page, this vCPU's ring-0 stack
 * (empty: `syscall` comes only from CPL 3) takes a frame to kx_lstar3 at
 * CPL 3 with the caller's rsp, and every register as `syscall` left them.
 * SFMASK has cleared TF and NT (an iretq with NT #GPs); IOPL stays 0.
 */
kx_lstar_r0:
	mov %rsp, KX_INFO(I_LSRSP)
	lea pvl_blob + PVL_R0TOP_OFF(%rip), %rsp
	pushq $PVL_SEL_K_SS
	pushq KX_INFO(I_LSRSP)
	pushfq
	andq $~0x3000, (%rsp)
	pushq $PVL_SEL_K_CS
	push %rcx
	lea kx_lstar3(%rip), %rcx
	xchg %rcx, (%rsp)
	iretq
kx_r0_ds:
	.word PVL_SEL_R0_DS

/* A process's `syscall`: nothing of kxen's is writable in its L4; ring 0 loads the kernel's. */
kx_from_user:
	int3
kx_site_user_entry:
	jmp kx_iret_bad

/* Kernel L4 now: Xen's syscall frame on kernel_sp, then the syscall callback. */
kx_user_syscall_k:
	mov %rsp, KX_DATA(D_SCR)
	mov KX_DATA(D_KSP), %rsp
	and $-16, %rsp
	pushq $PVL_SEL_U_DS
	pushq KX_DATA(D_SCR)
	push %r11
	pushq $PVL_SEL_U_CS
	push %rcx
	push %r11
	push %rcx
	gs_switch D_GSU, D_GSK
	cmpq $0, KX_DATA(D_SYSMASK)     /* as Xen: events masked on entry if the callback asked */
	je 1f
	mov %rax, KX_DATA(D_SCR)
	mov KX_DATA(D_VINFO), %rax
	movb $1, 1(%rax)
	mov KX_DATA(D_SCR), %rax
1:	jmp *KX_DATA(D_SYSCB)

/*
 * An exception, after the ring-0 stub: every register and rsp are the
 * interrupted context's, the L4 is the kernel's. From the kernel, first what
 * Xen does itself (emulate_privileged_op, the forced-emulation cpuid, the U
 * bit Linux's direct PTE stores lack); the rest is bounced to Linux's trap
 * table as Xen's frame {rcx, r11, [error], rip, cs, rflags, rsp, ss}.
 */
kx_exception_k:
	incq KX_DATA(D_NEXC)
	testb $3, KX_DATA(D_ECS)
	jnz kx_softint
	gpr_save
	mov KX_DATA(D_VEC), %rax
	mov KX_DATA(D_ERIP), %rsi
	cmp $6, %eax
	je kx_emul_ud
	cmp $13, %eax
	je kx_emul_gp
	cmp $14, %eax
	je kx_fix_user_bit
kx_not_ours:
	gpr_load
kx_bounce:
	mov %rsp, KX_DATA(D_SCR)
	mov %rax, KX_DATA(D_SCR2)
	mov %rcx, KX_DATA(D_SCR3)
	mov KX_DATA(D_VEC), %rax
	lea KX_DATA(D_TRAPS), %rcx
	cmpq $0, (%rcx,%rax,8)
	je kx_fatal
	testb $3, KX_DATA(D_ECS)
	jz 1f
	mov KX_DATA(D_KSP), %rsp        /* from a process: Linux's kernel stack, and its GS */
	gs_switch D_GSU, D_GSK
1:	and $-16, %rsp
	pushq KX_DATA(D_ESS)
	pushq KX_DATA(D_SCR)
	mov KX_DATA(D_VINFO), %rcx      /* IF in the frame = events enabled where it was taken, as Xen's */
	movzbl 1(%rcx), %eax            /* (the hardware IF at CPL 3 is always set): iret restores the mask */
	xor $1, %eax
	shl $9, %eax
	mov KX_DATA(D_EFL), %rcx
	and $~0x200, %rcx
	or %rax, %rcx
	push %rcx
	pushq KX_DATA(D_ECS)
	pushq KX_DATA(D_ERIP)
	mov KX_DATA(D_VEC), %rax        /* vectors with an error code: 8, 10-14, 17, 21 */
	cmp $8, %eax
	je 2f
	cmp $17, %eax
	je 2f
	cmp $21, %eax
	je 2f
	cmp $10, %eax
	jb 3f
	cmp $14, %eax
	ja 3f
2:	pushq KX_DATA(D_ERR)
3:	push %r11
	pushq KX_DATA(D_SCR3)
	incq KX_DATA(D_NBOUNCE)
	cmpq $0, KX_DATA(D_FBRIP)       /* the first bounce, for kxen-hv's report: */
	jne 6f
	cmpq $3, KX_DATA(D_VEC)         /* not Linux's own text patching (#BP at every poked site) */
	je 6f
	mov KX_DATA(D_VEC), %rcx
	mov %rcx, KX_DATA(D_FBVEC)
	mov KX_DATA(D_ERIP), %rcx
	mov %rcx, KX_DATA(D_FBRIP)
	mov KX_DATA(D_CR2), %rcx
	mov %rcx, KX_DATA(D_FBCR2)
	mov KX_DATA(D_ERR), %rcx
	mov %rcx, KX_DATA(D_FBERR)
6:
	mov KX_DATA(D_VINFO), %rcx      /* cr2 into the vcpu_info's arch.cr2 */
	test %rcx, %rcx
	jz 5f
	mov KX_DATA(D_CR2), %r11
	mov %r11, 16(%rcx)
5:	mov KX_DATA(D_VEC), %rax
	lea KX_DATA(D_TRAPFL), %rcx     /* an interrupt gate's handler starts with events masked */
	testb $4, (%rcx,%rax)
	jz 7f
	mov KX_DATA(D_VINFO), %rcx
	movb $1, 1(%rcx)
7:	lea KX_DATA(D_TRAPS), %rcx
	mov (%rcx,%rax,8), %r11
	mov KX_DATA(D_SCR2), %rax
	jmp *%r11

/*
 * A process's `int $N` (N = 4 or >= 32; kxen's gates for those are DPL 0 or
 * absent) is #GP with the IDT bit in the error code on VMX/SVM: as Xen's
 * do_general_protection, it goes to trap-table entry N if that entry's DPL
 * is 3 (Linux: int $0x80 for 32-bit processes), with rip past the 2-byte
 * instruction and no error code. (kvm_pvm raises #UD instead, bounced as is:
 * docs/linux-pv.md 3.5.) rax and rcx are the process's: kept in the scratch.
 */
kx_softint:
	cmpq $13, KX_DATA(D_VEC)
	jne kx_bounce
	mov %rax, KX_DATA(D_SCR2)
	mov %rcx, KX_DATA(D_SCR3)
	mov KX_DATA(D_ERR), %rax
	and $~0x7f8, %rax               /* only IDT = 1, EXT = 0 and a vector below 256 */
	cmp $2, %rax
	jne 1f
	mov KX_DATA(D_ERR), %rax
	shr $3, %eax
	cmp $32, %eax
	jae 2f
	cmp $4, %eax
	jne 1f
2:	lea KX_DATA(D_TRAPS), %rcx
	cmpq $0, (%rcx,%rax,8)
	je 1f
	lea KX_DATA(D_TRAPFL), %rcx
	movzbl (%rcx,%rax), %ecx
	and $3, %ecx
	cmp $3, %ecx
	jne 1f
	mov %rax, KX_DATA(D_VEC)
	addq $2, KX_DATA(D_ERIP)
1:	mov KX_DATA(D_SCR2), %rax
	mov KX_DATA(D_SCR3), %rcx
	jmp kx_bounce

kx_fatal:
	mov KX_DATA(D_SCR2), %rax
	mov KX_DATA(D_SCR3), %rcx
	movq $PVL_WHY_EXCEPTION, KX_DATA(D_WHY)
	out %al, $PVL_FATAL_PORT
	jmp kx_fatal

/* Back to the interrupted kernel at D_ERIP with the registers of the array: a CPL-3 iretq. */
kx_resume:
	incq KX_DATA(D_NEMUL)
	mov KX_DATA(D_XIDX), %rax       /* the resume ring, for kxen-hv's report (all scratch until gpr_load) */
	incq KX_DATA(D_XIDX)
	and $(PVL_XRING_N - 1), %eax
	shl $5, %eax
	lea KX_DATA(D_XRING), %rcx
	add %rax, %rcx
	mov KX_DATA(D_VEC), %rax
	mov %rax, (%rcx)
	mov KX_DATA(D_ERIP), %rax
	mov %rax, 8(%rcx)
	mov KX_DATA(D_EFL), %rax
	mov %rax, 16(%rcx)
	mov KX_DATA(D_CR2), %rax
	mov %rax, 24(%rcx)
	mov GPR(4), %rsp
	pushq $PVL_SEL_K_SS
	pushq GPR(4)
	pushq KX_DATA(D_EFL)
	pushq $PVL_SEL_K_CS
	pushq KX_DATA(D_ERIP)
	gpr_load
	iretq

/* Xen's forced-emulation prefix: ud2; .ascii "xen"; cpuid, with what Xen hides from a PV guest hidden. */
kx_emul_ud:
	cmpl $0x65780b0f, (%rsi)
	jne kx_not_ours
	cmpw $0x0f6e, 4(%rsi)
	jne kx_not_ours
	cmpb $0xa2, 6(%rsi)
	jne kx_not_ours
	mov GPR(0), %rax
	mov GPR(1), %rcx
	mov %eax, %r8d
	cpuid
	cmp $1, %r8d                    /* no PSE, PSE36 (no superpages), no PCID: as Xen's PV policy */
	jne 2f
	and $~(1 << 3 | 1 << 17), %edx
	and $~(1 << 17), %ecx
2:	cmp $7, %r8d                    /* no FSGSBASE, SMEP, INVPCID, SMAP; no UMIP, PKU, LA57 */
	jne 3f
	and $~(1 << 0 | 1 << 7 | 1 << 10 | 1 << 20), %ebx
	and $~(1 << 2 | 1 << 3 | 1 << 16), %ecx
3:	cmp $0x80000001, %r8d           /* no 1 GiB pages */
	jne 1f
	and $~(1 << 26), %edx
1:	mov %rax, GPR(0)
	mov %rcx, GPR(1)
	mov %rdx, GPR(2)
	mov %rbx, GPR(3)
	addq $7, KX_DATA(D_ERIP)
	jmp kx_resume

/*
 * #GP in the kernel: the privileged instructions Linux 6.1 still executes
 * (rdmsr/wrmsr, mov to and from CR0/CR4, wbinvd, port I/O), answered as
 * Xen's emulate_privileged_op does for a domU.
 */
kx_emul_gp:
	movzbl (%rsi), %eax
	xor %ecx, %ecx                  /* REX.B */
	mov %eax, %edx
	and $0xf0, %edx
	cmp $0x40, %edx
	jne 1f
	mov %eax, %ecx
	and $1, %ecx
	shl $3, %ecx
	inc %rsi
	incq KX_DATA(D_ERIP)
	movzbl (%rsi), %eax
1:	cmp $0x0f, %eax
	je kx_emul_0f
	cmp $0x66, %eax                 /* operand-size prefix: port I/O only */
	jne 2f
	incq KX_DATA(D_ERIP)
	inc %rsi
	movzbl (%rsi), %eax
2:	cmp $0xfa, %eax                 /* cli/sti: events are masked in vcpu_info, not by IF */
	je 6f
	cmp $0xfb, %eax
	je 6f
	cmp $0xe4, %eax                 /* in al/ax/eax, imm8 */
	je 3f
	cmp $0xe5, %eax
	je 3f
	cmp $0xec, %eax                 /* in al/ax/eax, dx */
	je 4f
	cmp $0xed, %eax
	je 4f
	cmp $0xe6, %eax                 /* out: dropped */
	je 5f
	cmp $0xe7, %eax
	je 5f
	cmp $0xee, %eax
	je 6f
	cmp $0xef, %eax
	je 6f
	jmp kx_not_ours
3:	addq $1, KX_DATA(D_ERIP)
	movzbl 1(%rsi), %edx            /* the PIT (0x40-0x43) reads as 0: Linux's quick calibration */
	and $0xfc, %edx                 /* then fails at its first check instead of after 100,000 */
	cmp $0x40, %edx                 /* emulated reads of all ones (~20 s here) */
	jne 4f
	movl $0, GPR(0)
	addq $1, KX_DATA(D_ERIP)
	jmp kx_resume
4:	movl $0xffffffff, GPR(0)        /* reads of ports a domU does not own: all ones */
	addq $1, KX_DATA(D_ERIP)
	jmp kx_resume
5:	addq $1, KX_DATA(D_ERIP)
6:	addq $1, KX_DATA(D_ERIP)
	jmp kx_resume

kx_emul_0f:
	movzbl 1(%rsi), %eax
	cmp $0x30, %eax
	je kx_wrmsr
	cmp $0x32, %eax
	je kx_rdmsr
	cmp $0x09, %eax                 /* wbinvd: nothing to do */
	je 7f
	cmp $0x20, %eax
	je kx_mov_from_cr
	cmp $0x22, %eax
	je kx_mov_to_cr
	jmp kx_not_ours
7:	addq $2, KX_DATA(D_ERIP)
	jmp kx_resume

/* Records the access (ecx = the MSR, \w = 1 for a write) once in D_MSRSEEN, for kxen-hv's report. Clobbers r8-r10. */
.macro msr_seen w
	mov %ecx, %r8d
	.if \w
	bts $32, %r8
	.endif
	lea KX_DATA(D_MSRSEEN), %r9
	xor %r10d, %r10d
1:	cmp $PVL_MSRSEEN_N, %r10d
	jae 3f
	cmpq $0, (%r9,%r10,8)
	je 2f
	cmp %r8, (%r9,%r10,8)
	je 3f
	inc %r10d
	jmp 1b
2:	mov %r8, (%r9,%r10,8)
3:
.endm

/*
 * rcx = the MSR: r8 -> its {index, value} entry in the table at \table (kxen-hv's policy), or a jump to
 * kx_not_ours (a #GP bounced to Linux, whose MSR accessors take it as the error Xen gives). Clobbers r9.
 */
.macro msr_lookup table
	lea KX_DATA(\table), %r8
	xor %r9d, %r9d
1:	cmp $PVL_MSRTAB_N, %r9d
	jae kx_not_ours
	cmpl $0, (%r8)
	je kx_not_ours
	cmp %ecx, (%r8)
	je 2f
	add $16, %r8
	inc %r9d
	jmp 1b
2:
.endm

/*
 * wrmsr, as Xen's guest MSR policy for a PV domU: the FS and GS bases by
 * wrfsbase/wrgsbase, the user GS base kept; the writes of kxen-hv's table
 * dropped when they set only the bits it allows; anything else #GP.
 */
kx_wrmsr:
	mov GPR(1), %rcx
	mov %ecx, %ecx
	msr_seen 1
	mov GPR(2), %rax
	shl $32, %rax
	movl GPR(0), %edx
	or %rdx, %rax
	cmp $0xc0000100, %ecx
	jne 1f
	wrfsbase %rax
	jmp 9f
1:	cmp $0xc0000101, %ecx
	jne 2f
	wrgsbase %rax
	jmp 9f
2:	cmp $0xc0000102, %ecx
	jne 3f
	mov %rax, KX_DATA(D_GSU)
	jmp 9f
3:	msr_lookup D_MSRWR
	mov 8(%r8), %rdx
	not %rdx
	test %rdx, %rax
	jnz kx_not_ours
9:	addq $2, KX_DATA(D_ERIP)
	jmp kx_resume

/* rdmsr: the bases, EFER and MISC_ENABLE as Xen shows them, kxen-hv's table, #GP for the rest. */
kx_rdmsr:
	mov GPR(1), %rcx
	mov %ecx, %ecx
	msr_seen 0
	xor %eax, %eax
	cmp $0xc0000100, %ecx
	jne 1f
	rdfsbase %rax
	jmp 8f
1:	cmp $0xc0000101, %ecx
	jne 2f
	rdgsbase %rax
	jmp 8f
2:	cmp $0xc0000102, %ecx
	jne 3f
	mov KX_DATA(D_GSU), %rax
	jmp 8f
3:	cmp $0xc0000080, %ecx
	jne 4f
	mov $0xd01, %eax                /* SCE LME LMA NXE */
	jmp 8f
	/*
	 * IA32_MISC_ENABLE as Xen's guest_misc_enable: fast strings on (the CPU
	 * has them: its ERMS/FSRM reach Linux through cpuid), BTS, PEBS and xTPR
	 * off. Read as 0, Linux clears ERMS but keeps FSRM, and memmove's
	 * alternatives then drop its length check without its ERMS path: every
	 * forward memmove under 32 bytes runs on until it faults.
	 */
4:	cmp $0x1a0, %ecx
	jne 5f
	mov $(1 << 0 | 1 << 11 | 1 << 12 | 1 << 23), %eax
	jmp 8f
5:	msr_lookup D_MSRRD
	mov 8(%r8), %rax
8:	mov %rax, %rdx
	shr $32, %rdx
	mov %eax, %eax
	mov %rax, GPR(0)
	mov %rdx, GPR(2)
	addq $2, KX_DATA(D_ERIP)
	jmp kx_resume

/* mov %crN, %reg (register form only): CR0 and CR4 as a PV guest sees them, CR2 and CR3 kept. */
kx_mov_from_cr:
	movzbl 2(%rsi), %eax
	mov %eax, %edx
	and $0xc0, %edx
	cmp $0xc0, %edx
	jne kx_not_ours
	mov %eax, %edx
	shr $3, %edx
	and $7, %edx                    /* the control register */
	and $7, %eax
	or %ecx, %eax                   /* the general register, REX.B included */
	xor %r8d, %r8d
	cmp $0, %edx
	jne 1f
	mov $0x80050033, %r8d           /* PG AM WP NE ET MP PE */
	jmp 5f
1:	cmp $2, %edx
	jne 2f
	mov KX_DATA(D_CR2), %r8
	jmp 5f
2:	cmp $3, %edx
	jne 3f
	mov KX_INFO(I_KCR3), %r8
	jmp 5f
3:	cmp $4, %edx
	jne kx_not_ours
	mov $0x6e0, %r8d                /* PAE MCE PGE OSFXSR OSXMMEXCPT */
5:	lea GPR(0), %rdx
	mov %r8, (%rdx,%rax,8)
	addq $3, KX_DATA(D_ERIP)
	jmp kx_resume

/* mov %reg, %crN: Linux's pv ops write CR0 and CR4 only for bits kxen keeps itself: dropped. */
kx_mov_to_cr:
	movzbl 2(%rsi), %eax
	and $0xc0, %eax
	cmp $0xc0, %eax
	jne kx_not_ours
	addq $3, KX_DATA(D_ERIP)
	jmp kx_resume

/*
 * A kernel access stopped by U=0 somewhere on its walk (Linux wrote the
 * entry itself, without the U bit Xen adds): set U on every level through
 * the alias, invalidate, retry. Only protection faults (P=1) qualify.
 */
kx_fix_user_bit:
	testb $1, KX_DATA(D_ERR)
	jz kx_not_ours
	movabs $PVL_ALIAS_VA, %r8
	mov KX_INFO(I_KCR3), %rdx
	xor %r9d, %r9d                  /* entries changed */
	mov $39, %ecx
1:	mov KX_DATA(D_CR2), %rax
	shr %cl, %rax
	and $511, %eax
	add %r8, %rdx
	lea (%rdx,%rax,8), %rdx
	mov (%rdx), %rax
	test $1, %rax
	jz 3f
	test $4, %rax
	jnz 2f
	or $4, %rax
	mov %rax, (%rdx)
	inc %r9
2:	cmp $12, %ecx
	je 3f
	test $0x80, %rax
	jnz 3f
	movabs $0x000ffffffffff000, %rdx
	and %rax, %rdx
	mov KX_DATA(D_NRPAGES), %rax
	shl $12, %rax
	cmp %rax, %rdx
	jae 3f
	sub $9, %ecx
	jmp 1b
3:	test %r9, %r9
	jz kx_ptwr
	incq KX_DATA(D_NUFIX)
	decq KX_DATA(D_NEMUL)           /* kx_resume counts it as an emulation */
	stash KX_DATA(D_CR2), D_ARG
	int3
kx_site_fix_flush:
	jmp kx_resume

/*
 * Xen's writable page tables (ptwr): a kernel write to a read-only page of
 * Linux's direct map (where it keeps every page table it allocates and maps
 * them read-only once pinned), by one of the stores ptwr_decode knows, is
 * done through kxen's alias with mmu_update's rules (inside RAM, U on a
 * present entry). The read-modify-write forms run as themselves, locked, on
 * the alias with the interrupted context's arithmetic flags (btr's CF,
 * cmpxchg's ZF reach Linux), so they stay atomic against other vCPUs and the
 * MMU's A/D updates; U is then added by a cmpxchg loop, so a concurrent
 * writer's value (a swap entry, not present) never gains it. kxen keeps no
 * page types: a read-only direct-map page that is not a page table is
 * written too (Linux's own protection there, not kxen's). No flush, as for
 * mmu_update: Linux flushes after changing live entries.
 */
kx_ptwr:
	testb $2, KX_DATA(D_ERR)
	jz kx_not_ours
	ptwr_decode                     /* rsi = the faulting rip */
	test %eax, %eax
	jz kx_not_ours
	mov KX_DATA(D_CR2), %rdi
	movabs $PVL_LINUX_DIRECT_VA, %r8
	sub %r8, %rdi                   /* the direct map is RAM from frame 0 */
	jb kx_not_ours
	mov %edx, %r8d                  /* the operand inside one entry */
	shr $8, %r8d
	mov %edi, %r10d
	and $7, %r10d
	add %r8d, %r10d
	cmp $8, %r10d
	ja kx_not_ours
	mov KX_DATA(D_NRPAGES), %r10
	shl $12, %r10
	cmp %r10, %rdi
	jae kx_not_ours
	add %rax, KX_DATA(D_ERIP)
	incq KX_DATA(D_NPTWR)
	movabs $PVL_ALIAS_VA, %r8
	add %r8, %rdi
	test $PTWR_IMM, %edx            /* the source: the immediate, or the register */
	jnz 1f
	lea GPR(0), %r10
	mov (%r10,%rcx,8), %r9
1:	mov %edx, %r10d
	and $0x7f, %r10d                /* the operation */
	shr $8, %edx                    /* the size */
	cmp $PTWR_OR, %r10d             /* a whole entry stored (mov, xchg, cmpxchg): U if present */
	jb 2f
	cmp $PTWR_CMPXCHG, %r10d
	jne 3f
2:	test $1, %r9b
	jz 3f
	or $4, %r9
3:	pushfq                          /* the interrupted context's arithmetic flags */
	pop %r11
	and $~0x8d5, %r11
	mov KX_DATA(D_EFL), %rax
	and $0x8d5, %eax
	or %rax, %r11
	mov GPR(0), %rax                /* cmpxchg's comparand */
	cmp $PTWR_MOV, %r10d
	je kx_pt_mov
	cmp $PTWR_XCHG, %r10d
	je kx_pt_xchg
	cmp $PTWR_CMPXCHG, %r10d
	je kx_pt_cmpxchg
	cmp $PTWR_OR, %r10d
	jne 4f
	cmp $1, %edx
	je kx_pt_orb
	cmp $4, %edx
	je kx_pt_orl
	jmp kx_pt_orq
4:	cmp $PTWR_AND, %r10d
	jne 5f
	cmp $1, %edx
	je kx_pt_andb
	cmp $4, %edx
	je kx_pt_andl
	jmp kx_pt_andq
5:	cmp $4, %edx                    /* bts, btr: the offset modulo the operand, as the CPU */
	jne 6f
	and $31, %r9d
	cmp $PTWR_BTS, %r10d
	je kx_pt_btsl
	jmp kx_pt_btrl
6:	and $63, %r9d
	cmp $PTWR_BTS, %r10d
	je kx_pt_btsq
	jmp kx_pt_btrq

/* One store on the alias under the interrupted flags (r11), the flags it leaves back in r11. */
.macro ptwr_op name, insn, done=kx_ptwr_done
\name:
	push %r11
	popfq
	\insn
	pushfq
	pop %r11
	jmp \done
.endm
	ptwr_op kx_pt_mov, "mov %r9, (%rdi)"
	ptwr_op kx_pt_xchg, "xchg %r9, (%rdi)", kx_ptwr_xchg_done
	ptwr_op kx_pt_cmpxchg, "lock cmpxchg %r9, (%rdi)", kx_ptwr_cmpxchg_done
	ptwr_op kx_pt_orb, "lock orb %r9b, (%rdi)"
	ptwr_op kx_pt_orl, "lock orl %r9d, (%rdi)"
	ptwr_op kx_pt_orq, "lock orq %r9, (%rdi)"
	ptwr_op kx_pt_andb, "lock andb %r9b, (%rdi)"
	ptwr_op kx_pt_andl, "lock andl %r9d, (%rdi)"
	ptwr_op kx_pt_andq, "lock andq %r9, (%rdi)"
	ptwr_op kx_pt_btsl, "lock btsl %r9d, (%rdi)"
	ptwr_op kx_pt_btrl, "lock btrl %r9d, (%rdi)"
	ptwr_op kx_pt_btsq, "lock btsq %r9, (%rdi)"
	ptwr_op kx_pt_btrq, "lock btrq %r9, (%rdi)"

kx_ptwr_xchg_done:                      /* xchg: the old entry to the register */
	lea GPR(0), %rax
	mov %r9, (%rax,%rcx,8)
	jmp kx_ptwr_done
kx_ptwr_cmpxchg_done:                   /* cmpxchg: the entry found to rax */
	mov %rax, GPR(0)
kx_ptwr_done:
	and $0x8d5, %r11d
	mov KX_DATA(D_EFL), %rax
	and $~0x8d5, %rax
	or %r11, %rax
	mov %rax, KX_DATA(D_EFL)
	and $-8, %rdi                   /* mmu_update's rule on what the entry now holds */
	mov (%rdi), %rax
7:	test $1, %al
	jz 8f
	test $4, %al
	jnz 8f
	lea 4(%rax), %r8
	lock cmpxchg %r8, (%rdi)
	jne 7b
8:	jmp kx_resume

	.p2align 2
/* Hypercall number -> handler, as offsets from the table (position-independent). */
.macro fwd n
	.rept \n
	.long kx_forward - kx_table
	.endr
.endm
kx_table:
	.long kx_set_trap_table - kx_table      /* 0 */
	.long kx_mmu_update - kx_table          /* 1 */
	.long kx_set_gdt - kx_table             /* 2 */
	.long kx_stack_switch - kx_table        /* 3 */
	fwd 1                                   /* 4 set_callbacks */
	.long kx_zero - kx_table                /* 5 fpu_taskswitch: bookkeeping */
	fwd 2                                   /* 6-7 */
	.long kx_zero - kx_table                /* 8 set_debugreg: bookkeeping */
	.long kx_get_debugreg - kx_table        /* 9 */
	.long kx_update_descriptor - kx_table   /* 10 */
	fwd 1                                   /* 11 */
	.long kx_memory_op - kx_table           /* 12 */
	.long kx_multicall - kx_table           /* 13 */
	.long kx_update_va_mapping - kx_table   /* 14 */
	fwd 2                                   /* 15-16 */
	.long kx_xen_version - kx_table         /* 17 */
	fwd 3                                   /* 18-20 */
	.long kx_zero - kx_table                /* 21 vm_assist: bookkeeping */
	fwd 1                                   /* 22 */
	.long kx_iret - kx_table                /* 23 */
	.long kx_vcpu_op - kx_table             /* 24 */
	.long kx_set_segment_base - kx_table    /* 25 */
	.long kx_mmuext_op - kx_table           /* 26 */
	fwd 3                                   /* 27-29 */
	.long kx_callback_op - kx_table         /* 30 */
	fwd 1                                   /* 31 */
	.long kx_event_channel_op - kx_table    /* 32 */
	.long kx_physdev_op - kx_table          /* 33 */
	fwd (PVL_HC_MAX - 34)

/* ---- ring 0: as few instructions as possible, they are emulated here ---- */

.macro int3_from site, target
	lea \site(%rip), %rcx
	cmp %rcx, %rax
	je \target
.endm

/* int3 (gate DPL 3): kxen's requests, recognised by where the int3 was. */
pvl_r0_int3:
	push %rax
	push %rcx
	mov 16(%rsp), %rax
	int3_from kx_site_flush, 1f
	int3_from kx_site_fix_flush, 1f
	int3_from kx_site_user_entry, 2f
	int3_from kx_site_to_user, 3f
	int3_from kx_site_mx_invlpg, 1f
	int3_from kx_site_new_cr3, 4f
	int3_from kx_site_new_ucr3, 5f
	int3_from kx_site_flush_all, 6f
	int3_from kx_site_remote_flush, 7f
	pop %rcx                        /* a guest int3: through the common path as vector 3 */
	pop %rax
	pushq $0
	pushq $3
	jmp kx_r0_exc
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
	movq $PVL_SEL_U_CS, 24(%rsp)
	mov KX_DATA(D_TRFL), %rax
	or $0x200, %rax
	and $~0x3000, %rax
	mov %rax, 32(%rsp)
	mov KX_DATA(D_TRSP), %rax
	mov %rax, 40(%rsp)
	movq $PVL_SEL_U_DS, 48(%rsp)
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

4:	mov KX_DATA(D_ARG), %rax        /* NEW_BASEPTR: the info page ring 0 alone writes, then CR3 */
	mov %rax, KX_INFO(I_KCR3)
	mov %rax, %cr3
	pop %rcx
	pop %rax
	iretq
5:	mov KX_DATA(D_ARG), %rax        /* NEW_USER_BASEPTR: loaded at the next return to a process */
	mov %rax, KX_INFO(I_UCR3)
	pop %rcx
	pop %rax
	iretq
6:	mov %cr3, %rax
	mov %rax, %cr3
	pop %rcx
	pop %rax
	iretq
7:	mov %cr3, %rax                  /* a remote flush: the whole TLB, then back where kxen-hv found the vCPU */
	mov %rax, %cr3
	mov KX_INFO(I_FLRIP), %rax
	mov %rax, 16(%rsp)
	mov KX_INFO(I_FLGEN), %rax
	mov %rax, KX_INFO(I_FLDONE)
	pop %rcx
	pop %rax
	iretq

/* Vectors 0-31: push the vector (and a 0 error code where the CPU pushes none), 16 bytes each. */
	.p2align 4
pvl_r0_vectors:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.p2align 4
	.if (\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21)
	pushq $\v
	.else
	pushq $0
	pushq $\v
	.endif
	jmp kx_r0_exc
	.endr

/* [vector, error, rip, cs, rflags, rsp, ss]: the kernel L4 first if a process faulted. */
	.p2align 4
kx_r0_exc:
	push %rax
	cmpb $0, KX_MODE
	jne 1f
	mov KX_INFO(I_KCR3), %rax
	mov %rax, %cr3
	movq $PVL_SEL_U_CS, KX_DATA(D_ECS)
	movq $PVL_SEL_U_DS, KX_DATA(D_ESS)
	jmp 2f
1:	movq $(PVL_SEL_K_CS & ~3), KX_DATA(D_ECS)   /* kernel frames carry cs & ~3, as Xen's */
	movq $PVL_SEL_K_SS, KX_DATA(D_ESS)
2:	stash %cr2, D_CR2
	stash 8(%rsp), D_VEC
	stash 16(%rsp), D_ERR
	stash 24(%rsp), D_ERIP
	stash 40(%rsp), D_EFL
	stash 48(%rsp), D_ERSP
	lea kx_exception_k(%rip), %rax
	mov %rax, 24(%rsp)
	pop %rax
	add $16, %rsp
	iretq

	.p2align 4
pvl_blob_end:
	.section .note.GNU-stack, "", @progbits
