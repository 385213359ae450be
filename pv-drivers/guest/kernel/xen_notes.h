/* Assembler macros for Xen ELF notes (name "Xen", 4-byte aligned fields): our guest kernel and the hostile test kernel. */
#ifndef GUEST_XEN_NOTES_H
#define GUEST_XEN_NOTES_H

/* One Xen ELF note: name "Xen", 4-byte aligned fields as the ELF spec asks. */
.macro XEN_NOTE_BEGIN type
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long \type
1:	.asciz "Xen"
2:	.balign 4
3:
.endm
.macro XEN_NOTE_END
4:	.balign 4
.endm
.macro XEN_NOTE_STR type, str
	XEN_NOTE_BEGIN \type
	.asciz "\str"
	XEN_NOTE_END
.endm
.macro XEN_NOTE_QUAD type, value
	XEN_NOTE_BEGIN \type
	.quad \value
	XEN_NOTE_END
.endm

#endif
