// SPDX-License-Identifier: MIT
/*
 * test_vu_handlers.c - every request's validation and reply, on a device
 * served over an inherited connected socket, one reactor pumped by hand.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/reactor.h"
#include "vhostfs/vhost_user.h"
#include "vu_test_util.h"

#define MiB (1ull << 20)
#define NEED VU_FLAG_NEED_REPLY
#define BIT(n) (1ull << (n))
#define OFFERED_PROTO (BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) | \
		       BIT(VU_PROTOCOL_F_BACKEND_REQ) |                      \
		       BIT(VU_PROTOCOL_F_RESET_DEVICE) |                     \
		       BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |              \
		       BIT(VU_PROTOCOL_F_STATUS))

static int sessions_live;
static int sessions_made;
static int dummy_session;

static int mock_create(void *ctx, struct fuse_session **out)
{
	sessions_live++;
	sessions_made++;
	*out = (struct fuse_session *)&dummy_session;
	return 0;
}

static void mock_destroy(void *ctx, struct fuse_session *s)
{
	sessions_live--;
}

static void mock_process(void *ctx, struct fuse_session *s,
			 struct fuse_request *req)
{
	req->done(req, 0);
}

static const struct vhost_user_engine mock_engine = {
	mock_create, mock_destroy, mock_process, NULL,
};

struct env {
	struct reactor *r;
	struct vhost_user_device *d;
	int fe;
	bool shut;
};

static struct env E;

static void env_start(void)
{
	struct reactor_config rc = { .name = "vu-test" };
	struct vhost_user_config cfg = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	assert_int_equal(reactor_create(&E.r, &rc), 0);
	cfg.fd = sv[1];
	cfg.num_request_queues = 2;
	cfg.control = E.r;
	cfg.engine = &mock_engine;
	assert_int_equal(vhost_user_device_create(&E.d, &cfg), 0);
	vhost_user_device_start(E.d);
	E.fe = sv[0];
	E.shut = false;
}

static void shut_cb(void *arg)
{
	E.shut = true;
}

static void env_stop(void)
{
	vhost_user_device_shutdown(E.d, shut_cb, NULL);
	for (int i = 0; i < 2000 && !E.shut; i++)
		reactor_run_once(E.r, 1);
	assert_true(E.shut);
	vhost_user_device_destroy(E.d);
	reactor_destroy(E.r);
	close(E.fe);
	assert_int_equal(sessions_live, 0);
}

static int setup(void **state)
{
	env_start();
	return 0;
}

static int teardown(void **state)
{
	env_stop();
	return 0;
}

static void pump(void)
{
	for (int i = 0; i < 20; i++)
		reactor_run_once(E.r, 0);
}

/* Run the reactor until the front-end socket is readable. */
static bool pump_readable(void)
{
	for (int i = 0; i < 3000; i++) {
		struct pollfd p = { .fd = E.fe, .events = POLLIN };

		if (poll(&p, 1, 0) == 1)
			return true;
		reactor_run_once(E.r, 1);
	}
	return false;
}

static void send_msg(uint32_t req, uint32_t flags, const void *p, uint32_t n,
		     const int *fds, unsigned int nfds)
{
	assert_int_equal(fe_send(E.fe, req, flags, p, n, fds, nfds), 0);
}

static uint64_t get_u64(uint32_t req)
{
	struct vu_msg_hdr h;
	uint64_t v = 0;

	send_msg(req, 0, NULL, 0, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &v, sizeof(v), 100), 0);
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VU_VERSION | VU_FLAG_REPLY);
	assert_int_equal(h.size, 8);
	return v;
}

/* Send with NEED_REPLY and return the REPLY_ACK status. */
static uint64_t acked(uint32_t req, const void *p, uint32_t n, const int *fds,
		      unsigned int nfds)
{
	struct vu_msg_hdr h;
	uint64_t v = 99;

	send_msg(req, NEED, p, n, fds, nfds);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &v, sizeof(v), 100), 0);
	assert_int_equal(h.request, req);
	assert_int_equal(h.size, 8);
	return v;
}

