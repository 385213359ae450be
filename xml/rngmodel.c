/* Reads domain.rng into a name-level model so schema failures can be reported precisely. */
/*
 * libxml2's RELAX NG validator often blames the wrong node (an unknown
 * element inside an <interleave> comes out as "Expecting an element vcpu,
 * got nothing" on the parent). Deriving the element and attribute names from
 * the schema itself keeps one source of truth: adding an element to
 * domain.rng is all it takes for the messages to know about it.
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

#define RNG_NS "http://relaxng.org/ns/structure/1.0"
#define KX_NS "urn:kxen:schema-annotations"
#define RNG_MAX_DEPTH 64

static int grow(void *arrp, int *cap, int n, size_t size)
{
	void **arr = arrp;
	if (n < *cap)
		return 0;
	int ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static const char *intern(struct rng_model *m, const xmlChar *s)
{
	return s ? (const char *)xmlDictLookup(m->dict, s, -1) : NULL;
}

/* A pattern attribute, interned; the schema doc is freed after building. */
static const char *prop(struct rng_model *m, xmlNodePtr n, const char *name, const char *ns)
{
	xmlChar *v = ns ? xmlGetNsProp(n, BAD_CAST name, BAD_CAST ns) : xmlGetNoNsProp(n, BAD_CAST name);
	const char *r = intern(m, v);
	xmlFree(v);
	return r;
}

static int add_value(struct rng_model *m, struct rng_values *vals, xmlNodePtr n)
{
	char *t = kxc_text(n);
	if (!t || grow(&vals->v, &vals->cap, vals->n, sizeof(*vals->v))) {
		free(t);
		return -ENOMEM;
	}
	vals->v[vals->n++] = intern(m, BAD_CAST t);
	free(t);
	return 0;
}

static struct rng_elem *elem_get(struct rng_model *m, const char *name)
{
	for (int i = 0; i < m->nelems; i++)
		if (m->elems[i]->name == name)   /* interned */
			return m->elems[i];
	struct rng_elem *e = calloc(1, sizeof(*e));
	if (!e || grow(&m->elems, &m->capelems, m->nelems, sizeof(*m->elems))) {
		free(e);
		return NULL;
	}
	e->name = name;
	m->elems[m->nelems++] = e;
	return e;
}

static int add_child(struct rng_elem *parent, struct rng_elem *e, int repeat, int required)
{
	for (int i = 0; i < parent->nchild; i++)
		if (parent->child[i] == e) {
			/* Listed in two places (choice branches): repeatable if either allows it. */
			parent->repeat[i] |= repeat;
			parent->required[i] &= required;
			return 0;
		}
	int cap = parent->capchild, cap2 = parent->capchild;
	if (grow(&parent->child, &cap, parent->nchild, sizeof(*parent->child)) ||
	    grow(&parent->required, &cap2, parent->nchild, sizeof(*parent->required)) ||
	    grow(&parent->repeat, &parent->capchild, parent->nchild, sizeof(*parent->repeat)))
		return -ENOMEM;
	parent->child[parent->nchild] = e;
	parent->required[parent->nchild] = required;
	parent->repeat[parent->nchild++] = repeat;
	return 0;
}

/*
 * Elements are modelled by name, so <source> of a disk and of an interface
 * share one rng_elem: an attribute is required only if every definition of
 * the name requires it.
 */
static struct rng_attr *add_attr(struct rng_elem *e, const char *name, int required)
{
	struct rng_attr *a = NULL;
	for (int i = 0; i < e->nattr && !a; i++)
		if (e->attr[i].name == name)
			a = &e->attr[i];
	if (!a) {
		if (grow(&e->attr, &e->capattr, e->nattr, sizeof(*e->attr)))
			return NULL;
		a = &e->attr[e->nattr++];
		memset(a, 0, sizeof(*a));
		a->name = name;
	}
	if (required && a->last_def != e->ndefs) {
		a->nreq++;
		a->last_def = e->ndefs;
	}
	return a;
}

