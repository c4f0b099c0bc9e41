// SPDX-License-Identifier: MIT
/*
 * vhostfsd.c - the daemon: share a host directory over a FUSE transport.
 *
 * Start-up builds the stack bottom up (worker pool, passthrough back-end,
 * FUSE session, transport); shutdown takes it down top first, so that no
 * layer is freed while the one above can still call it.  Signals are
 * blocked in every thread and taken by one thread with sigwait(), which
 * only asks the transport to stop; the main thread does the teardown.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "app/options_internal.h"
#include "vhostfs/devfuse.h"
#include "vhostfs/fs.h"
#include "vhostfs/fuse_engine.h"
#include "vhostfs/log.h"
#include "vhostfs/passthrough.h"
#include "vhostfs/reactor.h"

#ifndef VHOSTFS_VERSION
#define VHOSTFS_VERSION "unknown"
#endif

/* The session and the /dev/fuse buffers must agree on this. */
#define VHOSTFSD_MAX_WRITE (1u << 20)
#define VHOSTFSD_MAX_PAGES 256
/* Sent by the main thread to the signal thread: "we are done, leave". */
#define VHOSTFSD_SIG_QUIT SIGUSR1

struct vhostfsd {
	const struct vhostfsd_options *o;
	struct worker_pool *pool;
	struct fs *fs;
	struct fuse_session *session;
	struct devfuse *devfuse;
	sigset_t sigs;
	pthread_t sig_thread;
	bool sig_thread_started;
};

static int vhostfsd_signals_block(struct vhostfsd *v)
{
	sigemptyset(&v->sigs);
	sigaddset(&v->sigs, SIGINT);
	sigaddset(&v->sigs, SIGTERM);
	sigaddset(&v->sigs, SIGHUP);
	sigaddset(&v->sigs, VHOSTFSD_SIG_QUIT);
	signal(SIGPIPE, SIG_IGN);
	/* before any thread exists, so that every thread inherits the mask */
	return -pthread_sigmask(SIG_BLOCK, &v->sigs, NULL);
}

static void *vhostfsd_signal_main(void *arg)
{
	struct vhostfsd *v = arg;
	int sig;

	while (sigwait(&v->sigs, &sig) != 0)
		;
	if (sig != VHOSTFSD_SIG_QUIT) {
		log_info("vhostfsd: %s, unmounting %s", strsignal(sig),
			 v->o->fuse_mount);
		devfuse_stop(v->devfuse);
	}
	return NULL;
}

static int vhostfsd_rlimit(const struct vhostfsd_options *o)
{
	struct rlimit rl = { .rlim_cur = o->rlimit_nofile,
			     .rlim_max = o->rlimit_nofile };

	if (!o->rlimit_nofile)
		return 0;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		int err = errno;

		log_error("vhostfsd: --rlimit-nofile %llu: %s",
			  (unsigned long long)o->rlimit_nofile, strerror(err));
		return -err;
	}
	return 0;
}

static int vhostfsd_backend_create(struct vhostfsd *v)
{
	const struct vhostfsd_options *o = v->o;
	struct passthrough_config pc = {
		.shared_dir = o->shared_dir,
		.inodes = o->inodes,
		.xattr = o->xattr,
		.posix_acl = o->posix_acl,
		.readonly = o->readonly,
	};
	int rc = worker_pool_create(&v->pool, o->thread_pool_size);

	if (rc < 0) {
		log_error("vhostfsd: worker pool: %s", strerror(-rc));
		return rc;
	}
	pc.workers = v->pool;
	rc = passthrough_create(&pc, &v->fs);
	if (rc < 0)
		log_error("vhostfsd: cannot share %s: %s", o->shared_dir,
			  strerror(-rc));
	return rc;
}

static int vhostfsd_session_create(struct vhostfsd *v)
{
	const struct vhostfsd_options *o = v->o;
	struct fuse_session_config fc = {
		.fs = v->fs,
		.cache = o->cache,
		.xattr = o->xattr,
		.posix_acl = o->xattr && o->posix_acl,
		.writeback = o->writeback,
		.max_write = VHOSTFSD_MAX_WRITE,
		.max_pages = VHOSTFSD_MAX_PAGES,
	};
	int rc = fuse_session_create(&v->session, &fc);

	if (rc < 0)
		log_error("vhostfsd: FUSE session: %s", strerror(-rc));
	return rc;
}

