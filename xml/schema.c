/* Validation of a domain document against domain.rng, with errors a user can act on. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxml/relaxng.h>
#include "config_int.h"

const char *kxconfig_schema_path(void)
{
	static char buf[4096];
	const char *env = getenv(KXCONFIG_SCHEMA_ENV);
	if (env && *env)
		return env;
	/* An installed kxl uses the installed schema; a build tree falls back to its sources. */
	snprintf(buf, sizeof(buf), "%s/domain.rng", KXEN_SCHEMA_DIR);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, sizeof(buf), "%s/domain.rng", KXEN_SRC_SCHEMA_DIR);
	return buf;
}

struct schema {
	const char *path;
	char *text;                 /* the file's bytes: what a verdict is kept against */
	size_t len;
	xmlDocPtr doc;              /* the schema as read, kept for the model */
	xmlRelaxNGPtr rng;
	struct rng_model model;     /* built only to explain a failure: most documents are valid */
};

/* The schema's bytes, whole: a verdict is kept against them, and libxml2 parses them from memory. */
static int schema_read(struct schema *s, char *err, size_t errlen)
{
	FILE *f;
	long n = -1;

	memset(s, 0, sizeof(*s));
	s->path = kxconfig_schema_path();
	if (!(f = fopen(s->path, "re"))) {
		snprintf(err, errlen, "cannot read the schema %s: %s (set %s to the path of domain.rng)",
		         s->path, strerror(errno), KXCONFIG_SCHEMA_ENV);
		return -ENOENT;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s->text = malloc((size_t)n + 1)))
		s->len = fread(s->text, 1, (size_t)n + 1, f);
	int bad = n < 0 || !s->text || ferror(f) || s->len != (size_t)n;

	fclose(f);
	if (bad) {
		snprintf(err, errlen, "cannot read the schema %s: %s", s->path,
		         s->text ? "it changed while being read" : strerror(errno ? errno : ENOMEM));
		return -EIO;
	}
	return 0;
}

