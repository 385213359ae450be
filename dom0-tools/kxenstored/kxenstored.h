/* kxenstored.h: the contract between kxenstored's layers: store, transactions, watches, wire, connections, domains. */
#ifndef KXENSTORED_H
#define KXENSTORED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore_lib.h>        /* struct xs_permissions, XS_PERM_* */
#include <xen/io/xs_wire.h>

#define XS_DOMID_NONE   0xffffffffu
#define XS_MAX_ARGS     64
#define XS_HDR          ((unsigned)sizeof(struct xsd_sockmsg))

/* quota.c: limits; defaults are Xen's xenstored defaults (see docs/xenstore.md). */
struct xs_quota {
	unsigned nodes_per_domain;   /* nodes an unprivileged domain may own: 1000 */
	unsigned node_size;          /* bytes of one node's value: 2048 */
	unsigned perms_per_node;     /* entries in a permission list: 5 */
	unsigned watches_per_conn;   /* 128 */
	unsigned txns_per_conn;      /* open transactions: 10 */
	unsigned txn_nodes;          /* nodes one transaction may touch: 1024 */
	unsigned out_bytes;          /* unread replies and events per connection: 256 KiB */
	unsigned outstanding;        /* requests whose replies are still unread: 20 */
	unsigned path_max;           /* path bytes past /local/domain/N/ for a guest: 2048 */
	unsigned memory;             /* bytes of the nodes a guest owns (ENOMEM past it): 2.5 MiB */
	unsigned memory_soft;        /* ... logged once past it: 2 MiB */
};
void quota__defaults(struct xs_quota *q);
/* Sets one quota by its CONTROL/option name (Xen's: "nodes", "node-size", ...). -EINVAL if unknown. */
int quota__set(struct xs_quota *q, const char *name, unsigned value);
/* Writes Xen's "Quota settings:" table (name, value, what) into buf; returns the length. */
size_t quota__print(const struct xs_quota *q, char *buf, size_t len);
/* The same for Xen's soft quotas (xenstore-control quota-soft: "memory"). */
int quota__set_soft(struct xs_quota *q, const char *name, unsigned value);
size_t quota__print_soft(const struct xs_quota *q, char *buf, size_t len);

/* ---- store core: the tree with a path hash index ---- */

struct xs_node {
	struct xs_node *hnext;              /* hash chain */
	struct xs_node *parent, *children, *next, *prev;   /* children in creation order; the first's prev is the last */
	unsigned nchildren;
	uint64_t gen;                       /* bumped on value, perms or child list change */
	uint64_t cseq;                      /* creation sequence: its key in the persistent store */
	unsigned pdirty;                    /* persist.c: 1 + its index among uncommitted changes, or 0 */
	char *value;
	unsigned vlen;
	struct xs_permissions *perms;
	unsigned nperms;
	uint32_t hash;
	unsigned plen;
	char path[];                        /* absolute; name is after the last '/' */
};

struct xs_acct {
	struct xs_acct *next;
	unsigned domid;
	unsigned nodes;
	size_t bytes;                       /* of its nodes, as store__node_bytes counts them */
	unsigned recount;                   /* store__check's */
	size_t rebytes;
};

/* An open transaction's snapshot: it sees every node as it was at generation gen. */
struct xs_snap {
	struct xs_snap *prev, *next;        /* the store's open snapshots, oldest first */
	uint64_t gen;
	bool open;
	bool stale;                         /* its old versions were dropped (history over budget) */
};

/* A node's version that changed or went while an open snapshot still sees it. */
struct xs_old {
	struct xs_old *hnext;               /* hash chain by path */
	struct xs_old *qnext;               /* all kept versions, in the order they stopped being current */
	uint64_t gen, until;                /* current for generations gen .. until-1 */
	char *value;
	unsigned vlen;
	struct xs_permissions *perms;
	unsigned nperms;
	char *kids;                         /* child names, NUL-terminated each, creation order */
	unsigned kidslen;
	size_t bytes;
	uint32_t hash;
	unsigned plen;
	char path[];
};

struct xs_store {
	struct xs_node **buckets;
	unsigned nbuckets, count;
	uint64_t gen;                       /* last generation handed out */
	struct xs_acct *acct[256];          /* nodes owned per domain */
	size_t bytes;                       /* memory held by nodes, for CONTROL memreport */
	/* snap.c: open snapshots and the old versions they see (never a copy of the tree). */
	struct xs_snap *snap_first, *snap_last;
	struct xs_old **old_buckets;        /* 1024, allocated at the first kept version */
	struct xs_old *old_first, *old_last;
	unsigned old_count;
	size_t old_bytes, old_max;          /* past old_max the oldest snapshots go stale */
	uint64_t cseq;                      /* last creation sequence handed out */
	struct xs_persist *persist;         /* NULL: in memory only */
};

