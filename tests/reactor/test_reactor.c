// SPDX-License-Identifier: MIT
/* test_reactor.c - io_uring reactor: file I/O, fds, timers, cancel, destroy. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhostfs/reactor.h"

struct result {
	int done;
	int res;
};

static void result_cb(void *arg, int res)
{
	struct result *r = arg;

	r->done++;
	r->res = res;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Drive @r until @res is done; fails the test after 5 s. */
static void run_until(struct reactor *r, const struct result *res)
{
	uint64_t end = now_ms() + 5000;

	while (!res->done) {
		assert_true(reactor_run_once(r, 100) >= 0);
		assert_true(now_ms() < end);
	}
}

static int setup(void **state)
{
	struct reactor *r;
	struct reactor_config cfg = { .ring_entries = 0, .name = "test" };
	int ret = reactor_create(&r, &cfg);

	if (ret == -ENOSYS || ret == -EPERM) {
		print_message("io_uring unavailable (%d)\n", ret);
		exit(77);
	}
	assert_int_equal(ret, 0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	reactor_destroy(*state);
	return 0;
}

static int tmpfile_open(void)
{
	char path[] = "/tmp/vhostfs-reactor-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void test_file_rw(void **state)
{
	struct reactor *r = *state;
	struct reactor_op op;
	struct result res = { 0 };
	char a[100], b[300], out[400];
	struct iovec wiov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct iovec riov[1] = { { out, sizeof(out) } };
	int fd = tmpfile_open();

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	reactor_op_init(&op, result_cb, &res);
	reactor_writev(r, &op, fd, wiov, 2, 4096);
	/* never inline: the callback waits for the loop */
	assert_int_equal(res.done, 0);
	assert_int_equal(reactor_inflight(r), 1);
	run_until(r, &res);
	assert_int_equal(res.res, 400);
	assert_int_equal(reactor_inflight(r), 0);

	res.done = 0;
	reactor_op_init(&op, result_cb, &res);
	reactor_readv(r, &op, fd, riov, 1, 4096);
	run_until(r, &res);
	assert_int_equal(res.res, 400);
	assert_memory_equal(out, a, sizeof(a));
	assert_memory_equal(out + 100, b, sizeof(b));

	/* short read at EOF, then the RWF variants */
	res.done = 0;
	reactor_readv2(r, &op, fd, riov, 1, 4096 + 350, 0);
	run_until(r, &res);
	assert_int_equal(res.res, 50);
	res.done = 0;
	reactor_writev2(r, &op, fd, wiov, 1, 0, RWF_DSYNC);
	run_until(r, &res);
	assert_int_equal(res.res, 100);
	close(fd);
}

static void test_bad_fd(void **state)
{
	struct reactor *r = *state;
	struct reactor_op op;
	struct result res = { 0 };
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };

	reactor_op_init(&op, result_cb, &res);
	reactor_readv(r, &op, 9999, &iov, 1, 0);
	run_until(r, &res);
	assert_int_equal(res.res, -EBADF);
}

static void test_fsync(void **state)
{
	struct reactor *r = *state;
	struct reactor_op op1, op2;
	struct result res1 = { 0 }, res2 = { 0 };
	int fd = tmpfile_open();

	assert_int_equal(write(fd, "x", 1), 1);
	reactor_op_init(&op1, result_cb, &res1);
	reactor_op_init(&op2, result_cb, &res2);
	reactor_fsync(r, &op1, fd, false);
	reactor_fsync(r, &op2, fd, true);
	assert_int_equal(reactor_inflight(r), 2);
	run_until(r, &res1);
	run_until(r, &res2);
	assert_int_equal(res1.res, 0);
	assert_int_equal(res2.res, 0);
	close(fd);
}

static void test_poll_and_read_pipe(void **state)
{
	struct reactor *r = *state;
	struct reactor_op op;
	struct result res = { 0 };
	char buf[16];
	int p[2];

	assert_int_equal(pipe(p), 0);
	reactor_op_init(&op, result_cb, &res);
	reactor_poll_fd(r, &op, p[0], POLLIN);
	for (int i = 0; i < 3; i++)
		assert_int_equal(reactor_run_once(r, 0), 0);
	assert_int_equal(res.done, 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	run_until(r, &res);
	assert_true(res.res & POLLIN);

	res.done = 0;
	reactor_read(r, &op, p[0], buf, sizeof(buf));
	run_until(r, &res);
	assert_int_equal(res.res, 5);
	assert_memory_equal(buf, "hello", 5);

	/* a read that has to wait for data */
	res.done = 0;
	reactor_read(r, &op, p[0], buf, sizeof(buf));
	assert_int_equal(reactor_run_once(r, 10), 0);
	assert_int_equal(res.done, 0);
	assert_int_equal(write(p[1], "xy", 2), 2);
	run_until(r, &res);
	assert_int_equal(res.res, 2);
	close(p[0]);
	close(p[1]);
}

static void test_timeout(void **state)
{
	struct reactor *r = *state;
	struct reactor_op op;
	struct result res = { 0 };
	uint64_t start = now_ms();

	reactor_op_init(&op, result_cb, &res);
	reactor_timeout(r, &op, 20 * 1000000ull);
	run_until(r, &res);
	assert_int_equal(res.res, 0);
	assert_true(now_ms() - start >= 19);
}

static void test_cancel(void **state)
{
	struct reactor *r = *state;
	struct reactor_op t_op, p_op;
	struct result t_res = { 0 }, p_res = { 0 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	reactor_op_init(&t_op, result_cb, &t_res);
	reactor_op_init(&p_op, result_cb, &p_res);
	reactor_timeout(r, &t_op, 10ull * 1000000000ull);
	reactor_poll_fd(r, &p_op, p[0], POLLIN);
	assert_int_equal(reactor_run_once(r, 0), 0);
	assert_int_equal(reactor_inflight(r), 2);
	reactor_cancel(r, &t_op);
	reactor_cancel(r, &p_op);
	assert_int_equal(t_res.done + p_res.done, 0);
	run_until(r, &t_res);
	run_until(r, &p_res);
	assert_int_equal(t_res.res, -ECANCELED);
	assert_int_equal(p_res.res, -ECANCELED);
	assert_int_equal(reactor_inflight(r), 0);
	/* cancelling a finished op is harmless */
	reactor_cancel(r, &t_op);
	assert_true(reactor_run_once(r, 10) >= 0);
	assert_int_equal(t_res.done, 1);
	close(p[0]);
	close(p[1]);
}

/* More ops than SQ slots: get_sqe runs dry and the reactor submits early. */
static void test_small_ring(void **state)
{
	struct reactor *r;
	struct reactor_config cfg = { .ring_entries = 4 };
	struct reactor_op ops[40];
	struct result res[40];
	int done = 0;

	assert_int_equal(reactor_create(&r, &cfg), 0);
	for (int i = 0; i < 40; i++) {
		res[i] = (struct result){ 0, -1 };
		reactor_op_init(&ops[i], result_cb, &res[i]);
		reactor_timeout(r, &ops[i], 1000000ull);
	}
	assert_int_equal(reactor_inflight(r), 40);
	for (uint64_t end = now_ms() + 5000; done < 40 && now_ms() < end;)
		done += reactor_run_once(r, 100);
	assert_int_equal(done, 40);
	for (int i = 0; i < 40; i++)
		assert_int_equal(res[i].res, 0);
	reactor_destroy(r);
}

static void test_destroy_cancels(void **state)
{
	struct reactor *r;
	struct reactor_op op, t_op;
	struct result res = { 0 }, t_res = { 0 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(reactor_create(&r, NULL), 0);
	reactor_op_init(&op, result_cb, &res);
	reactor_op_init(&t_op, result_cb, &t_res);
	reactor_poll_fd(r, &op, p[0], POLLIN);
	reactor_timeout(r, &t_op, 60ull * 1000000000ull);
	assert_int_equal(reactor_run_once(r, 0), 0);
	reactor_destroy(r);
	assert_int_equal(res.done, 1);
	assert_int_equal(res.res, -ECANCELED);
	assert_int_equal(t_res.done, 1);
	assert_int_equal(t_res.res, -ECANCELED);
	close(p[0]);
	close(p[1]);
}

static void test_current(void **state)
{
	struct reactor *r = *state;

	assert_true(reactor_run_once(r, 0) >= 0);
	assert_ptr_equal(reactor_current(), r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_and_read_pipe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test(test_small_ring),
		cmocka_unit_test(test_destroy_cancels),
		cmocka_unit_test_setup_teardown(test_current, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
