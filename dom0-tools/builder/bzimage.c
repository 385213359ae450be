/* Unwraps a Linux bzImage: finds the payload from the setup header (boot protocol >= 2.08) and decompresses it to the ELF kernel. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kxen/kxbuild_pv.h"

#define SETUP_HDR_OFF  0x1f1    /* offset of struct setup_header in the file */
#define BOOT_FLAG      0xAA55
#define HDRS_MAGIC     0x53726448u  /* "HdrS" */
#define MIN_PROTOCOL   0x0208   /* the first with payload_offset/payload_length */
#define SECTOR         512

int kxbuild_kernel_unwrap(const uint8_t *file, size_t len, uint64_t cap, uint8_t **elf,
                          size_t *elflen, char *what, size_t whatlen, char *err, size_t errlen)
{
	struct setup_header h;
	uint64_t pm_start, poff;
	const char *fmt = NULL;
	char derr[KXBUILD_ERR_MAX];
	int rc;

	*elf = NULL;
	*elflen = 0;
	if (len >= SELFMAG && !memcmp(file, ELFMAG, SELFMAG)) {
		snprintf(what, whatlen, "ELF");
		return 0;
	}
	if (len < SETUP_HDR_OFF + sizeof h) {
		snprintf(err, errlen, "neither ELF nor a bzImage: %zu bytes is too short for a "
		         "setup header", len);
		return -ENOEXEC;
	}
	memcpy(&h, file + SETUP_HDR_OFF, sizeof h);
	if (h.boot_flag != BOOT_FLAG || h.header != HDRS_MAGIC) {
		snprintf(err, errlen, "neither ELF nor a bzImage (boot_flag 0x%04x, header magic "
		         "0x%08x, expected 0xaa55 and \"HdrS\")", h.boot_flag, h.header);
		return -ENOEXEC;
	}
	if (h.version < MIN_PROTOCOL) {
		snprintf(err, errlen, "bzImage boot protocol %u.%02u is older than 2.08: no "
		         "payload_offset to find the kernel by", h.version >> 8, h.version & 0xff);
		return -ENOEXEC;
	}
	/* setup_sects 0 means 4, for the oldest images (boot protocol documentation). */
	pm_start = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * SECTOR;
	poff = pm_start + h.payload_offset;
	if (h.payload_length == 0 || poff > len || h.payload_length > len - poff) {
		snprintf(err, errlen, "bzImage payload [offset %llu, %u bytes) lies outside the "
		         "file (%zu bytes): truncated or corrupt setup header",
		         (unsigned long long)poff, h.payload_length, len);
		return -EINVAL;
	}
	rc = kxbuild_decompress(file + poff, h.payload_length, cap, elf, elflen, &fmt, derr,
	                        sizeof derr);
	if (rc) {
		snprintf(err, errlen, "bzImage %u.%02u: %s", h.version >> 8, h.version & 0xff, derr);
		return rc;
	}
	if (*elflen < SELFMAG || memcmp(*elf, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "bzImage %u.%02u: the %s payload (%zu bytes) is not an ELF "
		         "kernel", h.version >> 8, h.version & 0xff, fmt, *elflen);
		free(*elf);
		*elf = NULL;
		*elflen = 0;
		return -ENOEXEC;
	}
	snprintf(what, whatlen, "bzImage %u.%02u, %s payload of %u bytes", h.version >> 8,
	         h.version & 0xff, fmt, h.payload_length);
	return 0;
}
