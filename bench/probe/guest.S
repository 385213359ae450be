/* Guest code for the raw-KVM probes: position-independent snippets copied to CODE_GPA. */
#define EXIT_PORT 0x10
#define DATA_GPA 0x50000

	.section .rodata
	.globl guest_blob, guest_blob_end
	.p2align 12
guest_blob:

/* rax = TSC now (clobbers rdx). */
.macro tsc_now
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
.endm

/* Ends a timed snippet: rax = TSC delta since r12, then exit to user space. */
.macro tsc_exit
	tsc_now
	sub %r12, %rax
	out %al, $EXIT_PORT
.endm

/* rdi iterations of one add: what an instruction costs in the current mode. */
	.globl g_loop
g_loop:
	tsc_now
	mov %rax, %r12
1:	add $1, %rbx
	dec %rdi
	jnz 1b
	tsc_exit

/* rdi syscalls with rax = rsi; r13 = the last result. */
	.globl g_syscall_loop
g_syscall_loop:
	tsc_now
	mov %rax, %r12
1:	mov %rsi, %rax
	mov $0x1111, %r10
	syscall
	mov %rax, %r13
	dec %rdi
	jnz 1b
	tsc_exit

/* An entry point that only reports where and how it was reached. */
	.globl g_report
g_report:
	out %al, $EXIT_PORT
	jmp g_report

/* rdi iterations of ud2 (2 bytes). */
	.globl g_ud_loop
g_ud_loop:
	tsc_now
	mov %rax, %r12
1:	ud2
	dec %rdi
	jnz 1b
	tsc_exit

/* rdi loads from rsi (2 bytes: 8a 06), a page left not present. */
	.globl g_pf_loop
g_pf_loop:
	tsc_now
	mov %rax, %r12
1:	mov (%rsi), %al
	dec %rdi
	jnz 1b
	tsc_exit

/* rdi stores of rdx into the PTE at rsi (a page-table store in guest context). */
	.globl g_pte_store_loop
g_pte_store_loop:
	tsc_now
	mov %rax, %r12
1:	mov %rdx, (%rsi)
	dec %rdi
	jnz 1b
	tsc_exit

/* rdi exits to user space (port I/O). */
	.globl g_out_loop
g_out_loop:
	tsc_now
	mov %rax, %r12
1:	out %al, $0x11
	dec %rdi
	jnz 1b
	tsc_exit


/* A CPL-3 syscall entry that returns at once: sysret's job done in ring 3. */
	.globl g_sysret3
g_sysret3:
	push %r11
	popfq
	jmp *%rcx

/* rdi int3s. */
	.globl g_int3_loop
g_int3_loop:
	tsc_now
	mov %rax, %r12
1:	int3
	dec %rdi
	jnz 1b
	tsc_exit

/* Ring-0 stubs reached through the IDT. */
	.globl g_r0_iret
g_r0_iret:
	iretq

	.globl g_r0_cr3
g_r0_cr3:
	push %rax
	mov %cr3, %rax
	mov %rax, %cr3
	pop %rax
	iretq

	.globl g_r0_invlpg
g_r0_invlpg:
	invlpg (%rsi)
	iretq

	.globl g_r0_skip2
g_r0_skip2:
	addq $2, (%rsp)
	iretq

	.globl g_r0_pf_skip2
g_r0_pf_skip2:
	add $8, %rsp
	addq $2, (%rsp)
	iretq

/* Ring-0 stub that hands the event to CPL-3 code at once (rip in the iret frame rewritten). */
	.globl g_r0_to_ring3
g_r0_to_ring3:
	push %rax
	mov 8(%rsp), %rax
	mov %rax, %r14             /* the faulting rip, for the ring-3 handler */
	lea g_ring3_skip2(%rip), %rax
	mov %rax, 8(%rsp)
	pop %rax
	iretq

/* CPL-3 half of an exception: skip the 2-byte instruction and return without ring 0. */
	.globl g_ring3_skip2
g_ring3_skip2:
	add $2, %r14
	jmp *%r14

/* rdi iterations of: store rdx into the PTE at rsi, then int3 (a ring-0 invlpg of rcx). */
	.globl g_pte_flush_loop
g_pte_flush_loop:
	tsc_now
	mov %rax, %r12
	mov %rsi, %r8
	mov %rcx, %rsi
1:	mov %rdx, (%r8)
	int3
	dec %rdi
	jnz 1b
	tsc_exit

/* rdi iterations of the Xen PV hypercall sequence with rax = rsi (Linux's xen_hypercall_pv). */
	.globl g_xen_hcall_loop
g_xen_hcall_loop:
	tsc_now
	mov %rax, %r12
1:	mov %rsi, %rax
	push %rcx
	push %r11
	syscall
	pop %r11
	pop %rcx
	dec %rdi
	jnz 1b
	tsc_exit

/* wrmsr(ecx = rsi, value = rdx) then report; a #GP lands in the gate's handler instead. */
	.globl g_wrmsr
g_wrmsr:
	mov %esi, %ecx
	mov %edx, %eax
	shr $32, %rdx
	wrmsr
	out %al, $EXIT_PORT

