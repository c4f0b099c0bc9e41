// SPDX-License-Identifier: MIT
/*
 * vhostfsd_vu.c - vhostfsd as a vhost-user virtio-fs device.
 *
 * Threads: the main thread runs the control reactor (the socket, the
 * protocol and, unless --poll, the hiprio queue: FORGETs never wait behind
 * request-queue work); T reactor threads run the request queues, queue q
 * on thread (q - 1) % T, so with T = N every request queue has a thread of
 * its own.  With --poll hiprio moves to the first queue thread, so that
 * polling keeps T cores busy, not T + 1.
 *
 * One front-end at a time; after it disconnects the device listens again
 * (virtiofsd exits instead).  An inherited socket that is already connected
 * (--fd of a socketpair end) serves that one front-end, then the daemon
 * exits 0.
 *
 * Shutdown (SIGTERM, SIGINT, SIGHUP): the signal thread asks the device to
 * stop; the device disconnects the front-end once its requests in flight
 * completed, removes the socket and calls back on the control thread,
 * which stops the control reactor.  The main thread then stops and joins
 * every queue thread before it destroys the device and any reactor.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/daemon_internal.h"
#include "app/vu_engine_internal.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"
#include "vhostfs/vhost_user.h"

_Static_assert(VHOSTFSD_QUEUES_MAX == VHOST_USER_REQUEST_QUEUES_MAX,
	       "--queues bound");

/* SIGTERM to exit: how long requests in flight may take to complete. */
#define VU_SHUTDOWN_GRACE_S 15u
/* How often an inherited connection is checked for its end. */
#define VU_WATCH_NS (200ull * 1000 * 1000)

struct vhostfsd_vu {
	const struct vhostfsd_options *o;
	struct vhostfsd_stack stack;
	struct vhostfsd_vu_engine engine;
	struct vhost_user_engine hooks;
	unsigned int nqueues;  /* hiprio + request queues */
	unsigned int nthreads; /* queue threads */
	struct reactor *control;
	struct reactor *threads[VHOST_USER_REQUEST_QUEUES_MAX];
	pthread_t tids[VHOST_USER_REQUEST_QUEUES_MAX];
	unsigned int nstarted;
	struct reactor *queue_owner[1 + VHOST_USER_REQUEST_QUEUES_MAX];
	struct vhost_user_device *dev;
	bool dev_started;
	bool one_connection;   /* inherited connected socket */
	atomic_flag stop_asked;
	bool stopped;          /* control thread: the device finished */
	bool watch_armed;
	struct reactor_op watch_op;
	struct reactor_msg watch_msg;
	struct vhostfsd_signals sig;
};

/* --- threads ------------------------------------------------------------ */

struct vu_thread_arg {
	struct reactor *r;
	unsigned int slot;
};

static void *vu_thread_main(void *arg)
{
	struct vu_thread_arg a = *(struct vu_thread_arg *)arg;
	int rc;

	free(arg);
	vhostfsd_vu_engine_thread_slot(a.slot);
	rc = reactor_run(a.r);
	if (rc < 0)
		log_error("vhostfsd: queue thread %u: %s", a.slot,
			  strerror(-rc));
	return NULL;
}

