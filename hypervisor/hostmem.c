/* Host memory admission for creates (MemAvailable minus a reserve) and the test-only fault points of a create. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostmem.h"

uint64_t hostmem_reserve = HOSTMEM_DEFAULT_RESERVE;

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

bool hostmem__fault(const char *point)
{
	const char *f = getenv(HOSTMEM_FAULT_ENV);

	return f && !strcmp(f, point);
}
