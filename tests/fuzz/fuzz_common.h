/* What the libFuzzer harnesses share: a cursor over the fuzz input, so each harness reads it as a script of operations. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

/* The next byte (0 once the input is used up). */
static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* Up to len bytes into buf (zero-filled past the input's end); returns how many came from the input. */
static inline size_t fz_bytes(struct fz *f, void *buf, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	memcpy(buf, f->p, k);
	memset((uint8_t *)buf + k, 0, len - k);
	f->p += k;
	f->n -= k;
	return k;
}

/* An oracle failed: report and abort, which libFuzzer records as a crash with its input. */
#define FZ_CHECK(cond, ...)                                                      \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "fuzz oracle: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
			abort();                                                 \
		}                                                                \
	} while (0)

#endif
