/* The run directory: $KXEN_RUN_DIR (tests and benchmarks keep theirs private), else /run/kxen. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kxen/kxd.h"

const char *kxd_rundir(void)
{
	const char *run = getenv("KXEN_RUN_DIR");

	return run && *run ? run : KXD_RUNDIR_DEFAULT;
}

int kxd_rundir_mkdir(const char *sub, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", kxd_rundir(), sub) >= len)
		return -ENAMETOOLONG;
	/* Each parent in turn: /run exists, /run/kxen and a test's private tree may not. */
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = 0;
		int rc = mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
		*p = c;
		if (rc)
			return rc;
		if (!c)
			return 0;
	}
}

int kxd_rundir_pidfile(const char *name, char *buf, size_t len)
{
	int rc = kxd_rundir_mkdir(".", buf, len);

	if (rc)
		return rc;
	return (size_t)snprintf(buf, len, "%s/%s.pid", kxd_rundir(), name) >= len ? -ENAMETOOLONG : 0;
}
