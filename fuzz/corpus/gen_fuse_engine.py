#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz/fuse_engine_fuzz.c into fuzz/corpus/fuse_engine/.

Each seed is a sequence of records: one ctl byte, then a FUSE request
(fuse_in_header + arguments).  ctl 0xb8 = id translation on, full reply
space, one iovec; nodeid/fh values 0x10.. and 0x20.. name the nodeids and
fhs handed out earlier in the same input (see the harness).
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuse_engine")
N0, N1, N2 = 0x10, 0x11, 0x12
F0, F1 = 0x20, 0x21
XL = 0xB8  # translate ids, full reply space, one iovec

OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6,
          MKNOD=8, MKDIR=9, UNLINK=10, RMDIR=11, RENAME=12, LINK=13, OPEN=14,
          READ=15, WRITE=16, STATFS=17, RELEASE=18, FSYNC=20, SETXATTR=21,
          GETXATTR=22, LISTXATTR=23, REMOVEXATTR=24, FLUSH=25, OPENDIR=27,
          READDIR=28, RELEASEDIR=29, FSYNCDIR=30, GETLK=31, SETLK=32,
          SETLKW=33, ACCESS=34, CREATE=35, INTERRUPT=36, DESTROY=38,
          BATCH_FORGET=42, FALLOCATE=43, READDIRPLUS=44, RENAME2=45,
          LSEEK=46, COPY_FILE_RANGE=47, SYNCFS=50, TMPFILE=51)

unique = [100]


def req(op, nodeid, args=b"", ctl=XL):
    unique[0] += 2
    body = struct.pack("<IIQQIIIHH", 40 + len(args), OP[op], unique[0],
                       nodeid, 1000, 1000, 42, 0, 0) + args
    return bytes([ctl]) + body


def z(s):
    return s.encode() + b"\0"


def u64(*v):
    return struct.pack("<%dQ" % len(v), *v)


def read_in(fh, off, size):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def write_in(fh, off, data, flags=0):
    return struct.pack("<QQIIQII", fh, off, len(data), flags, 0, 0, 0) + data


def lk_in(fh, typ, start, end, flags=0):
    return struct.pack("<QQQQIIII", fh, 7, start, end, typ, 9, flags, 0)


SEEDS = {
    "file_io": [
        req("LOOKUP", 1, z("a")),
        req("OPEN", N0, struct.pack("<II", 2, 0)),
        req("READ", N0, read_in(F0, 0, 4096)),
        req("WRITE", N0, write_in(F0, 10, b"hello world" * 20, 4)),
        req("READ", N0, read_in(F0, 5, 300), ctl=0xB3),
        req("FLUSH", N0, struct.pack("<QIIQ", F0, 0, 0, 5)),
        req("FSYNC", N0, struct.pack("<QII", F0, 1, 0)),
        req("FALLOCATE", N0, struct.pack("<QQQII", F0, 0, 4096, 0, 0)),
        req("LSEEK", N0, struct.pack("<QQII", F0, 0, 3, 0)),
        req("GETATTR", N0, struct.pack("<IIQ", 1, 0, F0)),
        req("RELEASE", N0, struct.pack("<QIIQ", F0, 0, 2, 0)),
        req("FORGET", N0, u64(1)),
    ],
    "dirs": [
        req("MKDIR", 1, struct.pack("<II", 0o755, 0o22) + z("d")),
        req("OPENDIR", N0, struct.pack("<II", 0, 0)),
        req("READDIR", N0, read_in(F0, 0, 4096)),
        req("READDIRPLUS", N0, read_in(F0, 0, 4096)),
        req("READDIRPLUS", N0, read_in(F0, 2, 200), ctl=0xA2),
        req("FSYNCDIR", N0, struct.pack("<QII", F0, 0, 0)),
        req("RELEASEDIR", N0, struct.pack("<QIIQ", F0, 0, 0, 0)),
        req("BATCH_FORGET", 0, struct.pack("<II", 3, 0) +
            u64(N0, 1, N1, 1, N2, 1)),
        req("RMDIR", 1, z("d")),
    ],
    "namespace": [
        req("LOOKUP", 1, z("a")),
        req("SYMLINK", 1, z("ln") + z("../target")),
        req("READLINK", N1),
        req("MKNOD", 1, struct.pack("<IIII", 0o10644, 0, 0o22, 0) + z("fifo")),
        req("LINK", 1, u64(N0) + z("a2")),
        req("RENAME", 1, u64(1) + z("a2") + z("a3")),
        req("RENAME2", 1, u64(1) + struct.pack("<II", 1, 0) + z("a3") + z("a4")),
        req("UNLINK", 1, z("a4")),
        req("ACCESS", N0, struct.pack("<II", 4, 0)),
        req("STATFS", 1),
        req("SYNCFS", 1, u64(0)),
        req("SETATTR", N0, struct.pack("<IIQQQQQQIIIIIIII", 0xFFF, 0, 0, 10,
                                       0, 1, 2, 3, 4, 5, 6, 0o644, 0, 0, 0, 0)),
        req("DESTROY", 1),
        req("FORGET", N0, u64(5)),
    ],
    "create_xattr_locks": [
        req("CREATE", 1, struct.pack("<IIII", 0o102, 0o644, 0o22, 0) + z("c")),
        req("SETXATTR", N0, struct.pack("<IIII", 5, 0, 0, 0) + z("user.k") +
            b"value"),
        req("GETXATTR", N0, struct.pack("<II", 0, 0) + z("user.k")),
        req("GETXATTR", N0, struct.pack("<II", 64, 0) + z("user.k")),
        req("LISTXATTR", N0, struct.pack("<II", 64, 0)),
        req("REMOVEXATTR", N0, z("user.k")),
        req("GETLK", N0, lk_in(F0, 1, 0, 0x7FFFFFFFFFFFFFFF)),
        req("SETLK", N0, lk_in(F0, 1, 0, 100)),
        req("SETLKW", N0, lk_in(F0, 2, 0, 0x7FFFFFFFFFFFFFFF, 1)),
        req("INTERRUPT", 0, u64(unique[0])),
        req("TMPFILE", 1, struct.pack("<IIII", 0o20000002, 0o600, 0, 0)),
        req("COPY_FILE_RANGE", N0, u64(F0, 0, N1, F1, 10, 100, 0)),
        req("RELEASE", N0, struct.pack("<QIIQ", F1, 0, 0, 0)),
        req("RELEASE", N0, struct.pack("<QIIQ", F0, 0, 0, 0)),
    ],
    "malformed": [
        req("LOOKUP", 1, b"no-nul"),
        req("LOOKUP", 1, z("a/b")),
        req("LOOKUP", 1, z("..")),
        req("GETATTR", 0xDEAD, struct.pack("<IIQ", 0, 0, 0)),
        req("BATCH_FORGET", 0, struct.pack("<II", 0xFFFFFFFF, 0)),
        bytes([0x00]) + struct.pack("<IIQQIIIHH", 1000, 1, 9, 1, 0, 0, 0, 0, 0),
        req("WRITE", 1, write_in(0x20, 0, b"abc")[:-1]),
        bytes([0x07]) + b"\x28\x00\x00\x00",
    ],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, records in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b"".join(records))


if __name__ == "__main__":
    main()
