// SPDX-License-Identifier: MIT
/*
 * xattr.c - extended attributes: XATTR items keyed by a hash of the name,
 * a value split into chunks of 1024 bytes (docs/FORMAT.md "Items"), and
 * setxattr, getxattr, listxattr and removexattr with the namespace and
 * permission rules of Linux.  A set or remove is one prepare/apply step,
 * so a value is never seen half replaced, even after a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/xattr.h>

#include "bfs_xattr.h"

#define HDR sizeof(struct bfs_dxattr)

static const struct {
	const char *prefix;
	size_t len;
} xns[] = {
	[BFS_XNS_USER] = { "user.", 5 },
	[BFS_XNS_TRUSTED] = { "trusted.", 8 },
	[BFS_XNS_SECURITY] = { "security.", 9 },
	[BFS_XNS_SYSTEM] = { "system.", 7 },
};

int bfs_xname_parse(const struct bfs *fs, const char *full,
		    struct bfs_xname *x)
{
	size_t n = strnlen(full, 256);

	if (n > 255)
		return -ERANGE;
	for (uint8_t i = 0; i < sizeof(xns) / sizeof(xns[0]); i++) {
		if (strncmp(full, xns[i].prefix, xns[i].len))
			continue;
		x->ns = i;
		x->name = full + xns[i].len;
		x->len = (uint8_t)(n - xns[i].len);
		if (!x->len)
			return -EINVAL;
		if (i == BFS_XNS_SYSTEM &&
		    strcmp(x->name, "posix_acl_access") &&
		    strcmp(x->name, "posix_acl_default"))
			return -EOPNOTSUPP;
		x->hash = bfs_name_hash(fs, full, n) & ((1ull << 40) - 1);
		return 0;
	}
	return -EOPNOTSUPP;
}

static uint32_t chunks(uint32_t len)
{
	return len ? (len + BFS_XATTR_CHUNK - 1) / BFS_XATTR_CHUNK : 1;
}

static struct bfs_key chunk_key(struct bfs_key k, uint32_t c)
{
	return bfs_key_make(k.id, BFS_T_XATTR, bfs_key_off(k) + c);
}

/* Chunk 0's header checked against its item length. */
static int hdr_get(const void *v, uint16_t len, struct bfs_dxattr *h)
{
	uint32_t first;

	if (len < HDR)
		return -EUCLEAN;
	memcpy(h, v, HDR);
	first = h->value_len < BFS_XATTR_CHUNK ? h->value_len : BFS_XATTR_CHUNK;
	if (h->reserved || h->ns > BFS_XNS_SYSTEM || !h->name_len ||
	    h->value_len > BFS_XATTR_VALUE_MAX ||
	    len != HDR + h->name_len + first)
		return -EUCLEAN;
	return 0;
}

int bfs_xattr_find(struct bfs *fs, uint64_t ino, const struct bfs_xname *x,
		   struct bfs_key *k, uint32_t *vlen)
{
	uint64_t h = x->hash << 16;
	uint8_t used[32] = { 0 };
	struct bfs_path p;
	int rc = bfs_tree_seek(fs, bfs_key_make(ino, BFS_T_XATTR, h), &p);

