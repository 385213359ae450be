/* Host memory admission (MemAvailable minus a reserve), the domains' committed RAM, and the test-only fault points of a create. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "hostmem.h"

uint64_t hostmem_reserve = HOSTMEM_DEFAULT_RESERVE;
/* Guest RAM is sparse, not free: the sum is a promise, kept below the host's RAM. */
static _Atomic uint64_t committed;

int hostmem__available(uint64_t *bytes)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	unsigned long long kib;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			*bytes = (uint64_t)kib << 10;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

int hostmem__admit(uint64_t bytes, char *why, size_t len)
{
	uint64_t avail;

	/* Without /proc/meminfo (no procfs) there is nothing to go by: the mmap decides. */
	if (hostmem__available(&avail))
		return 0;
	if (bytes <= avail && avail - bytes >= hostmem_reserve)
		return 0;
	snprintf(why, len, "%" PRIu64 " MiB asked, the host has %" PRIu64 " MiB available and keeps %" PRIu64
	         " MiB in reserve (--mem-reserve)", bytes >> 20, avail >> 20, hostmem_reserve >> 20);
	return -ENOMEM;
}

/* The host's RAM, read once: the first commit is a create's, on the control thread (vCPU threads may not call sysinfo). */
static uint64_t host_total(void)
{
	static _Atomic uint64_t total;
	struct sysinfo si;
	uint64_t t = atomic_load(&total);

	if (!t) {
		t = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : UINT64_MAX;
		atomic_store(&total, t);
	}
	return t;
}

int hostmem__commit(uint64_t bytes)
{
	uint64_t total = host_total(), cur = atomic_load(&committed);

	do {
		if (bytes > total || cur > total - bytes)
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak(&committed, &cur, cur + bytes));
	return 0;
}

void hostmem__uncommit(uint64_t bytes)
{
	atomic_fetch_sub(&committed, bytes);
}

uint64_t hostmem__committed(void)
{
	return atomic_load(&committed);
}

bool hostmem__fault(const char *point)
{
	const char *f = getenv(HOSTMEM_FAULT_ENV);

	return f && !strcmp(f, point);
}
