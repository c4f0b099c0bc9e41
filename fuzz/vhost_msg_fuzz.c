// SPDX-License-Identifier: MIT
/*
 * vhost_msg_fuzz.c - libFuzzer target: the input is the byte stream a
 * front-end sends on the vhost-user socket (no fds).  It goes through the
 * real framing, validation and handlers of one connection; replies go to a
 * socket that is drained.  Anything but a clean reply or disconnect (a
 * crash, a sanitizer report, a leak) is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "vhostfs/reactor.h"
#include "vhostfs/vhost_user.h"
#include "transport/vhost_user/device_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int dummy_session;

static int fz_create(void *ctx, struct fuse_session **out)
{
	*out = (struct fuse_session *)&dummy_session;
	return 0;
}

static void fz_destroy(void *ctx, struct fuse_session *s)
{
}

static void fz_process(void *ctx, struct fuse_session *s,
		       struct fuse_request *req)
{
	req->done(req, 0);
}

static const struct vhost_user_engine fz_engine = {
	fz_create, fz_destroy, fz_process, NULL,
};

static struct reactor *fz_reactor;
static struct vhost_user_device *fz_dev;

static void fz_init(void)
{
	struct reactor_config rc = { .name = "fuzz" };
	struct vhost_user_config cfg = { 0 };
	int sv[2];

	/* bad messages are the point: keep their error lines few */
	log_set_level(LOG_LEVEL_ERROR);
	if (reactor_create(&fz_reactor, &rc) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* a device that is never started: it only lends its config */
	cfg.fd = sv[1];
	cfg.num_request_queues = 4;
	cfg.control = fz_reactor;
	cfg.engine = &fz_engine;
	if (vhost_user_device_create(&fz_dev, &cfg))
		abort();
	close(sv[0]);
}

static void fz_drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void fz_pump(int peer)
{
	for (int i = 0; i < 8; i++) {
		reactor_run_once(fz_reactor, 0);
		fz_drain(peer);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_conn *c;
	int sv[2];
	size_t off = 0;

	if (!fz_dev)
		fz_init();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       sv))
		abort();
	if (vu_conn_create(fz_dev, sv[1], &c))
		abort();
	fz_dev->conn = c;
	/* the connection frees itself on a bad message: watch fz_dev->conn */
	while (off < size && fz_dev->conn) {
		int spins = 0;

		off += vu_conn_feed(c, data + off, size - off);
		fz_pump(sv[0]);
		while (fz_dev->conn && c->busy && !c->closing) {
			if (++spins > 1000)
				abort(); /* an asynchronous handler never ended */
			fz_pump(sv[0]);
		}
	}
	if (fz_dev->conn)
		vu_conn_close(c);
	for (int i = 0; i < 1000 && fz_dev->conn; i++)
		fz_pump(sv[0]);
	if (fz_dev->conn)
		abort(); /* teardown never finished */
	close(sv[0]);
	return 0;
}
