/* domain.c's and domevents.c's interface: the domain table, lifecycle, and domain-state notifications. */
#ifndef KXEN_HV_DOMAIN_H
#define KXEN_HV_DOMAIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kxen-hv.h"
#include "evtchn.h"
#include "gmem.h"
#include "log.h"

struct vcpu;
struct gnttab;

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
	unsigned max_grant_frames;    /* its size limit: kxctl_domain_create's, at most gnttab_max_frames */
	int32_t wallclock_offset_s;   /* added to the wallclock (libvirt's <clock>) */
	/* Host scheduling (cpupool.c), under lock: xl's credit weight (0 = default) and cap, whether the cgroup exists. */
	unsigned sched_weight, sched_cap;
	bool sched_group;
	_Atomic uint64_t vcpu_unavail; /* bit N: the toolstack made vCPU N unavailable (KXCTL_VCPU_AVAIL) */
	struct pvl *pvl;              /* a Linux PV guest: kxen's in-guest layer (pvl.h); NULL otherwise */
	struct doorbell *db;          /* doorbell registrations (doorbell.h), under lock; created on first bind */
	_Atomic uint64_t sends_hypercall, doorbell_misses;   /* EVTCHNOP_send paths through user space */
	/* Pages the guest gave back (balloon.c): a bit per RAM page, lazily, and their count. */
	_Atomic uint64_t *_Atomic released;
	_Atomic uint64_t released_pages;
	struct hvlog_limit log_limit;  /* lines this guest's actions cause (log.h) */
	_Atomic uint64_t kicks_saved;  /* events for a vCPU running with upcalls masked: no signal sent (evtchn.c) */
};

/* The domain table: dom0 (no vCPUs, eventfd ports) is created at startup. */
int domain_table_init(void);
/* Domain 0, which always exists (no reference needed). */
struct domain *domain_dom0(void);
/* Creates a paused domain with zeroed RAM and its vCPUs (threads start at set_boot); *out is the table's. */
int domain_create(const struct kxctl_domain_create *cfg, struct domain **out);
/*
 * Gives a fully initialised domain an id and puts it in the table (refusing
 * duplicate names and RAM beyond the host's). domain_create uses it; unit
 * tests use it to register domains built on malloc'd memory without KVM.
 */
int domain_register(struct domain *d);
/* Takes a reference to the live domain domid; NULL if none. */
struct domain *domain_get(uint32_t domid);
/* Drops a domain_get reference (NULL is a no-op); the last one frees the domain. */
void domain_put(struct domain *d);
/* Stops and frees a domain (callable from any thread but its own vCPUs). */
int domain_destroy(uint32_t domid);
/* Stops d's vCPUs before their next entry (those in KVM_RUN are kicked out). */
int domain_pause(struct domain *d);
/* Lets d's vCPUs run again (a shut-down domain's stay stopped). */
int domain_unpause(struct domain *d);
/* Marks d shut down for reason and applies its on_* action. */
void domain_shutdown(struct domain *d, unsigned reason);
/* Crashes d (a fault, a KVM error): logs why, then domain_shutdown(crash). */
void domain_crash(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The builder's last step, once: checks every address in b against d's RAM,
 * places shared_info, splits the store and console pages start_info names
 * into their own memfds (gmem_split_page), loads vCPU 0's boot context and
 * starts its thread (the domain stays paused). -EBUSY if already done.
 */
int domain_set_boot(struct domain *d, const struct kxctl_set_boot *b);
/* Renames d: -EINVAL for an invalid name, -EEXIST if another domain has it. */
int domain_rename(struct domain *d, const char *name);
/* Fills info (state flags, counters, CPU time) from d. */
void domain_info(struct domain *d, struct kxctl_dominfo *info);
/* Fills up to max infos for domains with domid >= first; returns the count. */
unsigned domain_list(uint32_t first, struct kxctl_dominfo *out, unsigned max, bool *more);
/* Live domains other than dom0. */
unsigned domain_count(void);
/* RAM of all live domains, in bytes. */
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

#endif
