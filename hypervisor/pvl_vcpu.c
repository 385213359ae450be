/* The Linux PV flavour's per-vCPU state that kxen-hv keeps: vcpu_info placement, VCPUOP_initialise's context. */
#include <errno.h>
#include <string.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "pvl.h"
#include "pvl_layout.h"

#include <xen/vcpu.h>

struct vcpu_info *vcpu_vinfo(struct vcpu *v)
{
	struct vcpu_info *vi = __atomic_load_n(&v->vinfo, __ATOMIC_ACQUIRE);

	return vi ? vi : &v->d->shared->vcpu_info[v->id];
}

long pvl_register_vcpu_info(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct vcpu_register_vcpu_info r;

	if (!d->pvl || !d->shared || v->id >= XEN_LEGACY_MAX_VCPUS)
		return -ENOSYS;
	if (v->vinfo)
		return -EEXIST;
	if (gmem_read(&d->mem, &r, arg, sizeof(r)) < 0)
		return -EFAULT;
	/*
	 * Linux's RAM only: never shared_info, kxen's region or a page split
	 * out for a daemon. Aligned: kxen-hv's atomics on a misaligned one
	 * would be undefined, and split locks where the host traps them.
	 */
	if (r.mfn >= d->pvl->nr_pages || r.offset > KXEN_PAGE_SIZE - sizeof(struct vcpu_info) ||
	    r.offset % 8 || r.mfn == d->shared_gpa / KXEN_PAGE_SIZE)
		return -EINVAL;
	for (unsigned i = 0; i < KXCTL_PAGE_NR; i++)
		if (d->mem.special[i].gfn && d->mem.special[i].gfn == r.mfn)
			return -EINVAL;
	uint64_t gpa = r.mfn * KXEN_PAGE_SIZE + r.offset;
	struct vcpu_info *vi = (struct vcpu_info *)(d->mem.base + gpa);
	memcpy(vi, &d->shared->vcpu_info[v->id], sizeof(*vi));
	__atomic_store_n(&v->vinfo, vi, __ATOMIC_RELEASE);
	/* The layer writes cr2 there (through its alias of RAM) when it bounces a page fault. */
	uint64_t alias = PVL_ALIAS_VA + gpa;
	memcpy(pvl_vdata(d->pvl, v->id, D_VINFO), &alias, 8);
	return 0;
}

/* Xen's check_descriptor, as the layer's `sanitise`: code and data get DPL 3, system descriptors none. */
static uint64_t sanitise(uint64_t desc)
{
	if (!(desc >> 47 & 1))
		return desc;
	if (!(desc >> 44 & 1))
		return 0;
	return desc | 3ull << 45;
}

