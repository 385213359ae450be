/* Name-level checks of a document against the schema model, which libxml2 reports imprecisely. */
#include <config.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <libxml/xmlregexp.h>
#include "config_int.h"

struct chk {
	const char *file;
	char *err;
	size_t errlen;
};

/* An element in a namespace is none of ours, whatever its local name. */
static void qname(xmlNodePtr n, char *buf, size_t len)
{
	if (n->ns && n->ns->prefix)
		snprintf(buf, len, "%s:%s", (const char *)n->ns->prefix, (const char *)n->name);
	else
		snprintf(buf, len, "%s", (const char *)n->name);
}

static int find_child(const struct rng_elem *e, xmlNodePtr n)
{
	if (n->ns)
		return -1;
	for (int i = 0; i < e->nchild; i++)
		if (xmlStrEqual(n->name, BAD_CAST e->child[i]->name))
			return i;
	return -1;
}

static int blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!isspace(*s))
			return 0;
	return 1;
}

/* Whether an attribute value is one the schema allows: its <value>s, else its pattern. */
static int value_ok(const struct rng_attr *a, const xmlChar *val)
{
	if (a->values.n) {
		for (int j = 0; j < a->values.n; j++)
			if (xmlStrEqual(val, BAD_CAST a->values.v[j]))
				return 1;
		return 0;
	}
	if (!a->pattern)
		return 1;
	xmlRegexpPtr re = xmlRegexpCompile(BAD_CAST a->pattern);
	if (!re)
		return 1;                       /* libxml2's validator still has the last word */
	int ok = xmlRegexpExec(re, val) == 1;
	xmlRegFreeRegexp(re);
	return ok;
}

static int check_attrs(struct chk *c, const struct rng_elem *e, xmlNodePtr n)
{
	for (xmlAttrPtr a = n->properties; a; a = a->next) {
		char name[128];
		if (a->ns && a->ns->prefix)
			snprintf(name, sizeof(name), "%s:%s", (const char *)a->ns->prefix, (const char *)a->name);
		else
			snprintf(name, sizeof(name), "%s", (const char *)a->name);
		const struct rng_attr *ra = a->ns ? NULL : rng_elem_attr(e, (const char *)a->name);
		if (!ra) {
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': unknown attribute '%s'", c->file,
			         xmlGetLineNo(n), (const char *)n->name, name);
			return 1;
		}
		xmlChar *val = xmlNodeListGetString(n->doc, a->children, 1);
		int ok = val && value_ok(ra, val);
		if (!ok) {
			char v[64], expect[256];
			kxc_shorten(val ? (const char *)val : "", v, sizeof(v));
			rng_describe(&ra->values, ra->type, ra->expect, expect, sizeof(expect));
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': invalid value '%s' for attribute "
			         "'%s'%s%s%s", c->file, xmlGetLineNo(n), (const char *)n->name, v, name,
			         *expect ? " (expected " : "", expect, *expect ? ")" : "");
		}
		xmlFree(val);
		if (!ok)
			return 1;
	}
	for (int i = 0; i < e->nattr; i++)
		if (e->attr[i].required && !xmlHasNsProp(n, BAD_CAST e->attr[i].name, NULL)) {
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': required attribute '%s' is missing",
			         c->file, xmlGetLineNo(n), (const char *)n->name, e->attr[i].name);
			return 1;
		}
	return 0;
}

static long newlines(const char *from, const char *to)
{
	long n = 0;
	for (; from < to && *from; from++)
		n += *from == '\n';
	return n;
}

/* libxml2 numbers a text node by the line it ends on; we want where its first word is. */
static long text_line(xmlNodePtr k, const char *word)
{
	const char *t = (const char *)k->content;
	return xmlGetLineNo(k) - newlines(t, t + strlen(t)) + newlines(t, word);
}

static int check_elem(struct chk *c, const struct rng_elem *e, xmlNodePtr n);

