// SPDX-License-Identifier: MIT
/* pt_test.c - synchronous harness around the passthrough back-end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "pt_test.h"

struct pt_sync {
	struct fs_call call;
	bool done;
	int err;
};

void pt_test_require_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root (credentials, mknod)\n");
		exit(77);
	}
}

static void pt_sync_cb(void *arg, int err)
{
	struct pt_sync *s = arg;

	s->err = err;
	s->done = true;
}

static void pt_sync_init(struct pt_env *e, struct pt_sync *s)
{
	memset(s, 0, sizeof(*s));
	s->call.cred = e->cred;
	s->call.reactor = e->reactor;
	s->call.cb = pt_sync_cb;
	s->call.cb_arg = s;
}

/* Pump the reactor until @s completed; fail the test after 20 s. */
static int pt_sync_wait(struct pt_env *e, struct pt_sync *s)
{
	time_t deadline = time(NULL) + 20;

	while (!s->done) {
		assert_true(reactor_run_once(e->reactor, 100) >= 0);
		assert_true(time(NULL) < deadline);
	}
	return s->err;
}

#define PT_SYNC(e, op, ...)                                              \
	do {                                                             \
		pt_sync_init((e), &s);                                   \
		(e)->fs->ops->op((e)->fs, &s.call, __VA_ARGS__);         \
	} while (0)

int pt_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

