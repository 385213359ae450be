/* kvm_min: the floor for a whole VM's life as a process: open /dev/kvm, create a VM with one page and one vCPU, run to one port-I/O exit, end. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Real mode at address 0: `out %al,$0x10`, the one exit. No kxen code and
 * nothing it would not need: bench_hypercall times this as a whole process
 * (fork, exec, exit) against `kxl create -F` of the hello guest.
 */
int main(void)
{
	static const uint8_t code[] = { 0xe6, 0x10, 0xf4 };   /* out %al,$0x10; hlt */
	struct kvm_userspace_memory_region r;
	struct kvm_sregs s;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	struct kvm_run *run;
	int kvm, vm, vcpu;
	long sz;
	uint8_t *mem;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm_min: /dev/kvm");
		return 77;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED) {
		perror("kvm_min: VM");
		return 1;
	}
	memcpy(mem, code, sizeof(code));
	r = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0, .memory_size = 4096,
	                                          .userspace_addr = (uint64_t)(uintptr_t)mem };
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 || vcpu < 0 || sz <= 0) {
		perror("kvm_min: vCPU");
		return 1;
	}
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &s) < 0) {
		perror("kvm_min: kvm_run");
		return 1;
	}
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu, KVM_RUN, 0) < 0) {
		perror("kvm_min: run");
		return 1;
	}
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x10) {
		fprintf(stderr, "kvm_min: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	return 0;
}
