// SPDX-License-Identifier: MIT
/* test_fuse_ops.c - the happy path of every opcode, and argument mapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ftest.h"

static int setup(void **state)
{
	struct ft *t = calloc(1, sizeof(*t));

	ft_start_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ft *t = *state;

	ft_stop(t);
	free(t);
	return 0;
}

static struct fuse_entry_out entry_of(const struct ft_req *r)
{
	struct fuse_entry_out e;

	assert_int_equal(ft_payload_len(r), sizeof(e));
	memcpy(&e, ft_payload(r), sizeof(e));
	return e;
}

static struct mock_inode *mi(struct ft *t, const char *name)
{
	struct mock_inode *in = mock_fs_inode(t->m, name);

	assert_non_null(in);
	return in;
}

static void test_lookup(void **state)
{
	struct ft *t = *state;
	struct fuse_entry_out e;
	uint64_t sub;

	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "file", NULL), 0);
	e = entry_of(t->r);
	assert_true(e.nodeid > 1);
	assert_int_equal(e.generation, 0);
	assert_int_equal(e.entry_valid, 1);
	assert_int_equal(e.attr_valid, 1);
	assert_int_equal(e.attr.ino, mi(t, "file")->st.st_ino);
	assert_int_equal(e.attr.mode, S_IFREG | 0644);
	assert_int_equal(e.attr.size, MOCK_FILE_SIZE);
	assert_int_equal(e.attr.mtime, 1700000000);
	assert_int_equal(e.attr.mtimensec, 5);
	assert_int_equal(e.attr.blksize, 4096);
	assert_string_equal(t->m->name, "file");
	assert_ptr_equal(t->m->inode, &t->m->inodes[0]);
	assert_int_equal(t->m->cred.uid, 1001);
	assert_int_equal(t->m->cred.gid, 1002);
	assert_int_equal(t->m->cred.pid, 77);
	assert_int_equal(t->m->cred.umask, 0);
	/* a child of the child */
	sub = ft_lookup(t, e.nodeid, "sub");
	assert_ptr_equal(t->m->inode, mi(t, "file"));
	assert_int_equal(ft_lookup(t, e.nodeid, "sub"), sub);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "nxfile", NULL),
			 -ENOENT);
	ft_forget(t, e.nodeid, 1);
	ft_forget(t, sub, 2);
}

static void test_getattr(void **state)
{
	struct ft *t = *state;
	struct fuse_getattr_in in = { 0 };
	struct fuse_attr_out o;
	uint64_t a = ft_lookup(t, 1, "a"), fh;

	assert_int_equal(ft_do(t, FUSE_GETATTR, a, &in, sizeof(in), NULL,
			       NULL), 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(o));
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.attr_valid, 1);
	assert_int_equal(o.attr.ino, mi(t, "a")->st.st_ino);
	assert_null(t->m->file);
	/* GETATTR_FH: attributes of the open file */
	fh = ft_open(t, a, O_RDONLY);
	in = (struct fuse_getattr_in){ .getattr_flags = FUSE_GETATTR_FH,
				       .fh = fh };
	assert_int_equal(ft_do(t, FUSE_GETATTR, a, &in, sizeof(in), NULL,
			       NULL), 0);
	assert_non_null(t->m->file);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

