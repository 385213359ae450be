/* xl's and libvirt's CPU list syntax ("0-3,^2,6", "all") as a bitmap: one parser for kxl's arguments and the XML. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxen/kxconfig.h"

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int kxconfig_cpulist(const char *s, uint8_t *mask, unsigned nbits, char *err, size_t errlen)
{
		const char *p = s;
	int any = 0;

	memset(mask, 0, (nbits + 7) / 8);
	if (!*p)
		return bad(err, errlen, "'%s' is not a CPU list such as 0-3,^2,6 or all", s);
	while (*p) {
		int neg = 0;
		char *end;
		unsigned long a, b;
		while (*p == ' ')
			p++;
		if (*p == '^') {
			neg = 1;
			p++;
		}
		if (!strncmp(p, "all", 3)) {
			/* "all" is every CPU, "^all" none: xl accepts both. */
			a = 0;
			b = nbits - 1;
			p += 3;
		} else {
			if (!isdigit((unsigned char)*p))
				return bad(err, errlen, "'%s' is not a CPU list such as 0-3,^2,6 or all", s);
			a = b = strtoul(p, &end, 10);
			p = end;
			if (*p == '-') {
				if (!isdigit((unsigned char)p[1]))
					return bad(err, errlen, "'%s' is not a CPU list such as 0-3,^2,6 or all", s);
				b = strtoul(p + 1, &end, 10);
				p = end;
			}
			if (a >= nbits || b >= nbits)
				return bad(err, errlen, "'%s' names a CPU above %u", s, nbits - 1);
			if (b < a)
				return bad(err, errlen, "'%s' has a range that runs backwards", s);
		}
		for (unsigned long c = a; c <= b; c++) {
			if (neg)
				mask[c / 8] &= (uint8_t)~(1u << (c % 8));
			else
				mask[c / 8] |= (uint8_t)(1u << (c % 8));
		}
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p)
			return bad(err, errlen, "'%s' is not a CPU list such as 0-3,^2,6 or all", s);
	}
	for (unsigned i = 0; i < (nbits + 7) / 8; i++)
		any |= mask[i];
	if (!any)
		return bad(err, errlen, "'%s' leaves no CPU to run on", s);
	return 0;
}

void kxconfig_cpulist_format(const uint8_t *mask, unsigned nbits, char *out, size_t len)
{
	size_t n = 0;
	unsigned c = 0, all = 1;

	for (unsigned i = 0; i < nbits; i++)
		all &= mask[i / 8] >> (i % 8) & 1;
	if (all) {
		snprintf(out, len, "all");
		return;
	}
	out[0] = '\0';
	while (c < nbits) {
		if (!(mask[c / 8] >> (c % 8) & 1)) {
			c++;
			continue;
		}
		unsigned e = c;
		while (e + 1 < nbits && (mask[(e + 1) / 8] >> ((e + 1) % 8) & 1))
			e++;
		if (n < len)
			n += (size_t)snprintf(out + n, len - n, e > c ? "%s%u-%u" : "%s%u", n ? "," : "", c, e);
		c = e + 1;
	}
}
