#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz/bfs/bfs_mount_fuzz.c into fuzz/corpus/bfs_mount/.

A seed is byte 0 (bit 0: the dirty image with a journal to replay; bits
1-3: reseal tree nodes, super blocks, journal transactions after
patching), then patches {u16 block, u16 offset, u8 len, bytes} of the
1 MiB volume.  Its layout (mkfs of 256 blocks): super blocks 0-1, journal
2-129, bitmap 130, tree and data from 131 on.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bfs_mount")
DIRTY, NODES, SUPER, JTX = 1, 2, 4, 8
JOURNAL, BITMAP, DATA = 2, 130, 131


def patch(blk, off, data):
    return struct.pack("<HHB", blk, off, len(data)) + data


def seeds():
    yield "clean", bytes([0])
    yield "dirty", bytes([DIRTY])
    # super block: nblocks, root, root_level, used_blocks (resealed)
    yield "super_nblocks", bytes([SUPER]) + patch(0, 0x38, struct.pack(
        "<Q", 1 << 40)) + patch(1, 0x38, struct.pack("<Q", 1 << 40))
    yield "super_root", bytes([SUPER]) + patch(0, 0x78, struct.pack(
        "<QI", BITMAP, 0)) + patch(1, 0x78, struct.pack("<QI", BITMAP, 0))
    yield "super_level", bytes([SUPER]) + patch(0, 0x80, b"\x07") + \
        patch(1, 0x80, b"\x07")
    yield "super_used", bytes([SUPER]) + patch(0, 0x90, b"\x00\x02") + \
        patch(1, 0x90, b"\x00\x02")
    # journal: the state, the first target, a node image (resealed)
    yield "jtx_state", bytes([DIRTY | JTX]) + patch(JOURNAL, 0x30, struct.pack(
        "<QI", DATA + 1, 1))
    yield "jtx_target", bytes([DIRTY | JTX]) + patch(JOURNAL, 0x80,
                                                     struct.pack("<Q", 1))
    yield "jtx_image", bytes([DIRTY | JTX | NODES]) + patch(JOURNAL + 1, 0x14,
                                                            b"\xff\x00")
    # tree nodes: level, count, free_end, keys, values, child pointers
    for blk in range(DATA, DATA + 6):
        yield "node%d_level" % blk, bytes([NODES]) + patch(blk, 0x10, b"\x01")
        yield "node%d_count" % blk, bytes([NODES]) + patch(blk, 0x12,
                                                           b"\x40\x00")
        yield "node%d_key" % blk, bytes([NODES]) + patch(blk, 0x20, struct.pack(
            "<QQ", 1, 2 << 56))
        yield "node%d_child" % blk, bytes([NODES]) + patch(blk, 0x30,
                                                           struct.pack(
                                                               "<Q", BITMAP))
        yield "node%d_value" % blk, bytes([NODES]) + patch(
            blk, 4000, b"\x00\x00\x00\x00\x05\x00\x00\x00\xff\xff")
    # bitmap: a leaked bit, a lost one
    yield "bitmap", bytes([0]) + patch(BITMAP, 24, b"\xff\xff")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
