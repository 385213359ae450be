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
#include "pvl.h"
#include "pvl_layout.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_PAT    0x277u

extern const uint8_t pvl_blob[], pvl_lstar[], pvl_fwd_ret[];

static struct kvm_segment flat(uint16_t sel, bool code)
{
	return (struct kvm_segment){ .limit = 0xffffffff, .selector = sel, .type = code ? 11 : 3,
		.present = 1, .dpl = 3, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1 };
}

int pvl_kvm_load_boot(struct vcpu *v)
{
	const struct pvl *p = v->d->pvl;
	struct kvm_run *run = v->run;
	struct kvm_sregs s;
	struct { struct kvm_msrs h; struct kvm_msr_entry e[5]; } m = { .h.nmsrs = 5, .e = {
		{ .index = MSR_STAR, .data = (uint64_t)PVL_SEL_R0_CS << 32 |
		                             (uint64_t)(PVL_SEL_U_CS32 & ~3) << 48 },
		{ .index = MSR_LSTAR, .data = PVL_KX_VA + (uint64_t)(pvl_lstar - pvl_blob) },
		{ .index = MSR_SFMASK, .data = 0 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0 },
		{ .index = MSR_PAT, .data = PVL_MSR_PAT },   /* what the layer reports, as Xen runs PV guests */
	} };

	if (v->id != 0)
		return -EOPNOTSUPP;   /* secondary vCPUs come with VCPUOP_initialise (plan step 6) */
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = 0x80000033;        /* PG NE ET MP PE; WP clear: ring 0 writes kxen's read-only pages */
	s.cr4 = 0x10620;           /* PAE OSFXSR OSXMMEXCPT FSGSBASE (the layer's GS switching) */
	s.efer = 0xd01;            /* SCE LME LMA NXE */
	s.cr3 = p->cr3;
	s.cs = flat(PVL_SEL_K_CS, true);
	s.ss = s.ds = s.es = s.fs = s.gs = flat(PVL_SEL_K_SS, false);
	s.gdt = (struct kvm_dtable){ .base = PVL_KX_VA + PVL_GDT_OFF, .limit = PVL_GDT_LIMIT };
	s.idt = (struct kvm_dtable){ .base = PVL_KX_VA + PVL_IDT_OFF, .limit = 256 * 16 - 1 };
	s.tr = (struct kvm_segment){ .base = PVL_KX_VA + PVL_TSS_OFF, .limit = 0x68 + 8192,
	                             .selector = PVL_SEL_TSS, .type = 11, .present = 1 };
	s.ldt = (struct kvm_segment){ .unusable = 1 };
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 5)
		return -EIO;
	memset(&run->s.regs.regs, 0, sizeof(run->s.regs.regs));
	run->s.regs.regs.rip = p->entry;
	run->s.regs.regs.rsp = p->stack;
	run->s.regs.regs.rsi = p->start_info_va;
	run->s.regs.regs.rflags = 0x202;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

/* How soon an event an exit found undeliverable is tried again (the cost: one more exit). */
#define PVL_UPCALL_RETRY_NS 500000

static uint64_t *pvl_data(const struct pvl *p, unsigned off)
{
	return (uint64_t *)(p->region + PVL_PG_DATA * KXEN_PAGE_SIZE + off);
}

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
	/* A forwarded hypercall's return: the layer delivers it on its way back (kx_ret). */
	if (*rip == PVL_KX_VA + (uint64_t)(pvl_fwd_ret - pvl_blob))
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
	const uint64_t *info = (const uint64_t *)(p->region + PVL_PG_INFO * KXEN_PAGE_SIZE);
	uint64_t cr3 = s.cr3 & ~0xfffull;
	struct pvl_stop at = { .cs = s.cs.selector, .rip = *rip, .rsp = *rsp, .rflags = rflags,
	                       .rcx = rcx, .r11 = r11 };
	if (cr3 == info[I_KCR3 / 8])
		at.mode = PVL_UP_KERNEL;
	else if (info[I_UCR3 / 8] && cr3 == info[I_UCR3 / 8])
		at.mode = PVL_UP_USER;
	int kind = pvl_upcall_plan(&at, *pvl_data(p, D_KSP), frame, &base);
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
	/* Entry by entry: a kernel stack (vmalloc'd) need not be contiguous across a page. */
	for (unsigned i = 0; i < 7; i++)
		if (gmem_write(&d->mem, base + 8 * i, &frame[i], 8) < 0)
			return -EFAULT;
	if (kind == PVL_UP_USER) {
		/* What the layer's entry from a process does: its GS base kept, the kernel's, the kernel L4. */
		*pvl_data(p, D_GSU) = s.gs.base;
		s.gs.base = *pvl_data(p, D_GSK);
		s.cr3 = info[I_KCR3 / 8];
		s.cs = flat(PVL_SEL_K_CS, true);
		s.ss = flat(PVL_SEL_K_SS, false);
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
