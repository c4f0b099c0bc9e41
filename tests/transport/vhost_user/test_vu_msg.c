// SPDX-License-Identifier: MIT
/*
 * test_vu_msg.c - splitting the socket stream into messages and giving each
 * the fds that came with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/vhost_user/msg_internal.h"
#include "vu_test_util.h"

static struct vu_msg_reader rd;
static struct vu_msg msg;

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int setup(void **state)
{
	vu_msg_reader_init(&rd);
	return 0;
}

static int teardown(void **state)
{
	vu_msg_reader_reset(&rd);
	return 0;
}

/* Append a message to the reader's buffer without accounting it yet. */
static size_t stage(size_t at, uint32_t req, uint32_t flags, uint64_t v,
		    uint32_t size)
{
	return fe_pack(rd.buf + rd.len + at, req, flags, &v, size);
}

static void test_several_in_one_read(void **state)
{
	size_t n = 0;

	n += stage(n, VU_GET_FEATURES, 0, 0, 0);
	n += stage(n, VU_SET_FEATURES, 0, 0x1234, 8);
	n += stage(n, VU_SET_OWNER, 0, 0, 0);
	assert_int_equal(vu_msg_reader_feed(&rd, n, NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_GET_FEATURES);
	assert_int_equal(msg.nfds, 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_FEATURES);
	assert_int_equal(msg.payload.u64, 0x1234);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_OWNER);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 0);
}

static void test_fds_go_to_last_message(void **state)
{
	int fds[2] = { efd_new(), efd_new() };
	size_t n = 0;

	n += stage(n, VU_SET_VRING_NUM, 0, 0, 8);
	n += stage(n, VU_SET_VRING_CALL, 0, 1, 8);
	assert_int_equal(vu_msg_reader_feed(&rd, n, fds, 1), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.nfds, 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_VRING_CALL);
	assert_int_equal(msg.nfds, 1);
	assert_int_equal(msg.fds[0], fds[0]);
	vu_msg_close_fds(&msg);
	assert_false(fd_open(fds[0]));
	close(fds[1]);
}

static void test_fds_with_partial_message(void **state)
{
	int fd = efd_new();
	size_t n = stage(0, VU_SET_VRING_KICK, 0, 2, 8);

	/* the header and 3 payload bytes arrive with the fd */
	assert_int_equal(vu_msg_reader_feed(&rd, 15, &fd, 1), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 0);
	assert_int_equal(vu_msg_reader_feed(&rd, n - 15, NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.payload.u64, 2);
	assert_int_equal(msg.nfds, 1);
	assert_int_equal(msg.fds[0], fd);
	vu_msg_close_fds(&msg);
}

/* A partial message holds fds while the next one brings its own. */
static void test_two_fd_sets(void **state)
{
	int a = efd_new(), b = efd_new();
	size_t n1 = stage(0, VU_SET_VRING_CALL, 0, 0, 8);
	size_t n2;

	assert_int_equal(vu_msg_reader_feed(&rd, 4, &a, 1), 0);
	n2 = stage(n1 - 4, VU_SET_VRING_ERR, 0, 0, 8);
	assert_int_equal(vu_msg_reader_feed(&rd, n1 - 4 + n2, &b, 1), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_VRING_CALL);
	assert_int_equal(msg.fds[0], a);
	vu_msg_close_fds(&msg);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_VRING_ERR);
	assert_int_equal(msg.fds[0], b);
	vu_msg_close_fds(&msg);
}

static void test_fds_without_message_start(void **state)
{
	int a = efd_new(), b = efd_new();
	size_t n = stage(0, VU_SET_VRING_CALL, 0, 0, 8);

	assert_int_equal(vu_msg_reader_feed(&rd, 4, NULL, 0), 0);
	/* the continuation cannot carry fds: they are refused and closed */
	assert_int_equal(vu_msg_reader_feed(&rd, n - 4, &a, 1), -EPROTO);
	assert_false(fd_open(a));
	vu_msg_reader_reset(&rd);
	/* nor can one message get two fd sets */
	stage(0, VU_SET_VRING_CALL, 0, 0, 8);
	assert_int_equal(vu_msg_reader_feed(&rd, 4, &a, 0), 0);
	vu_msg_reader_reset(&rd);
	a = efd_new();
	stage(0, VU_SET_VRING_CALL, 0, 0, 8);
	assert_int_equal(vu_msg_reader_feed(&rd, 4, &a, 1), 0);
	assert_int_equal(vu_msg_reader_feed(&rd, 2, &b, 1), -EPROTO);
	assert_false(fd_open(b));
	vu_msg_reader_reset(&rd);
	assert_false(fd_open(a));
}