static void settle_required(struct rng_model *m)
{
	for (int i = 0; i < m->nelems; i++)
		for (int j = 0; j < m->elems[i]->nattr; j++)
			m->elems[i]->attr[j].required = m->elems[i]->attr[j].nreq == m->elems[i]->ndefs;
}

static int is_rng(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST RNG_NS) &&
	       (!name || xmlStrEqual(n->name, BAD_CAST name));
}

static int scan(struct rng_model *m, xmlNodePtr grammar, struct rng_elem *cur,
                struct rng_attr *ca, xmlNodePtr pat, int opt, int rep, int depth);

static int scan_ref(struct rng_model *m, xmlNodePtr grammar, struct rng_elem *cur,
                    struct rng_attr *ca, const char *name, int opt, int rep, int depth)
{
	int found = 0;
	for (xmlNodePtr d = grammar ? grammar->children : NULL; d; d = d->next) {
		if (!is_rng(d, "define") || prop(m, d, "name", NULL) != name)
			continue;
		found = 1;
		int r = scan(m, grammar, cur, ca, d, opt, rep, depth + 1);
		if (r)
			return r;
	}
	if (!found)
		m->open = 1;
	return 0;
}

static int scan_one(struct rng_model *m, xmlNodePtr grammar, struct rng_elem *cur,
                    struct rng_attr *ca, xmlNodePtr c, int opt, int rep, int depth)
{
	const char *k = (const char *)c->name;
	if (!strcmp(k, "element")) {
		const char *name = prop(m, c, "name", NULL);
		if (!name || ca) {           /* name classes are beyond this model */
			m->open = 1;
			return 0;
		}
		struct rng_elem *e = elem_get(m, name);
		if (!e || add_child(cur, e, rep, !opt))
			return -ENOMEM;
		if (c->_private)             /* each definition once: refs may reach it again */
			return 0;
		c->_private = c;
		e->ndefs++;
		/* kx:any: free-form content (name classes) that the walk leaves to libxml2. */
		if (prop(m, c, "any", KX_NS)) {
			e->any = 1;
			return 0;
		}
		return scan(m, grammar, e, NULL, c, 0, 0, depth + 1);
	}
	if (!strcmp(k, "attribute")) {
		const char *name = prop(m, c, "name", NULL);
		if (!name || ca) {
			m->open = 1;
			return 0;
		}
		struct rng_attr *a = add_attr(cur, name, !opt);
		if (!a)
			return -ENOMEM;
		const char *pattern = a->pattern, *type = a->type;
		a->pattern = a->type = a->expect = NULL;
		int r = scan(m, grammar, cur, a, c, 0, 0, depth + 1);
		/*
		 * Same element name, different value syntax (<target dev> of a disk
		 * and of an interface): the model cannot tell them apart, so it
		 * leaves the value to libxml2.
		 */
		if (a->seen && (a->loose || pattern != a->pattern || type != a->type)) {
			a->loose = 1;
			a->pattern = a->type = a->expect = NULL;
		}
		a->seen = 1;
		return r;
	}
	if (!strcmp(k, "optional") || !strcmp(k, "choice"))
		return scan(m, grammar, cur, ca, c, 1, rep, depth + 1);
	if (!strcmp(k, "zeroOrMore"))
		return scan(m, grammar, cur, ca, c, 1, 1, depth + 1);
	if (!strcmp(k, "oneOrMore"))
		return scan(m, grammar, cur, ca, c, opt, 1, depth + 1);
	if (!strcmp(k, "group") || !strcmp(k, "interleave") || !strcmp(k, "div") || !strcmp(k, "list"))
		return scan(m, grammar, cur, ca, c, opt, rep, depth + 1);
	if (!strcmp(k, "mixed")) {
		cur->text = 1;
		return scan(m, grammar, cur, ca, c, opt, rep, depth + 1);
	}
	if (!strcmp(k, "ref"))
		return scan_ref(m, grammar, cur, ca, prop(m, c, "name", NULL), opt, rep, depth);
	if (!strcmp(k, "text")) {
		if (!ca)
			cur->text = 1;
		return 0;
	}
	if (!strcmp(k, "data")) {
		const char *type = prop(m, c, "type", NULL), *expect = prop(m, c, "expect", KX_NS);
		if (ca) {
			ca->type = type;
			ca->expect = expect;
			return scan(m, grammar, cur, ca, c, opt, rep, depth + 1);   /* its <param>s */
		} else {
			cur->text = 1;
			cur->type = type;
			cur->expect = expect;
		}
		return 0;
	}
	if (!strcmp(k, "value")) {
		if (!ca)
			cur->text = 1;
		return add_value(m, ca ? &ca->values : &cur->values, c);
	}
	if (!strcmp(k, "param")) {
		xmlChar *pn = xmlGetNoNsProp(c, BAD_CAST "name");
		if (ca && pn && xmlStrEqual(pn, BAD_CAST "pattern")) {
			char *t = kxc_text(c);
			ca->pattern = t ? intern(m, BAD_CAST t) : NULL;
			free(t);
		}
		xmlFree(pn);
		return 0;
	}
	if (!strcmp(k, "empty") || !strcmp(k, "notAllowed") ||
	    !strcmp(k, "except"))
		return 0;
	m->open = 1;                         /* parentRef, externalRef, include, name classes */
	return 0;
}

