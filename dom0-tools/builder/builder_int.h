/* Internals every file of libkxbuild shares: one way to report an error into the caller's buffer. */
#ifndef KXBUILD_BUILDER_INT_H
#define KXBUILD_BUILDER_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Formats a message into err (errlen bytes; nothing when err is NULL) and returns rc, a -errno. */
__attribute__((format(printf, 4, 5)))
static inline int kxbuild__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* kxbuild__fail for any context that carries err and errlen members. */
#define KXBUILD_FAIL(ctx, rc, ...) kxbuild__fail((ctx)->err, (ctx)->errlen, (rc), __VA_ARGS__)

#endif
