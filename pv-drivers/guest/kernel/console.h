/* printk and snprintf-style formatting; output goes to the console ring and HYPERVISOR_console_io (xencons.h). */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include "kernel.h"

/*
 * Conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers l, ll, z,
 * flags '0' and '-', a field width (number or *) and a precision for %s.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__printf(3, 4) int snprintf(char *buf, size_t size, const char *fmt, ...);

/* Formats into a bounded buffer and writes it with one console_io call, so lines from vCPUs do not interleave. */
__printf(1, 2) void printk(const char *fmt, ...);
void vprintk(const char *fmt, va_list ap);
/* Unlocked write to both consoles (as console_mode says): for the boot banner and printk. */
void console_write(const char *s, size_t len);
/* Locked write to the console ring only: input echo, which the hypervisor log need not keep. */
void console_write_ring(const char *s, size_t len);

#endif
