// SPDX-License-Identifier: MIT
/* test_iov.c - the iovec cursor: straddling, empty entries, bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vhostfs/iov.h"

/* Source bytes 0..N spread over entries of 3, 0, 5, 0, 0, 4 bytes. */
static uint8_t buf_a[3], buf_b[5], buf_c[4];

static unsigned int make_iov(struct iovec *iov)
{
	uint8_t v = 0;

	for (size_t i = 0; i < sizeof(buf_a); i++)
		buf_a[i] = v++;
	for (size_t i = 0; i < sizeof(buf_b); i++)
		buf_b[i] = v++;
	for (size_t i = 0; i < sizeof(buf_c); i++)
		buf_c[i] = v++;
	iov[0] = (struct iovec){ buf_a, sizeof(buf_a) };
	iov[1] = (struct iovec){ NULL, 0 };
	iov[2] = (struct iovec){ buf_b, sizeof(buf_b) };
	iov[3] = (struct iovec){ buf_a, 0 };
	iov[4] = (struct iovec){ NULL, 0 };
	iov[5] = (struct iovec){ buf_c, sizeof(buf_c) };
	return 6;
}

static void test_length(void **state)
{
	struct iovec iov[6];
	struct iovec big[2] = { { NULL, SIZE_MAX - 1 }, { NULL, 5 } };
	unsigned int cnt = make_iov(iov);

	assert_int_equal(iov_length(iov, cnt), 12);
	assert_int_equal(iov_length(iov, 0), 0);
	assert_true(iov_length(big, 2) == SIZE_MAX);
}

static void test_read_straddles(void **state)
{
	struct iovec iov[6];
	struct iov_cursor c;
	uint8_t out[12];

	iov_cursor_init(&c, iov, make_iov(iov));
	assert_int_equal(iov_cursor_remaining(&c), 12);
	assert_int_equal(iov_cursor_read(&c, out, 2), 0);
	/* bytes 2..9 straddle the first three non-empty entries and 3 empties */
	assert_int_equal(iov_cursor_read(&c, out + 2, 8), 0);
	assert_int_equal(iov_cursor_read(&c, out + 10, 2), 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(out[i], i);
	assert_int_equal(iov_cursor_remaining(&c), 0);
	assert_int_equal(c.cnt, 0);
	assert_int_equal(iov_cursor_read(&c, out, 0), 0);
	assert_int_equal(iov_cursor_read(&c, out, 1), -EINVAL);
}

static void test_read_short_consumes_nothing(void **state)
{
	struct iovec iov[6];
	struct iov_cursor c, before;
	uint8_t out[16];

	iov_cursor_init(&c, iov, make_iov(iov));
	assert_int_equal(iov_cursor_skip(&c, 4), 0);
	before = c;
	assert_int_equal(iov_cursor_read(&c, out, 9), -EINVAL);
	assert_int_equal(iov_cursor_skip(&c, 9), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(iov_cursor_read(&c, out, 8), 0);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[7], 11);
}

static void test_write_and_zero(void **state)
{
	struct iovec iov[6];
	struct iov_cursor c, before;
	const uint8_t src[5] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5 };

	iov_cursor_init(&c, iov, make_iov(iov));
	assert_int_equal(iov_cursor_skip(&c, 1), 0);
	assert_int_equal(iov_cursor_write(&c, src, 5), 0);
	assert_int_equal(buf_a[0], 0);
	assert_int_equal(buf_a[1], 0xa1);
	assert_int_equal(buf_a[2], 0xa2);
	assert_int_equal(buf_b[0], 0xa3);
	assert_int_equal(buf_b[2], 0xa5);
	assert_int_equal(buf_b[3], 6);
	assert_int_equal(iov_cursor_zero(&c, 4), 0);
	assert_int_equal(buf_b[3], 0);
	assert_int_equal(buf_b[4], 0);
	assert_int_equal(buf_c[0], 0);
	assert_int_equal(buf_c[1], 0);
	assert_int_equal(buf_c[2], 10);
	before = c;
	assert_int_equal(iov_cursor_write(&c, src, 3), -ENOSPC);
	assert_int_equal(iov_cursor_zero(&c, 3), -ENOSPC);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(buf_c[2], 10);
	assert_int_equal(iov_cursor_write(&c, src, 2), 0);
	assert_int_equal(buf_c[3], 0xa2);
	assert_int_equal(iov_cursor_remaining(&c), 0);
}

