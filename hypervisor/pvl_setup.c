/* The Linux PV flavour at set_boot: kxen's region (layer, IDT, GDT, TSS, slot tables, M2P) built and given to the VM. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kxen-hv.h"
#include "log.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "kvm.h"
#include "gnttab_pv.h"
#include "pvl.h"
#include "pvl_layout.h"

#define P  0x1ull
#define W  0x2ull
#define U  0x4ull
#define PS 0x80ull
#define NX (1ull << 63)

extern const uint8_t pvl_blob[], pvl_blob_end[], pvl_lstar[], pvl_r0_int3[], pvl_r0_vectors[];

static void put64(uint8_t *at, uint64_t v)
{
	memcpy(at, &v, 8);
}

/* The guest-physical address of region page i. */
static uint64_t pg(const struct pvl *p, uint64_t i)
{
	return p->gpa + i * KXEN_PAGE_SIZE;
}

static uint8_t *host(const struct pvl *p, uint64_t i)
{
	return p->region + i * KXEN_PAGE_SIZE;
}

static void set_gate(uint8_t *idt, unsigned vec, uint64_t handler, unsigned dpl)
{
	put64(idt + vec * 16, (handler & 0xffff) | ((uint64_t)PVL_SEL_R0_CS << 16) |
	      ((uint64_t)(0x8e | dpl << 5) << 40) | ((handler >> 16 & 0xffff) << 48));
	put64(idt + vec * 16 + 8, handler >> 32);
}

/*
 * Slot 257: two L3 variants, each vCPU with two L2 entries in both: its
 * common L1 (shared text, its own descriptors and stacks) and its mode/data
 * L1, which differs between the variants.
 */
static void fill_kx_slot(struct pvl *p)
{
	put64(host(p, PVL_PG_L3K), pg(p, PVL_PG_L2K) | P | W | U);
	put64(host(p, PVL_PG_L3U), pg(p, PVL_PG_L2U) | P | W | U);
	for (unsigned id = 0; id < p->nr_vcpus; id++) {
		uint8_t *l1c = host(p, PVL_PG_V(id, PVL_VP_L1C)), *l1k = host(p, PVL_PG_V(id, PVL_VP_L1K));

		put64(host(p, PVL_PG_L2K) + id * 16, pg(p, PVL_PG_V(id, PVL_VP_L1C)) | P | W | U);
		put64(host(p, PVL_PG_L2K) + id * 16 + 8, pg(p, PVL_PG_V(id, PVL_VP_L1K)) | P | W | U);
		put64(host(p, PVL_PG_L2U) + id * 16, pg(p, PVL_PG_V(id, PVL_VP_L1C)) | P | W | U);
		put64(host(p, PVL_PG_L2U) + id * 16 + 8, pg(p, PVL_PG_V(id, PVL_VP_L1U)) | P | W | U);
		/* Read-only at CPL 3; ring 0 writes its stack with CR0.WP clear. */
		for (unsigned i = 0; i < PVL_TEXT_PAGES; i++)
			put64(l1c + i * 8, pg(p, PVL_PG_TEXT + i) | P | U);
		for (unsigned i = PVL_TEXT_PAGES; i < PVL_COMMON_PAGES; i++)
			put64(l1c + i * 8, pg(p, PVL_PG_V(id, PVL_VP_IDT + i - PVL_TEXT_PAGES)) | P | U);
		put64(l1k, pg(p, PVL_PG_MODEK) | P | U | NX);
		put64(l1k + 8, pg(p, PVL_PG_V(id, PVL_VP_DATA)) | P | W | U | NX);
		put64(l1k + 16, pg(p, PVL_PG_V(id, PVL_VP_DATA + 1)) | P | W | U | NX);
		for (unsigned i = 0; i < 16; i++)
			put64(l1k + (3 + i) * 8, pg(p, PVL_PG_V(id, PVL_VP_GDT + i)) | P | W | U | NX);
		put64(host(p, PVL_PG_V(id, PVL_VP_L1U)), pg(p, PVL_PG_MODEU) | P | U | NX);
	}
	host(p, PVL_PG_MODEK)[0] = 1;
	host(p, PVL_PG_MODEU)[0] = 0;
}

/* Slot 259: all of RAM read-write by 2 MiB pages, for the layer's stores into Linux's read-only tables. */
static void fill_alias(struct pvl *p)
{
	uint64_t gib = (p->gpa + (1ull << 30) - 1) >> 30;

	for (uint64_t g = 0; g < gib; g++) {
		put64(host(p, PVL_PG_AL_L3) + g * 8, pg(p, PVL_PG_AL_L2 + g) | P | W | U);
		for (uint64_t i = 0; i < 512 && (g << 30) + (i << 21) < p->gpa; i++)
			put64(host(p, PVL_PG_AL_L2 + g) + i * 8, ((g << 30) + (i << 21)) | P | W | U | PS | NX);
	}
}