static int schema_load(struct schema *s, struct kxc_xerrs *errs, char *err, size_t errlen)
{
	errs->n = 0;
	/*
	 * NOBLANKS: RelaxNG drops the whitespace between a schema's elements
	 * anyway (its simplification, 4.2); not making those nodes cuts the read
	 * and the compile by a quarter (bench/README.md, bench_phases).
	 */
	s->doc = xmlReadMemory(s->text, (int)s->len, s->path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (!s->doc) {
		snprintf(err, errlen, "%s:%d: cannot load the schema: %s", s->path,
		         errs->n ? errs->e[0].line : 0, errs->n ? errs->e[0].msg : "out of memory");
		return -EINVAL;
	}
	xmlRelaxNGParserCtxtPtr pctx = xmlRelaxNGNewDocParserCtxt(s->doc);
	if (pctx) {
		xmlRelaxNGSetParserStructuredErrors(pctx, (xmlStructuredErrorFunc)kxc_xerr_collect, errs);
		s->rng = xmlRelaxNGParse(pctx);
		xmlRelaxNGFreeParserCtxt(pctx);
	}
	if (!s->rng) {
		snprintf(err, errlen, "%s:%d: invalid schema: %s", s->path,
		         errs->n ? errs->e[0].line : 0, errs->n ? errs->e[0].msg : "out of memory");
		return -EINVAL;
	}
	return 0;
}

static void schema_free(struct schema *s)
{
	if (s->rng)
		xmlRelaxNGFree(s->rng);
	rng_model_free(&s->model);
	xmlFreeDoc(s->doc);
	free(s->text);
}

/* Consequences of an earlier error, or libxml2 internals: never the best one to show. */
static int is_followup(int code)
{
	return code == XML_RELAXNG_ERR_CONTENTVALID || code == XML_RELAXNG_ERR_INTERSEQ ||
	       code == XML_RELAXNG_ERR_INTEREXTRA || code == XML_RELAXNG_ERR_DATATYPE ||
	       code == XML_RELAXNG_ERR_NOSTATE;
}

static void bad_attrs(const struct rng_elem *e, xmlNodePtr n, char *msg, size_t len)
{
	char expect[256], v[64];
	for (int i = 0; e && i < e->nattr; i++) {
		const struct rng_attr *a = &e->attr[i];
		xmlChar *val = xmlGetNoNsProp(n, BAD_CAST a->name);
		if (!val && a->required) {
			snprintf(msg, len, "required attribute '%s' is missing", a->name);
			return;
		}
		if (val) {
			int ok = !a->values.n;
			for (int j = 0; j < a->values.n; j++)
				ok |= xmlStrEqual(val, BAD_CAST a->values.v[j]);
			if (!ok) {
				kxc_shorten((const char *)val, v, sizeof(v));
				rng_describe(&a->values, a->type, a->expect, expect, sizeof(expect));
				snprintf(msg, len, "invalid value '%s' for attribute '%s' (expected %s)", v,
				         a->name, expect);
				xmlFree(val);
				return;
			}
			xmlFree(val);
		}
	}
	snprintf(msg, len, "invalid attributes");
}

/* An element whose value (or attribute) is wrong, when libxml2 only says it failed. */
static void bad_content(const struct rng_elem *e, xmlNodePtr n, char *msg, size_t len)
{
	char expect[256] = "", v[64];
	if (e && e->nattr) {
		bad_attrs(e, n, msg, len);
		if (strcmp(msg, "invalid attributes"))
			return;
	}
	char *t = n ? kxc_text(n) : NULL;
	kxc_shorten(t ? t : "", v, sizeof(v));
	free(t);
	if (e)
		rng_describe(&e->values, e->type, e->expect, expect, sizeof(expect));
	snprintf(msg, len, "invalid value '%s'%s%s%s", v, *expect ? " (expected " : "", expect,
	         *expect ? ")" : "");
}

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && xmlStrEqual(k->name, BAD_CAST name))
			return k;
	return NULL;
}

/*
 * Turns libxml2's error i into "what is wrong (expected what)" and returns
 * the element to blame, which is not always the one libxml2 names.
 */
static xmlNodePtr translate(const struct rng_model *m, const struct kxc_xerrs *errs, int i,
                            char *msg, size_t len)
{
	const struct kxc_xerr *x = &errs->e[i];
	xmlNodePtr n = x->node;
	char expect[256] = "", v[64];

	if (n && n->type != XML_ELEMENT_NODE)
		n = NULL;
	switch (x->code) {
	case XML_RELAXNG_ERR_NOELEM:
		snprintf(msg, len, "required element '%s' is missing", x->str1);
		break;
	case XML_RELAXNG_ERR_ELEMNAME: {
		/* libxml2 names either the misplaced element or its parent. */
		xmlNodePtr got = n && !xmlStrEqual(n->name, BAD_CAST x->str2) ? child_named(n, x->str2) : n;
		if (got)
			n = got;
		snprintf(msg, len, "out of place: expected element '%s' here", x->str1);
		break;
	}
	case XML_RELAXNG_ERR_ATTRVALID:
		bad_attrs(n ? rng_model_find(m, (const char *)n->name) : NULL, n, msg, len);
		break;
	case XML_RELAXNG_ERR_INVALIDATTR: {
		const struct rng_elem *e = n ? rng_model_find(m, (const char *)n->name) : NULL;
		const struct rng_attr *a = e ? rng_elem_attr(e, x->str1) : NULL;
		xmlChar *val = n ? xmlGetNoNsProp(n, BAD_CAST x->str1) : NULL;
		kxc_shorten(val ? (const char *)val : "", v, sizeof(v));
		xmlFree(val);
		if (a)
			rng_describe(&a->values, a->type, a->expect, expect, sizeof(expect));
		snprintf(msg, len, "invalid value '%s' for attribute '%s'%s%s%s", v, x->str1,
		         *expect ? " (expected " : "", expect, *expect ? ")" : "");
		break;
	}
	case XML_RELAXNG_ERR_INTEREXTRA:
		/* "Extra element X in interleave" comes without a node; the follow-up has it. */
		n = NULL;
		for (int j = i + 1; j < errs->n && !n; j++)
			if (errs->e[j].node && errs->e[j].node->type == XML_ELEMENT_NODE &&
			    xmlStrEqual(errs->e[j].node->name, BAD_CAST x->str1))
				n = errs->e[j].node;
		/* fall through - the walk ruled out a duplicate, so the content is at fault */
	case XML_RELAXNG_ERR_TYPEVAL:
	case XML_RELAXNG_ERR_VALUE:
	case XML_RELAXNG_ERR_DATATYPE:
	case XML_RELAXNG_ERR_LACKDATA:
	case XML_RELAXNG_ERR_EXTRADATA:
	case XML_RELAXNG_ERR_NOTELEM:
		bad_content(n ? rng_model_find(m, (const char *)n->name) : NULL, n, msg, len);
		break;
	default:
		snprintf(msg, len, "%s", x->msg);
	}
	return n;
}

