/* __HYPERVISOR_console_io: guest debug output into the hypervisor log as "(dN) text". */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"

/* Per call; larger writes are truncated and the guest is told how much was taken. */
#define CONSOLE_IO_MAX 16384

long hc_console_io(struct vcpu *v, const uint64_t a[5])
{
	uint64_t count = a[1], buf = a[2];
	char chunk[512];

	switch (a[0]) {
	case CONSOLEIO_write:
		if (count > CONSOLE_IO_MAX)
			count = CONSOLE_IO_MAX;
		for (uint64_t off = 0; off < count; off += sizeof(chunk)) {
			uint64_t n = count - off < sizeof(chunk) ? count - off : sizeof(chunk);
			if (gmem_read(&v->d->mem, chunk, buf + off, n) < 0)
				return -EFAULT;
			domain_console_write(v->d, chunk, n);
		}
		return 0;
	case CONSOLEIO_read:
		return -EPERM;   /* only the control domain reads the hypervisor console */
	default:
		return -ENOSYS;
	}
}