	for (; rc == 0; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key ik = bfs_path_key(&p);
		uint64_t off = bfs_key_off(ik);
		struct bfs_dxattr d;
		uint16_t len;
		const uint8_t *v = bfs_path_val(&p, &len);

		if (ik.id != ino || bfs_key_type(ik) != BFS_T_XATTR ||
		    (off & ~0xffffull) != h)
			break;
		if (off & 0xff)
			continue;
		if (hdr_get(v, len, &d))
			return -EUCLEAN;
		used[(off >> 8 & 0xff) / 8] |= (uint8_t)(1u << (off >> 8 & 7));
		if (d.ns == x->ns && d.name_len == x->len &&
		    !memcmp(v + HDR, x->name, x->len)) {
			*k = ik;
			*vlen = d.value_len;
			return 0;
		}
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	for (unsigned int n = 0; n < 256; n++) {
		if (!(used[n / 8] >> (n % 8) & 1)) {
			*k = bfs_key_make(ino, BFS_T_XATTR,
					  h | (uint64_t)n << 8);
			return -ENOENT;
		}
	}
	*k = bfs_key_make(ino, BFS_T_XATTR, BFS_OFF_MASK);
	return -ENOENT;
}

int bfs_xattr_value(struct bfs *fs, struct bfs_key k, uint32_t vlen,
		    uint8_t *buf)
{
	for (uint32_t c = 0; c < chunks(vlen); c++) {
		uint32_t at = c * BFS_XATTR_CHUNK, n = vlen - at, skip = 0;
		struct bfs_path p;
		struct bfs_dxattr d;
		uint16_t len;
		const uint8_t *v;
		int rc = bfs_tree_search(fs, chunk_key(k, c), &p);

		if (rc)
			return rc == -ENOENT ? -EUCLEAN : rc;
		v = bfs_path_val(&p, &len);
		n = n < BFS_XATTR_CHUNK ? n : BFS_XATTR_CHUNK;
		if (c == 0) {
			if (hdr_get(v, len, &d) || d.value_len != vlen)
				return -EUCLEAN;
			skip = (uint32_t)HDR + d.name_len;
		}
		if (len != skip + n)
			return -EUCLEAN;
		memcpy(buf + at, v + skip, n);
	}
	return 0;
}

int bfs_xattr_paths(struct bfs *fs, struct bfs_key k, uint32_t oldlen,
		    bool exists, uint32_t newlen)
{
	uint32_t n = chunks(newlen), o = exists ? chunks(oldlen) : 0;

	for (uint32_t c = 0; c < (n > o ? n : o); c++) {
		struct bfs_path p;
		int rc = bfs_tree_search(fs, chunk_key(k, c), &p);

		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	return 0;
}

static int put(struct bfs *fs, struct bfs_key k, const void *v, uint16_t len)
{
	int rc = bfs_tree_update(fs, k, v, len);

	return rc == -ENOENT ? bfs_tree_insert(fs, k, v, len) : rc;
}

int bfs_xattr_store(struct bfs *fs, struct bfs_key k,
		    const struct bfs_xname *x, const uint8_t *val,
		    uint32_t len, uint32_t oldlen, bool exists)
{
	uint8_t buf[HDR + 255 + BFS_XATTR_CHUNK];
	struct bfs_dxattr h = { .ns = x->ns, .name_len = x->len,
				.value_len = len };
	uint32_t n = chunks(len), o = exists ? chunks(oldlen) : 0;
	uint32_t first = len < BFS_XATTR_CHUNK ? len : BFS_XATTR_CHUNK;
	int rc;

	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, x->name, x->len);
	if (first)
		memcpy(buf + HDR + x->len, val, first);
	rc = put(fs, k, buf, (uint16_t)(HDR + x->len + first));
	for (uint32_t c = 1; rc == 0 && c < n; c++) {
		uint32_t at = c * BFS_XATTR_CHUNK, m = len - at;

		m = m < BFS_XATTR_CHUNK ? m : BFS_XATTR_CHUNK;
		rc = put(fs, chunk_key(k, c), val + at, (uint16_t)m);
	}
	for (uint32_t c = n; rc == 0 && c < o; c++)
		rc = bfs_tree_delete(fs, chunk_key(k, c));
	return rc;
}

int bfs_xattr_remove(struct bfs *fs, struct bfs_key k, uint32_t oldlen)
{
	int rc = 0;

	for (uint32_t c = 0; rc == 0 && c < chunks(oldlen); c++)
		rc = bfs_tree_delete(fs, chunk_key(k, c));
	return rc;
}

uint64_t bfs_xattr_blocks(const struct bfs *fs, uint32_t oldlen,
			  uint32_t newlen)
{
	/* about two chunks per leaf, a split may climb to a new root */
	return chunks(oldlen) + chunks(newlen) + 2 * bfs_tree_split_need(fs);
}

static void room_cpl(void *arg, int err)
{
	struct bfs_op *op = arg;

	if (err) {
		bfs_op_done(op, err);
		return;
	}
	bfs_op_run(op);
}

int bfs_xattr_room(struct bfs_op *op, uint64_t blocks)
{
	struct bfs *fs = op->fs;
	size_t dirty = fs->cache.dirty.n;

	/* like op.c's commit_room, for a step larger than BFS_STEP_BLOCKS */
	if (dirty == 0 || dirty + blocks <= fs->sb.journal_blocks / 2)
		return 0;
	op->wait.cb = room_cpl;
	op->wait.arg = op;
	bfs_commit_wait(fs, &op->wait);
	return BFS_ASYNC;
}

/* --- permissions ------------------------------------------------------------ */

/* Linux's xattr_permission() plus the capability rules of commoncap. */
static int xperm(struct bfs *fs, uint64_t ino, const struct fs_cred *cr,
		 const struct bfs_dinode *d, const struct bfs_xname *x,
		 bool write)
{
	bool root = cr->uid == 0;

	switch (x->ns) {
	case BFS_XNS_TRUSTED:
		return root ? 0 : write ? -EPERM : -ENODATA;
	case BFS_XNS_SECURITY:
		return !write || root ? 0 : -EPERM;
	case BFS_XNS_SYSTEM:
		if (S_ISLNK(d->mode))
			return -EOPNOTSUPP;
		return !write || root || cr->uid == d->uid ? 0 : -EPERM;
	default:
		break;
	}
	if (!S_ISREG(d->mode) && !S_ISDIR(d->mode))
		return write ? -EPERM : -ENODATA;
	if (write && S_ISDIR(d->mode) && (d->mode & S_ISVTX) && !root &&
	    cr->uid != d->uid)
		return -EPERM;
	return bfs_perm_acl(fs, ino, cr, d, write ? W_OK : R_OK);
}

/* --- operations ---------------------------------------------------------------- */

struct xattr_args {
	struct bfs_inode *inode;
	const char *name;
	const void *value;
	void *buf;
	size_t size;
	size_t *len;
	int flags;
};
BFS_ARGS_FIT(struct xattr_args);

static struct xattr_args *xargs(struct bfs_op *op)
{
	return BFS_ARGS(op, struct xattr_args);
}

/* Common start: the inode, the parsed name, the permission. */
static int xstart(struct bfs_op *op, struct bfs_dinode *d,
		  struct bfs_xname *x, bool write)
{
	struct xattr_args *a = xargs(op);
	int rc = bfs_xname_parse(op->fs, a->name, x);

