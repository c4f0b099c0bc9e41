// SPDX-License-Identifier: MIT
/*
 * test_devfuse.c - the /dev/fuse transport without a kernel mount.
 *
 * The channels are SOCK_SEQPACKET socketpairs (one message per read, as
 * /dev/fuse hands out one request per read) and the engine is a fake that
 * answers inline, later from a reactor timer, or never.  The mount itself
 * is covered by the integration suite (tests/integration, root only).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/devfuse/devfuse_internal.h"
#include "vhostfs/iov.h"

enum fake_op {
	FAKE_INLINE = 1,  /* reply before process() returns */
	FAKE_ASYNC,       /* reply after nodeid microseconds, from a timer */
	FAKE_NOREPLY,     /* done(req, 0), like FORGET */
	FAKE_NEVER,       /* never completes: a stuck request */
	FAKE_OVERSIZE,    /* claims a reply longer than the buffer */
	FAKE_PARK,        /* waits until a FAKE_UNPARK comes (like SETLKW) */
	FAKE_UNPARK,      /* completes itself and every parked request */
};

/* cmocka's asserts longjmp: only for the test's own thread */
#define FAKE_CHECK(x)                                                    \
	do {                                                             \
		if (!(x)) {                                              \
			fprintf(stderr, "fake engine: %s failed\n", #x); \
			abort();                                         \
		}                                                        \
	} while (0)

#define MAX_THREADS 4
#define REPLY_WAIT_MS 5000

static atomic_uint fake_inflight;
static atomic_uint fake_max_inflight;
static atomic_uint fake_processed;
/* parked requests; the tests that park use one thread, so no lock */
static struct fuse_request *fake_parked[64];
static unsigned int fake_nparked;

/* --- the fake engine ------------------------------------------------------ */

static void fake_reply(struct fuse_request *req)
{
	struct fuse_in_header ih;
	struct fuse_out_header oh = { .len = sizeof(oh) + 4 };
	struct iov_cursor c;

	memcpy(&ih, req->in[0].iov_base, sizeof(ih));
	oh.unique = ih.unique;
	iov_cursor_init(&c, req->out, req->out_cnt);
	FAKE_CHECK(iov_cursor_write(&c, &oh, sizeof(oh)) == 0);
	FAKE_CHECK(iov_cursor_write(&c, "pong", 4) == 0);
	atomic_fetch_sub(&fake_inflight, 1);
	req->done(req, oh.len);
}

/* READ data goes to, and WRITE data comes from, page-aligned memory */
static void fake_check_layout(const struct fuse_request *req, uint32_t len)
{
	FAKE_CHECK(req->out_cnt == 2);
	FAKE_CHECK(req->out[0].iov_len == sizeof(struct fuse_out_header));
	FAKE_CHECK((uintptr_t)req->out[1].iov_base % 4096 == 0);
	FAKE_CHECK(req->out[1].iov_len >= 4096);
	FAKE_CHECK(iov_length(req->in, req->in_cnt) == len);
	FAKE_CHECK(req->in_cnt == (len > DEVFUSE_IN_HEAD ? 2 : 1));
	if (req->in_cnt == 2) {
		FAKE_CHECK(req->in[0].iov_len == DEVFUSE_IN_HEAD);
		FAKE_CHECK((uintptr_t)req->in[1].iov_base % 4096 == 0);
		/* the payload the test sends is bytes of value 0xa5 */
		for (size_t i = 0; i < req->in[1].iov_len; i++)
			FAKE_CHECK(((unsigned char *)req->in[1].iov_base)[i] ==
				   0xa5);
	}
}

static void fake_async_cpl(void *arg, int res)
{
	fake_reply(arg);
}

static void fake_count_in(void)
{
	unsigned int n = atomic_fetch_add(&fake_inflight, 1) + 1;
	unsigned int max = atomic_load(&fake_max_inflight);

	while (n > max &&
	       !atomic_compare_exchange_weak(&fake_max_inflight, &max, n))
		;
	atomic_fetch_add(&fake_processed, 1);
}

static void fake_process(struct fuse_session *s, struct fuse_request *req)
{
	struct fuse_in_header ih;
	struct reactor_op *op = (struct reactor_op *)req->engine.call.scratch;

	FAKE_CHECK(s == NULL);
	FAKE_CHECK(req->in_cnt >= 1);
	FAKE_CHECK(req->in[0].iov_len >= sizeof(ih));
	memcpy(&ih, req->in[0].iov_base, sizeof(ih));
	fake_check_layout(req, ih.len);
	fake_count_in();
	switch (ih.opcode) {
	case FAKE_INLINE:
		fake_reply(req);
		break;
	case FAKE_ASYNC:
		reactor_op_init(op, fake_async_cpl, req);
		reactor_timeout(reactor_current(), op, ih.nodeid * 1000);
		break;
	case FAKE_NOREPLY:
		atomic_fetch_sub(&fake_inflight, 1);
		req->done(req, 0);
		break;
	case FAKE_PARK:
		FAKE_CHECK(fake_nparked < 64);
		fake_parked[fake_nparked++] = req;
		break;
	case FAKE_UNPARK:
		while (fake_nparked > 0)
			fake_reply(fake_parked[--fake_nparked]);
		fake_reply(req);
		break;
	case FAKE_OVERSIZE:
		atomic_fetch_sub(&fake_inflight, 1);
		req->done(req, iov_length(req->out, req->out_cnt) + 1);
		break;
	default: /* FAKE_NEVER */
		break;
	}
}

/* --- harness -------------------------------------------------------------- */

struct harness {
	struct devfuse *d;
	int peer[MAX_THREADS];
	unsigned int n;
};

static void harness_start(struct harness *h, unsigned int nthreads,
			  unsigned int qd)
{
	struct devfuse_config cfg = { .queue_depth = qd, .max_write = 4096 };
	int fds[MAX_THREADS];

	atomic_store(&fake_inflight, 0);
	atomic_store(&fake_max_inflight, 0);
	atomic_store(&fake_processed, 0);
	h->n = nthreads;
	for (unsigned int i = 0; i < nthreads; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET |
					    SOCK_CLOEXEC, 0, sv), 0);
		/* as /dev/fuse is opened: reads never block a thread */
		assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
		fds[i] = sv[0];
		h->peer[i] = sv[1];
	}
	assert_int_equal(devfuse_serve_fds(&h->d, &cfg, NULL, fds, nthreads,
					   fake_process), 0);
}

