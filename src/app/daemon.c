// SPDX-License-Identifier: MIT
/*
 * daemon.c - the parts of vhostfsd that do not depend on the transport:
 * the back-end stack (a host directory, or a file system of an image),
 * the FUSE session settings, --rlimit-nofile and the signal thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app/daemon_internal.h"
#include "app/image_internal.h"
#include "vhostfs/fs.h"
#include "vhostfs/log.h"
#include "vhostfs/passthrough.h"
#include "vhostfs/reactor.h"

/* Sent by the main thread to the signal thread: "we are done, leave". */
#define VHOSTFSD_SIG_QUIT SIGUSR1

static int stack_passthrough(struct vhostfsd_stack *st,
			     const struct vhostfsd_options *o)
{
	struct passthrough_config pc = {
		.shared_dir = o->shared_dir,
		.inodes = o->inodes,
		.xattr = o->xattr,
		.posix_acl = o->posix_acl,
		.readonly = o->readonly,
		.direct_io = o->direct_io,
	};
	int rc = worker_pool_create(&st->pool, o->thread_pool_size);

	if (rc < 0) {
		st->pool = NULL;
		log_error("vhostfsd: worker pool: %s", strerror(-rc));
		return rc;
	}
	pc.workers = st->pool;
	rc = passthrough_create(&pc, &st->fs);
	if (rc < 0) {
		st->fs = NULL;
		log_error("vhostfsd: cannot share %s: %s", o->shared_dir,
			  strerror(-rc));
	}
	return rc;
}

/* vimage_open() says what went wrong itself. */
static int stack_image(struct vhostfsd_stack *st,
		       const struct vhostfsd_options *o)
{
	struct vimage_config c = {
		.path = o->image,
		.export_name = o->export_name,
		.mode = o->readonly ? VIMAGE_MOUNT_RO : VIMAGE_MOUNT_RW,
		.who = "vhostfsd",
	};
	int rc = vimage_open(&st->image, &c);

	if (rc < 0) {
		st->image = NULL;
		return rc;
	}
	st->fs = vimage_fs(st->image);
	return 0;
}

int vhostfsd_stack_create(struct vhostfsd_stack *st,
			  const struct vhostfsd_options *o)
{
	if (o->image)
		return stack_image(st, o);
	return stack_passthrough(st, o);
}

int vhostfsd_stack_destroy(struct vhostfsd_stack *st)
{
	int rc = 0;

	/* an image's fs is its to unmount: waited for, not fs_ops.destroy */
	if (st->image)
		rc = vimage_close(st->image);
	else if (st->fs)
		st->fs->ops->destroy(st->fs);
	if (st->pool)
		worker_pool_destroy(st->pool);
	st->image = NULL;
	st->fs = NULL;
	st->pool = NULL;
	return rc;
}

const char *vhostfsd_source_str(const struct vhostfsd_options *o,
				const struct vhostfsd_stack *st, char *buf,
				size_t len)
{
	bool ro = st->image && vimage_read_only(st->image);

	if (!o->image)
		return o->shared_dir;
	snprintf(buf, len, "%s (file system '%s'%s)", o->image,
		 o->export_name ? o->export_name : VIMAGE_DEFAULT_EXPORT,
		 ro ? ", read-only" : "");
	return buf;
}

void vhostfsd_session_config(const struct vhostfsd_options *o, struct fs *fs,
			     struct fuse_session_config *fc)
{
	*fc = (struct fuse_session_config){
		.fs = fs,
		.cache = o->cache,
		.xattr = o->xattr,
		.posix_acl = o->xattr && o->posix_acl,
		.writeback = o->writeback,
		.max_write = VHOSTFSD_MAX_WRITE,
		.max_pages = VHOSTFSD_MAX_PAGES,
	};
}

int vhostfsd_rlimit(const struct vhostfsd_options *o)
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

/* --- signals ------------------------------------------------------------ */

int vhostfsd_signals_block(struct vhostfsd_signals *s)
{
	sigemptyset(&s->set);
	sigaddset(&s->set, SIGINT);
	sigaddset(&s->set, SIGTERM);
	sigaddset(&s->set, SIGHUP);
	sigaddset(&s->set, VHOSTFSD_SIG_QUIT);
	signal(SIGPIPE, SIG_IGN);
	/* before any thread exists, so that every thread inherits the mask */
	return -pthread_sigmask(SIG_BLOCK, &s->set, NULL);
}

/* Our own "done" comes from pthread_kill(); a SIGUSR1 from outside is not. */
static bool signals_is_quit(int sig, const siginfo_t *si)
{
	return sig == VHOSTFSD_SIG_QUIT && si->si_pid == getpid();
}

/*
 * After stop(): wait for the main thread's "done".  Whoever asks twice, or
 * a teardown that cannot finish (a request that never completes holds its
 * ring), gets a process exit without teardown rather than a hang.
 */
static void signals_grace(struct vhostfsd_signals *s)
{
	struct timespec end, now, left;
	siginfo_t si;
	int sig;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += s->grace_s;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			break;
		sig = sigtimedwait(&s->set, &si, &left);
		if (sig > 0 && signals_is_quit(sig, &si))
			return;
		if (sig > 0 && sig != VHOSTFSD_SIG_QUIT) {
			log_error("vhostfsd: %s again, exiting now", strsignal(sig));
			_exit(1);
		}
		if (sig < 0 && errno != EINTR)
			break;
	}
	log_error("vhostfsd: shutdown did not finish in %u s (requests stuck "
		  "in the back-end), exiting without teardown", s->grace_s);
	_exit(1);
}

static void *signals_main(void *arg)
{
	struct vhostfsd_signals *s = arg;
	siginfo_t si;
	int sig;

	do {
		sig = sigwaitinfo(&s->set, &si);
	} while (sig < 0 || (sig == VHOSTFSD_SIG_QUIT &&
			     !signals_is_quit(sig, &si)));
	if (sig == VHOSTFSD_SIG_QUIT)
		return NULL;
	log_info("vhostfsd: %s, shutting down", strsignal(sig));
	s->stop(s->arg);
	if (s->grace_s)
		signals_grace(s);
	return NULL;
}

int vhostfsd_signals_start(struct vhostfsd_signals *s)
{
	int rc = -pthread_create(&s->thread, NULL, signals_main, s);

	s->started = rc == 0;
	return rc;
}

void vhostfsd_signals_end(struct vhostfsd_signals *s)
{
	if (!s->started)
		return;
	/* it may have left already (it took a SIGTERM): then this is a no-op */
	pthread_kill(s->thread, VHOSTFSD_SIG_QUIT);
	pthread_join(s->thread, NULL);
	s->started = false;
}
