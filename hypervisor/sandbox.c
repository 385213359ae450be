/* kxen-hv's seccomp lists: the daemon's, and the far shorter one of its vCPU threads (docs/architecture.md "Least privilege"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>

#include "kxen/kxd.h"
#include "sandbox.h"

/* Every KVM ioctl kxen-hv makes, on /dev/kvm, a VM or a vCPU. */
static const uint64_t hv_ioctls[] = {
	KVM_GET_API_VERSION, KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID,
	KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_GET_TSC_KHZ, KVM_SET_CPUID2, KVM_SET_SIGNAL_MASK,
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MSRS, KVM_SET_MSRS,
	KVM_IOEVENTFD, TCGETS,   /* stdio asks whether the log is a terminal */
	KVM_GET_VCPU_EVENTS,     /* a Linux guest's upcall waits for an exception KVM has yet to inject */
};
/* A vCPU thread runs its vCPU and reads or sets its registers: nothing that creates or maps. */
static const uint64_t vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MSRS, KVM_SET_MSRS,
	KVM_SET_SIGNAL_MASK,
	KVM_IOEVENTFD,   /* a guest's bind or close of a port assigns or drops its doorbell */
	KVM_GET_VCPU_EVENTS,
};
static const uint64_t unix_only[] = { AF_UNIX };
static const uint64_t capbset_read[] = { PR_CAPBSET_READ, PR_SET_NAME };
static const uint64_t probe_only[] = { 0 };
/* cpupool: a vCPU thread names itself kxdDvV */
static const uint64_t set_name[] = { PR_SET_NAME };
/* sd_notify sizes its socket's buffer */
static const uint64_t sol_socket[] = { SOL_SOCKET };

static const struct kxd_scrule hv_list[] = {
	KXD_SC_ARG(ioctl, 1, hv_ioctls),
	/* the control socket (root-only, AF_UNIX): accepts, peer credentials, passing memfds */
	KXD_SC_ARG(socket, 0, unix_only), KXD_SC(bind), KXD_SC(listen), KXD_SC(accept4), KXD_SC(connect),
	KXD_SC(getsockopt), KXD_SC_ARG(setsockopt, 1, sol_socket), KXD_SC(sendmsg), KXD_SC(recvmsg), KXD_SC(sendto), KXD_SC(recvfrom),
	/* the loop and its wakeups */
	KXD_SC(epoll_create1), KXD_SC(epoll_ctl), KXD_SC(epoll_wait), KXD_SC(epoll_pwait), KXD_SC(eventfd2),
	KXD_SC(signalfd4), KXD_SC(pipe2), KXD_SC(rt_sigaction), KXD_SC(rt_sigtimedwait),
	/* guest memory (sealed memfds), the socket and run files, core dumps */
	KXD_SC(memfd_create), KXD_SC(fcntl), KXD_SC(ftruncate), KXD_SC(fallocate), KXD_SC(openat),
	KXD_SC(close), KXD_SC(read), KXD_SC(pread64), KXD_SC(pwrite64), KXD_SC(lseek), KXD_SC(dup),
	KXD_SC(newfstatat), KXD_SC(fstat), KXD_SC(mkdir), KXD_SC(rename), KXD_SC(unlink), KXD_SC(umask),
	KXD_SC(chown), KXD_SC(fchownat), KXD_SC(chmod), KXD_SC(fchmodat),   /* --socket-group */
	KXD_SC(sysinfo), KXD_SC(getrandom), KXD_SC(prlimit64), KXD_SC_ARG(prctl, 0, capbset_read),
	/* vCPU threads and their one-shot timers; threads only, never a fork */
	KXD_SC_FLAGS(clone, 0, CLONE_THREAD), KXD_SC_ERRNO(clone3, ENOSYS),
	KXD_SC(timer_create), KXD_SC(timer_settime), KXD_SC(timer_delete),
	/* cpupool: pinning, and cgroup files (vcpu-pin, sched-credit) */
	KXD_SC(sched_setaffinity), KXD_SC(sched_getaffinity), KXD_SC(rmdir), KXD_SC(getdents64), KXD_SC(statfs), KXD_SC(access),
	KXD_SC(faccessat), KXD_SC(faccessat2), KXD_SC(readlink), KXD_SC(readlinkat),
	KXD_SC(fstatfs), KXD_SC_ARG(kill, 1, probe_only),   /* kill(pid, 0): is a stale group's kxen-hv alive? */
	{ NULL },
};

/* balloon.c: a guest's XENMEM_decrease_reservation punches its pages out of its RAM memfd */
static const uint64_t punch_hole[] = { FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE };

static const struct kxd_scrule vcpu_list[] = {
	KXD_SC_ARG(ioctl, 1, vcpu_ioctls),
	/* waits for a kick or its timer (SIG_KICK), arms it, starts a sibling vCPU (VCPUOP_up: a thread with a timer) */
	KXD_SC(rt_sigtimedwait), KXD_SC(timer_create), KXD_SC(timer_settime), KXD_SC(timer_delete),
	KXD_SC_FLAGS(clone, 0, CLONE_THREAD), KXD_SC_ERRNO(clone3, ENOSYS),
	/* EVTCHNOP_close of a port bound to dom0 closes its eventfds: a guest may, and must not kill us */
	KXD_SC(close),
	KXD_SC_ARG(fallocate, 1, punch_hole),
	/*
	 * A sibling started by VCPUOP_up runs cpupool_vcpu_thread_start under
	 * this list before its own: it names itself, pins itself and writes its
	 * tid into its domain's cgroup (an existing file, write-only).
	 */
	KXD_SC_ARG(prctl, 0, set_name), KXD_SC(sched_setaffinity), KXD_SC(sched_getaffinity),
	/*
	 * doorbell.c: a guest's bind of an interdomain port makes its doorbell
	 * eventfd and adds it to the doorbell thread's epoll, and a send that
	 * exits queues its port for arming (a write, in the base list). The
	 * thread itself starts from main (doorbell_init), under kxen-hv's list.
	 */
	KXD_SC(eventfd2), KXD_SC(epoll_create1), KXD_SC(epoll_ctl), KXD_SC(epoll_wait), KXD_SC(epoll_pwait),
	KXD_SC(read),
	{ .name = "openat", .arg = 2, .nvals = 1, .vals = (const uint64_t[]){ O_WRONLY }, .mask = O_ACCMODE | O_CREAT },
	{ NULL },
};

int sandbox__install(void)
{
	return kxd_seccomp_install("kxen-hv", hv_list, true);
}

void sandbox__vcpu(void)
{
	kxd_seccomp_thread("vcpu", vcpu_list);
}
