/* The guest snippets of guest.S, as C sees them (addresses inside guest_blob). */
#ifndef PROBE_GUEST_H
#define PROBE_GUEST_H

#include <stdint.h>

extern const uint8_t g_loop[], g_syscall_loop[], g_report[],
	g_event_skip2[], g_ud_loop[], g_pf_loop[], g_pte_store_loop[],
	g_out_loop[], g_sysret3[], g_int3_loop[], g_r0_iret[], g_r0_cr3[], g_r0_invlpg[], g_r0_skip2[],
	g_r0_pf_skip2[], g_r0_to_ring3[], g_ring3_skip2[], g_pte_flush_loop[], g_xen_hcall_loop[],
	g_wrmsr[], g_iret3_loop[], g_cpuid_loop[],
	g_r0_pf_count[], g_load[], g_np_to_p[], g_p_to_p[], g_fsgsbase[], g_rdpid[],
	g_gs_int3[], g_gs_syscall[], g_gs_cpuid[], g_gs_ud[], g_r0_cr3_other[], g_lstar_rdgs[],
	g_gw_store[], g_gw_rw[], g_gw_inc_loop[];

#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define MSR_TSC_AUX 0xc0000103u
#define MSR_KERNEL_GS_BASE 0xc0000102u
/* STAR as Linux sets it: kernel CS 0x10, user CS32 0x23 so that user CS is the host's 0x33. */
#define STAR_VALUE ((uint64_t)SEL_KCS << 32 | (uint64_t)(SEL_UCS32 & ~3) << 48)

#endif