static int vu_thread_start(struct vhostfsd_vu *v, unsigned int i)
{
	struct vu_thread_arg *a = malloc(sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	a->r = v->threads[i];
	a->slot = i + 1;
	rc = -pthread_create(&v->tids[i], NULL, vu_thread_main, a);
	if (rc)
		free(a);
	return rc;
}

/* Stop and join every queue thread; only then may reactors go. */
static void vu_threads_join(struct vhostfsd_vu *v)
{
	for (unsigned int i = 0; i < v->nstarted; i++)
		reactor_stop(v->threads[i]);
	for (unsigned int i = 0; i < v->nstarted; i++)
		pthread_join(v->tids[i], NULL);
	v->nstarted = 0;
}

static int vu_reactors_create(struct vhostfsd_vu *v)
{
	struct reactor_config rc_ctl = { .name = "vu-control" };
	int rc = reactor_create(&v->control, &rc_ctl);

	if (rc < 0) {
		v->control = NULL;
		return rc;
	}
	for (unsigned int i = 0; i < v->nthreads; i++) {
		struct reactor_config rcq = { .name = "vu-queue" };

		rc = reactor_create(&v->threads[i], &rcq);
		if (rc < 0) {
			v->threads[i] = NULL;
			return rc;
		}
	}
	return 0;
}

static void vu_reactors_destroy(struct vhostfsd_vu *v)
{
	for (unsigned int i = 0; i < v->nthreads; i++) {
		if (v->threads[i])
			reactor_destroy(v->threads[i]);
	}
	if (v->control)
		reactor_destroy(v->control);
}

/* Queue q's reactor and counter slot (see the file comment). */
static void vu_queue_map(struct vhostfsd_vu *v)
{
	struct vhostfsd_vu_engine *e = &v->engine;

	e->nqueues = v->nqueues;
	e->nslots = 1 + v->nthreads;
	for (unsigned int q = 0; q < v->nqueues; q++) {
		unsigned int t = q ? (q - 1) % v->nthreads : 0;
		bool on_control = q == 0 && !v->o->poll;

		v->queue_owner[q] = on_control ? v->control : v->threads[t];
		e->queue_slot[q] = on_control ? 0 : (unsigned char)(t + 1);
	}
}

/* --- stopping ----------------------------------------------------------- */

static void vu_control_stop_maybe(struct vhostfsd_vu *v)
{
	if (v->stopped && !v->watch_armed)
		reactor_stop(v->control);
}

/* The device finished its shutdown (control thread). */
static void vu_device_stopped(void *arg)
{
	struct vhostfsd_vu *v = arg;

	v->stopped = true;
	if (v->watch_armed)
		reactor_cancel(v->control, &v->watch_op);
	vu_control_stop_maybe(v);
}

/* From the signal thread or the control thread; the first call counts. */
static void vu_stop(void *arg)
{
	struct vhostfsd_vu *v = arg;

	if (atomic_flag_test_and_set(&v->stop_asked))
		return;
	vhost_user_device_shutdown(v->dev, vu_device_stopped, v);
}

/* --- an inherited connection: exit when it ends ------------------------- */

static void vu_watch_arm(struct vhostfsd_vu *v);

static void vu_watch_cpl(void *arg, int res)
{
	struct vhostfsd_vu *v = arg;
	struct vhost_user_stats st;

	v->watch_armed = false;
	if (v->stopped) {
		vu_control_stop_maybe(v);
		return;
	}
	vhost_user_device_get_stats(v->dev, &st);
	if (st.connections > 0 && !st.connected) {
		log_info("vhostfsd: the inherited connection ended, exiting");
		vu_stop(v);
		return;
	}
	vu_watch_arm(v);
}

static void vu_watch_arm(struct vhostfsd_vu *v)
{
	reactor_op_init(&v->watch_op, vu_watch_cpl, v);
	v->watch_armed = true;
	reactor_timeout(v->control, &v->watch_op, VU_WATCH_NS);
}

static void vu_watch_start(void *arg)
{
	vu_watch_arm(arg);
}

/* --fd: a listening socket is served forever, a connected one once. */
static int vu_fd_kind(struct vhostfsd_vu *v, int fd)
{
	int acc = 0;
	socklen_t len = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
		int err = errno;

		log_error("vhostfsd: --fd %d is not a socket: %s", fd,
			  strerror(err));
		return -err;
	}
	v->one_connection = !acc;
	return 0;
}

/* --- start and teardown ------------------------------------------------- */

static int vu_device_create(struct vhostfsd_vu *v)
{
	const struct vhostfsd_options *o = v->o;
	struct vhost_user_config cfg = {
		.socket_path = o->socket_path,
		.fd = o->socket_path ? -1 : o->vhost_fd,
		.num_request_queues = v->nqueues - 1,
		.queue_depth = o->queue_depth,
		.control = v->control,
		.threads = v->queue_owner,
		.nthreads = v->nqueues,
		.poll = o->poll,
		.engine = &v->hooks,
	};
	int rc = o->socket_path ? 0 : vu_fd_kind(v, o->vhost_fd);

	if (rc < 0)
		return rc;
	rc = vhost_user_device_create(&v->dev, &cfg);
	if (rc < 0) {
		v->dev = NULL;
		if (o->socket_path)
			log_error("vhostfsd: cannot listen on %s: %s",
				  o->socket_path, strerror(-rc));
		else
			log_error("vhostfsd: cannot serve --fd %d: %s",
				  o->vhost_fd, strerror(-rc));
	}
	return rc;
}

/*
 * The socket first: a path we may not take or an --fd that is no socket is
 * the likeliest mistake, and needs no back-end to find.  Sessions only
 * start after vhost_user_device_start(), when the back-end exists.
 */
