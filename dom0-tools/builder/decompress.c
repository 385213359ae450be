/* Decompresses Linux kernel payloads (gzip, XZ, LZ4 legacy frame, zstd) into a buffer capped against decompression bombs. */
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include "builder_int.h"
#include "kxen/kxbuild_pv.h"

#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8u << 20)   /* the legacy frame's fixed block size */
#define XZ_MEMLIMIT      (256ULL << 20)
#define ZSTD_WINDOWLOG   27           /* what Linux's own decompressor accepts */

/* The output grows by doubling up to cap + 1: reaching cap + 1 proves the stream too large. */
struct outbuf {
	uint8_t *p;
	size_t len, size;
	uint64_t cap;
	const char *fmt;
	char *err;
	size_t errlen;
};

#define fail KXBUILD_FAIL

static int bomb(struct outbuf *o)
{
	return fail(o, -EFBIG, "%s payload decompresses to more than %llu bytes (the domain's "
	            "memory): refused", o->fmt, (unsigned long long)o->cap);
}

/* Makes room for want more bytes (fewer only at cap + 1); -EFBIG once cap + 1 bytes are held. */
static int reserve(struct outbuf *o, size_t want)
{
	uint64_t limit = o->cap + 1, need = (uint64_t)o->len + want;
	uint64_t size = o->size ? o->size : (1u << 20);
	uint8_t *p;

	if (o->len >= limit)
		return bomb(o);
	if (need > limit)
		need = limit;
	if (need <= o->size)
		return 0;
	while (size < need)
		size *= 2;
	if (size > limit)
		size = limit;
	if (size > SIZE_MAX)
		return bomb(o);
	p = realloc(o->p, (size_t)size);
	if (!p)
		return fail(o, -ENOMEM, "%s payload: cannot allocate %llu bytes", o->fmt,
		            (unsigned long long)size);
	o->p = p;
	o->size = (size_t)size;
	return 0;
}

static int un_gzip(const uint8_t *in, size_t len, struct outbuf *o)
{
	z_stream zs;
	int zr = Z_OK, rc = 0;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return fail(o, -ENOMEM, "gzip: cannot initialise zlib");
	zs.next_in = (Bytef *)in;
	while (zr != Z_STREAM_END) {
		if ((rc = reserve(o, 1)))
			goto out;
		/* zlib counts in uInt: feed at most 1 GiB of input or output per call. */
		zs.avail_in = len - (size_t)((const uint8_t *)zs.next_in - in) > (1u << 30) ?
		              (1u << 30) : (uInt)(len - (size_t)((const uint8_t *)zs.next_in - in));
		zs.next_out = o->p + o->len;
		zs.avail_out = o->size - o->len > (1u << 30) ? (1u << 30) : (uInt)(o->size - o->len);
		uInt before = zs.avail_out;
		zr = inflate(&zs, Z_NO_FLUSH);
		o->len += before - zs.avail_out;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = fail(o, -EINVAL, "gzip payload is truncated (%zu bytes in, %zu out)", len,
			          o->len);
			goto out;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = fail(o, -EINVAL, "gzip payload is corrupt at input byte %zu: %s",
			          (size_t)((const uint8_t *)zs.next_in - in), zs.msg ? zs.msg : "zlib error");
			goto out;
		}
	}
out:
	inflateEnd(&zs);
	return rc;
}

static int un_xz(const uint8_t *in, size_t len, struct outbuf *o)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	lzma_ret lr = LZMA_OK;
	int rc = 0;

	if (lzma_stream_decoder(&xs, XZ_MEMLIMIT, 0) != LZMA_OK)
		return fail(o, -ENOMEM, "XZ: cannot initialise liblzma");
	xs.next_in = in;
	xs.avail_in = len;
	while (lr != LZMA_STREAM_END) {
		if ((rc = reserve(o, 1)))
			goto out;
		xs.next_out = o->p + o->len;
		xs.avail_out = o->size - o->len;
		lr = lzma_code(&xs, LZMA_FINISH);
		o->len = o->size - xs.avail_out;
		if (lr == LZMA_MEMLIMIT_ERROR) {
			rc = fail(o, -EFBIG, "XZ payload needs more than %llu MiB to decode: refused",
			          XZ_MEMLIMIT >> 20);
			goto out;
		}
		if (lr == LZMA_BUF_ERROR && xs.avail_out) {
			rc = fail(o, -EINVAL, "XZ payload is truncated (%zu bytes in, %zu out)", len, o->len);
			goto out;
		}
		if (lr != LZMA_OK && lr != LZMA_STREAM_END && lr != LZMA_BUF_ERROR) {
			rc = fail(o, -EINVAL, "XZ payload is corrupt at input byte %zu (liblzma error %d)",
			          len - xs.avail_in, (int)lr);
			goto out;
		}
	}
out:
	lzma_end(&xs);
	return rc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The legacy frame: magic, then blocks of [le32 compressed size][data], each
 * at most 8 MiB once decompressed. Linux appends the decompressed size as a
 * last le32, which no block can be: fewer than 4 bytes may follow it.
 */
