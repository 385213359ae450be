/* kxl's xenstore side: the contract between the lifecycle commands and kxl_xs.c. */
#ifndef KXL_XS_H
#define KXL_XS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct xs_handle;

/* console/limit, as libxl writes it: the backend's per-domain log budget in bytes/s. */
#define KXL_XS_CONSOLE_LIMIT 1048576

struct kxl_xs_domain {
	uint32_t domid;
	const char *name;
	const uint8_t *uuid;      /* 16 bytes */
	uint64_t mem_kib;         /* memory/static-max */
	uint64_t target_kib;      /* memory/target: what it starts with */
	unsigned vcpus;
	uint64_t store_pfn, console_pfn;
	uint32_t store_port, console_port;     /* the guest's ports, unbound for dom0 */
	struct timespec start_time;
};

/* Where kxl looks for kxenstored: $XENSTORED_PATH, else Xen's default socket. */
const char *kxl_xs_socket_path(void);
/* Connects to kxenstored; on failure prints where it looked and how to start it. */
struct xs_handle *kxl_xs_open(void);
/*
 * Writes d's standard paths (/local/domain/N, /vm/UUID) in one transaction,
 * then INTRODUCEs the domain, on a connection of its own (two round trips,
 * kxl_xsbatch.c). Returns 0, or -errno after printing what
 * failed and removing whatever was written.
 */
int kxl_xs_introduce(const struct kxl_xs_domain *d);
/*
 * Removes a domain's paths (its backend directories included) and releases
 * it, on a connection of its own. Quiet about paths already gone; returns 0,
 * or -errno when kxenstored cannot be reached.
 */
int kxl_xs_forget(uint32_t domid);
/* Writes /local/domain/N/control/NODE = value. Returns 0 or -errno. */
int kxl_xs_control(struct xs_handle *xs, uint32_t domid, const char *node, const char *value);
/* Reads /local/domain/N/control/NODE into buf. Returns 0 or -errno (-ENOENT: no such node). */
int kxl_xs_read_control(struct xs_handle *xs, uint32_t domid, const char *node, char *buf,
                        size_t len);

/*
 * kxl_xsbatch.c: requests queued with kxl_xsb_add go out in one write on a
 * connection of their own (not libxenstore's); kxl_xsb_run then reads every
 * reply, in order. One round trip for the batch instead of one per request.
 */
struct kxl_xsb {
	int fd;
	char *buf;                /* the queued requests, header and body each */
	size_t len, cap;
	size_t *off;              /* where request i starts in buf */
	int *rc;                  /* after run: 0 or -errno of request i */
	unsigned n, nmax;
	int err;                  /* sticky: a queueing or connection failure */
	char *reply;              /* after run: the last request's reply body, NUL-terminated */
};
/* An unconnected batch (fd -1): what kxl_xsb_close may be given. */
void kxl_xsb_init(struct kxl_xsb *b);
/* Connects to kxl_xs_socket_path(). 0 or -errno (b is then closed). */
int kxl_xsb_open(struct kxl_xsb *b);
/* Queues one request; the body is a then c (either may hold NULs). 0, or the sticky -errno. */
int kxl_xsb_add(struct kxl_xsb *b, uint32_t type, uint32_t tx, const char *a, size_t alen,
                const char *c, size_t clen);
/*
 * Sends the batch and reads all replies. Returns 0 when every request
 * succeeded, the -errno of the first that failed (b->rc has each one's), or
 * the connection's -errno (then b->rc is not complete).
 */
int kxl_xsb_run(struct kxl_xsb *b);
/* The path (first body string) of request i, for messages. */
const char *kxl_xsb_path(const struct kxl_xsb *b, unsigned i);
/* Empties the batch for the next one on the same connection. */
void kxl_xsb_reset(struct kxl_xsb *b);
void kxl_xsb_close(struct kxl_xsb *b);

struct xs_permissions;
/* Queues a write of path = the formatted value under transaction t (0: none); failures show at run. */
void kxl_xsb_writef(struct kxl_xsb *b, uint32_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Queues path = "" (creating it) and its n permissions (the owner first), as libxl's mkdir. */
void kxl_xsb_node(struct kxl_xsb *b, uint32_t t, const char *path, const struct xs_permissions *p,
                  unsigned n);

/*
 * One xenstore transaction on a batch connection, retried on EAGAIN (up to
 * 16 times) as xenstored asks: kxl's one retry loop. Each attempt starts a
 * transaction (one round trip), calls queue, then sends what queue left in
 * the batch with the commit behind it and, in the first attempt only,
 * after's requests behind the commit (one round trip).
 */
struct kxl_xsb_txn {
	/*
	 * Given b empty and the transaction's id t: queues the transaction's
	 * requests. It may first run batches of its own under t (reads it
	 * decides on) if it empties b again. 0, or -errno with failed set to
	 * give the transaction up (it is then aborted).
	 */
	int (*queue)(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen);
	void (*after)(struct kxl_xsb *b, void *arg);   /* optional: behind the first commit */
	void *arg;
	/* Out: a request failed but the commit kept the others; the caller removes them. */
	int committed;
};
/*
 * Runs x on the connected batch b. Returns 0, or -errno with what failed in
 * failed ("write PATH", "commit the transaction", queue's text, ...);
 * x->committed says whether part of it was committed all the same.
 */
int kxl_xsb_txn(struct kxl_xsb *b, struct kxl_xsb_txn *x, char *failed, size_t flen);

#endif