uint32_t store__hash(const char *path, size_t len);
/* Creates the root and /local/domain as Xen's xenstored does. 0 or -ENOMEM. */
int store__init(struct xs_store *s);
void store__fini(struct xs_store *s);
/* The node at an absolute canonical path, or NULL. O(path length). */
struct xs_node *store__lookup(const struct xs_store *s, const char *path);
/*
 * Copies a value (NUL-terminated after vlen bytes) and a permission list into
 * fresh allocations *v and *p, for a node or a transaction's overlay entry.
 * Returns 0, or -ENOMEM with nothing allocated.
 */
int store__copy_data(const char *val, unsigned vlen, const struct xs_permissions *perms,
                     unsigned nperms, char **v, struct xs_permissions **p);
/* Creates or replaces the node's value and perms (parent must exist); takes copies. 0/-ENOMEM/-ENOENT. */
int store__put(struct xs_store *s, const char *path, const char *val, unsigned vlen,
               const struct xs_permissions *perms, unsigned nperms);
/* Removes the node and its subtree; calls fn for each removed node (deepest first) if fn is set. */
void store__del(struct xs_store *s, struct xs_node *n,
                void (*fn)(void *arg, const struct xs_node *n), void *arg);
/* Nodes owned by domid. */
unsigned store__owned(const struct xs_store *s, unsigned domid);
/* Bytes of the nodes owned by domid (Xen's per-domain "memory", for nodes). */
size_t store__owned_bytes(const struct xs_store *s, unsigned domid);
/* What a node of that path length, value length and permission count costs. */
size_t store__node_bytes(size_t plen, size_t vlen, unsigned nperms);
/*
 * Checks the tree against its index and its accounting (CONTROL check): every
 * indexed node reachable from the root with consistent links and counts, and
 * per-domain node counts equal to a recount (repaired if not). Calls log for
 * each problem; returns the number found.
 */
unsigned store__check(struct xs_store *s, void (*log)(void *arg, const char *msg), void *arg);

/* ---- snapshots (snap.c): what an open transaction sees, kept without copying the tree ---- */

/* Opens sn at the store's current generation. */
void snap__open(struct xs_store *s, struct xs_snap *sn);
/* Closes sn (if open) and frees the kept versions no open snapshot sees any more. */
void snap__close(struct xs_store *s, struct xs_snap *sn);
/*
 * Called by the store just before n's value, perms or child list change, or n
 * goes: keeps n's current version if an open snapshot sees it. Past old_max
 * bytes of kept versions, the oldest snapshots are marked stale and closed.
 */
void snap__keep(struct xs_store *s, const struct xs_node *n);
/*
 * What a snapshot at gen sees at path: the current node in *cur if it has not
 * changed since, else the kept version in *old; both NULL if the path was absent.
 * gen UINT64_MAX is the live tree.
 */
void snap__at(const struct xs_store *s, const char *path, uint64_t gen,
              const struct xs_node **cur, const struct xs_old **old);
/* Frees every kept version (store teardown). */
void snap__fini(struct xs_store *s);

/* path.c: path helpers. A canonical path is absolute, no "//", no trailing '/' except "/". */
bool path__valid(const char *p, bool allow_special);
/* Length of the parent of an absolute path ("/a/b" -> 2, "/a" -> 1). */
size_t path__parent_len(const char *p, size_t len);
/* Whether anc is p or an ancestor of p. */
bool path__is_under(const char *p, const char *anc);
/* Xen's limit for unprivileged callers: bytes of p past a leading /local/domain/N/ exceed max. */
bool path__too_long(const char *p, unsigned max);

/* perm.c: permissions. */
/* Mode bits (XS_PERM_READ|WRITE|OWNER) that (domid, priv, target) has on perms. */
unsigned perm__mode(const struct xs_permissions *perms, unsigned n, unsigned domid,
                    bool privileged, unsigned target);
/* Parses "<c><domid>\0" strings (count of them in n); -EINVAL on any bad one. */
int perm__parse(const char *buf, unsigned len, unsigned max, struct xs_permissions *out,
                unsigned *n);