static void negotiate(uint64_t proto)
{
	assert_int_equal(acked(VU_SET_PROTOCOL_FEATURES, &proto, 8, NULL, 0), 0);
}

static bool disconnected(void)
{
	for (int i = 0; i < 3000; i++) {
		struct pollfd p = { .fd = E.fe, .events = POLLIN };
		char b[64];

		if (poll(&p, 1, 0) == 1 && recv(E.fe, b, sizeof(b), 0) == 0)
			return true;
		reactor_run_once(E.r, 1);
	}
	return false;
}

static void test_get_replies(void **state)
{
	assert_int_equal(get_u64(VU_GET_FEATURES),
			 BIT(VU_F_VERSION_1) | BIT(VU_F_RING_INDIRECT_DESC) |
				 BIT(VU_F_RING_EVENT_IDX) |
				 BIT(VU_F_PROTOCOL_FEATURES));
	assert_int_equal(get_u64(VU_GET_PROTOCOL_FEATURES), OFFERED_PROTO);
	assert_int_equal(get_u64(VU_GET_QUEUE_NUM), 3);
	assert_int_equal(get_u64(VU_GET_MAX_MEM_SLOTS), 509);
	send_msg(VU_SET_STATUS, 0, &(uint64_t){ 0xf }, 8, NULL, 0);
	assert_int_equal(get_u64(VU_GET_STATUS), 0xf);
}

static void test_ack_only_when_negotiated(void **state)
{
	struct vu_msg_hdr h;
	uint64_t v;

	/* without REPLY_ACK a NEED_REPLY gets nothing */
	send_msg(VU_SET_OWNER, NEED, NULL, 0, NULL, 0);
	send_msg(VU_GET_FEATURES, 0, NULL, 0, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &v, 8, 100), 0);
	assert_int_equal(h.request, VU_GET_FEATURES);
	negotiate(BIT(VU_PROTOCOL_F_REPLY_ACK));
	assert_int_equal(acked(VU_SET_OWNER, NULL, 0, NULL, 0), 0);
	/* GETs answer with their own reply, not an ack */
	send_msg(VU_GET_QUEUE_NUM, NEED, NULL, 0, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &v, 8, 100), 0);
	assert_int_equal(v, 3);
}

