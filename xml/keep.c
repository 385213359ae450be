/* kxconfig_format of a loaded config: the user's own document, with what kxl generated or changed filled in. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include "config_int.h"

/* The whitespace before n, so an inserted sibling gets n's indentation. */
static const xmlChar *indent_of(xmlNodePtr n)
{
	xmlNodePtr p = n->prev;
	const char *nl = p && p->type == XML_TEXT_NODE && p->content ?
		strrchr((const char *)p->content, '\n') : NULL;
	return BAD_CAST (nl ? nl : "\n");
}

/* Adds <name attr=value/> or <name>text</name> just after (or before) ref, indented like it. */
static xmlNodePtr insert_near(xmlNodePtr ref, int before, const char *name, const char *text)
{
	xmlNodePtr e = xmlNewDocNode(ref->doc, NULL, BAD_CAST name, NULL);
	xmlNodePtr ws = xmlNewDocText(ref->doc, indent_of(ref));
	if (!e || !ws) {
		xmlFreeNode(e);
		xmlFreeNode(ws);
		return NULL;
	}
	if (text)
		xmlNodeAddContent(e, BAD_CAST text);
	if (before) {
		xmlAddPrevSibling(ref, e);
		xmlAddPrevSibling(ref, ws);
	} else {
		xmlAddNextSibling(ref, e);
		xmlAddNextSibling(ref, ws);
	}
	return e;
}

static xmlNodePtr first_elem(xmlNodePtr n)
{
	for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			return k;
	return NULL;
}

/* An element's text replaced, unless it already says that (keeps the user's whitespace). */
static void set_text(xmlNodePtr n, const char *v)
{
	char *old = n ? kxc_text(n) : NULL;
	if (n && v && (!old || strcmp(old, v)))
		xmlNodeSetContent(n, BAD_CAST v);   /* escapes as needed */
	free(old);
}

static void set_attr(xmlNodePtr n, const char *name, const char *v)
{
	xmlChar *old = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
	if (n && v && (!old || strcmp((const char *)old, v)))
		xmlSetProp(n, BAD_CAST name, BAD_CAST v);
	xmlFree(old);
}

static int fill_devices(const struct kxconfig *c, xmlNodePtr devs)
{
	unsigned di = 0, ni = 0;
	for (xmlNodePtr n = devs ? devs->children : NULL; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, BAD_CAST "disk") && di < c->ndisks) {
			const struct kxconfig_disk *d = &c->disks[di++];
			/* Resolved: the saved config lives in another directory than the user's. */
			set_attr(kxc_child(n, "source"), d->block ? "dev" : "file", d->file);
		} else if (xmlStrEqual(n->name, BAD_CAST "interface") && ni < c->nnics) {
			const struct kxconfig_nic *nic = &c->nics[ni++];
			char mac[18];
			xmlNodePtr m = kxc_child(n, "mac"), first = first_elem(n);
			kxconfig_mac_format(nic->mac, mac);
			if (!m && first)
				m = insert_near(first, 1, "mac", NULL);
			else if (!m)
				m = xmlNewChild(n, NULL, BAD_CAST "mac", NULL);
			if (!m)
				return -ENOMEM;
			set_attr(m, "address", mac);
		}
	}
	return 0;
}

int kxc_format_doc(const struct kxconfig *c, FILE *f)
{
	xmlDocPtr doc = xmlCopyDoc(c->doc, 1);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, name, uuid, os;
	xmlBufferPtr buf = NULL;
	char s[37];
	int r = -ENOMEM;   /* libxml2 fails only for memory here, but for the write itself */

	if (!root)
		goto out;
	/* id is the running domain's, as in libvirt's live XML: never a stale one. */
	xmlUnsetProp(root, BAD_CAST "id");
	if (c->live_domid >= 0) {
		snprintf(s, sizeof(s), "%d", c->live_domid);
		xmlSetProp(root, BAD_CAST "id", BAD_CAST s);
	}
	name = kxc_child(root, "name");
	set_text(name, c->name);
	kxconfig_uuid_format(c->uuid, s);
	uuid = kxc_child(root, "uuid");
	if (!uuid && name && !insert_near(name, 0, "uuid", s))
		goto out;
	os = kxc_child(root, "os");
	set_text(kxc_child(os, "kernel"), c->kernel);
	set_text(kxc_child(os, "initrd"), c->initrd);
	if (fill_devices(c, kxc_child(root, "devices")))
		goto out;
	/* Without the XML declaration, as libvirt writes domain XML. */
	buf = xmlBufferCreate();
	xmlSaveCtxtPtr save = buf ? xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL) : NULL;
	if (!save)
		goto out;
	int saved = xmlSaveDoc(save, doc);
	if (xmlSaveClose(save) < 0 || saved < 0)
		goto out;
	/* libxml2 ends the last top-level node with a newline only sometimes. */
	const char *text = (const char *)xmlBufferContent(buf);
	size_t len = strlen(text);
	fputs(text, f);
	if (!len || text[len - 1] != '\n')
		fputc('\n', f);
	r = ferror(f) ? -EIO : 0;
out:
	if (buf)
		xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return r;
}
