/* Xenstore path rules (Xen's): valid characters and form, parent, length limits, ancestry. */
#include <stdbool.h>
#include <string.h>

#include "kxenstored.h"

/* Xen's rule: alphanumerics and "-/_@", absolute, no empty component. */
bool path__valid(const char *p, bool allow_special)
{
	size_t len = strlen(p);

	if (p[0] == '@') {
		if (!allow_special || len < 2)
			return false;
		p++;
	} else if (p[0] != '/' || len > XENSTORE_ABS_PATH_MAX) {
		return false;
	} else if (len > 1 && p[len - 1] == '/') {
		return false;
	}
	for (const char *c = p; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '/' || *c == '_' || *c == '@'))
			return false;
		if (c[0] == '/' && c[1] == '/')
			return false;
	}
	return true;
}

size_t path__parent_len(const char *p, size_t len)
{
	while (len > 1 && p[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

bool path__too_long(const char *p, unsigned max)
{
	static const char home[] = "/local/domain/";
	size_t len = strlen(p), off = 0;

	/* As Xen's sscanf("/local/domain/%5u/"): up to five digits, then a slash. */
	if (!strncmp(p, home, sizeof(home) - 1)) {
		size_t d = sizeof(home) - 1, k = 0;
		while (k < 5 && p[d + k] >= '0' && p[d + k] <= '9')
			k++;
		if (k && p[d + k] == '/')
			off = d + k + 1;
	}
	return len - off > max;
}

bool path__is_under(const char *p, const char *anc)
{
	size_t al = strlen(anc);

	if (al == 1 && anc[0] == '/')
		return p[0] == '/';
	return !strncmp(p, anc, al) && (p[al] == 0 || p[al] == '/');
}
