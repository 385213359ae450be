/* The Linux PV flavour's vCPU state in KVM: Xen's flat selectors, kxen's GDT/IDT/TSS in slot 257, LSTAR at the layer; upcalls pushed at exits. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen-hv.h"
#include "log.h"
#include "hypercall.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "kvm.h"
#include "pvl.h"
#include "pvl_layout.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_PAT    0x277u

extern const uint8_t pvl_blob[], pvl_blob_end[], pvl_lstar[], pvl_fwd_ret[], pvl_db_ret[];

static struct kvm_segment flat(uint16_t sel, bool code)
{
	return (struct kvm_segment){ .limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3,
		.present = 1, .dpl = 3, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1 };
}

int pvl_kvm_load_boot(struct vcpu *v)
{
	const struct pvl *p = v->d->pvl;
	const struct vcpu_boot *b = &v->boot;
	uint64_t base = pvl_vcpu_base(v->id);
	struct kvm_run *run = v->run;
	struct kvm_sregs s;
	struct { struct kvm_msrs h; struct kvm_msr_entry e[5]; } m = { .h.nmsrs = 5, .e = {
		{ .index = MSR_STAR, .data = (uint64_t)PVL_SEL_R0_CS << 32 |
		                             (uint64_t)(PVL_SEL_U_CS32 & ~3) << 48 },
		{ .index = MSR_LSTAR, .data = base + (uint64_t)(pvl_lstar - pvl_blob) },
		/* TF and NT: a `syscall` that enters ring 0 (VMX/SVM) must not single-step there or #GP at its iretq. */
		{ .index = MSR_SFMASK, .data = 0x4100 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0 },
		{ .index = MSR_PAT, .data = PVL_MSR_PAT },   /* what the layer reports, as Xen runs PV guests */
	} };

	/* vCPU 0 starts from set_boot; the others only from their VCPUOP_initialise. */
	if (v->id != 0 && !b->pvl)
		return -EINVAL;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = 0x80000033;        /* PG NE ET MP PE; WP clear: ring 0 writes kxen's read-only pages */
	s.cr4 = 0x10620;           /* PAE OSFXSR OSXMMEXCPT FSGSBASE (the layer's GS switching) */
	s.efer = 0xd01;            /* SCE LME LMA NXE */
	s.cr3 = v->id ? b->cr3 : p->cr3;
	s.cs = flat(PVL_SEL_K_CS, true);
	s.ss = s.ds = s.es = s.fs = s.gs = flat(PVL_SEL_K_SS, false);
	if (v->id) {
		s.fs.base = b->fs_base;
		s.gs.base = b->gs_base_kernel;
	}
	/* Its own copy of the layer's descriptors: the text it runs is at its base too. */
	s.gdt = (struct kvm_dtable){ .base = base + PVL_GDT_OFF, .limit = PVL_GDT_LIMIT };
	s.idt = (struct kvm_dtable){ .base = base + PVL_IDT_OFF, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = base + PVL_TSS_OFF, .limit = 0x68 + 8192,
	                             .selector = PVL_SEL_TSS, .type = kvm_tr_type(), .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 5)
		return -EIO;
	/* Hypercall pointers from this thread are walked in this vCPU's address space. */
	pvl_thread_walk_from(&v->d->mem, pvl_info(p, v->id) + I_KCR3 / 8);
	struct kvm_regs *r = &run->s.regs.regs;
	memset(r, 0, sizeof(*r));
	if (v->id == 0) {
		r->rip = p->entry;
		r->rsp = p->stack;
		r->rsi = p->start_info_va;
	} else {
		const struct cpu_user_regs *u = &b->regs;
		*r = (struct kvm_regs){ .rax = u->rax, .rbx = u->rbx, .rcx = u->rcx, .rdx = u->rdx,
			.rsi = u->rsi, .rdi = u->rdi, .rsp = u->rsp, .rbp = u->rbp, .r8 = u->r8, .r9 = u->r9,
			.r10 = u->r10, .r11 = u->r11, .r12 = u->r12, .r13 = u->r13, .r14 = u->r14,
			.r15 = u->r15, .rip = u->rip };
	}
	r->rflags = 0x202;         /* IF (events are masked in vcpu_info), IOPL 0 whatever Linux asked */
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

bool pvl_stopped_past_int3(const struct vcpu *v, uint64_t cr3, uint64_t rip)
{
	uint64_t off = rip - pvl_vcpu_base(v->id);

	/* The layer's text is in kxen's region, above RAM: read from the blob it was copied from. */
	if (off - 1 < (uint64_t)(pvl_blob_end - pvl_blob))
		return pvl_blob[off - 1] == 0xcc;
	return pvl_int3_behind(v->d->mem.base, v->d->mem.size, cr3 & ~0xfffull, rip);
}

