/* kxen-hv's seccomp filters (sandbox.c): installed by main.c, and by each vCPU thread for itself. */
#ifndef KXHV_SANDBOX_H
#define KXHV_SANDBOX_H

/* The daemon's list on every thread; 0 or -errno (0 too when off: --no-seccomp, KXEN_SECCOMP=off). */
int sandbox__install(void);
/* The calling vCPU thread's own, stricter list (kxd_seccomp_thread: aborts if it cannot). */
void sandbox__vcpu(void);

#endif
