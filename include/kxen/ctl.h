/* Wire format of kxen-hv's privileged control socket (SOCK_SEQPACKET, one message per request). */
#ifndef KXEN_CTL_H
#define KXEN_CTL_H

#include <stdint.h>

/*
 * Every request is a struct kxctl_hdr followed by the op's request struct;
 * every reply is a kxctl_hdr (ret = 0 or -errno, seq echoed) followed by the
 * op's reply struct, and file descriptors ride along as SCM_RIGHTS. Only
 * root (or the daemon's own uid) may connect. Requests and replies are
 * bounded by KXCTL_MAX_MSG.
 */
#define KXCTL_DEFAULT_SOCKET "/run/kxen/kxen-hv.sock"
#define KXCTL_SOCKET_ENV     "KXEN_HV_SOCKET"
#define KXCTL_VERSION        1
#define KXCTL_MAX_MSG        65536
#define KXCTL_NAME_MAX       64

enum kxctl_op {
	KXCTL_HELLO = 1,
	KXCTL_DOMAIN_CREATE,     /* -> domid, memfd */
	KXCTL_DOMAIN_DESTROY,
	KXCTL_DOMAIN_PAUSE,
	KXCTL_DOMAIN_UNPAUSE,
	KXCTL_DOMAIN_SHUTDOWN,   /* remote shutdown with a SHUTDOWN_* reason */
	KXCTL_DOMAIN_INFO,       /* one domain */
	KXCTL_DOMAIN_LIST,       /* all domains from a starting domid, as many as fit */
	KXCTL_DOMAIN_SET_BOOT,   /* builder: shared_info location, then vCPU 0 context */
	KXCTL_VCPU_INFO,
	KXCTL_MAP_MEMORY,        /* whole RAM of a paused or shut-down domain (dump-core) -> memfd */
	KXCTL_EVTCHN_ALLOC_UNBOUND, /* a port in domain D for remote R */
	KXCTL_EVTCHN_BIND_INTERDOMAIN, /* a dom0 port bound to (dom, port) -> eventfds */
	KXCTL_EVTCHN_CLOSE,      /* a dom0 port */
	KXCTL_LOG_READ,
	KXCTL_HOST_INFO,
	KXCTL_DOMAIN_RENAME,
	KXCTL_GNTTAB_MAP,        /* batch of Xen gnttab_map_grant_ref -> status, handle, memfd offset */
	KXCTL_GNTTAB_UNMAP,      /* batch of Xen gnttab_unmap_grant_ref (by handle) */
	KXCTL_GNTTAB_COPY,       /* batch of Xen gnttab_copy; dom0's frames are its copy buffer's pages */
	KXCTL_GNTTAB_COPYBUF,    /* -> a memfd kxen-hv shares as this connection's copy buffer */
	KXCTL_GNTTAB_MEMFD,      /* a domain's RAM memfd, only while this connection maps one of its grants */
	KXCTL_DOMAIN_EVENTS,     /* -> eventfd signalled on any domain creation, shutdown, crash or destruction */
	KXCTL_VCPU_CONTEXT,      /* a paused or dead domain's vCPU registers -> vcpu_guest_context_t */
	KXCTL_MAP_SPECIAL_PAGE,  /* one special page of a domain by role -> a memfd holding that page only */
	KXCTL_VCPU_AFFINITY,     /* pin one or all vCPU threads of a domain to a CPU set */
	KXCTL_SCHED_CREDIT,      /* get and optionally set a domain's credit weight and cap */
	KXCTL_VCPU_AVAIL,        /* which vCPUs the guest may bring up (VCPUOP_up) */
	KXCTL_OP_MAX
};

struct kxctl_hdr {
	uint32_t op;
	uint32_t len;      /* payload bytes after the header */
	int32_t ret;       /* replies: 0 or -errno */
	uint32_t seq;
};

/* What the hypervisor does itself when a guest shuts down. */
enum kxctl_action {
	KXCTL_ACTION_DESTROY = 0,
	KXCTL_ACTION_PRESERVE = 1,
};

struct kxctl_domain_create {
	char name[KXCTL_NAME_MAX];
	uint8_t uuid[16];
	uint64_t mem_bytes;
	uint32_t max_vcpus;
	uint32_t on_poweroff, on_reboot, on_crash; /* enum kxctl_action */
	/* Seconds added to the wallclock in shared_info (Xen's XEN_DOMCTL_settimeoffset; libvirt's <clock>). */
	int32_t wallclock_offset_s;
	/* Grant table frames the domain may use (Xen's max_grant_frames); 0: kxen-hv's limit, else at most it. */
	uint32_t max_grant_frames;
};