static void report(struct schema *s, const struct kxc_xerrs *errs, xmlDocPtr doc,
                   const char *file, char *err, size_t errlen)
{
	if (rng_model_build(&s->model, s->doc)) {
		snprintf(err, errlen, "%s: does not match the schema %s (which kxl cannot read back to "
		         "say why)", file, s->path);
		return;
	}
	if (rng_model_check(&s->model, doc, file, err, errlen))
		return;
	int pick = -1;
	for (int i = 0; i < errs->n && pick < 0; i++)
		if (!is_followup(errs->e[i].code))
			pick = i;
	/* Nothing but follow-ups: an element inside an interleave failed, say which. */
	for (int i = 0; i < errs->n && pick < 0; i++)
		if (errs->e[i].code == XML_RELAXNG_ERR_INTEREXTRA)
			pick = i;
	if (pick < 0 && errs->n)
		pick = 0;
	if (pick < 0) {
		snprintf(err, errlen, "%s: does not match the schema %s", file, s->path);
		return;
	}
	char msg[512];
	xmlNodePtr n = translate(&s->model, errs, pick, msg, sizeof(msg));
	if (n)
		snprintf(err, errlen, "%s:%ld: element '%s': %s", file, xmlGetLineNo(n),
		         (const char *)n->name, msg);
	else
		snprintf(err, errlen, "%s:%d: %s", file, errs->e[pick].line, msg);
}

int kxc_schema_validate(xmlDocPtr doc, const char *text, size_t len, const char *file, char *err,
                        size_t errlen)
{
	struct kxc_xerrs errs = { 0 };
	struct schema s;
	struct kxc_quiet q;
	int ret;

	kxc_quiet_begin(&q, &errs);
	if ((ret = schema_read(&s, err, errlen)))
		goto out;
	if (kxc_verdict_valid(s.text, s.len, text, len))
		goto out;
	if ((ret = schema_load(&s, &errs, err, errlen)))
		goto out;
	xmlRelaxNGValidCtxtPtr vctx = xmlRelaxNGNewValidCtxt(s.rng);
	if (!vctx) {
		snprintf(err, errlen, "%s: out of memory validating", file);
		ret = -ENOMEM;
		goto out;
	}
	errs.n = 0;
	xmlRelaxNGSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc)kxc_xerr_collect, &errs);
	int r = xmlRelaxNGValidateDoc(vctx, doc);
	xmlRelaxNGFreeValidCtxt(vctx);
	if (r != 0) {
		report(&s, &errs, doc, file, err, errlen);
		ret = -EINVAL;
	} else {
		kxc_verdict_save(s.text, s.len, text, len);
	}
out:
	schema_free(&s);
	kxc_quiet_end(&q);
	return ret;
}