static void test_slice(void **state)
{
	struct iovec iov[6], out[4];
	struct iov_cursor c, before;
	unsigned int n = 99;

	iov_cursor_init(&c, iov, make_iov(iov));
	assert_int_equal(iov_cursor_skip(&c, 2), 0);
	before = c;
	/* bytes 2..10 need 3 entries: nothing consumed when max is 2 */
	assert_int_equal(iov_cursor_slice(&c, 9, out, 2, &n), -E2BIG);
	assert_int_equal(n, 99);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(iov_cursor_slice(&c, 11, out, 4, &n), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(iov_cursor_slice(&c, 9, out, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(out[0].iov_base, buf_a + 2);
	assert_int_equal(out[0].iov_len, 1);
	assert_ptr_equal(out[1].iov_base, buf_b);
	assert_int_equal(out[1].iov_len, 5);
	assert_ptr_equal(out[2].iov_base, buf_c);
	assert_int_equal(out[2].iov_len, 3);
	assert_int_equal(iov_cursor_remaining(&c), 1);
	assert_int_equal(iov_cursor_slice(&c, 0, out, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(iov_cursor_slice(&c, 1, out, 1, &n), 0);
	assert_ptr_equal(out[0].iov_base, buf_c + 3);
	assert_int_equal(iov_cursor_remaining(&c), 0);
}

static void test_contiguous(void **state)
{
	struct iovec iov[6];
	struct iov_cursor c, before;

	iov_cursor_init(&c, iov, make_iov(iov));
	assert_ptr_equal(iov_cursor_contiguous(&c, 2), buf_a);
	before = c;
	/* one byte left in buf_a: two bytes straddle into buf_b */
	assert_null(iov_cursor_contiguous(&c, 2));
	assert_memory_equal(&c, &before, sizeof(c));
	assert_ptr_equal(iov_cursor_contiguous(&c, 1), buf_a + 2);
	/* empty entry [1] skipped: the next byte is buf_b[0] */
	assert_ptr_equal(iov_cursor_contiguous(&c, 5), buf_b);
	assert_ptr_equal(iov_cursor_contiguous(&c, 4), buf_c);
	assert_null(iov_cursor_contiguous(&c, 1));
	assert_null(iov_cursor_contiguous(&c, 0));
}

static void test_empty_and_all_zero(void **state)
{
	struct iovec zeros[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	struct iov_cursor c;
	struct iovec out[1];
	unsigned int n;
	uint8_t b;

	iov_cursor_init(&c, NULL, 0);
	assert_int_equal(iov_cursor_remaining(&c), 0);
	assert_int_equal(iov_cursor_read(&c, &b, 1), -EINVAL);
	iov_cursor_init(&c, zeros, 3);
	assert_int_equal(iov_cursor_remaining(&c), 0);
	assert_int_equal(c.cnt, 0);
	assert_int_equal(iov_cursor_write(&c, &b, 1), -ENOSPC);
	assert_int_equal(iov_cursor_slice(&c, 1, out, 1, &n), -EINVAL);
	assert_int_equal(iov_cursor_slice(&c, 0, out, 1, &n), 0);
	assert_int_equal(n, 0);
}

/* A saturated length must never let the cursor walk past the array. */
static void test_saturated_length(void **state)
{
	static uint8_t one[8];
	struct iovec iov[2] = { { one, sizeof(one) }, { NULL, SIZE_MAX } };
	struct iov_cursor c;
	uint8_t out[8];

	iov_cursor_init(&c, iov, 2);
	assert_true(iov_cursor_remaining(&c) == SIZE_MAX);
	assert_int_equal(iov_cursor_read(&c, out, sizeof(out)), 0);
	assert_true(iov_cursor_remaining(&c) == SIZE_MAX - 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_read_straddles),
		cmocka_unit_test(test_read_short_consumes_nothing),
		cmocka_unit_test(test_write_and_zero),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_contiguous),
		cmocka_unit_test(test_empty_and_all_zero),
		cmocka_unit_test(test_saturated_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
