/* pvstep1's event upcalls: a kick thread interrupts KVM_RUN, the VMM pushes Xen's frame and enters kernel mode. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "probe_vm.h"
#include "pvstep1.h"

static pthread_t vcpu_thread, kicker;
static volatile int kicking;

static void on_kick(int sig)
{
	(void)sig;
}

static void *kick_loop(void *arg)
{
	const struct timespec period = { 0, 2000000 };

	(void)arg;
	while (kicking) {
		nanosleep(&period, NULL);
		pthread_kill(vcpu_thread, SIGUSR1);
	}
	return NULL;
}

int pvstep1__kick_start(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;        /* no SA_RESTART: KVM_RUN returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	vcpu_thread = pthread_self();
	kicking = 1;
	return -pthread_create(&kicker, NULL, kick_loop, NULL);
}

void pvstep1__kick_stop(void)
{
	kicking = 0;
	pthread_join(kicker, NULL);
}

int pvstep1__deliver(struct pvm_vm *p, uint64_t cb, struct pvstep1_events *st)
{
	uint8_t *vcpu_info = p->mem + S1_SHINFO;   /* vcpu_info[0]: pending at +0, mask at +1 */
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t ksp;

	if (!cb)
		return 0;
	if (vcpu_info[1]) {
		vcpu_info[0] = 1;
		st->masked++;
		return 0;
	}
	if (probe__regs(p, &r) < 0 || probe__sregs(p, &s) < 0)
		return -errno;
	if (r.rip >= S1_KX_BASE && r.rip < S1_KX_BASE + S1_KX_DATA_OFF) {
		vcpu_info[0] = 1;               /* kxen's iret delivers it */
		st->in_kxen++;
		return 0;
	}
	bool user = s.cr3 == S1_UL4;
	memcpy(&ksp, p->mem + S1_KX_DATA + D_KSP, 8);
	uint64_t top = (user ? ksp : r.rsp) & ~15ull;
	uint64_t frame[7] = { r.rcx, r.r11, r.rip, user ? 0x33 : 0x30, r.rflags | 0x200, r.rsp, 0x2b };
	uint64_t base = top - sizeof(frame);
	if (base < S1_KHI || base - S1_KHI + sizeof(frame) > MEM_SIZE)
		return -EFAULT;
	memcpy(p->mem + (base - S1_KHI), frame, sizeof(frame));
	vcpu_info[0] = 1;
	vcpu_info[1] = 1;
	r.rsp = base;
	r.rip = cb;
	if (user) {
		/* Xen's toggle to kernel mode (L4 and GS base), free within this exit. */
		memcpy(p->mem + S1_KX_DATA + D_GSU, &s.gs.base, 8);
		memcpy(&s.gs.base, p->mem + S1_KX_DATA + D_GSK, 8);
		s.cr3 = S1_KL4;
		if (ioctl(p->vcpu, KVM_SET_SREGS, &s) < 0)
			return -errno;
		st->to_user++;
	} else {
		st->to_kernel++;
	}
	return ioctl(p->vcpu, KVM_SET_REGS, &r) < 0 ? -errno : 1;
}
