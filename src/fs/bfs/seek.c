// SPDX-License-Identifier: MIT
/*
 * seek.c - lseek SEEK_DATA and SEEK_HOLE over a file's extents: a block
 * with an extent is data, any other block is a hole (UNWRITTEN extents
 * read as zeros and count as holes, as ext4 does), and the end of the
 * file is a hole.  An inline file is all data.  SEEK_SET/CUR/END never
 * come here: the client answers them (fs.h).
 */
#include <errno.h>
#include <unistd.h>

#include "bfs_data.h"
#include "bfs_ops_ext.h"

struct seek_args {
	struct bfs_inode *inode;
	uint64_t off;
	int whence;
	uint64_t *out;
};
BFS_ARGS_FIT(struct seek_args);

/* The first data (@data) or hole offset at or after @pos, below @size. */
static int seek_extents(struct bfs *fs, uint64_t ino, uint64_t pos,
			uint64_t size, bool data, uint64_t *out)
{
	while (pos < size) {
		uint64_t fblk = pos / BFS_BLOCK;
		struct bfs_map m;
		bool is_data;
		int rc = bfs_map(fs, ino, fblk, &m);

		if (rc)
			return rc;
		is_data = m.disk && !m.unwritten;
		if (is_data == data) {
			*out = pos;
			return 0;
		}
		if (fblk + m.len >= (size + BFS_BLOCK - 1) / BFS_BLOCK)
			break; /* this run reaches the end */
		pos = (fblk + m.len) * BFS_BLOCK;
	}
	if (data)
		return -ENXIO;
	*out = size;
	return 0;
}

static int seek_run(struct bfs_op *op)
{
	struct seek_args *a = BFS_ARGS(op, struct seek_args);
	struct bfs_dinode d;
	int rc = bfs_dinode_read(op->fs, a->inode->ino, &d);

	if (rc)
		return rc;
	if (a->off >= d.size)
		return -ENXIO;
	if (d.flags & BFS_INODE_INLINE) {
		*a->out = a->whence == SEEK_DATA ? a->off : d.size;
		return 0;
	}
	return seek_extents(op->fs, a->inode->ino, a->off, d.size,
			    a->whence == SEEK_DATA, a->out);
}

void bfs_lseek(struct fs *fs, struct fs_call *c, struct fs_file *file,
	       uint64_t off, int whence, uint64_t *out)
{
	struct bfs_op *op;
	struct seek_args *a;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fs_call_complete(c, -EINVAL);
		return;
	}
	op = bfs_op_init(bfs_of(fs), c, seek_run, 0);
	a = BFS_ARGS(op, struct seek_args);
	a->inode = ((struct bfs_file *)file)->inode;
	a->off = off;
	a->whence = whence;
	a->out = out;
	bfs_op_submit(op);
}
