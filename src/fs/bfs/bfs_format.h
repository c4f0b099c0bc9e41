/* SPDX-License-Identifier: MIT */
/*
 * bfs_format.h - the on-disk structures of the embedded file system
 * (docs/FORMAT.md, "File-system layer").  All integers little-endian; the
 * build targets are little-endian hosts (checked below), so structs are
 * read and written as they are.
 */
#ifndef VHOSTFS_BFS_FORMAT_H
#define VHOSTFS_BFS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bfs stores little-endian structs as they are in memory"
#endif

#define BFS_BLOCK 4096u
#define BFS_VERSION 1u
#define BFS_SUPER_MAGIC "VHBFSSUP"
#define BFS_JTX_MAGIC "VHBFSJTX"
#define BFS_NODE_MAGIC 0x444E4642u /* "BFND" */
#define BFS_SUPER_CLEAN (1u << 0)

#define BFS_JOURNAL_START 2u
#define BFS_JOURNAL_MIN 128u
#define BFS_JOURNAL_MAX 65536u
#define BFS_BITS_PER_BLOCK (BFS_BLOCK * 8u)
#define BFS_MAX_LEVEL 8u
#define BFS_ROOT_INO 1ull

struct bfs_state {
	uint64_t root;
	uint32_t root_level;
	uint32_t reserved0;
	uint64_t next_ino;
	uint64_t used_blocks;
	uint64_t inodes;
	uint8_t reserved[24];
};
_Static_assert(sizeof(struct bfs_state) == 64, "state");

struct bfs_super {
	char magic[8];
	uint32_t version;
	uint32_t crc;
	uint64_t seq;
	uint32_t flags;
	uint32_t incompat;
	uint8_t uuid[16];
	uint32_t block_size;
	uint32_t journal_blocks;
	uint64_t nblocks;
	uint64_t journal_start;
	uint64_t bitmap_start;
	uint64_t bitmap_blocks;
	uint64_t data_start;
	uint8_t hash_key[16];
	uint64_t journal_seq;
	struct bfs_state state;
	uint8_t reserved[3912];
};
_Static_assert(sizeof(struct bfs_super) == BFS_BLOCK, "super");
_Static_assert(offsetof(struct bfs_super, state) == 0x78, "super state");

#define BFS_JTX_HDR_TARGETS 496u
#define BFS_JTX_DESC_TARGETS 512u

struct bfs_jtx {
	char magic[8];
	uint32_t crc;
	uint32_t blocks;
	uint64_t seq;
	uint8_t uuid[16];
	uint32_t count;
	uint32_t reserved0;
	struct bfs_state state;
	uint8_t reserved[16];
	uint64_t targets[BFS_JTX_HDR_TARGETS];
};
_Static_assert(sizeof(struct bfs_jtx) == BFS_BLOCK, "jtx");
_Static_assert(offsetof(struct bfs_jtx, targets) == 0x80, "jtx targets");

/* --- tree nodes ------------------------------------------------------------ */

struct bfs_node_hdr {
	uint32_t magic;
	uint32_t crc;
	uint64_t block;
	uint16_t level;
	uint16_t count;
	uint16_t free_end;
	uint8_t reserved[10];
};
_Static_assert(sizeof(struct bfs_node_hdr) == 32, "node hdr");

struct bfs_key {
	uint64_t id;
	uint64_t tk; /* type << 56 | off */
};

struct bfs_item {
	struct bfs_key key;
	uint16_t voff;
	uint16_t vlen;
} __attribute__((packed));
_Static_assert(sizeof(struct bfs_item) == 20, "item");

struct bfs_child {
	struct bfs_key key;
	uint64_t block;
};
_Static_assert(sizeof(struct bfs_child) == 24, "child");

#define BFS_NODE_SPACE (BFS_BLOCK - sizeof(struct bfs_node_hdr))
#define BFS_FANOUT ((uint16_t)(BFS_NODE_SPACE / sizeof(struct bfs_child)))
#define BFS_VAL_MAX 1300u /* keeps three items in any leaf */

