/* kxen-hv internal interfaces: domains, vCPUs, guest memory, event channels, hypercalls, KVM. */
#ifndef KXEN_HV_H
#define KXEN_HV_H

/*
 * Three layers, as DESIGN.md asks:
 *  - hc_*.c decode hypercalls: copy arguments in and out through the
 *    checked gmem_* accessors and call the subsystems;
 *  - evtchn.c, time.c, domain.c, sched.c hold the state machines and make
 *    no KVM ioctls (the CUnit suites drive them on malloc'd "guest RAM");
 *  - kvm_x86.c is the only file that talks to /dev/kvm.
 * Functions return 0 or -errno unless said otherwise. A guest error is
 * returned to the guest; a host failure that leaves a domain unusable
 * crashes that domain only; nothing a guest does may abort kxen-hv.
 */

#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>

#include "kxen/abi.h"
#include "kxen/ctl.h"

#define KXEN_VERSION_MAJOR 4
#define KXEN_VERSION_MINOR 17
#define KXEN_EXTRAVERSION  "-kxen"

#define SIG_KICK SIGUSR1           /* wakes a vCPU thread; blocked outside KVM_RUN */
#define MAX_DOMID (DOMID_FIRST_RESERVED - 1)

/* ---- log.c: the hypervisor log ring, read by `kxl dmesg` ---- */

/* Initialises the log; echo_fd >= 0 also receives every line (stderr or a file). */
void hvlog_init(int echo_fd);
/* Appends one line (a trailing newline is added if missing). */
void hvlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies log text from *cursor into buf (len bytes, NUL-terminated). */
size_t hvlog_read(uint64_t *cursor, char *buf, size_t len, uint64_t *lost);

/* ---- memory.c: a domain's RAM and checked guest-memory access ---- */

/* A page split out of the RAM memfd into its own (gmem_split_page); gfn 0 = none. */
struct gmem_page {
	uint64_t gfn;
	int fd;
};

struct guest_mem {
	uint8_t *base;
	uint64_t size;
	int memfd;
	struct gmem_page special[KXCTL_PAGE_NR];   /* by enum kxctl_page_role */
};

/* Creates memfd-backed RAM of size bytes mapped into kxen-hv. */
int gmem_create(struct guest_mem *m, uint64_t size, const char *name);
void gmem_destroy(struct guest_mem *m);
/*
 * Guest pointers are guest-virtual == guest-physical; only RAM the guest
 * itself can reach (>= KXEN_PV_RESERVED_END) is valid. Return NULL/-EFAULT
 * for anything else, including ranges that wrap.
 */
void *gmem_ptr(const struct guest_mem *m, uint64_t gva, uint64_t len);
int gmem_read(const struct guest_mem *m, void *dst, uint64_t gva, uint64_t len);
int gmem_write(const struct guest_mem *m, uint64_t gva, const void *src, uint64_t len);
/*
 * Moves guest page gfn (guest RAM, not the builder's reserved pages) out of
 * the RAM memfd into a sealed one-page memfd of its own, mapped at the same
 * place in m->base (so kxen-hv and KVM, which follows m->base, see the same
 * page) with its contents kept, and records it as m->special[role]; the
 * old page in the RAM memfd is released. Only while the domain cannot run.
 * -EINVAL for a bad gfn or role, -EEXIST if role is taken or gfn already split.
 */
int gmem_split_page(struct guest_mem *m, unsigned role, uint64_t gfn);
/*
 * Copies the split pages' contents back into the RAM memfd, so that a
 * whole-RAM reader (dump-core, with the domain paused) sees them.
 */
void gmem_sync_split(const struct guest_mem *m);

/* ---- evtchn.c: 2-level event channels (no ioctls) ---- */

#define EVTCHN_MAX_PORTS   (sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64)  /* 4096 */
#define EVTCHN_BUCKET      64
#define EVTCHN_NR_BUCKETS  (EVTCHN_MAX_PORTS / EVTCHN_BUCKET)