struct pt_env *pt_env_new(enum passthrough_inode_mode mode, uint32_t fd_cache,
			  bool readonly)
{
	struct pt_env *e = calloc(1, sizeof(*e));
	struct reactor_config rc = { .name = "pt-test" };
	struct passthrough_config pc = { 0 };

	assert_non_null(e);
	log_set_level(LOG_LEVEL_WARN);
	snprintf(e->dir, sizeof(e->dir), "/tmp/vhostfs-pt-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	chmod(e->dir, 0777);
	assert_int_equal(reactor_create(&e->reactor, &rc), 0);
	assert_int_equal(worker_pool_create(&e->workers, 2), 0);
	pc.shared_dir = e->dir;
	pc.workers = e->workers;
	pc.inodes = mode;
	pc.fd_cache_size = fd_cache;
	pc.readonly = readonly;
	assert_int_equal(passthrough_create(&pc, &e->fs), 0);
	e->root = e->fs->ops->root(e->fs);
	assert_non_null(e->root);
	e->dirfd = open(e->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->dirfd >= 0);
	return e;
}

void pt_env_free(struct pt_env *e)
{
	char cmd[128];

	e->fs->ops->forget(e->fs, e->root, 1);
	e->fs->ops->destroy(e->fs);
	worker_pool_destroy(e->workers);
	reactor_destroy(e->reactor);
	close(e->dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", e->dir);
	free(e);
}

int pt_setup_handles(void **state)
{
	*state = pt_env_new(PASSTHROUGH_INODES_HANDLES, 0, false);
	return 0;
}

int pt_setup_fds(void **state)
{
	*state = pt_env_new(PASSTHROUGH_INODES_FDS, 0, false);
	return 0;
}

int pt_teardown(void **state)
{
	pt_env_free(*state);
	return 0;
}

void pt_host_path(struct pt_env *e, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", e->dir, rel);
}

int pt_t_lookup(struct pt_env *e, struct fs_inode *parent, const char *name,
		struct fs_entry *out)
{
	struct pt_sync s;

	PT_SYNC(e, lookup, parent, name, out);
	return pt_sync_wait(e, &s);
}

struct fs_inode *pt_t_get(struct pt_env *e, struct fs_inode *parent,
			  const char *name)
{
	struct fs_entry ent;

	assert_int_equal(pt_t_lookup(e, parent, name, &ent), 0);
	return ent.inode;
}

void pt_t_forget(struct pt_env *e, struct fs_inode *inode, uint64_t n)
{
	e->fs->ops->forget(e->fs, inode, n);
}

int pt_t_getattr(struct pt_env *e, struct fs_inode *inode, struct stat *st)
{
	struct pt_sync s;

	PT_SYNC(e, getattr, inode, NULL, st);
	return pt_sync_wait(e, &s);
}

int pt_t_setattr(struct pt_env *e, struct fs_inode *inode, struct fs_file *f,
		 const struct fs_setattr *in, struct stat *out)
{
	struct pt_sync s;

	PT_SYNC(e, setattr, inode, f, in, out);
	return pt_sync_wait(e, &s);
}

int pt_t_mknod(struct pt_env *e, struct fs_inode *parent, const char *name,
	       mode_t mode, dev_t rdev, struct fs_entry *out)
{
	struct pt_sync s;

	PT_SYNC(e, mknod, parent, name, mode, rdev, out);
	return pt_sync_wait(e, &s);
}

int pt_t_mkdir(struct pt_env *e, struct fs_inode *parent, const char *name,
	       mode_t mode, struct fs_entry *out)
{
	struct pt_sync s;

	PT_SYNC(e, mkdir, parent, name, mode, out);
	return pt_sync_wait(e, &s);
}

int pt_t_symlink(struct pt_env *e, struct fs_inode *parent, const char *name,
		 const char *target, struct fs_entry *out)
{
	struct pt_sync s;

	PT_SYNC(e, symlink, parent, name, target, out);
	return pt_sync_wait(e, &s);
}

int pt_t_readlink(struct pt_env *e, struct fs_inode *inode, char *buf,
		  size_t size, size_t *len)
{
	struct pt_sync s;

	PT_SYNC(e, readlink, inode, buf, size, len);
	return pt_sync_wait(e, &s);
}

int pt_t_link(struct pt_env *e, struct fs_inode *inode,
	      struct fs_inode *newparent, const char *name, struct fs_entry *out)
{
	struct pt_sync s;

	PT_SYNC(e, link, inode, newparent, name, out);
	return pt_sync_wait(e, &s);
}

int pt_t_unlink(struct pt_env *e, struct fs_inode *parent, const char *name)
{
	struct pt_sync s;

	PT_SYNC(e, unlink, parent, name);
	return pt_sync_wait(e, &s);
}

int pt_t_rmdir(struct pt_env *e, struct fs_inode *parent, const char *name)
{
	struct pt_sync s;

	PT_SYNC(e, rmdir, parent, name);
	return pt_sync_wait(e, &s);
}

int pt_t_rename(struct pt_env *e, struct fs_inode *p1, const char *n1,
		struct fs_inode *p2, const char *n2, uint32_t flags)
{
	struct pt_sync s;

	PT_SYNC(e, rename, p1, n1, p2, n2, flags);
	return pt_sync_wait(e, &s);
}

int pt_t_open(struct pt_env *e, struct fs_inode *inode, int flags,
	      struct fs_open_out *out)
{
	struct pt_sync s;

	PT_SYNC(e, open, inode, flags, out);
	return pt_sync_wait(e, &s);
}

int pt_t_create(struct pt_env *e, struct fs_inode *parent, const char *name,
		mode_t mode, int flags, struct fs_entry *entry,
		struct fs_open_out *out)
{
	struct pt_sync s;

	PT_SYNC(e, create, parent, name, mode, flags, entry, out);
	return pt_sync_wait(e, &s);
}

int pt_t_tmpfile(struct pt_env *e, struct fs_inode *parent, mode_t mode,
		 int flags, struct fs_entry *entry, struct fs_open_out *out)
{
	struct pt_sync s;

	PT_SYNC(e, tmpfile, parent, mode, flags, entry, out);
	return pt_sync_wait(e, &s);
}

int pt_t_flush(struct pt_env *e, struct fs_file *f, uint64_t owner)
{
	struct pt_sync s;

	PT_SYNC(e, flush, f, owner);
	return pt_sync_wait(e, &s);
}

int pt_t_release(struct pt_env *e, struct fs_file *f)
{
	struct pt_sync s;

	PT_SYNC(e, release, f, false, 0);
	return pt_sync_wait(e, &s);
}

int pt_t_opendir(struct pt_env *e, struct fs_inode *inode,
		 struct fs_open_out *out)
{
	struct pt_sync s;

	PT_SYNC(e, opendir, inode, 0, out);
	return pt_sync_wait(e, &s);
}

int pt_t_readdir(struct pt_env *e, struct fs_file *dir, uint64_t off,
		 bool plus, fs_dir_fill_fn fill, void *ctx)
{
	struct pt_sync s;

	PT_SYNC(e, readdir, dir, off, plus, fill, ctx);
	return pt_sync_wait(e, &s);
}

int pt_t_releasedir(struct pt_env *e, struct fs_file *dir)
{
	struct pt_sync s;

	PT_SYNC(e, releasedir, dir);
	return pt_sync_wait(e, &s);
}

int pt_t_fsyncdir(struct pt_env *e, struct fs_file *dir)
{
	struct pt_sync s;

	PT_SYNC(e, fsyncdir, dir, false);
	return pt_sync_wait(e, &s);
}

int pt_t_statfs(struct pt_env *e, struct fs_inode *inode, struct statvfs *out)
{
	struct pt_sync s;

	PT_SYNC(e, statfs, inode, out);
	return pt_sync_wait(e, &s);
}

int pt_t_access(struct pt_env *e, struct fs_inode *inode, int mask)
{
	struct pt_sync s;

	PT_SYNC(e, access, inode, mask);
	return pt_sync_wait(e, &s);
}
