// SPDX-License-Identifier: MIT
/* test_vring.c - the driver-side split ring: free list, avail/used, events. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/vring_internal.h"

#define NUM 8

struct ring {
	struct fe_vring vr;
	void *mem;
};

static void ring_make(struct ring *r, uint16_t num, bool event_idx)
{
	struct fe_vring_layout l;

	fe_vring_layout(num, &l);
	r->mem = aligned_alloc(4096, (l.total + 4095) & ~(size_t)4095);
	assert_non_null(r->mem);
	memset(r->mem, 0, l.total);
	assert_int_equal(fe_vring_init(&r->vr, num, r->mem, event_idx), 0);
}

static void ring_free(struct ring *r)
{
	fe_vring_fini(&r->vr);
	free(r->mem);
}

/* The device side, by hand: what a back-end writes into the used ring. */
static void dev_push(struct ring *r, uint32_t id, uint32_t len)
{
	uint16_t *used = r->vr.used;
	struct fe_vring_used_elem *e = (struct fe_vring_used_elem *)(used + 2);
	uint16_t idx = used[1];

	e[idx % r->vr.num] = (struct fe_vring_used_elem){ id, len };
	used[1] = (uint16_t)(idx + 1);
}

static uint16_t *avail_event(struct ring *r)
{
	return (uint16_t *)((uint8_t *)(r->vr.used + 2) + 8 * r->vr.num);
}

static void test_layout(void **state)
{
	struct fe_vring_layout l;

	fe_vring_layout(256, &l);
	assert_int_equal(l.avail_off, 16 * 256);
	assert_true(l.used_off >= l.avail_off + 2 * (3 + 256));
	assert_int_equal(l.used_off % 4, 0);
	assert_int_equal(l.total, l.used_off + 6 + 8 * 256);
}

static void test_init_rejects_bad_sizes(void **state)
{
	struct fe_vring vr;
	uint8_t mem[64];

	assert_int_equal(fe_vring_init(&vr, 0, mem, false), -EINVAL);
	assert_int_equal(fe_vring_init(&vr, 3, mem, false), -EINVAL);
	assert_int_equal(fe_vring_init(&vr, 65535, mem, false), -EINVAL);
}

static void test_chain_alloc_links(void **state)
{
	struct ring r;
	uint16_t a[3], b[5], c[1];

	ring_make(&r, NUM, false);
	assert_int_equal(fe_vring_chain_alloc(&r.vr, 3, a), 0);
	assert_int_equal(fe_vring_chain_alloc(&r.vr, 5, b), 0);
	assert_int_equal(r.vr.num_free, 0);
	assert_int_equal(fe_vring_chain_alloc(&r.vr, 1, c), -ENOSPC);
	for (int i = 0; i < 2; i++) {
		assert_true(r.vr.desc[a[i]].flags & FE_VRING_DESC_F_NEXT);
		assert_int_equal(r.vr.desc[a[i]].next, a[i + 1]);
	}
	assert_false(r.vr.desc[a[2]].flags & FE_VRING_DESC_F_NEXT);
	fe_vring_chain_free(&r.vr, a, 3);
	assert_int_equal(r.vr.num_free, 3);
	/* freed descriptors come back, none of b's */
	assert_int_equal(fe_vring_chain_alloc(&r.vr, 3, a), 0);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 5; k++)
			assert_int_not_equal(a[i], b[k]);
	ring_free(&r);
}

static void test_add_publish_kick_flags(void **state)
{
	struct ring r;
	uint16_t id[2];
	int tok[2];

	ring_make(&r, NUM, false);
	fe_vring_chain_alloc(&r.vr, 1, &id[0]);
	fe_vring_chain_alloc(&r.vr, 1, &id[1]);
	assert_false(fe_vring_publish(&r.vr)); /* nothing added */
	assert_int_equal(fe_vring_add(&r.vr, id[0], &tok[0]), 0);
	assert_int_equal(fe_vring_add(&r.vr, id[0], &tok[0]), -EBUSY);
	assert_int_equal(r.vr.avail[1], 0); /* not published yet */
	assert_true(fe_vring_publish(&r.vr));
	assert_int_equal(r.vr.avail[1], 1);
	assert_int_equal(r.vr.avail[2], id[0]);
	/* the device says "don't kick" */
	r.vr.used[0] = FE_VRING_USED_F_NO_NOTIFY;
	fe_vring_add(&r.vr, id[1], &tok[1]);
	assert_false(fe_vring_publish(&r.vr));
	assert_int_equal(r.vr.avail[1], 2);
	ring_free(&r);
}

static void test_kick_event_idx(void **state)
{
	struct ring r;
	uint16_t id[4];
	int tok;

	ring_make(&r, NUM, true);
	for (int i = 0; i < 4; i++)
		fe_vring_chain_alloc(&r.vr, 1, &id[i]);
	/* device waits for avail entry 0: the first publish crosses it */
	*avail_event(&r) = 0;
	fe_vring_add(&r.vr, id[0], &tok);
	assert_true(fe_vring_publish(&r.vr));
	/* device has not caught up (still wants 0): no new kick for entry 1 */
	fe_vring_add(&r.vr, id[1], &tok);
	assert_false(fe_vring_publish(&r.vr));
	/* device now wants a kick once entry 2 is there; batch 2..3 crosses */
	*avail_event(&r) = 2;
	fe_vring_add(&r.vr, id[2], &tok);
	fe_vring_add(&r.vr, id[3], &tok);
	assert_true(fe_vring_publish(&r.vr));
	ring_free(&r);
}

static void test_need_event_wraps(void **state)
{
	assert_true(fe_vring_need_event(0xffff, 0, 0xffff));
	assert_true(fe_vring_need_event(0xfffe, 1, 0xfffd));
	assert_false(fe_vring_need_event(5, 5, 0));
	assert_true(fe_vring_need_event(4, 5, 0));
	assert_false(fe_vring_need_event(10, 5, 3));
}

