#!/usr/bin/env python3
"""Seed corpora for the libFuzzer harnesses, generated from the project's test data and qemu-img (nothing binary committed).

Usage: seeds.py SRCDIR BUILDDIR OUTDIR: writes OUTDIR/<harness>/ files; the regression inputs of
tests/fuzz/regress (hex dumps or text) go in as well.
"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

S, B, OUT = sys.argv[1], sys.argv[2], sys.argv[3]


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def xml_seeds():
    for f in sorted(glob.glob(S + '/xml/examples/*.xml') + glob.glob(S + '/tests/data/good/*.xml') +
                    glob.glob(S + '/tests/data/bad/*.xml') + glob.glob(S + '/tests/golden/*/*.xml')):
        put('xml', os.path.basename(os.path.dirname(f)) + '-' + os.path.basename(f), open(f, 'rb').read())


def elf_seeds():
    for f in [B + '/pv-drivers/guest/kxen-guest']:
        if os.path.exists(f):
            data = open(f, 'rb').read()
            put('elf', 'kxen-guest', data)
            # The headers and notes alone: what the parser reads before any segment data.
            put('elf', 'kxen-guest-head', data[:8192])


# --- qcow2: the harness reads flags (1 byte), image length (u32 LE), the image, then ops.
def qcow2_input(image, ops=b'', flags=0):
    return bytes([flags]) + struct.pack('<I', len(image)) + image + ops


def qcow2_ops():
    """A write, a read, a discard and a flush at a few offsets."""
    ops = b''
    for kind, off, ln in ((1, 0, 4096), (0, 0, 8192), (1, 70000, 600), (2, 0, 65536), (3, 0, 0), (1, 5 << 20, 131072)):
        ops += bytes([kind]) + struct.pack('<QI', off, ln)
    return ops


def qcow2_seeds():
    if not shutil.which('qemu-img'):
        print('seeds: qemu-img not installed (Debian package qemu-utils): no qcow2 seeds from it')
        return
    with tempfile.TemporaryDirectory() as t:
        raw = os.path.join(t, 'data.raw')
        with open(raw, 'wb') as f:
            for i in range(64):
                f.write(bytes([i]) * 1024 + bytes(1024))
        opts = {
            'v3-512': ['-o', 'cluster_size=512'],
            'v2-512': ['-o', 'compat=0.10,cluster_size=512'],
            'v3-4k-rc1': ['-o', 'cluster_size=4096,refcount_bits=1'],
            'v3-64k': [],
            'v3-4k-backing': ['-o', 'cluster_size=4096', '-b', 'base.raw', '-F', 'raw'],
            'v3-4k-zlib': ['-o', 'cluster_size=4096,compression_type=zlib'],
        }
        for name, o in opts.items():
            img = os.path.join(t, name + '.qcow2')
            r = subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2'] + o + [img, '8M'], capture_output=True)
            if r.returncode == 0:
                put('qcow2', name, qcow2_input(open(img, 'rb').read(), qcow2_ops()))
        # Flag 1 opens read-only: extended L2 images are refused read-write.
        for name, o, fl in (('conv-c-512', ['-c', '-o', 'cluster_size=512'], 0),
                            ('conv-4k', ['-o', 'cluster_size=4096'], 0),
                            ('conv-c-zstd-512', ['-c', '-o', 'cluster_size=512,compression_type=zstd'], 0),
                            ('conv-c-zstd-64k', ['-c', '-o', 'compression_type=zstd'], 0),
                            ('conv-extl2-16k', ['-o', 'cluster_size=16384,extended_l2=on'], 1),
                            ('conv-c-extl2-16k', ['-c', '-o', 'cluster_size=16384,extended_l2=on'], 1)):
            img = os.path.join(t, name + '.qcow2')
            r = subprocess.run(['qemu-img', 'convert', '-q', '-O', 'qcow2'] + o + [raw, img], capture_output=True)
            if r.returncode == 0:
                put('qcow2', name, qcow2_input(open(img, 'rb').read(), qcow2_ops(), fl))


# --- kxenstored: the harness reads (op byte, u16 length, bytes) chunks; op % 4: 0 dom0, 1 domid 7, 2/3 guest ring.
XS = {'READ': 2, 'GET_PERMS': 3, 'WATCH': 4, 'UNWATCH': 5, 'TRANSACTION_START': 6, 'TRANSACTION_END': 7,
      'RELEASE': 9, 'GET_DOMAIN_PATH': 10, 'WRITE': 11, 'MKDIR': 12, 'RM': 13, 'SET_PERMS': 14, 'DIRECTORY': 1,
      'RESET_WATCHES': 18, 'DIRECTORY_PART': 20, 'CONTROL': 0}


def xs_msg(kind, payload, req=1, tx=0):
    return struct.pack('<IIII', XS[kind], req, tx, len(payload)) + payload


def xs_chunk(who, msg, op_bits=0x40):
    return bytes([who | op_bits]) + struct.pack('<H', len(msg)) + msg


def xenstore_seeds():
    d0 = [xs_msg('WRITE', b'/local/domain/5/data\0hello'), xs_msg('MKDIR', b'/local/domain/5/dir\0'),
          xs_msg('SET_PERMS', b'/local/domain/5/data\0b5\0r7\0'), xs_msg('WATCH', b'/local/domain\0tok\0'),
          xs_msg('DIRECTORY', b'/local/domain/5\0'), xs_msg('GET_PERMS', b'/local/domain/5/data\0'),
          xs_msg('CONTROL', b'quota\0'), xs_msg('RM', b'/local/domain/5/dir\0')]
    guest = [xs_msg('WRITE', b'device/vbd/51712/state\x004'), xs_msg('READ', b'name\0'),
             xs_msg('WATCH', b'device\0t\0'), xs_msg('TRANSACTION_START', b'\0'),
             xs_msg('WRITE', b'data/x\0y', tx=1), xs_msg('TRANSACTION_END', b'T\0', tx=1),
             xs_msg('DIRECTORY_PART', b'/local/domain/5\x000\0'), xs_msg('GET_DOMAIN_PATH', b'5\0')]
    other = [xs_msg('READ', b'/local/domain/5/data\0'), xs_msg('WATCH', b'/local/domain/5/data\0w\0'),
             xs_msg('WRITE', b'/local/domain/7/a\0b')]
    put('xenstore', 'dom0', b''.join(xs_chunk(0, m) for m in d0))
    put('xenstore', 'guest', b''.join(xs_chunk(2, m) for m in guest))
    put('xenstore', 'mixed', b''.join(xs_chunk(0, a) + xs_chunk(2, b) + xs_chunk(1, c)
                                      for a, b, c in zip(d0, guest, other)))
    # Half messages: a header in one chunk, its payload in the next.
    m = xs_msg('WRITE', b'/local/domain/5/split\0value')
    put('xenstore', 'split', xs_chunk(0, m[:10]) + xs_chunk(0, m[10:]) + xs_chunk(2, m[:7]) + xs_chunk(2, m[7:]))


# --- blkback and netback: the harness reads a few limit bytes, the ring page's head, then rewrite rounds.
def blk_seeds():
    BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_FLUSH, BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT = 0, 1, 3, 5, 6
    def req(op, nseg, sector, first=0, last=7):
        segs = b''.join(struct.pack('<IBBH', 10 + i, first, last, 0) for i in range(nseg))
        return (struct.pack('<BBHIQQ', op, nseg, 0x33, 0, 100 + op, sector) + segs).ljust(112, b'\0')
    def indirect(op, nseg, sector):
        return struct.pack('<BBHIQQHHI', BLKIF_OP_INDIRECT, op, nseg, 0, 0x44, sector, 0x33, 0, 90).ljust(112, b'\0')
    reqs = [req(BLKIF_OP_READ, 2, 0), req(BLKIF_OP_WRITE, 11, 64), req(BLKIF_OP_FLUSH, 0, 0),
            struct.pack('<BBHIQQQ', BLKIF_OP_DISCARD, 0, 0x33, 0, 7, 8, 16).ljust(112, b'\0'),
            indirect(BLKIF_OP_READ, 20, 8)]
    head = struct.pack('<IIII', len(reqs), 0, 0, 0).ljust(64, b'\0') + b''.join(reqs)
    limits = bytes([7]) + struct.pack('<Q', 1 << 20)
    put('blkback', 'requests', limits + head[:512].ljust(512, b'\0') + struct.pack('<HH', 0, 0) +
        bytes([0, 0, 0, 0, 0, 8, 7]) * 40)


def net_seeds():
    NETTXF_more_data, NETTXF_extra_info = 4, 8
    def tx(gref, off, flags, ident, size):
        return struct.pack('<IHHHH', gref, off, flags, ident, size)
    slots = [tx(1, 0, 0, 1, 60), tx(2, 100, NETTXF_more_data, 2, 3000), tx(3, 0, 0, 3, 1500),
             tx(4, 0, NETTXF_extra_info, 4, 80), struct.pack('<BBH', 2, 0, 0).ljust(12, b'\0'), tx(5, 0, 0, 5, 9)]
    # Slots are 12 bytes in a union of request and response (12 bytes): 64 bytes of indexes first.
    head = struct.pack('<IIII', len(slots), 0, 0, 0).ljust(64, b'\0') + b''.join(slots)
    put('netback', 'packets', head[:512].ljust(512, b'\0') + struct.pack('<HH', 0, 0))


def console_seeds():
    put('console', 'basic', b'hello console\n'.ljust(96, b'\0') + bytes([2, 0, 16, 3, 5, 0]) + b'input' +
        bytes([0x80, 4, 0]) + struct.pack('<I', 2000) + bytes([0x82, 0, 8]))


def regress():
    """Small inputs that once found (or would have found) a bug: text, or hex dumps of binaries."""
    for f in sorted(glob.glob(S + '/tests/fuzz/regress/*')):
        harness, _, rest = os.path.basename(f).partition('-')
        data = open(f, 'rb').read()
        if f.endswith('.hex'):
            data = bytes.fromhex(''.join(l.split('#')[0] for l in data.decode().splitlines()))
        put(harness, 'regress-' + rest, data)


xml_seeds()
elf_seeds()
qcow2_seeds()
xenstore_seeds()
blk_seeds()
net_seeds()
console_seeds()
regress()
print('seeds: ' + ', '.join('%s %d' % (h, len(os.listdir(os.path.join(OUT, h)))) for h in sorted(os.listdir(OUT))))
