/* libkxconfig internals shared between its source files; not installed. */
#ifndef KXCONFIG_INT_H
#define KXCONFIG_INT_H

#include <stdbool.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/dict.h>
#include "kxen/kxconfig.h"

/* libxml2 2.12 made the structured error handler take a const pointer. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *kxc_xmlerror_t;
#else
typedef xmlErrorPtr kxc_xmlerror_t;
/* kxconfig_format of a config loaded from a file: its document, brought up to date. 0 or -1. */
int kxc_format_doc(const struct kxconfig *c, FILE *f);

#endif

/* libxml2 errors collected instead of printed: the first few are kept. */
#define KXC_XERR_MAX 16
struct kxc_xerr {
	int domain, code, line;
	xmlNodePtr node;
	char str1[64], str2[64], msg[256];
};
struct kxc_xerrs {
	int n;
	struct kxc_xerr e[KXC_XERR_MAX];
};
void kxc_xerr_collect(void *ctx, kxc_xmlerror_t err);

/* Silences libxml2's default printing to stderr for one load, then restores it. */
struct kxc_quiet {
	xmlGenericErrorFunc generic;
	void *generic_ctx;
	xmlStructuredErrorFunc structured;
	void *structured_ctx;
};
void kxc_quiet_begin(struct kxc_quiet *q, struct kxc_xerrs *errs);
void kxc_quiet_end(const struct kxc_quiet *q);

/* A name-level model of domain.rng: which elements, attributes and values exist where. */
struct rng_values {
	const char **v;
	int n, cap;
};
struct rng_attr {
	const char *name;
	int required;                  /* in every definition of its element (nreq == ndefs) */
	int nreq, last_def;
	const char *pattern;           /* <param name="pattern">, an XML Schema regexp */
	const char *type, *expect;     /* datatype and the kx:expect hint */
	struct rng_values values;      /* enumerated <value>s, if any */
	int seen, loose;               /* loose: definitions differ in syntax; libxml2 checks it */
};
struct rng_elem {
	const char *name;
	int text;                      /* character data allowed */
	int any;                       /* kx:any: any content, not checked by name */
	const char *type, *expect;
	struct rng_values values;
	struct rng_elem **child;
	int *repeat;                   /* child[i] may occur more than once */
	int *required;                 /* child[i] must occur */
	int ndefs;                     /* <element name=...> patterns of this name */
	int nchild, capchild;
	struct rng_attr *attr;
	int nattr, capattr;
};
struct rng_model {
	xmlDictPtr dict;               /* owns every name and value string */
	int open;                      /* the schema uses constructs the model skips: check nothing */
	struct rng_elem root;          /* pseudo-element whose child is the document element */
	struct rng_elem **elems;
	int nelems, capelems;
};
int rng_model_build(struct rng_model *m, xmlDocPtr rng);
void rng_model_free(struct rng_model *m);
const struct rng_elem *rng_model_find(const struct rng_model *m, const char *name);
const struct rng_attr *rng_elem_attr(const struct rng_elem *e, const char *name);
/* Unknown elements, attributes, text, duplicates: writes "FILE:LINE: ..." and returns 1. */
int rng_model_check(const struct rng_model *m, xmlDocPtr doc, const char *file,
                    char *err, size_t errlen);
/* What a value should look like, for "invalid value ... (expected ...)". */
void rng_describe(const struct rng_values *v, const char *type, const char *expect,
                  char *buf, size_t len);

/*
 * Validates doc against the schema; on failure writes one "FILE:LINE: element 'X': ..." line and
 * returns -EINVAL (invalid document or schema), -ENOENT (no schema) or -ENOMEM.
 */
int kxc_schema_validate(xmlDocPtr doc, const char *text, size_t len, const char *file, char *err,
                        size_t errlen);
/*
 * verdict.c: whether a document of exactly these bytes was found valid
 * against a schema of exactly these bytes (by this libxml2) before, in the
 * directory kxconfig_set_verdict_cache named; and remembering that it was.
 * Saving is best effort and silent.
 */
bool kxc_verdict_valid(const char *schema, size_t slen, const char *doc, size_t dlen);
void kxc_verdict_save(const char *schema, size_t slen, const char *doc, size_t dlen);

/* A value quoted safely into a message: control characters replaced, long ones cut. */
void kxc_shorten(const char *in, char *out, size_t outlen);
/* A node's text with surrounding whitespace removed (malloc'd), as RELAX NG tokens compare. */
char *kxc_text(xmlNodePtr n);

/* A path from the config, made absolute against the config file's directory (malloc'd). */
char *kxc_resolve(const char *source, const char *file);

/* One load of a config file: where errors go and the config being filled. */
struct kxc_ld {
	const char *path;
	const char *text;              /* the file's bytes, as parsed */
	size_t len;
	char *err;
	size_t errlen;
	struct kxconfig *c;
};
/* Writes "FILE:LINE: <elem>: MSG" (n's line and name) into l->err; returns -EINVAL. */
int kxc_bad(struct kxc_ld *l, xmlNodePtr n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Writes "FILE: out of memory" into l->err; returns -ENOMEM. */
int kxc_oom(struct kxc_ld *l);
/* The first element child of n (NULL-safe) called name, or NULL. */
xmlNodePtr kxc_child(xmlNodePtr n, const char *name);
/* n's attribute name (malloc'd), or NULL when absent (or n is NULL). */
char *kxc_attr(xmlNodePtr n, const char *name);
/* <clock> and <features>: the wallclock offset and libvirt's Xen features (platform.c). -1 on error. */
int kxc_load_platform(struct kxc_ld *l, xmlNodePtr root);
/* <devices>: disks, interfaces, console. Writes "FILE:LINE: <elem>: ..." and returns -1 on error. */
int kxc_load_devices(struct kxc_ld *l, xmlNodePtr root);

/* kxconfig_format of a config loaded from a file: its document, brought up to date. 0 or -1. */
int kxc_format_doc(const struct kxconfig *c, FILE *f);

#endif
