// SPDX-License-Identifier: MIT
/*
 * dir.c - opendir, readdir(plus), readlink.  Offsets: 0 is ".", 1 is
 * "..", and the entry with key offset k is followed by offset k + 3
 * (docs/DESIGN.md "Metadata"), so a position never moves while the
 * directory changes.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_data.h"
#include "bfs_names.h"
#include "bfs_dir.h"

int bfs_opendir_run(struct bfs_op *op)
{
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);
	struct bfs_dinode d;
	struct bfs_file *f;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	if (rc)
		return rc;
	if (!S_ISDIR(d.mode))
		return -ENOTDIR;
	rc = bfs_perm_acl(op->fs, a->inode->ino, &op->call->cred, &d, R_OK);
	if (rc)
		return rc;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->inode = a->inode;
	f->dir = true;
	a->inode->opens++;
	a->open_out->file = (struct fs_file *)f;
	return 0;
}

/* "." and ".."; returns 1 when the reply is full. */
static int fill_dots(struct bfs_op *op, const struct bfs_dinode *d)
{
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);
	uint64_t ino = a->inode->ino;
	struct fs_entry e = { .inode = NULL };

	while (a->off < 2) {
		uint64_t who = a->off == 0 ? ino : (d->parent ? d->parent : ino);

		bfs_dinode_to_stat(d, who, &e.attr);
		if (a->fill(a->ctx, a->off ? ".." : ".", a->off + 1, who, DT_DIR,
			    a->off + 1, a->plus ? &e : NULL))
			return 1;
		a->off++;
	}
	return 0;
}

/* One entry; 1 when the reply is full, 0 to go on, BFS_AGAIN, -errno. */
static int fill_one(struct bfs_op *op, struct bfs_key k,
		    const struct bfs_ddirent *de, uint16_t len)
{
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);
	struct fs_entry e = { .inode = NULL };
	struct bfs_dinode d;
	int rc;

	if (len <= sizeof(*de) || len - sizeof(*de) != de->name_len)
		return -EUCLEAN;
	if (a->plus) {
		struct bfs_inode *in;

		rc = bfs_dinode_read(op->fs, de->ino, &d);
		if (rc)
			return rc;
		in = bfs_inode_get(op->fs, de->ino);
		if (!in)
			return -ENOMEM;
		bfs_entry_fill(in, &d, &e);
	}
	rc = a->fill(a->ctx, de->name, de->name_len, de->ino, de->dtype,
		     bfs_key_off(k) + 3, a->plus ? &e : NULL);
	if (rc)
		return 1;
	a->off = bfs_key_off(k) + 3;
	return 0;
}

int bfs_readdir_run(struct bfs_op *op)
{
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);
	struct bfs *fs = op->fs;
	uint64_t ino = a->inode->ino;
	struct bfs_dinode d;
	struct bfs_path p;
	int rc = bfs_dinode_read(fs, ino, &d);

	if (rc)
		return rc;
	if (fill_dots(op, &d))
		return 0;
	if (a->off - 2 > BFS_OFF_MASK)
		return 0; /* past the last possible entry */
	rc = bfs_tree_seek(fs, bfs_key_make(ino, BFS_T_DIRENT, a->off - 2), &p);
	for (; rc == 0; rc = bfs_tree_next(fs, &p)) {
		struct bfs_key k = bfs_path_key(&p);
		uint16_t len;
		const struct bfs_ddirent *de = bfs_path_val(&p, &len);

		if (k.id != ino || bfs_key_type(k) != BFS_T_DIRENT)
			break;
		rc = fill_one(op, k, de, len);
		if (rc)
			return rc == 1 ? 0 : rc;
	}
	return rc == -ENOENT || rc == 0 ? 0 : rc;
}

int bfs_readlink_run(struct bfs_op *op)
{
	struct bfs_dir_args *a = BFS_ARGS(op, struct bfs_dir_args);
	struct bfs_dinode d;
	size_t n;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	if (rc)
		return rc;
	if (!S_ISLNK(d.mode))
		return -EINVAL;
	if (d.size > BFS_INLINE_LINK_MAX)
		return -EUCLEAN;
	n = d.size < a->size ? d.size : a->size;
	rc = bfs_inline_read(op->fs, a->inode->ino, 0, (uint8_t *)a->buf, n);
	if (rc == 0)
		*a->len = n;
	return rc;
}
