/* fault.c's interface: a guest CPU exception reported by a ring-0 stub crashes only its domain. */
#ifndef KXEN_HV_FAULT_H
#define KXEN_HV_FAULT_H

#include "vcpu.h"

/*
 * A CPU exception reported by a ring-0 fault stub: decodes the frame the
 * stub left on the ring-0 stack, logs a register dump and crashes d.
 */
void fault_report(struct vcpu *v, unsigned vector, const struct fault_regs *ring0);

#endif
