/* The layer's ptwr store decoder (hypervisor/pvl_ptwr.inc) as a host function for test_pvl. */
#include "pvl_ptwr.inc"
	.text
	.globl pvl_ptwr_decode_host
	.type pvl_ptwr_decode_host, @function
/*
 * unsigned pvl_ptwr_decode_host(const uint8_t *insn, uint32_t *reg, uint32_t *op, uint64_t *imm):
 * the length, 0 if refused.
 */
pvl_ptwr_decode_host:
	push %rcx
	push %rsi
	push %rdx
	mov %rdi, %rsi
	ptwr_decode
	pop %r8
	mov %edx, (%r8)
	pop %r8
	mov %ecx, (%r8)
	pop %r8
	mov %r9, (%r8)
	ret
	.size pvl_ptwr_decode_host, . - pvl_ptwr_decode_host
	.section .note.GNU-stack, "", @progbits
