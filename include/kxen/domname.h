/* The one rule for domain names, shared by the domain XML loader, kxl rename and kxen-hv. */
#ifndef KXEN_DOMNAME_H
#define KXEN_DOMNAME_H

#include <stddef.h>
#include <string.h>

#include "kxen/ctl.h"

/*
 * Names end up in xenstore paths, file names and on kxl's command line,
 * where digits mean a domain id and a leading '-' an option: 1 to
 * KXCTL_NAME_MAX - 1 ASCII letters, digits and KXEN_DOMNAME_PUNCT, not all
 * digits, not starting with '-'.
 */
#define KXEN_DOMNAME_PUNCT "-_.+:@"
#define KXEN_DOMNAME_RULE  "letters, digits and - _ . + : @, not all digits, not starting with '-'"

enum kxen_domname {
	KXEN_DOMNAME_OK,
	KXEN_DOMNAME_EMPTY,
	KXEN_DOMNAME_TOO_LONG,     /* KXCTL_NAME_MAX bytes or more */
	KXEN_DOMNAME_DASH,         /* starts with '-' */
	KXEN_DOMNAME_DIGITS,       /* all digits */
	KXEN_DOMNAME_CHAR,         /* *bad is the offset of the first character outside the set */
};

/*
 * Checks name (NUL-terminated) against the rule, in the order above, and
 * returns the first rule it breaks; for KXEN_DOMNAME_CHAR, *bad (if bad is
 * not NULL) is the offending character's offset.
 */
static inline enum kxen_domname kxen_domname_check(const char *name, size_t *bad)
{
	size_t n = strlen(name), i;

	if (n == 0)
		return KXEN_DOMNAME_EMPTY;
	if (n >= KXCTL_NAME_MAX)
		return KXEN_DOMNAME_TOO_LONG;
	if (name[0] == '-')
		return KXEN_DOMNAME_DASH;
	if (strspn(name, "0123456789") == n)
		return KXEN_DOMNAME_DIGITS;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr(KXEN_DOMNAME_PUNCT, c)))
			continue;
		if (bad)
			*bad = i;
		return KXEN_DOMNAME_CHAR;
	}
	return KXEN_DOMNAME_OK;
}

#endif