static void test_setattr(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR);
	struct fuse_setattr_in in = {
		.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
			 FATTR_ATIME | FATTR_MTIME | FATTR_CTIME | FATTR_FH |
			 FATTR_LOCKOWNER | FATTR_KILL_SUIDGID,
		.fh = fh, .size = 12345, .atime = 11, .atimensec = 12,
		.mtime = 21, .mtimensec = 22, .ctime = 31, .ctimensec = 32,
		.mode = S_IFREG | 04755, .uid = 7, .gid = 8,
	};
	const struct fs_setattr *sa = &t->m->sa;
	struct fuse_attr_out o;

	assert_int_equal(ft_do(t, FUSE_SETATTR, a, &in, sizeof(in), NULL,
			       NULL), 0);
	assert_int_equal(sa->valid, FS_SET_MODE | FS_SET_UID | FS_SET_GID |
			 FS_SET_SIZE | FS_SET_ATIME | FS_SET_MTIME |
			 FS_SET_CTIME | FS_SET_KILL_SUIDGID);
	assert_int_equal(sa->mode, 04755);
	assert_int_equal(sa->uid, 7);
	assert_int_equal(sa->gid, 8);
	assert_int_equal(sa->size, 12345);
	assert_int_equal(sa->atime.tv_sec, 11);
	assert_int_equal(sa->atime.tv_nsec, 12);
	assert_int_equal(sa->mtime.tv_sec, 21);
	assert_int_equal(sa->mtime.tv_nsec, 22);
	assert_int_equal(sa->ctime.tv_sec, 31);
	assert_int_equal(sa->ctime.tv_nsec, 32);
	assert_non_null(t->m->file);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.attr.size, 12345);

	/* the _NOW bits win over the explicit times; no FH: no file */
	in = (struct fuse_setattr_in){
		.valid = FATTR_ATIME | FATTR_ATIME_NOW | FATTR_MTIME |
			 FATTR_MTIME_NOW,
		.atimensec = 2000000000u,
	};
	assert_int_equal(ft_do(t, FUSE_SETATTR, a, &in, sizeof(in), NULL,
			       NULL), 0);
	assert_int_equal(sa->valid, FS_SET_ATIME_NOW | FS_SET_MTIME_NOW);
	assert_null(t->m->file);
	/* bad nanoseconds, huge size, forged fh */
	in = (struct fuse_setattr_in){ .valid = FATTR_MTIME,
				       .mtimensec = 1000000000u };
	assert_int_equal(ft_do(t, FUSE_SETATTR, a, &in, sizeof(in), NULL,
			       NULL), -EINVAL);
	in = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = ~0ull };
	assert_int_equal(ft_do(t, FUSE_SETATTR, a, &in, sizeof(in), NULL,
			       NULL), -EFBIG);
	in = (struct fuse_setattr_in){ .valid = FATTR_FH, .fh = fh + 1 };
	assert_int_equal(ft_do(t, FUSE_SETATTR, a, &in, sizeof(in), NULL,
			       NULL), -EBADF);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

static void test_readlink(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "lnk");

	assert_int_equal(ft_do(t, FUSE_READLINK, a, NULL, 0, NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), strlen("target/path"));
	assert_memory_equal(ft_payload(t->r), "target/path", 11);
	/* a reply too small for the target */
	t->r->out_cap = sizeof(struct fuse_out_header) + 4;
	assert_int_equal(ft_do(t, FUSE_READLINK, a, NULL, 0, NULL, NULL), -EIO);
	t->r->out_cap = FT_OUT_MAX;
	ft_forget(t, a, 1);
}

static void test_symlink(void **state)
{
	struct ft *t = *state;
	struct fuse_entry_out e;

	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "ln", "../x/y"), 0);
	e = entry_of(t->r);
	assert_string_equal(t->m->op, "symlink");
	assert_string_equal(t->m->name, "ln");
	assert_string_equal(t->m->name2, "../x/y");
	assert_int_equal(e.attr.mode, S_IFLNK | 0777);
	ft_forget(t, e.nodeid, 1);
}

static void test_mknod_mkdir(void **state)
{
	struct ft *t = *state;
	struct fuse_mknod_in mn = { .mode = S_IFCHR | 0600,
				    .rdev = (5u << 8) | 1, .umask = 022 };
	struct fuse_mkdir_in md = { .mode = 0777, .umask = 027 };
	struct fuse_entry_out e;

	assert_int_equal(ft_do(t, FUSE_MKNOD, 1, &mn, sizeof(mn), "dev", NULL),
			 0);
	e = entry_of(t->r);
	assert_int_equal(t->m->mode, S_IFCHR | 0600);
	assert_int_equal(major(t->m->rdev), 5);
	assert_int_equal(minor(t->m->rdev), 1);
	assert_int_equal(t->m->cred.umask, 022);
	ft_forget(t, e.nodeid, 1);
	mn.mode = S_IFDIR | 0755; /* mknod cannot make directories */
	assert_int_equal(ft_do(t, FUSE_MKNOD, 1, &mn, sizeof(mn), "d", NULL),
			 -EINVAL);

	assert_int_equal(ft_do(t, FUSE_MKDIR, 1, &md, sizeof(md), "dir", NULL),
			 0);
	e = entry_of(t->r);
	assert_int_equal(t->m->mode, 0777);
	assert_int_equal(t->m->cred.umask, 027);
	assert_int_equal(e.attr.mode, S_IFDIR | 0777);
	ft_forget(t, e.nodeid, 1);
}

static void test_unlink_rmdir(void **state)
{
	struct ft *t = *state;

	assert_int_equal(ft_do(t, FUSE_UNLINK, 1, NULL, 0, "f", NULL), 0);
	assert_string_equal(t->m->op, "unlink");
	assert_string_equal(t->m->name, "f");
	assert_int_equal(ft_payload_len(t->r), 0);
	t->m->fail = -ENOTEMPTY;
	assert_int_equal(ft_do(t, FUSE_RMDIR, 1, NULL, 0, "d", NULL),
			 -ENOTEMPTY);
	assert_string_equal(t->m->op, "rmdir");
}