static void test_nacks_keep_connection(void **state)
{
	struct vu_vring_state st = { 200, 64 };
	struct vu_mem_table t = { .nregions = 2 };
	struct fake_guest g;
	int efd = efd_new();

	negotiate(BIT(VU_PROTOCOL_F_REPLY_ACK));
	/* queue index out of range */
	assert_int_not_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.index = 3;
	assert_int_not_equal(acked(VU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	assert_int_not_equal(acked(VU_SET_VRING_CALL, &(uint64_t){ 3 }, 8, &efd,
				   1), 0);
	/* sizes and values */
	st.index = 1;
	st.num = 3;
	assert_int_not_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 65536;
	assert_int_not_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 1u << 16;
	assert_int_not_equal(acked(VU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	st.num = 2;
	assert_int_not_equal(acked(VU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	/* fd count must match the payload */
	assert_int_not_equal(acked(VU_SET_VRING_CALL,
				   &(uint64_t){ 1 | VU_VRING_NOFD }, 8, &efd, 1),
			     0);
	assert_int_not_equal(acked(VU_SET_VRING_ERR, &(uint64_t){ 1 }, 8, NULL,
				   0), 0);
	assert_int_not_equal(acked(VU_SET_VRING_CALL,
				   &(uint64_t){ 1 | (1ull << 9) }, 8, &efd, 1),
			     0);
	fg_create(&g, 1 * MiB);
	t.regions[0] = (struct vu_mem_region_desc){ 0, 4096, 0x10000, 0 };
	t.regions[1] = (struct vu_mem_region_desc){ 8192, 4096, 0x20000, 8192 };
	assert_int_not_equal(acked(VU_SET_MEM_TABLE, &t, 8 + 64, &g.fd, 1), 0);
	t.nregions = 9;
	assert_int_not_equal(acked(VU_SET_MEM_TABLE, &t, sizeof(t), &g.fd, 1),
			     0);
	/* memory slots were not negotiated */
	assert_int_not_equal(acked(VU_ADD_MEM_REG, &(struct vu_mem_single){
					   .region = t.regions[0] },
				   40, &g.fd, 1), 0);
	/* a ring cannot start before it is configured */
	assert_int_not_equal(acked(VU_SET_VRING_KICK, &(uint64_t){ 1 }, 8, &efd,
				   1), 0);
	/* not offered: a clean failure */
	assert_int_not_equal(acked(VU_SET_LOG_FD, NULL, 0, &efd, 1), 0);
	assert_int_not_equal(acked(VU_SET_FEATURES, &(uint64_t){ BIT(26) }, 8,
				   NULL, 0), 0);
	/* still talking */
	assert_int_equal(get_u64(VU_GET_QUEUE_NUM), 3);
	fg_destroy(&g);
	close(efd);
}

static void test_unsupported_replies(void **state)
{
	struct vu_msg_hdr h;
	struct vu_inflight inf;
	struct {
		struct vu_config_hdr h;
		uint8_t data[16];
	} cfg = { { 0, 16, 0 }, { 0 } };
	uint64_t v;

	send_msg(VU_GET_CONFIG, 0, &cfg, sizeof(cfg), NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, NULL, 0, 100), 0);
	assert_int_equal(h.request, VU_GET_CONFIG);
	assert_int_equal(h.size, 0);
	send_msg(VU_GET_INFLIGHT_FD, 0, &(struct vu_inflight){ 0 }, 24, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &inf, sizeof(inf), 100), 0);
	assert_int_equal(h.size, sizeof(inf));
	assert_int_equal(inf.mmap_size, 0);
	assert_int_equal(inf.num_queues, 3);
	send_msg(VU_IOTLB_MSG, 0, (uint8_t[40]){ 0 }, 40, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &v, 8, 100), 0);
	assert_int_not_equal(v, 0);
	assert_int_equal(get_u64(VU_GET_FEATURES) & BIT(VU_F_VERSION_1),
			 BIT(VU_F_VERSION_1));
}

/* Messages that are malformed in themselves end the connection. */
struct bad_msg {
	const char *what;
	uint32_t req, flags, size;
	unsigned int nfds;
	uint64_t payload;
};

static const struct bad_msg bad_msgs[] = {
	{ "short payload", VU_SET_VRING_NUM, 0, 4, 0, 0 },
	{ "long payload", VU_SET_FEATURES, 0, 16, 0, 0 },
	{ "unknown request", 99, 0, 0, 0, 0 },
	{ "request zero", 0, 0, 0, 0, 0 },
	{ "reply flag", VU_GET_FEATURES, VU_FLAG_REPLY, 0, 0, 0 },
	{ "missing fd", VU_SET_BACKEND_REQ_FD, 0, 0, 0, 0 },
	{ "extra fd", VU_SET_OWNER, 0, 0, 1, 0 },
	{ "two fds", VU_SET_VRING_KICK, 0, 8, 2, 0 },
	{ "bad queue, reply owed", VU_GET_VRING_BASE, 0, 8, 0, 99 },
	{ "unoffered feature", VU_SET_FEATURES, 0, 8, 0, BIT(26) },
	{ "unoffered protocol bit", VU_SET_PROTOCOL_FEATURES, 0, 8, 0, BIT(12) },
	{ "no reply-ack: error", VU_SET_VRING_NUM, 0, 8, 0, 3 },
};

static void test_bad_messages_disconnect(void **state)
{
	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++) {
		const struct bad_msg *b = &bad_msgs[i];
		int fds[2] = { efd_new(), efd_new() };
		uint8_t payload[16] = { 0 };

		env_start();
		memcpy(payload, &b->payload, 8);
		send_msg(b->req, b->flags, payload, b->size, fds, b->nfds);
		if (!disconnected())
			fail_msg("no disconnect for: %s", b->what);
		close(fds[0]);
		close(fds[1]);
		env_stop();
	}
}

static void test_bad_version_disconnects(void **state)
{
	struct vu_msg_hdr h = { VU_GET_FEATURES, 2, 0 };

	assert_int_equal(fe_send_raw(E.fe, &h, sizeof(h), NULL, 0), 0);
	assert_true(disconnected());
}

static void test_oversized_disconnects(void **state)
{
	struct vu_msg_hdr h = { VU_GET_FEATURES, VU_VERSION, 1u << 20 };

	assert_int_equal(fe_send_raw(E.fe, &h, sizeof(h), NULL, 0), 0);
	assert_true(disconnected());
}

static void test_mem_slots(void **state)
{
	struct fake_guest g, small;
	struct vu_mem_single a = { .region = { 0, 1 * MiB, 0x100000000ull, 0 } };
	struct vu_mem_single b = { .region = { 1 * MiB, 1 * MiB, 0x200000000ull,
					       1 * MiB } };
	struct vu_mem_single big = { .region = { 8 * MiB, 4 * MiB,
						 0x300000000ull, 0 } };

	fg_create(&g, 2 * MiB);
	fg_create(&small, 1 * MiB);
	negotiate(BIT(VU_PROTOCOL_F_REPLY_ACK) |
		  BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	assert_int_equal(acked(VU_ADD_MEM_REG, &a, 40, &g.fd, 1), 0);
	assert_int_equal(acked(VU_ADD_MEM_REG, &b, 40, &g.fd, 1), 0);
	/* overlap, short file */
	assert_int_not_equal(acked(VU_ADD_MEM_REG, &a, 40, &g.fd, 1), 0);
	assert_int_not_equal(acked(VU_ADD_MEM_REG, &big, 40, &small.fd, 1), 0);
	/* remove: an fd is tolerated, unknown regions are not */
	assert_int_equal(acked(VU_REM_MEM_REG, &a, 40, &g.fd, 1), 0);
	assert_int_not_equal(acked(VU_REM_MEM_REG, &a, 40, NULL, 0), 0);
	assert_int_equal(acked(VU_REM_MEM_REG, &b, 40, NULL, 0), 0);
	assert_int_equal(acked(VU_ADD_MEM_REG, &a, 40, &g.fd, 1), 0);
	fg_destroy(&g);
	fg_destroy(&small);
}

static void test_ring_start_stop(void **state)
{
	struct fake_guest g;
	struct drv_ring drv;
	struct vu_mem_table t = { .nregions = 1 };
	struct vu_vring_state st;
	struct vu_vring_addr va = { 0 };
	struct vu_msg_hdr h;
	struct vu_ring_addrs a;
	int kick = efd_new(), call = efd_new();

	fg_create(&g, 1 * MiB);
	fg_add_region(&g, 0, 1 * MiB, 0x7f0000000000ull, 0);
	t.regions[0] = g.regions[0];
	drv_ring_init(&drv, &g, 8, 0x1000, 0x2000, 0x3000);
	drv_set_avail_idx(&drv, 5); /* the base we will set */
	a = drv_addrs(&drv);
	negotiate(BIT(VU_PROTOCOL_F_REPLY_ACK));
	send_msg(VU_SET_FEATURES, 0,
		 &(uint64_t){ BIT(VU_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) },
		 8, NULL, 0);
	assert_int_equal(acked(VU_SET_MEM_TABLE, &t, 8 + 32, &g.fd, 1), 0);
	st = (struct vu_vring_state){ 1, 8 };
	assert_int_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 5;
	assert_int_equal(acked(VU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	va.index = 1;
	va.desc = a.desc;
	va.avail = a.avail;
	va.used = a.used;
	assert_int_equal(acked(VU_SET_VRING_ADDR, &va, sizeof(va), NULL, 0), 0);
	assert_int_equal(acked(VU_SET_VRING_CALL, &(uint64_t){ 1 }, 8, &call, 1),
			 0);
	assert_int_equal(acked(VU_SET_VRING_KICK, &(uint64_t){ 1 }, 8, &kick, 1),
			 0);
	/* a running ring's geometry is fixed */
	st.num = 16;
	assert_int_not_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	assert_int_not_equal(acked(VU_SET_VRING_ADDR, &va, sizeof(va), NULL, 0),
			     0);
	/* kick and call may change while it runs */
	assert_int_equal(acked(VU_SET_VRING_CALL, &(uint64_t){ 1 }, 8, &call, 1),
			 0);
	assert_true(efd_wait(call, 1000)); /* a fresh call fd gets one signal */
	assert_int_equal(acked(VU_SET_VRING_KICK, &(uint64_t){ 1 }, 8, &kick, 1),
			 0);
	st = (struct vu_vring_state){ 1, 1 };
	assert_int_equal(acked(VU_SET_VRING_ENABLE, &st, 8, NULL, 0), 0);
	/* the memory table may change under a running ring */
	assert_int_equal(acked(VU_SET_MEM_TABLE, &t, 8 + 32, &g.fd, 1), 0);
	{
		struct vhost_user_stats stats;

		vhost_user_device_get_stats(E.d, &stats);
		assert_int_equal(stats.broken_queues, 0);
		assert_true(stats.connected);
	}
	/* stop: the base comes back where it was set, nothing was queued */
	st = (struct vu_vring_state){ 1, 0 };
	send_msg(VU_GET_VRING_BASE, 0, &st, 8, NULL, 0);
	assert_true(pump_readable());
	assert_int_equal(fe_recv(E.fe, &h, &st, 8, 100), 0);
	assert_int_equal(h.request, VU_GET_VRING_BASE);
	assert_int_equal(st.index, 1);
	assert_int_equal(st.num, 5);
	/* stopped: geometry may change again */
	st.num = 16;
	assert_int_equal(acked(VU_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	fg_destroy(&g);
	close(kick);
	close(call);
}

static void test_reset_device(void **state)
{
	struct vu_vring_state st = { 2, 77 };
	int made;

	negotiate(BIT(VU_PROTOCOL_F_REPLY_ACK) |
		  BIT(VU_PROTOCOL_F_RESET_DEVICE));
	made = sessions_made;
	assert_int_equal(acked(VU_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	send_msg(VU_SET_STATUS, 0, &(uint64_t){ 7 }, 8, NULL, 0);
	assert_int_equal(acked(VU_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	assert_int_equal(sessions_made, made + 1);
	assert_int_equal(sessions_live, 1);
	assert_int_equal(get_u64(VU_GET_STATUS), 0);
	st.num = 0;
	send_msg(VU_GET_VRING_BASE, 0, &st, 8, NULL, 0);
	assert_true(pump_readable());
	{
		struct vu_msg_hdr h;

		assert_int_equal(fe_recv(E.fe, &h, &st, 8, 100), 0);
	}
	assert_int_equal(st.num, 0);
	pump();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_replies),
		T(test_ack_only_when_negotiated),
		T(test_nacks_keep_connection),
		T(test_unsupported_replies),
		cmocka_unit_test(test_bad_messages_disconnect),
		T(test_bad_version_disconnects),
		T(test_oversized_disconnects),
		T(test_mem_slots),
		T(test_ring_start_stop),
		T(test_reset_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
