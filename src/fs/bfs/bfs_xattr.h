/* SPDX-License-Identifier: MIT */
/*
 * bfs_xattr.h - extended attributes as XATTR items (xattr.c) and POSIX
 * ACLs kept in them (acl.c).  docs/FORMAT.md "Items" has the layout.
 */
#ifndef VHOSTFS_BFS_XATTR_H
#define VHOSTFS_BFS_XATTR_H

#include "bfs_internal.h"

/* A name split into namespace and suffix, with its hash. */
struct bfs_xname {
	uint8_t ns;
	uint8_t len;
	const char *name; /* the suffix, not NUL-terminated at len */
	uint64_t hash;    /* 40 bits */
};

/* Parse "user.x" etc.: 0, -EOPNOTSUPP (namespace), -EINVAL, -ERANGE. */
int bfs_xname_parse(const struct bfs *fs, const char *full,
		    struct bfs_xname *x);
/*
 * Find @x of @ino: 0 (*@k the key of chunk 0, *@vlen the value's length),
 * -ENOENT (*@k the key it would take; off BFS_OFF_MASK when no slot is
 * left), BFS_AGAIN, -EUCLEAN.
 */
int bfs_xattr_find(struct bfs *fs, uint64_t ino, const struct bfs_xname *x,
		   struct bfs_key *k, uint32_t *vlen);
/* Copy the @vlen value bytes of the xattr at @k into @buf. */
int bfs_xattr_value(struct bfs *fs, struct bfs_key k, uint32_t vlen,
		    uint8_t *buf);
/* Prepare: cache the paths of the chunks of an old and a new value. */
int bfs_xattr_paths(struct bfs *fs, struct bfs_key k, uint32_t oldlen,
		    bool exists, uint32_t newlen);
/* Apply: the value at @k becomes @val (@old chunks existed, or none). */
int bfs_xattr_store(struct bfs *fs, struct bfs_key k,
		    const struct bfs_xname *x, const uint8_t *val,
		    uint32_t len, uint32_t oldlen, bool exists);
/* Apply: remove the xattr at @k (value of @oldlen bytes). */
int bfs_xattr_remove(struct bfs *fs, struct bfs_key k, uint32_t oldlen);
/* Tree blocks a store may dirty or allocate (journal room, space). */
uint64_t bfs_xattr_blocks(const struct bfs *fs, uint32_t oldlen,
			  uint32_t newlen);
/* The step may dirty @blocks: 0, or BFS_ASYNC after waiting a commit. */
int bfs_xattr_room(struct bfs_op *op, uint64_t blocks);

/* --- POSIX ACLs (acl.c) ---------------------------------------------------- */

#define BFS_ACL_MAX_ENTRIES 512u
#define BFS_ACL_MAX_BYTES (4u + 8u * BFS_ACL_MAX_ENTRIES)

struct bfs_acl {
	uint32_t n;
	struct {
		uint16_t tag;
		uint16_t perm;
		uint32_t id;
	} e[BFS_ACL_MAX_ENTRIES];
};

/* Parse and validate the Linux xattr form: 0, -EINVAL, -E2BIG. */
int bfs_acl_parse(const uint8_t *v, size_t len, struct bfs_acl *acl);
/* The Linux xattr form of @acl into @out; its length. */
size_t bfs_acl_encode(const struct bfs_acl *acl, uint8_t *out);
/* Permission bits the ACL means for the mode; true when it is only that. */
bool bfs_acl_equiv_mode(const struct bfs_acl *acl, uint32_t *mode);
/* Read @ino's ACL of @ns name @which ("posix_acl_access"...): 0/-ENOENT. */
int bfs_acl_read(struct bfs *fs, uint64_t ino, bool dflt,
		 struct bfs_acl *acl);

/*
 * setxattr of system.posix_acl_*: the prepare/apply step (acl.c), called
 * by the setxattr step once permissions were checked.  @value NULL:
 * removexattr.
 */
int bfs_acl_set_run(struct bfs_op *op, uint64_t ino, struct bfs_dinode *d,
		    const struct bfs_xname *x, const void *value,
		    size_t size);

/* What a new inode gets from its parent's default ACL (names.c). */
struct bfs_acl_inherit {
	bool have;          /* the parent has a default ACL */
	bool access;        /* store an access ACL */
	bool dflt;          /* store a default ACL (directories) */
	uint32_t mode;      /* the permission bits to use */
	uint32_t alen, dlen;
	uint8_t abuf[BFS_ACL_MAX_BYTES];
	uint8_t dbuf[BFS_ACL_MAX_BYTES];
	struct bfs_key ak, dk;
};

/* Prepare: read @pd's default ACL, compute mode and ACLs of @mode. */
int bfs_acl_inherit_prepare(struct bfs *fs, uint64_t parent,
			    const struct bfs_dinode *pd, uint64_t ino,
			    mode_t mode, struct bfs_acl_inherit *ih);
/* Apply: store the ACLs of the new inode @ino. */
int bfs_acl_inherit_apply(struct bfs *fs, uint64_t ino,
			  const struct bfs_acl_inherit *ih);

/* chmod: prepare reads the ACL to change, apply rewrites it. */
struct bfs_acl_chmod {
	bool have;
	struct bfs_key k;
	uint32_t len;
	uint8_t buf[BFS_ACL_MAX_BYTES];
};
int bfs_acl_chmod_prepare(struct bfs *fs, uint64_t ino,
			  const struct bfs_dinode *d,
			  struct bfs_acl_chmod *cm);
int bfs_acl_chmod_apply(struct bfs *fs, struct bfs_acl_chmod *cm,
			uint32_t mode);

/* --- fs_ops (xattr.c) ------------------------------------------------------ */

void bfs_setxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		  const char *name, const void *value, size_t size, int flags);
void bfs_getxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		  const char *name, void *buf, size_t size, size_t *len);
void bfs_listxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		   char *buf, size_t size, size_t *len);
void bfs_removexattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		     const char *name);

#endif
