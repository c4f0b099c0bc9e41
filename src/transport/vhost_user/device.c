// SPDX-License-Identifier: MIT
/*
 * device.c - the vhost-user device: its socket, one front-end at a time,
 * start and shutdown.  Runs on the control reactor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhostfs/log.h"

#include "device_internal.h"

/* --- the default engine: the FUSE session of fuse_engine.h ------------- */

static int engine_session_create(void *ctx, struct fuse_session **out)
{
	return fuse_session_create(out, ctx);
}

static void engine_session_destroy(void *ctx, struct fuse_session *s)
{
	fuse_session_destroy(s);
}

static void engine_process(void *ctx, struct fuse_session *s,
			   struct fuse_request *req)
{
	fuse_session_process(s, req);
}

/* --- socket setup ------------------------------------------------------ */

static int listen_on_path(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* replace a stale socket of an earlier run, never another file */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* An inherited socket: listening (accept on it) or already connected. */
static int adopt_fd(int fd, bool *listening)
{
	int acc = 0, fl;
	socklen_t len = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	*listening = acc != 0;
	return 0;
}

static int device_config_check(const struct vhost_user_config *cfg)
{
	if (!cfg->control || cfg->num_request_queues >
				     VHOST_USER_REQUEST_QUEUES_MAX)
		return -EINVAL;
	if (cfg->nthreads && !cfg->threads)
		return -EINVAL;
	if (!cfg->socket_path && cfg->fd < 0)
		return -EINVAL;
	if (!cfg->engine && !cfg->session)
		return -EINVAL;
	return 0;
}

static void device_defaults(struct vhost_user_device *d)
{
	struct vhost_user_config *cfg = &d->cfg;

	if (cfg->num_request_queues == 0)
		cfg->num_request_queues = 1;
	if (cfg->queue_depth == 0)
		cfg->queue_depth = VU_QUEUE_DEPTH_DEFAULT;
	if (cfg->max_mem_slots == 0 || cfg->max_mem_slots > VU_MEM_SLOTS_MAX)
		cfg->max_mem_slots = VU_MEM_SLOTS_MAX;
	if (cfg->engine) {
		d->engine = *cfg->engine;
		return;
	}
	d->session_cfg = *cfg->session;
	d->engine.session_create = engine_session_create;
	d->engine.session_destroy = engine_session_destroy;
	d->engine.process = engine_process;
	d->engine.ctx = &d->session_cfg;
}

static int device_socket(struct vhost_user_device *d)
{
	if (!d->cfg.socket_path) {
		d->listen_fd = d->cfg.fd;
		return adopt_fd(d->listen_fd, &d->listening);
	}
	d->socket_path = strdup(d->cfg.socket_path);
	if (!d->socket_path)
		return -ENOMEM;
	d->listening = true;
	return listen_on_path(d->socket_path, &d->listen_fd);
}

int vhost_user_device_create(struct vhost_user_device **out,
			     const struct vhost_user_config *cfg)
{
	struct vhost_user_device *d;
	int rc = device_config_check(cfg);

	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->listen_fd = -1;
	device_defaults(d);
	if (cfg->nthreads) {
		d->threads = calloc(cfg->nthreads, sizeof(*d->threads));
		if (!d->threads) {
			free(d);
			return -ENOMEM;
		}
		memcpy(d->threads, cfg->threads,
		       cfg->nthreads * sizeof(*d->threads));
	}
	rc = device_socket(d);
	if (rc) {
		/* nothing was bound; an inherited fd stays the caller's */
		d->listen_fd = -1;
		vhost_user_device_destroy(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* --- accepting --------------------------------------------------------- */

static void device_accept_arm(struct vhost_user_device *d);

static void device_finish_maybe(struct vhost_user_device *d)
{
	if (!d->shutting_down || d->conn || d->accept_armed || d->finished)
		return;
	d->finished = true;
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
	if (d->socket_path)
		unlink(d->socket_path);
	if (d->shutdown_cb)
		d->shutdown_cb(d->shutdown_arg);
}

static void device_serve(struct vhost_user_device *d, int sock)
{
	int rc = vu_conn_create(d, sock, &d->conn);

	if (rc) {
		log_error("vhost-user: cannot serve a front-end: %s",
			  strerror(-rc));
		d->conn = NULL;
		return;
	}
	atomic_fetch_add_explicit(&d->stat_connections, 1,
				  memory_order_relaxed);
	atomic_store_explicit(&d->stat_connected, true, memory_order_relaxed);
	log_info("vhost-user: front-end connected");
	vu_conn_start(d->conn);
}

static void device_accept_cpl(void *arg, int res)
{
	struct vhost_user_device *d = arg;
	int sock;

	d->accept_armed = false;
	if (d->shutting_down) {
		device_finish_maybe(d);
		return;
	}
	sock = accept4(d->listen_fd, NULL, NULL,
		       SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (sock >= 0)
		device_serve(d, sock);
	else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_error("vhost-user: accept: %s", strerror(errno));
	if (!d->conn)
		device_accept_arm(d);
}

static void device_accept_arm(struct vhost_user_device *d)
{
	reactor_op_init(&d->accept_op, device_accept_cpl, d);
	d->accept_armed = true;
	reactor_poll_fd(d->cfg.control, &d->accept_op, d->listen_fd, POLLIN);
}

void vu_device_conn_closed(struct vhost_user_device *d)
{
	d->conn = NULL;
	atomic_store_explicit(&d->stat_connected, false, memory_order_relaxed);
	if (d->shutting_down) {
		device_finish_maybe(d);
		return;
	}
	if (d->listening) {
		device_accept_arm(d);
		return;
	}
	/* an inherited connected socket serves one front-end only */
	log_info("vhost-user: front-end gone; nothing more to serve");
	d->listen_fd = -1;
}

static void device_start_msg(void *arg)
{
	struct vhost_user_device *d = arg;

	if (d->shutting_down)
		return;
	if (d->listening) {
		device_accept_arm(d);
		return;
	}
	/* the inherited fd is the connection; the conn now owns it */
	device_serve(d, d->listen_fd);
	d->listen_fd = -1;
}

void vhost_user_device_start(struct vhost_user_device *d)
{
	d->started = true;
	d->start_msg.fn = device_start_msg;
	d->start_msg.arg = d;
	reactor_msg_send(d->cfg.control, &d->start_msg);
}

static void device_shutdown_msg(void *arg)
{
	struct vhost_user_device *d = arg;

	d->shutting_down = true;
	if (d->conn)
		vu_conn_close(d->conn);
	if (d->accept_armed)
		reactor_cancel(d->cfg.control, &d->accept_op);
	device_finish_maybe(d);
}

void vhost_user_device_shutdown(struct vhost_user_device *d,
				void (*cb)(void *arg), void *arg)
{
	d->shutdown_cb = cb;
	d->shutdown_arg = arg;
	d->shutdown_msg.fn = device_shutdown_msg;
	d->shutdown_msg.arg = d;
	reactor_msg_send(d->cfg.control, &d->shutdown_msg);
}

void vhost_user_device_destroy(struct vhost_user_device *d)
{
	if (!d)
		return;
	/* never started: the socket is still ours to close */
	if (!d->started && d->listen_fd >= 0) {
		close(d->listen_fd);
		if (d->socket_path)
			unlink(d->socket_path);
	}
	free(d->socket_path);
	free(d->threads);
	free(d);
}

void vhost_user_device_get_stats(struct vhost_user_device *d,
				 struct vhost_user_stats *out)
{
	out->connections = atomic_load_explicit(&d->stat_connections,
						memory_order_relaxed);
	out->messages = atomic_load_explicit(&d->stat_messages,
					     memory_order_relaxed);
	out->broken_queues = atomic_load_explicit(&d->stat_broken,
						  memory_order_relaxed);
	out->connected = atomic_load_explicit(&d->stat_connected,
					      memory_order_relaxed);
}
