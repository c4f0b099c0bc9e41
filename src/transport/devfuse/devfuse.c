// SPDX-License-Identifier: MIT
/*
 * devfuse.c - the /dev/fuse transport's public API and its end of life.
 *
 * The session ends in one of three ways, all funnelled into devfuse_end():
 * a channel reports ENODEV (someone unmounted, or the connection was
 * aborted), devfuse_stop() is called (a signal), or a channel fails.  After
 * that every thread is told to stop; it cancels its reads, waits (bounded)
 * for the requests inside the engine, and leaves its reactor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/devfuse/devfuse_internal.h"
#include "vhostfs/log.h"

static int devfuse_config_check(const struct devfuse_config *cfg,
				unsigned int *threads, unsigned int *qd,
				uint32_t *max_write)
{
	*threads = cfg->threads ? cfg->threads : DEVFUSE_THREADS_DEFAULT;
	*qd = cfg->queue_depth ? cfg->queue_depth : DEVFUSE_QUEUE_DEPTH_DEFAULT;
	*max_write = cfg->max_write ? cfg->max_write : DEVFUSE_MAX_WRITE_DEFAULT;
	if (*threads > DEVFUSE_THREADS_MAX) {
		log_error("devfuse: %u threads, at most %u", *threads,
			  DEVFUSE_THREADS_MAX);
		return -EINVAL;
	}
	if (*qd > DEVFUSE_QUEUE_DEPTH_MAX) {
		log_error("devfuse: queue depth %u, at most %u", *qd,
			  DEVFUSE_QUEUE_DEPTH_MAX);
		return -EINVAL;
	}
	if (*max_write < DEVFUSE_MAX_WRITE_MIN ||
	    *max_write > DEVFUSE_MAX_WRITE_MAX) {
		log_error("devfuse: max_write %u outside [%u, %u]", *max_write,
			  DEVFUSE_MAX_WRITE_MIN, DEVFUSE_MAX_WRITE_MAX);
		return -EINVAL;
	}
	return 0;
}

void devfuse_end(struct devfuse *d, int err, bool conn_gone)
{
	pthread_mutex_lock(&d->lock);
	if (conn_gone)
		d->conn_gone = true;
	if (err && !d->error)
		d->error = err;
	d->ended = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void devfuse_threads_stop(struct devfuse *d)
{
	bool send;

	pthread_mutex_lock(&d->lock);
	send = !d->stop_sent;
	d->stop_sent = true;
	pthread_mutex_unlock(&d->lock);
	if (!send)
		return;
	for (unsigned int i = 0; i < d->nthreads; i++) {
		if (d->threads[i].running)
			devfuse_thread_stop_async(&d->threads[i]);
	}
}

/* Join every started thread; wait() and destroy() run on one thread. */
static void devfuse_join(struct devfuse *d)
{
	if (d->joined)
		return;
	for (unsigned int i = 0; i < d->nthreads; i++) {
		struct devfuse_thread *t = &d->threads[i];

		if (t->running)
			pthread_join(t->tid, NULL);
		t->running = false;
	}
	d->joined = true;
}

