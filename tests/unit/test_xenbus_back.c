/* CUnit suite for kxen-backd's xenbus layer without xenstore or KVM: the XenbusState machine and the one rule for numeric keys. */
#include "cunit_run.h"
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "xenbus.h"

enum { UNK = XenbusStateUnknown, INIT = XenbusStateInitialising, WAIT = XenbusStateInitWait,
       INITD = XenbusStateInitialised, CONN = XenbusStateConnected, CLOSING = XenbusStateClosing,
       CLOSED = XenbusStateClosed, GONE = -1 };

static struct xenbus_state_out step(int ours, int be_key, bool online, int fe, bool connected, bool broken)
{
	struct xenbus_state_in in = { .ours = ours, .be_key = be_key, .online = online, .fe = fe,
	                              .connected = connected, .broken = broken };
	struct xenbus_state_out out;

	/* Whatever out was before, the machine sets every field. */
	memset(&out, 0xff, sizeof(out));
	xenbus_state_next(&in, &out);
	return out;
}

/* The handshake: InitWait until the frontend is ready, then connect once. */
static void test_connect(void)
{
	struct xenbus_state_out o;

	o = step(WAIT, WAIT, true, INIT, false, false);
	CU_ASSERT(o.state == WAIT && !o.connect && !o.disconnect && !o.unbreak);
	o = step(WAIT, WAIT, true, INITD, false, false);
	CU_ASSERT(o.state == WAIT && o.connect && !o.disconnect);
	o = step(WAIT, WAIT, true, CONN, false, false);   /* frontends that skip Initialised */
	CU_ASSERT(o.connect);
	/* Idempotent: connected already, or cut off, or not in InitWait: no second connect. */
	o = step(CONN, CONN, true, CONN, true, false);
	CU_ASSERT(o.state == CONN && !o.connect && !o.disconnect);
	o = step(WAIT, WAIT, true, CONN, false, true);
	CU_ASSERT(!o.connect);
	o = step(CLOSING, CLOSING, true, CONN, false, false);
	CU_ASSERT(!o.connect && o.state == CLOSING);
}

/* The frontend closes: we follow it to Closing, then Closed, releasing the connection. */
static void test_frontend_close(void)
{
	struct xenbus_state_out o;

	o = step(CONN, CONN, true, CLOSING, true, false);
	CU_ASSERT(o.state == CLOSING && o.disconnect && !o.connect);
	o = step(CLOSING, CLOSING, true, CLOSED, false, false);
	CU_ASSERT(o.state == CLOSED && !o.disconnect);
	o = step(CONN, CONN, true, CLOSED, true, false);   /* straight to Closed */
	CU_ASSERT(o.state == CLOSED && o.disconnect);
	/* Closing after Closed does not reopen us. */
	o = step(CLOSED, CLOSED, true, CLOSING, false, false);
	CU_ASSERT(o.state == CLOSED);
	/* The frontend directory vanished: let go, state unchanged. */
	o = step(CONN, CONN, true, GONE, true, false);
	CU_ASSERT(o.state == CONN && o.disconnect);
}

/* The frontend starts over (Linux's reconnect): InitWait again, a cut-off forgotten. */
static void test_reconnect(void)
{
	struct xenbus_state_out o;

	o = step(CLOSED, CLOSED, true, INIT, false, false);
	CU_ASSERT(o.state == WAIT && !o.unbreak);
	o = step(CLOSING, CLOSING, true, INIT, false, true);
	CU_ASSERT(o.state == WAIT && o.unbreak);
	/* Not while we are connected and healthy. */
	o = step(CONN, CONN, true, INIT, true, false);
	CU_ASSERT(o.state == CONN && !o.unbreak && !o.disconnect);
	/* Nor once the toolstack took the device offline. */
	o = step(CLOSED, CLOSED, false, INIT, false, false);
	CU_ASSERT(o.state == CLOSED && !o.unbreak);
}

/* xl's removal: online=0 and Closing in our state key; we close, then Closed once the frontend is done. */
static void test_toolstack_close(void)
{
	struct xenbus_state_out o;

	o = step(CONN, CLOSING, false, CONN, true, false);
	CU_ASSERT(o.state == CLOSING && o.disconnect && !o.connect);
	o = step(CLOSING, CLOSING, false, CLOSING, false, false);
	CU_ASSERT(o.state == CLOSING && !o.disconnect);
	o = step(CLOSING, CLOSING, false, CLOSED, false, false);
	CU_ASSERT(o.state == CLOSED);
	/* Only the state key, online still 1 (xl's block-detach writes both; either is enough). */
	o = step(CONN, CLOSING, true, CONN, true, false);
	CU_ASSERT(o.state == CLOSING && o.disconnect);
	/* A frontend that never started has nothing to close: straight to Closed. */
	o = step(WAIT, CLOSING, false, INIT, false, false);
	CU_ASSERT(o.state == CLOSED && !o.disconnect);
	o = step(WAIT, WAIT, false, GONE, false, false);
	CU_ASSERT(o.state == CLOSED);
	o = step(WAIT, WAIT, false, UNK, false, false);
	CU_ASSERT(o.state == CLOSED);
	/* Already Closed stays Closed, whatever the frontend does. */
	o = step(CLOSED, CLOSED, false, CONN, false, false);
	CU_ASSERT(o.state == CLOSED && !o.connect);
}

static void test_parse_ulong(void)
{
	char why[128];
	unsigned long v = 7;

	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "0", 10, &v, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "10", 10, &v, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "18446744073709551615", ULONG_MAX, &v, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(v, ULONG_MAX);
	v = 7;
	/* Out of range, naming key and value. */
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("be/ring-page-order", "11", 10, &v, why, sizeof(why)), -ERANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "be/ring-page-order"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "11"));
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "18446744073709551616", ULONG_MAX, &v, why, sizeof(why)), -ERANGE);
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "5", 0, &v, why, sizeof(why)), -ERANGE);
	CU_ASSERT_EQUAL(xenbus_state_parse_ulong("k", "4294967296", UINT32_MAX, &v, why, sizeof(why)), -ERANGE);
	/* Not strict decimal: each of the forms the three old readers disagreed on. */
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1a", "1.0", "123456789012345678901",
	                                   "99999999999999999999999999999999999999999999999999" };
	for (unsigned i = 0; i < CUNIT_COUNT(bad); i++) {
		CU_ASSERT_EQUAL(xenbus_state_parse_ulong("fe/event-channel", bad[i], ULONG_MAX, &v, why, sizeof(why)),
		                -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "fe/event-channel"));
	}
	/* A long hostile value is cut in the message, which stays bounded. */
	CU_ASSERT(strlen(why) < 100);
	CU_ASSERT_EQUAL(v, 7);   /* untouched on failure */
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "InitWait until the frontend is ready, then one connect", test_connect },
		{ "frontend Closing/Closed: we follow and let go", test_frontend_close },
		{ "frontend back at Initialising: InitWait again, cut-off forgotten", test_reconnect },
		{ "toolstack close (online 0 / Closing): Closing, then Closed", test_toolstack_close },
		{ "numeric keys: strict decimal, bounded, range-checked, key named", test_parse_ulong },
	};

	return cunit_run("xenbus backend layer", tests, CUNIT_COUNT(tests), NULL, NULL);
}
