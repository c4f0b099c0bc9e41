// SPDX-License-Identifier: MIT
/*
 * names.c - operations that add names: lookup, mknod, mkdir, symlink,
 * create (its namespace half), link.  Each is one prepare/apply step
 * (docs/DESIGN.md "Operations: prepare, then apply").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_names.h"
#include "bfs_xattr.h"
#include "iset.h"

int iset_get(struct bfs *fs, struct iset *s, uint64_t ino,
	     struct bfs_dinode **out)
{
	int rc;

	for (unsigned int i = 0; i < s->n; i++) {
		if (s->e[i].ino == ino) {
			*out = &s->e[i].d;
			return 0;
		}
	}
	if (s->n == ISET_MAX)
		return -EIO;
	rc = bfs_dinode_read(fs, ino, &s->e[s->n].d);
	if (rc)
		return rc;
	s->e[s->n].ino = ino;
	s->e[s->n].dirty = false;
	*out = &s->e[s->n++].d;
	return 0;
}

void iset_dirty(struct iset *s, struct bfs_dinode *d, bool mtime, bool ctime)
{
	for (unsigned int i = 0; i < s->n; i++) {
		if (&s->e[i].d == d)
			s->e[i].dirty = true;
	}
	bfs_touch(d, mtime, ctime);
}

int iset_write(struct bfs *fs, struct iset *s)
{
	for (unsigned int i = 0; i < s->n; i++) {
		int rc;

		if (!s->e[i].dirty)
			continue;
		rc = bfs_dinode_write(fs, s->e[i].ino, &s->e[i].d);
		if (rc)
			return rc;
	}
	return 0;
}

/* A directory the caller may search (X) and, with @write, change. */
int bfs_dir_access(struct bfs *fs, uint64_t ino, const struct fs_cred *cr,
		   const struct bfs_dinode *d, bool write)
{
	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	if (d->nlink == 0)
		return -ENOENT;
	return bfs_perm_acl(fs, ino, cr, d, write ? W_OK | X_OK : X_OK);
}

/* The caller's reference to @ino, described in @out. */
void bfs_entry_fill(struct bfs_inode *in, const struct bfs_dinode *d,
		    struct fs_entry *out)
{
	in->refs++;
	out->inode = (struct fs_inode *)in;
	bfs_dinode_to_stat(d, in->ino, &out->attr);
}

/* Apply: a failure now means the fs is inconsistent in memory. */
int bfs_apply_check(struct bfs *fs, int rc)
{
	if (rc)
		bfs_fail(fs, "a change could not be applied");
	return rc ? -EIO : 0;
}

/* --- lookup ---------------------------------------------------------------- */

int bfs_lookup_run(struct bfs_op *op)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	struct bfs *fs = op->fs;
	struct bfs_dinode pd, d;
	uint64_t de_ino;
	struct bfs_inode *in;
	struct bfs_key k;
	int rc = bfs_dinode_read(fs, a->parent->ino, &pd);

	if (rc == 0)
		rc = bfs_dir_access(fs, a->parent->ino, &op->call->cred, &pd,
				    false);
	if (rc == 0)
		rc = bfs_dirent_find(fs, a->parent->ino, a->name, &k, &de_ino);
	if (rc == 0)
		rc = bfs_dinode_read(fs, de_ino, &d);
	if (rc)
		return rc;
	in = bfs_inode_get(fs, de_ino);
	if (!in)
		return -ENOMEM;
	bfs_entry_fill(in, &d, a->entry);
	return 0;
}

/* --- new inodes -------------------------------------------------------------- */

static mode_t new_mode(const struct fs_cred *cr, const struct bfs_dinode *pd,
		       mode_t mode, const struct bfs_acl_inherit *ih)
{
	/* a default ACL replaces the umask (acl.c) */
	mode_t perm = ih->have ? ih->mode : mode & 07777 & ~(mode_t)cr->umask;

	if (S_ISLNK(mode))
		perm = 0777;
	if (S_ISDIR(mode) && (pd->mode & S_ISGID))
		perm |= S_ISGID;
	return (mode & S_IFMT) | perm;
}

