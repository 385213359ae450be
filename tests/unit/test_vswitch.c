/* CUnit tests of kxen-backd's learning switch: learning, flooding, ageing, anti-spoofing, port removal, the table cap. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"
#include "vswitch.h"

static struct vswitch *list;

static void mac_of(uint8_t *m, unsigned n)
{
	const uint8_t base[6] = { 0x00, 0x16, 0x3e, 0, 0, 0 };

	memcpy(m, base, 6);
	m[3] = (uint8_t)(n >> 16);
	m[4] = (uint8_t)(n >> 8);
	m[5] = (uint8_t)n;
}

static void port_init(struct vswitch_port *p, unsigned n, bool check)
{
	memset(p, 0, sizeof(*p));
	mac_of(p->mac, n);
	p->check_src = check;
}

static void frame(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void test_names(void)
{
	CU_ASSERT_EQUAL(vswitch__name_ok("br0"), 0);
	CU_ASSERT_EQUAL(vswitch__name_ok("xen-br_1.2"), 0);
	CU_ASSERT_EQUAL(vswitch__name_ok(""), -EINVAL);
	CU_ASSERT_EQUAL(vswitch__name_ok("a/b"), -EINVAL);
	CU_ASSERT_EQUAL(vswitch__name_ok(NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(vswitch__get(&list, "bad name"));
	struct vswitch *a = vswitch__get(&list, "br0"), *b = vswitch__get(&list, "br1");
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_EQUAL(vswitch__get(&list, "br0"), a);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	vswitch__put(&list, a);
	vswitch__put(&list, b);
	CU_ASSERT_PTR_NULL(list);
}

static void test_learn_and_flood(void)
{
	struct vswitch *sw = vswitch__get(&list, "br0");
	struct vswitch_port p[3], *out[8];
	uint8_t f[60];

	for (unsigned i = 0; i < 3; i++) {
		port_init(&p[i], i + 1, true);
		vswitch__port_add(sw, &p[i]);
	}
	/* Unknown destination: flooded to every other port. */
	frame(f, p[1].mac, p[0].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[0], f, 60, 0, out, 8), 2);
	/* p0 is learnt now: p1 answering goes to p0 only. */
	frame(f, p[0].mac, p[1].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[1], f, 60, 1, out, 8), 1);
	CU_ASSERT_PTR_EQUAL(out[0], &p[0]);
	/* Both learnt: unicast p0 -> p1. */
	frame(f, p[1].mac, p[0].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[0], f, 60, 2, out, 8), 1);
	CU_ASSERT_PTR_EQUAL(out[0], &p[1]);
	/* Broadcast: everyone else. */
	frame(f, bcast, p[2].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[2], f, 60, 3, out, 8), 2);
	/* A frame for the sender's own port goes nowhere. */
	frame(f, p[0].mac, p[0].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[0], f, 60, 4, out, 8), 0);
	/* Ageing: after VSWITCH_AGE_MS p1 is unknown again and flooded. */
	frame(f, p[1].mac, p[0].mac);
	CU_ASSERT_EQUAL(vswitch__route(&p[0], f, 60, 2 + VSWITCH_AGE_MS, out, 8), 2);
	CU_ASSERT_PTR_NULL(vswitch__lookup(sw, p[1].mac, 2 + VSWITCH_AGE_MS));
	for (unsigned i = 0; i < 3; i++)
		vswitch__port_del(&p[i]);
	vswitch__put(&list, sw);
}

static void test_spoof_and_runts(void)
{
	struct vswitch *sw = vswitch__get(&list, "br0");
	struct vswitch_port a, b, tap, *out[8];
	uint8_t f[60], forged[6], mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };

	port_init(&a, 1, true);
	port_init(&b, 2, true);
	port_init(&tap, 99, false);
	vswitch__port_add(sw, &a);
	vswitch__port_add(sw, &b);
	vswitch__port_add(sw, &tap);
	mac_of(forged, 2);   /* a's attempt to pass as b */
	frame(f, bcast, forged);
	CU_ASSERT_EQUAL(vswitch__route(&a, f, 60, 0, out, 8), -EPERM);
	CU_ASSERT_EQUAL(a.spoofed, 1);
	CU_ASSERT_PTR_NULL(vswitch__lookup(sw, forged, 0));   /* nothing learnt from it */
	/* Multicast source, runt: refused before learning. */
	frame(f, bcast, mcast);
	CU_ASSERT_EQUAL(vswitch__route(&tap, f, 60, 0, out, 8), -EINVAL);
	CU_ASSERT_EQUAL(vswitch__route(&a, f, 13, 0, out, 8), -EINVAL);
	/* The host port may present any MAC (it is dom0). */
	mac_of(forged, 12345);
	frame(f, bcast, forged);
	CU_ASSERT_EQUAL(vswitch__route(&tap, f, 60, 0, out, 8), 2);
	CU_ASSERT_PTR_EQUAL(vswitch__lookup(sw, forged, 0), &tap);
	/* Removing a port forgets what was learnt on it. */
	vswitch__port_del(&tap);
	CU_ASSERT_PTR_NULL(vswitch__lookup(sw, forged, 0));
	CU_ASSERT_EQUAL(sw->nports, 2);
	vswitch__port_del(&a);
	vswitch__port_del(&b);
	vswitch__put(&list, sw);
	CU_ASSERT_PTR_NULL(list);
}

static void test_table_cap(void)
{
	struct vswitch *sw = vswitch__get(&list, "br0");
	struct vswitch_port tap, a, *out[8];
	uint8_t f[60], m[6];

	port_init(&tap, 1, false);
	port_init(&a, 2, true);
	vswitch__port_add(sw, &tap);
	vswitch__port_add(sw, &a);
	/* A host port presenting far more MACs than the cap: the table stops growing. */
	for (unsigned i = 0; i < 3 * VSWITCH_FDB_MAX; i++) {
		mac_of(m, 100000 + i);
		frame(f, bcast, m);
		vswitch__route(&tap, f, 60, 0, out, 8);
	}
	CU_ASSERT_EQUAL(sw->nfdb, VSWITCH_FDB_MAX);
	/* Once they age out, new entries fit again. */
	frame(f, bcast, a.mac);
	vswitch__route(&a, f, 60, VSWITCH_AGE_MS + 1, out, 8);
	CU_ASSERT_PTR_EQUAL(vswitch__lookup(sw, a.mac, VSWITCH_AGE_MS + 1), &a);
	CU_ASSERT_EQUAL(sw->nfdb, 1);
	vswitch__port_del(&tap);
	vswitch__port_del(&a);
	vswitch__put(&list, sw);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "bridge names", test_names },
		{ "learning, flooding, ageing", test_learn_and_flood },
		{ "anti-spoofing, runts, port removal", test_spoof_and_runts },
		{ "MAC table cap", test_table_cap },
	};

	return cunit_run("vswitch", tests, CUNIT_COUNT(tests), NULL, NULL);
}
