/* `hello`: greets and reports what the guest learned from start_info and xen_version. */
#include "apps.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "smp.h"

int app_hello(int argc, char **argv)
{
	static xen_capabilities_info_t caps;
	xen_extraversion_t extra;
	struct xen_feature_info fi = { .submap_idx = 0 };
	struct mm_stats st;
	long ver, rc;

	printk("Hello from kxen guest domain\n");
	mm_get_stats(&st);
	printk("hello: nr_pages %lu (%lu MiB), free %lu KiB\n", start_info->nr_pages,
	       start_info->nr_pages >> 8, st.free_pages * 4);
	printk("hello: cmdline '%s'\n", kernel_cmdline);

	ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	if (ver < 0)
		printk("hello: xen_version failed: %ld\n", ver);
	else
		printk("hello: xen_version %ld.%ld\n", ver >> 16, ver & 0xffff);

	memset(extra, 0, sizeof(extra));
	rc = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	extra[sizeof(extra) - 1] = 0;	/* the hypervisor need not terminate it */
	printk("hello: extraversion '%s'%s\n", rc < 0 ? "" : extra, rc < 0 ? " (failed)" : "");

	memset(caps, 0, sizeof(caps));
	rc = HYPERVISOR_xen_version(XENVER_capabilities, caps);
	caps[sizeof(caps) - 1] = 0;
	printk("hello: capabilities '%s'%s\n", rc < 0 ? "" : caps, rc < 0 ? " (failed)" : "");

	rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	if (rc < 0)
		printk("hello: get_features failed: %ld\n", rc);
	else
		printk("hello: features 0x%08x, auto_translated_physmap %s\n", fi.submap,
		       (fi.submap & (1U << XENFEAT_auto_translated_physmap)) ? "yes" : "no");
	printk("hello: vcpus %u\n", smp_probe_vcpus());
	return 0;
}