static void test_rename(void **state)
{
	struct ft *t = *state;
	uint64_t d = ft_lookup(t, 1, "d");
	struct fuse_rename_in r1 = { .newdir = d };
	struct fuse_rename2_in r2 = { .newdir = 1, .flags = RENAME_NOREPLACE };

	assert_int_equal(ft_do(t, FUSE_RENAME, 1, &r1, sizeof(r1), "a", "b"),
			 0);
	assert_string_equal(t->m->name, "a");
	assert_string_equal(t->m->name2, "b");
	assert_ptr_equal(t->m->inode, &t->m->inodes[0]);
	assert_ptr_equal(t->m->inode2, mi(t, "d"));
	assert_int_equal(t->m->flags, 0);
	assert_int_equal(ft_do(t, FUSE_RENAME2, d, &r2, sizeof(r2), "b", "c"),
			 0);
	assert_int_equal(t->m->flags, RENAME_NOREPLACE);
	assert_ptr_equal(t->m->inode2, &t->m->inodes[0]);
	r2.flags = RENAME_EXCHANGE;
	assert_int_equal(ft_do(t, FUSE_RENAME2, d, &r2, sizeof(r2), "b", "c"),
			 0);
	r2.flags = RENAME_EXCHANGE | RENAME_NOREPLACE;
	assert_int_equal(ft_do(t, FUSE_RENAME2, d, &r2, sizeof(r2), "b", "c"),
			 -EINVAL);
	r2.flags = 1u << 7;
	assert_int_equal(ft_do(t, FUSE_RENAME2, d, &r2, sizeof(r2), "b", "c"),
			 -EINVAL);
	r1.newdir = d + 1000; /* forged */
	assert_int_equal(ft_do(t, FUSE_RENAME, 1, &r1, sizeof(r1), "a", "b"),
			 -ESTALE);
	ft_forget(t, d, 1);
}

static void test_link(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a"), d = ft_lookup(t, 1, "d");
	struct fuse_link_in in = { .oldnodeid = a };
	struct fuse_entry_out e;

	assert_int_equal(ft_do(t, FUSE_LINK, d, &in, sizeof(in), "a2", NULL), 0);
	e = entry_of(t->r);
	assert_int_equal(e.nodeid, a); /* same inode: same nodeid */
	assert_ptr_equal(t->m->inode, mi(t, "a"));
	assert_ptr_equal(t->m->inode2, mi(t, "d"));
	assert_string_equal(t->m->name, "a2");
	in.oldnodeid = 0;
	assert_int_equal(ft_do(t, FUSE_LINK, d, &in, sizeof(in), "a3", NULL),
			 -ESTALE);
	ft_forget(t, a, 2);
	ft_forget(t, d, 1);
}

static void test_open_flags(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	struct fuse_open_in in = { .flags = O_RDWR | O_CREAT | O_EXCL |
					    O_NOCTTY | O_APPEND };
	struct fuse_open_out o;

	assert_int_equal(ft_do(t, FUSE_OPEN, a, &in, sizeof(in), NULL, NULL), 0);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(t->m->flags, O_RDWR | O_APPEND);
	assert_int_equal(o.open_flags, FOPEN_KEEP_CACHE); /* cache=auto */
	assert_int_equal(ft_release(t, o.fh), 0);
	/* back-end hints */
	t->m->open_hints = (struct fs_open_out){ .direct_io = true,
						 .nonseekable = true };
	assert_int_equal(ft_do(t, FUSE_OPEN, a, &in, sizeof(in), NULL, NULL), 0);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.open_flags, FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE);
	assert_int_equal(ft_release(t, o.fh), 0);
	ft_forget(t, a, 1);
}