/* Slot 258: the M2P, an identity (machine frames are guest-physical frames), read-only. */
static void fill_m2p(struct pvl *p)
{
	uint64_t l1s = (p->m2p_pages + 511) / 512, first = PVL_PG_M2P_L1(p->nr_vcpus) + l1s;
	uint64_t frames = p->gpa / KXEN_PAGE_SIZE;

	put64(host(p, PVL_PG_M2P_L3), pg(p, PVL_PG_M2P_L2) | P | W | U);
	for (uint64_t t = 0; t < l1s; t++)
		put64(host(p, PVL_PG_M2P_L2) + t * 8, pg(p, PVL_PG_M2P_L1(p->nr_vcpus) + t) | P | W | U);
	for (uint64_t i = 0; i < p->m2p_pages; i++)
		put64(host(p, PVL_PG_M2P_L1(p->nr_vcpus)) + i * 8, pg(p, first + i) | P | U | NX);
	for (uint64_t f = 0; f < frames; f++)
		put64(host(p, first) + f * 8, f);
}

/* vCPU id's GDT (Xen's reserved entries, flat user segments until Linux's set_gdt), TSS and IDT, at its base. */
static void fill_descriptors(struct pvl *p, unsigned id)
{
	uint8_t *gdt = host(p, PVL_PG_V(id, PVL_VP_GDT)), *tss = host(p, PVL_PG_V(id, PVL_VP_TSS));
	uint8_t *idt = host(p, PVL_PG_V(id, PVL_VP_IDT));
	uint64_t base = pvl_vcpu_base(id), tss_va = base + PVL_TSS_OFF;

	put64(gdt + PVL_SEL_R0_CS, 0x00af9b000000ffffull);
	put64(gdt + PVL_SEL_R0_DS, 0x00cf93000000ffffull);
	put64(gdt + (PVL_SEL_K_SS & ~3), 0x00cff3000000ffffull);
	put64(gdt + (PVL_SEL_K_CS & ~3), 0x00affb000000ffffull);
	put64(gdt + (PVL_SEL_U_CS32 & ~3), 0x00cffb000000ffffull);
	put64(gdt + (PVL_SEL_U_DS & ~3), 0x00cff3000000ffffull);
	put64(gdt + (PVL_SEL_U_CS & ~3), 0x00affb000000ffffull);
	put64(gdt + PVL_SEL_TSS, ((0x68ull + 8192) & 0xffff) | ((tss_va & 0xffffff) << 16) |
	      (0x89ull << 40) | (((tss_va >> 24) & 0xff) << 56));
	put64(gdt + PVL_SEL_TSS + 8, tss_va >> 32);
	put64(tss + 4, base + PVL_R0TOP_OFF);          /* rsp0 */
	tss[0x66] = 0x68;                              /* the I/O bitmap follows the TSS */
	memset(tss + 0x68, 0xff, 8192 + 1);
	/* Open: kxen's hypercall port, the layer's fatal port and the 4-byte doorbell; Linux's own port I/O is emulated. */
	tss[0x68 + KXEN_HYPERCALL_PORT / 8] &= (uint8_t)~(1u << (KXEN_HYPERCALL_PORT % 8));
	tss[0x68 + PVL_FATAL_PORT / 8] &= (uint8_t)~(1u << (PVL_FATAL_PORT % 8));
	for (unsigned port = KXEN_DOORBELL_PORT; port < KXEN_DOORBELL_PORT + 4; port++)
		tss[0x68 + port / 8] &= (uint8_t)~(1u << (port % 8));
	for (unsigned v = 0; v < 32; v++)
		set_gate(idt, v, base + (uint64_t)(pvl_r0_vectors - pvl_blob) + v * 16, 0);
	set_gate(idt, 3, base + (uint64_t)(pvl_r0_int3 - pvl_blob), 3);
}

/*
 * The MSRs the layer answers beyond the segment bases, EFER and MISC_ENABLE,
 * as Xen's guest MSR policy shows them to a PV domU on this Intel host (read
 * from what Debian's 6.1 touches: kxen-hv's report lists it); everything
 * else is a #GP, which Linux's MSR accessors take as Xen's refusal.
 */