/* Appends the wire form of perms to buf; returns bytes or -E2BIG. */
int perm__format(const struct xs_permissions *p, unsigned n, char *buf, size_t len);

/* ---- transactions: an overlay of touched nodes; never a copy of the tree ---- */

struct xs_tnode {
	struct xs_tnode *hnext, *next;
	uint64_t seen_gen;                  /* generation in the transaction's snapshot (0: absent) */
	unsigned cseq;                      /* when this transaction created it: creations list and commit in it */
	bool exists, copied, modified, fire, fire_exact;
	bool reborn;                        /* in the snapshot, removed and created again: now the newest child */
	char *value;
	unsigned vlen;
	struct xs_permissions *perms;
	unsigned nperms;
	unsigned depth;
	uint32_t hash;
	unsigned plen;
	char path[];
};

struct xs_conn;
struct xs_txn {
	struct xs_txn *next;                /* connection's list */
	uint32_t id;
	struct xs_conn *conn;
	struct xs_tnode *buckets[64];
	struct xs_tnode *list, *tail;       /* in order of first touch */
	unsigned count;
	unsigned created;                   /* creations so far (cseq) */
	struct xs_snap snap;                /* reads see the tree as at TRANSACTION_START */
};

/* A read-only view of one node, from the overlay or the base tree. */
struct xs_view {
	bool exists;
	const char *value;
	unsigned vlen;
	const struct xs_permissions *perms;
	unsigned nperms;
	uint64_t gen;
};

/* Everything an operation needs: who asks, in which transaction. */
struct xs_server;
struct xs_ctx {
	struct xs_server *srv;
	unsigned domid, target;
	bool privileged;
	struct xs_txn *txn;                 /* NULL: an immediate operation */
};

/* Starts t; with a connection it gets a snapshot of the tree as it is now (c NULL: reads the live tree). */
void txn__init(struct xs_txn *t, uint32_t id, struct xs_conn *c);
/* Drops t's overlay and closes its snapshot. */
void txn__free(struct xs_txn *t);
/* Node state as the context sees it (recording the read in a transaction). 0/-ENOMEM/-ENOSPC. */
int txn__view(struct xs_ctx *x, const char *path, struct xs_view *v);
/* Children names of path as the context sees it; calls fn for each. */
int txn__children(struct xs_ctx *x, const char *path,
                  int (*fn)(void *arg, const char *name), void *arg);

/*
 * Store operations, with Xen's permission, quota and implicit-parent rules.
 * Each works on x->txn, or on a temporary overlay committed at once. Paths are
 * canonical absolute. Return 0 or -errno (EACCES, ENOENT, ENOSPC, E2BIG, ...).
 */
int txn__read(struct xs_ctx *x, const char *path, struct xs_view *v);
int txn__write(struct xs_ctx *x, const char *path, const char *val, unsigned vlen);
int txn__mkdir(struct xs_ctx *x, const char *path);
int txn__rm(struct xs_ctx *x, const char *path);
int txn__set_perms(struct xs_ctx *x, const char *path, const struct xs_permissions *p, unsigned n);
/* Commits t: -EAGAIN (and nothing applied) if any node it saw has changed since its snapshot. */
int txn__commit(struct xs_server *srv, struct xs_txn *t);

/* ---- watches ---- */

struct xs_watch {
	struct xs_watch *hnext, *cnext;     /* hash chain, connection list */
	struct xs_conn *conn;
	unsigned strip;                     /* prefix bytes to drop for relative watches */
	uint32_t hash;
	char *token;
	char path[];                        /* absolute, or @special */
};

struct xs_watches {
	struct xs_watch **buckets;
	unsigned nbuckets, count;
};

int watch__init(struct xs_watches *w);
void watch__fini(struct xs_watches *w);
/* Adds a watch for c (the caller queues its first event). -EEXIST, -E2BIG (quota), -ENOMEM. */
int watch__add(struct xs_server *srv, struct xs_conn *c, const char *abs, unsigned strip,
               const char *token, struct xs_watch **out);
/* Queues one event of w for the absolute path (made relative as w was registered). */
void watch__event(struct xs_watch *w, const char *path);
int watch__remove(struct xs_server *srv, struct xs_conn *c, const char *abs, const char *token);
void watch__remove_conn(struct xs_server *srv, struct xs_conn *c);
/*
 * Fires the watches on path (and, unless exact, on its ancestors) for the
 * connections allowed to read a node with perms (NULL: privileged only).
 */