/* HANDLE_KILLPRIV_V2: an unprivileged O_TRUNC open drops S[UG]ID first. */
static void test_open_kill_suidgid(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	struct fuse_open_in in = { .flags = O_WRONLY | O_TRUNC,
				   .open_flags = FUSE_OPEN_KILL_SUIDGID };
	struct fuse_open_out o;

	mi(t, "a")->st.st_mode |= S_ISUID | S_ISGID;
	assert_int_equal(ft_do(t, FUSE_OPEN, a, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(t->m->calls, 3); /* lookup, setattr, open */
	assert_int_equal(t->m->sa.valid, FS_SET_KILL_SUIDGID);
	assert_int_equal(mi(t, "a")->st.st_mode & (S_ISUID | S_ISGID), 0);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(ft_release(t, o.fh), 0);
	/* the kill fails: the open does not happen */
	t->m->fail = -EPERM;
	assert_int_equal(ft_do(t, FUSE_OPEN, a, &in, sizeof(in), NULL, NULL),
			 -EPERM);
	assert_string_equal(t->m->op, "setattr");
	ft_forget(t, a, 1);
}

static void test_read(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDONLY);
	struct fuse_read_in in = { .fh = fh, .offset = 4000, .size = 70000 };
	const unsigned char *p;

	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 70000);
	p = ft_payload(t->r);
	for (size_t i = 0; i < 70000; i++)
		assert_int_equal(p[i], (unsigned char)((4000 + i) * 7));
	assert_int_equal(t->m->off, 4000);
	/* short at EOF */
	in.offset = MOCK_FILE_SIZE - 10;
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 10);
	/* reply space smaller than asked: read only what fits */
	in.offset = 0;
	t->r->out_cap = sizeof(struct fuse_out_header) + 100;
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 100);
	t->r->out_cap = sizeof(struct fuse_out_header);
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 0);
	t->r->out_cap = FT_OUT_MAX;
	/* too big, negative offset, wrong kind of fh */
	in.size = (1u << 20) + 1;
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL),
			 -EINVAL);
	in.size = 10;
	in.offset = 1ull << 63;
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL),
			 -EINVAL);
	in.offset = 0;
	t->m->read_extra = 5; /* a back-end that claims too much */
	assert_int_equal(ft_do(t, FUSE_READ, 1, &in, sizeof(in), NULL, NULL),
			 -EIO);
	t->m->read_extra = 0;
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

static void test_write(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_WRONLY);
	size_t n = 1u << 20;
	unsigned char *data = malloc(n);
	struct fuse_write_in in = { .fh = fh, .offset = 77, .size = (uint32_t)n,
				    .write_flags = FUSE_WRITE_KILL_SUIDGID };
	struct fuse_write_out o;

	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 13);
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data, n);
	assert_int_equal(ft_send(t, t->r), 0);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.size, n);
	assert_int_equal(t->m->wlen, n);
	assert_memory_equal(t->m->wbuf, data, n);
	assert_int_equal(t->m->off, 77);
	assert_int_equal(t->m->wflags, FS_WRITE_KILL_SUIDGID);
	/* data in page-sized iovecs, not aligned with the args */
	{
		size_t cuts[260];
		int nc = 0;

		for (size_t c = 100; c < sizeof(in) + 40 + n && nc < 258;
		     c += 4096)
			cuts[nc++] = c;
		in.write_flags = 0;
		ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data,
			 n);
		assert_int_equal(ft_send_cut(t, t->r, cuts, nc, NULL, 0), 0);
		assert_memory_equal(t->m->wbuf, data, n);
		assert_int_equal(t->m->wflags, 0);
	}
	free(data);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

static void test_statfs(void **state)
{
	struct ft *t = *state;
	struct fuse_statfs_out o;

	assert_int_equal(ft_do(t, FUSE_STATFS, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(o));
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.st.blocks, 1000);
	assert_int_equal(o.st.bfree, 500);
	assert_int_equal(o.st.bavail, 400);
	assert_int_equal(o.st.files, 100);
	assert_int_equal(o.st.ffree, 50);
	assert_int_equal(o.st.bsize, 4096);
	assert_int_equal(o.st.frsize, 4096);
	assert_int_equal(o.st.namelen, 255);
}

static void test_release_fsync_flush(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR);
	struct fuse_fsync_in fs = { .fh = fh, .fsync_flags = FUSE_FSYNC_FDATASYNC };
	struct fuse_flush_in fl = { .fh = fh, .lock_owner = 0xabc };
	struct fuse_release_in rl = { .fh = fh,
				      .release_flags = FUSE_RELEASE_FLOCK_UNLOCK,
				      .lock_owner = 0xdef };

	assert_int_equal(ft_do(t, FUSE_FSYNC, a, &fs, sizeof(fs), NULL, NULL), 0);
	assert_true(t->m->datasync);
	fs.fsync_flags = 0;
	assert_int_equal(ft_do(t, FUSE_FSYNC, a, &fs, sizeof(fs), NULL, NULL), 0);
	assert_false(t->m->datasync);
	assert_int_equal(ft_do(t, FUSE_FLUSH, a, &fl, sizeof(fl), NULL, NULL), 0);
	assert_int_equal(t->m->lock_owner, 0xabc);
	assert_int_equal(ft_do(t, FUSE_RELEASE, a, &rl, sizeof(rl), NULL, NULL),
			 0);
	assert_true(t->m->flock_release);
	assert_int_equal(t->m->lock_owner, 0xdef);
	assert_int_equal(mock_fs_open_files(t->m), 0);
	/* the fh is gone */
	assert_int_equal(ft_do(t, FUSE_FLUSH, a, &fl, sizeof(fl), NULL, NULL),
			 -EBADF);
	assert_int_equal(ft_do(t, FUSE_RELEASE, a, &rl, sizeof(rl), NULL, NULL),
			 -EBADF);
	ft_forget(t, a, 1);
}

