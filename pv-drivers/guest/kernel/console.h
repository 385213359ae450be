/* printk and snprintf-style formatting; output is batched for the console ring and HYPERVISOR_console_io (xencons.h). */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include "kernel.h"

/*
 * Conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers l, ll, z,
 * flags '0' and '-', a field width (number or *) and a precision for %s.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__printf(3, 4) int snprintf(char *buf, size_t size, const char *fmt, ...);

/*
 * Formats into a bounded buffer and queues it whole, so lines from vCPUs do
 * not interleave. Queued output leaves the guest at the next console_flush
 * (the scheduler's idle, shutdown, crash), when the batch fills, or at a
 * later write 10 ms after the batch began: code that spins without waiting
 * must call console_flush itself for what it printed to be seen.
 */
__printf(1, 2) void printk(const char *fmt, ...);
void vprintk(const char *fmt, va_list ap);
/* Unlocked queueing for both consoles (as console_mode says): for the boot banner and printk. */
void console_write(const char *s, size_t len);
/* Sends the queued output: console_io and one ring notification (each an exit), nothing when empty. */
void console_flush(void);
/* From now on clock_now_ns works and bounds how long output waits in the batch. */
void console_batch_clock_ready(void);
/* Locked write to the console ring only: input echo, which the hypervisor log need not keep. */
void console_write_ring(const char *s, size_t len);

#endif