static void harness_close_peers(struct harness *h)
{
	for (unsigned int i = 0; i < h->n; i++) {
		if (h->peer[i] >= 0)
			close(h->peer[i]);
		h->peer[i] = -1;
	}
}

/* A request of @len bytes (at least the header); the rest is 0xa5. */
static void send_req_len(int fd, uint32_t opcode, uint64_t unique,
			 uint64_t nodeid, uint32_t len)
{
	static unsigned char buf[16384];
	struct fuse_in_header ih = { .len = len, .opcode = opcode,
				     .unique = unique, .nodeid = nodeid };

	assert_true(len >= sizeof(ih) && len <= sizeof(buf));
	memset(buf, 0xa5, len);
	memcpy(buf, &ih, sizeof(ih));
	memset(buf + sizeof(ih), 0, DEVFUSE_IN_HEAD - sizeof(ih));
	assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
}

static void send_req(int fd, uint32_t opcode, uint64_t unique,
		     uint64_t nodeid)
{
	send_req_len(fd, opcode, unique, nodeid, sizeof(struct fuse_in_header));
}

/* One reply's unique, or 0 if none came within @ms. */
static uint64_t recv_reply(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char buf[64];
	struct fuse_out_header oh;
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return 0;
	n = recv(fd, buf, sizeof(buf), 0);
	assert_int_equal(n, sizeof(oh) + 4);
	memcpy(&oh, buf, sizeof(oh));
	assert_int_equal(oh.len, n);
	assert_int_equal(oh.error, 0);
	assert_memory_equal(buf + sizeof(oh), "pong", 4);
	return oh.unique;
}

static void wait_processed(unsigned int n)
{
	for (int i = 0; i < 5000 && atomic_load(&fake_processed) < n; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&fake_processed), n);
}

/* --- mount option helpers ------------------------------------------------- */

static void test_mount_data(void **state)
{
	char buf[DEVFUSE_MOUNT_DATA_MAX];
	unsigned long flags;

	assert_int_equal(devfuse_mount_data(buf, sizeof(buf), &flags, 7,
					    1u << 20, NULL), 0);
	assert_non_null(strstr(buf, "fd=7,rootmode=40000,user_id="));
	assert_non_null(strstr(buf, ",default_permissions,allow_other,"));
	assert_non_null(strstr(buf, "max_read=1048576"));
	assert_int_equal(flags, MS_NOSUID | MS_NODEV);

	assert_int_equal(devfuse_mount_data(buf, sizeof(buf), &flags, 7, 4096,
					    "ro,,noatime,dev,blksize=4096"),
			 0);
	assert_int_equal(flags, MS_NOSUID | MS_RDONLY | MS_NOATIME);
	assert_non_null(strstr(buf, "max_read=4096,blksize=4096"));
	assert_null(strstr(buf, "noatime"));

	assert_int_equal(devfuse_mount_data(buf, sizeof(buf), &flags, 7, 4096,
					    "fd=3"), -EINVAL);
	assert_int_equal(devfuse_mount_data(buf, sizeof(buf), &flags, 7, 4096,
					    "allow_other,rootmode=100000"),
			 -EINVAL);
	assert_int_equal(devfuse_mount_data(buf, sizeof(buf), &flags, 7, 4096,
					    "max_read=1"), -EINVAL);
	assert_int_equal(devfuse_mount_data(buf, 64, &flags, 7, 4096,
					    "a_rather_long_option=xxxxxxxxxx"),
			 -EINVAL);
}