static void test_setxattr(void **state)
{
	struct ft *t = *state;
	struct fuse_setxattr_in in = { .size = 5, .flags = XATTR_CREATE };

	/* SETXATTR_EXT was negotiated: 16-byte fixed part */
	ft_build(t->r, FUSE_SETXATTR, 1, &in, sizeof(in), "user.x", NULL,
		 "hello", 5);
	assert_int_equal(ft_send(t, t->r), 0);
	assert_string_equal(t->m->name, "user.x");
	assert_int_equal(t->m->xattr_len, 5);
	assert_memory_equal(t->m->xattr, "hello", 5);
	assert_int_equal(t->m->flags, XATTR_CREATE);
	/* size that lies about the value */
	in.size = 6;
	ft_build(t->r, FUSE_SETXATTR, 1, &in, sizeof(in), "user.x", NULL,
		 "hello", 5);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	in.size = 5;
	in.flags = 0x100;
	ft_build(t->r, FUSE_SETXATTR, 1, &in, sizeof(in), "user.x", NULL,
		 "hello", 5);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
}

static void test_setxattr_compat_and_big(void **state)
{
	struct fuse_session_config cfg = { .xattr = true };
	struct fuse_setxattr_in in = { .size = 65536 };
	unsigned char *v = malloc(65537);
	struct ft t;

	(void)state;
	ft_start_cfg(&t, &cfg);
	/* a kernel without SETXATTR_EXT: 8-byte fixed part */
	assert_int_equal(ft_init(&t, 7, 38, FUSE_ASYNC_READ, 0), 0);
	for (size_t i = 0; i < 65537; i++)
		v[i] = (unsigned char)(i ^ (i >> 8));
	ft_build(t.r, FUSE_SETXATTR, 1, &in, 8, "user.big", NULL, v, 65536);
	assert_int_equal(ft_send(&t, t.r), 0);
	assert_int_equal(t.m->xattr_len, 65536);
	assert_memory_equal(t.m->xattr, v, 65536);
	/* bigger than any xattr value */
	in.size = 65537;
	ft_build(t.r, FUSE_SETXATTR, 1, &in, 8, "user.big", NULL, v, 65537);
	assert_int_equal(ft_send(&t, t.r), -E2BIG);
	/* a value split over many iovecs */
	in.size = 5000;
	ft_build(t.r, FUSE_SETXATTR, 1, &in, 8, "user.mid", NULL, v, 5000);
	{
		size_t cuts[] = { 41, 50, 60, 1000, 4700, 4801, 5000 };

		assert_int_equal(ft_send_cut(&t, t.r, cuts, 7, NULL, 0), 0);
	}
	assert_int_equal(t.m->xattr_len, 5000);
	assert_memory_equal(t.m->xattr, v, 5000);
	free(v);
	ft_stop(&t);
}

static void test_getxattr_listxattr(void **state)
{
	struct ft *t = *state;
	struct fuse_getxattr_in in = { .size = 0 };
	struct fuse_getxattr_out o;

	memcpy(t->m->xattr, "value!", 6);
	t->m->xattr_len = 6;
	assert_int_equal(ft_do(t, FUSE_GETXATTR, 1, &in, sizeof(in), "user.v",
			       NULL), 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(o));
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.size, 6);
	assert_string_equal(t->m->name, "user.v");
	in.size = 100;
	assert_int_equal(ft_do(t, FUSE_GETXATTR, 1, &in, sizeof(in), "user.v",
			       NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 6);
	assert_memory_equal(ft_payload(t->r), "value!", 6);
	in.size = 3;
	assert_int_equal(ft_do(t, FUSE_GETXATTR, 1, &in, sizeof(in), "user.v",
			       NULL), -ERANGE);
	/* value through a reply split in odd places */
	in.size = 100;
	ft_build(t->r, FUSE_GETXATTR, 1, &in, sizeof(in), "user.v", NULL, NULL,
		 0);
	{
		size_t cuts[] = { 3, 17, 19 };

		assert_int_equal(ft_send_cut(t, t->r, NULL, 0, cuts, 3), 0);
	}
	assert_memory_equal(ft_payload(t->r), "value!", 6);
	/* reply space with only the header: the value cannot fit */
	t->r->out_cap = sizeof(struct fuse_out_header);
	assert_int_equal(ft_do(t, FUSE_GETXATTR, 1, &in, sizeof(in), "user.v",
			       NULL), -ERANGE);
	t->r->out_cap = FT_OUT_MAX;

	in.size = 0;
	assert_int_equal(ft_do(t, FUSE_LISTXATTR, 1, &in, sizeof(in), NULL,
			       NULL), 0);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.size, 15);
	in.size = 4096;
	assert_int_equal(ft_do(t, FUSE_LISTXATTR, 1, &in, sizeof(in), NULL,
			       NULL), 0);
	assert_int_equal(ft_payload_len(t->r), 15);
	assert_memory_equal(ft_payload(t->r), "user.a\0user.bb", 15);
	assert_int_equal(ft_do(t, FUSE_REMOVEXATTR, 1, NULL, 0, "user.v", NULL),
			 0);
	assert_string_equal(t->m->op, "removexattr");
	assert_string_equal(t->m->name, "user.v");
}

