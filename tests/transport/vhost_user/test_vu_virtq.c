// SPDX-License-Identifier: MIT
/*
 * test_vu_virtq.c - split ring walking against a fake guest: chains,
 * indirect tables, region crossings, and every malformation we know of.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vu_test_util.h"

#define MiB (1ull << 20)
#define QSIZE 16
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define TABLE_GPA 0x20000ull
#define BUF_GPA 0x100000ull
#define ALL_FEATURES ((1ull << VU_F_RING_EVENT_IDX) | \
		      (1ull << VU_F_RING_INDIRECT_DESC))

struct fixture {
	struct fake_guest g;
	struct vu_mem_map *m;
	struct drv_ring drv;
	struct vu_virtq vq;
	struct iovec iov[64];
	struct vu_chain ch;
};

static struct fixture fx;

static void fixture_ring(uint16_t size, uint16_t base, uint64_t features)
{
	struct vu_ring_addrs a;

	drv_ring_init(&fx.drv, &fx.g, size, DESC_GPA, AVAIL_GPA, USED_GPA);
	fx.drv.avail_idx = base;
	drv_set_avail_idx(&fx.drv, base);
	a = drv_addrs(&fx.drv);
	assert_int_equal(vu_virtq_setup(&fx.vq, fx.m, size, &a, base, features),
			 0);
	fx.ch.iov = fx.iov;
	fx.ch.max = 64;
}

static int setup(void **state)
{
	fg_create(&fx.g, 4 * MiB);
	fg_add_region(&fx.g, 0, 2 * MiB, 0x7f0000000000ull, 0);
	fg_add_region(&fx.g, 2 * MiB, 2 * MiB, 0x7f1000000000ull, 2 * MiB);
	fx.m = fg_map(&fx.g);
	fixture_ring(QSIZE, 0, ALL_FEATURES);
	return 0;
}

static int teardown(void **state)
{
	vu_mem_map_destroy(fx.m);
	fg_destroy(&fx.g);
	return 0;
}

/* Pop expecting the ring to be broken with @err. */
static void pop_broken(int err)
{
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), err);
	assert_true(fx.vq.broken);
	assert_int_equal(fx.vq.error, err);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), -EIO);
}

static void test_setup_validation(void **state)
{
	struct vu_virtq vq;
	struct vu_ring_addrs a = drv_addrs(&fx.drv);
	struct vu_ring_addrs bad;

	assert_int_equal(vu_virtq_setup(&vq, fx.m, 0, &a, 0, 0), -EINVAL);
	assert_int_equal(vu_virtq_setup(&vq, fx.m, 3, &a, 0, 0), -EINVAL);
	assert_int_equal(vu_virtq_setup(&vq, fx.m, 65536, &a, 0, 0), -EINVAL);
	assert_true(vq.broken);
	bad = a;
	bad.desc += 8; /* descriptors need 16-byte alignment */
	assert_int_equal(vu_virtq_setup(&vq, fx.m, QSIZE, &bad, 0, 0), -EINVAL);
	bad = a;
	bad.used += 2;
	assert_int_equal(vu_virtq_setup(&vq, fx.m, QSIZE, &bad, 0, 0), -EINVAL);
	bad = a;
	bad.avail += 1;
	assert_int_equal(vu_virtq_setup(&vq, fx.m, QSIZE, &bad, 0, 0), -EINVAL);
	bad = a;
	bad.desc = fg_uva(&fx.g, 2 * MiB - 64); /* runs off region A */
	assert_int_equal(vu_virtq_setup(&vq, fx.m, QSIZE, &bad, 0, 0), -EFAULT);
	bad = a;
	bad.used = 0x1000; /* not a front-end address at all */
	assert_int_equal(vu_virtq_setup(&vq, fx.m, QSIZE, &bad, 0, 0), -EFAULT);
	/* the largest legal ring */
	bad.desc = fg_uva(&fx.g, 0x100000);
	bad.avail = fg_uva(&fx.g, 0x180000);
	bad.used = fg_uva(&fx.g, 0x1a0000);
	assert_int_equal(vu_virtq_setup(&vq, fx.m, 32768, &bad, 0, 0), 0);
}

