/* SPDX-License-Identifier: MIT */
/*
 * daemon_internal.h - what vhostfsd's two transports share: the back-end
 * stack below the FUSE session, the session settings, and the signal
 * thread.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP) are blocked in every thread before the
 * first one is created and taken by one thread with sigwait(), which only
 * asks the transport to stop; the main thread does the teardown.
 */
#ifndef VHOSTFS_APP_DAEMON_INTERNAL_H
#define VHOSTFS_APP_DAEMON_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/options_internal.h"
#include "vhostfs/fuse_engine.h"

/* The session and the transports' buffers must agree on these. */
#define VHOSTFSD_MAX_WRITE (1u << 20)
#define VHOSTFSD_MAX_PAGES 256

struct vimage;

/*
 * The back-end and what it runs on: a worker pool and the passthrough fs
 * (--shared-dir), or an image with its fs thread and the mounted file
 * system (--image).
 */
struct vhostfsd_stack {
	struct worker_pool *pool;
	struct vimage *image;
	struct fs *fs;
};

/* Build the back-end of @o (logs why on failure). */
int vhostfsd_stack_create(struct vhostfsd_stack *st,
			  const struct vhostfsd_options *o);
/*
 * Free what vhostfsd_stack_create() got done; no request may be left and
 * every session is gone.  An image is unmounted (committed, marked clean)
 * and closed before this returns.  0 or the first error of that.
 */
int vhostfsd_stack_destroy(struct vhostfsd_stack *st);

/* What @o serves, for the banner: "DIR" or "IMAGE (file system 'main')". */
const char *vhostfsd_source_str(const struct vhostfsd_options *o,
				const struct vhostfsd_stack *st, char *buf,
				size_t len);

/* The FUSE session settings that @o asks for, serving @fs. */
void vhostfsd_session_config(const struct vhostfsd_options *o, struct fs *fs,
			     struct fuse_session_config *fc);

/* Apply --rlimit-nofile (logs on failure). */
int vhostfsd_rlimit(const struct vhostfsd_options *o);

struct vhostfsd_signals {
	sigset_t set;
	pthread_t thread;
	bool started;
	void (*stop)(void *arg); /* first signal: ask the transport to stop */
	void *arg;
	/*
	 * 0: the thread leaves after stop().  Otherwise it waits this long
	 * for vhostfsd_signals_end(); a second signal, or the time running
	 * out (a request stuck in the back-end), ends the process with
	 * status 1 and no teardown.
	 */
	unsigned int grace_s;
};

/* Block the signals; call before creating any thread. */
int vhostfsd_signals_block(struct vhostfsd_signals *s);
/* Start the signal thread (fill stop, arg, grace_s first). */
int vhostfsd_signals_start(struct vhostfsd_signals *s);
/* The transport has stopped: end the signal thread. */
void vhostfsd_signals_end(struct vhostfsd_signals *s);

/* Serve @o over vhost-user until a signal (vhostfsd_vu.c); 0 or -errno. */
int vhostfsd_serve_vhost_user(const struct vhostfsd_options *o);

#endif /* VHOSTFS_APP_DAEMON_INTERNAL_H */
