/* log.c's interface: the hypervisor log ring that `kxl dmesg` reads. */
#ifndef KXEN_HV_LOG_H
#define KXEN_HV_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Initialises the log; echo_fd >= 0 also receives every line (stderr or a file). Call once, first. */
void hvlog_init(int echo_fd);
/* Appends one line (a trailing newline is added if missing, longer lines cut at 1 KiB). Any thread. */
void hvlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Copies log text from *cursor into buf (at most len - 1 bytes, then a
 * NUL) and advances *cursor; *lost counts bytes overwritten before they
 * could be read. Returns the bytes copied. Any thread.
 */
size_t hvlog_read(uint64_t *cursor, char *buf, size_t len, uint64_t *lost);

#endif
