/* SPDX-License-Identifier: MIT */
/*
 * device_internal.h - vhost-user device, connection and queue state.
 *
 * Threads: the control reactor owns the listening socket, the connection's
 * socket, the protocol state and the memory maps.  Queue q's data path
 * (kicks, chain walking, the engine, used ring, calls) runs on its owner
 * reactor, threads[q % nthreads].  The control thread changes a started
 * queue only by sending the owner a message (vu_conn_sync) and waiting for
 * its acknowledgement before it goes on, so the data path takes no lock.
 *
 * All state of one front-end connection lives in struct vu_conn.
 */
#ifndef VHOSTFS_VU_DEVICE_INTERNAL_H
#define VHOSTFS_VU_DEVICE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhostfs/fuse_engine.h"
#include "vhostfs/reactor.h"
#include "vhostfs/vhost_user.h"

#include "memory_internal.h"
#include "msg_internal.h"
#include "virtq_internal.h"

/* Iovecs one request may use (Linux needs max_pages + a few). */
#define VU_REQ_IOV_MAX 512u
#define VU_QUEUE_DEPTH_DEFAULT 256u
#define VU_QUEUES_MAX (1u + VHOST_USER_REQUEST_QUEUES_MAX)

/* A handler's "answer later": it will call vu_conn_msg_complete(). */
#define VU_ASYNC 1

struct vu_conn;
struct vu_queue;

/* One request slot; the pool is allocated when the queue starts. */
struct vu_slot {
	struct fuse_request req;
	struct vu_queue *q;
	struct vu_slot *next_free;
	uint64_t out_len; /* writable bytes of the chain */
	uint16_t head;
	struct iovec iov[VU_REQ_IOV_MAX];
};

/* Work the control thread asks a queue's owner to do (runs on the owner). */
typedef void (*vu_queue_op)(struct vu_queue *q);

struct vu_queue {
	struct vu_conn *conn;
	struct reactor *owner;
	unsigned int index;

	/* control thread */
	uint32_t num;               /* SET_VRING_NUM, 0 = unset */
	struct vu_ring_addrs addrs;
	bool addrs_set;
	uint16_t base;              /* SET_VRING_BASE, or where it stopped */
	int kick_fd;                /* -1 = none */
	bool kick_set;              /* SET_VRING_KICK seen (fd or polling) */
	int call_fd;
	int err_fd;
	bool enabled;
	bool started;               /* the owner runs the data side */

	/* owner thread, while started */
	struct vu_virtq vq;
	int d_kick_fd;
	int d_call_fd;
	int d_err_fd;
	bool d_enabled;
	bool d_poll;                /* poller instead of kicks */
	struct vu_slot *slots;
	unsigned int nslots;
	struct vu_slot *free;
	unsigned int inflight;
	bool processing;            /* inside queue_process: defer publish */
	bool rerun;
	bool flush_queued;          /* flush_msg sent, not yet run */
	bool pausing;               /* no more pops: stopping */
	bool draining;              /* ack once idle */
	bool swapping;              /* ack once the kick watch moved */
	bool kick_armed;
	bool kick_stop;             /* the armed kick op is being cancelled */
	bool broken_reported;
	uint64_t kick_buf;
	struct reactor_op kick_op;
	struct reactor_msg flush_msg; /* completions: publish once per pass */
	struct reactor_poller *poller;

	/* control <-> owner */
	vu_queue_op ctl_fn;
	union {
		int fd;
		bool enable;
		const struct vu_mem_map *mem;
	} ctl_arg;
	unsigned int ctl_inflight;  /* reported by the owner */
	struct reactor_msg ctl_msg;
	struct reactor_msg ctl_ack;
};

struct vhost_user_device;

struct vu_conn {
	struct vhost_user_device *dev;
	struct reactor *control;
	int sock;
	struct vu_msg_reader reader;
	struct vu_msg msg;          /* the message being handled */
	bool busy;                  /* a message is being handled */
	bool sock_armed;
	bool closing;
	bool tearing_down;
	bool detached;              /* fed by vu_conn_feed(), no socket reads */
	struct reactor_op sock_op;

	uint64_t features;          /* acked virtio features */
	uint64_t protocol_features; /* acked protocol features */
	uint8_t status;
	bool owner;
	int backend_fd;             /* SET_BACKEND_REQ_FD, -1 = none */