static const struct { uint32_t msr; uint64_t val; } msr_reads[] = {
	{ 0x3a, 1 },                  /* FEAT_CTL: locked, VMX and SMX off (Linux then leaves it) */
	{ 0x48, 0 },                  /* SPEC_CTRL */
	{ 0x8b, 0 },                  /* BIOS_SIGN_ID: no microcode revision shown */
	{ 0xce, 0 },                  /* PLATFORM_INFO: no CPUID faulting */
	{ 0x10a, 0 },                 /* ARCH_CAPABILITIES: nothing claimed (Linux assumes the worst) */
	{ 0x140, 0 },                 /* MISC_FEATURES_ENABLES */
	{ 0x277, PVL_MSR_PAT },       /* PAT: Xen's, loaded into the vCPU (pvl_kvm_load_boot) */
};
/* Writes accepted and dropped, with the bits they may set (Linux's own probes write these). */
static const struct { uint32_t msr; uint64_t bits; } msr_writes[] = {
	{ 0x48, ~0ull },              /* SPEC_CTRL, PRED_CMD, FLUSH_CMD: no effect kxen can give at CPL 3 */
	{ 0x49, ~0ull },
	{ 0x10b, ~0ull },
	{ 0x8b, 0 },                  /* BIOS_SIGN_ID: Linux's 0 before reading the revision */
	{ 0x140, 0 },                 /* MISC_FEATURES_ENABLES: CPUID faulting stays off */
};
_Static_assert(sizeof(msr_reads) / sizeof(msr_reads[0]) < PVL_MSRTAB_N, "D_MSRRD");
_Static_assert(sizeof(msr_writes) / sizeof(msr_writes[0]) < PVL_MSRTAB_N, "D_MSRWR");

static void fill_msr_policy(struct pvl *p, unsigned id)
{
	uint8_t *data = host(p, PVL_PG_V(id, PVL_VP_DATA));

	for (size_t i = 0; i < sizeof(msr_reads) / sizeof(msr_reads[0]); i++) {
		put64(data + D_MSRRD + i * 16, msr_reads[i].msr);
		put64(data + D_MSRRD + i * 16 + 8, msr_reads[i].val);
	}
	for (size_t i = 0; i < sizeof(msr_writes) / sizeof(msr_writes[0]); i++) {
		put64(data + D_MSRWR + i * 16, msr_writes[i].msr);
		put64(data + D_MSRWR + i * 16 + 8, msr_writes[i].bits);
	}
}

void pvl_region_fill(struct pvl *p, uint8_t *ram)
{
	size_t text = (size_t)(pvl_blob_end - pvl_blob);

	memset(p->region, 0, p->size);
	memcpy(host(p, PVL_PG_TEXT), pvl_blob, text);
	fill_kx_slot(p);
	fill_alias(p);
	fill_m2p(p);
	for (unsigned id = 0; id < p->nr_vcpus; id++) {
		uint8_t *data = host(p, PVL_PG_V(id, PVL_VP_DATA));

		fill_descriptors(p, id);
		fill_msr_policy(p, id);
		put64(host(p, PVL_PG_V(id, PVL_VP_INFO)) + I_KCR3, p->cr3);
		put64(data + D_NRPAGES, p->ram_pages);
		put64(data + D_L4E_K257, pg(p, PVL_PG_L3K) | P | W | U);
		put64(data + D_L4E_U257, pg(p, PVL_PG_L3U) | P | W | U);
		put64(data + D_L4E_M2P, pg(p, PVL_PG_M2P_L3) | P | W | U);
		put64(data + D_L4E_AL, pg(p, PVL_PG_AL_L3) | P | W | U);
		put64(data + D_NRVCPUS, p->nr_vcpus);
	}
	/*
	 * The guest has never run: the host's stores into its tables are seen
	 * (docs/architecture.md, "Measured host costs").
	 */
	pvl_adjust_initial(ram, p->gpa, p->cr3);
	put64(ram + p->cr3 + PVL_SLOT_M2P * 8, pg(p, PVL_PG_M2P_L3) | P | W | U);
	put64(ram + p->cr3 + PVL_SLOT_KX * 8, pg(p, PVL_PG_L3K) | P | W | U);
	put64(ram + p->cr3 + PVL_SLOT_ALIAS * 8, pg(p, PVL_PG_AL_L3) | P | W | U);
}

_Static_assert(PVL_TEXT_PAGES * 4096 >= 4096, "text pages");