static void new_dinode(const struct bfs_op *op, const struct bfs_dinode *pd,
		       const struct bfs_acl_inherit *ih, struct bfs_dinode *d)
{
	const struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	const struct fs_cred *cr = &op->call->cred;
	uint32_t gid = (pd->mode & S_ISGID) ? pd->gid : cr->gid;

	bfs_dinode_init(d, new_mode(cr, pd, a->mode, ih), cr->uid, gid,
			S_ISCHR(a->mode) || S_ISBLK(a->mode) ? a->rdev : 0);
	if (S_ISDIR(a->mode)) {
		d->nlink = 2;
		d->parent = a->parent->ino;
	}
	if (S_ISREG(a->mode) || S_ISLNK(a->mode))
		d->flags = BFS_INODE_INLINE;
	if (S_ISLNK(a->mode))
		d->size = strlen(a->target);
	if (ih->have)
		d->flags |= (ih->access ? BFS_INODE_ACL : 0) |
			    (ih->dflt ? BFS_INODE_DACL : 0);
}

static int dirent_put(struct bfs *fs, struct bfs_key k, const char *name,
		      uint64_t ino, mode_t mode)
{
	uint8_t buf[BFS_DIRENT_MAX];

	return bfs_tree_insert(fs, k, buf, bfs_dirent_encode(buf, name, ino, mode));
}

/* Prepare: the paths of the new inode's items are cached. */
static int new_paths(struct bfs *fs, uint64_t ino, size_t chunks)
{
	struct bfs_path p;
	int rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_INODE, 0), &p);

	for (size_t c = 0; rc == -ENOENT && c < chunks; c++)
		rc = bfs_tree_search(fs, bfs_key_make(ino, BFS_T_INLINE, c), &p);
	return rc == -ENOENT ? 0 : rc == 0 ? -EUCLEAN : rc;
}

static int inline_put(struct bfs *fs, uint64_t ino, const char *data,
		      size_t len)
{
	for (size_t off = 0; off < len; off += BFS_INLINE_CHUNK) {
		size_t n = len - off < BFS_INLINE_CHUNK ? len - off
							 : BFS_INLINE_CHUNK;
		int rc = bfs_tree_insert(
			fs, bfs_key_make(ino, BFS_T_INLINE, off / BFS_INLINE_CHUNK),
			data + off, (uint16_t)n);

		if (rc)
			return rc;
	}
	return 0;
}

/* O_TMPFILE: no name, an orphan from birth that link() may still name. */
static int tmpfile_apply(struct bfs_op *op, struct bfs_inode *in,
			 struct bfs_dinode *d,
			 const struct bfs_acl_inherit *ih)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	struct bfs *fs = op->fs;
	int rc;

	d->nlink = 0;
	rc = bfs_tree_insert(fs, bfs_key_make(in->ino, BFS_T_INODE, 0), d,
			     sizeof(*d));
	if (rc == 0)
		rc = bfs_orphan_add(fs, in->ino);
	if (rc == 0 && ih->have)
		rc = bfs_acl_inherit_apply(fs, in->ino, ih);
	fs->st.next_ino++;
	fs->st.inodes++;
	in->unlinked = true;
	in->linkable = true;
	if (rc == 0)
		bfs_entry_fill(in, d, a->entry);
	return bfs_apply_check(fs, rc);
}

static int new_apply(struct bfs_op *op, struct iset *s, struct bfs_dinode *pd,
		     struct bfs_key k, struct bfs_inode *in,
		     const struct bfs_acl_inherit *ih)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	struct bfs *fs = op->fs;
	struct bfs_dinode d;
	int rc;

	new_dinode(op, pd, ih, &d);
	if (!a->name)
		return tmpfile_apply(op, in, &d, ih);
	rc = bfs_tree_insert(fs, bfs_key_make(in->ino, BFS_T_INODE, 0), &d,
			     sizeof(d));
	if (rc == 0)
		rc = dirent_put(fs, k, a->name, in->ino, d.mode);
	if (rc == 0 && S_ISLNK(d.mode))
		rc = inline_put(fs, in->ino, a->target, d.size);
	if (rc == 0 && ih->have)
		rc = bfs_acl_inherit_apply(fs, in->ino, ih);
	pd->size++;
	pd->nlink += S_ISDIR(d.mode) ? 1 : 0;
	iset_dirty(s, pd, true, true);
	if (rc == 0)
		rc = iset_write(fs, s);
	fs->st.next_ino++;
	fs->st.inodes++;
	if (rc == 0)
		bfs_entry_fill(in, &d, a->entry);
	return bfs_apply_check(fs, rc);
}