struct kxctl_domid { uint32_t domid; uint32_t arg; };   /* arg: SHUTDOWN_* for DOMAIN_SHUTDOWN */

struct kxctl_domain_rename { uint32_t domid; char name[KXCTL_NAME_MAX]; };

struct kxctl_set_boot {
	uint32_t domid;
	uint32_t pad;
	uint64_t shared_info_gpa;
	uint64_t start_info_gpa;
	uint64_t entry, stack, rsi;   /* vCPU 0 starts here, at CPL 3 */
	uint64_t cr3;                 /* 0: kxen's own layout; else a Linux (direct-paging) guest's L4 */
};

/* Domain state flags, as xl shows them. */
#define KXCTL_DOMF_RUNNING   (1u << 0)  /* r: a vCPU is in KVM_RUN */
#define KXCTL_DOMF_BLOCKED   (1u << 1)  /* b */
#define KXCTL_DOMF_PAUSED    (1u << 2)  /* p */
#define KXCTL_DOMF_SHUTDOWN  (1u << 3)  /* s: shutdown_reason says why */
#define KXCTL_DOMF_CRASHED   (1u << 4)  /* c */
#define KXCTL_DOMF_DYING     (1u << 5)  /* d */
#define KXCTL_DOMF_PVLINUX   (1u << 6)  /* a Linux PV guest on kxen's layer (not shown by xl) */

struct kxctl_dominfo {
	uint32_t domid;
	uint32_t flags;
	uint32_t shutdown_reason;
	uint32_t nr_vcpus, nr_online_vcpus;
	uint32_t pad;
	uint64_t mem_bytes;
	uint64_t cpu_ns;           /* sum of the vCPU threads' CPU time */
	uint64_t created_ns;       /* CLOCK_REALTIME at creation */
	uint64_t exits, hypercalls, events;
	char name[KXCTL_NAME_MAX];
	uint8_t uuid[16];
	/*
	 * EVTCHNOP_send by path (hypervisor/doorbell.h): completed in kxen-hv
	 * after an exit (doorbell misses included), and completed in the kernel
	 * and delivered to another guest; sends on the doorbells_dom0 ports go
	 * from KVM to the backend's eventfd and are counted nowhere.
	 */
	uint64_t sends_exit, sends_doorbell_miss, sends_doorbell_guest;
	uint32_t doorbells_dom0, doorbells_guest;
	/*
	 * Entries a signal interrupted (a kick to deliver an event, a timer):
	 * exits to user space too, though not counted in exits (nothing to
	 * handle). Benchmarks add them: exits + kicks is every return from KVM_RUN.
	 */
	uint64_t kicks;
	/* mem_bytes is what the domain holds now (its balloon gave the rest back); this is its maximum. */
	uint64_t max_mem_bytes;
};

#define KXCTL_LIST_MAX 256
struct kxctl_domain_list { uint32_t first_domid; uint32_t max; };
struct kxctl_domain_list_reply { uint32_t count; uint32_t more; struct kxctl_dominfo dom[]; };

#define KXCTL_CPUMAP_BITS 256   /* host CPUs a vCPU can be pinned to: 0..255 */
struct kxctl_vcpuinfo {
	uint32_t vcpu;
	uint32_t online, blocked, running;
	uint64_t cpu_ns;
	uint64_t cpumap[KXCTL_CPUMAP_BITS / 64]; /* hard affinity: bit N = host CPU N */
};
struct kxctl_vcpu_info_reply { uint32_t count; uint32_t pad; struct kxctl_vcpuinfo vcpu[32]; };

/*
 * KXCTL_VCPU_CONTEXT: the reply is Xen's vcpu_guest_context_t (x86_64, from
 * <xen/xen.h>) with user_regs, ctrlreg[], fs_base and gs_base_* filled. The
 * domain must be paused, shut down or crashed (-EBUSY otherwise). For a vCPU
 * that took a fatal exception it holds the guest's registers at the fault.
 */
struct kxctl_vcpu_context { uint32_t domid; uint32_t vcpu; };

/*
 * KXCTL_MAP_MEMORY hands out the whole RAM only while the domain is paused,
 * shut down or crashed (-EBUSY otherwise): dump-core's need, not a
 * backend's. Backends get grants (below) and the daemons that serve a
 * domain's xenstore and console get that one page (KXCTL_MAP_SPECIAL_PAGE).
 */
struct kxctl_map_memory_reply { uint64_t mem_bytes; };