static void test_simple_chain(void **state)
{
	uint32_t id, len;

	memcpy(fg_ptr(&fx.g, BUF_GPA), "request", 7);
	drv_desc(&fx.drv, 0, 3, BUF_GPA, 40, VQ_DESC_F_NEXT, 5);
	drv_desc(&fx.drv, 0, 5, BUF_GPA + 40, 8, VQ_DESC_F_NEXT, 7);
	drv_desc(&fx.drv, 0, 7, BUF_GPA + 4096, 16,
		 VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, 0, 1, BUF_GPA + 8192, 4096, VQ_DESC_F_WRITE, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 0);
	drv_publish(&fx.drv, 3);
	assert_true(vu_virtq_pending(&fx.vq));
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(fx.ch.head, 3);
	assert_int_equal(fx.ch.in_cnt, 2);
	assert_int_equal(fx.ch.out_cnt, 2);
	assert_int_equal(fx.ch.out_len, 4112);
	assert_memory_equal(fx.iov[0].iov_base, "request", 7);
	assert_int_equal(fx.iov[1].iov_len, 8);
	memcpy(fg_ptr(&fx.g, BUF_GPA + 4096), "reply", 5);
	assert_memory_equal(fx.iov[2].iov_base, "reply", 5);
	assert_int_equal(fx.iov[3].iov_len, 4096);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 0);
	assert_false(vu_virtq_pending(&fx.vq));

	/* the used element is invisible until published */
	vu_virtq_push(&fx.vq, 3, 16);
	assert_false(drv_used_get(&fx.drv, &id, &len));
	vu_virtq_publish(&fx.vq);
	assert_true(drv_used_get(&fx.drv, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, 16);
}

static void test_indirect(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, VQ_DESC_F_NEXT, 2);
	drv_desc(&fx.drv, TABLE_GPA, 2, BUF_GPA + 64, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, TABLE_GPA, 1, BUF_GPA + 4096, 100, VQ_DESC_F_WRITE, 0);
	/* WRITE on the table's own descriptor is ignored */
	drv_desc(&fx.drv, 0, 0, TABLE_GPA, 3 * 16,
		 VQ_DESC_F_INDIRECT | VQ_DESC_F_WRITE, 0);
	drv_publish(&fx.drv, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(fx.ch.in_cnt, 2);
	assert_int_equal(fx.ch.out_cnt, 1);
	assert_int_equal(fx.ch.out_len, 100);

	/* a direct descriptor may precede the table */
	drv_desc(&fx.drv, 0, 4, BUF_GPA + 512, 12, VQ_DESC_F_NEXT, 5);
	drv_desc(&fx.drv, 0, 5, TABLE_GPA, 3 * 16, VQ_DESC_F_INDIRECT, 0);
	drv_publish(&fx.drv, 4);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(fx.ch.in_cnt, 3);
	assert_int_equal(fx.ch.out_cnt, 1);
}

