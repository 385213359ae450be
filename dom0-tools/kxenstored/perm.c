/* Xenstore node permissions: the access a domain has, and their wire form (parse and format). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"

unsigned perm__mode(const struct xs_permissions *perms, unsigned n, unsigned domid,
                    bool privileged, unsigned target)
{
	const unsigned all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;

	/* dom0 is all-powerful; the owner, and a domain targeting the owner (stubdom), too. */
	if (privileged || perms[0].id == domid || (target != XS_DOMID_NONE && perms[0].id == target))
		return all;
	for (unsigned i = 1; i < n; i++)
		if (perms[i].id == domid && !(perms[i].perms & XS_PERM_IGNORE))
			return perms[i].perms & (XS_PERM_READ | XS_PERM_WRITE);
	return perms[0].perms & (XS_PERM_READ | XS_PERM_WRITE);
}

int perm__parse(const char *buf, unsigned len, unsigned max, struct xs_permissions *out,
                unsigned *n)
{
	unsigned i = 0;

	for (const char *p = buf; p < buf + len; p += strlen(p) + 1) {
		unsigned mode;
		char *end;
		switch (p[0]) {
		case 'n': mode = XS_PERM_NONE; break;
		case 'r': mode = XS_PERM_READ; break;
		case 'w': mode = XS_PERM_WRITE; break;
		case 'b': mode = XS_PERM_READ | XS_PERM_WRITE; break;
		default: return -EINVAL;
		}
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		unsigned long id = strtoul(p + 1, &end, 10);
		if (*end || id > 0xffff)
			return -EINVAL;
		if (i == max)
			return -ENOSPC;
		out[i].id = (unsigned)id;
		out[i].perms = mode;
		i++;
	}
	if (!i)
		return -EINVAL;
	*n = i;
	return 0;
}

int perm__format(const struct xs_permissions *p, unsigned n, char *buf, size_t len)
{
	static const char letter[] = "nrwb";
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		char tmp[16];
		int l = snprintf(tmp, sizeof(tmp), "%c%u", letter[p[i].perms & 3], p[i].id);
		if (off + (size_t)l + 1 > len)
			return -E2BIG;
		memcpy(buf + off, tmp, (size_t)l + 1);
		off += (size_t)l + 1;
	}
	return (int)off;
}
