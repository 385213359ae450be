/* libFuzzer harness: the domain builder's ELF and Xen-note parser (dom0-tools/builder/elf.c) on any kernel file. */
#include "elf_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The guest's RAM: small and large, so both "outside RAM" paths are reached. */
	uint64_t mem = size && (data[size - 1] & 1) ? (64ull << 20) : (8ull << 20);
	uint8_t *copy = malloc(size ? size : 1);	/* exactly the file: any read past it is ASan's */

	memcpy(copy, data, size);
	elf_oracle_check(copy, size, mem);
	free(copy);
	return 0;
}