/* kxen's slot e in the L4 at frame l4: empty (kxen installs it: a not-present entry made present is seen) or kxen's. */
static int claim_slot(struct domain *d, uint64_t l4, unsigned slot, uint64_t e)
{
	uint64_t *at = (uint64_t *)(d->mem.base + l4 * KXEN_PAGE_SIZE) + slot;
	uint64_t old = 0;

	/* The CPU sets the accessed bit in the entries it walks. */
	if (__atomic_compare_exchange_n(at, &old, e, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ||
	    (old & ~0x20ull) == e)
		return 0;
	return -EINVAL;
}

long pvl_vcpu_initialise(struct vcpu *t, const struct vcpu_guest_context *ctx)
{
	struct domain *d = t->d;
	const struct pvl *p = d->pvl;
	uint64_t kl4 = ctx->ctrlreg[3] >> 12, ul4 = ctx->ctrlreg[1] >> 12;
	const uint64_t *d0 = pvl_vdata(p, 0, 0);
	int rc;

	/* Xen: a 64-bit PV vCPU starts in kernel mode, its L4s and GDT frames its own RAM. */
	if (!(ctx->flags & VGCF_in_kernel) || kl4 == 0 || kl4 >= p->nr_pages || ul4 >= p->nr_pages ||
	    ctx->gdt_ents > 14 * 512 || (ctx->gdt_ents && ctx->gdt_frames[0] >= p->nr_pages)) {
		hvlog("(XEN) d%u v%u: VCPUOP_initialise refused: flags %#lx, kernel L4 %#llx, user L4 %#llx, "
		      "%lu GDT entries at frame %#lx", d->domid, t->id, (unsigned long)ctx->flags,
		      (unsigned long long)kl4, (unsigned long long)ul4, (unsigned long)ctx->gdt_ents,
		      (unsigned long)ctx->gdt_frames[0]);
		return -EINVAL;
	}
	for (unsigned i = 1; i < (ctx->gdt_ents + 511) / 512; i++)
		if (ctx->gdt_frames[i] >= p->nr_pages)
			return -EINVAL;
	if ((rc = claim_slot(d, kl4, PVL_SLOT_KX, d0[D_L4E_K257 / 8])) ||
	    (rc = claim_slot(d, kl4, PVL_SLOT_M2P, d0[D_L4E_M2P / 8])) ||
	    (rc = claim_slot(d, kl4, PVL_SLOT_ALIAS, d0[D_L4E_AL / 8])) ||
	    (ul4 && (rc = claim_slot(d, ul4, PVL_SLOT_KX, d0[D_L4E_U257 / 8])))) {
		hvlog("(XEN) d%u v%u: VCPUOP_initialise refused: kxen's L4 slots in frame %#llx or %#llx are "
		      "taken", d->domid, t->id, (unsigned long long)kl4, (unsigned long long)ul4);
		return rc;
	}
	/* What the layer keeps for t (t is not running: nothing else writes its pages now). */
	uint64_t *traps = pvl_vdata(p, t->id, D_TRAPS);
	uint8_t *trapfl = (uint8_t *)pvl_vdata(p, t->id, D_TRAPFL);
	memset(traps, 0, 256 * 8);
	memset(trapfl, 0, 256);
	for (unsigned i = 0; i < 256; i++) {
		const struct trap_info *ti = &ctx->trap_ctxt[i];
		if (ti->address) {
			traps[ti->vector] = ti->address;
			trapfl[ti->vector] = ti->flags;
		}
	}
	*pvl_vdata(p, t->id, D_KSP) = ctx->kernel_sp;
	*pvl_vdata(p, t->id, D_EVCB) = ctx->event_callback_eip;
	*pvl_vdata(p, t->id, D_SYSCB) = ctx->syscall_callback_eip;
	*pvl_vdata(p, t->id, D_SYSMASK) = !!(ctx->flags & VGCF_syscall_disables_events);
	*pvl_vdata(p, t->id, D_GSU) = ctx->gs_base_user;
	/* Linux's GDT, sanitised into t's copy, its frames kept for update_descriptor. */
	uint64_t *gdt = (uint64_t *)(p->region + PVL_PG_V(t->id, PVL_VP_GDT) * KXEN_PAGE_SIZE);
	uint64_t frames = (ctx->gdt_ents + 511) / 512;
	memset(gdt, 0, 14 * KXEN_PAGE_SIZE);
	for (unsigned i = 0; i < ctx->gdt_ents; i++) {
		uint64_t desc;
		memcpy(&desc, d->mem.base + ctx->gdt_frames[i / 512] * KXEN_PAGE_SIZE + (i % 512) * 8, 8);
		gdt[i] = sanitise(desc);
	}
	*pvl_vdata(p, t->id, D_GDTN) = frames;
	for (unsigned i = 0; i < frames; i++)
		pvl_vdata(p, t->id, D_GDTF)[i] = ctx->gdt_frames[i];
	pvl_info(p, t->id)[I_KCR3 / 8] = kl4 * KXEN_PAGE_SIZE;
	pvl_info(p, t->id)[I_UCR3 / 8] = ul4 * KXEN_PAGE_SIZE;
	t->event_callback = ctx->event_callback_eip;
	t->failsafe_callback = ctx->failsafe_callback_eip;
	t->syscall_callback = ctx->syscall_callback_eip;
	t->boot = (struct vcpu_boot){ .pvl = true, .cr3 = kl4 * KXEN_PAGE_SIZE, .fs_base = ctx->fs_base,
	                              .gs_base_kernel = ctx->gs_base_kernel, .regs = ctx->user_regs };
	return 0;
}