enum bfs_item_type {
	BFS_T_INODE = 1,
	BFS_T_DIRENT = 2,
	BFS_T_INLINE = 3,
	BFS_T_EXTENT = 4,
	BFS_T_XATTR = 5,
	BFS_T_ORPHAN = 6,
	BFS_T_REFCOUNT = 7, /* (0, REFCOUNT, disk block): shared block */
};

#define BFS_OFF_MASK ((1ull << 56) - 1)

static inline struct bfs_key bfs_key_make(uint64_t id, unsigned int type,
					  uint64_t off)
{
	struct bfs_key k = { id, (uint64_t)type << 56 | (off & BFS_OFF_MASK) };

	return k;
}

static inline unsigned int bfs_key_type(struct bfs_key k)
{
	return (unsigned int)(k.tk >> 56);
}

static inline uint64_t bfs_key_off(struct bfs_key k)
{
	return k.tk & BFS_OFF_MASK;
}

static inline int bfs_key_cmp(struct bfs_key a, struct bfs_key b)
{
	if (a.id != b.id)
		return a.id < b.id ? -1 : 1;
	if (a.tk != b.tk)
		return a.tk < b.tk ? -1 : 1;
	return 0;
}

/* --- item values ----------------------------------------------------------- */

#define BFS_INODE_INLINE (1u << 0)
#define BFS_INODE_ACL (1u << 1)  /* has system.posix_acl_access */
#define BFS_INODE_DACL (1u << 2) /* has system.posix_acl_default */

struct bfs_dinode {
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks;
	int64_t atime;
	int64_t mtime;
	int64_t ctime;
	int64_t btime;
	uint32_t atime_ns;
	uint32_t mtime_ns;
	uint32_t ctime_ns;
	uint32_t btime_ns;
	uint32_t flags;
	uint32_t reserved0;
	uint64_t parent; /* directories: the parent's inode number */
	uint8_t reserved[24];
};
_Static_assert(sizeof(struct bfs_dinode) == 128, "dinode");
_Static_assert(offsetof(struct bfs_dinode, parent) == 0x60, "parent");

struct bfs_ddirent {
	uint64_t ino;
	uint8_t dtype;
	uint8_t name_len;
	char name[];
} __attribute__((packed));
_Static_assert(sizeof(struct bfs_ddirent) == 10, "dirent");

#define BFS_EXT_UNWRITTEN (1u << 0)
#define BFS_EXT_SHARED (1u << 1) /* blocks may have REFCOUNT items */
#define BFS_EXT_MAX 32768u

struct bfs_dextent {
	uint64_t disk;
	uint32_t count;
	uint32_t flags;
};
_Static_assert(sizeof(struct bfs_dextent) == 16, "extent");

/* Chunk 0 of an xattr: this header, the name, the first value bytes. */
struct bfs_dxattr {
	uint8_t ns;        /* BFS_XNS_* */
	uint8_t name_len;  /* 1 .. 255, the name without its namespace */
	uint16_t reserved; /* 0 */
	uint32_t value_len; /* 0 .. BFS_XATTR_VALUE_MAX */
	char name[];
};
_Static_assert(sizeof(struct bfs_dxattr) == 8, "xattr");

enum { BFS_XNS_USER, BFS_XNS_TRUSTED, BFS_XNS_SECURITY, BFS_XNS_SYSTEM };

/* A block referenced by @refs >= 2 extents (reflink). */
struct bfs_drefcount {
	uint32_t refs;
	uint32_t reserved;
};
_Static_assert(sizeof(struct bfs_drefcount) == 8, "refcount");

#define BFS_INLINE_CHUNK 1024u
#define BFS_INLINE_FILE_MAX 2048u
#define BFS_INLINE_LINK_MAX 4095u
#define BFS_XATTR_VALUE_MAX 65536u
#define BFS_XATTR_CHUNK 1024u /* value bytes per XATTR item */

#endif /* VHOSTFS_BFS_FORMAT_H */
