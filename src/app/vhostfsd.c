// SPDX-License-Identifier: MIT
/*
 * vhostfsd.c - the daemon: share a host directory or a file system of an
 * image over one FUSE transport, vhost-user (a virtio-fs guest,
 * vhostfsd_vu.c) or /dev/fuse (the host kernel, here).
 *
 * Start-up builds the stack bottom up (worker pool and passthrough
 * back-end, or the image's fs thread and mount; FUSE session, transport);
 * shutdown takes it down top first, so that no layer is freed while the
 * one above can still call it, and an image is unmounted cleanly last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/daemon_internal.h"
#include "app/options_internal.h"
#include "vhostfs/devfuse.h"
#include "vhostfs/fuse_engine.h"
#include "vhostfs/log.h"

#ifndef VHOSTFS_VERSION
#define VHOSTFS_VERSION "unknown"
#endif

struct vhostfsd {
	const struct vhostfsd_options *o;
	struct vhostfsd_stack stack;
	struct fuse_session *session;
	struct devfuse *devfuse;
	struct vhostfsd_signals sig;
};

static void vhostfsd_devfuse_stop(void *arg)
{
	struct vhostfsd *v = arg;

	devfuse_stop(v->devfuse);
}

static int vhostfsd_session_create(struct vhostfsd *v)
{
	struct fuse_session_config fc;
	int rc;

	vhostfsd_session_config(v->o, v->stack.fs, &fc);
	rc = fuse_session_create(&v->session, &fc);
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

/*
 * Undo whatever vhostfsd_start() got done, top first; an image is
 * unmounted last, once no session can call it.  Its error, if any.
 */
static int vhostfsd_teardown(struct vhostfsd *v)
{
	if (v->devfuse)
		devfuse_destroy(v->devfuse);
	if (v->session)
		fuse_session_destroy(v->session);
	return vhostfsd_stack_destroy(&v->stack);
}

static int vhostfsd_start(struct vhostfsd *v)
{
	int rc = vhostfsd_stack_create(&v->stack, v->o);

	if (rc == 0)
		rc = vhostfsd_session_create(v);
	if (rc == 0)
		rc = vhostfsd_devfuse_start(v);
	if (rc == 0) {
		/* devfuse_wait() reports requests that never come back */
		v->sig.stop = vhostfsd_devfuse_stop;
		v->sig.arg = v;
		rc = vhostfsd_signals_start(&v->sig);
	}
	return rc;
}

static int vhostfsd_serve_devfuse(const struct vhostfsd_options *o)
{
	struct vhostfsd v = { .o = o };
	char what[4200];
	int rc = vhostfsd_signals_block(&v.sig), rc2;

	if (rc == 0)
		rc = vhostfsd_rlimit(o);
	if (rc == 0)
		rc = vhostfsd_start(&v);
	if (rc < 0) {
		vhostfsd_teardown(&v);
		return rc;
	}
	printf("vhostfsd: serving %s at %s\n",
	       vhostfsd_source_str(o, &v.stack, what, sizeof(what)),
	       o->fuse_mount);
	fflush(stdout);
	rc = devfuse_wait(v.devfuse);
	vhostfsd_signals_end(&v.sig);
	if (rc == -EBUSY) {
		/* requests never came back: their memory must stay, so leave */
		log_error("vhostfsd: requests stuck in the back-end, exiting "
			  "without teardown");
		_exit(1);
	}
	if (rc < 0)
		log_error("vhostfsd: serving ended: %s", strerror(-rc));
	rc2 = vhostfsd_teardown(&v);
	log_info("vhostfsd: %s unmounted, exiting", o->fuse_mount);
	return rc < 0 ? rc : rc2;
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
	if (o->fuse_mount)
		rc = vhostfsd_serve_devfuse(o);
	else
		rc = vhostfsd_serve_vhost_user(o);
	free(o);
	return rc < 0 ? 1 : 0;
}