static int un_lz4(const uint8_t *in, size_t len, struct outbuf *o)
{
	size_t pos = 4;
	int rc;

	while (len - pos >= 4) {
		uint32_t csize = le32(in + pos);
		size_t room;
		int n;

		if (csize == LZ4_LEGACY_MAGIC) {     /* concatenated frames */
			pos += 4;
			continue;
		}
		if (len - pos == 4 && o->len)        /* the size trailer */
			break;
		pos += 4;
		if (csize == 0 || csize > LZ4_COMPRESSBOUND(LZ4_LEGACY_BLOCK) || csize > len - pos)
			return fail(o, -EINVAL, "LZ4 payload is corrupt: block at byte %zu claims %u "
			            "bytes, %zu remain", pos - 4, csize, len - pos);
		if ((rc = reserve(o, LZ4_LEGACY_BLOCK)))
			return rc;
		room = o->size - o->len < LZ4_LEGACY_BLOCK ? o->size - o->len : LZ4_LEGACY_BLOCK;
		n = LZ4_decompress_safe((const char *)in + pos, (char *)o->p + o->len, (int)csize,
		                        (int)room);
		if (n < 0)
			return room < LZ4_LEGACY_BLOCK ? bomb(o) :
			       fail(o, -EINVAL, "LZ4 payload is corrupt in the block at byte %zu", pos - 4);
		o->len += (size_t)n;
		pos += csize;
	}
	if (o->len == 0)
		return fail(o, -EINVAL, "LZ4 payload holds no data");
	return 0;
}

static int un_zstd(const uint8_t *in, size_t len, struct outbuf *o)
{
	ZSTD_DStream *zs = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t zr = 1;
	int rc = 0;

	if (!zs)
		return fail(o, -ENOMEM, "zstd: cannot initialise libzstd");
	ZSTD_DCtx_setParameter(zs, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG);
	/* zr == 0 once a frame is complete; Linux's size trailer may follow it. */
	while (zr != 0) {
		ZSTD_outBuffer ob;

		if ((rc = reserve(o, 1)))
			goto out;
		ob = (ZSTD_outBuffer){ o->p, o->size, o->len };
		zr = ZSTD_decompressStream(zs, &ob, &ib);
		o->len = ob.pos;
		if (ZSTD_isError(zr)) {
			rc = fail(o, -EINVAL, "zstd payload is corrupt at input byte %zu: %s", ib.pos,
			          ZSTD_getErrorName(zr));
			goto out;
		}
		if (zr && ib.pos == ib.size && ob.pos < ob.size) {
			rc = fail(o, -EINVAL, "zstd payload is truncated (%zu bytes in, %zu out)", len,
			          o->len);
			goto out;
		}
	}
out:
	ZSTD_freeDStream(zs);
	return rc;
}

int kxbuild_decompress(const uint8_t *in, size_t len, uint64_t cap, uint8_t **out,
                       size_t *outlen, const char **format, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		uint8_t magic[6];
		size_t mlen;
		int (*fn)(const uint8_t *, size_t, struct outbuf *);
	} fmts[] = {
		{ "gzip", { 0x1f, 0x8b }, 2, un_gzip },
		{ "XZ", { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6, un_xz },
		{ "LZ4", { 0x02, 0x21, 0x4c, 0x18 }, 4, un_lz4 },
		{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4, un_zstd },
	};
	struct outbuf o = { .cap = cap, .err = err, .errlen = errlen, .fmt = "?" };
	int rc = -ENOEXEC;
	size_t i;

	*out = NULL;
	*outlen = 0;
	if (format)
		*format = NULL;
	for (i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		if (len < fmts[i].mlen || memcmp(in, fmts[i].magic, fmts[i].mlen))
			continue;
		o.fmt = fmts[i].name;
		if (format)
			*format = fmts[i].name;
		rc = fmts[i].fn(in, len, &o);
		break;
	}
	if (i == sizeof fmts / sizeof fmts[0]) {
		const char *what = len >= 3 && !memcmp(in, "BZh", 3) ? "bzip2" :
		                   len >= 4 && !memcmp(in, "\x89LZO", 4) ? "LZO" :
		                   len >= 3 && !memcmp(in, "\x5d\x00\x00", 3) ? "LZMA" : NULL;
		if (what)
			return fail(&o, -ENOEXEC, "%s payloads are not supported (gzip, XZ, LZ4 and "
			            "zstd are)", what);
		return fail(&o, -ENOEXEC, "payload is in no known compression format (magic "
		            "%02x %02x %02x %02x)", len > 0 ? in[0] : 0, len > 1 ? in[1] : 0,
		            len > 2 ? in[2] : 0, len > 3 ? in[3] : 0);
	}
	if (rc == 0 && o.len > cap)
		rc = bomb(&o);
	if (rc) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*outlen = o.len;
	return 0;
}
