/* Constants shared by start.S and C (keep this header free of C declarations). */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/*
 * Every thread stack is a STACK_SIZE block aligned to STACK_SIZE with its
 * struct thread at the bottom, so %rsp alone finds the current thread and
 * CPU: ring 3 cannot set a GS base without FSGSBASE, and the upcall runs on
 * whatever stack it interrupted.
 */
#define STACK_SIZE      16384
#define STACK_PAGES     (STACK_SIZE / 4096)

/* Byte offsets in struct vcpu_info (checked by a static assert in events.c). */
#define VCPU_UPCALL_PENDING 0
#define VCPU_UPCALL_MASK    1

#endif