static void test_xattr_disabled(void **state)
{
	struct fuse_session_config cfg = { .xattr = false };
	struct fuse_getxattr_in in = { .size = 10 };
	struct fuse_setxattr_in sin = { .size = 1 };
	struct ft t;

	(void)state;
	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	assert_int_equal(ft_do(&t, FUSE_GETXATTR, 1, &in, sizeof(in), "user.a",
			       NULL), -ENOSYS);
	assert_int_equal(ft_do(&t, FUSE_LISTXATTR, 1, &in, sizeof(in), NULL,
			       NULL), -ENOSYS);
	assert_int_equal(ft_do(&t, FUSE_REMOVEXATTR, 1, NULL, 0, "user.a",
			       NULL), -ENOSYS);
	ft_build(t.r, FUSE_SETXATTR, 1, &sin, 8, "user.a", NULL, "x", 1);
	assert_int_equal(ft_send(&t, t.r), -ENOSYS);
	assert_int_equal(t.m->calls, 0);
	ft_stop(&t);
}

static void test_access(void **state)
{
	struct ft *t = *state;
	struct fuse_access_in in = { .mask = R_OK | X_OK };

	assert_int_equal(ft_do(t, FUSE_ACCESS, 1, &in, sizeof(in), NULL, NULL),
			 0);
	assert_int_equal(t->m->mask, R_OK | X_OK);
	in.mask = 0x10;
	assert_int_equal(ft_do(t, FUSE_ACCESS, 1, &in, sizeof(in), NULL, NULL),
			 -EINVAL);
}

static void test_create_tmpfile(void **state)
{
	struct ft *t = *state;
	struct fuse_create_in in = { .flags = O_RDWR | O_CREAT | O_EXCL |
					      O_NOCTTY,
				     .mode = S_IFREG | 0664, .umask = 002 };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;

	assert_int_equal(ft_do(t, FUSE_CREATE, 1, &in, sizeof(in), "new", NULL),
			 0);
	assert_int_equal(ft_payload_len(t->r), sizeof(out));
	memcpy(&out, ft_payload(t->r), sizeof(out));
	assert_true(out.e.nodeid > 1);
	assert_int_equal(out.e.attr.mode, S_IFREG | 0664);
	assert_int_equal(out.o.open_flags, FOPEN_KEEP_CACHE);
	assert_int_equal(t->m->flags, O_RDWR | O_CREAT | O_EXCL);
	assert_int_equal(t->m->mode, 0664);
	assert_int_equal(t->m->cred.umask, 002);
	assert_int_equal(ft_lookup(t, 1, "new"), out.e.nodeid);
	assert_int_equal(ft_release(t, out.o.fh), 0);
	ft_forget(t, out.e.nodeid, 2);

	in.flags = O_RDWR | O_TMPFILE;
	assert_int_equal(ft_do(t, FUSE_TMPFILE, 1, &in, sizeof(in), NULL, NULL),
			 0);
	memcpy(&out, ft_payload(t->r), sizeof(out));
	assert_string_equal(t->m->op, "tmpfile");
	assert_int_equal(t->m->flags & O_ACCMODE, O_RDWR);
	assert_int_equal(ft_release(t, out.o.fh), 0);
	ft_forget(t, out.e.nodeid, 1);
}