	if (rc == 0)
		rc = bfs_dinode_read(op->fs, a->inode->ino, d);
	if (rc == 0)
		rc = xperm(op->fs, a->inode->ino, &op->call->cred, d, x, write);
	return rc;
}

static int set_run(struct bfs_op *op)
{
	struct xattr_args *a = xargs(op);
	struct bfs *fs = op->fs;
	uint32_t old = 0, len = (uint32_t)a->size;
	struct bfs_dinode d;
	struct bfs_xname x;
	struct bfs_key k;
	bool exists;
	int rc = xstart(op, &d, &x, true);

	if (rc)
		return rc;
	if (x.ns == BFS_XNS_SYSTEM)
		return bfs_acl_set_run(op, a->inode->ino, &d, &x, a->value,
				       a->size);
	rc = bfs_xattr_find(fs, a->inode->ino, &x, &k, &old);
	exists = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	if ((a->flags & XATTR_CREATE) && exists)
		return -EEXIST;
	if ((a->flags & XATTR_REPLACE) && !exists)
		return -ENODATA;
	if (!exists && bfs_key_off(k) == BFS_OFF_MASK)
		return -ENOSPC;
	rc = bfs_xattr_paths(fs, k, old, exists, len);
	if (rc == 0)
		rc = bfs_xattr_room(op, bfs_xattr_blocks(fs, old, len));
	if (rc == 0)
		rc = bfs_space_check(op, bfs_xattr_blocks(fs, 0, len));
	if (rc)
		return rc;
	rc = bfs_xattr_store(fs, k, &x, a->value, len, old, exists);
	bfs_touch(&d, false, true);
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, &d);
	return bfs_apply_check2(fs, rc);
}

static int get_run(struct bfs_op *op)
{
	struct xattr_args *a = xargs(op);
	struct bfs_dinode d;
	struct bfs_xname x;
	struct bfs_key k;
	uint32_t vlen;
	int rc = xstart(op, &d, &x, false);

	if (rc == 0 && x.ns == BFS_XNS_SYSTEM && !S_ISDIR(d.mode) &&
	    !strcmp(x.name, "posix_acl_default"))
		return -ENODATA;
	if (rc == 0)
		rc = bfs_xattr_find(op->fs, a->inode->ino, &x, &k, &vlen);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	if (a->size && a->size < vlen)
		return -ERANGE;
	if (a->size)
		rc = bfs_xattr_value(op->fs, k, vlen, a->buf);
	if (rc == 0)
		*a->len = vlen;
	return rc;
}

