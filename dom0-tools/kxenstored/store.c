/* store.c: the xenstore tree, indexed by a path hash so lookups cost O(path length), with per-domain node accounting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"
#include "persist.h"

uint32_t store__hash(const char *path, size_t len)
{
	uint32_t h = 2166136261u;       /* FNV-1a: cheap and good enough for paths */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)path[i]) * 16777619u;
	return h;
}

static struct xs_acct *acct_get(struct xs_store *s, unsigned domid, bool create)
{
	struct xs_acct **pp = &s->acct[domid & 255], *a;

	for (a = *pp; a; a = a->next)
		if (a->domid == domid)
			return a;
	if (!create || !(a = calloc(1, sizeof(*a))))
		return NULL;
	a->domid = domid;
	a->next = *pp;
	*pp = a;
	return a;
}

unsigned store__owned(const struct xs_store *s, unsigned domid)
{
	for (const struct xs_acct *a = s->acct[domid & 255]; a; a = a->next)
		if (a->domid == domid)
			return a->nodes;
	return 0;
}

size_t store__owned_bytes(const struct xs_store *s, unsigned domid)
{
	for (const struct xs_acct *a = s->acct[domid & 255]; a; a = a->next)
		if (a->domid == domid)
			return a->bytes;
	return 0;
}

size_t store__node_bytes(size_t plen, size_t vlen, unsigned nperms)
{
	return sizeof(struct xs_node) + plen + 1 + vlen + nperms * sizeof(struct xs_permissions);
}

static size_t node_bytes(const struct xs_node *n)
{
	return store__node_bytes(n->plen, n->vlen, n->nperms);
}

/* One node more (sign 1) or less (-1) for domid, of that many bytes. */
static void acct_add(struct xs_store *s, unsigned domid, int sign, size_t bytes)
{
	struct xs_acct *a = acct_get(s, domid, true);

	if (!a)
		return;
	a->nodes += (unsigned)sign;
	if (sign > 0)
		a->bytes += bytes;
	else
		a->bytes -= bytes;
}

struct xs_node *store__lookup(const struct xs_store *s, const char *path)
{
	size_t len = strlen(path);
	uint32_t h = store__hash(path, len);