static int scan(struct rng_model *m, xmlNodePtr grammar, struct rng_elem *cur,
                struct rng_attr *ca, xmlNodePtr pat, int opt, int rep, int depth)
{
	if (depth > RNG_MAX_DEPTH) {
		m->open = 1;
		return 0;
	}
	for (xmlNodePtr c = pat->children; c; c = c->next) {
		if (!is_rng(c, NULL))
			continue;
		int r = scan_one(m, grammar, cur, ca, c, opt, rep, depth);
		if (r)
			return r;
	}
	return 0;
}

/* scan_one marks element patterns it has read; leave the caller's doc as it was. */
static void unmark(xmlNodePtr n)
{
	for (; n; n = n->next) {
		n->_private = NULL;
		if (n->type == XML_ELEMENT_NODE)
			unmark(n->children);
	}
}

int rng_model_build(struct rng_model *m, xmlDocPtr rng)
{
	memset(m, 0, sizeof(*m));
	m->dict = xmlDictCreate();
	if (!m->dict)
		return -ENOMEM;
	m->root.name = "";
	xmlNodePtr top = xmlDocGetRootElement(rng);
	if (!top)
		return -EINVAL;
	int r;
	if (is_rng(top, "grammar")) {
		r = 0;
		for (xmlNodePtr s = top->children; s && !r; s = s->next)
			if (is_rng(s, "start"))
				r = scan(m, top, &m->root, NULL, s, 0, 0, 0);
	} else {
		r = scan_one(m, NULL, &m->root, NULL, top, 0, 0, 0);
	}
	unmark(top);
	settle_required(m);
	return r;
}

static void elem_free(struct rng_elem *e)
{
	for (int i = 0; i < e->nattr; i++)
		free(e->attr[i].values.v);
	free(e->attr);
	free(e->child);
	free(e->repeat);
	free(e->required);
	free(e->values.v);
}

void rng_model_free(struct rng_model *m)
{
	for (int i = 0; i < m->nelems; i++) {
		elem_free(m->elems[i]);
		free(m->elems[i]);
	}
	free(m->elems);
	elem_free(&m->root);
	if (m->dict)
		xmlDictFree(m->dict);
	memset(m, 0, sizeof(*m));
}

const struct rng_elem *rng_model_find(const struct rng_model *m, const char *name)
{
	for (int i = 0; i < m->nelems; i++)
		if (!strcmp(m->elems[i]->name, name))
			return m->elems[i];
	return NULL;
}

const struct rng_attr *rng_elem_attr(const struct rng_elem *e, const char *name)
{
	for (int i = 0; i < e->nattr; i++)
		if (!strcmp(e->attr[i].name, name))
			return &e->attr[i];
	return NULL;
}