	struct vu_mem_map *mem;     /* current map (never NULL) */
	struct vu_mem_map *mem_old; /* replaced, freed after the remap */
	struct vu_mem_map *mem_retired; /* regions to unmap after it */
	struct vu_mem_map **graves; /* unmapped once nothing is in flight */
	unsigned int ngraves;

	struct fuse_session *session;

	/* vu_conn_sync */
	unsigned int sync_pending;
	void (*sync_done)(struct vu_conn *c);
	struct reactor_msg sync_self;

	unsigned int nqueues;
	struct vu_queue queues[VU_QUEUES_MAX];
};

struct vhost_user_device {
	struct vhost_user_config cfg;
	struct fuse_session_config session_cfg;
	struct vhost_user_engine engine;
	struct reactor **threads;
	char *socket_path;
	int listen_fd;
	bool listening;             /* listen_fd accepts; else one connection */
	bool accept_armed;
	bool started;
	bool shutting_down;
	bool finished;
	struct reactor_op accept_op;
	struct reactor_msg start_msg;
	struct reactor_msg shutdown_msg;
	void (*shutdown_cb)(void *arg);
	void *shutdown_arg;
	struct vu_conn *conn;
	_Atomic uint64_t stat_connections;
	_Atomic uint64_t stat_messages;
	_Atomic uint32_t stat_broken;
	_Atomic bool stat_connected;
};

/* --- conn.c ------------------------------------------------------------ */

/* Take over the accepted socket @sock; 0 or -errno (sock closed then). */
int vu_conn_create(struct vhost_user_device *d, int sock,
		   struct vu_conn **out);
/* Start reading messages (control thread). */
void vu_conn_start(struct vu_conn *c);
/* Disconnect: stop, drain the queues, free, then tell the device. */
void vu_conn_close(struct vu_conn *c);
/*
 * Fuzzing: handle @buf as if received (no fds, no socket reads).  Stops
 * early while a handler is asynchronous or the connection closes; returns
 * the bytes taken.
 */
size_t vu_conn_feed(struct vu_conn *c, const void *buf, size_t len);
/* An asynchronous handler finished with @rc (control thread). */
void vu_conn_msg_complete(struct vu_conn *c, int rc);
/*
 * Run @op on the owner of @only (or of every started queue when NULL),
 * then @done on the control thread once each owner acknowledged.  Always
 * asynchronous, also with no queue to visit.
 */
void vu_conn_sync(struct vu_conn *c, struct vu_queue *only, vu_queue_op op,
		  void (*done)(struct vu_conn *c));
/* Queue side: acknowledge the op (owner thread). */
void vu_queue_ctl_ack(struct vu_queue *q);
/* Replace the memory map (handlers); returns 0 or VU_ASYNC. */
int vu_conn_mem_commit(struct vu_conn *c, struct vu_mem_map *map,
		       struct vu_mem_map *retired);
/* Unmap retired regions and reset queue/session state (RESET_DEVICE). */
void vu_conn_queues_reset(struct vu_conn *c);
int vu_conn_session_renew(struct vu_conn *c);

/* --- handlers.c ---------------------------------------------------------- */

/*
 * Validate and handle c->msg.  Returns 0, VU_ASYNC or -errno; *@fatal is
 * set when the message itself is malformed (always disconnect).
 */
int vu_handle_msg(struct vu_conn *c, struct vu_msg *m, bool *fatal);
/* True if @request answers by itself (REPLY_ACK adds nothing). */
bool vu_request_has_reply(uint32_t request);
uint64_t vu_features_offered(void);
uint64_t vu_protocol_features_offered(void);

/* --- queue.c (owner thread unless noted) ------------------------------- */

/* Control thread: configure the data side and hand it to the owner. */
int vu_queue_prepare(struct vu_queue *q);
/* Control thread: after a drain, free the data side. */
void vu_queue_release(struct vu_queue *q);
void vu_queue_op_start(struct vu_queue *q);
void vu_queue_op_drain(struct vu_queue *q);
void vu_queue_op_enable(struct vu_queue *q);
void vu_queue_op_set_call(struct vu_queue *q);
void vu_queue_op_set_err(struct vu_queue *q);
void vu_queue_op_swap_kick(struct vu_queue *q);
void vu_queue_op_remap(struct vu_queue *q);

/* --- device.c ---------------------------------------------------------- */

/* The connection is gone (control thread). */
void vu_device_conn_closed(struct vhost_user_device *d);

#endif /* VHOSTFS_VU_DEVICE_INTERNAL_H */
