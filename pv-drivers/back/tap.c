/* The optional host port of a switch: a TAP interface, so the host's own stack (ping, iperf-like tools) reaches the guests on that bridge. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "netback.h"

struct nb_tap {
	char ifname[IFNAMSIZ];
	int fd;
	struct nb_port port;
	uint64_t rx_frames, tx_frames, drops;
	struct nb_tap *next;
};

struct nb_tap *tap__next(struct nb_tap *t)
{
	return t->next;
}

static void on_tap(struct kxd_loop *loop, int fd, uint32_t ev, void *arg)
{
	static uint8_t buf[NB_FRAME_MAX];
	struct nb_tap *t = arg;

	/* A bounded batch per event, so the host cannot starve the guests' rings. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct nb_frame *f;

		if (n <= 0)
			break;
		if (n < NB_ETH_HLEN) {
			t->drops++;
			continue;
		}
		f = netback_io__frame_alloc((uint32_t)n);
		if (!f) {
			t->drops++;   /* the pool is full of frames for slow receivers */
			break;
		}
		netback_io__frame_write(f, buf, (uint32_t)n);
		t->rx_frames++;
		netback_io__switch(&t->port, f, NULL);
	}
	netback_io__flush();
}

void tap__flush(struct nb_tap *t)
{
	while (t->port.qlen) {
		struct nb_frame *f = t->port.q[t->port.qhead];
		struct iovec iov[NB_FRAME_CHUNKS];
		uint32_t pos = 0;
		unsigned n = 0;

		for (; pos < f->len; pos += NB_CHUNK, n++) {
			iov[n].iov_base = nb.copybuf + (size_t)f->chunk[n] * NB_CHUNK;
			iov[n].iov_len = f->len - pos < NB_CHUNK ? f->len - pos : NB_CHUNK;
		}
		/* The host stack takes frames without blocking; if it will not, the frame is dropped as on a NIC. */
		if (writev(t->fd, iov, (int)n) < 0)
			t->drops++;
		else
			t->tx_frames++;
		t->port.qhead = (t->port.qhead + 1) % NB_QUEUE_LEN;
		t->port.qlen--;
		netback_io__frame_put(f);
	}
}

static int set_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int tap__open(const char *bridge, const char *ifname)
{
	struct ifreq ifr;
	struct vswitch *sw;
	struct nb_tap *t;
	int rc = 0;

	if (strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ || vswitch__name_ok(bridge)) {
		kxd_log("tap: bad entry '%s=%s' in KXEN_BACKD_TAPS (want BRIDGE=IFNAME, IFNAME < %d chars)",
		          bridge, ifname, IFNAMSIZ);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		kxd_log("tap %s: cannot open /dev/net/tun: %s", ifname, strerror(errno));
		free(t);
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0 || (rc = set_up(ifname)) < 0) {
		rc = rc ? rc : -errno;
		kxd_log("tap %s: cannot create or bring it up (needs CAP_NET_ADMIN): %s", ifname, strerror(-rc));
		close(t->fd);
		free(t);
		return rc;
	}
	sw = vswitch__get(&nb.switches, bridge);
	if (!sw || (rc = kxd_loop_add(&nb.bd->loop, t->fd, EPOLLIN, on_tap, t))) {
		rc = sw ? rc : -ENOMEM;
		kxd_log("tap %s: %s", ifname, strerror(-rc));
		vswitch__put(&nb.switches, sw);
		close(t->fd);
		free(t);
		return rc;
	}
	t->port.sp.check_src = false;   /* the host is trusted: it is dom0 */
	t->port.sp.priv = &t->port;
	t->port.kind = NB_PORT_TAP;
	t->port.owner = t;
	vswitch__port_add(sw, &t->port.sp);
	t->next = nb.taps;
	nb.taps = t;
	kxd_log("tap %s: up on bridge %s", ifname, bridge);
	return 0;
}

void tap__close_all(void)
{
	while (nb.taps) {
		struct nb_tap *t = nb.taps;
		struct vswitch *sw = t->port.sp.sw;

		nb.taps = t->next;
		kxd_loop_del(&nb.bd->loop, t->fd);
		close(t->fd);
		tap__flush(t);   /* returns queued frames to the pool (writes fail on the closed fd) */
		vswitch__port_del(&t->port.sp);
		vswitch__put(&nb.switches, sw);
		free(t);
	}
}
