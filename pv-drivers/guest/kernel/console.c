/* printf-style formatting and printk, which batches output for the console ring and console_io. */
#include "console.h"
#include "clock.h"
#include "hypercall.h"
#include "xencons.h"
#include "kstring.h"
#include "lock.h"

struct outbuf {
	char *buf;
	size_t size, len;	/* len counts everything, even what did not fit */
};

static void out_char(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct outbuf *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

static void out_str(struct outbuf *o, const char *s, int width, int prec, bool left)
{
	int len = (int)strnlen(s, prec >= 0 ? (size_t)prec : (size_t)-1);

	if (!left)
		out_pad(o, ' ', width - len);
	for (int i = 0; i < len; i++)
		out_char(o, s[i]);
	if (left)
		out_pad(o, ' ', width - len);
}

static void out_num(struct outbuf *o, unsigned long long v, bool neg, unsigned base,
		    bool upper, int width, bool zero, bool left, const char *prefix)
{
	char tmp[24];
	int n = 0, plen = prefix ? (int)strlen(prefix) : 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int total = n + (neg ? 1 : 0) + plen;

	if (!left && !zero)
		out_pad(o, ' ', width - total);
	if (neg)
		out_char(o, '-');
	for (int i = 0; i < plen; i++)
		out_char(o, prefix[i]);
	if (!left && zero)
		out_pad(o, '0', width - total);
	while (n)
		out_char(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - total);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		bool zero = false, left = false;
		int width = 0, prec = -1, lng = 0;

		for (;; fmt++) {
			if (fmt[1] == '0')
				zero = true;
			else if (fmt[1] == '-')
				left = true;
			else
				break;
		}
		fmt++;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z') {
			lng = 1;
			fmt++;
		}
		if (left)
			zero = false;

		unsigned long long u;
		long long s;

		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			u = s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;
			out_num(&o, u, s < 0, 10, false, width, zero, left, NULL);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = lng >= 2 ? va_arg(ap, unsigned long long)
			    : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			out_num(&o, u, false, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16,
				*fmt == 'X', width, zero, left, NULL);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			out_num(&o, u, false, 16, false, width, zero, left, "0x");
			break;
		case 'c':
			out_pad(&o, ' ', left ? 0 : width - 1);
			out_char(&o, (char)va_arg(ap, int));
			out_pad(&o, ' ', left ? width - 1 : 0);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			out_str(&o, str ? str : "(null)", width, prec, left);
			break;
		}
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--;	/* a lone trailing '%': stop at the terminator */
			break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}


static void console_io_write(const char *s, size_t len)
{
	while (len) {
		long rc = HYPERVISOR_console_io(CONSOLEIO_write, (int)len, s);

		/* Xen returns 0 for a full write; treat a positive count as partial. */
		if (rc < 0)
			return;
		if (rc == 0 || (size_t)rc >= len)
			return;
		s += rc;
		len -= rc;
	}
}

/*
 * Output is batched: every exit costs 65-135 us on kvm_pvm, and a line
 * written at once costs two (console_io, then the ring's notification).
 * Bytes go into the ring at once (memory: free) and into cio_buf for
 * console_io; both leave the guest together in console_flush_locked, when
 * cio_buf or half the ring fills, when a write finds the batch older than
 * CONSOLE_BATCH_NS, and (console_flush) whenever the guest is about to wait
 * or shut down. Nothing is dropped: the batch only waits.
 */
#define CONSOLE_BATCH_NS (10 * NSEC_PER_MSEC)

static char cio_buf[1024];
static size_t cio_len;
static uint64_t batch_start_ns;      /* when the oldest unflushed byte was written; 0: none */
static bool batch_clock;             /* clock_now_ns works (console_batch_clock_ready) */

static void console_flush_locked(void)
{
	if (cio_len)
		console_io_write(cio_buf, cio_len);
	cio_len = 0;
	xencons_flush();
	batch_start_ns = 0;
}

void console_write(const char *s, size_t len)
{
	if (console_mode != CONSOLE_RING) {
		if (cio_len + len > sizeof(cio_buf))
			console_flush_locked();
		if (len > sizeof(cio_buf)) {
			console_io_write(s, len);
		} else {
			memcpy(cio_buf + cio_len, s, len);
			cio_len += len;
		}
	}
	xencons_write(s, len);
	if (!batch_clock)
		return;   /* early boot: the first wait or a full batch sends it */
	uint64_t now = clock_now_ns();

	if (!batch_start_ns)
		batch_start_ns = now ? now : 1;
	else if (now - batch_start_ns >= CONSOLE_BATCH_NS)
		console_flush_locked();
}

static spinlock_t console_lock = SPINLOCK_INIT;

void console_batch_clock_ready(void)
{
	batch_clock = true;
}

void console_flush(void)
{
	int flags = spin_lock_irqsave(&console_lock);

	console_flush_locked();
	spin_unlock_irqrestore(&console_lock, flags);
}

void console_write_ring(const char *s, size_t len)
{
	int flags = spin_lock_irqsave(&console_lock);

	xencons_write(s, len);
	spin_unlock_irqrestore(&console_lock, flags);
}

void vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n >= (int)sizeof(buf)) {
		/* Keep the line ending so the hypervisor's "(dN)" line logging stays intact. */
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	int flags = spin_lock_irqsave(&console_lock);
	console_write(buf, n);
	spin_unlock_irqrestore(&console_lock, flags);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}
