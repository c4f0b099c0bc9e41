// SPDX-License-Identifier: MIT
/*
 * image.c - an image opened for serving or for a tool: the lock, the
 * io_uring device, the fs thread and its reactor, the store, and the
 * mounted export (see image_internal.h; the catalog is image_catalog.c).
 *
 * The caller's thread never touches the store or the fs itself: each step
 * is a message to the fs thread (vimage_run), whose callback wakes the
 * caller.  That holds whatever reactor the caller's thread has or had
 * (vhostfsd's main thread ran the control reactor before it tears down),
 * so no callback is ever sent to a reactor that no longer runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "app/cmd_blob_common.h"
#include "app/image_impl.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

void vimage_err(const struct vimage *im, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s", im->who, msg);
}

/* --- steps on the fs thread ----------------------------------------------- */

struct vjob {
	struct reactor_msg msg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;
	struct vimage *im;
	vimage_step_fn fn;
	void *arg;
};

static void vjob_cb(void *arg, int err)
{
	struct vjob *j = arg;

	pthread_mutex_lock(&j->lock);
	j->err = err;
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

static void vjob_msg(void *arg)
{
	struct vjob *j = arg;

	j->fn(j->im, j->arg, vjob_cb, j);
}

int vimage_run(struct vimage *im, vimage_step_fn fn, void *arg)
{
	struct vjob j = { .im = im, .fn = fn, .arg = arg };

	/* waiting on the fs thread for the fs thread would never end */
	if (reactor_current() == im->r) {
		vimage_err(im, "an image call from its own fs thread");
		return -EDEADLK;
	}
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	j.msg.fn = vjob_msg;
	j.msg.arg = &j;
	reactor_msg_send(im->r, &j.msg);
	pthread_mutex_lock(&j.lock);
	while (!j.done)
		pthread_cond_wait(&j.cond, &j.lock);
	pthread_mutex_unlock(&j.lock);
	pthread_cond_destroy(&j.cond);
	pthread_mutex_destroy(&j.lock);
	return j.err;
}

/* --- the fs thread -------------------------------------------------------- */

static void *fs_thread_main(void *arg)
{
	struct vimage *im = arg;
	int rc = reactor_run(im->r);

	if (rc < 0)
		log_error("%s: fs thread: %s", im->who, strerror(-rc));
	return NULL;
}

/* Signals stay with the threads that wait for them (vhostfsd's, main). */
static int fs_thread_start(struct vimage *im)
{
	struct reactor_config cfg = { .ring_entries = 512, .name = "fs" };
	sigset_t all, old;
	int rc = reactor_create(&im->r, &cfg);

	if (rc < 0) {
		im->r = NULL;
		vimage_err(im, "io_uring is not available: %s", strerror(-rc));
		return rc;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&im->thread, NULL, fs_thread_main, im);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		vimage_err(im, "cannot start the fs thread: %s", strerror(-rc));
		return rc;
	}
	im->thread_started = true;
	return 0;
}

static void fs_thread_stop(struct vimage *im)
{
	if (im->thread_started) {
		reactor_stop(im->r);
		pthread_join(im->thread, NULL);
		im->thread_started = false;
	}
	if (im->r)
		reactor_destroy(im->r);
	im->r = NULL;
}

/* --- lock and device ------------------------------------------------------ */

static bool mode_writes(enum vimage_mode m)
{
	return m == VIMAGE_MOUNT_RW || m == VIMAGE_STORE_RW;
}

static int image_lock(struct vimage *im)
{
	int op = mode_writes(im->mode) ? LOCK_EX : LOCK_SH;

	im->lock_fd = open(im->path, O_RDONLY | O_CLOEXEC);
	if (im->lock_fd < 0) {
		int err = errno;

		vimage_err(im, "cannot open %s: %s", im->path, strerror(err));
		return -err;
	}
	if (flock(im->lock_fd, op | LOCK_NB) < 0) {
		int err = errno;

		if (err == EWOULDBLOCK)
			vimage_err(im, "%s is in use by another program (a "
				   "vhostfsd serving it, or a vhostfs tool "
				   "changing it)", im->path);
		else
			vimage_err(im, "cannot lock %s: %s", im->path,
				   strerror(err));
		return -err;
	}
	return 0;
}

