/* Network apps: ping, a UDP echo server, a UDP throughput sender/receiver, and hostile-frontend probes (docs/network.md). */
#include "apps.h"
#include "net.h"
#include "netfront.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "kstring.h"
#include "sched.h"
#include "smp.h"

#define xen_mb() mb()
#define xen_wmb() barrier()
#define xen_rmb() barrier()
#define rmb() barrier()
#define wmb() barrier()
#include <xen/io/ring.h>
#include <xen/io/netif.h>
#include <kxen/netstream.h>

static int arg_ip(const char *app, const char *s, uint32_t *ip)
{
	if (net_parse_ip(s, ip)) {
		printk("%s: '%s' is not an IPv4 address\n", app, s);
		return -1;
	}
	return 0;
}

static int arg_ul(const char *app, const char *s, unsigned long *v)
{
	if (parse_ulong(s, v)) {
		printk("%s: '%s' is not a number\n", app, s);
		return -1;
	}
	return 0;
}

/* ping [ip=A/N] DST [COUNT] [INTERVAL_MS] [SIZE] */
int app_ping(int argc, char **argv)
{
	unsigned long count = 5, interval = 200, size = 56;
	uint64_t min = ~0ULL, max = 0, sum = 0;
	unsigned ok = 0;
	uint32_t dst;
	char b[16];

	if (net_up(&argc, &argv))
		return 1;
	if (argc < 2 || arg_ip("ping", argv[1], &dst) || (argc > 2 && arg_ul("ping", argv[2], &count)) ||
	    (argc > 3 && arg_ul("ping", argv[3], &interval)) || (argc > 4 && arg_ul("ping", argv[4], &size))) {
		printk("ping: usage: ping [ip=A.B.C.D/N] DST [COUNT] [INTERVAL_MS] [SIZE]\n");
		return 1;
	}
	for (unsigned long i = 1; i <= count; i++) {
		uint64_t rtt;
		int rc = net_ping(dst, (uint16_t)i, (unsigned)size, NSEC_PER_SEC, &rtt);

		if (rc) {
			printk("ping: no reply from %s seq=%lu (%d)\n", net_fmt_ip(dst, b), i, rc);
		} else {
			ok++;
			sum += rtt;
			min = MIN(min, rtt);
			max = MAX(max, rtt);
			printk("ping: reply from %s seq=%lu time=%lu us\n", net_fmt_ip(dst, b), i,
			       (unsigned long)(rtt / 1000));
		}
		if (i < count)
			msleep(interval);
	}
	printk("ping: %u/%lu replies from %s, rtt min/avg/max %lu/%lu/%lu us\n", ok, count, net_fmt_ip(dst, b),
	       ok ? (unsigned long)(min / 1000) : 0, ok ? (unsigned long)(sum / ok / 1000) : 0,
	       (unsigned long)(max / 1000));
	return ok == count ? 0 : 1;
}

/* udp-echo [ip=A/N] PORT [COUNT]: answers each datagram with the same bytes; COUNT 0 = forever. */
int app_udp_echo(int argc, char **argv)
{
	static struct udp_dgram d;
	static struct udp_sock s;
	unsigned long port, count = 0;
	char b[16];

	if (net_up(&argc, &argv))
		return 1;
	if (argc < 2 || arg_ul("udp-echo", argv[1], &port) || port == 0 || port > 65535 ||
	    (argc > 2 && arg_ul("udp-echo", argv[2], &count))) {
		printk("udp-echo: usage: udp-echo [ip=A.B.C.D/N] PORT [COUNT]\n");
		return 1;
	}
	if (net_udp_bind(&s, (uint16_t)port, NULL))
		return 1;
	printk("udp-echo: listening on %s:%lu\n", net_fmt_ip(net_cfg.ip, b), port);
	for (unsigned long n = 0; !count || n < count;) {
		if (net_udp_recv(&s, &d, 10 * NSEC_PER_SEC))
			continue;
		n++;
		printk("udp-echo: %u bytes from %s:%u\n", d.len, net_fmt_ip(d.src, b), d.sport);
		net_udp_sendto((uint16_t)port, d.src, d.sport, d.data, d.len);
	}
	printk("udp-echo: done\n");
	return 0;
}

