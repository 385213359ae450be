/* A 64-bit process's `int $0x80` (Linux's ia32 getpid, 20): Xen bounces it to Linux's trap-table entry 0x80 (tests/manual/svm_linux.sh). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	long r = 20;

	__asm__ volatile("int $0x80" : "+a"(r) : : "memory", "rcx", "r8", "r9", "r10", "r11");
	printf("int80 getpid %ld getpid() %d\n", r, (int)getpid());
	return r == getpid() ? 0 : 1;
}