static int vu_start(struct vhostfsd_vu *v)
{
	int rc = vu_reactors_create(v);

	if (rc < 0) {
		log_error("vhostfsd: reactors: %s", strerror(-rc));
		return rc;
	}
	vhostfsd_vu_engine_init(&v->engine, &v->hooks);
	vu_queue_map(v);
	rc = vu_device_create(v);
	if (rc == 0)
		rc = vhostfsd_stack_create(&v->stack, v->o);
	if (rc < 0)
		return rc;
	vhostfsd_session_config(v->o, v->stack.fs, &v->engine.fc);
	for (unsigned int i = 0; rc == 0 && i < v->nthreads; i++) {
		rc = vu_thread_start(v, i);
		if (rc == 0)
			v->nstarted++;
	}
	if (rc < 0)
		return rc;
	vhost_user_device_start(v->dev);
	v->dev_started = true;
	if (v->one_connection) {
		v->watch_msg.fn = vu_watch_start;
		v->watch_msg.arg = v;
		reactor_msg_send(v->control, &v->watch_msg);
	}
	v->sig.stop = vu_stop;
	v->sig.arg = v;
	v->sig.grace_s = VU_SHUTDOWN_GRACE_S;
	return vhostfsd_signals_start(&v->sig);
}

/*
 * Everything vu_start() got done, in reverse; no thread may still run.
 * The back-end goes last (an image is unmounted): its error, if any.
 */
static int vu_teardown(struct vhostfsd_vu *v)
{
	vu_threads_join(v);
	vhost_user_device_destroy(v->dev);
	v->dev = NULL;
	vu_reactors_destroy(v);
	return vhostfsd_stack_destroy(&v->stack);
}

/* A device that was started must finish its shutdown before teardown. */
static void vu_abort_started(struct vhostfsd_vu *v)
{
	vu_stop(v);
	if (reactor_run(v->control) < 0)
		_exit(1);
}

static void vu_banner(const struct vhostfsd_vu *v)
{
	const struct vhostfsd_options *o = v->o;
	char buf[4200];
	const char *what = vhostfsd_source_str(o, &v->stack, buf, sizeof(buf));

	if (o->socket_path)
		printf("vhostfsd: serving %s on vhost-user socket %s", what,
		       o->socket_path);
	else
		printf("vhostfsd: serving %s on vhost-user fd %d", what,
		       o->vhost_fd);
	printf(" (request queues %u, threads %u%s)\n", v->nqueues - 1,
	       v->nthreads, o->poll ? ", polling" : "");
	fflush(stdout);
}

static void vu_summary(struct vhostfsd_vu *v)
{
	struct vhost_user_stats st;

	vhost_user_device_get_stats(v->dev, &st);
	log_info("vhostfsd: exiting after %llu connections, %llu sessions, "
		 "%llu requests, %u broken rings",
		 (unsigned long long)st.connections,
		 (unsigned long long)v->engine.sessions,
		 (unsigned long long)v->engine.total_requests,
		 st.broken_queues);
}

int vhostfsd_serve_vhost_user(const struct vhostfsd_options *o)
{
	/* the per-thread counters are cache-line aligned: so must v be */
	size_t size = (sizeof(struct vhostfsd_vu) + 63) & ~(size_t)63;
	struct vhostfsd_vu *v = aligned_alloc(64, size);
	unsigned int queues = o->queues ? o->queues : 1;
	int rc, rc2;

	if (!v)
		return -ENOMEM;
	memset(v, 0, size);
	v->o = o;
	v->nqueues = 1 + queues;
	v->nthreads = o->threads && o->threads < queues ? o->threads : queues;
	atomic_flag_clear(&v->stop_asked);
	rc = vhostfsd_signals_block(&v->sig);
	if (rc == 0)
		rc = vhostfsd_rlimit(o);
	if (rc == 0)
		rc = vu_start(v);
	if (rc < 0 && v->dev_started)
		vu_abort_started(v);
	if (rc == 0) {
		vu_banner(v);
		rc = reactor_run(v->control);
		if (rc < 0) {
			log_error("vhostfsd: control reactor: %s, exiting "
				  "without teardown", strerror(-rc));
			_exit(1);
		}
		vu_summary(v);
	}
	vhostfsd_signals_end(&v->sig);
	rc2 = vu_teardown(v);
	free(v);
	return rc < 0 ? rc : rc2;
}