void watch__fire(struct xs_server *srv, const char *path, bool exact,
                 const struct xs_permissions *perms, unsigned nperms);

/* ---- connections: one per socket client or introduced domain ---- */

struct xs_conn_ops {
	const char *name;
	/* Moves up to len bytes in; returns the count (0: nothing now) or -errno (cut off). */
	long (*recv)(struct xs_conn *c, void *buf, size_t len);
	/* Moves up to len bytes out; returns the count (0: no room now) or -errno. */
	long (*send)(struct xs_conn *c, const void *buf, size_t len);
	/* Called after a pass that moved data (ring: notify the guest). */
	void (*kick)(struct xs_conn *c);
	/* Releases the transport (close fds, unmap); c itself is freed by conn__free. */
	void (*close)(struct xs_conn *c);
};

struct xs_obuf { struct xs_obuf *next; unsigned len, off; bool event; char data[]; };

struct xs_conn {
	struct xs_conn *next, *prev;        /* server list */
	struct xs_conn *dnext;              /* dirty list (output pending) */
	bool dirty, dead;
	struct xs_server *srv;
	const struct xs_conn_ops *ops;
	void *priv;
	int fd;                             /* polled fd (socket or eventfd), -1 if none */
	unsigned domid, target;
	bool privileged;
	struct xsd_sockmsg hdr;
	unsigned inlen;                     /* bytes of header+payload received */
	char in[XENSTORE_PAYLOAD_MAX + 1];
	struct xs_obuf *out, *out_tail;
	size_t outbytes;
	unsigned out_replies;               /* queued replies not yet taken by the client */
	uint32_t txid_floor;                /* ids below it named transactions lost in a restart: EAGAIN */
	unsigned dropped_events;
	struct xs_watch *watches;
	unsigned nwatches;
	struct xs_txn *txns;
	unsigned ntxns;
	uint32_t next_txid;
	uint64_t requests;
};

struct xs_conn *conn__new(struct xs_server *srv, const struct xs_conn_ops *ops, void *priv,
                          int fd, unsigned domid, bool privileged);
/* Drops watches and transactions, closes the transport, frees c (through srv->free_later if set). */
void conn__free(struct xs_conn *c);
/*
 * Reads and handles complete requests while the output queue is under quota.
 * Returns 0, or -errno when c must be cut off (logged by the caller).
 */
int conn__input(struct xs_conn *c);
/* Writes queued output; 0 or -errno. */
int conn__flush(struct xs_conn *c);
/* Whether c's unread output is at quota, so its input must wait. */
bool conn__blocked(const struct xs_conn *c);
/* Flush, read and handle input, flush; 0 or -errno when c must be cut off. */
int conn__service(struct xs_conn *c);
/* Queues a message; events are dropped (not queued) when over quota. 0/-ENOMEM/-ENOSPC. */
int conn__queue(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
                const void *a, unsigned alen, const void *b, unsigned blen);

/* Socket transport over a connected fd (non-blocking). */
extern const struct xs_conn_ops sock_conn_ops;

/* Guest ring transport: page is the guest's struct xenstore_domain_interface. */
struct xs_ring {
	struct xenstore_domain_interface *intf;
	void (*notify)(struct xs_ring *r);  /* kick the guest's event channel */
	void (*release)(struct xs_ring *r); /* unmap, unbind; may be NULL */
	void *arg;
	int err;                            /* XENSTORE_ERROR_* once cut off */
	bool hold_cons;                     /* persisting: req_cons moves only at commit (ring__publish) */
	XENSTORE_RING_IDX cons;             /* our read position while hold_cons */
};
extern const struct xs_conn_ops ring_conn_ops;
/* Prepares the page (server_features) and returns a connection for domid. */
struct xs_conn *ring__conn_new(struct xs_server *srv, struct xs_ring *r, int fd, unsigned domid);
/* Persisting: stores into the page the consumer index of what was read, once it is committed. */
void ring__publish(struct xs_conn *c);

/* ---- domains ---- */

struct xs_domain {
	struct xs_domain *hnext;
	unsigned domid;
	uint64_t gfn;
	unsigned port;
	unsigned target;
	bool shutdown;
	struct xs_conn *conn;               /* NULL once cut off */
};