/*
 * KXCTL_MAP_SPECIAL_PAGE: the page start_info named for role when the
 * builder set the boot state. The reply's fd is a sealed one-page memfd
 * that is that guest page (mmap it at offset 0; it cannot grow, so nothing
 * else of the domain's RAM is reachable through it); gfn says where the
 * guest sees it. -ENOENT if the domain has no such page.
 */
enum kxctl_page_role { KXCTL_PAGE_STORE = 0, KXCTL_PAGE_CONSOLE = 1, KXCTL_PAGE_NR };
struct kxctl_special_page { uint32_t domid; uint32_t role; };
struct kxctl_special_page_reply { uint64_t gfn; };

/*
 * CPU pools (docs/kxl.md "CPU scheduling"). KXCTL_VCPU_AFFINITY pins vCPU
 * vcpu (KXCTL_VCPU_ALL: every one) of domid to the host CPUs set in cpumap,
 * now and whenever its thread starts; -EINVAL for an empty map or one naming
 * no online CPU.
 */
#define KXCTL_VCPU_ALL    0xffffffffu
struct kxctl_vcpu_affinity { uint32_t domid; uint32_t vcpu; uint64_t cpumap[KXCTL_CPUMAP_BITS / 64]; };

/*
 * KXCTL_SCHED_CREDIT: xl's credit-scheduler parameters of a domain, kept by
 * kxen-hv on the host scheduler (a cgroup per domain). flags say which of
 * weight (1..65535, default 256) and cap (percent of one CPU, 0 = none) to
 * set; the reply is always the values now in force and the backend. A set
 * without a usable backend fails with -EOPNOTSUPP: a get (flags 0) then
 * returns why in the reply.
 */
#define KXCTL_SCHED_SET_WEIGHT (1u << 0)
#define KXCTL_SCHED_SET_CAP    (1u << 1)
#define KXCTL_SCHED_WEIGHT_DEFAULT 256u
#define KXCTL_SCHED_WEIGHT_MAX     65535u
enum kxctl_sched_backend { KXCTL_SCHED_NONE = 0, KXCTL_SCHED_CGROUP2 = 1, KXCTL_SCHED_CGROUP1 = 2 };
struct kxctl_sched_credit { uint32_t domid; uint32_t flags; uint32_t weight, cap; };
struct kxctl_sched_credit_reply {
	uint32_t weight, cap;
	uint32_t backend;          /* enum kxctl_sched_backend */
	uint32_t pad;
	char group[128];           /* the domain's cgroup directory, "" without a backend */
	char why[192];             /* KXCTL_SCHED_NONE: why no cgroup can be used */
};

/*
 * KXCTL_VCPU_AVAIL: bit N set = vCPU N may be brought up (the toolstack's
 * cpu/N/availability, enforced: VCPUOP_up of an unavailable vCPU fails with
 * -EPERM). vCPU 0 is always available. Domains start with all available.
 */
struct kxctl_vcpu_avail { uint32_t domid; uint32_t pad; uint64_t mask; };

struct kxctl_evtchn_alloc_unbound { uint32_t domid; uint32_t remote_domid; };
struct kxctl_evtchn_bind_interdomain { uint32_t remote_domid; uint32_t remote_port; };
struct kxctl_port { uint32_t port; uint32_t pad; };

struct kxctl_log_read { uint64_t cursor; uint32_t max; uint32_t pad; };
struct kxctl_log_reply { uint64_t next_cursor; uint64_t lost; uint32_t len; uint32_t pad; char text[]; };

struct kxctl_host_info {
	uint32_t nr_cpus;
	uint32_t nr_domains;
	uint64_t total_mem_bytes, free_mem_bytes, domain_mem_bytes;
	uint64_t cpu_khz;
	char version[32];
	char kvm_info[64];
	uint32_t max_grant_frames;	/* kxen-hv --max-grant-frames: no domain may ask for more */
	uint32_t pad;
};

/*
 * Grant ops (docs/grant-tables.md): a kxctl_gnttab_batch header then count
 * Xen structs from <xen/grant_table.h> (gnttab_map_grant_ref,
 * gnttab_unmap_grant_ref or gnttab_copy); the reply is the same header and
 * array with the OUT fields filled. Maps and copies belong to the
 * connection: closing it unmaps everything it still has mapped.
 */
#define KXCTL_GNTTAB_BATCH_MAX 1024
struct kxctl_gnttab_batch { uint32_t count; uint32_t pad; };
struct kxctl_gnttab_copybuf { uint64_t size; };   /* bytes, whole pages, at most 64 MiB */

#endif
