/* The Linux PV flavour's event upcalls pushed by kxen-hv at an exit: where Xen's bounce frame goes (pure). */
#include "kxen-hv.h"
#include "pvl.h"
#include "pvl_layout.h"

#define PVL_HOLE_END 0xffff880000000000ull   /* the end of Xen's hole, where kxen's layer lives */

int pvl_upcall_plan(const struct pvl_stop *at, uint64_t ksp, uint64_t frame[7], uint64_t *base)
{
	uint64_t cs, ss, top;

	/* Ring 0 (kxen's stubs) or kxen's layer at CPL 3: its return paths deliver. */
	if ((at->cs & 3) != 3 || (at->rip >= PVL_HOLE_VA && at->rip < PVL_HOLE_END))
		return PVL_UP_NONE;
	if (at->mode == PVL_UP_KERNEL) {
		cs = PVL_SEL_K_CS & ~3;   /* kernel frames carry cs & ~3, as Xen's */
		ss = PVL_SEL_K_SS;
		top = at->rsp;
	} else if (at->mode == PVL_UP_USER) {
		cs = at->cs == PVL_SEL_U_CS32 ? PVL_SEL_U_CS32 : PVL_SEL_U_CS;
		ss = PVL_SEL_U_DS;
		top = ksp;                /* a process: Linux's kernel stack (stack_switch) */
	} else {
		return PVL_UP_NONE;
	}
	/* Events were enabled where it stopped, so the frame's IF is set: iret keeps them enabled. */
	uint64_t f[7] = { at->rcx, at->r11, at->rip, cs, at->rflags | 0x200, at->rsp, ss };
	for (unsigned i = 0; i < 7; i++)
		frame[i] = f[i];
	*base = (top & ~15ull) - sizeof(f);
	return at->mode;
}
