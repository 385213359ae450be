/* Spinlocks for data shared between vCPUs; the _irqsave forms also mask our own upcall. */
#ifndef GUEST_LOCK_H
#define GUEST_LOCK_H

#include "events.h"

typedef struct {
	int locked;
} spinlock_t;

#define SPINLOCK_INIT { 0 }

static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* A handler on this vCPU taking the same lock would otherwise deadlock against us. */
static inline int spin_lock_irqsave(spinlock_t *l)
{
	int flags = evt_save_disable();

	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, int flags)
{
	spin_unlock(l);
	evt_restore(flags);
}

#endif
