/* Console frontend: the guest's stdout and stdin over its <xen/io/console.h> ring. */
#ifndef GUEST_XENCONS_H
#define GUEST_XENCONS_H

#include "kernel.h"

/*
 * Where kernel output goes, chosen by a leading "console=" word on the
 * command line: both (default: the ring and HYPERVISOR_console_io, whose copy
 * lands in kxen-hv's log for `kxl dmesg`), ring (the ring only) or hv (only
 * console_io, the ring stays unused).
 */
enum console_mode { CONSOLE_BOTH, CONSOLE_RING, CONSOLE_HV };
extern enum console_mode console_mode;

/*
 * Strips leading kernel options ("console=MODE") from argv; returns the new
 * argc, or -1 after printing why an option is bad.
 */
int console_parse_args(int argc, char **argv);

/* Finds the ring from start_info; output may go to it from then on (no waiting yet). */
void xencons_early_init(void);
/* Binds the ring's event channel handler; needs events and the clock. */
void xencons_init(void);

/*
 * Queues len bytes on the out ring, '\n' as "\r\n" (a terminal's ONLCR),
 * notifying the backend only once half the ring is unannounced (xencons_flush
 * does the rest). Call with the console lock held (events masked).
 * When the ring is full it waits for the backend, never drops, once a
 * backend has shown up or when console_io is off; before any backend was
 * seen it drops the ring copy rather than hang a guest that has none.
 */
void xencons_write(const char *s, size_t len);
/* Notifies the backend of what xencons_write queued since the last notification, if anything. */
void xencons_flush(void);

/*
 * Waits up to timeout_ns for a backend to bind the console port; 0 once it
 * has, -XEN_ETIMEDOUT on timeout (-XEN_ENODEV before the console is set up). Test apps use it so their whole output reaches the log.
 */
int xencons_wait_backend(uint64_t timeout_ns);
/* The ring's guest frame and event channel (0, 0 without a console). */
void xencons_location(unsigned long *gfn, unsigned *evtchn);
/* Test hook for a hostile guest: sets out_prod to out_cons + ahead and notifies. */
void xencons_corrupt_out(uint32_t ahead);

/* Blocks the calling thread until a byte of input arrives; returns it. */
int xencons_getchar(void);
/*
 * Reads one line of input into buf (NUL-terminated, without its end of
 * line), echoing what is typed to the ring and handling backspace like a
 * cooked tty. Returns its length; input beyond size - 1 bytes is dropped.
 */
size_t xencons_readline(char *buf, size_t size);

#endif
