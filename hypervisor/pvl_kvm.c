/* The Linux PV flavour's vCPU state in KVM: Xen's flat selectors, kxen's GDT/IDT/TSS in slot 257, LSTAR at the layer. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kxen-hv.h"
#include "vcpu.h"
#include "domain.h"
#include "pvl.h"
#include "pvl_layout.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_KERNEL_GS_BASE 0xc0000102u

extern const uint8_t pvl_blob[], pvl_lstar[];

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
	struct { struct kvm_msrs h; struct kvm_msr_entry e[4]; } m = { .h.nmsrs = 4, .e = {
		{ .index = MSR_STAR, .data = (uint64_t)PVL_SEL_R0_CS << 32 |
		                             (uint64_t)(PVL_SEL_U_CS32 & ~3) << 48 },
		{ .index = MSR_LSTAR, .data = PVL_KX_VA + (uint64_t)(pvl_lstar - pvl_blob) },
		{ .index = MSR_SFMASK, .data = 0 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0 },
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
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 4)
		return -EIO;
	memset(&run->s.regs.regs, 0, sizeof(run->s.regs.regs));
	run->s.regs.regs.rip = p->entry;
	run->s.regs.regs.rsp = p->stack;
	run->s.regs.regs.rsi = p->start_info_va;
	run->s.regs.regs.rflags = 0x202;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}