static void test_locks(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR);
	struct fuse_lk_in in = {
		.fh = fh, .owner = 0x77,
		.lk = { .start = 5, .end = INT64_MAX, .type = F_RDLCK, .pid = 9 },
	};
	struct fuse_lk_out o;

	assert_int_equal(ft_do(t, FUSE_GETLK, a, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(t->m->lk.start, 5);
	assert_int_equal(t->m->lk.end, UINT64_MAX);
	assert_int_equal(t->m->lk.type, F_RDLCK);
	assert_int_equal(t->m->lk.owner, 0x77);
	assert_int_equal(t->m->lk.pid, 9);
	assert_false(t->m->lk.flock);
	memcpy(&o, ft_payload(t->r), sizeof(o));
	assert_int_equal(o.lk.type, F_WRLCK);
	assert_int_equal(o.lk.start, 10);
	assert_int_equal(o.lk.end, INT64_MAX);
	assert_int_equal(o.lk.pid, 42);

	in.lk.end = 100;
	assert_int_equal(ft_do(t, FUSE_SETLK, a, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(t->m->lk.end, 100);
	assert_false(t->m->wait);
	in.lk_flags = FUSE_LK_FLOCK;
	in.lk.type = F_WRLCK;
	assert_int_equal(ft_do(t, FUSE_SETLKW, a, &in, sizeof(in), NULL, NULL),
			 0);
	assert_true(t->m->wait);
	assert_true(t->m->lk.flock);
	/* bad type, reversed range */
	in.lk.type = 7;
	assert_int_equal(ft_do(t, FUSE_SETLK, a, &in, sizeof(in), NULL, NULL),
			 -EINVAL);
	in.lk.type = F_UNLCK;
	in.lk.start = 50;
	in.lk.end = 10;
	assert_int_equal(ft_do(t, FUSE_SETLK, a, &in, sizeof(in), NULL, NULL),
			 -EINVAL);
	/* flock(2) on a directory sends the OPENDIR handle */
	in = (struct fuse_lk_in){ .fh = ft_opendir(t, 1), .lk_flags = FUSE_LK_FLOCK,
				  .lk = { .type = F_WRLCK, .end = INT64_MAX } };
	assert_int_equal(ft_do(t, FUSE_SETLK, 1, &in, sizeof(in), NULL, NULL), 0);
	assert_int_equal(ft_releasedir(t, in.fh), 0);
	in.fh = fh + 2;
	assert_int_equal(ft_do(t, FUSE_SETLK, 1, &in, sizeof(in), NULL, NULL),
			 -EBADF);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

static void test_fallocate_lseek_copy(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a"), b = ft_lookup(t, 1, "b");
	uint64_t fa = ft_open(t, a, O_RDWR), fb = ft_open(t, b, O_RDWR);
	struct fuse_fallocate_in fa_in = { .fh = fa, .offset = 10,
					   .length = 20, .mode = 1 };
	struct fuse_lseek_in ls = { .fh = fa, .offset = 5,
				    .whence = SEEK_DATA };
	struct fuse_copy_file_range_in cp = {
		.fh_in = fa, .off_in = 1, .nodeid_out = b, .fh_out = fb,
		.off_out = 2, .len = 1000,
	};
	struct fuse_lseek_out lo;
	struct fuse_write_out wo;

	assert_int_equal(ft_do(t, FUSE_FALLOCATE, a, &fa_in, sizeof(fa_in),
			       NULL, NULL), 0);
	assert_int_equal(t->m->off, 10);
	assert_int_equal(t->m->len, 20);
	assert_int_equal(t->m->flags, 1);
	fa_in.length = INT64_MAX;
	assert_int_equal(ft_do(t, FUSE_FALLOCATE, a, &fa_in, sizeof(fa_in),
			       NULL, NULL), -EFBIG);

	assert_int_equal(ft_do(t, FUSE_LSEEK, a, &ls, sizeof(ls), NULL, NULL), 0);
	memcpy(&lo, ft_payload(t->r), sizeof(lo));
	assert_int_equal(lo.offset, 15);
	assert_int_equal(t->m->whence, SEEK_DATA);
	ls.whence = SEEK_HOLE;
	assert_int_equal(ft_do(t, FUSE_LSEEK, a, &ls, sizeof(ls), NULL, NULL), 0);
	ls.whence = SEEK_END;
	assert_int_equal(ft_do(t, FUSE_LSEEK, a, &ls, sizeof(ls), NULL, NULL),
			 -EINVAL);

	assert_int_equal(ft_do(t, FUSE_COPY_FILE_RANGE, a, &cp, sizeof(cp), NULL,
			       NULL), 0);
	memcpy(&wo, ft_payload(t->r), sizeof(wo));
	assert_int_equal(wo.size, 1000);
	assert_int_equal(t->m->off, 1);
	assert_int_equal(t->m->off2, 2);
	assert_ptr_not_equal(t->m->file, t->m->file2);
	/* clamped so that the u32 reply can carry the result */
	cp.len = 1ull << 40;
	assert_int_equal(ft_do(t, FUSE_COPY_FILE_RANGE, a, &cp, sizeof(cp), NULL,
			       NULL), 0);
	assert_true(t->m->len <= UINT32_MAX);
	cp.flags = 1;
	assert_int_equal(ft_do(t, FUSE_COPY_FILE_RANGE, a, &cp, sizeof(cp), NULL,
			       NULL), -EINVAL);
	cp.flags = 0;
	cp.fh_out = fb + 99;
	assert_int_equal(ft_do(t, FUSE_COPY_FILE_RANGE, a, &cp, sizeof(cp), NULL,
			       NULL), -EBADF);
	cp.fh_out = fb;
	cp.nodeid_out = 12345;
	assert_int_equal(ft_do(t, FUSE_COPY_FILE_RANGE, a, &cp, sizeof(cp), NULL,
			       NULL), -ESTALE);
	assert_int_equal(ft_release(t, fa), 0);
	assert_int_equal(ft_release(t, fb), 0);
	ft_forget(t, a, 1);
	ft_forget(t, b, 1);
}

static void test_syncfs(void **state)
{
	struct ft *t = *state;
	struct fuse_syncfs_in in = { 0 };

	assert_int_equal(ft_do(t, FUSE_SYNCFS, 1, &in, sizeof(in), NULL, NULL),
			 0);
	assert_string_equal(t->m->op, "syncfs");
	assert_ptr_equal(t->m->inode, &t->m->inodes[0]);
}

/* The few opcodes answered -ENOSYS (docs/PROTOCOL.md says why). */
static void test_enosys(void **state)
{
	static const uint32_t ops[] = {
		0, 7, 19, FUSE_BMAP, FUSE_IOCTL, FUSE_POLL, FUSE_NOTIFY_REPLY,
		FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, 52, 4096, 0xffffffffu,
	};
	struct ft *t = *state;
	unsigned char args[64] = { 0 };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_int_equal(ft_do(t, ops[i], 1, args, sizeof(args), NULL,
				       NULL), -ENOSYS);
	assert_int_equal(t->m->calls, 0);
}

/* A NULL fs op is -ENOSYS, for every opcode that needs one. */
static void test_null_ops(void **state)
{
	struct ft *t = *state;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_interrupt_in in = { .unique = 1 };

	t->m->ops.lookup = NULL;
	t->m->ops.getattr = NULL;
	t->m->ops.interrupt = NULL;
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "a", NULL), -ENOSYS);
	assert_int_equal(ft_do(t, FUSE_GETATTR, 1, &ga, sizeof(ga), NULL, NULL),
			 -ENOSYS);
	/* no interrupt support: -ENOSYS tells the kernel to stop sending them */
	assert_int_equal(ft_do(t, FUSE_INTERRUPT, 1, &in, sizeof(in), NULL,
			       NULL), -ENOSYS);
	assert_int_equal(t->m->calls, 0);
}

static void cache_mode_check(enum fuse_cache_mode mode, uint64_t timeout,
			     uint32_t file_flags, uint32_t dir_flags)
{
	struct fuse_session_config cfg = { .cache = mode };
	struct fuse_open_out o;
	struct fuse_entry_out e;
	struct ft t;
	uint64_t a;

	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "a", NULL), 0);
	memcpy(&e, ft_payload(t.r), sizeof(e));
	a = e.nodeid;
	assert_int_equal(e.entry_valid, timeout);
	assert_int_equal(e.attr_valid, timeout);
	ft_open(&t, a, O_RDONLY);
	memcpy(&o, ft_payload(t.r), sizeof(o));
	assert_int_equal(o.open_flags, file_flags);
	assert_int_equal(ft_release(&t, o.fh), 0);
	ft_opendir(&t, 1);
	memcpy(&o, ft_payload(t.r), sizeof(o));
	assert_int_equal(o.open_flags, dir_flags);
	assert_int_equal(ft_releasedir(&t, o.fh), 0);
	ft_forget(&t, a, 1);
	ft_stop(&t);
}