/* udp-send [ip=A/N] DST PORT MBYTES [SIZE]: sends as fast as the ring allows; every datagram is checkable (kxen/netstream.h). */
int app_udp_send(int argc, char **argv)
{
	static uint8_t pay[UDP_MAX_PAYLOAD];
	unsigned long port, mb, size = UDP_MAX_PAYLOAD;
	uint64_t total, sent = 0, t0, t1;
	struct netfront_stats st;
	uint32_t dst, seq = 0, id;
	char b[16];

	if (net_up(&argc, &argv))
		return 1;
	if (argc < 4 || arg_ip("udp-send", argv[1], &dst) || arg_ul("udp-send", argv[2], &port) ||
	    arg_ul("udp-send", argv[3], &mb) || (argc > 4 && arg_ul("udp-send", argv[4], &size)) ||
	    size < NS_HDR || size > UDP_MAX_PAYLOAD || port == 0 || port > 65535) {
		printk("udp-send: usage: udp-send [ip=A.B.C.D/N] DST PORT MBYTES [SIZE %u..%u]\n", NS_HDR,
		       UDP_MAX_PAYLOAD);
		return 1;
	}
	total = (uint64_t)mb << 20;
	/* Tells this stream from a late datagram of an earlier one (same addresses and port). */
	id = (uint32_t)clock_now_ns() ^ net_cfg.mac[5] << 24;
	/* The first datagram resolves the peer (ARP) before the clock starts. */
	ns_fill(pay, (unsigned)size, id, NS_PROBE);
	if (net_udp_sendto(4000, dst, (uint16_t)port, pay, (unsigned)size)) {
		printk("udp-send: cannot reach %s\n", net_fmt_ip(dst, b));
		return 1;
	}
	msleep(50);
	t0 = clock_now_ns();
	while (sent < total) {
		int rc;

		ns_fill(pay, (unsigned)size, id, seq);
		rc = net_udp_sendto(4000, dst, (uint16_t)port, pay, (unsigned)size);
		if (rc) {
			netfront_get_stats(&st);
			printk("udp-send: send of datagram %u failed: %d (%lu tx buffer waits timed out)\n", seq, rc,
			       (unsigned long)st.tx_stalls);
			return 1;
		}
		seq++;
		sent += size;
	}
	t1 = clock_now_ns();
	netfront_get_stats(&st);
	printk("udp-send: %u datagrams of %lu bytes, %lu KiB in %lu ms: %lu Mbit/s, %lu pkt/s, %lu notifies\n",
	       seq, size, (unsigned long)(sent >> 10), (unsigned long)((t1 - t0) / 1000000),
	       (unsigned long)(sent * 8 * 1000 / (t1 - t0)), (unsigned long)((uint64_t)seq * 1000000000 / (t1 - t0)),
	       (unsigned long)st.notifies);
	ns_fill_end(pay, id, seq);
	for (int i = 0; i < 5; i++) {
		msleep(20);
		net_udp_sendto(4000, dst, (uint16_t)port, pay, NS_HDR);
	}
	printk("udp-send: done\n");
	sched_print_stats("udp-send");
	msleep(500);   /* a benchmark reads our exit counters before we power off */
	return 0;
}

static struct {
	struct ns_rx r;
	uint64_t first_ns, last_ns;
	struct waitq wq;
} tp;

static void tp_rx(struct udp_sock *s, uint32_t src, uint16_t sport, const uint8_t *data, unsigned len)
{
	if (ns_rx_account(&tp.r, data, len)) {
		tp.last_ns = clock_now_ns();
		if (tp.r.pkts == 1)
			tp.first_ns = tp.last_ns;
	}
	if (tp.r.end)
		wake_up(&tp.wq);
}

/*
 * udp-recv [ip=A/N] PORT [SECONDS]: checks a udp-send stream until its end marker (or SECONDS, 120):
 * every datagram's content, order and stream. Exits 0 only for an ended stream with nothing corrupt,
 * duplicated or reordered (UDP may lose datagrams: they are reported as lost).
 */
int app_udp_recv(int argc, char **argv)
{
	static struct udp_sock s;
	unsigned long port, secs = 120;
	uint64_t dt, limit;
	const struct ns_rx *r = &tp.r;
	bool ended, clean;

	if (net_up(&argc, &argv))
		return 1;
	if (argc < 2 || arg_ul("udp-recv", argv[1], &port) || port == 0 || port > 65535 ||
	    (argc > 2 && arg_ul("udp-recv", argv[2], &secs))) {
		printk("udp-recv: usage: udp-recv [ip=A.B.C.D/N] PORT [SECONDS]\n");
		return 1;
	}
	if (net_udp_bind(&s, (uint16_t)port, tp_rx))
		return 1;
	printk("udp-recv: listening on port %lu\n", port);
	limit = (uint64_t)secs * NSEC_PER_SEC;
	ended = wait_event_timeout(&tp.wq, tp.r.end, limit) == 0;
	dt = tp.last_ns > tp.first_ns ? tp.last_ns - tp.first_ns : 1;
	clean = !r->bad && !r->ooo;
	if (!ended)
		printk("udp-recv: no end marker within %lu s (the sender stopped?): got %lu datagrams, "
		       "%lu bad, %lu out of order, %lu foreign\n", secs, (unsigned long)r->pkts,
		       (unsigned long)r->bad, (unsigned long)r->ooo, (unsigned long)r->foreign);
	else
		printk("udp-recv: got %lu of %u datagrams, %lu KiB in %lu ms: %lu Mbit/s, %lu pkt/s, lost %ld, "
		       "bad %lu, out of order %lu, foreign %lu\n", (unsigned long)r->pkts, r->expected,
		       (unsigned long)(r->bytes >> 10), (unsigned long)(dt / 1000000),
		       (unsigned long)(r->bytes * 8 * 1000 / dt), (unsigned long)(r->pkts * 1000000000 / dt),
		       (long)r->expected - (long)r->pkts, (unsigned long)r->bad, (unsigned long)r->ooo,
		       (unsigned long)r->foreign);
	sched_print_stats("udp-recv");
	msleep(500);   /* a benchmark reads our exit counters before we power off */
	return ended && clean ? 0 : 1;
}