static void test_too_many_fds(void **state)
{
	int fds[VU_MSG_FDS_MAX + 1];
	size_t n = stage(0, VU_SET_MEM_TABLE, 0, 0, 8);

	for (unsigned int i = 0; i <= VU_MSG_FDS_MAX; i++)
		fds[i] = efd_new();
	assert_int_equal(vu_msg_reader_feed(&rd, n, fds, VU_MSG_FDS_MAX + 1),
			 -EPROTO);
	for (unsigned int i = 0; i <= VU_MSG_FDS_MAX; i++)
		assert_false(fd_open(fds[i]));
}

static void test_bad_headers(void **state)
{
	struct vu_msg_hdr h = { VU_GET_FEATURES, 2, 0 };

	memcpy(rd.buf, &h, sizeof(h));
	assert_int_equal(vu_msg_reader_feed(&rd, sizeof(h), NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), -EPROTO);
	vu_msg_reader_reset(&rd);
	stage(0, VU_GET_FEATURES, VU_FLAG_REPLY, 0, 0);
	assert_int_equal(vu_msg_reader_feed(&rd, 12, NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), -EPROTO);
	vu_msg_reader_reset(&rd);
	/* an oversized payload is refused from the header alone */
	h.flags = VU_VERSION;
	h.size = VU_MSG_PAYLOAD_MAX + 1;
	memcpy(rd.buf, &h, sizeof(h));
	assert_int_equal(vu_msg_reader_feed(&rd, sizeof(h), NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), -EPROTO);
}

static void test_payload_tail_zeroed(void **state)
{
	size_t n = stage(0, VU_SET_VRING_NUM, 0, UINT64_MAX, 8);

	assert_int_equal(vu_msg_reader_feed(&rd, n, NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	n = stage(0, VU_SET_VRING_NUM, 0, 0x01020304, 4);
	assert_int_equal(vu_msg_reader_feed(&rd, n, NULL, 0), 0);
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.payload.u64, 0x01020304);
}

static void test_recv_socket(void **state)
{
	int sv[2], fds[2] = { efd_new(), efd_new() };
	uint8_t buf[256];
	size_t n = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n += fe_pack(buf + n, VU_GET_FEATURES, 0, NULL, 0);
	n += fe_pack(buf + n, VU_SET_OWNER, 0, NULL, 0);
	n += fe_pack(buf + n, VU_SET_VRING_CALL, 0, &(uint64_t){ 1 }, 8);
	assert_int_equal(fe_send_raw(sv[0], buf, n, NULL, 0), 0);
	/* a separate send whose fds must go to its own message */
	assert_int_equal(fe_send(sv[0], VU_SET_VRING_KICK, 0, &(uint64_t){ 1 },
				 8, fds, 2), 0);
	assert_int_equal(vu_msg_recv(sv[1], &rd), (long)n + 20);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
		assert_int_equal(msg.nfds, 0);
	}
	assert_int_equal(vu_msg_reader_next(&rd, &msg), 1);
	assert_int_equal(msg.hdr.request, VU_SET_VRING_KICK);
	assert_int_equal(msg.nfds, 2);
	vu_msg_close_fds(&msg);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(vu_msg_recv(sv[1], &rd), -EAGAIN);
	/* replies carry the REPLY flag */
	assert_int_equal(vu_msg_reply(sv[1], VU_GET_FEATURES, &(uint64_t){ 7 },
				      8), 0);
	{
		struct vu_msg_hdr h;
		uint64_t v;

		assert_int_equal(fe_recv(sv[0], &h, &v, 8, 1000), 0);
		assert_int_equal(h.request, VU_GET_FEATURES);
		assert_int_equal(h.flags, VU_VERSION | VU_FLAG_REPLY);
		assert_int_equal(v, 7);
	}
	close(sv[0]);
	assert_int_equal(vu_msg_recv(sv[1], &rd), 0);
	close(sv[1]);
}

static void test_recv_truncated_fds(void **state)
{
	int sv[2], fds[20];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 20; i++)
		fds[i] = efd_new();
	/* fe_send_raw has room for 16 fds: send 16, more than a message may carry */
	assert_int_equal(fe_send(sv[0], VU_SET_MEM_TABLE, 0, NULL, 0, fds, 16),
			 0);
	assert_int_equal(vu_msg_recv(sv[1], &rd), -EPROTO);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
}

static void test_names(void **state)
{
	assert_string_equal(vu_request_name(VU_SET_MEM_TABLE), "SET_MEM_TABLE");
	assert_string_equal(vu_request_name(VU_GET_STATUS), "GET_STATUS");
	assert_string_equal(vu_request_name(0), "UNKNOWN");
	assert_string_equal(vu_request_name(1000), "UNKNOWN");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_several_in_one_read),
		T(test_fds_go_to_last_message),
		T(test_fds_with_partial_message),
		T(test_two_fd_sets),
		T(test_fds_without_message_start),
		T(test_too_many_fds),
		T(test_bad_headers),
		T(test_payload_tail_zeroed),
		T(test_recv_socket),
		T(test_recv_truncated_fds),
		T(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