int bfs_new_run(struct bfs_op *op)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	struct bfs *fs = op->fs;
	struct iset s = { 0 };
	struct bfs_dinode *pd;
	struct bfs_inode *in;
	struct bfs_key k = { 0, 0 };
	size_t chunks = 0;
	struct bfs_acl_inherit ih;
	int rc = iset_get(fs, &s, a->parent->ino, &pd);

	if (rc) /* no parent record (-ENOENT too): nothing to create in */
		return rc;
	rc = bfs_dir_access(fs, a->parent->ino, &op->call->cred, pd, true);
	if (rc == 0 && !a->name) { /* tmpfile: no name, an ORPHAN item */
		rc = bfs_orphan_path(fs, fs->st.next_ino);
		rc = rc ? rc : -ENOENT;
	} else if (rc == 0) {
		rc = bfs_dirent_find(fs, a->parent->ino, a->name, &k, NULL);
	}
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	if (a->name && bfs_key_off(k) == BFS_OFF_MASK)
		return -ENOSPC; /* 256 names share this hash */
	if (S_ISLNK(a->mode))
		chunks = (strlen(a->target) + BFS_INLINE_CHUNK - 1) /
			 BFS_INLINE_CHUNK;
	rc = new_paths(fs, fs->st.next_ino, chunks);
	if (rc == 0)
		rc = bfs_acl_inherit_prepare(fs, a->parent->ino, pd,
					     fs->st.next_ino, a->mode, &ih);
	if (rc == 0 && ih.have)
		chunks += 2 * (1 + BFS_ACL_MAX_BYTES / BFS_XATTR_CHUNK);
	if (rc == 0)
		rc = bfs_space_check(op, (3 + chunks) * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	in = bfs_inode_get(fs, fs->st.next_ino);
	if (!in || (a->prepare && a->prepare(op, in) != 0)) {
		if (in)
			bfs_inode_check_free(fs, in);
		return -ENOMEM;
	}
	return new_apply(op, &s, pd, k, in, &ih);
}

/* --- link -------------------------------------------------------------------- */

int bfs_link_run(struct bfs_op *op)
{
	struct bfs_name_args *a = BFS_ARGS(op, struct bfs_name_args);
	struct bfs *fs = op->fs;
	struct iset s = { 0 };
	struct bfs_dinode *pd, *d;
	struct bfs_key k;
	int rc = iset_get(fs, &s, a->parent->ino, &pd);

	if (rc == 0)
		rc = iset_get(fs, &s, a->inode->ino, &d);
	if (rc == 0)
		rc = bfs_dir_access(fs, a->parent->ino, &op->call->cred, pd,
				    true);
	if (rc)
		return rc;
	if (S_ISDIR(d->mode))
		return -EPERM;
	/* an O_TMPFILE file may get its first name (Linux's I_LINKABLE) */
	if (d->nlink == 0 && !a->inode->linkable)
		return -ENOENT;
	if (d->nlink >= 65000)
		return -EMLINK;
	if (d->nlink == 0)
		rc = bfs_orphan_path(fs, a->inode->ino);
	if (rc == 0)
		rc = bfs_dirent_find(fs, a->parent->ino, a->name, &k, NULL);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	if (bfs_key_off(k) == BFS_OFF_MASK)
		return -ENOSPC;
	rc = bfs_space_check(op, 2 * bfs_tree_split_need(fs));
	if (rc)
		return rc;
	if (d->nlink == 0) {
		rc = bfs_tree_delete(fs, bfs_key_make(0, BFS_T_ORPHAN,
						      a->inode->ino));
		a->inode->unlinked = false;
		a->inode->linkable = false;
	}
	if (rc == 0)
		rc = dirent_put(fs, k, a->name, a->inode->ino, d->mode);
	d->nlink++;
	iset_dirty(&s, d, false, true);
	pd->size++;
	iset_dirty(&s, pd, true, true);
	if (rc == 0)
		rc = iset_write(fs, &s);
	if (rc == 0)
		bfs_entry_fill(a->inode, d, a->entry);
	return bfs_apply_check(fs, rc);
}