struct evtchn {
	uint8_t state;        /* EVTCHNSTAT_* from <xen/event_channel.h> */
	uint8_t notify_vcpu;
	uint16_t virq;
	domid_t remote_dom;   /* unbound: who may bind; interdomain: peer */
	evtchn_port_t remote_port;
	int notify_fd;        /* dom0 ports: eventfd kxen-hv writes on a send to dom0 */
	int kick_fd;          /* dom0 ports: eventfd dom0 writes to send */
};

struct domain;
struct vcpu;

/* Port table lifetime; evtchn_fini closes every port (peers see unbound). */
int evtchn_init(struct domain *d);
void evtchn_fini(struct domain *d);
int evtchn_alloc_unbound(struct domain *d, domid_t remote, evtchn_port_t *port);
/* Binds a new port of ld to (remote_dom, remote_port), which must be unbound for ld. */
int evtchn_bind_interdomain(struct domain *ld, domid_t remote_dom,
                            evtchn_port_t remote_port, evtchn_port_t *port);
int evtchn_bind_virq(struct domain *d, uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
int evtchn_bind_ipi(struct domain *d, uint32_t vcpu, evtchn_port_t *port);
int evtchn_close(struct domain *d, evtchn_port_t port);
int evtchn_send(struct domain *d, evtchn_port_t port);
int evtchn_status(struct domain *d, evtchn_status_t *st);
int evtchn_unmask(struct domain *d, evtchn_port_t port);
int evtchn_bind_vcpu(struct domain *d, evtchn_port_t port, uint32_t vcpu);
int evtchn_reset(struct domain *d);
/* Marks port pending in d and notifies (upcall, poller wake or dom0 eventfd). */
void evtchn_set_pending(struct domain *d, evtchn_port_t port);
/* Raises a VIRQ on a vCPU if the guest bound it; returns whether it was bound. */
bool evtchn_raise_virq(struct vcpu *v, uint32_t virq);
/* Whether port is pending in d's shared_info (false without shared_info). */
bool evtchn_is_pending(struct domain *d, evtchn_port_t port);
/* Attaches eventfds to a dom0 port (dom0's ports only). */
int evtchn_dom0_attach(struct domain *dom0, evtchn_port_t port, int notify_fd, int kick_fd);

/* ---- time.c: pvclock and wallclock in shared_info ---- */

/* Host monotonic time in ns. */
uint64_t now_ns(void);
uint64_t now_realtime_ns(void);
/* Guest system time (ns since the domain was created). */
uint64_t domain_system_time(const struct domain *d);
/* Computes Xen's tsc_to_system_mul/tsc_shift for a TSC of tsc_khz. */
void time_scale(uint64_t tsc_khz, uint32_t *mul, int8_t *shift);
/* Rewrites v's vcpu_time_info from the host clock (version odd while writing). */
void time_update_vcpu(struct vcpu *v);
/* Writes the wallclock of system time 0 into shared_info. */
void time_update_wallclock(struct domain *d);

/* ---- vcpu.c / sched.c: vCPU threads ---- */

enum runstate { RS_RUNNING = RUNSTATE_running, RS_RUNNABLE = RUNSTATE_runnable,
                RS_BLOCKED = RUNSTATE_blocked, RS_OFFLINE = RUNSTATE_offline };

struct vcpu_boot {
	uint64_t rip, rsp, rdi, rsi;
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
	/* One-shot timer: deadline in guest system time, 0 = disarmed. */
	_Atomic uint64_t timer_deadline;
	timer_t timer;
	bool timer_created;
	/* SCHEDOP_poll state. */
	atomic_bool polling;
	evtchn_port_t virq_port[NR_VIRQS];
	/* Runstate accounting for VCPUOP_get_runstate_info. */
	pthread_mutex_t rs_lock;
	int runstate;
	uint64_t rs_entry, rs_time[4];
	atomic_int in_guest;          /* inside KVM_RUN */
	_Atomic uint64_t exits, hypercalls;
	clockid_t cpu_clock;
	bool cpu_clock_valid;
	uint64_t cpu_ns_final;        /* CPU time once the thread has exited */
	/* Hypercall in flight: multicall nesting guard. */
	int hc_depth;
	/* The guest's registers at a fatal exception, for KXCTL_VCPU_CONTEXT (core dumps). */
	bool fault_ctx_valid;
	vcpu_guest_context_t fault_ctx;
};

/* Starts v's thread if needed and wakes it. */
int vcpu_start(struct vcpu *v);
/* Wakes v's thread from KVM_RUN or a wait (async-signal-safe kick). */
void vcpu_kick(struct vcpu *v);
/* Blocks the calling vCPU thread until kicked or until deadline_ns (0: none). */
void vcpu_wait(struct vcpu *v, uint64_t deadline_ns);
/* Switches v's runstate accounting. */
void vcpu_set_runstate(struct vcpu *v, int state);
void vcpu_get_runstate(struct vcpu *v, struct vcpu_runstate_info *info);
/* CPU time the vCPU thread has used. */
uint64_t vcpu_cpu_ns(struct vcpu *v);
/* Arms (deadline != 0) or disarms v's one-shot timer (guest system time). */
int vcpu_set_timer(struct vcpu *v, uint64_t deadline);
/* Raises VIRQ_TIMER if v's one-shot timer has expired (once per arming). */
void vcpu_timer_check(struct vcpu *v);
/* Monotonic deadline of v's timer, 0 if disarmed. */
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
 * Returns 1 if delivered, 0 if nothing to do, -EFAULT for a bad guest stack.
 */
int upcall_deliver(struct vcpu *v, uint64_t *rip, uint64_t *rsp, uint64_t rflags,
                   uint64_t rcx, uint64_t r11);

/* ---- domain.c ---- */

struct domain {
	uint32_t domid;
	char name[KXCTL_NAME_MAX];
	uint8_t uuid[16];
	atomic_int refcnt;
	pthread_mutex_t lock;         /* event channels, console line, lifecycle */
	atomic_bool shutdown;         /* shut down (or crashed): vCPUs stay stopped */
	unsigned shutdown_reason;
	atomic_bool dying;
	atomic_bool reap;             /* shut down with action destroy */
	atomic_bool paused;           /* by the toolstack (domains are built paused) */
	bool crashed;
	unsigned on_poweroff, on_reboot, on_crash;
	struct guest_mem mem;
	shared_info_t *shared;        /* inside mem; NULL until set_boot */
	uint64_t shared_gpa;
	int vm_fd;
	int vcpu0_fd;                 /* prebuilt vCPU 0 from kvm_x86.c's pool, -1 once taken */
	void *vcpu0_run;
	uint32_t max_vcpus;
	struct vcpu *vcpu[KXEN_PV_MAX_VCPUS];
	struct evtchn *evtchn[EVTCHN_NR_BUCKETS];
	atomic_int nr_polling;
	uint64_t created_mono_ns, created_real_ns;
	uint64_t tsc_khz;
	int64_t tsc_offset;           /* guest TSC - host TSC */
	bool tsc_offset_known;
	uint32_t tsc_mul;
	int8_t tsc_shift;
	char console_line[256];
	size_t console_len;
	uint64_t console_tokens, console_refill_ns, console_dropped;
	_Atomic uint64_t events;
	bool is_dom0;
	struct gnttab *gt;            /* grant table (gnttab.h), created on first use */
};

/* The domain table: dom0 (no vCPUs, eventfd ports) is created at startup. */
int domain_table_init(void);
struct domain *domain_dom0(void);
/* Creates a paused domain with zeroed RAM. */
int domain_create(const struct kxctl_domain_create *cfg, struct domain **out);
/*
 * Gives a fully initialised domain an id and puts it in the table (refusing
 * duplicate names and RAM beyond the host's). domain_create uses it; unit
 * tests use it to register domains built on malloc'd memory without KVM.
 */
int domain_register(struct domain *d);
/* Takes a reference to the live domain domid; NULL if none. */
struct domain *domain_get(uint32_t domid);
void domain_put(struct domain *d);
/* Stops and frees a domain (callable from any thread but its own vCPUs). */
int domain_destroy(uint32_t domid);
int domain_pause(struct domain *d);
int domain_unpause(struct domain *d);
/* Marks d shut down for reason and applies its on_* action. */
void domain_shutdown(struct domain *d, unsigned reason);
/* Crashes d (a fault, a KVM error): logs why, then domain_shutdown(crash). */
void domain_crash(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int domain_set_boot(struct domain *d, const struct kxctl_set_boot *b);
int domain_rename(struct domain *d, const char *name);
void domain_info(struct domain *d, struct kxctl_dominfo *info);
/* Fills up to max infos for domains with domid >= first; returns the count. */
unsigned domain_list(uint32_t first, struct kxctl_dominfo *out, unsigned max, bool *more);
unsigned domain_count(void);
uint64_t domain_total_mem(void);
/*
 * Domain-state notifications (domevents.c). domevents_subscribe returns a
 * new non-blocking eventfd, or -errno (-ENOSPC past the subscriber limit),
 * that domevents_notify signals whenever a domain is registered, shuts down
 * (crashes included) or is destroyed; subscribers then list domains to see
 * what changed. domevents_unsubscribe closes it. Safe from any thread.
 */
int domevents_subscribe(void);
void domevents_unsubscribe(int fd);
void domevents_notify(void);
/* Destroys domains queued by domain_shutdown (runs on the control thread). */
void domain_reap(void);
/* An eventfd that becomes readable when domains await reaping. */
int domain_reap_fd(void);
/* Appends guest console bytes; complete lines go to the log as "(dN) ...". */
void domain_console_write(struct domain *d, const char *buf, size_t len);

/* ---- hypercall.c: decoding and dispatch ---- */

/* Logs every hypercall with its arguments and result (kxen-hv -t). */
extern bool hypercall_trace;
/* Dispatches hypercall nr with its five register arguments; returns rax. */
long hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5]);
/* Name of hypercall nr, for logs. */
const char *hypercall_name(uint64_t nr);

