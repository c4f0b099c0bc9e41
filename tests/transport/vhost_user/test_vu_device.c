// SPDX-License-Identifier: MIT
/*
 * test_vu_device.c - a front-end playing QEMU 7.2's vhost-user-fs sequence
 * against a device on three reactor threads, then acting as the guest:
 * FUSE requests on the rings, used entries and calls back, GET_VRING_BASE
 * with requests in flight, a malformed ring, disconnect and reconnect.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/iov.h"
#include "vhostfs/reactor.h"
#include "vhostfs/vhost_user.h"
#include "vu_test_util.h"
#include "../../fuse/mock_fs.h"

#define MiB (1ull << 20)
#define NQ 3 /* hiprio + 2 request queues */
#define QSZ 64
#define TMO 3000
#define NEED VU_FLAG_NEED_REPLY
#define BIT(n) (1ull << (n))
#define DEFER_FLAG 0x10000ull   /* unique bit: complete after a delay */
#define SLOW_FLAG 0x20000ull    /* unique bit: a long delay */

/* --- mock engine: echoes the request body after a fuse_out_header -------- */

struct mock_state {
	atomic_int live;
	atomic_int made;
	atomic_int processed;
	atomic_int forgets;
	atomic_int wrong_thread;
	struct reactor *expect[NQ]; /* owner per queue (unique >> 8 & 0xff) */
};

static struct mock_state mock;

struct mock_defer {
	struct reactor_op op;
	struct fuse_request *req;
};
_Static_assert(sizeof(struct mock_defer) <= FUSE_ENGINE_ARGS_MAX, "scratch");

static int mock_create(void *ctx, struct fuse_session **out)
{
	static int dummy;

	atomic_fetch_add(&mock.live, 1);
	atomic_fetch_add(&mock.made, 1);
	*out = (struct fuse_session *)&dummy;
	return 0;
}

static void mock_destroy(void *ctx, struct fuse_session *s)
{
	atomic_fetch_sub(&mock.live, 1);
}

static void mock_reply(struct fuse_request *req)
{
	struct iov_cursor in, out;
	struct fuse_in_header ih;
	struct fuse_out_header oh = { 0 };
	uint8_t body[4096];
	size_t n;

	iov_cursor_init(&in, req->in, req->in_cnt);
	iov_cursor_init(&out, req->out, req->out_cnt);
	if (iov_cursor_read(&in, &ih, sizeof(ih))) {
		req->done(req, 0);
		return;
	}
	n = iov_cursor_remaining(&in);
	if (n > sizeof(body))
		n = sizeof(body);
	iov_cursor_read(&in, body, n);
	oh.len = (uint32_t)(sizeof(oh) + n);
	oh.unique = ih.unique;
	if (iov_cursor_write(&out, &oh, sizeof(oh)) ||
	    iov_cursor_write(&out, body, n)) {
		req->done(req, 0);
		return;
	}
	req->done(req, oh.len);
}

static void mock_defer_cpl(void *arg, int res)
{
	struct mock_defer *md = arg;

	mock_reply(md->req);
}

static void mock_process(void *ctx, struct fuse_session *s,
			 struct fuse_request *req)
{
	struct fuse_in_header ih;
	struct iov_cursor in;
	unsigned int q;

	atomic_fetch_add(&mock.processed, 1);
	iov_cursor_init(&in, req->in, req->in_cnt);
	if (iov_cursor_read(&in, &ih, sizeof(ih))) {
		req->done(req, 0);
		return;
	}
	q = (ih.unique >> 8) & 0xff;
	if (q >= NQ || reactor_current() != mock.expect[q])
		atomic_fetch_add(&mock.wrong_thread, 1);
	if (ih.opcode == FUSE_FORGET) {
		atomic_fetch_add(&mock.forgets, 1);
		req->done(req, 0);
		return;
	}
	if (ih.unique & DEFER_FLAG) {
		struct mock_defer *md = (void *)req->engine.args;

		md->req = req;
		reactor_op_init(&md->op, mock_defer_cpl, md);
		reactor_timeout(reactor_current(), &md->op,
				(ih.unique & SLOW_FLAG) ? 300000000u : 20000000u);
		return;
	}
	mock_reply(req);
}