int pvl_domain_setup(struct domain *d, const struct kxctl_set_boot *b)
{
	struct pvl p;
	int rc;

	if ((size_t)(pvl_blob_end - pvl_blob) > PVL_TEXT_PAGES * KXEN_PAGE_SIZE)
		return -ENOSPC;
	if (d->pvl)
		return -EBUSY;
	if (d->max_vcpus > PVL_MAX_VCPUS)
		return -EINVAL;
	if ((rc = pvl_check_boot(d->mem.base, d->mem.size, d->max_vcpus, b, &p)) < 0)
		return rc;
	p.region = mmap(NULL, p.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p.region == MAP_FAILED)
		return -errno;
	pvl_region_fill(&p, d->mem.base);
	for (unsigned id = 0; id < p.nr_vcpus; id++) {
		uint8_t *data = host(&p, PVL_PG_V(id, PVL_VP_DATA));
		put64(data + D_VERSION, KXEN_VERSION_MAJOR << 16 | KXEN_VERSION_MINOR);
		/* shared_info's vcpu_info[id] until Linux registers its own */
		put64(data + D_VINFO, PVL_ALIAS_VA + b->shared_info_gpa + id * sizeof(struct vcpu_info));
	}
	if ((rc = kvm_vm_add_region(d, 1, p.gpa, p.region, p.size)) < 0) {
		munmap(p.region, p.size);
		return rc;
	}
	/* The grant table's frames right above the region (Xen's PV: setup_table names them, Linux maps them). */
	if ((rc = gnttab_pv_frames(d, 2, p.gpa + p.size)) < 0) {
		munmap(p.region, p.size);
		return rc;
	}
	d->pvl = malloc(sizeof(p));
	if (!d->pvl) {
		munmap(p.region, p.size);
		return -ENOMEM;
	}
	*d->pvl = p;
	return 0;
}

void pvl_domain_enable(struct domain *d)
{
	/* vCPU 0's; a vCPU thread walks its own vCPU's (pvl_gmem_ptr) */
	d->mem.pv_l4 = pvl_info(d->pvl, 0) + I_KCR3 / 8;
}

/* vCPU id's data word at off. */
static uint64_t vdata64(const struct pvl *p, unsigned id, unsigned off)
{
	uint64_t v;

	memcpy(&v, host(p, PVL_PG_V(id, PVL_VP_DATA)) + off, 8);
	return v;
}

/* The word at off summed over the vCPUs (the counters). */
static uint64_t data64(const struct pvl *p, unsigned off)
{
	uint64_t sum = 0;

	for (unsigned id = 0; id < p->nr_vcpus; id++)
		sum += vdata64(p, id, off);
	return sum;
}

