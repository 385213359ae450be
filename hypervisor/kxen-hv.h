/* What every kxen-hv file shares: the layering, Xen's ABI headers, version and signal constants. */
#ifndef KXEN_HV_H
#define KXEN_HV_H

/*
 * Three layers (docs/architecture.md, "kxen-hv's layers"):
 *  - hc_*.c decode hypercalls: copy arguments in and out through the
 *    checked gmem_* accessors and call the subsystems;
 *  - evtchn.c, gnttab.c, time.c, domain.c and vcpu.c's run policy hold the
 *    state machines and make no KVM ioctls (the CUnit suites drive them
 *    on memfd "guest RAM" and, for the policy, a scripted fake run);
 *  - kvm_x86.c is the only file that talks to /dev/kvm.
 * Each subsystem has its header, with a contract per function: log.h,
 * gmem.h (memory.c), evtchn.h, gnttab.h, hvtime.h (time.c), vcpu.h
 * (vcpu.c, upcall.c), domain.h (domain.c, domevents.c), hypercall.h
 * (hypercall.c, hc_*.c), fault.h, kvm.h (kvm_x86.c), ctl.h (the control
 * socket and its handlers, on libkxdaemon's kxd_loop); this one holds what they all share.
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

#endif