static int check_children(struct chk *c, const struct rng_elem *e, xmlNodePtr n)
{
	for (xmlNodePtr k = n->children; k; k = k->next) {
		if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) && !e->text &&
		    !blank(k->content)) {
			char v[64], t[64];
			const char *s = (const char *)k->content;
			while (isspace((unsigned char)*s))
				s++;
			size_t l = strcspn(s, "\n");
			snprintf(t, sizeof(t), "%.*s", (int)(l < 60 ? l : 60), s);
			kxc_shorten(t, v, sizeof(v));
			/* Blame the parent, on the line where the text is. */
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': unexpected text '%s'", c->file,
			         text_line(k, s), (const char *)n->name, v);
			return 1;
		}
		if (k->type != XML_ELEMENT_NODE)
			continue;
		int i = find_child(e, k);
		if (i < 0) {
			char q[128];
			qname(k, q, sizeof(q));
			if (n->type == XML_DOCUMENT_NODE) {
				snprintf(c->err, c->errlen, "%s:%ld: element '%s': unknown root element, expected <%s>",
				         c->file, xmlGetLineNo(k), q, e->nchild ? e->child[0]->name : "?");
				return 1;
			}
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': unknown element in <%s>", c->file,
			         xmlGetLineNo(k), q, (const char *)n->name);
			return 1;
		}
		if (!e->repeat[i])
			for (xmlNodePtr p = n->children; p != k; p = p->next)
				if (p->type == XML_ELEMENT_NODE && !p->ns && xmlStrEqual(p->name, k->name)) {
					char line[32];
					snprintf(line, sizeof(line), "%ld", xmlGetLineNo(p));
					snprintf(c->err, c->errlen,
					         "%s:%ld: element '%s': may appear only once in <%s> (first on line %s)",
					         c->file, xmlGetLineNo(k), (const char *)k->name,
					         (const char *)n->name, line);
					return 1;
				}
		if (check_elem(c, e->child[i], k))
			return 1;
	}
	/* After the children, so a misspelt element is named before the one it should have been. */
	for (int i = 0; i < e->nchild && n->type != XML_DOCUMENT_NODE; i++) {
		if (!e->required[i])
			continue;
		xmlNodePtr k = n->children;
		while (k && !(k->type == XML_ELEMENT_NODE && !k->ns &&
		              xmlStrEqual(k->name, BAD_CAST e->child[i]->name)))
			k = k->next;
		if (!k) {
			snprintf(c->err, c->errlen, "%s:%ld: element '%s': required element '%s' is missing",
			         c->file, xmlGetLineNo(n), (const char *)n->name, e->child[i]->name);
			return 1;
		}
	}
	return 0;
}

static int check_elem(struct chk *c, const struct rng_elem *e, xmlNodePtr n)
{
	if (e->any)
		return 0;
	return check_attrs(c, e, n) || check_children(c, e, n);
}

int rng_model_check(const struct rng_model *m, xmlDocPtr doc, const char *file,
                    char *err, size_t errlen)
{
	struct chk c = { file, err, errlen };
	if (m->open)
		return 0;
	return check_children(&c, &m->root, (xmlNodePtr)doc);
}

/* XSD type names mean little to users; say what they stand for. */
static const char *type_words(const char *type)
{
	static const struct { const char *type, *words; } map[] = {
		{ "unsignedLong", "a whole number" },
		{ "unsignedInt", "a whole number" },
		{ "positiveInteger", "a whole number above zero" },
		{ "nonNegativeInteger", "a whole number" },
		{ "integer", "an integer" },
		{ "boolean", "true or false" },
	};
	for (size_t i = 0; type && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i].type))
			return map[i].words;
	return type;
}

void rng_describe(const struct rng_values *v, const char *type, const char *expect,
                  char *buf, size_t len)
{
	buf[0] = '\0';
	if (v && v->n) {
		size_t o = (size_t)snprintf(buf, len, "%s", v->n > 1 ? "one of: " : "");
		for (int i = 0; i < v->n && o < len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", v->v[i]);
		return;
	}
	if (expect)
		snprintf(buf, len, "%s", expect);
	else if (type)
		snprintf(buf, len, "%s", type_words(type));
}
