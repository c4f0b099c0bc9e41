/* SPDX-License-Identifier: MIT */
/*
 * vhost_user.h - serving FUSE to a VM as a vhost-user virtio-fs device.
 *
 * One device per listening socket (--socket-path, or an inherited fd as
 * with --fd).  It serves one front-end (QEMU) at a time; when the front-end
 * disconnects, every per-connection resource (guest memory mappings, rings,
 * eventfds, the FUSE session) is dropped and the device listens again.
 *
 * Threads: the protocol runs on the @control reactor; virtqueue q runs on
 * @threads[q % nthreads] (queue 0 is hiprio: FORGETs have their own ring
 * and request slots and never wait behind request-queue work).  Each chain
 * becomes a struct fuse_request handed to the engine on the queue's thread;
 * its completion is pushed to the used ring and signalled per EVENT_IDX.
 * The caller runs the reactors (reactor_run) on their threads.
 *
 * A malformed ring breaks that queue (logged, signalled on its error fd);
 * a malformed message disconnects the front-end; the process keeps serving.
 */
#ifndef VHOSTFS_VHOST_USER_H
#define VHOSTFS_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "vhostfs/fuse_engine.h"

struct reactor;
struct vhost_user_device;

/* Request queues a device may offer (GET_QUEUE_NUM = 1 + this at most). */
#define VHOST_USER_REQUEST_QUEUES_MAX 64u

/*
 * How the device reaches the FUSE engine.  NULL in the config selects
 * fuse_session_create/destroy/process with config.session; tests inject
 * their own.
 */
struct vhost_user_engine {
	int (*session_create)(void *ctx, struct fuse_session **out);
	void (*session_destroy)(void *ctx, struct fuse_session *s);
	void (*process)(void *ctx, struct fuse_session *s,
			struct fuse_request *req);
	void *ctx;
};

struct vhost_user_config {
	/* Listen on this path (a stale socket there is replaced), or ... */
	const char *socket_path;
	/*
	 * ... when socket_path is NULL, use this inherited socket: a
	 * listening one is accepted on; a connected one is served once.
	 */
	int fd;
	unsigned int num_request_queues; /* 0 = 1, at most ..._MAX */
	unsigned int queue_depth;        /* request slots per queue, 0 = 256;
					    capped by the queue size */
	uint32_t max_mem_slots;          /* GET_MAX_MEM_SLOTS, 0 = 509 */
	struct reactor *control;         /* socket and protocol */
	struct reactor *const *threads;  /* queue q on threads[q % nthreads] */
	unsigned int nthreads;           /* 0: every queue on control */
	bool poll;                       /* busy-poll rings, kicks suppressed */
	const struct fuse_session_config *session; /* copied */
	const struct vhost_user_engine *engine;    /* NULL = FUSE engine */
};

/*
 * Bind the socket path, or adopt the inherited fd (the device owns it from
 * here on).  Nothing runs until vhost_user_device_start().
 */
int vhost_user_device_create(struct vhost_user_device **out,
			     const struct vhost_user_config *cfg);

/* Start accepting front-ends; safe from any thread. */
void vhost_user_device_start(struct vhost_user_device *d);

/*
 * Disconnect the front-end (waiting for requests in flight), stop
 * listening, remove the socket path, then call @cb(@arg) on the control
 * thread.  Safe from any thread; call once.  A queue thread may still be
 * returning from its last reactor_msg_send() to the control reactor when
 * @cb runs: join every reactor thread before destroying any reactor.
 */
void vhost_user_device_shutdown(struct vhost_user_device *d,
				void (*cb)(void *arg), void *arg);

/* Free a device that was never started or whose shutdown completed. */
void vhost_user_device_destroy(struct vhost_user_device *d);

struct vhost_user_stats {
	uint64_t connections;   /* front-ends accepted */
	uint64_t messages;      /* vhost-user messages handled */
	uint32_t broken_queues; /* rings stopped for malformed guest data */
	bool connected;
};
void vhost_user_device_get_stats(struct vhost_user_device *d,
				 struct vhost_user_stats *out);

#endif /* VHOSTFS_VHOST_USER_H */