static void test_cache_modes(void **state)
{
	(void)state;
	cache_mode_check(FUSE_CACHE_AUTO, 1, FOPEN_KEEP_CACHE, 0);
	cache_mode_check(FUSE_CACHE_ALWAYS, 86400, FOPEN_KEEP_CACHE,
			 FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE);
	cache_mode_check(FUSE_CACHE_METADATA, 86400, FOPEN_DIRECT_IO, 0);
	cache_mode_check(FUSE_CACHE_NEVER, 0, FOPEN_DIRECT_IO, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lookup),
		T(test_getattr),
		T(test_setattr),
		T(test_readlink),
		T(test_symlink),
		T(test_mknod_mkdir),
		T(test_unlink_rmdir),
		T(test_rename),
		T(test_link),
		T(test_open_flags),
		T(test_open_kill_suidgid),
		T(test_read),
		T(test_write),
		T(test_statfs),
		T(test_release_fsync_flush),
		T(test_setxattr),
		cmocka_unit_test(test_setxattr_compat_and_big),
		T(test_getxattr_listxattr),
		cmocka_unit_test(test_xattr_disabled),
		T(test_access),
		T(test_create_tmpfile),
		T(test_locks),
		T(test_fallocate_lseek_copy),
		T(test_syncfs),
		T(test_enosys),
		T(test_null_ops),
		cmocka_unit_test(test_cache_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