static int image_dev_open(struct vimage *im)
{
	struct bdev_uring_config cfg = { .path = im->path,
					 .direct = BDEV_URING_DIRECT_AUTO };
	struct bt_probe p;
	int rc = bt_probe_image(im->path, &p);

	if (rc < 0) {
		vimage_err(im, "cannot read %s: %s", im->path, strerror(-rc));
		return rc;
	}
	if (!p.magic) {
		vimage_err(im, "%s is not a vhostfs image (no blobstore super "
			   "block); make one with vhostfs mkfs", im->path);
		return -EILSEQ;
	}
	cfg.block_size = p.block_size;
	rc = bdev_uring_open(&cfg, &im->dev);
	if (rc < 0) {
		im->dev = NULL;
		vimage_err(im, "cannot open %s as a block device: %s",
			   im->path, strerror(-rc));
	}
	return rc;
}

/* --- store and mount steps ------------------------------------------------ */

static void step_load(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct blob_load_opts *o = arg;

	blob_store_load(im->dev, im->r, o, &im->bs, cb, cb_arg);
}

static void step_unload(struct vimage *im, void *arg, blob_cb cb,
			void *cb_arg)
{
	blob_store_unload(im->bs, cb, cb_arg);
}

struct mount_args {
	uint64_t vol_id;
	struct bfs_mount_opts opts;
	struct fs **out;
};

static void step_mount(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct mount_args *a = arg;

	bfs_mount(im->bs, a->vol_id, &a->opts, a->out, cb, cb_arg);
}

static void step_unmount(struct vimage *im, void *arg, blob_cb cb,
			 void *cb_arg)
{
	bfs_unmount(arg, cb, cb_arg);
}

int vimage_mount_id(struct vimage *im, uint64_t vol_id, bool read_only,
		    struct fs **out)
{
	struct mount_args a = {
		.vol_id = vol_id,
		.opts = { .read_only = read_only,
			  .cache_blocks = im->cache_blocks },
		.out = out,
	};
	int rc = vimage_run(im, step_mount, &a);

	if (rc < 0)
		*out = NULL;
	return rc;
}

int vimage_unmount_fs(struct vimage *im, struct fs *fs)
{
	return vimage_run(im, step_unmount, fs);
}

static int store_load(struct vimage *im)
{
	struct blob_load_opts o = { .read_only = !mode_writes(im->mode) };
	int rc = vimage_run(im, step_load, &o);

	if (rc < 0) {
		im->bs = NULL;
		vimage_err(im, "cannot load the store on %s: %s", im->path,
			   bt_strerror(rc));
		return rc;
	}
	im->store_read_only = o.read_only;
	return 0;
}

/* --- the export ----------------------------------------------------------- */

static int export_missing(struct vimage *im)
{
	char names[512];

	vimage_names_str(im, names, sizeof(names));
	vimage_err(im, "no file system named '%s' in %s; it has: %s",
		   im->export_name, im->path, names[0] ? names : "none");
	return -ENOENT;
}

static int export_mount(struct vimage *im)
{
	struct vimage_entry e;
	int rc = vimage_find(im, im->export_name, &e);

	if (rc == -ENOENT)
		return export_missing(im);
	if (rc < 0) {
		vimage_err(im, "cannot read the catalog of %s: %s", im->path,
			   bt_strerror(rc));
		return rc;
	}
	if (e.kind == VIMAGE_SNAPSHOT && im->mode == VIMAGE_MOUNT_RW) {
		vimage_err(im, "'%s' in %s is a snapshot, which is read-only: "
			   "serve it read-only (--readonly), or serve a clone "
			   "of it (vhostfs clone)", e.name, im->path);
		return -EROFS;
	}
	im->read_only = im->mode == VIMAGE_MOUNT_RO;
	rc = vimage_mount_id(im, e.blob_id, im->read_only, &im->fs);
	if (rc < 0) {
		vimage_err(im, "cannot mount '%s' of %s: %s", e.name,
			   im->path, rc == -EILSEQ ? "not a vhostfs file "
			   "system, or an unsupported version" :
			   bt_strerror(rc));
		return rc;
	}
	im->vol_id = e.blob_id;
	return 0;
}

/* --- open and close ------------------------------------------------------- */

static int image_init(struct vimage *im, const struct vimage_config *cfg)
{
	const char *name = cfg->export_name ? cfg->export_name
					    : VIMAGE_DEFAULT_EXPORT;

	im->lock_fd = -1;
	im->who = cfg->who ? cfg->who : "vhostfs";
	im->mode = cfg->mode;
	im->cache_blocks = cfg->cache_blocks;
	if (!cfg->path || vimage_name_check(name) < 0) {
		vimage_err(im, "'%s' is not a valid file-system name (1 to %d "
			   "of A-Z a-z 0-9 . _ -, not starting with '-' or "
			   "'.')", name, VIMAGE_NAME_MAX);
		return -EINVAL;
	}
	snprintf(im->export_name, sizeof(im->export_name), "%s", name);
	im->path = strdup(cfg->path);
	return im->path ? 0 : -ENOMEM;
}

