/* vcpu.c's and upcall.c's interface: vCPU state, threads, timers, runstate, the run policy and event upcalls. */
#ifndef KXEN_HV_VCPU_H
#define KXEN_HV_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kxen-hv.h"

struct domain;

enum runstate { RS_RUNNING = RUNSTATE_running, RS_RUNNABLE = RUNSTATE_runnable,
                RS_BLOCKED = RUNSTATE_blocked, RS_OFFLINE = RUNSTATE_offline };

struct vcpu_boot {
	uint64_t rip, rsp, rdi, rsi;
	/* A Linux PV secondary's VCPUOP_initialise context beyond those (pvl_vcpu_initialise). */
	bool pvl;
	uint64_t cr3, fs_base, gs_base_kernel;
	struct cpu_user_regs regs;
};

struct vcpu {
	struct domain *d;
	uint32_t id;
	int fd;                       /* KVM vCPU fd, -1 until created */
	void *run;                    /* struct kvm_run */
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	atomic_bool online;           /* VCPUOP_up'd (vCPU 0: by set_boot) */
	bool initialised;             /* has a boot context */
	struct vcpu_boot boot;
	bool boot_pending;            /* load boot context before next run */
	uint64_t event_callback, failsafe_callback, syscall_callback;
	/* VCPUOP_register_vcpu_info's placement (inside guest RAM); NULL: shared_info's slot. */
	struct vcpu_info *vinfo;
	/* One-shot timer: deadline in guest system time, 0 = disarmed. */
	_Atomic uint64_t timer_deadline;
	/* Periodic timer (VCPUOP_set_periodic_timer): period in ns, 0 = stopped; next tick in guest system time. */
	_Atomic uint64_t periodic_ns, periodic_next;
	timer_t timer;
	bool timer_created;
	timer_t kick_timer;           /* vcpu_kick_after */
	bool kick_timer_created;
	/* SCHEDOP_poll state. */
	atomic_bool polling;
	evtchn_port_t virq_port[NR_VIRQS];
	/* Runstate accounting for VCPUOP_get_runstate_info. */
	pthread_mutex_t rs_lock;
	int runstate;
	uint64_t rs_entry, rs_time[4];
	struct vcpu_runstate_info *rs_area;   /* the guest's copy, in its RAM (runstate.c); NULL: none */
	atomic_int in_guest;          /* inside KVM_RUN */
	_Atomic uint64_t exits, hypercalls;
	_Atomic uint64_t kicks;       /* entries a signal interrupted (KVM_RUN -EINTR): not in exits */
	clockid_t cpu_clock;
	bool cpu_clock_valid;
	uint64_t cpu_ns_final;        /* CPU time once the thread has exited */
	/* Hypercall in flight: multicall nesting guard. */
	int hc_depth;
	/*
	 * Linux PV remote TLB flushes (pvl_flush.c): requests other vCPUs made
	 * of this one, the last one its thread looked at before an entry, and
	 * the last one it has arranged to flush.
	 */
	_Atomic uint64_t flush_req;
	uint64_t flush_seen, flush_armed;
	/* The guest's registers at a fatal exception, for KXCTL_VCPU_CONTEXT (core dumps). */
	bool fault_ctx_valid;
	vcpu_guest_context_t fault_ctx;
	/* Hard affinity (cpupool.c, under d->lock): the host CPUs in cpumap once pinned, else all. */
	bool pinned;
	uint64_t cpumap[KXCTL_CPUMAP_BITS / 64];
};

/* v's vcpu_info: where the guest registered it, else its slot in shared_info (which must be set). */
struct vcpu_info *vcpu_vinfo(struct vcpu *v);

/* Starts v's thread if needed and wakes it. */
int vcpu_start(struct vcpu *v);
/* Called first thing in each vCPU thread, after its timer exists (main.c: the thread's seccomp filter); may be NULL. */
extern void (*vcpu_thread_hook)(void);
/* Wakes v's thread from KVM_RUN or a wait (async-signal-safe kick). */
void vcpu_kick(struct vcpu *v);
/* Blocks the calling vCPU thread until kicked or until deadline_ns (0: none). */
void vcpu_wait(struct vcpu *v, uint64_t deadline_ns);
/* Switches v's runstate accounting. */
void vcpu_set_runstate(struct vcpu *v, int state);
/* v's runstate and the time spent in each, up to now (VCPUOP_get_runstate_info). */
void vcpu_get_runstate(struct vcpu *v, struct vcpu_runstate_info *info);
/* CPU time the vCPU thread has used. */
uint64_t vcpu_cpu_ns(struct vcpu *v);
/* Arms (deadline != 0) or disarms v's one-shot timer (guest system time). */
int vcpu_set_timer(struct vcpu *v, uint64_t deadline);
/*
 * Starts (period_ns != 0: the first tick one period from now) or stops v's
 * periodic timer. Both timers raise VIRQ_TIMER; the host timer is armed for
 * the earlier. Any thread (Xen lets a vCPU set another's).
 */