static void test_fstype(void **state)
{
	char buf[64];

	assert_int_equal(devfuse_fstype(buf, sizeof(buf), "vhostfs"), 0);
	assert_string_equal(buf, "fuse.vhostfs");
	assert_int_equal(devfuse_fstype(buf, sizeof(buf), "a.b-c_9"), 0);
	assert_int_equal(devfuse_fstype(buf, sizeof(buf), ""), -EINVAL);
	assert_int_equal(devfuse_fstype(buf, sizeof(buf), "a b"), -EINVAL);
	assert_int_equal(devfuse_fstype(buf, sizeof(buf), "a,ro"), -EINVAL);
	assert_int_equal(devfuse_fstype(buf, sizeof(buf),
					"0123456789012345678901234567890123"),
			 -EINVAL);
}

static void test_detach_dead_leaves_live_dirs(void **state)
{
	char dir[] = "/tmp/devfuse-test-XXXXXX";

	assert_non_null(mkdtemp(dir));
	assert_int_equal(devfuse_detach_dead(dir), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(devfuse_detach_dead("/nonexistent/devfuse"), 0);
}

/* --- serving -------------------------------------------------------------- */

static void test_serve_mixed(void **state)
{
	struct harness h;
	const unsigned int per = 30;
	unsigned int seen[MAX_THREADS][31] = { { 0 } };

	harness_start(&h, 2, 4);
	for (unsigned int t = 0; t < h.n; t++) {
		for (uint64_t u = 1; u <= per; u++)
			send_req(h.peer[t], 1 + (u % 3), u, 500);
	}
	for (unsigned int t = 0; t < h.n; t++) {
		/* NOREPLY (u % 3 == 2) answers nothing */
		for (unsigned int i = 0; i < per - per / 3; i++) {
			uint64_t u = recv_reply(h.peer[t], REPLY_WAIT_MS);

			assert_true(u >= 1 && u <= per);
			assert_int_not_equal(u % 3, 2);
			seen[t][u]++;
		}
		assert_int_equal(recv_reply(h.peer[t], 50), 0);
		for (unsigned int u = 1; u <= per; u++)
			assert_int_equal(seen[t][u], u % 3 == 2 ? 0 : 1);
	}
	/* the peer going away ends the session: wait() returns */
	harness_close_peers(&h);
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
}

static void test_queue_depth_bounds_inflight(void **state)
{
	struct harness h;

	harness_start(&h, 1, 4);
	for (uint64_t u = 1; u <= 12; u++)
		send_req(h.peer[0], FAKE_ASYNC, u, 5000);
	for (unsigned int i = 0; i < 12; i++)
		assert_int_not_equal(recv_reply(h.peer[0], REPLY_WAIT_MS), 0);
	assert_int_equal(atomic_load(&fake_max_inflight), 4);
	harness_close_peers(&h);
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
}

static void test_request_split_and_aligned(void **state)
{
	struct harness h;
	/* header only, header + WRITE args exactly, a WRITE of 4 KiB, a
	 * request that fills the whole buffer (max_write + headroom) */
	const uint32_t lens[] = { 40, 64, DEVFUSE_IN_HEAD,
				  DEVFUSE_IN_HEAD + 1, DEVFUSE_IN_HEAD + 4096,
				  DEVFUSE_IN_HEAD + 4096 + DEVFUSE_IN_HEADROOM };

	harness_start(&h, 1, 2);
	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		send_req_len(h.peer[0], FAKE_INLINE, i + 1, 0, lens[i]);
		assert_int_equal(recv_reply(h.peer[0], REPLY_WAIT_MS), i + 1);
	}
	harness_close_peers(&h);
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
}