/* The layer's counters, for docs/linux-pv.md's boot figures: in-guest work never shows as an exit. */
static void log_counts(const struct domain *d)
{
	const struct pvl *p = d->pvl;
	char per[512];
	size_t used = 0;

	per[0] = '\0';
	for (unsigned nr = 0; nr < PVL_HC_MAX && used < sizeof(per); nr++) {
		uint64_t n = data64(p, D_HCCOUNT + nr * 8);
		if (n)
			used += (size_t)snprintf(per + used, sizeof(per) - used, " %u:%llu", nr,
			                         (unsigned long long)n);
	}
	hvlog("(XEN) d%u Linux PV layer: %llu hypercalls in the guest, %llu forwarded, %llu "
	      "exceptions (%llu emulated, %llu U fixups, %llu page-table stores, %llu bounced); by number:%s", d->domid,
	      (unsigned long long)data64(p, D_NHC), (unsigned long long)data64(p, D_NFWD),
	      (unsigned long long)data64(p, D_NEXC), (unsigned long long)data64(p, D_NEMUL),
	      (unsigned long long)data64(p, D_NUFIX), (unsigned long long)data64(p, D_NPTWR),
	      (unsigned long long)data64(p, D_NBOUNCE), per);
	hvlog("(XEN) d%u Linux PV layer: event upcalls: %llu by the layer's return paths, %llu pushed by kxen-hv "
	      "at exits (%llu exits retried later)", d->domid, (unsigned long long)data64(p, D_NEVENT),
	      (unsigned long long)__atomic_load_n(&p->upcalls_pushed, __ATOMIC_RELAXED),
	      (unsigned long long)__atomic_load_n(&p->upcalls_retried, __ATOMIC_RELAXED));
	hvlog("(XEN) d%u Linux PV layer: %llu EVTCHNOP_send rung as doorbells (kxen-hv's \"evtchn sends\" line: "
	      "the misses among them, which exited)", d->domid, (unsigned long long)data64(p, D_NDBELL));
	hvlog("(XEN) d%u Linux PV layer: %llu remote TLB flushes asked of kxen-hv (%llu made by KVM_SET_SREGS, "
	      "%llu arrangements put off past an int3)", d->domid, (unsigned long long)data64(p, D_NRFLUSH),
	      (unsigned long long)__atomic_load_n(&p->flushes_by_sregs, __ATOMIC_RELAXED),
	      (unsigned long long)__atomic_load_n(&p->flushes_deferred, __ATOMIC_RELAXED));
	for (unsigned id = 0; id < p->nr_vcpus; id++)
		hvlog("(XEN) d%u v%u Linux PV layer: first exception bounced to Linux (not #BP): vector %llu "
		      "error %#llx at rip %#llx cr2 %#llx", d->domid, id,
		      (unsigned long long)vdata64(p, id, D_FBVEC), (unsigned long long)vdata64(p, id, D_FBERR),
		      (unsigned long long)vdata64(p, id, D_FBRIP), (unsigned long long)vdata64(p, id, D_FBCR2));
	/* vCPU 0's: the MSRs Linux touched (r: read, w: write), in first-use order. */
	used = 0;
	per[0] = '\0';
	for (unsigned i = 0; i < PVL_MSRSEEN_N && used < sizeof(per); i++) {
		uint64_t m = vdata64(p, 0, D_MSRSEEN + i * 8);
		if (!m)
			break;
		used += (size_t)snprintf(per + used, sizeof(per) - used, " %c%#x", m >> 32 ? 'w' : 'r',
		                         (unsigned)m);
	}
	hvlog("(XEN) d%u Linux PV layer: MSRs accessed:%s", d->domid, per);
	/* Each vCPU's last resumes into Linux (emulations, U fixups), oldest first, and last exception. */
	for (unsigned id = 0; id < p->nr_vcpus; id++) {
		uint64_t n = vdata64(p, id, D_XIDX);
		for (uint64_t i = n > 16 ? n - 16 : 0; i < n; i++) {
			unsigned off = D_XRING + (unsigned)(i % PVL_XRING_N) * 32;
			hvlog("(XEN) d%u v%u Linux PV layer: resume %llu: vector %llu rip %#llx rflags %#llx cr2 %#llx",
			      d->domid, id, (unsigned long long)i, (unsigned long long)vdata64(p, id, off),
			      (unsigned long long)vdata64(p, id, off + 8), (unsigned long long)vdata64(p, id, off + 16),
			      (unsigned long long)vdata64(p, id, off + 24));
		}
		hvlog("(XEN) d%u v%u Linux PV layer: last exception vector %llu error %#llx at rip %#llx cr2 %#llx",
		      d->domid, id, (unsigned long long)vdata64(p, id, D_VEC), (unsigned long long)vdata64(p, id, D_ERR),
		      (unsigned long long)vdata64(p, id, D_ERIP), (unsigned long long)vdata64(p, id, D_CR2));
	}
}

void pvl_domain_destroy(struct domain *d)
{
	if (!d->pvl)
		return;
	log_counts(d);
	d->mem.pv_l4 = NULL;
	munmap(d->pvl->region, d->pvl->size);
	free(d->pvl);
	d->pvl = NULL;
}

void pvl_fatal_exit(struct vcpu *v, struct vcpu_exit *e)
{
	const struct pvl *p = v->d->pvl;
	unsigned id = v->id;
	uint64_t why = vdata64(p, id, D_WHY), vec = vdata64(p, id, D_VEC);

	const uint8_t *code = gmem_ptr(&v->d->mem, vdata64(p, id, D_ERIP), 4);
	uint32_t bytes = 0;

	if (code)
		memcpy(&bytes, code, 4);
	e->kind = VCPU_EXIT_FATAL;
	if (why == PVL_WHY_EXCEPTION)
		snprintf(e->why, sizeof(e->why), "Linux PV: vector %llu (error %#llx) at rip %#llx "
		         "(code %08x) rsp %#llx cr2 %#llx with no trap-table entry (hypercall %llu last)",
		         (unsigned long long)vec, (unsigned long long)vdata64(p, id, D_ERR),
		         (unsigned long long)vdata64(p, id, D_ERIP), __builtin_bswap32(bytes),
		         (unsigned long long)vdata64(p, id, D_ERSP),
		         (unsigned long long)vdata64(p, id, D_CR2), (unsigned long long)vdata64(p, id, D_HCNR));
	else
		snprintf(e->why, sizeof(e->why), "Linux PV: kxen's layer stopped (reason %llu, "
		         "hypercall %llu last)", (unsigned long long)why,
		         (unsigned long long)vdata64(p, id, D_HCNR));
}