int vcpu_set_periodic(struct vcpu *v, uint64_t period_ns);
/*
 * Kicks v out of KVM_RUN in ns nanoseconds (a new request replaces the
 * last): for an event an exit could not deliver, so it is retried soon.
 * On v's own thread.
 */
void vcpu_kick_after(struct vcpu *v, uint64_t ns);
/*
 * Raises VIRQ_TIMER if v's one-shot timer has expired (once per arming) or
 * a periodic tick is due (once however many were missed, as Xen), and
 * re-arms the host timer for what is left.
 */
void vcpu_timer_check(struct vcpu *v);
/* Monotonic deadline of v's earlier timer, 0 if neither is armed. */
uint64_t vcpu_timer_mono(struct vcpu *v);
/* Whether the calling vCPU should stop waiting: domain stopping or paused. */
bool vcpu_should_stop(struct vcpu *v);

/*
 * The run policy (vcpu.c) and the backend that enters the guest (kvm_x86.c,
 * or a scripted fake in tests/unit/test_vcpu_run.c) meet here: the policy
 * decides whether and how to enter, the backend enters once and decodes why
 * it came back.
 */
enum vcpu_exit_kind {
	VCPU_EXIT_NONE,       /* nothing for the policy (KVM_EXIT_INTR): enter again */
	VCPU_EXIT_HYPERCALL,  /* nr, args: the policy dispatches and hands back rax */
	VCPU_EXIT_FAULT,      /* a ring-0 fault stub reported vector, with regs */
	VCPU_EXIT_FATAL,      /* the guest cannot go on: why says what happened */
};

struct fault_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags;
	uint64_t cr2;
};

struct vcpu_exit {
	enum vcpu_exit_kind kind;
	uint64_t nr, args[5];
	unsigned vector;
	struct fault_regs regs;
	char why[192];
};

/* The registers an upcall bounce frame reads (all) and changes (rip, rsp). */
struct vcpu_frame {
	uint64_t rip, rsp, rflags, rcx, r11;
};

struct vcpu_run_ops {
	/* Once, on the vCPU thread, before the first entry; -errno with why filled. */
	int (*setup)(struct vcpu *v, char *why, size_t len);
	/* Loads v->boot; 0 or -errno. */
	int (*load_boot)(struct vcpu *v);
	void (*get_frame)(struct vcpu *v, struct vcpu_frame *f);
	/* Sets rip and rsp from f. */
	void (*set_frame)(struct vcpu *v, const struct vcpu_frame *f);
	/* The hypercall result (rax) for the next entry. */
	void (*set_result)(struct vcpu *v, uint64_t rax);
	/*
	 * Enters the guest once. 0 with *e filled; -EINTR or -EAGAIN when a
	 * kick interrupted it (consumed); another -errno if it could not enter.
	 */
	int (*run)(struct vcpu *v, struct vcpu_exit *e);
};

/*
 * The per-vCPU policy, on v's thread until the domain is dying: waits
 * while the domain is paused or shut down or v is down (runstate runnable
 * or offline), loads a pending boot context (then the pvclock), raises an
 * expired timer's VIRQ_TIMER, pushes an upcall bounce frame, enters
 * through ops (runstate running, in_guest set), then dispatches the
 * hypercall, reports the fault, or crashes the domain, as the exit says.
 */
void vcpu_run_loop(struct vcpu *v, const struct vcpu_run_ops *ops);
/*
 * Event upcall (upcall.c): if v has an unmasked pending upcall and a
 * callback, masks events, pushes Xen's bounce frame [rcx r11 rip cs rflags
 * rsp ss] below the red zone of *rsp and points *rip at the callback.
 * Returns 1 if delivered, 0 if nothing to do or *rip is in kxen's fault stubs
 * (the vCPU is not in guest context yet), -EFAULT for a bad guest stack.
 */
int upcall_deliver(struct vcpu *v, uint64_t *rip, uint64_t *rsp, uint64_t rflags,
                   uint64_t rcx, uint64_t r11);

#endif