long hc_xen_version(struct vcpu *v, const uint64_t a[5]);
long hc_console_io(struct vcpu *v, const uint64_t a[5]);
long hc_sched_op(struct vcpu *v, const uint64_t a[5]);
long hc_set_timer_op(struct vcpu *v, const uint64_t a[5]);
long hc_vcpu_op(struct vcpu *v, const uint64_t a[5]);
long hc_callback_op(struct vcpu *v, const uint64_t a[5]);
long hc_set_callbacks(struct vcpu *v, const uint64_t a[5]);
long hc_event_channel_op(struct vcpu *v, const uint64_t a[5]);
long hc_memory_op(struct vcpu *v, const uint64_t a[5]);
long hc_multicall(struct vcpu *v, const uint64_t a[5]);

/* ---- fault.c ---- */

/*
 * A CPU exception reported by a ring-0 fault stub: decodes the frame the
 * stub left on the ring-0 stack, logs a register dump and crashes d.
 */
void fault_report(struct vcpu *v, unsigned vector, const struct fault_regs *ring0);

/* ---- kvm_x86.c: the only /dev/kvm user ---- */

/* Opens /dev/kvm, checks the capabilities kxen-hv needs, starts the VM pool. */
int kvm_init(char *why, size_t whylen);
int kvm_vm_create(struct domain *d);
void kvm_vm_destroy(struct domain *d);
int kvm_vcpu_create(struct vcpu *v);
void kvm_vcpu_destroy(struct vcpu *v);
/* Loads v->boot as a CPL-3 64-bit context using abi.h's layout. */
int kvm_vcpu_load_boot(struct vcpu *v);
/*
 * v's registers as Xen's vcpu_guest_context (fault_ctx if it crashed on a
 * fault). Only while v is out of KVM_RUN (domain paused or dead): the caller checks.
 */
int kvm_vcpu_get_context(struct vcpu *v, vcpu_guest_context_t *ctx);
/* The run backend vcpu_run_loop uses on real vCPUs. */
extern const struct vcpu_run_ops kvm_vcpu_run_ops;
uint64_t kvm_tsc_khz(void);

/* ---- ctl.c: the control socket ---- */

/*
 * Serves the control socket at path on the calling thread until SIGTERM or
 * SIGINT; also reaps shut-down domains and forwards dom0 event sends.
 */
int ctl_serve(const char *path);

#endif
