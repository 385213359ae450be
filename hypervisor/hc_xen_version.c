/* __HYPERVISOR_xen_version: version, extraversion, capabilities, features, page size, handle. */
#include <errno.h>
#include <string.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include <xen/version.h>
#include <xen/features.h>

long hc_xen_version(struct vcpu *v, const uint64_t a[5])
{
	const struct guest_mem *m = &v->d->mem;
	uint64_t arg = a[1];

	switch (a[0]) {
	case XENVER_version:
		return (KXEN_VERSION_MAJOR << 16) | KXEN_VERSION_MINOR;
	case XENVER_extraversion: {
		xen_extraversion_t x = { 0 };
		strncpy(x, KXEN_EXTRAVERSION, sizeof(x) - 1);
		return gmem_write(m, arg, x, sizeof(x));
	}
	case XENVER_compile_info: {
		xen_compile_info_t ci;
		memset(&ci, 0, sizeof(ci));
		strcpy(ci.compiler, "kxen");
		strcpy(ci.compile_by, "kxen");
		strcpy(ci.compile_domain, "kxen");
		strcpy(ci.compile_date, __DATE__);
		return gmem_write(m, arg, &ci, sizeof(ci));
	}
	case XENVER_capabilities: {
		xen_capabilities_info_t c = { 0 };
		strcpy(c, "xen-3.0-x86_64");
		return gmem_write(m, arg, c, sizeof(c));
	}
	case XENVER_changeset: {
		xen_changeset_info_t c = { 0 };
		strcpy(c, "kxen");
		return gmem_write(m, arg, c, sizeof(c));
	}
	case XENVER_platform_parameters: {
		xen_platform_parameters_t p = { .virt_start = HYPERVISOR_VIRT_START };
		return gmem_write(m, arg, &p, sizeof(p));
	}
	case XENVER_get_features: {
		xen_feature_info_t fi;
		int rc = gmem_read(m, &fi, arg, sizeof(fi));
		if (rc)
			return rc;
		if (fi.submap_idx == 0)
			fi.submap = (1u << XENFEAT_auto_translated_physmap) |
			            (1u << XENFEAT_writable_page_tables);
		else
			fi.submap = 0;
		return gmem_write(m, arg, &fi, sizeof(fi));
	}
	case XENVER_pagesize:
		return KXEN_PAGE_SIZE;
	case XENVER_guest_handle: {
		xen_domain_handle_t h;
		memcpy(h, v->d->uuid, sizeof(h));
		return gmem_write(m, arg, h, sizeof(h));
	}
	case XENVER_commandline:
		return -EPERM;   /* the hypervisor's command line is dom0's business */
	default:
		return -ENOSYS;
	}
}
