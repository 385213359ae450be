/* kvm_x86.c's interface: the only /dev/kvm user (VMs, vCPUs, boot state, one guest entry). */
#ifndef KXEN_HV_KVM_H
#define KXEN_HV_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "kxen-hv.h"
#include "vcpu.h"

struct domain;

/* Opens /dev/kvm, checks the capabilities kxen-hv needs, starts the VM pool. */
int kvm_init(char *why, size_t whylen);
/* d's VM (from the pool when it has one) with d->mem as its only memory slot. */
int kvm_vm_create(struct domain *d);
/* Adds [gpa, gpa + size) backed by host as KVM memory slot `slot` of d's VM; 0 or -errno. */
int kvm_vm_add_region(struct domain *d, unsigned slot, uint64_t gpa, void *host, uint64_t size);
/* Closes d's VM and an unused prebuilt vCPU 0; safe on a half-created d. */
void kvm_vm_destroy(struct domain *d);
/* v's KVM vCPU, its kvm_run mapping and kxen's CPUID (vCPU 0 from the pool when there is one). */
int kvm_vcpu_create(struct vcpu *v);
/* Unmaps and closes v's KVM vCPU; safe if never created. */
void kvm_vcpu_destroy(struct vcpu *v);
/*
 * The type the TR of a guest vCPU is loaded with: 11 (busy 64-bit TSS, what
 * hardware and VMX require), or 9 when KXEN_TCG_TR_TYPE9=1 is set, for QEMU's
 * TCG emulating SVM (scripts/svm-rig.sh), whose I/O permission check accepts
 * only a cached type 9 and #GPs every CPL-3 `out` otherwise.
 */
unsigned kvm_tr_type(void);
/* Loads v->boot as a CPL-3 64-bit context using abi.h's layout. */
int kvm_vcpu_load_boot(struct vcpu *v);
/*
 * v's registers as Xen's vcpu_guest_context (fault_ctx if it crashed on a
 * fault). Only while v is out of KVM_RUN (domain paused or dead): the caller checks.
 */
int kvm_vcpu_get_context(struct vcpu *v, vcpu_guest_context_t *ctx);
/*
 * Assigns (assign) or removes an ioeventfd on d's VM: a 4-byte guest write
 * of datamatch to KXEN_DOORBELL_PORT signals fd without leaving the kernel.
 */
int kvm_ioeventfd(struct domain *d, uint32_t datamatch, int fd, bool assign);
/* The run backend vcpu_run_loop uses on real vCPUs. */
extern const struct vcpu_run_ops kvm_vcpu_run_ops;
/* The host TSC rate KVM reported at kvm_init (0 before). */
uint64_t kvm_tsc_khz(void);

#endif
