/* SPDX-License-Identifier: MIT */
/*
 * devfuse_internal.h - state shared by the /dev/fuse transport's files.
 *
 *   devfuse.c   public API: start, wait, stop, destroy; the end-of-life logic
 *   mount.c     /dev/fuse, mount(2) options, dead-mount detection, umount
 *   channel.c   one reactor thread per channel and its request slots
 *
 * Threading: each struct devfuse_thread belongs to its reactor thread; only
 * the fields marked "locked" in struct devfuse are shared, under d->lock.
 */
#ifndef VHOSTFS_DEVFUSE_INTERNAL_H
#define VHOSTFS_DEVFUSE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhostfs/devfuse.h"
#include "vhostfs/fuse_engine.h"
#include "vhostfs/reactor.h"

#define DEVFUSE_THREADS_DEFAULT 2
#define DEVFUSE_THREADS_MAX 64
#define DEVFUSE_QUEUE_DEPTH_DEFAULT 16
#define DEVFUSE_QUEUE_DEPTH_MAX 1024
/* Slots a thread may grow to when every slot is held (see channel.c)... */
#define DEVFUSE_SLOTS_MAX 1024
/* ...for this long: busy slots that free up quickly are no reason to grow. */
#define DEVFUSE_STARVE_NS (50ull * 1000 * 1000)
#define DEVFUSE_MAX_WRITE_DEFAULT (1u << 20)
#define DEVFUSE_MAX_WRITE_MIN 4096u
#define DEVFUSE_MAX_WRITE_MAX (16u << 20)
/* Room for the in-header and WRITE arguments in front of max_write bytes. */
#define DEVFUSE_IN_HEADROOM 4096u
/* How long a stopping thread waits for requests still inside the engine. */
#define DEVFUSE_DRAIN_NS (5ull * 1000 * 1000 * 1000)
/* The wait in use: DEVFUSE_DRAIN_NS, shortened by the unit tests. */
extern uint64_t devfuse_drain_ns;
/* mount(2) data is one page; the options string must fit. */
#define DEVFUSE_MOUNT_DATA_MAX 4096

/* What the engine entry point looks like; tests inject a fake engine. */
typedef void (*devfuse_process_fn)(struct fuse_session *s,
				   struct fuse_request *req);

enum devfuse_slot_state {
	DEVFUSE_SLOT_IDLE = 0, /* nothing in flight */
	DEVFUSE_SLOT_READING,  /* read of the channel submitted */
	DEVFUSE_SLOT_POLLING,  /* waiting for POLLIN before reading again */
	DEVFUSE_SLOT_BUSY,     /* request inside the engine */
};

/*
 * Requests are read into two pieces, a small head and a page-aligned body,
 * split right after fuse_in_header + fuse_write_in: so WRITE data lands
 * page aligned.  Replies are written from fuse_out_header + an aligned body,
 * so READ data is read into an aligned buffer.  Files the client opened with
 * O_DIRECT are opened O_DIRECT on the host too, and need that alignment.
 */
#define DEVFUSE_IN_HEAD 80   /* sizeof(fuse_in_header) + sizeof(fuse_write_in) */
#define DEVFUSE_OUT_HEAD 16  /* sizeof(fuse_out_header) */

/* One request in flight: its buffers are reused for every request. */
struct devfuse_slot {
	struct devfuse_thread *t;
	struct reactor_op op;
	enum devfuse_slot_state state;
	struct iovec in_iov[2];   /* head + body: what a read may fill */
	struct iovec req_iov[2];  /* the bytes of the current request */
	struct iovec out_iov[2];  /* head + body: room for the reply */
	struct fuse_request req;
	_Alignas(8) unsigned char in_head[DEVFUSE_IN_HEAD];
	_Alignas(8) unsigned char out_head[DEVFUSE_OUT_HEAD];
};

struct devfuse_thread {
	struct devfuse *d;
	unsigned int index;
	int fd;                 /* this thread's channel */
	struct reactor *reactor;
	pthread_t tid;
	bool running;           /* pthread created, not joined yet */
	struct devfuse_slot **slots; /* nslots of them, room for max_slots */
	unsigned int nslots;
	unsigned int max_slots;
	unsigned int pending;   /* slots not idle */
	unsigned int reading;   /* slots with a read or poll submitted */
	bool cap_warned;
	bool stopping;
	bool drain_armed;
	bool starve_armed;      /* no slot reading: grow if it lasts */
	struct reactor_op starve_op;
	bool stuck;             /* requests never came back from the engine */
	unsigned long write_errors;
	struct reactor_op drain_op;
	struct reactor_msg stop_msg;
	char name[16];
};

struct devfuse {
	char *mountpoint;       /* NULL when serving fds a test handed in */
	struct fuse_session *session;
	devfuse_process_fn process;
	unsigned int queue_depth;
	uint32_t max_write;
	struct devfuse_thread *threads;
	unsigned int nthreads;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ended;             /* locked: the session is over */
	bool conn_gone;         /* locked: a channel reported ENODEV */
	bool mounted;           /* locked: our mount may still be attached */
	bool stop_sent;         /* locked: threads were told to stop */
	bool joined;            /* locked: threads were joined */
	int error;              /* locked: first fatal error */
};

/* --- devfuse.c ------------------------------------------------------------ */

/*
 * Serve @nfds already-open channels (taking ownership of the fds) with
 * @process as the engine: the common tail of devfuse_start(), and the entry
 * point of the unit tests, which hand in socketpairs instead of /dev/fuse.
 */
int devfuse_serve_fds(struct devfuse **out, const struct devfuse_config *cfg,
		      struct fuse_session *session, const int *fds,
		      unsigned int nfds, devfuse_process_fn process);

/* Record the end of the session (first @err wins) and wake devfuse_wait(). */
void devfuse_end(struct devfuse *d, int err, bool conn_gone);

/* --- mount.c -------------------------------------------------------------- */

/*
 * Build the mount(2) data string and flags.  @extra is the caller's
 * comma-separated list: generic VFS words (ro, noexec, noatime, ...) become
 * flags, the rest is passed to FUSE; the options this module owns (fd,
 * rootmode, user_id, group_id) cannot be overridden (-EINVAL).
 */
int devfuse_mount_data(char *buf, size_t size, unsigned long *flags, int fd,
		       uint32_t max_write, const char *extra);

/* "fuse.<fsname>" after checking @fsname is a plain word; -EINVAL if not. */
int devfuse_fstype(char *buf, size_t size, const char *fsname);

/* Detach a dead FUSE mount (statfs fails with ENOTCONN) at @mountpoint. */
int devfuse_detach_dead(const char *mountpoint);

/* Open /dev/fuse and mount it at @mountpoint; returns the session fd. */
int devfuse_mount(const struct devfuse_config *cfg, uint32_t max_write);

/* Open a new channel on the session of @session_fd (FUSE_DEV_IOC_CLONE). */
int devfuse_clone(int session_fd);

/* Lazily unmount; a mount that is already gone is not an error. */
void devfuse_unmount(const char *mountpoint);

/* --- channel.c ------------------------------------------------------------ */

/* Allocate the slots and the reactor of @t (called before its thread runs). */
int devfuse_thread_init(struct devfuse_thread *t);
/* Free what devfuse_thread_init() made; the thread must have been joined. */
void devfuse_thread_fini(struct devfuse_thread *t);
/* pthread entry: arm every slot and run the reactor until stopped. */
void *devfuse_thread_main(void *arg);
/* Ask @t to stop (from any thread; once). */
void devfuse_thread_stop_async(struct devfuse_thread *t);

#endif /* VHOSTFS_DEVFUSE_INTERNAL_H */
