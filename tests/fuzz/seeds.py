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


# --- kxen-hv's hypercall dispatch: the harness reads a script of pokes and calls (fuzz_hypercall.c).
def hypercall_seeds():
    NR = {'set_callbacks': 0, 'set_timer_op': 1, 'memory_op': 2, 'multicall': 3, 'xen_version': 4, 'console_io': 5,
          'vcpu_op': 6, 'sched_op': 7, 'event_channel_op': 8, 'callback_op': 9, 'grant_table_op': 10}
    SELF, D, PEER = 0, 1, 2                       # the harness's special values, by index
    def poke(off, data):
        return bytes([0]) + struct.pack('<HB', off, len(data)) + data
    def poke_dom(off, which):
        return bytes([1]) + struct.pack('<HB', off, which)
    def small(v):
        return bytes([v << 3])
    def ptr(off):
        return bytes([1]) + struct.pack('<H', off)
    def spec(i):
        return bytes([i << 3 | 4])
    def call(name, *regs, vcpu=0):
        regs = list(regs) + [small(0)] * (5 - len(regs))
        return bytes([2 | vcpu << 3, NR[name]]) + b''.join(regs)
    evtchn = (poke_dom(0, SELF) + poke_dom(2, PEER) + call('event_channel_op', small(6), ptr(0)) +   # alloc_unbound
              poke_dom(0x40, PEER) + poke(0x44, struct.pack('<I', 1)) +
              call('event_channel_op', small(0), ptr(0x40)) +                                        # bind_interdomain
              poke(0x80, struct.pack('<I', 1)) + call('event_channel_op', small(4), ptr(0x80)) +    # send
              poke_dom(0xc0, SELF) + poke(0xc4, struct.pack('<I', 1)) +
              call('event_channel_op', small(5), ptr(0xc0)) +                                        # status
              poke(0x100, struct.pack('<III', 0, 0, 0)) + call('event_channel_op', small(1), ptr(0x100)) +  # bind_virq
              call('event_channel_op', small(3), ptr(0x80)))                                         # close
    put('hypercall', 'evtchn', evtchn)
    gnt = (poke_dom(0, SELF) + poke(4, struct.pack('<IhH', 1, 0, 0)) + poke(8, struct.pack('<Q', 0x600100)) +
           call('grant_table_op', small(2), ptr(0), small(1)) +                                     # setup_table
           call('grant_table_op', small(6), ptr(0), small(1)) +                                     # query_size
           call('grant_table_op', small(5), ptr(0x200), small(1)) +                                 # copy
           call('grant_table_op', small(9), ptr(0x300), small(1)))                                  # set_version
    put('hypercall', 'gnttab', gnt)
    mem = (poke(0, struct.pack('<IIQ', 4, 0, 0x600100)) + call('memory_op', small(9), ptr(0)) +      # memory_map
           poke_dom(0x40, SELF) + call('memory_op', small(4), ptr(0x40)) +                          # maximum_reservation
           call('memory_op', small(7), ptr(0x80)))                                                   # add_to_physmap
    put('hypercall', 'memory', mem)
    entry = lambda nr, *a: struct.pack('<QQ6Q', nr, 0, *(list(a) + [0] * (6 - len(a))))
    mc = (poke(0x300, b'hello from multicall\n') +
          poke(0x1000, entry(17, 0, 0)) + poke(0x1040, entry(18, 0, 21, 0x600300)) +
          poke(0x1080, entry(29, 0)) + call('multicall', ptr(0x1000), small(3)))
    put('hypercall', 'multicall', mc)
    misc = b''.join(call('xen_version', small(i), ptr(0x400)) for i in range(7))
    misc += poke(0x300, b'console\n') + call('console_io', small(0), small(8), ptr(0x300))
    misc += call('vcpu_op', small(4), small(1), ptr(0x500)) + call('vcpu_op', small(5), small(0))
    misc += call('vcpu_op', small(7), small(0), ptr(0x540), vcpu=1)
    misc += call('sched_op', small(0)) + call('set_timer_op', bytes([5]) + struct.pack('<Q', 1 << 40))
    misc += call('callback_op', small(0), ptr(0x600)) + poke(0x700, struct.pack('<I', 0)) + call('sched_op', small(2), ptr(0x700))
    put('hypercall', 'misc', misc)
    # As a Linux PV domain: L4 at window page 8, one 2 MiB page mapping the window's virtual addresses onto itself.
    pv = (poke(0x8000, struct.pack('<Q', 0x609000 | 3)) + poke(0x9000, struct.pack('<Q', 0x60a000 | 3)) +
          poke(0xa000 + 3 * 8, struct.pack('<Q', 0x600000 | 0x83)) + bytes([0xff, 8]))
    put('hypercall', 'pv-evtchn', pv + evtchn)
    put('hypercall', 'pv-misc', pv + misc)
    put('hypercall', 'pv-multicall', pv + mc)


