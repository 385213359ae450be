/* persist.h: kxenstored's crash-persistent state (LMDB): the daemon's and the suites' entry points, and the layers' hooks. */
#ifndef KXSD_PERSIST_H
#define KXSD_PERSIST_H

#include <stddef.h>

#include "kxenstored.h"

#define PERSIST_FILE "xenstore.mdb"

enum {
	PERSIST_SYNC = 1,       /* fdatasync after each commit (survives a host crash, not only ours) */
	PERSIST_FRESH = 2,      /* move an existing store aside (FILE.old) and start empty */
};

/*
 * Opens DIR/xenstore.mdb (creating DIR and the file if absent), locks it
 * against a second daemon and loads what it holds into srv->store,
 * replacing the tree server__init made. Domains it records are restored
 * later, by persist__restore_domains. On failure writes a sentence naming
 * the file and the problem into err and returns -errno; srv is unchanged
 * and does not persist.
 */
int persist__open(struct xs_server *srv, const char *dir, unsigned flags, char *err, size_t errlen);
/*
 * For each domain the store records: releases it if srv->domops->exists
 * says it is gone (its nodes go, as on a death), else re-attaches its ring
 * through srv->domops->attach, resumes the ring from the committed
 * indexes, queues the replies the crash kept from the guest, restores its
 * watches (each fired once) and commits. Returns the number of domains
 * restored, or -errno if kxen-hv could not be asked.
 */
int persist__restore_domains(struct xs_server *srv);
/*
 * Writes every change since the last commit in one LMDB transaction and
 * commits it; then publishes the guests' ring consumer indexes. Until it
 * returns 0 no reply or event of this batch may leave (conn__flush holds).
 * 0 or -EIO (the daemon must stop: it cannot acknowledge anything).
 */
int persist__commit(struct xs_server *srv);
/* Whether changes wait for a commit, so output must be held. */
bool persist__holding(const struct xs_server *srv);
void persist__close(struct xs_server *srv);

/* Hooks for the layers; all do nothing when srv (or s) does not persist. */
/* store.c: n was created or changed (gone false), or is about to be freed (gone true). */
void persist__node(struct xs_store *s, struct xs_node *n, bool gone);
/* domain.c, wire.c, hv.c: the domain record of domid changed (introduced, released, target, shutdown). */
void persist__domain(struct xs_server *srv, unsigned domid);
/* watch.c: c's watches changed (kept only for guests' ring connections). */
void persist__watches(struct xs_server *srv, const struct xs_conn *c);
/* ring.c: the guest consumed request bytes on its ring. */
void persist__ring(struct xs_server *srv, unsigned domid);

/* Fault injection for the suites: SIGKILL ourselves after this many record writes of a commit (0: never). */
extern unsigned persist__kill_after;
/* The address space LMDB maps at open (1 GiB); doubled whenever a commit finds it full. */
extern size_t persist__map_size;

#endif