static const struct vhost_user_engine mock_engine = {
	mock_create, mock_destroy, mock_process, NULL,
};

/* --- the device and its threads ---------------------------------------- */

struct env {
	struct reactor *ctl, *t[2];
	pthread_t th[3];
	struct vhost_user_device *d;
	char dir[64], path[128];
	atomic_bool shut;
};

static struct env E;

static void *reactor_thread(void *arg)
{
	reactor_run(arg);
	return NULL;
}

static void env_start_cfg(bool poll_mode,
			  const struct fuse_session_config *real)
{
	struct reactor_config rc = { .name = "vu" };
	struct vhost_user_config cfg = { 0 };
	struct reactor *rs[3];

	strcpy(E.dir, "/tmp/vu-test-XXXXXX");
	assert_non_null(mkdtemp(E.dir));
	snprintf(E.path, sizeof(E.path), "%s/sock", E.dir);
	assert_int_equal(reactor_create(&E.ctl, &rc), 0);
	assert_int_equal(reactor_create(&E.t[0], &rc), 0);
	assert_int_equal(reactor_create(&E.t[1], &rc), 0);
	cfg.socket_path = E.path;
	cfg.num_request_queues = NQ - 1;
	cfg.control = E.ctl;
	cfg.threads = E.t;
	cfg.nthreads = 2;
	cfg.poll = poll_mode;
	cfg.engine = real ? NULL : &mock_engine;
	cfg.session = real;
	for (unsigned int q = 0; q < NQ; q++)
		mock.expect[q] = E.t[q % 2];
	assert_int_equal(vhost_user_device_create(&E.d, &cfg), 0);
	rs[0] = E.ctl;
	rs[1] = E.t[0];
	rs[2] = E.t[1];
	for (int i = 0; i < 3; i++)
		pthread_create(&E.th[i], NULL, reactor_thread, rs[i]);
	atomic_store(&E.shut, false);
	vhost_user_device_start(E.d);
}

static void env_start(bool poll_mode)
{
	env_start_cfg(poll_mode, NULL);
}

static void shut_cb(void *arg)
{
	atomic_store(&E.shut, true);
}