static int vhostfsd_devfuse_start(struct vhostfsd *v)
{
	const struct vhostfsd_options *o = v->o;
	struct devfuse_config dc = {
		.mountpoint = o->fuse_mount,
		.fsname = "vhostfs",
		.threads = o->threads,
		.queue_depth = o->queue_depth,
		.max_write = VHOSTFSD_MAX_WRITE,
		/* the kernel refuses writes early; the back-end refuses too */
		.options = o->readonly ? "ro" : NULL,
	};

	return devfuse_start(&v->devfuse, &dc, v->session);
}

/* Undo whatever vhostfsd_start() got done, top first. */
static void vhostfsd_teardown(struct vhostfsd *v)
{
	if (v->devfuse)
		devfuse_destroy(v->devfuse);
	if (v->session)
		fuse_session_destroy(v->session);
	if (v->fs)
		v->fs->ops->destroy(v->fs);
	if (v->pool)
		worker_pool_destroy(v->pool);
}

static int vhostfsd_start(struct vhostfsd *v)
{
	int rc = vhostfsd_backend_create(v);

	if (rc == 0)
		rc = vhostfsd_session_create(v);
	if (rc == 0)
		rc = vhostfsd_devfuse_start(v);
	if (rc == 0) {
		rc = -pthread_create(&v->sig_thread, NULL, vhostfsd_signal_main,
				     v);
		v->sig_thread_started = rc == 0;
	}
	return rc;
}

static void vhostfsd_signal_thread_end(struct vhostfsd *v)
{
	if (!v->sig_thread_started)
		return;
	/* it may have left already (it took a SIGTERM): then this is a no-op */
	pthread_kill(v->sig_thread, VHOSTFSD_SIG_QUIT);
	pthread_join(v->sig_thread, NULL);
}

static int vhostfsd_serve_devfuse(const struct vhostfsd_options *o)
{
	struct vhostfsd v = { .o = o };
	int rc = vhostfsd_signals_block(&v);

	if (rc == 0)
		rc = vhostfsd_rlimit(o);
	if (rc == 0)
		rc = vhostfsd_start(&v);
	if (rc < 0) {
		vhostfsd_teardown(&v);
		return rc;
	}
	printf("vhostfsd: serving %s at %s\n", o->shared_dir, o->fuse_mount);
	fflush(stdout);
	rc = devfuse_wait(v.devfuse);
	vhostfsd_signal_thread_end(&v);
	if (rc == -EBUSY) {
		/* requests never came back: their memory must stay, so leave */
		log_error("vhostfsd: requests stuck in the back-end, exiting "
			  "without teardown");
		_exit(1);
	}
	if (rc < 0)
		log_error("vhostfsd: serving ended: %s", strerror(-rc));
	vhostfsd_teardown(&v);
	log_info("vhostfsd: %s unmounted, exiting", o->fuse_mount);
	return rc;
}

static int vhostfsd_action(const struct vhostfsd_options *o)
{
	switch (o->action) {
	case VHOSTFSD_HELP:
		fputs(vhostfsd_usage, stdout);
		return 0;
	case VHOSTFSD_VERSION:
		printf("vhostfsd %s\n", VHOSTFS_VERSION);
		return 0;
	case VHOSTFSD_CAPABILITIES:
		fputs(vhostfsd_capabilities, stdout);
		return 0;
	case VHOSTFSD_RUN:
		break;
	}
	return 1;
}

int main(int argc, char *argv[])
{
	struct vhostfsd_options *o = malloc(sizeof(*o));
	char err[VHOSTFSD_ERR_MAX];
	int rc;

	if (!o)
		return 1;
	vhostfsd_options_init(o);
	if (vhostfsd_options_parse(o, argc, argv, err, sizeof(err)) < 0 ||
	    vhostfsd_options_validate(o, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhostfsd: %s\n", err);
		free(o);
		return 1;
	}
	if (o->action != VHOSTFSD_RUN) {
		rc = vhostfsd_action(o);
		free(o);
		return rc;
	}
	log_set_level(o->log_level);
	for (unsigned int i = 0; i < o->nwarnings; i++)
		log_warn("vhostfsd: %s", o->warnings[i]);
	if (o->socket_path || o->vhost_fd >= 0) {
		fprintf(stderr, "vhostfsd: --socket-path/--fd need the "
			"vhost-user transport, which this build does not have "
			"yet; use --fuse-mount MNT\n");
		free(o);
		return 1;
	}
	rc = vhostfsd_serve_devfuse(o);
	free(o);
	return rc < 0 ? 1 : 0;
}
