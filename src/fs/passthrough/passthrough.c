// SPDX-License-Identifier: MIT
/*
 * passthrough.c - creating the passthrough back-end, its ops table, and
 * running blocking syscalls on the worker pool.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "pt_core.h"

#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif

/* --- offload ---------------------------------------------------------------- */

/* Bookkeeping of one offloaded call, at the start of c->scratch. */
struct pt_job {
	struct worker_job job;
	struct pt_fs *fs;
	struct fs_call *c;
	pt_work_fn fn;
	void *arg;
	int ret;
};

static_assert(sizeof(struct pt_job) <= PT_ARGS_OFFSET,
	      "offload bookkeeping overlaps the op arguments");
static_assert(PT_ARGS_OFFSET + PT_ARGS_MAX <= FS_CALL_SCRATCH,
	      "op arguments do not fit in FS_CALL_SCRATCH");
static_assert(PT_ARGS_OFFSET % 16 == 0, "op arguments must be aligned");

static void pt_job_work(void *arg)
{
	struct pt_job *j = arg;

	j->ret = j->fn(j->fs, j->c, j->arg);
}

static void pt_job_done(void *arg)
{
	struct pt_job *j = arg;

	/* the call (and j with it) may be reused as soon as it completes */
	fs_call_complete(j->c, j->ret);
}

void pt_offload(struct pt_fs *fs, struct fs_call *c, pt_work_fn fn, void *arg)
{
	struct pt_job *j = (struct pt_job *)(void *)c->scratch;

	if (!c->reactor) {
		fs_call_complete(c, fn(fs, c, arg));
		return;
	}
	j->fs = fs;
	j->c = c;
	j->fn = fn;
	j->arg = arg;
	j->ret = 0;
	j->job.work = pt_job_work;
	j->job.done = pt_job_done;
	j->job.arg = j;
	j->job.origin = c->reactor;
	worker_pool_submit(fs->workers, &j->job);
}

void pt_offload_fast(struct pt_fs *fs, struct fs_call *c,
		     const struct pt_inode *inode, pt_work_fn fast,
		     pt_work_fn fn, void *arg)
{
	if (c->reactor && pt_inode_local(fs, inode)) {
		int ret = fast(fs, c, arg);

		if (ret != -EAGAIN) {
			fs_call_complete(c, ret);
			return;
		}
	}
	pt_offload(fs, c, fn, arg);
}

static bool pt_fs_type_local(long type)
{
	switch (type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case F2FS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

/* What may run on the reactor: decided by the share's file system type. */
static void pt_fast_setup(struct pt_fs *fs)
{
	struct statfs sf;

	fs->fs_type = fstatfs(fs->root_fd, &sf) == 0 ? (long)sf.f_type : 0;
	fs->local = pt_fs_type_local(fs->fs_type);
	pt_data_setup(fs);
}

void *pt_call_args(struct fs_call *c)
{
	return c->scratch + PT_ARGS_OFFSET;
}

bool pt_refuse_readonly(struct pt_fs *fs, struct fs_call *c)
{
	if (!fs->cfg.readonly)
		return false;
	fs_call_complete(c, -EROFS);
	return true;
}

/* --- synchronous ops ------------------------------------------------------------ */

static struct fs_inode *pt_root(struct fs *fs)
{
	struct pt_fs *pfs = pt_fs_of(fs);

	pt_inode_ref(pfs->root);
	return pt_inode_to_fs(pfs->root);
}

static void pt_forget(struct fs *fs, struct fs_inode *inode, uint64_t nlookup)
{
	if (inode && nlookup)
		pt_inode_unref(pt_fs_of(fs), pt_inode_of(inode), nlookup);
}

static void pt_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pt_fs_free(struct pt_fs *fs)
{
	pt_inode_table_destroy(fs);
	pt_close_fd(&fs->mount_fd);
	pt_close_fd(&fs->proc_self_fd);
	pt_close_fd(&fs->root_fd);
	free((char *)fs->cfg.shared_dir);
	free(fs);
}

static void pt_destroy(struct fs *fs)
{
	struct pt_fs *pfs = pt_fs_of(fs);

	pt_locks_fini(pfs);
	pt_fs_free(pfs);
}

static const struct fs_ops pt_ops = {
	.root = pt_root,
	.forget = pt_forget,
	.destroy = pt_destroy,
	.lookup = pt_lookup,
	.getattr = pt_getattr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.symlink = pt_symlink,
	.link = pt_link,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.rename = pt_rename,
	.open = pt_open,
	.create = pt_create,
	.tmpfile = pt_tmpfile,
	.read = pt_read,
	.write = pt_write,
	.flush = pt_flush,
	.release = pt_release,
	.fsync = pt_fsync,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.statfs = pt_statfs,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
	.access = pt_access,
	.getlk = pt_getlk,
	.setlk = pt_setlk,
	.interrupt = pt_interrupt,
	.fallocate = pt_fallocate,
	.lseek = pt_lseek,
	.copy_file_range = pt_copy_file_range,
	.syncfs = pt_syncfs,
};

/* --- creation -------------------------------------------------------------------- */

/*
 * Can inodes be held by file handles?  The root must have a handle, and
 * open_by_handle_at must work with a mount fd of the shared dir (it needs
 * CAP_DAC_READ_SEARCH and refuses O_PATH mount fds, hence an O_RDONLY one).
 */
static int pt_handles_probe(struct pt_fs *fs)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} h;
	char name[PT_FD_NAME_MAX];
	int fd;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fs->root_fd, "", &h.fh, &fs->root_mount_id,
			      AT_EMPTY_PATH) < 0)
		return -errno;
	/* the very directory of root_fd, whatever happened to the path since */
	pt_fd_name(fs->root_fd, name);
	fs->mount_fd = openat(fs->proc_self_fd, name,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->mount_fd < 0)
		return -errno;
	fd = open_by_handle_at(fs->mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		pt_close_fd(&fs->mount_fd);
		return err;
	}
	close(fd);
	return 0;
}