/* How INTRODUCE reaches a guest: the daemon maps pages through kxen-hv, tests use memory. */
struct xs_domain_ops {
	/*
	 * Maps domid's store page at gfn and binds port; returns its connection.
	 * Requests the guest queued before this are served on the next loop pass.
	 */
	int (*attach)(struct xs_server *srv, unsigned domid, uint64_t gfn, unsigned port,
	              struct xs_conn **out);
	void *arg;
	/* Whether domid has been created and is not dying, introduced or not: 1, 0, or -errno. May be NULL. */
	int (*exists)(struct xs_server *srv, unsigned domid);
};

#define XS_DOM_BUCKETS 1024
struct xs_server {
	struct xs_store store;
	struct xs_watches watches;
	struct xs_quota quota;
	struct xs_conn *conns;
	struct xs_conn *dirty;
	struct xs_domain *domains[XS_DOM_BUCKETS];
	unsigned ndomains;
	const struct xs_domain_ops *domops;
	void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
	/* Called after c's output or blocked state may have changed (main: epoll mask). */
	void (*update)(struct xs_conn *c);
	/* Called before c's transport closes (main: stops watching c->fd). May be NULL. */
	void (*closing)(struct xs_conn *c);
	/*
	 * Frees a dropped connection later (main: after the event batch, which
	 * may still name it; c->dead tells). NULL: conn__free frees at once.
	 */
	void (*free_later)(void *c);
	bool log_requests;
	struct xs_persist *persist;         /* persist.c's LMDB store; NULL: in memory only */
};

int server__init(struct xs_server *srv);
void server__fini(struct xs_server *srv);
/* Queued output of every connection written; drops dead connections. */
void server__flush(struct xs_server *srv);
/* Marks c as having output to write. */
void server__dirty(struct xs_conn *c);
/* Services c; cuts it off (domain) or closes it (socket) if it misbehaved or hung up. */
void server__service(struct xs_conn *c);
/* Closes or cuts off c with a log line naming why. */
void server__drop(struct xs_conn *c, int err);
void server__log(struct xs_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct xs_domain *domain__find(struct xs_server *srv, unsigned domid);
/* INTRODUCE: attaches and fires @introduceDomain. -EEXIST if already there with another page. */
int domain__introduce(struct xs_server *srv, unsigned domid, uint64_t gfn, unsigned port);
/* RELEASE or death: drops the connection, its watches and transactions; fires @releaseDomain. */
int domain__release(struct xs_server *srv, unsigned domid);
/*
 * A dead domain's nodes go away with it: removes /local/domain/N, the
 * /vm/UUID its vm key names and its devices' backend directories
 * /local/domain/0/backend/TYPE/N (firing their watches), as libxl's destroy does,
 * so domains kxen-hv destroys on its own leave nothing behind either.
 */
void domain__forget_home(struct xs_server *srv, unsigned domid);
/* Whether domid exists for xenstore: dom0, an introduced domain, or one the hypervisor has created. */
bool domain__exists(struct xs_server *srv, unsigned domid);
/*
 * Xen's check of a new permission list: -ENOENT if the owner (first entry)
 * does not exist; entries for other missing domains are kept but marked
 * XS_PERM_IGNORE, so a domain created later with that id gets nothing from them.
 */
int domain__check_perms(struct xs_server *srv, struct xs_permissions *p, unsigned n);
/*
 * Gives nodes still owned by a dead domain to dom0 and marks its other
 * entries XS_PERM_IGNORE (Xen, XSA-322): a reused domid must not inherit them.
 */
void store__chown_all(struct xs_store *s, unsigned from, unsigned to);
/* Cuts a misbehaving guest off (keeps the domain record until release). */
void domain__cut_off(struct xs_server *srv, struct xs_conn *c, const char *why);

/* ---- control.c: XS_CONTROL ---- */

/*
 * Runs the CONTROL command argv[0] with its parameters (argc >= 1) for the
 * privileged connection c, writing Xen's reply (text with its NUL) into reply
 * (max bytes) and its length into *rlen. 0, or -EINVAL for an unknown command
 * or bad parameters (xenstore-control then lists "help"), -ENOENT for an
 * unknown domain, -E2BIG if the reply does not fit.
 */
int control__run(struct xs_conn *c, char **argv, unsigned argc, char *reply, size_t max,
                 unsigned *rlen);

/* ---- wire: one request in, one reply out ---- */

/* Handles the complete message in c->hdr/c->in; queues the reply. 0 or -errno (cut off). */
int wire__dispatch(struct xs_conn *c);
/* Xen's error string for an errno ("EINVAL" for unknown ones). */
const char *wire__errstr(int err);
/* The name of a message type, for logs ("?" for unknown ones). */
const char *wire__typename(uint32_t type);

#endif