# --- the Linux PV flavour: a script of pokes, page-table entries, kernel-L4 moves and calls (fuzz_pvl.c).
def pvl_seeds():
    NR = {'memory_op': 2, 'multicall': 3, 'xen_version': 4, 'console_io': 5, 'vcpu_op': 6, 'sched_op': 7,
          'event_channel_op': 8, 'grant_table_op': 10, 'mmu_update': 11, 'set_gdt': 14}
    def small(v):
        return bytes([v << 4 | 15])
    def direct(off):                  # Linux's direct map of the window
        return bytes([1]) + struct.pack('<H', off)
    def kimg(off):                    # the kernel image, 4 KiB pages onto the window
        return bytes([2]) + struct.pack('<H', off)
    def kxen(i):                      # kxen's slots and other addresses nothing may follow
        return bytes([i << 4 | 4])
    def poke(off, data):
        return bytes([0]) + struct.pack('<HB', off, len(data)) + data
    def pte(table, index, frame, flags, nx=0):
        return bytes([1, table]) + struct.pack('<H', index) + frame + bytes([flags, nx])
    tbl = lambda k: bytes([k << 3])
    past_ram = bytes([1 << 3 | 3])    # the first frame above RAM: kxen's region
    region = lambda i: bytes([4, i])
    def call(name, *regs, vcpu=0):
        regs = list(regs) + [small(0)] * (5 - len(regs))
        return bytes([3 | vcpu << 4, NR[name]]) + b''.join(regs)
    def vinfo(vcpu, argoff, frame, offset):
        return bytes([4, vcpu]) + struct.pack('<H', argoff) + frame + struct.pack('<H', offset) + bytes([0, vcpu])
    def probe(reg, length):
        return bytes([6]) + reg + bytes([0]) + struct.pack('<H', length)
    calls = (poke(0x100, b'hello from Linux\n') + call('console_io', small(0), small(15), kimg(0x100)) +
             b''.join(call('xen_version', small(i), direct(0x400)) for i in range(7)) +
             poke(0x800, struct.pack('<IIQ', 4, 0, 0xffff888000600900)) + call('memory_op', small(9), direct(0x800)) +
             call('vcpu_op', small(4), small(1), kimg(0x500)) + call('mmu_update', kimg(0x600), small(1)) +
             poke(0x900, struct.pack('<Q', 0xffffffff80000a00)) + call('vcpu_op', small(5), small(1), kimg(0x900)))
    put('pvl', 'calls', bytes([0]) + calls)
    regs = (vinfo(0, 0x40, bytes([1 << 3 | 1]), 0x40) + vinfo(1, 0x50, bytes([1 << 3 | 1]), 0xfc0) +
            vinfo(2, 0x60, past_ram, 0) + vinfo(3, 0x70, bytes([7]), 0))
    put('pvl', 'vcpu-info', bytes([3]) + regs + calls)
    # Tables turned hostile: an L4 entry naming itself, a 1 GiB page, an L2 entry past RAM, the kernel L4 moved.
    tables = (pte(0, 0x111, tbl(0), 0x07) + pte(2, 1, past_ram, 0x87) + pte(1, 1, bytes([0 << 3 | 2]) + struct.pack('<H', 0), 0x87) +
              pte(5, 3, region(30), 0x07) + pte(4, 2, tbl(4), 0x87) + probe(kimg(0x3000), 0x1000) +
              probe(direct(0x1000), 0x2000) + probe(bytes([3]) + struct.pack('<5H', 0x111, 0x111, 0x111, 0x111, 8), 64))
    put('pvl', 'tables', bytes([0]) + tables + calls)
    put('pvl', 'cr3', bytes([0]) + bytes([2]) + past_ram + calls + bytes([2, 0]) + calls)
    boot = bytes([5]) + tbl(0) + bytes([0]) + bytes([1 << 3 | 1]) + struct.pack('<H', 0) + kimg(0) + kimg(0x1000) + kimg(0)
    put('pvl', 'set-boot', bytes([0]) + boot + pte(0, 0x111, tbl(0), 0x07) + boot + calls)
    fatal = bytes([7]) + struct.pack('<HB', 0xa8, 8) + struct.pack('<Q', 1) + bytes([1]) + kimg(0x10)
    put('pvl', 'fatal', bytes([0]) + fatal + bytes([7]) + struct.pack('<HB', 0x60, 8) + struct.pack('<Q', 0xffffffff) + bytes([0]))