static void test_used_in_order_and_out_of_order(void **state)
{
	struct ring r;
	uint16_t id[3];
	int tok[3];
	void *t;
	uint32_t len;

	ring_make(&r, NUM, false);
	for (int i = 0; i < 3; i++) {
		fe_vring_chain_alloc(&r.vr, 1, &id[i]);
		fe_vring_add(&r.vr, id[i], &tok[i]);
	}
	fe_vring_publish(&r.vr);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 0);
	dev_push(&r, id[2], 7);
	dev_push(&r, id[0], 9);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 1);
	assert_ptr_equal(t, &tok[2]);
	assert_int_equal(len, 7);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 1);
	assert_ptr_equal(t, &tok[0]);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 0);
	assert_int_equal(r.vr.inflight, 1);
	/* a head can be reused once it came back */
	assert_int_equal(fe_vring_add(&r.vr, id[0], &tok[0]), 0);
	ring_free(&r);
}

static void test_used_rejects_bogus_ids(void **state)
{
	struct ring r;
	uint16_t id;
	int tok;
	void *t;
	uint32_t len;

	ring_make(&r, NUM, false);
	fe_vring_chain_alloc(&r.vr, 1, &id);
	fe_vring_add(&r.vr, id, &tok);
	fe_vring_publish(&r.vr);
	dev_push(&r, NUM + 3, 0); /* out of range */
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), -EPROTO);
	assert_true(r.vr.broken);
	/* broken stays broken, even for a valid entry later */
	dev_push(&r, id, 0);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), -EPROTO);
	ring_free(&r);
}

static void test_used_rejects_duplicates_and_runaway_index(void **state)
{
	struct ring r;
	uint16_t id[2];
	int tok;
	void *t;
	uint32_t len;

	ring_make(&r, NUM, false);
	fe_vring_chain_alloc(&r.vr, 1, &id[0]);
	fe_vring_chain_alloc(&r.vr, 1, &id[1]);
	fe_vring_add(&r.vr, id[0], &tok);
	fe_vring_publish(&r.vr);
	dev_push(&r, id[0], 0);
	dev_push(&r, id[0], 0); /* twice: more used than in flight */
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), -EPROTO);
	ring_free(&r);

	ring_make(&r, NUM, false);
	fe_vring_chain_alloc(&r.vr, 1, &id[0]);
	fe_vring_chain_alloc(&r.vr, 1, &id[1]);
	fe_vring_add(&r.vr, id[0], &tok);
	fe_vring_add(&r.vr, id[1], &tok);
	fe_vring_publish(&r.vr);
	dev_push(&r, id[1], 0);
	dev_push(&r, id[1], 0); /* a head that is no longer in flight */
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 1);
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), -EPROTO);
	ring_free(&r);
}

static void test_callbacks_event_idx(void **state)
{
	struct ring r;
	uint16_t id;
	int tok;
	void *t;
	uint32_t len;
	uint16_t *used_event;

	ring_make(&r, NUM, true);
	used_event = &r.vr.avail[2 + NUM];
	fe_vring_chain_alloc(&r.vr, 1, &id);
	fe_vring_add(&r.vr, id, &tok);
	fe_vring_publish(&r.vr);
	assert_false(fe_vring_enable_cb(&r.vr));
	assert_int_equal(*used_event, 0);
	assert_int_equal(r.vr.avail[0], 0); /* flags stay 0 with EVENT_IDX */
	fe_vring_disable_cb(&r.vr);
	assert_int_equal(*used_event, 0x8000);
	assert_int_equal(r.vr.avail[0], 0);
	/* an entry that arrived before enabling is reported */
	dev_push(&r, id, 0);
	assert_true(fe_vring_enable_cb(&r.vr));
	assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 1);
	ring_free(&r);
}

static void test_callbacks_flags(void **state)
{
	struct ring r;

	ring_make(&r, NUM, false);
	fe_vring_disable_cb(&r.vr);
	assert_int_equal(r.vr.avail[0], FE_VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(fe_vring_enable_cb(&r.vr));
	assert_int_equal(r.vr.avail[0], 0);
	ring_free(&r);
}

static void test_index_wraps(void **state)
{
	struct ring r;
	uint16_t id;
	int tok;
	void *t;
	uint32_t len;

	ring_make(&r, 2, true);
	fe_vring_chain_alloc(&r.vr, 1, &id);
	/* start both sides just below the 16-bit wrap */
	r.vr.avail_idx = r.vr.kick_idx = r.vr.last_used = 0xfffe;
	r.vr.used[1] = 0xfffe;
	for (int i = 0; i < 5; i++) {
		fe_vring_add(&r.vr, id, &tok);
		fe_vring_publish(&r.vr);
		dev_push(&r, id, (uint32_t)i);
		assert_int_equal(fe_vring_get_used(&r.vr, &t, &len), 1);
		assert_int_equal(len, i);
	}
	assert_int_equal(r.vr.avail_idx, 3);
	assert_int_equal(r.vr.last_used, 3);
	ring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_chain_alloc_links),
		cmocka_unit_test(test_add_publish_kick_flags),
		cmocka_unit_test(test_kick_event_idx),
		cmocka_unit_test(test_need_event_wraps),
		cmocka_unit_test(test_used_in_order_and_out_of_order),
		cmocka_unit_test(test_used_rejects_bogus_ids),
		cmocka_unit_test(test_used_rejects_duplicates_and_runaway_index),
		cmocka_unit_test(test_callbacks_event_idx),
		cmocka_unit_test(test_callbacks_flags),
		cmocka_unit_test(test_index_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