/* A table that straddles two regions is read entry by entry. */
static void test_indirect_crossing_regions(void **state)
{
	uint64_t t = 2 * MiB - 24; /* 1.5 entries before the boundary */

	drv_desc(&fx.drv, t, 0, BUF_GPA, 40, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, t, 1, BUF_GPA + 64, 8, VQ_DESC_F_NEXT, 2);
	drv_desc(&fx.drv, t, 2, BUF_GPA + 4096, 100, VQ_DESC_F_WRITE, 0);
	drv_desc(&fx.drv, 0, 0, t, 3 * 16, VQ_DESC_F_INDIRECT, 0);
	drv_publish(&fx.drv, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(fx.ch.in_cnt, 2);
	assert_int_equal(fx.ch.out_cnt, 1);
}

static void indirect_bad(uint64_t addr, uint32_t len, uint16_t flags, int err)
{
	drv_desc(&fx.drv, 0, 0, addr, len, flags, 1);
	drv_publish(&fx.drv, 0);
	pop_broken(err);
}

static void test_indirect_not_negotiated(void **state)
{
	fixture_ring(QSIZE, 0, 1ull << VU_F_RING_EVENT_IDX);
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, 0, 0);
	indirect_bad(TABLE_GPA, 16, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_bad_len(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, 0, 0);
	indirect_bad(TABLE_GPA, 24, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_zero_len(void **state)
{
	indirect_bad(TABLE_GPA, 0, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_with_next(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, 0, 0);
	indirect_bad(TABLE_GPA, 16, VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT,
		     -EINVAL);
}

static void test_indirect_nested(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, TABLE_GPA + 256, 16,
		 VQ_DESC_F_INDIRECT, 0);
	drv_desc(&fx.drv, TABLE_GPA + 256, 0, BUF_GPA, 40, 0, 0);
	indirect_bad(TABLE_GPA, 16, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_unmapped(void **state)
{
	indirect_bad(64 * MiB, 32, VQ_DESC_F_INDIRECT, -EFAULT);
}

static void test_indirect_huge(void **state)
{
	/* more entries than any queue may have */
	indirect_bad(0, (VQ_SIZE_MAX + 1) * 16, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_loop(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, TABLE_GPA, 1, BUF_GPA, 40, VQ_DESC_F_NEXT, 0);
	indirect_bad(TABLE_GPA, 2 * 16, VQ_DESC_F_INDIRECT, -ELOOP);
}

static void test_indirect_next_out_of_table(void **state)
{
	drv_desc(&fx.drv, TABLE_GPA, 0, BUF_GPA, 40, VQ_DESC_F_NEXT, 2);
	indirect_bad(TABLE_GPA, 2 * 16, VQ_DESC_F_INDIRECT, -EINVAL);
}

static void test_chain_crossing_regions(void **state)
{
	memcpy(fg_ptr(&fx.g, 2 * MiB), "second", 6);
	drv_desc(&fx.drv, 0, 0, 2 * MiB - 100, 200, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, 0, 1, 2 * MiB - 10, 20, VQ_DESC_F_WRITE, 0);
	drv_publish(&fx.drv, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(fx.ch.in_cnt, 2);
	assert_int_equal(fx.ch.out_cnt, 2);
	assert_int_equal(fx.iov[0].iov_len, 100);
	assert_int_equal(fx.iov[1].iov_len, 100);
	assert_memory_equal(fx.iov[1].iov_base, "second", 6);
	assert_int_equal(fx.iov[2].iov_len, 10);
	assert_int_equal(fx.iov[3].iov_len, 10);
	assert_int_equal(fx.ch.out_len, 20);
}

static void test_loop(void **state)
{
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, 0, 1, BUF_GPA, 8, VQ_DESC_F_NEXT, 2);
	drv_desc(&fx.drv, 0, 2, BUF_GPA, 8, VQ_DESC_F_NEXT, 0);
	drv_publish(&fx.drv, 0);
	pop_broken(-ELOOP);
}

static void test_self_loop(void **state)
{
	drv_desc(&fx.drv, 0, 9, BUF_GPA, 8, VQ_DESC_F_NEXT, 9);
	drv_publish(&fx.drv, 9);
	pop_broken(-ELOOP);
}

static void test_out_of_range_addr(void **state)
{
	drv_desc(&fx.drv, 0, 0, 4 * MiB - 4, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	pop_broken(-EFAULT);
}

static void test_wrapping_addr(void **state)
{
	drv_desc(&fx.drv, 0, 0, UINT64_MAX - 3, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	pop_broken(-EFAULT);
}

static void test_bad_head(void **state)
{
	drv_publish(&fx.drv, QSIZE);
	pop_broken(-EINVAL);
}

static void test_bad_next(void **state)
{
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, VQ_DESC_F_NEXT, QSIZE);
	drv_publish(&fx.drv, 0);
	pop_broken(-EINVAL);
}

static void test_readable_after_writable(void **state)
{
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, 0, 1, BUF_GPA, 8, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 2);
	drv_desc(&fx.drv, 0, 2, BUF_GPA, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	pop_broken(-EINVAL);
}

static void test_zero_len(void **state)
{
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&fx.drv, 0, 1, BUF_GPA, 0, VQ_DESC_F_WRITE, 0);
	drv_publish(&fx.drv, 0);
	pop_broken(-EINVAL);
}

static void test_too_many_iovecs(void **state)
{
	for (uint16_t i = 0; i < 8; i++)
		drv_desc(&fx.drv, 0, i, BUF_GPA + i * 64u, 8,
			 i < 7 ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv_publish(&fx.drv, 0);
	fx.ch.max = 7;
	pop_broken(-E2BIG);
}

static void test_avail_idx_full_ring(void **state)
{
	for (uint16_t i = 0; i < QSIZE; i++) {
		drv_desc(&fx.drv, 0, i, BUF_GPA, 8, 0, 0);
		drv_publish(&fx.drv, i);
	}
	for (int i = 0; i < QSIZE; i++)
		assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 0);
}

static void test_avail_idx_jump(void **state)
{
	drv_set_avail_idx(&fx.drv, QSIZE + 1);
	pop_broken(-EPROTO);
}

static void test_avail_idx_backwards(void **state)
{
	drv_set_avail_idx(&fx.drv, (uint16_t)-1);
	pop_broken(-EPROTO);
}

static void test_avail_idx_wraps(void **state)
{
	fixture_ring(QSIZE, 65534, ALL_FEATURES);
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, 0, 0);
	for (int i = 0; i < 4; i++)
		drv_publish(&fx.drv, 0);
	assert_int_equal(fx.drv.avail_idx, 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 0);
	assert_int_equal(fx.vq.last_avail, 2);
}

static void test_need_event_math(void **state)
{
	/* [old, new) must contain event */
	assert_true(vu_virtq_need_event(0, 1, 0));
	assert_false(vu_virtq_need_event(1, 1, 0));
	assert_true(vu_virtq_need_event(4, 6, 2));
	assert_true(vu_virtq_need_event(2, 6, 2));
	assert_false(vu_virtq_need_event(6, 6, 2));
	assert_false(vu_virtq_need_event(1, 6, 2));
	/* across the 16-bit wrap */
	assert_true(vu_virtq_need_event(65535, 2, 65534));
	assert_true(vu_virtq_need_event(0, 2, 65534));
	assert_false(vu_virtq_need_event(2, 2, 65534));
	assert_false(vu_virtq_need_event(5, 5, 5));
}

static void push_publish(uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		vu_virtq_push(&fx.vq, 0, 0);
	vu_virtq_publish(&fx.vq);
}

static void test_event_idx_notify(void **state)
{
	/* the first decision always notifies */
	drv_set_used_event(&fx.drv, 100);
	push_publish(1);
	assert_true(vu_virtq_should_notify(&fx.vq));
	/* the driver wants an interrupt once used reaches 5 (event 4) */
	drv_set_used_event(&fx.drv, 4);
	push_publish(2); /* used 3 */
	assert_false(vu_virtq_should_notify(&fx.vq));
	push_publish(1); /* used 4: still not past the event */
	assert_false(vu_virtq_should_notify(&fx.vq));
	push_publish(2); /* used 6: crossed 4 */
	assert_true(vu_virtq_should_notify(&fx.vq));
	push_publish(1);
	assert_false(vu_virtq_should_notify(&fx.vq));
}

static void test_flags_notify(void **state)
{
	fixture_ring(QSIZE, 0, 0);
	push_publish(1);
	assert_true(vu_virtq_should_notify(&fx.vq));
	drv_set_avail_flags(&fx.drv, VQ_AVAIL_F_NO_INTERRUPT);
	push_publish(1);
	assert_false(vu_virtq_should_notify(&fx.vq));
}

static void test_kick_suppression_event_idx(void **state)
{
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	drv_publish(&fx.drv, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	/* entries left: not safe to sleep, even after asking for kicks */
	assert_false(vu_virtq_notify_enable(&fx.vq));
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_true(vu_virtq_notify_enable(&fx.vq));
	assert_int_equal(drv_avail_event(&fx.drv), 2);
	/* disabling leaves avail_event behind */
	vu_virtq_notify_disable(&fx.vq);
	assert_int_equal(drv_avail_event(&fx.drv), 2);
}

static void test_kick_suppression_flags(void **state)
{
	fixture_ring(QSIZE, 0, 0);
	vu_virtq_notify_disable(&fx.vq);
	assert_int_equal(drv_used_flags(&fx.drv), VQ_USED_F_NO_NOTIFY);
	assert_true(vu_virtq_notify_enable(&fx.vq));
	assert_int_equal(drv_used_flags(&fx.drv), 0);
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	vu_virtq_notify_disable(&fx.vq);
	assert_false(vu_virtq_notify_enable(&fx.vq));
}

static void test_broken_writes_nothing(void **state)
{
	drv_publish(&fx.drv, QSIZE);
	pop_broken(-EINVAL);
	push_publish(3);
	assert_int_equal(drv_used_idx(&fx.drv), 0);
	assert_false(vu_virtq_should_notify(&fx.vq));
}

static void test_remap(void **state)
{
	struct vu_mem_map *empty = vu_mem_map_empty();
	struct vu_mem_map *again = fg_map(&fx.g);

	assert_int_equal(vu_virtq_remap(&fx.vq, again), 0);
	assert_false(fx.vq.broken);
	drv_desc(&fx.drv, 0, 0, BUF_GPA, 8, 0, 0);
	drv_publish(&fx.drv, 0);
	assert_int_equal(vu_virtq_pop(&fx.vq, &fx.ch), 1);
	assert_ptr_equal(fx.vq.mem, again);
	/* the rings vanish with the region: broken, no more writes */
	assert_int_equal(vu_virtq_remap(&fx.vq, empty), -EFAULT);
	assert_true(fx.vq.broken);
	push_publish(1);
	assert_int_equal(drv_used_idx(&fx.drv), 0);
	vu_mem_map_free(empty);
	vu_mem_map_destroy(again);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_setup_validation),
		T(test_simple_chain),
		T(test_indirect),
		T(test_indirect_crossing_regions),
		T(test_indirect_not_negotiated),
		T(test_indirect_bad_len),
		T(test_indirect_zero_len),
		T(test_indirect_with_next),
		T(test_indirect_nested),
		T(test_indirect_unmapped),
		T(test_indirect_huge),
		T(test_indirect_loop),
		T(test_indirect_next_out_of_table),
		T(test_chain_crossing_regions),
		T(test_loop),
		T(test_self_loop),
		T(test_out_of_range_addr),
		T(test_wrapping_addr),
		T(test_bad_head),
		T(test_bad_next),
		T(test_readable_after_writable),
		T(test_zero_len),
		T(test_too_many_iovecs),
		T(test_avail_idx_full_ring),
		T(test_avail_idx_jump),
		T(test_avail_idx_backwards),
		T(test_avail_idx_wraps),
		T(test_need_event_math),
		T(test_event_idx_notify),
		T(test_flags_notify),
		T(test_kick_suppression_event_idx),
		T(test_kick_suppression_flags),
		T(test_broken_writes_nothing),
		T(test_remap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