/*
 * net-hostile [ip=A/N] MODE [DST]: a frontend breaking the rules on purpose.
 * spoof DST: 20 frames with a forged source MAC, then a ping to DST that must work.
 * badgref DST: a tx request naming a grant we never made; expects an error response, then ping DST.
 * oversize: a slot crossing its page (offset 4000, size 1000): the backend must cut us off.
 * ringidx: req_prod pushed 1000 ahead: the backend must cut us off.
 * slots: a packet of 19 more_data slots: the backend must cut us off.
 */
int app_net_hostile(int argc, char **argv)
{
	struct netfront_stats st;
	uint32_t dst = 0;
	uint64_t rtt;
	const char *mode;

	if (net_up(&argc, &argv))
		return 1;
	if (argc < 2) {
		printk("net-hostile: usage: net-hostile [ip=A.B.C.D/N] spoof|badgref|oversize|ringidx|slots [DST]\n");
		return 1;
	}
	mode = argv[1];
	if (argc > 2 && arg_ip("net-hostile", argv[2], &dst))
		return 1;
	if (!strcmp(mode, "spoof") && dst) {
		uint8_t mac[6];

		if (net_arp_resolve(dst, mac, 3 * NSEC_PER_SEC))
			return 1;
		for (int i = 0; i < 20; i++) {
			uint8_t *f = netfront_tx_buf(NSEC_PER_SEC);

			memcpy(f, mac, 6);
			memcpy(f + 6, "\x00\x16\x3e\xde\xad\x01", 6);
			net_put16(f + 12, ETH_P_IP);
			memset(f + 14, 0, 46);
			netfront_tx_send(f, 60);
		}
		msleep(200);
		if (net_ping(dst, 1, 56, NSEC_PER_SEC, &rtt)) {
			printk("net-hostile: spoof: FAIL ping after forged frames\n");
			return 1;
		}
		printk("net-hostile: spoof: sent 20 forged frames; ping still answered\n");
		return 0;
	}
	if (!strcmp(mode, "badgref") && dst) {
		netfront_tx_raw(0xfffff, 0, 0, 60);
		msleep(300);
		netfront_get_stats(&st);
		if (net_ping(dst, 1, 56, NSEC_PER_SEC, &rtt) || !netfront_connected()) {
			printk("net-hostile: badgref: FAIL the vif no longer works\n");
			return 1;
		}
		/* The error response is reaped by the netfront thread, counted in tx_errors. */
		netfront_get_stats(&st);
		printk("net-hostile: badgref: %lu tx error responses; ping still answered\n", (unsigned long)st.tx_errors);
		return st.tx_errors ? 0 : 1;
	}
	if (!strcmp(mode, "oversize"))
		netfront_tx_raw(netfront_tx_gref(0), 4000, 0, 1000);
	else if (!strcmp(mode, "ringidx")) {
		struct netif_tx_sring *s = netfront_tx_sring();

		s->req_prod += 1000;
		netfront_notify();
	} else if (!strcmp(mode, "slots")) {
		for (int i = 0; i < 19; i++)
			netfront_tx_raw(netfront_tx_gref(1), 0, i < 18 ? NETTXF_more_data : 0, i ? 10 : 1000);
	} else {
		printk("net-hostile: unknown mode '%s' (or DST missing)\n", mode);
		return 1;
	}
	for (int i = 0; i < 50 && netfront_connected(); i++)
		msleep(100);
	printk("net-hostile: %s: %s\n", mode, netfront_connected() ? "FAIL still connected" : "backend cut us off");
	return netfront_connected() ? 1 : 0;
}