def linux_elf():
    """An ELF64 direct-paging PV kernel: one PT_LOAD (12 KiB, 8 KiB bss at 2 MiB) and Linux's Xen notes."""
    VBASE = 0xffffffff80000000
    notes = [(6, b'linux\0'), (7, b'2.6\0'), (5, b'xen-3.0\0'), (3, struct.pack('<Q', VBASE)), (4, struct.pack('<Q', 0)),
             (1, struct.pack('<Q', VBASE + 0x200040)), (2, struct.pack('<Q', VBASE + 0x201000)),
             (10, b'!writable_page_tables|pae_pgdir_above_4gb\0'), (8, b'generic\0'), (9, b'yes\0')]
    nb = b''.join(struct.pack('<III', 4, len(d), t) + b'Xen\0' + d + bytes(-len(d) % 4) for t, d in notes)
    phoff, nph = 64, 2
    noff = phoff + nph * 56
    seg = (noff + len(nb) + 0xfff) & ~0xfff
    eh = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9) + struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0x200000, phoff, 0, 0, 64, 56, nph, 0, 0, 0)
    ph = struct.pack('<IIQQQQQQ', 1, 0, seg, VBASE + 0x200000, 0x200000, 0x3000, 0x5000, 0x1000)
    ph += struct.pack('<IIQQQQQQ', 4, 0, noff, 0, 0, len(nb), len(nb), 4)
    body = (eh + ph + nb).ljust(seg, b'\0')
    return body + bytes((i * 7 + 1) & 0xff for i in range(0x3000))


# --- the builder's kernel unwrapping: byte 0 picks decompress-only (bit 0) and the cap (bits 1-2), then the file.
def bzimage_seeds():
    import gzip
    import lzma
    kernel = B + '/pv-drivers/guest/kxen-guest'
    if not os.path.exists(kernel):
        print('seeds: no built guest kernel: no bzImage seeds')
        return
    def tool(cmd, data):
        if not shutil.which(cmd[0]):
            return None
        r = subprocess.run(cmd, input=data, capture_output=True)
        return r.stdout if r.returncode == 0 else None
    # Without its symbols (a quarter of the size): the fuzzer's inputs stay small.
    with tempfile.TemporaryDirectory() as t:
        r = subprocess.run(['objcopy', '--strip-all', kernel, t + '/k'], capture_output=True) if shutil.which('objcopy') else None
        elf = open(t + '/k' if r and r.returncode == 0 else kernel, 'rb').read()
    streams = {'gzip': gzip.compress(elf, 9), 'xz': lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32),
               'lz4': tool(['lz4', '-l', '-c', '-9'], elf), 'zstd': tool(['zstd', '-c', '-19'], elf)}
    def bzimage(payload, version=0x20f, setup_sects=1):
        # Linux appends the decompressed size; the header's payload fields find the stream (boot protocol 2.08+).
        payload = payload + struct.pack('<I', len(elf))
        head = bytearray(512 * (setup_sects + 1))
        head[0x1f1] = setup_sects
        struct.pack_into('<H', head, 0x1fe, 0xaa55)
        struct.pack_into('<IH', head, 0x202, 0x53726448, version)
        struct.pack_into('<II', head, 0x248, 0, len(payload))
        return bytes(head) + payload
    CAP8M = 2 << 1                                # caps[2], 8 MiB: the guest kernel fits
    for name, st in streams.items():
        if st is None:
            continue
        put('bzimage', 'bz-' + name, bytes([CAP8M]) + bzimage(st))
        put('bzimage', 'raw-' + name, bytes([CAP8M | 1]) + st)
        put('bzimage', 'bz-' + name + '-truncated', bytes([CAP8M]) + bzimage(st[:len(st) // 2]))
    put('bzimage', 'bz-gzip-small-cap', bytes([0]) + bzimage(streams['gzip']))     # 64 KiB: a bomb for this cap
    # A direct-paging kernel shaped as Linux's (its notes, scaled down as tests/unit/test_pvbuild.c's): parse, plan, write.
    lx = linux_elf()
    put('bzimage', 'linux-elf', bytes([CAP8M]) + lx)
    put('bzimage', 'linux-elf-1m', bytes([1 << 1]) + lx)
    put('bzimage', 'bz-linux-gzip', bytes([CAP8M]) + bzimage(gzip.compress(lx, 9)))
    put('bzimage', 'bz-old-protocol', bytes([CAP8M]) + bzimage(streams['gzip'], version=0x207))
    put('bzimage', 'elf', bytes([CAP8M]) + elf[:16384])
    put('bzimage', 'bomb-zeros-gzip', bytes([1 << 1 | 1]) + gzip.compress(bytes(4 << 20), 9))
    put('bzimage', 'bomb-zeros-xz', bytes([1 << 1 | 1]) + lzma.compress(bytes(4 << 20), format=lzma.FORMAT_XZ))


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
hypercall_seeds()
pvl_seeds()
bzimage_seeds()
regress()
print('seeds: ' + ', '.join('%s %d' % (h, len(os.listdir(os.path.join(OUT, h)))) for h in sorted(os.listdir(OUT))))
