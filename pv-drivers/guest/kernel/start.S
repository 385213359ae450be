/* Entry point, Xen ELF notes, hypercall page, event upcall entry and stack switching. */
#include <xen/elfnote.h>
#include "layout.h"

#include "xen_notes.h"

	.section .note.Xen, "a", @note
	XEN_NOTE_STR  XEN_ELFNOTE_GUEST_OS,       "kxen-guest"
	XEN_NOTE_STR  XEN_ELFNOTE_XEN_VERSION,    "xen-3.0"
	XEN_NOTE_STR  XEN_ELFNOTE_LOADER,         "generic"
	XEN_NOTE_QUAD XEN_ELFNOTE_ENTRY,          _start
	XEN_NOTE_QUAD XEN_ELFNOTE_HYPERCALL_PAGE, hypercall_page
	XEN_NOTE_STR  XEN_ELFNOTE_FEATURES,       "auto_translated_physmap|writable_page_tables"

	.section .text.entry, "ax"
	.code64
	.globl _start
/*
 * CPL 3, %rsi = start_info, %rsp = top of the builder's boot stack (also the
 * start of free RAM). We move to our own STACK_SIZE-aligned boot stack at
 * once so that %rsp-based current-thread lookup works from the first C line.
 */
_start:
	cld
	mov	%rsi, %r12
	mov	%rsp, %r13
	/*
	 * The builder zeroes .bss (docs/guest-abi.md), as Xen's does. Clearing
	 * it again would first-touch every page of it, and on kvm_pvm each first
	 * touch costs ~26 us: 1.2 ms of boot for our 190 KiB .bss.
	 */
	lea	boot_stack + STACK_SIZE(%rip), %rsp
	mov	%r12, %rdi
	mov	%r13, %rsi
	call	kmain
	ud2

/*
 * Event upcall. The hypervisor masked events (evtchn_upcall_mask = 1) and
 * left [rcx][r11][rip][cs][rflags][rsp][ss] at %rsp: rcx and r11 hold the
 * interrupted values, the rest is an iretq frame (CPL 3 -> CPL 3 is fine).
 *
 * evtchn_do_upcall() returns this vCPU's vcpu_info. We unmask only after
 * every register except %rax is restored and re-check pending right after
 * unmasking: an event that arrived while we were masked raised no upcall,
 * so looping here is what keeps it from being lost until the next event.
 * An upcall that lands between the unmask and the iretq simply nests on
 * this stack, which is valid at every instruction.
 */
	.text
	.globl hypervisor_callback
	.type hypervisor_callback, @function
hypervisor_callback:
	pop	%rcx
	pop	%r11
1:	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rbx		/* callee-saved: survives the C call */
	and	$-16, %rsp
	cld
	call	evtchn_do_upcall
	mov	%rbx, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	movb	$0, VCPU_UPCALL_MASK(%rax)
	lock orl $0, (%rsp)		/* store->load fence: the unmask must be visible before we read pending */
	testb	$0xff, VCPU_UPCALL_PENDING(%rax)
	jnz	2f
	pop	%rax
	iretq
2:	movb	$1, VCPU_UPCALL_MASK(%rax)
	pop	%rax
	jmp	1b
	.size hypervisor_callback, . - hypervisor_callback

/*
 * Secondary vCPU entry (VCPUOP_initialise): %rdi = vCPU id, %rsi = boot
 * argument, %rsp = top of a STACK_SIZE block prepared by vCPU 0.
 */
	.globl smp_secondary_entry
	.type smp_secondary_entry, @function
smp_secondary_entry:
	cld
	and	$-16, %rsp
	call	smp_secondary_main
	ud2
	.size smp_secondary_entry, . - smp_secondary_entry

/* switch_stack(uint64_t *save_sp, uint64_t new_sp): cooperative context switch. */
	.globl switch_stack
	.type switch_stack, @function
switch_stack:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, (%rdi)
	mov	%rsi, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size switch_stack, . - switch_stack

/* First "return" of a new thread: %rsp is the 16-aligned top of its stack. */
	.globl thread_trampoline
	.type thread_trampoline, @function
thread_trampoline:
	call	thread_entry
	ud2
	.size thread_trampoline, . - thread_trampoline

/*
 * The builder overwrites this page with the hypercall stubs. Until then it
 * is ud2s, so calling an unfilled page crashes loudly instead of sliding.
 */
	.section .text.hypercall_page, "ax"
	.balign 4096
	.globl hypercall_page
	.type hypercall_page, @object
hypercall_page:
	.rept 2048
	ud2
	.endr
	.size hypercall_page, 4096

	.section .bss.boot_stack, "aw", @nobits
	.balign STACK_SIZE
	.globl boot_stack
boot_stack:
	.skip STACK_SIZE

	.section .note.GNU-stack, "", @progbits