int vimage_open(struct vimage **out, const struct vimage_config *cfg)
{
	struct vimage *im = calloc(1, sizeof(*im));
	bool mount;
	int rc;

	*out = NULL;
	if (!im)
		return -ENOMEM;
	mount = cfg->mode == VIMAGE_MOUNT_RW || cfg->mode == VIMAGE_MOUNT_RO;
	rc = image_init(im, cfg);
	if (rc == 0)
		rc = image_lock(im);
	if (rc == 0)
		rc = image_dev_open(im);
	if (rc == 0)
		rc = fs_thread_start(im);
	if (rc == 0)
		rc = store_load(im);
	if (rc == 0 && mount)
		rc = export_mount(im);
	if (rc < 0) {
		vimage_close(im);
		return rc;
	}
	*out = im;
	return 0;
}

static int first_err(int a, int b)
{
	return a < 0 ? a : b;
}

static int store_close(struct vimage *im)
{
	int rc = 0, rc2;

	if (im->fs) {
		rc = vimage_unmount_fs(im, im->fs);
		im->fs = NULL;
		if (rc < 0)
			vimage_err(im, "unmounting '%s' of %s: %s",
				   im->export_name, im->path, bt_strerror(rc));
	}
	if (im->bs) {
		rc2 = vimage_run(im, step_unload, NULL);
		if (rc2 != -EBUSY)
			im->bs = NULL;
		if (rc2 < 0)
			vimage_err(im, "closing the store on %s: %s",
				   im->path, bt_strerror(rc2));
		rc = first_err(rc, rc2);
	}
	return rc;
}

int vimage_close(struct vimage *im)
{
	int rc = 0;

	if (!im)
		return 0;
	if (im->thread_started)
		rc = store_close(im);
	fs_thread_stop(im);
	if (im->dev && !im->bs && bdev_destroy(im->dev) < 0)
		vimage_err(im, "the device of %s still has channels",
			   im->path);
	if (im->lock_fd >= 0)
		close(im->lock_fd);
	free(im->path);
	free(im);
	return rc;
}

/* --- the mounted fs ------------------------------------------------------- */

struct fs *vimage_fs(struct vimage *im)
{
	return im->fs;
}

struct reactor *vimage_reactor(struct vimage *im)
{
	return im->r;
}

bool vimage_read_only(const struct vimage *im)
{
	return im->read_only;
}

struct call_args {
	const struct fs_cred *cred;
	void (*start)(struct fs *fs, struct fs_call *c, void *arg);
	void *arg;
	struct fs_call call;
};

/* On the fs thread: bfs runs the call inline and completes it here too. */
static void step_call(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	struct call_args *a = arg;
	struct fs_call *c = &a->call;

	memset(c, 0, sizeof(*c));
	if (a->cred)
		c->cred = *a->cred;
	c->reactor = NULL;
	c->cb = cb;
	c->cb_arg = cb_arg;
	a->start(im->fs, c, a->arg);
}

int vimage_call(struct vimage *im, const struct fs_cred *cred,
		void (*start)(struct fs *fs, struct fs_call *c, void *arg),
		void *arg)
{
	struct call_args *a;
	int rc;

	if (!im->fs)
		return -EINVAL;
	/* the call's scratch is large: keep it off small thread stacks */
	a = malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cred = cred;
	a->start = start;
	a->arg = arg;
	rc = vimage_run(im, step_call, a);
	free(a);
	return rc;
}

static void step_sync(struct vimage *im, void *arg, blob_cb cb, void *cb_arg)
{
	bfs_sync(im->fs, cb, cb_arg);
}

int vimage_sync(struct vimage *im)
{
	if (!im->fs)
		return -EINVAL;
	if (im->read_only)
		return 0;
	return vimage_run(im, step_sync, NULL);
}

struct check_args {
	struct bfs_check_report *rep;
	FILE *log;
};

static void step_check(struct vimage *im, void *arg, blob_cb cb,
		       void *cb_arg)
{
	struct check_args *a = arg;

	bfs_check(im->fs, a->rep, a->log, cb, cb_arg);
}

int vimage_check(struct vimage *im, struct bfs_check_report *rep, FILE *log)
{
	struct check_args a = { .rep = rep, .log = log };

	if (!im->fs)
		return -EINVAL;
	memset(rep, 0, sizeof(*rep));
	return vimage_run(im, step_check, &a);
}