static void env_stop(void)
{
	struct reactor *rs[3] = { E.ctl, E.t[0], E.t[1] };

	vhost_user_device_shutdown(E.d, shut_cb, NULL);
	for (int i = 0; i < 500 && !atomic_load(&E.shut); i++)
		usleep(10000);
	assert_true(atomic_load(&E.shut));
	assert_int_equal(access(E.path, F_OK), -1);
	vhost_user_device_destroy(E.d);
	/* a thread may still be inside reactor_msg_send() to another: join all first */
	for (int i = 0; i < 3; i++)
		reactor_stop(rs[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(E.th[i], NULL);
	for (int i = 0; i < 3; i++)
		reactor_destroy(rs[i]);
	rmdir(E.dir);
	assert_int_equal(atomic_load(&mock.live), 0);
}

static struct vhost_user_stats stats(void)
{
	struct vhost_user_stats s;

	vhost_user_device_get_stats(E.d, &s);
	return s;
}

/* Poll @cond (a statement expression) for up to TMO ms. */
#define WAIT_FOR(cond)                                                \
	({                                                            \
		bool ok_ = false;                                     \
		for (int i_ = 0; i_ < TMO / 5 && !(ok_ = (cond)); i_++) \
			usleep(5000);                                 \
		ok_;                                                  \
	})

/* --- the front-end and the guest ---------------------------------------- */

struct fe {
	int sock;
	struct fake_guest g;
	struct drv_ring ring[NQ];
	int kick[NQ], call[NQ], err[NQ];
	int backend_peer;
	uint16_t next_desc[NQ];
	uint16_t submitted[NQ];
};

static struct fe F;

static int fe_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, E.path);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

static uint64_t fe_get(uint32_t req)
{
	struct vu_msg_hdr h;
	uint64_t v = 0;

	assert_int_equal(fe_send(F.sock, req, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(fe_recv(F.sock, &h, &v, 8, TMO), 0);
	assert_int_equal(h.request, req);
	return v;
}

static void fe_acked(uint32_t req, const void *p, uint32_t n, const int *fds,
		     unsigned int nfds)
{
	struct vu_msg_hdr h;
	uint64_t v = 99;

	assert_int_equal(fe_send(F.sock, req, NEED, p, n, fds, nfds), 0);
	assert_int_equal(fe_recv(F.sock, &h, &v, 8, TMO), 0);
	assert_int_equal(h.request, req);
	assert_int_equal(v, 0);
}

static void fe_vring_fd(uint32_t req, unsigned int q, int fd)
{
	uint64_t v = q;

	assert_int_equal(fe_send(F.sock, req, 0, &v, 8, &fd, 1), 0);
}

static uint16_t fe_get_vring_base(unsigned int q)
{
	struct vu_vring_state st = { q, 0 };
	struct vu_msg_hdr h;

	assert_int_equal(fe_send(F.sock, VU_GET_VRING_BASE, 0, &st, 8, NULL, 0),
			 0);
	assert_int_equal(fe_recv(F.sock, &h, &st, 8, TMO), 0);
	assert_int_equal(h.request, VU_GET_VRING_BASE);
	assert_int_equal(st.index, q);
	return (uint16_t)st.num;
}

static void fe_guest_init(void)
{
	fg_create(&F.g, 8 * MiB);
	fg_add_region(&F.g, 0, 4 * MiB, 0x7f0000000000ull, 0);
	fg_add_region(&F.g, 4 * MiB, 4 * MiB, 0x7f8000000000ull, 4 * MiB);
	for (unsigned int q = 0; q < NQ; q++) {
		uint64_t base = 0x10000 + q * 0x10000ull;

		drv_ring_init(&F.ring[q], &F.g, QSZ, base, base + 0x1000,
			      base + 0x2000);
		F.kick[q] = efd_new();
		F.call[q] = efd_new();
		F.err[q] = efd_new();
		F.next_desc[q] = 0;
		F.submitted[q] = 0;
	}
}

static void fe_guest_fini(void)
{
	for (unsigned int q = 0; q < NQ; q++) {
		close(F.kick[q]);
		close(F.call[q]);
		close(F.err[q]);
	}
	fg_destroy(&F.g);
}

/* QEMU 7.2 at start-up, before the guest driver runs. */
static void fe_qemu_start(void)
{
	uint64_t proto;
	int sv[2];

	F.sock = fe_connect();
	assert_true(fe_get(VU_GET_FEATURES) & BIT(VU_F_PROTOCOL_FEATURES));
	proto = fe_get(VU_GET_PROTOCOL_FEATURES);
	assert_true(proto & BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	assert_int_equal(fe_send(F.sock, VU_SET_PROTOCOL_FEATURES, 0, &proto, 8,
				 NULL, 0), 0);
	assert_int_equal(fe_get(VU_GET_QUEUE_NUM), NQ);
	assert_int_equal(fe_get(VU_GET_MAX_MEM_SLOTS), 509);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	fe_acked(VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	F.backend_peer = sv[0];
	assert_int_equal(fe_send(F.sock, VU_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	fe_get(VU_GET_FEATURES);
	for (unsigned int q = 0; q < NQ; q++) {
		fe_vring_fd(VU_SET_VRING_CALL, q, F.call[q]);
		fe_vring_fd(VU_SET_VRING_ERR, q, F.err[q]);
	}
}

/* Queue @q's NUM, BASE, ADDR, KICK as one write, the kick fd with it. */
static void fe_ring_setup_batched(unsigned int q, uint16_t base)
{
	struct vu_vring_state num = { q, QSZ }, st = { q, base };
	struct vu_ring_addrs a = drv_addrs(&F.ring[q]);
	struct vu_vring_addr va = { q, 0, a.desc, a.used, a.avail, 0 };
	uint64_t kick = q;
	uint8_t buf[256];
	size_t n = 0;

	n += fe_pack(buf + n, VU_SET_VRING_NUM, 0, &num, 8);
	n += fe_pack(buf + n, VU_SET_VRING_BASE, 0, &st, 8);
	n += fe_pack(buf + n, VU_SET_VRING_ADDR, 0, &va, sizeof(va));
	n += fe_pack(buf + n, VU_SET_VRING_KICK, 0, &kick, 8);
	assert_int_equal(fe_send_raw(F.sock, buf, n, &F.kick[q], 1), 0);
}

/* The guest driver starts the device (QEMU 7.2 order). */
static void fe_driver_start(const uint16_t *bases)
{
	uint64_t f = BIT(VU_F_VERSION_1) | BIT(VU_F_RING_INDIRECT_DESC) |
		     BIT(VU_F_RING_EVENT_IDX) | BIT(VU_F_PROTOCOL_FEATURES);

	fe_vring_fd(VU_SET_VRING_CALL, 0, F.call[0]);
	assert_int_equal(fe_send(F.sock, VU_SET_FEATURES, 0, &f, 8, NULL, 0), 0);
	for (unsigned int i = 0; i < F.g.nregions; i++) {
		struct vu_mem_single r = { .region = F.g.regions[i] };

		fe_acked(VU_ADD_MEM_REG, &r, sizeof(r), &F.g.fd, 1);
	}
	for (unsigned int q = 0; q < NQ; q++) {
		drv_set_avail_idx(&F.ring[q], bases[q]);
		F.ring[q].last_used = bases[q];
		fe_ring_setup_batched(q, bases[q]);
	}
	for (unsigned int q = 0; q < NQ; q++) {
		struct vu_vring_state en = { q, 1 };

		fe_acked(VU_SET_VRING_ENABLE, &en, 8, NULL, 0);
	}
	for (unsigned int q = 0; q < NQ; q++)
		fe_vring_fd(VU_SET_VRING_CALL, q, F.call[q]);
}

/* QEMU at guest poweroff; returns each queue's base. */
static void fe_poweroff(uint16_t *bases)
{
	for (unsigned int q = 0; q < NQ; q++) {
		struct vu_vring_state en = { q, 0 };

		fe_acked(VU_SET_VRING_ENABLE, &en, 8, NULL, 0);
	}
	for (unsigned int q = 0; q < NQ; q++)
		bases[q] = fe_get_vring_base(q);
	fe_vring_fd(VU_SET_VRING_CALL, 0, F.call[0]);
	close(F.sock);
	close(F.backend_peer);
	F.sock = -1;
}

static void fg_write(uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (size_t i = 0; i < len; i++)
		*(uint8_t *)fg_ptr(&F.g, gpa + i) = p[i];
}

static void fg_read(uint64_t gpa, void *dst, size_t len)
{
	uint8_t *p = dst;

	for (size_t i = 0; i < len; i++)
		p[i] = *(uint8_t *)fg_ptr(&F.g, gpa + i);
}

/* Buffers of request k on queue q; request 3 of each queue crosses regions. */
static uint64_t req_in_gpa(unsigned int q, uint16_t k)
{
	if (k % 8 == 3)
		return 4 * MiB - 20;
	return 0x100000 + q * 0x80000ull + (k % 32) * 0x2000ull;
}

static uint64_t req_out_gpa(unsigned int q, uint16_t k)
{
	return req_in_gpa(q, k) + 0x1000;
}

/* Put a FUSE request (header + @blen bytes of @body) on queue @q, kick. */
static void drv_submit_raw(unsigned int q, struct fuse_in_header ih,
			   const void *body, uint32_t blen, bool indirect)
{
	struct drv_ring *r = &F.ring[q];
	uint16_t k = F.submitted[q]++;
	uint16_t d = (uint16_t)((k % 32) * 2);
	uint64_t in = req_in_gpa(q, k), out = req_out_gpa(q, k);
	uint16_t wflag = ih.opcode == FUSE_FORGET ? 0 : VQ_DESC_F_NEXT;

	ih.len = (uint32_t)sizeof(ih) + blen;
	ih.unique |= (uint64_t)q << 8;
	fg_write(in, &ih, sizeof(ih));
	fg_write(in + sizeof(ih), body, blen);
	memset(fg_ptr(&F.g, out), 0xee, 256);
	if (indirect) {
		uint64_t t = 0x400000 - 0x8000 + q * 0x800ull + (k % 32) * 32u;

		drv_desc(r, t, 0, in, ih.len, wflag, 1);
		drv_desc(r, t, 1, out, 256, VQ_DESC_F_WRITE, 0);
		drv_desc(r, 0, d, t, wflag ? 32 : 16, VQ_DESC_F_INDIRECT, 0);
	} else {
		drv_desc(r, 0, d, in, ih.len, wflag, (uint16_t)(d + 1));
		drv_desc(r, 0, (uint16_t)(d + 1), out, 256, VQ_DESC_F_WRITE, 0);
	}
	drv_publish(r, d);
	assert_int_equal(efd_kick(F.kick[q]), 0);
}

static void drv_submit(unsigned int q, uint32_t opcode, uint64_t unique,
		       const char *body, bool indirect)
{
	struct fuse_in_header ih = { .opcode = opcode, .unique = unique };

	drv_submit_raw(q, ih, body, (uint32_t)strlen(body), indirect);
}

/* Collect @n used entries of queue @q, waiting for calls (EVENT_IDX). */
static void drv_collect(unsigned int q, int n, uint32_t *ids, uint32_t *lens)
{
	struct drv_ring *r = &F.ring[q];
	int got = 0;

	while (got < n) {
		if (drv_used_get(r, &ids[got], &lens[got])) {
			got++;
			continue;
		}
		/* ask for an interrupt at the next entry, then re-check */
		drv_set_used_event(r, r->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (drv_used_idx(r) != r->last_used)
			continue;
		if (!efd_wait(F.call[q], TMO))
			fail_msg("queue %u: %d of %d used entries", q, got, n);
	}
}

static void body_for(unsigned int q, uint64_t unique, char *buf, size_t n)
{
	snprintf(buf, n, "q%u-u%u", q, (unsigned int)(unique & 0xff));
}

/* The reply for used entry (@id, @len) echoes the body of its request. */
static void check_reply(unsigned int q, uint32_t id, uint32_t len,
			const char *body)
{
	struct fuse_out_header oh;
	char got[256] = { 0 }, want[64];
	uint16_t k = (uint16_t)(id / 2);
	uint64_t out = req_out_gpa(q, k);

	/* which submission used these descriptors: the newest with id/2 */
	for (uint16_t j = F.submitted[q]; j-- > 0;) {
		if (j % 32 == k % 32) {
			out = req_out_gpa(q, j);
			break;
		}
	}
	fg_read(out, &oh, sizeof(oh));
	if (!body) {
		body_for(q, oh.unique, want, sizeof(want));
		body = want;
	}
	assert_int_equal(len, sizeof(oh) + strlen(body));
	assert_int_equal(oh.len, len);
	assert_int_equal(oh.error, 0);
	assert_int_equal((oh.unique >> 8) & 0xff, q);
	fg_read(out + sizeof(oh), got, strlen(body));
	assert_string_equal(got, body);
}

/* --- tests ---------------------------------------------------------------- */

static void submit_and_check(unsigned int q, int n, uint64_t flags)
{
	uint32_t ids[64], lens[64];
	char body[64];

	for (int i = 0; i < n; i++) {
		body_for(q, (uint64_t)i, body, sizeof(body));
		drv_submit(q, FUSE_GETATTR, (uint64_t)i | flags, body, i % 2);
	}
	drv_collect(q, n, ids, lens);
	for (int i = 0; i < n; i++)
		check_reply(q, ids[i], lens[i], NULL);
}

static void test_qemu_sequence(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	uint32_t ids[8], lens[8];

	env_start(false);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	/* FORGETs on hiprio: no writable part, used len 0 */
	for (int i = 0; i < 3; i++)
		drv_submit(0, FUSE_FORGET, (uint64_t)i, "forget-arg", false);
	drv_collect(0, 3, ids, lens);
	for (int i = 0; i < 3; i++)
		assert_int_equal(lens[i], 0);
	submit_and_check(1, 10, 0);
	submit_and_check(2, 5, 0);
	submit_and_check(1, 6, DEFER_FLAG);
	assert_int_equal(atomic_load(&mock.forgets), 3);
	assert_int_equal(atomic_load(&mock.wrong_thread), 0);
	assert_int_equal(stats().broken_queues, 0);

	fe_poweroff(bases);
	assert_int_equal(bases[0], 3);
	assert_int_equal(bases[1], 16);
	assert_int_equal(bases[2], 5);
	assert_true(WAIT_FOR(!stats().connected));
	assert_int_equal(atomic_load(&mock.live), 0);

	/* the device listens again; a new front-end resumes the rings */
	fe_qemu_start();
	fe_driver_start(bases);
	submit_and_check(2, 4, 0);
	submit_and_check(1, 2, DEFER_FLAG);
	fe_poweroff(bases);
	assert_int_equal(bases[2], 9);
	assert_int_equal(bases[1], 18);
	assert_int_equal(stats().connections, 2);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/* GET_VRING_BASE answers only once the request in flight is used. */
static void test_vring_base_waits(void **state)
{
	uint16_t zero[NQ] = { 0 };
	uint32_t id, len;

	env_start(false);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	drv_submit(1, FUSE_GETATTR, DEFER_FLAG | SLOW_FLAG, "slow", false);
	assert_true(WAIT_FOR(atomic_load(&mock.processed) >= 1));
	assert_int_equal(drv_used_idx(&F.ring[1]), 0);
	assert_int_equal(fe_get_vring_base(1), 1);
	/* by the time the answer came, the reply was on the used ring */
	assert_int_equal(drv_used_idx(&F.ring[1]), 1);
	assert_true(drv_used_get(&F.ring[1], &id, &len));
	check_reply(1, id, len, "slow");
	close(F.sock);
	close(F.backend_peer);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/* A malformed ring stops that queue only; the error fd fires. */
static void test_broken_ring(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	struct drv_ring *r;

	env_start(false);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	r = &F.ring[2];
	drv_desc(r, 0, 10, 0x100000, 40, VQ_DESC_F_NEXT, 11);
	drv_desc(r, 0, 11, 0x100000, 40, VQ_DESC_F_NEXT, 10);
	drv_publish(r, 10);
	efd_kick(F.kick[2]);
	assert_true(efd_wait(F.err[2], TMO));
	assert_int_equal(stats().broken_queues, 1);
	/* the other request queue still serves */
	submit_and_check(1, 3, 0);
	fe_poweroff(bases);
	assert_int_equal(bases[1], 3);
	assert_int_equal(bases[2], 0); /* the bad chain was not consumed */
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/* The front-end vanishes with a request in flight: all is dropped. */
static void test_disconnect_inflight(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	int before = atomic_load(&mock.made);

	env_start(false);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	drv_submit(1, FUSE_GETATTR, DEFER_FLAG | SLOW_FLAG, "gone", false);
	assert_true(WAIT_FOR(atomic_load(&mock.processed) >= 1));
	close(F.sock);
	close(F.backend_peer);
	assert_true(WAIT_FOR(!stats().connected));
	assert_int_equal(atomic_load(&mock.live), 0);
	/* serving again */
	drv_ring_init(&F.ring[1], &F.g, QSZ, F.ring[1].desc_gpa,
		      F.ring[1].avail_gpa, F.ring[1].used_gpa);
	F.submitted[1] = 0;
	fe_qemu_start();
	fe_driver_start(zero);
	submit_and_check(1, 2, 0);
	fe_poweroff(bases);
	assert_int_equal(atomic_load(&mock.made), before + 2);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/* Polling: chains are found without any kick. */
static void test_poll_mode(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	uint32_t ids[4], lens[4];
	struct fuse_in_header ih = { .len = 40, .opcode = FUSE_GETATTR,
				     .unique = (1u << 8) | 7 };
	struct drv_ring *r;

	env_start(true);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	r = &F.ring[1];
	fg_write(0x100000, &ih, sizeof(ih));
	drv_desc(r, 0, 0, 0x100000, 40, VQ_DESC_F_NEXT, 1);
	drv_desc(r, 0, 1, 0x101000, 64, VQ_DESC_F_WRITE, 0);
	drv_publish(r, 0); /* no kick */
	drv_collect(1, 1, ids, lens);
	assert_int_equal(lens[0], sizeof(struct fuse_out_header));
	fe_poweroff(bases);
	assert_int_equal(bases[1], 1);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/*
 * A region leaves the table while a request in flight points into it: its
 * mapping must outlive the request; the reply still lands in guest memory.
 */
static void test_region_removed_inflight(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	struct vu_mem_single b = { .region = F.g.regions[1] };
	uint32_t ids[4], lens[4];
	char body[32];

	env_start(false);
	fe_guest_init();
	b.region = F.g.regions[1];
	fe_qemu_start();
	fe_driver_start(zero);
	for (uint64_t i = 0; i < 4; i++) {
		/* request 3 crosses into region B and is slow */
		body_for(1, i, body, sizeof(body));
		drv_submit(1, FUSE_GETATTR, i | (i == 3 ? DEFER_FLAG | SLOW_FLAG : 0),
			   body, false);
	}
	drv_collect(1, 3, ids, lens);
	fe_acked(VU_REM_MEM_REG, &b, sizeof(b), NULL, 0);
	drv_collect(1, 1, ids, lens);
	check_reply(1, ids[0], lens[0], NULL);
	/* back in; nothing in flight now, so the old mapping goes */
	fe_acked(VU_ADD_MEM_REG, &b, sizeof(b), &F.g.fd, 1);
	submit_and_check(1, 8, 0);
	fe_poweroff(bases);
	assert_int_equal(bases[1], 12);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
}

/* The real FUSE engine above the engine tests' mock fs, over the ring. */
static void test_real_engine(void **state)
{
	uint16_t zero[NQ] = { 0 }, bases[NQ];
	struct mock_fs *m = mock_fs_new();
	struct fuse_session_config sc = { .fs = &m->base };
	struct fuse_init_in init = { .major = 7, .minor = 38,
				     .max_readahead = 65536 };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_in_header ih = { 0 };
	struct fuse_out_header oh;
	uint32_t ids[2], lens[2];

	env_start_cfg(false, &sc);
	fe_guest_init();
	fe_qemu_start();
	fe_driver_start(zero);
	ih.opcode = FUSE_INIT;
	ih.unique = 1;
	drv_submit_raw(1, ih, &init, sizeof(init), false);
	drv_collect(1, 1, ids, lens);
	fg_read(req_out_gpa(1, 0), &oh, sizeof(oh));
	assert_int_equal(oh.error, 0);
	assert_int_equal(oh.len, lens[0]);
	assert_true(lens[0] > sizeof(oh));
	ih.opcode = FUSE_GETATTR;
	ih.unique = 2;
	ih.nodeid = FUSE_ROOT_ID;
	drv_submit_raw(1, ih, &ga, sizeof(ga), true);
	drv_collect(1, 1, ids, lens);
	fg_read(req_out_gpa(1, 1), &oh, sizeof(oh));
	assert_int_equal(oh.error, 0);
	assert_int_equal(oh.unique, 2 | (1u << 8));
	assert_int_equal(lens[0], sizeof(oh) + sizeof(struct fuse_attr_out));
	fe_poweroff(bases);
	assert_int_equal(bases[1], 2);
	assert_true(WAIT_FOR(!stats().connected));
	fe_guest_fini();
	env_stop();
	assert_int_equal(mock_fs_refs(m), 0);
	mock_fs_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_sequence),
		cmocka_unit_test(test_vring_base_waits),
		cmocka_unit_test(test_broken_ring),
		cmocka_unit_test(test_disconnect_inflight),
		cmocka_unit_test(test_poll_mode),
		cmocka_unit_test(test_region_removed_inflight),
		cmocka_unit_test(test_real_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
