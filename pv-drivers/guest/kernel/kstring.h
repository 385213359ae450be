/* Freestanding string and memory helpers (the compiler may emit calls to mem* itself). */
#ifndef GUEST_KSTRING_H
#define GUEST_KSTRING_H

#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);
/* Parses an unsigned number (base 0: 0x prefix means hex); *end gets the first unparsed char. */
unsigned long strtoul(const char *s, const char **end, int base);
/* Whole-string unsigned parse: returns 0 and sets *val, or -XEN_EINVAL if s is not a number. */
int parse_ulong(const char *s, unsigned long *val);

#endif