static int pt_handles_setup(struct pt_fs *fs)
{
	int ret;

	if (fs->cfg.inodes == PASSTHROUGH_INODES_FDS)
		return 0;
	ret = pt_handles_probe(fs);
	if (ret == 0) {
		fs->use_handles = true;
		return 0;
	}
	if (fs->cfg.inodes == PASSTHROUGH_INODES_HANDLES) {
		log_error("passthrough: %s: file handles unusable (errno %d)",
			  fs->cfg.shared_dir, -ret);
		return ret;
	}
	log_info("passthrough: %s: no file handles (errno %d), one fd per inode",
		 fs->cfg.shared_dir, -ret);
	return 0;
}

static int pt_open_dirs(struct pt_fs *fs)
{
	fs->root_fd = open(fs->cfg.shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0) {
		log_error("passthrough: cannot open %s: errno %d",
			  fs->cfg.shared_dir, errno);
		return -errno;
	}
	fs->proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_self_fd < 0) {
		log_error("passthrough: cannot open /proc/self/fd: errno %d", errno);
		return -errno;
	}
	return 0;
}

static int pt_fs_setup(struct pt_fs *fs)
{
	int ret = pt_open_dirs(fs);

	if (ret == 0)
		ret = pt_handles_setup(fs);
	if (ret == 0)
		pt_fast_setup(fs);
	if (ret == 0)
		ret = pt_inode_table_create(fs, fs->cfg.fd_cache_size);
	if (ret == 0) {
		ret = pt_locks_init(fs);
		if (ret < 0)
			log_error("passthrough: lock state: errno %d", -ret);
	}
	return ret;
}

static struct pt_fs *pt_fs_alloc(const struct passthrough_config *cfg)
{
	struct pt_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->cfg = *cfg;
	fs->cfg.shared_dir = strdup(cfg->shared_dir);
	if (!fs->cfg.shared_dir) {
		free(fs);
		return NULL;
	}
	fs->base.ops = &pt_ops;
	fs->base.name = "passthrough";
	fs->workers = cfg->workers;
	fs->root_fd = fs->proc_self_fd = fs->mount_fd = -1;
	return fs;
}

int passthrough_create(const struct passthrough_config *cfg, struct fs **out)
{
	struct pt_fs *fs;
	int ret;

	if (!cfg || !cfg->shared_dir || !cfg->workers ||
	    cfg->inodes > PASSTHROUGH_INODES_FDS)
		return -EINVAL;
	fs = pt_fs_alloc(cfg);
	if (!fs)
		return -ENOMEM;
	ret = pt_fs_setup(fs);
	if (ret < 0) {
		pt_fs_free(fs);
		return ret;
	}
	log_info("passthrough: serving %s, inodes held by %s", cfg->shared_dir,
		 fs->use_handles ? "file handles" : "O_PATH fds");
	*out = &fs->base;
	return 0;
}