/* Requests that wait must not starve the request that ends the wait. */
static void test_waiting_requests_do_not_block_reads(void **state)
{
	struct harness h;

	harness_start(&h, 1, 2);
	for (uint64_t u = 1; u <= 20; u++)
		send_req(h.peer[0], FAKE_PARK, u, 0);
	wait_processed(20);
	assert_int_equal(recv_reply(h.peer[0], 50), 0);
	send_req(h.peer[0], FAKE_UNPARK, 21, 0);
	for (unsigned int i = 0; i < 21; i++)
		assert_int_not_equal(recv_reply(h.peer[0], REPLY_WAIT_MS), 0);
	/* the grown slots serve like the others afterwards */
	for (uint64_t u = 22; u <= 40; u++)
		send_req(h.peer[0], FAKE_INLINE, u, 0);
	for (unsigned int i = 0; i < 19; i++)
		assert_int_not_equal(recv_reply(h.peer[0], REPLY_WAIT_MS), 0);
	harness_close_peers(&h);
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
}

static void test_oversized_reply_dropped(void **state)
{
	struct harness h;

	harness_start(&h, 1, 2);
	send_req(h.peer[0], FAKE_OVERSIZE, 1, 0);
	send_req(h.peer[0], FAKE_INLINE, 2, 0);
	assert_int_equal(recv_reply(h.peer[0], REPLY_WAIT_MS), 2);
	harness_close_peers(&h);
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
}

static void test_stop_idle(void **state)
{
	struct harness h;

	harness_start(&h, 3, 8);
	devfuse_stop(h.d);
	devfuse_stop(h.d); /* idempotent */
	assert_int_equal(devfuse_wait(h.d), 0);
	devfuse_destroy(h.d);
	harness_close_peers(&h);
}

static void test_stop_drains_inflight(void **state)
{
	struct harness h;

	harness_start(&h, 1, 4);
	for (uint64_t u = 1; u <= 4; u++)
		send_req(h.peer[0], FAKE_ASYNC, u, 100000);
	wait_processed(4);
	devfuse_stop(h.d);
	assert_int_equal(devfuse_wait(h.d), 0);
	/* every request that was inside the engine was still answered */
	for (unsigned int i = 0; i < 4; i++)
		assert_int_not_equal(recv_reply(h.peer[0], 0), 0);
	devfuse_destroy(h.d);
	harness_close_peers(&h);
}

static void test_destroy_without_wait(void **state)
{
	struct harness h;

	harness_start(&h, 2, 2);
	send_req(h.peer[1], FAKE_INLINE, 9, 0);
	assert_int_equal(recv_reply(h.peer[1], REPLY_WAIT_MS), 9);
	devfuse_destroy(h.d);
	harness_close_peers(&h);
}

static void test_bad_config(void **state)
{
	struct devfuse_config cfg = { .max_write = 1024 };
	struct devfuse *d;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	/* the fd is consumed even on failure */
	assert_int_equal(devfuse_serve_fds(&d, &cfg, NULL, sv, 1,
					   fake_process), -EINVAL);
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	cfg.max_write = 0;
	cfg.mountpoint = "/nonexistent-devfuse";
	cfg.queue_depth = DEVFUSE_QUEUE_DEPTH_MAX + 1;
	assert_int_equal(devfuse_start(&d, &cfg, NULL), -EINVAL);
	close(sv[1]);
}

/* Run alone (argv[1] == "stuck"): it leaks the stuck thread on purpose. */
static void test_stuck_request_reported(void **state)
{
	struct harness h;

	devfuse_drain_ns = 100 * 1000 * 1000;
	harness_start(&h, 1, 2);
	send_req(h.peer[0], FAKE_NEVER, 1, 0);
	wait_processed(1);
	devfuse_stop(h.d);
	assert_int_equal(devfuse_wait(h.d), -EBUSY);
	devfuse_destroy(h.d);
	harness_close_peers(&h);
}

int main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_data),
		cmocka_unit_test(test_fstype),
		cmocka_unit_test(test_detach_dead_leaves_live_dirs),
		cmocka_unit_test(test_serve_mixed),
		cmocka_unit_test(test_queue_depth_bounds_inflight),
		cmocka_unit_test(test_request_split_and_aligned),
		cmocka_unit_test(test_waiting_requests_do_not_block_reads),
		cmocka_unit_test(test_oversized_reply_dropped),
		cmocka_unit_test(test_stop_idle),
		cmocka_unit_test(test_stop_drains_inflight),
		cmocka_unit_test(test_destroy_without_wait),
		cmocka_unit_test(test_bad_config),
	};
	const struct CMUnitTest stuck[] = {
		cmocka_unit_test(test_stuck_request_reported),
	};

	if (argc > 1 && strcmp(argv[1], "stuck") == 0)
		return cmocka_run_group_tests_name("devfuse_stuck", stuck,
						   NULL, NULL);
	return cmocka_run_group_tests_name("devfuse", tests, NULL, NULL);
}