	for (struct xs_node *n = s->buckets[h & (s->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->plen == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

/* Doubles the bucket array when the load passes 1, so chains stay short at any size. */
static void grow(struct xs_store *s)
{
	unsigned nb = s->nbuckets * 2;
	struct xs_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;         /* longer chains, still correct */
	for (unsigned i = 0; i < s->nbuckets; i++) {
		struct xs_node *n = s->buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static void unhash(struct xs_store *s, struct xs_node *n)
{
	struct xs_node **pp = &s->buckets[n->hash & (s->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
}

int store__copy_data(const char *val, unsigned vlen, const struct xs_permissions *perms,
                     unsigned nperms, char **v, struct xs_permissions **p)
{
	*v = malloc(vlen + 1);
	*p = malloc(nperms * sizeof(**p));
	if (!*v || !*p) {
		free(*v);
		free(*p);
		return -ENOMEM;
	}
	if (vlen)
		memcpy(*v, val, vlen);
	(*v)[vlen] = 0;
	memcpy(*p, perms, nperms * sizeof(**p));
	return 0;
}

static int set_data(struct xs_store *s, struct xs_node *n, const char *val, unsigned vlen,
                    const struct xs_permissions *perms, unsigned nperms)
{
	char *v;
	struct xs_permissions *p;

	if (store__copy_data(val, vlen, perms, nperms, &v, &p))
		return -ENOMEM;
	if (n->perms)
		acct_add(s, n->perms[0].id, -1, node_bytes(n));
	s->bytes += vlen + nperms * sizeof(*p);
	s->bytes -= n->vlen + n->nperms * sizeof(*p);
	free(n->value);
	free(n->perms);
	n->value = v;
	n->vlen = vlen;
	n->perms = p;
	n->nperms = nperms;
	acct_add(s, p[0].id, 1, node_bytes(n));
	return 0;
}

int store__put(struct xs_store *s, const char *path, const char *val, unsigned vlen,
               const struct xs_permissions *perms, unsigned nperms)
{
	struct xs_node *n = store__lookup(s, path), *parent = NULL;
	size_t len = strlen(path);
	int rc;

	if (!nperms)
		return -EINVAL;
	if (n) {
		snap__keep(s, n);
		if ((rc = set_data(s, n, val, vlen, perms, nperms)) < 0)
			return rc;
		n->gen = ++s->gen;
		persist__node(s, n, false);
		return 0;
	}
	if (len > 1) {
		char pp[XENSTORE_ABS_PATH_MAX + 1];
		size_t pl = path__parent_len(path, len);
		if (pl > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(pp, path, pl);
		pp[pl] = 0;
		if (!(parent = store__lookup(s, pp)))
			return -ENOENT;
	}
	if (!(n = calloc(1, sizeof(*n) + len + 1)))
		return -ENOMEM;
	memcpy(n->path, path, len + 1);
	n->plen = (unsigned)len;
	n->hash = store__hash(path, len);
	if ((rc = set_data(s, n, val, vlen, perms, nperms)) < 0) {
		free(n);
		return rc;
	}
	if (parent)
		snap__keep(s, parent);
	n->gen = ++s->gen;
	n->cseq = ++s->cseq;
	n->parent = parent;
	if (parent) {
		/*
		 * Appended: DIRECTORY lists children in creation order, as Xen's does.
		 * The first child's prev is the last one, so appending costs no pointer per node.
		 */
		struct xs_node *first = parent->children;
		if (first) {
			n->prev = first->prev;
			first->prev->next = n;
			first->prev = n;
		} else {
			n->prev = n;
			parent->children = n;
		}
		parent->nchildren++;
		parent->gen = s->gen;
	}
	n->hnext = s->buckets[n->hash & (s->nbuckets - 1)];
	s->buckets[n->hash & (s->nbuckets - 1)] = n;
	s->bytes += sizeof(*n) + len + 1;
	if (++s->count > s->nbuckets)
		grow(s);
	persist__node(s, n, false);
	return 0;
}

void store__del(struct xs_store *s, struct xs_node *n,
                void (*fn)(void *arg, const struct xs_node *n), void *arg)
{
	while (n->children)
		store__del(s, n->children, fn, arg);
	if (fn)
		fn(arg, n);
	snap__keep(s, n);
	if (n->parent) {
		snap__keep(s, n->parent);
		struct xs_node *first = n->parent->children;
		if (n == first)
			n->parent->children = n->next;
		else
			n->prev->next = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else if (n != first)
			first->prev = n->prev;      /* n was the last: the first points at the new last */
		n->parent->nchildren--;
		n->parent->gen = ++s->gen;
	}
	persist__node(s, n, true);
	unhash(s, n);
	s->count--;
	acct_add(s, n->perms[0].id, -1, node_bytes(n));
	s->bytes -= sizeof(*n) + n->plen + 1 + n->vlen + n->nperms * sizeof(*n->perms);
	free(n->value);
	free(n->perms);
	free(n);
}

int store__init(struct xs_store *s)
{
	static const struct xs_permissions p0 = { 0, XS_PERM_NONE };

	memset(s, 0, sizeof(*s));
	s->old_max = 16 << 20;
	s->nbuckets = 1024;
	if (!(s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))))
		return -ENOMEM;
	if (store__put(s, "/", "", 0, &p0, 1) < 0 || store__put(s, "/local", "", 0, &p0, 1) < 0 ||
	    store__put(s, "/local/domain", "", 0, &p0, 1) < 0 || store__put(s, "/tool", "", 0, &p0, 1) < 0) {
		store__fini(s);
		return -ENOMEM;
	}
	return 0;
}

void store__fini(struct xs_store *s)
{
	struct xs_node *root = s->buckets ? store__lookup(s, "/") : NULL;

	snap__fini(s);
	s->snap_first = s->snap_last = NULL;        /* teardown: nothing may keep versions now */
	if (root)
		store__del(s, root, NULL, NULL);
	free(s->buckets);
	s->buckets = NULL;
	for (unsigned i = 0; i < 256; i++) {
		struct xs_acct *a, *next;
		for (a = s->acct[i]; a; a = next) {
			next = a->next;
			free(a);
		}
		s->acct[i] = NULL;
	}
}

/* Xen's rule: alphanumerics and "-/_@", absolute, no empty component. */
bool path__valid(const char *p, bool allow_special)
{
	size_t len = strlen(p);

	if (p[0] == '@') {
		if (!allow_special || len < 2)
			return false;
		p++;
	} else if (p[0] != '/' || len > XENSTORE_ABS_PATH_MAX) {
		return false;
	} else if (len > 1 && p[len - 1] == '/') {
		return false;
	}
	for (const char *c = p; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '/' || *c == '_' || *c == '@'))
			return false;
		if (c[0] == '/' && c[1] == '/')
			return false;
	}
	return true;
}

size_t path__parent_len(const char *p, size_t len)
{
	while (len > 1 && p[len - 1] != '/')
		len--;
	return len > 1 ? len - 1 : 1;
}

bool path__too_long(const char *p, unsigned max)
{
	static const char home[] = "/local/domain/";
	size_t len = strlen(p), off = 0;

	/* As Xen's sscanf("/local/domain/%5u/"): up to five digits, then a slash. */
	if (!strncmp(p, home, sizeof(home) - 1)) {
		size_t d = sizeof(home) - 1, k = 0;
		while (k < 5 && p[d + k] >= '0' && p[d + k] <= '9')
			k++;
		if (k && p[d + k] == '/')
			off = d + k + 1;
	}
	return len - off > max;
}

bool path__is_under(const char *p, const char *anc)
{
	size_t al = strlen(anc);

	if (al == 1 && anc[0] == '/')
		return p[0] == '/';
	return !strncmp(p, anc, al) && (p[al] == 0 || p[al] == '/');
}

unsigned perm__mode(const struct xs_permissions *perms, unsigned n, unsigned domid,
                    bool privileged, unsigned target)
{
	const unsigned all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;

	/* dom0 is all-powerful; the owner, and a domain targeting the owner (stubdom), too. */
	if (privileged || perms[0].id == domid || (target != XS_DOMID_NONE && perms[0].id == target))
		return all;
	for (unsigned i = 1; i < n; i++)
		if (perms[i].id == domid && !(perms[i].perms & XS_PERM_IGNORE))
			return perms[i].perms & (XS_PERM_READ | XS_PERM_WRITE);
	return perms[0].perms & (XS_PERM_READ | XS_PERM_WRITE);
}

int perm__parse(const char *buf, unsigned len, unsigned max, struct xs_permissions *out,
                unsigned *n)
{
	unsigned i = 0;

	for (const char *p = buf; p < buf + len; p += strlen(p) + 1) {
		unsigned mode;
		char *end;
		switch (p[0]) {
		case 'n': mode = XS_PERM_NONE; break;
		case 'r': mode = XS_PERM_READ; break;
		case 'w': mode = XS_PERM_WRITE; break;
		case 'b': mode = XS_PERM_READ | XS_PERM_WRITE; break;
		default: return -EINVAL;
		}
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		unsigned long id = strtoul(p + 1, &end, 10);
		if (*end || id > 0xffff)
			return -EINVAL;
		if (i == max)
			return -ENOSPC;
		out[i].id = (unsigned)id;
		out[i].perms = mode;
		i++;
	}
	if (!i)
		return -EINVAL;
	*n = i;
	return 0;
}

int perm__format(const struct xs_permissions *p, unsigned n, char *buf, size_t len)
{
	static const char letter[] = "nrwb";
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		char tmp[16];
		int l = snprintf(tmp, sizeof(tmp), "%c%u", letter[p[i].perms & 3], p[i].id);
		if (off + (size_t)l + 1 > len)
			return -E2BIG;
		memcpy(buf + off, tmp, (size_t)l + 1);
		off += (size_t)l + 1;
	}
	return (int)off;
}

/* Xen's defaults (xenstored -h): entry-nb 1000, entry-size 2048, perms 5, watches 128, transactions 10. */
void quota__defaults(struct xs_quota *q)
{
	q->nodes_per_domain = 1000;
	q->node_size = 2048;
	q->perms_per_node = 5;
	q->watches_per_conn = 128;
	q->txns_per_conn = 10;
	q->txn_nodes = 1024;
	q->out_bytes = 256 * 1024;
	q->outstanding = 20;
	q->path_max = XENSTORE_REL_PATH_MAX;
	q->memory = 2 * 1024 * 1024 + 512 * 1024;
	q->memory_soft = 2 * 1024 * 1024;
}

/* Xen's names and descriptions (xenstore-control quota), in Xen's order; ours after them. */
struct quota_entry { const char *name; size_t off; const char *what; };

static const struct quota_entry quota_table[] = {
	{ "nodes", offsetof(struct xs_quota, nodes_per_domain), "Nodes per domain" },
	{ "watches", offsetof(struct xs_quota, watches_per_conn), "Watches per domain" },
	{ "transactions", offsetof(struct xs_quota, txns_per_conn), "Transactions per domain" },
	{ "outstanding", offsetof(struct xs_quota, outstanding), "Outstanding requests per domain" },
	{ "transaction-nodes", offsetof(struct xs_quota, txn_nodes),
	  "Max. number of accessed nodes per transaction" },
	{ "memory", offsetof(struct xs_quota, memory), "Total Xenstore memory per domain (error level)" },
	{ "node-size", offsetof(struct xs_quota, node_size), "Max. size of a node" },
	{ "path-max", offsetof(struct xs_quota, path_max), "Max. length of a node path" },
	{ "permissions", offsetof(struct xs_quota, perms_per_node), "Max. number of permissions per node" },
	{ "output-bytes", offsetof(struct xs_quota, out_bytes),
	  "Max. bytes of unread replies and events per connection" },
};

static const struct quota_entry soft_table[] = {
	{ "memory", offsetof(struct xs_quota, memory_soft), "Total Xenstore memory per domain (warning level)" },
};

static int set_in(const struct quota_entry *t, size_t n, struct xs_quota *q, const char *name,
                  unsigned value)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name)) {
			if (!value)
				return -EINVAL;
			*(unsigned *)((char *)q + t[i].off) = value;
			return 0;
		}
	return -EINVAL;
}

static size_t print_in(const struct quota_entry *t, size_t n, const struct xs_quota *q, char *buf,
                       size_t len)
{
	int l = snprintf(buf, len, "Quota settings:\n");
	size_t off = l > 0 && (size_t)l < len ? (size_t)l : 0;

	for (size_t i = 0; i < n && off < len; i++) {
		l = snprintf(buf + off, len - off, "%-17s: %8u %s\n", t[i].name,
		             *(const unsigned *)((const char *)q + t[i].off), t[i].what);
		if (l < 0 || (size_t)l >= len - off)
			break;
		off += (size_t)l;
	}
	return off;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

int quota__set(struct xs_quota *q, const char *name, unsigned value)
{
	if (!strcmp(name, "perms"))
		name = "permissions";   /* kxenstored's older name for -q */
	return set_in(quota_table, COUNT(quota_table), q, name, value);
}

size_t quota__print(const struct xs_quota *q, char *buf, size_t len)
{
	return print_in(quota_table, COUNT(quota_table), q, buf, len);
}

int quota__set_soft(struct xs_quota *q, const char *name, unsigned value)
{
	return set_in(soft_table, COUNT(soft_table), q, name, value);
}

size_t quota__print_soft(const struct xs_quota *q, char *buf, size_t len)
{
	return print_in(soft_table, COUNT(soft_table), q, buf, len);
}

void store__chown_all(struct xs_store *s, unsigned from, unsigned to)
{
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (struct xs_node *n = s->buckets[i]; n; n = n->hnext) {
			bool changed = n->perms[0].id == from;
			if (changed) {
				n->perms[0].id = to;
				acct_add(s, from, -1, node_bytes(n));
				acct_add(s, to, 1, node_bytes(n));
			}
			for (unsigned k = 1; k < n->nperms; k++)
				if (n->perms[k].id == from && !(n->perms[k].perms & XS_PERM_IGNORE)) {
					n->perms[k].perms |= XS_PERM_IGNORE;
					changed = true;
				}
			if (changed)
				persist__node(s, n, false);
		}
}

/* One node's links: parent, index entry, path, sibling order and child count. */
static unsigned check_node(struct xs_store *s, const struct xs_node *n,
                           void (*log)(void *arg, const char *msg), void *arg)
{
	char msg[160];
	unsigned bad = 0, kids = 0;
	const struct xs_node *prev = NULL;

#define BAD(...) do { snprintf(msg, sizeof(msg), __VA_ARGS__); log(arg, msg); bad++; } while (0)
	if (store__lookup(s, n->path) != n)
		BAD("%.100s: not found under its own path", n->path);
	if (!n->nperms || !n->perms)
		BAD("%.100s: no permissions", n->path);
	for (const struct xs_node *c = n->children; c; prev = c, c = c->next) {
		kids++;
		if (c->parent != n || (c != n->children && c->prev != prev))
			BAD("%.100s: broken child links", c->path);
		if (path__parent_len(c->path, c->plen) != (n->plen == 1 ? 1 : n->plen) ||
		    strncmp(c->path, n->path, n->plen))
			BAD("%.100s: path not under its parent's", c->path);
	}
	if (n->children && n->children->prev != prev)
		BAD("%.100s: first child does not point at the last", n->path);
	if (kids != n->nchildren)
		BAD("%.100s: %u children counted, %u recorded", n->path, kids, n->nchildren);
#undef BAD
	return bad;
}

unsigned store__check(struct xs_store *s, void (*log)(void *arg, const char *msg), void *arg)
{
	const struct xs_node *root = store__lookup(s, "/"), *n;
	unsigned bad = 0, seen = 0, indexed = 0;
	char msg[160];

	if (!root) {
		log(arg, "no root node");
		return 1;
	}
	/* Depth first without recursion: paths may nest about 1500 deep. */
	for (n = root; n; ) {
		seen++;
		bad += check_node(s, n, log, arg);
		if (n->children) {
			n = n->children;
			continue;
		}
		while (n && n != root && !n->next)
			n = n->parent;
		n = n && n != root ? n->next : NULL;
	}
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n; n = n->hnext)
			indexed++;
	if (seen != s->count || indexed != s->count) {
		snprintf(msg, sizeof(msg), "%u nodes recorded, %u reachable from the root, %u indexed",
		         s->count, seen, indexed);
		log(arg, msg);
		bad++;
	}
	/* Per-domain counts against a recount; repaired, as Xen's check repairs its accounting. */
	for (unsigned b = 0; b < 256; b++)
		for (struct xs_acct *a = s->acct[b]; a; a = a->next) {
			a->recount = 0;
			a->rebytes = 0;
		}
	for (unsigned i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n; n = n->hnext) {
			struct xs_acct *a = n->nperms ? acct_get(s, n->perms[0].id, true) : NULL;
			if (a) {
				a->recount++;
				a->rebytes += node_bytes(n);
			}
		}
	for (unsigned b = 0; b < 256; b++)
		for (struct xs_acct *a = s->acct[b]; a; a = a->next)
			if (a->recount != a->nodes || a->rebytes != a->bytes) {
				snprintf(msg, sizeof(msg), "domain %u owns %u nodes (%zu bytes), %u (%zu) recorded (repaired)",
				         a->domid, a->recount, a->rebytes, a->nodes, a->bytes);
				log(arg, msg);
				a->nodes = a->recount;
				a->bytes = a->rebytes;
				bad++;
			}
	return bad;
}