/* rdi iretqs at CPL 3 to CPL 3 (same-privilege return, as Xen PV's iret to kernel mode would be). */
	.globl g_iret3_loop
g_iret3_loop:
	tsc_now
	mov %rax, %r12
	mov %ss, %r8d
	mov %cs, %r9d
1:	mov %rsp, %rax
	push %r8
	push %rax
	pushfq
	push %r9
	lea 2f(%rip), %rax
	push %rax
	iretq
2:	dec %rdi
	jnz 1b
	tsc_exit

/* rdi cpuids (leaf 0). */
	.globl g_cpuid_loop
g_cpuid_loop:
	tsc_now
	mov %rax, %r12
1:	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	dec %rdi
	jnz 1b
	tsc_exit

/* #PF stub that counts faults in r15 and skips the 2-byte load. */
	.globl g_r0_pf_count
g_r0_pf_count:
	inc %r15
	add $8, %rsp
	addq $2, (%rsp)
	iretq

/* One 8-byte load from rsi (a fault lands in the gate's handler). */
	.globl g_load
g_load:
	mov (%rsi), %rax
	out %al, $EXIT_PORT

/*
 * Not-present -> present without a flush: touch rsi (faults), store rdx into
 * the PTE at rcx, touch rsi again; r15 counts the faults (1 = seen at once).
 */
	.globl g_np_to_p
g_np_to_p:
	xor %r15d, %r15d
	mov (%rsi), %al
	mov %rdx, (%rcx)
	mov (%rsi), %al
	out %al, $EXIT_PORT

/*
 * Present -> other frame: load rsi (r8), store rdx into the PTE at rcx, load
 * again without a flush (r9), int3 (a ring-0 invlpg of rsi), load again (r10).
 */
	.globl g_p_to_p
g_p_to_p:
	mov (%rsi), %r8
	mov %rdx, (%rcx)
	mov (%rsi), %r9
	int3
	mov (%rsi), %r10
	out %al, $EXIT_PORT

/* wrgsbase/wrfsbase at CPL 3 (needs CR4.FSGSBASE); rax = rdgsbase, rbx = rdfsbase. */
	.globl g_fsgsbase
g_fsgsbase:
	wrgsbase %rsi
	wrfsbase %rdx
	rdgsbase %rax
	rdfsbase %rbx
	out %al, $EXIT_PORT

/* rdpid at CPL 3: which vCPU am I, with no memory and no trap. */
	.globl g_rdpid
g_rdpid:
	rdpid %rax
	out %al, $EXIT_PORT

/* wrgsbase rsi, then an int3 (into the gate's stub), then rax = rdgsbase. */
	.globl g_gs_int3
g_gs_int3:
	wrgsbase %rsi
	int3
	rdgsbase %rax
	out %al, $EXIT_PORT

/* wrgsbase rsi, then a syscall (LSTAR returns in ring 3), then rax = rdgsbase. */
	.globl g_gs_syscall
g_gs_syscall:
	wrgsbase %rsi
	syscall
	rdgsbase %rax
	out %al, $EXIT_PORT

/* wrgsbase rsi, then cpuid, then rax = rdgsbase. */
	.globl g_gs_cpuid
g_gs_cpuid:
	wrgsbase %rsi
	xor %eax, %eax
	xor %ecx, %ecx
	cpuid
	rdgsbase %rax
	out %al, $EXIT_PORT

/* wrgsbase rsi, then ud2 (into the gate's stub, which skips it), then rax = rdgsbase. */
	.globl g_gs_ud
g_gs_ud:
	wrgsbase %rsi
	ud2
	rdgsbase %rax
	out %al, $EXIT_PORT

/* Ring-0 stub that loads the other L4 (PG_PML4_U, low half only) before returning. */
	.globl g_r0_cr3_other
g_r0_cr3_other:
	push %rax
	mov $0x6000, %eax
	mov %rax, %cr3
	pop %rax
	iretq

/* A syscall entry that reports the GS base it finds (rax). */
	.globl g_lstar_rdgs
g_lstar_rdgs:
	rdgsbase %rax
	out %al, $EXIT_PORT

	.p2align 4
/* Grant-window probe (gwin_probe.c): store rdx at (rsi), exit. */
	.globl g_gw_store
g_gw_store:
	mov %rdx, (%rsi)
	out %al, $EXIT_PORT

/* rax = (rsi); (rsi) = rdx; r8 = 8(rsi); exit. */
	.globl g_gw_rw
g_gw_rw:
	mov (%rsi), %rax
	mov %rdx, (%rsi)
	mov 8(%rsi), %r8
	out %al, $EXIT_PORT

/* Until (rdx) != 0: (rsi)++ by load/inc/store and r13++; then r14 = 8(rsi), exit. */
	.globl g_gw_inc_loop
g_gw_inc_loop:
1:	mov (%rsi), %rax
	inc %rax
	mov %rax, (%rsi)
	inc %r13
	mov (%rdx), %rcx
	test %rcx, %rcx
	jz 1b
	mov 8(%rsi), %r14
	out %al, $EXIT_PORT
2:	jmp 2b

guest_blob_end:
	.section .note.GNU-stack, "", @progbits
