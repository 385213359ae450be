/* The host's side of the network tests, run inside the test's network namespace: ICMP echo to a guest, and a UDP sink/source for throughput. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <kxen/netstream.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		s += (uint32_t)(b[0] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* ping DST COUNT: one echo per 100 ms, 1 s timeout each; exit 0 only if all came back. */
static int do_ping(const char *dst, int count)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), ok = 0;

	if (s < 0 || inet_pton(AF_INET, dst, &to.sin_addr) != 1) {
		perror("net_host_peer: ping socket");
		return 2;
	}
	for (int seq = 1; seq <= count; seq++) {
		uint8_t pkt[64] = { 0 }, buf[1500];
		struct icmphdr *h = (struct icmphdr *)pkt;
		double t0 = now_s();

		h->type = ICMP_ECHO;
		h->un.echo.id = htons(0x4b58);
		h->un.echo.sequence = htons((uint16_t)seq);
		h->checksum = csum(pkt, sizeof(pkt));
		sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to));
		while (now_s() - t0 < 1.0) {
			struct pollfd pfd = { .fd = s, .events = POLLIN };
			ssize_t n;

			if (poll(&pfd, 1, 100) <= 0)
				continue;
			n = recv(s, buf, sizeof(buf), 0);
			if (n >= 28) {
				struct iphdr *ip = (struct iphdr *)buf;
				struct icmphdr *r = (struct icmphdr *)(buf + ip->ihl * 4);

				if (ip->saddr == to.sin_addr.s_addr && r->type == ICMP_ECHOREPLY &&
				    ntohs(r->un.echo.sequence) == seq) {
					printf("host-ping: reply from %s seq=%d time=%.0f us\n", dst, seq, (now_s() - t0) * 1e6);
					ok++;
					break;
				}
			}
		}
		usleep(100000);
	}
	printf("host-ping: %d/%d replies from %s\n", ok, count, dst);
	return ok == count ? 0 : 1;
}

/* udp-recv PORT SECONDS: checks a guest's udp-send stream (content, order) until its end marker. */
static int do_udp_recv(int port, int secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0), rcvbuf = 8 << 20;
	struct ns_rx r = { 0 };
	double first = 0, last = 0, start = now_s();
	uint8_t buf[2048];

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("net_host_peer: udp bind");
		return 2;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	printf("host-udp-recv: listening on %d\n", port);
	fflush(stdout);
	while (!r.end && now_s() - start < secs) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf), 0);
		if (n >= 0 && ns_rx_account(&r, buf, (unsigned)n)) {
			last = now_s();
			if (r.pkts == 1)
				first = last;
		}
	}
	double dt = last > first ? last - first : 1e-9;
	printf("host-udp-recv: got %llu of %u datagrams, %llu KiB in %.0f ms: %.0f Mbit/s, %.0f pkt/s, lost %lld, "
	       "bad %llu, out of order %llu, foreign %llu%s\n", (unsigned long long)r.pkts, r.expected,
	       (unsigned long long)(r.bytes >> 10), dt * 1e3, r.bytes * 8 / dt / 1e6, r.pkts / dt,
	       (long long)r.expected - (long long)r.pkts, (unsigned long long)r.bad, (unsigned long long)r.ooo,
	       (unsigned long long)r.foreign, r.end ? "" : " (no end marker)");
	return r.end && !r.bad && !r.ooo ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "ping"))
		return do_ping(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "udp-recv"))
		return do_udp_recv(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: net_host_peer ping DST COUNT | udp-recv PORT SECONDS\n");
	return 2;
}