/* Append "prefix" "name" NUL for the chunk-0 item @v to the list. */
static int list_one(struct xattr_args *a, const struct fs_cred *cr,
		    const uint8_t *v, uint16_t len, size_t *total)
{
	struct bfs_dxattr d;
	size_t n;
	char *out = a->buf;

	if (hdr_get(v, len, &d))
		return -EUCLEAN;
	if (d.ns == BFS_XNS_TRUSTED && cr->uid != 0)
		return 0;
	n = xns[d.ns].len + d.name_len + 1;
	if (a->size && *total + n <= a->size) {
		memcpy(out + *total, xns[d.ns].prefix, xns[d.ns].len);
		memcpy(out + *total + xns[d.ns].len, v + HDR, d.name_len);
		out[*total + n - 1] = 0;
	}
	*total += n;
	return 0;
}

static int list_run(struct bfs_op *op)
{
	struct xattr_args *a = xargs(op);
	uint64_t ino = a->inode->ino;
	struct bfs_dinode d;
	struct bfs_path p;
	size_t total = 0;
	int rc = bfs_dinode_read(op->fs, ino, &d);

	if (rc == 0)
		rc = bfs_tree_seek(op->fs, bfs_key_make(ino, BFS_T_XATTR, 0),
				   &p);
	for (; rc == 0; rc = bfs_tree_next(op->fs, &p)) {
		struct bfs_key k = bfs_path_key(&p);
		uint16_t len;
		const uint8_t *v = bfs_path_val(&p, &len);

		if (k.id != ino || bfs_key_type(k) != BFS_T_XATTR)
			break;
		if (bfs_key_off(k) & 0xff)
			continue;
		rc = list_one(a, &op->call->cred, v, len, &total);
		if (rc)
			return rc;
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (a->size && total > a->size)
		return total > 65536 ? -E2BIG : -ERANGE;
	*a->len = total;
	return 0;
}

static int remove_run(struct bfs_op *op)
{
	struct xattr_args *a = xargs(op);
	struct bfs *fs = op->fs;
	struct bfs_dinode d;
	struct bfs_xname x;
	struct bfs_key k;
	uint32_t old;
	int rc = xstart(op, &d, &x, true);

	if (rc)
		return rc;
	if (x.ns == BFS_XNS_SYSTEM)
		return bfs_acl_set_run(op, a->inode->ino, &d, &x, NULL, 0);
	rc = bfs_xattr_find(fs, a->inode->ino, &x, &k, &old);
	if (rc == 0)
		rc = bfs_xattr_paths(fs, k, old, true, 0);
	if (rc == 0)
		rc = bfs_xattr_room(op, bfs_xattr_blocks(fs, old, 0));
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	rc = bfs_xattr_remove(fs, k, old);
	bfs_touch(&d, false, true);
	if (rc == 0)
		rc = bfs_dinode_write(fs, a->inode->ino, &d);
	return bfs_apply_check2(fs, rc);
}

static struct bfs_op *xop(struct fs *fs, struct fs_call *c,
			  struct fs_inode *in, const char *name,
			  bfs_run_fn run, uint32_t flags)
{
	struct bfs_op *op = bfs_op_init(bfs_of(fs), c, run, flags);

	xargs(op)->inode = (struct bfs_inode *)in;
	xargs(op)->name = name;
	return op;
}

void bfs_setxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		  const char *name, const void *value, size_t size, int flags)
{
	struct bfs_op *op;

	if (size > BFS_XATTR_VALUE_MAX) {
		fs_call_complete(c, -E2BIG);
		return;
	}
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	op = xop(fs, c, in, name, set_run, BFS_OP_MUTATES);
	xargs(op)->value = value;
	xargs(op)->size = size;
	xargs(op)->flags = flags;
	bfs_op_submit(op);
}

void bfs_getxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		  const char *name, void *buf, size_t size, size_t *len)
{
	struct bfs_op *op = xop(fs, c, in, name, get_run, 0);

	xargs(op)->buf = buf;
	xargs(op)->size = size;
	xargs(op)->len = len;
	bfs_op_submit(op);
}

void bfs_listxattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		   char *buf, size_t size, size_t *len)
{
	struct bfs_op *op = xop(fs, c, in, NULL, list_run, 0);

	xargs(op)->buf = buf;
	xargs(op)->size = size;
	xargs(op)->len = len;
	bfs_op_submit(op);
}

void bfs_removexattr(struct fs *fs, struct fs_call *c, struct fs_inode *in,
		     const char *name)
{
	bfs_op_submit(xop(fs, c, in, name, remove_run, BFS_OP_MUTATES));
}