static void devfuse_free(struct devfuse *d)
{
	bool stuck = false;

	for (unsigned int i = 0; i < d->nthreads; i++) {
		struct devfuse_thread *t = &d->threads[i];

		devfuse_thread_fini(t);
		stuck |= t->stuck;
		/* a stuck thread's ring may still hold reads on its fd */
		if (t->fd >= 0 && !t->stuck)
			close(t->fd);
	}
	if (stuck)
		return; /* the stuck threads still point into *d */
	free(d->threads);
	free(d->mountpoint);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static struct devfuse *devfuse_alloc(const struct devfuse_config *cfg,
				     struct fuse_session *session,
				     unsigned int nthreads)
{
	struct devfuse *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->threads = calloc(nthreads, sizeof(*d->threads));
	if (cfg->mountpoint)
		d->mountpoint = strdup(cfg->mountpoint);
	if (!d->threads || (cfg->mountpoint && !d->mountpoint)) {
		free(d->threads);
		free(d->mountpoint);
		free(d);
		return NULL;
	}
	d->nthreads = nthreads;
	d->session = session;
	d->mounted = cfg->mountpoint != NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	return d;
}

static int devfuse_threads_start(struct devfuse *d)
{
	for (unsigned int i = 0; i < d->nthreads; i++) {
		int rc = devfuse_thread_init(&d->threads[i]);

		if (rc < 0)
			return rc;
	}
	for (unsigned int i = 0; i < d->nthreads; i++) {
		struct devfuse_thread *t = &d->threads[i];
		int rc = pthread_create(&t->tid, NULL, devfuse_thread_main, t);

		if (rc != 0) {
			log_error("devfuse: cannot start thread: %s",
				  strerror(rc));
			return -rc;
		}
		t->running = true;
	}
	return 0;
}

int devfuse_serve_fds(struct devfuse **out, const struct devfuse_config *cfg,
		      struct fuse_session *session, const int *fds,
		      unsigned int nfds, devfuse_process_fn process)
{
	unsigned int threads, qd;
	uint32_t max_write;
	struct devfuse *d = NULL;
	int rc;

	rc = devfuse_config_check(cfg, &threads, &qd, &max_write);
	if (rc == 0 && (nfds == 0 || nfds > DEVFUSE_THREADS_MAX))
		rc = -EINVAL;
	if (rc == 0)
		d = devfuse_alloc(cfg, session, nfds);
	if (!d) {
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		return rc < 0 ? rc : -ENOMEM;
	}
	d->process = process;
	d->queue_depth = qd;
	d->max_write = max_write;
	for (unsigned int i = 0; i < nfds; i++) {
		d->threads[i].d = d;
		d->threads[i].index = i;
		d->threads[i].fd = fds[i];
	}
	rc = devfuse_threads_start(d);
	if (rc < 0) {
		devfuse_end(d, rc, false);
		devfuse_threads_stop(d);
		devfuse_join(d);
		devfuse_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static void devfuse_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

int devfuse_start(struct devfuse **out, const struct devfuse_config *cfg,
		  struct fuse_session *session)
{
	int fds[DEVFUSE_THREADS_MAX];
	unsigned int threads, qd, n;
	uint32_t max_write;
	int rc;

	if (!cfg->mountpoint)
		return -EINVAL;
	rc = devfuse_config_check(cfg, &threads, &qd, &max_write);
	if (rc < 0)
		return rc;
	fds[0] = devfuse_mount(cfg, max_write);
	if (fds[0] < 0)
		return fds[0];
	for (n = 1; n < threads; n++) {
		fds[n] = devfuse_clone(fds[0]);
		if (fds[n] < 0) {
			rc = fds[n];
			devfuse_close_fds(fds, n);
			devfuse_unmount(cfg->mountpoint);
			return rc;
		}
	}
	rc = devfuse_serve_fds(out, cfg, session, fds, threads,
			       fuse_session_process);
	if (rc < 0)
		devfuse_unmount(cfg->mountpoint);
	return rc;
}

int devfuse_wait(struct devfuse *d)
{
	bool stuck = false;
	int rc;

	pthread_mutex_lock(&d->lock);
	while (!d->ended)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	devfuse_threads_stop(d);
	devfuse_join(d);
	for (unsigned int i = 0; i < d->nthreads; i++)
		stuck |= d->threads[i].stuck;
	pthread_mutex_lock(&d->lock);
	rc = d->error;
	pthread_mutex_unlock(&d->lock);
	return rc ? rc : (stuck ? -EBUSY : 0);
}

void devfuse_stop(struct devfuse *d)
{
	bool mounted, conn_gone;

	pthread_mutex_lock(&d->lock);
	mounted = d->mounted;
	conn_gone = d->conn_gone;
	d->mounted = false;
	pthread_mutex_unlock(&d->lock);
	if (mounted && !conn_gone)
		devfuse_unmount(d->mountpoint);
	else if (mounted)
		devfuse_detach_dead(d->mountpoint); /* aborted, still attached */
	devfuse_end(d, 0, false);
	devfuse_threads_stop(d);
}

void devfuse_destroy(struct devfuse *d)
{
	if (!d)
		return;
	devfuse_stop(d);
	devfuse_join(d);
	devfuse_free(d);
}