/* How soon an event an exit found undeliverable is tried again (the cost: one more exit). */
#define PVL_UPCALL_RETRY_NS 500000

int pvl_upcall_deliver(struct vcpu *v, uint64_t *rip, uint64_t *rsp, uint64_t rflags,
                       uint64_t rcx, uint64_t r11)
{
	struct domain *d = v->d;
	struct pvl *p = d->pvl;
	struct vcpu_info *vi;
	struct kvm_sregs s;
	uint64_t frame[7], base;

	if (!d->shared || !v->event_callback || v->id >= XEN_LEGACY_MAX_VCPUS)
		return 0;
	vi = vcpu_vinfo(v);
	if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST))
		return 0;
	/* A forwarded hypercall's (or a doorbell miss's) return: the layer delivers it on its way back (kx_ret). */
	if (*rip == pvl_vcpu_base(v->id) + (uint64_t)(pvl_fwd_ret - pvl_blob) ||
	    *rip == pvl_vcpu_base(v->id) + (uint64_t)(pvl_db_ret - pvl_blob))
		return 0;
	/*
	 * An exit can come between KVM's interception of a guest fault and its
	 * injection (a #PF under KVM's shadow paging, with a kick pending): the
	 * exception then goes in at whatever rip the next entry has, and a frame
	 * pushed now would make it Linux's event callback's own fault.
	 */
	struct kvm_vcpu_events ev;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.exception.injected || ev.exception.pending ||
	    ev.interrupt.injected || ev.nmi.injected) {
		vcpu_kick_after(v, PVL_UPCALL_RETRY_NS);
		__atomic_fetch_add(&p->upcalls_retried, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return 0;   /* the next exit tries again */
	const uint64_t *info = pvl_info(p, v->id);
	uint64_t cr3 = s.cr3 & ~0xfffull;
	struct pvl_stop at = { .cs = s.cs.selector, .rip = *rip, .rsp = *rsp, .rflags = rflags,
	                       .rcx = rcx, .r11 = r11 };
	if (cr3 == info[I_KCR3 / 8])
		at.mode = PVL_UP_KERNEL;
	else if (info[I_UCR3 / 8] && cr3 == info[I_UCR3 / 8])
		at.mode = PVL_UP_USER;
	int kind = pvl_upcall_plan(&at, *pvl_vdata(p, v->id, D_KSP), frame, &base);
	if (kind == PVL_UP_NONE) {
		/*
		 * In kxen's layer or ring 0: most of its paths end by delivering,
		 * but not all (an emulation's resume; the last instructions of a
		 * return to a process), and nothing else may kick this vCPU again.
		 */
		vcpu_kick_after(v, PVL_UPCALL_RETRY_NS);
		__atomic_fetch_add(&p->upcalls_retried, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (pvl_stopped_past_int3(v, s.cr3, *rip)) {
		/* Maybe a #BP (Linux's text poking) KVM has yet to deliver: a frame pushed now would drop it. */
		vcpu_kick_after(v, PVL_UPCALL_RETRY_NS);
		__atomic_fetch_add(&p->upcalls_retried, 1, __ATOMIC_RELAXED);
		return 0;
	}
	/* Entry by entry: a kernel stack (vmalloc'd) need not be contiguous across a page. */
	for (unsigned i = 0; i < 7; i++)
		if (gmem_write(&d->mem, base + 8 * i, &frame[i], 8) < 0)
			return -EFAULT;
	if (kind == PVL_UP_USER) {
		/* What the layer's entry from a process does: its GS base kept, the kernel's, the kernel L4. */
		*pvl_vdata(p, v->id, D_GSU) = s.gs.base;
		s.gs.base = *pvl_vdata(p, v->id, D_GSK);
		s.cr3 = info[I_KCR3 / 8];
		s.cs = flat(PVL_SEL_K_CS, true);
		s.ss = flat(PVL_SEL_K_SS, false);
		s.tr.type = kvm_tr_type();   /* KVM reports SVM's TR as busy: the rig's TCG wants it back */
		if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
			return -EFAULT;
	}
	__atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&p->upcalls_pushed, 1, __ATOMIC_RELAXED);
	if (hypercall_trace)
		hvlog("(XEN) d%u v%u: upcall pushed (%s) at rip %#llx rsp %#llx cs %#x frame %#llx", d->domid, v->id,
		      kind == PVL_UP_USER ? "user" : "kernel", (unsigned long long)*rip,
		      (unsigned long long)*rsp, s.cs.selector, (unsigned long long)base);
	*rsp = base;
	*rip = v->event_callback;
	return 1;
}
