/* The hostile direct-paging test kernel's entry, Xen notes (Linux's kind: no hypercall page, no auto-translation) and its `syscall` hypercall. */
#include <xen/elfnote.h>
#include "xen_notes.h"

#define VIRT_BASE 0xffffffff80000000

	.section .note.Xen, "a", @note
	XEN_NOTE_STR  XEN_ELFNOTE_GUEST_OS,       "kxen-pvhostile"
	XEN_NOTE_STR  XEN_ELFNOTE_XEN_VERSION,    "xen-3.0"
	XEN_NOTE_STR  XEN_ELFNOTE_LOADER,         "generic"
	XEN_NOTE_QUAD XEN_ELFNOTE_VIRT_BASE,      VIRT_BASE
	XEN_NOTE_QUAD XEN_ELFNOTE_PADDR_OFFSET,   0
	XEN_NOTE_QUAD XEN_ELFNOTE_ENTRY,          _start
	XEN_NOTE_STR  XEN_ELFNOTE_FEATURES,       "!writable_page_tables|pae_pgdir_above_4gb"

	.section .text.entry, "ax"
	.code64
	.globl _start
/* CPL 3 on the builder's tables, %rsi = start_info (virtual), %rsp = the boot stack. */
_start:
	cld
	mov	%rsi, %rdi
	and	$-16, %rsp
	call	hmain
	ud2

/*
 * long hc(nr, a1, a2, a3, a4, a5): a hypercall as Linux makes it without a
 * hypercall page: `syscall` from the kernel with the number in rax and the
 * arguments in rdi, rsi, rdx, r10, r8. Everything but rax is the
 * hypervisor's to clobber, so the callee-saved registers are kept here.
 */
	.text
	.globl hc
	.type hc, @function
hc:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %r10
	mov	%r9, %r8
	syscall
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
