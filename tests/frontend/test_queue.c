// SPDX-License-Identifier: MIT
/*
 * test_queue.c - request slots on a real ring in shared memory, served by a
 * minimal device written here from the spec: it walks each chain (direct
 * or indirect) by guest-physical address, checks that fuse_in_header.len
 * matches the readable bytes, writes a reply and signals per EVENT_IDX.
 * Every layout x indirect x event-idx combination round-trips; timeouts,
 * hang-ups, error fds and malformed replies fail the way they should.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/queue_internal.h"
#include "vhostfs/iov.h"

#define GPA_BASE 0x40000000ull
#define QNUM 64
#define SLOTS 4
#define MAXSEG 80

struct fake {
	struct fe_mem mem;
	struct fe_queue q;
	int sp[2];              /* hang-up detection */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled;     /* used idx at the last call */
	int32_t force_error;    /* reply with this error */
	uint64_t unique_xor;    /* corrupt the unique */
	int replies;
};

static void *gpa_ptr(struct fake *f, uint64_t gpa, uint32_t len)
{
	assert_true(gpa >= f->mem.gpa_base);
	assert_true(gpa - f->mem.gpa_base + len <= f->mem.size);
	return f->mem.base + (gpa - f->mem.gpa_base);
}

/* Collect a chain into readable and writable iovecs. */
static void dev_chain(struct fake *f, uint16_t head, struct iovec *rd,
		      unsigned int *nrd, struct iovec *wr, unsigned int *nwr)
{
	struct fe_vring_desc *t = f->q.vr.desc;
	uint16_t i = head;
	uint32_t tnum = QNUM;

	*nrd = *nwr = 0;
	if (t[head].flags & FE_VRING_DESC_F_INDIRECT) {
		tnum = t[head].len / 16;
		t = gpa_ptr(f, t[head].addr, t[head].len);
		i = 0;
	}
	for (;;) {
		struct fe_vring_desc *d = &t[i];
		struct iovec v = { gpa_ptr(f, d->addr, d->len), d->len };

		assert_true(i < tnum);
		assert_int_not_equal(d->len, 0);
		if (d->flags & FE_VRING_DESC_F_WRITE)
			wr[(*nwr)++] = v;
		else {
			assert_int_equal(*nwr, 0); /* no readable after writable */
			rd[(*nrd)++] = v;
		}
		if (!(d->flags & FE_VRING_DESC_F_NEXT))
			return;
		i = d->next;
	}
}

/* Answer one request: the payload echoes the nodeid into every 8 bytes. */
static uint32_t dev_answer(struct fake *f, struct iovec *rd, unsigned int nrd,
			   struct iovec *wr, unsigned int nwr)
{
	struct fuse_in_header h;
	struct fuse_out_header oh;
	struct iov_cursor in, out;
	uint32_t payload;

	iov_cursor_init(&in, rd, nrd);
	assert_int_equal(iov_cursor_read(&in, &h, sizeof(h)), 0);
	assert_int_equal(h.len, iov_length(rd, nrd));
	if (h.opcode == FUSE_FORGET)
		return 0;
	iov_cursor_init(&out, wr, nwr);
	payload = (uint32_t)iov_length(wr, nwr) - 16;
	if (h.opcode == FUSE_WRITE)
		payload = sizeof(struct fuse_write_out);
	if (f->force_error)
		payload = 0;
	oh = (struct fuse_out_header){ .len = 16 + payload,
				       .error = f->force_error,
				       .unique = h.unique ^ f->unique_xor };
	assert_int_equal(iov_cursor_write(&out, &oh, sizeof(oh)), 0);
	for (uint32_t i = 0; i + 8 <= payload; i += 8)
		assert_int_equal(iov_cursor_write(&out, &h.nodeid, 8), 0);
	assert_int_equal(iov_cursor_zero(&out, payload % 8), 0);
	return 16 + payload;
}

static uint16_t *dev_used_event(struct fake *f)
{
	return &f->q.vr.avail[2 + QNUM];
}

/* Serve everything available; signal like a device would. */
static void dev_serve(struct fake *f)
{
	uint16_t avail = __atomic_load_n(&f->q.vr.avail[1], __ATOMIC_ACQUIRE);
	struct fe_vring_used_elem *ring =
		(struct fe_vring_used_elem *)(f->q.vr.used + 2);
	bool signal;

	while (f->last_avail != avail) {
		struct iovec rd[MAXSEG], wr[MAXSEG];
		unsigned int nrd, nwr;
		uint16_t head = f->q.vr.avail[2 + f->last_avail % QNUM];

		dev_chain(f, head, rd, &nrd, wr, &nwr);
		ring[f->used_idx % QNUM] = (struct fe_vring_used_elem){
			head, dev_answer(f, rd, nrd, wr, nwr) };
		f->last_avail++;
		f->used_idx++;
		f->replies++;
	}
	__atomic_store_n(&f->q.vr.used[1], f->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (f->q.cfg.event_idx)
		signal = fe_vring_need_event(*dev_used_event(f), f->used_idx,
					     f->signalled);
	else
		signal = !(f->q.vr.avail[0] & FE_VRING_AVAIL_F_NO_INTERRUPT);
	f->signalled = f->used_idx;
	if (signal) {
		uint64_t one = 1;

		assert_int_equal(write(f->q.callfd, &one, 8), 8);
	}
}

static struct fake *fake_new(bool indirect, bool event_idx,
			     enum fe_layout layout, uint32_t data_off)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct fe_queue_config cfg = {
		.index = 1, .num = QNUM, .nreqs = SLOTS, .data_pages = 4,
		.data_off = data_off, .indirect = indirect,
		.event_idx = event_idx, .layout = layout, .timeout_ms = 200,
	};

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sp), 0);
	cfg.hangup_fd = f->sp[0];
	assert_int_equal(fe_mem_create(&f->mem, fe_queue_mem_need(&cfg),
				       GPA_BASE), 0);
	assert_int_equal(fe_queue_create(&f->q, &f->mem, &cfg), 0);
	return f;
}

static void fake_free(struct fake *f)
{
	fe_queue_destroy(&f->q);
	fe_mem_destroy(&f->mem);
	close(f->sp[0]);
	if (f->sp[1] >= 0)
		close(f->sp[1]);
	free(f);
}

static int done_count;
static int done_last;

static void count_done(struct fe_req *r, int err)
{
	done_count++;
	done_last = err;
}

/* Submit one of each shape, serve, wait for the call, reap, check. */
static void round_trip(struct fake *f)
{
	struct fe_req *r[SLOTS];
	uint64_t word;

	for (int i = 0; i < SLOTS; i++) {
		r[i] = fe_queue_get(&f->q);
		assert_non_null(r[i]);
		r[i]->done = count_done;
	}
	assert_null(fe_queue_get(&f->q));
	fe_fuse_getattr(r[0], 0x1111, 0, false);
	assert_int_equal(fe_fuse_read(r[1], 0x2222, 1, 0, 9000), 0);
	assert_int_equal(fe_fuse_write(r[2], 0x3333, 1, 0, 5000), 0);
	assert_int_equal(fe_fuse_create(r[3], 1, "name", 2, 0100644), 0);
	for (int i = 0; i < SLOTS; i++)
		assert_int_equal(fe_queue_submit(&f->q, r[i]), 0);
	fe_queue_kick(&f->q);
	done_count = 0;
	dev_serve(f);
	assert_int_equal(fe_queue_wait(&f->q, 1000), 0);
	assert_int_equal(fe_queue_reap(&f->q), SLOTS);
	assert_int_equal(done_count, SLOTS);
	assert_int_equal(f->q.busy, 0);
	for (int i = 0; i < SLOTS; i++)
		assert_int_equal(r[i]->result, 0);
	assert_int_equal(((const struct fuse_attr_out *)fe_fuse_reply(r[0]))->attr_valid,
			 0x1111);
	assert_int_equal(r[1]->reply_len, 9000);
	memcpy(&word, r[1]->data + r[1]->data_off + 8000, 8);
	assert_int_equal(word, 0x2222);
	assert_int_equal(r[2]->reply_len, sizeof(struct fuse_write_out));
	for (int i = 0; i < SLOTS; i++)
		fe_queue_put(&f->q, r[i]);
}

static void test_matrix(void **state)
{
	enum fe_layout layouts[] = { FE_LAYOUT_LINUX, FE_LAYOUT_JOINED,
				     FE_LAYOUT_SCATTER };

	for (int l = 0; l < 3; l++)
		for (int ind = 0; ind < 2; ind++)
			for (int ev = 0; ev < 2; ev++) {
				struct fake *f = fake_new(ind, ev, layouts[l],
							  ind ? 0 : 1000);

				/* twice: the second pass reuses built chains */
				round_trip(f);
				round_trip(f);
				assert_int_equal(f->replies, 2 * SLOTS);
				fake_free(f);
			}
}

static void test_many_wraps(void **state)
{
	struct fake *f = fake_new(true, true, FE_LAYOUT_LINUX, 0);

	/* 70000 requests, a few in flight at a time: both indices wrap */
	for (int i = 0; i < 70000; i += 3) {
		struct fe_req *r[3];

		for (int k = 0; k < 3; k++) {
			r[k] = fe_queue_get(&f->q);
			r[k]->done = NULL;
			fe_fuse_getattr(r[k], (uint64_t)(i + k), 0, false);
			assert_int_equal(fe_queue_submit(&f->q, r[k]), 0);
		}
		fe_queue_kick(&f->q);
		dev_serve(f);
		assert_int_equal(fe_queue_reap(&f->q), 3);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(r[k]->result, 0);
			fe_queue_put(&f->q, r[k]);
		}
	}
	assert_true(f->q.vr.last_used < 70000 - 65536 + 3);
	fake_free(f);
}

static void test_sync_call_served(void **state)
{
	struct fake *f = fake_new(false, true, FE_LAYOUT_LINUX, 0);
	struct fe_req *r = fe_queue_get(&f->q);

	/* a device that already answered before the wait */
	fe_fuse_getattr(r, 7, 0, false);
	assert_int_equal(fe_queue_submit(&f->q, r), 0);
	fe_queue_kick(&f->q);
	dev_serve(f);
	assert_int_equal(fe_queue_reap(&f->q), 1);
	assert_true(r->completed);
	assert_int_equal(r->result, 0);
	fe_queue_put(&f->q, r);
	fake_free(f);
}

static void test_error_and_bad_unique(void **state)
{
	struct fake *f = fake_new(true, false, FE_LAYOUT_LINUX, 0);
	struct fe_req *r = fe_queue_get(&f->q);

	r->done = count_done;
	f->force_error = -ENOENT;
	fe_fuse_getattr(r, 7, 0, false);
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	dev_serve(f);
	assert_int_equal(fe_queue_reap(&f->q), 1);
	assert_int_equal(done_last, -ENOENT);
	f->force_error = 0;
	f->unique_xor = 2;
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	dev_serve(f);
	assert_int_equal(fe_queue_reap(&f->q), 1);
	assert_int_equal(done_last, -EPROTO);
	fake_free(f);
}

static void test_bogus_used_id(void **state)
{
	struct fake *f = fake_new(false, false, FE_LAYOUT_LINUX, 0);
	struct fe_req *r = fe_queue_get(&f->q);
	struct fe_vring_used_elem *ring =
		(struct fe_vring_used_elem *)(f->q.vr.used + 2);

	fe_fuse_getattr(r, 7, 0, false);
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	ring[0] = (struct fe_vring_used_elem){ (uint32_t)(r->head + 1), 16 };
	f->q.vr.used[1] = 1;
	assert_int_equal(fe_queue_reap(&f->q), -EPROTO);
	fake_free(f);
}

static void test_wait_timeout_hangup_errfd(void **state)
{
	struct fake *f = fake_new(false, true, FE_LAYOUT_LINUX, 0);
	struct fe_req *r = fe_queue_get(&f->q);
	struct fe_req *r2 = fe_queue_get(&f->q);
	uint64_t one = 1;

	fe_fuse_getattr(r, 7, 0, false);
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	assert_int_equal(fe_queue_wait(&f->q, 30), -ETIMEDOUT);
	fe_fuse_getattr(r2, 8, 0, false);
	assert_int_equal(fe_queue_call(&f->q, r2), -ETIMEDOUT);
	assert_int_equal(write(f->q.errfd, &one, 8), 8);
	assert_int_equal(fe_queue_wait(&f->q, 1000), -EIO);
	close(f->sp[1]);
	f->sp[1] = -1;
	assert_int_equal(fe_queue_wait(&f->q, 1000), -ECONNRESET);
	/* a slot the device still owns is not handed out again */
	fe_queue_put(&f->q, r);
	assert_true(r->inflight);
	fake_free(f);
}

static void test_kick_suppressed_by_device(void **state)
{
	struct fake *f = fake_new(false, true, FE_LAYOUT_LINUX, 0);
	uint16_t *avail_event = (uint16_t *)(f->q.vr.used + 2 + 4 * QNUM);
	struct fe_req *r = fe_queue_get(&f->q);
	uint64_t v = 0;

	*avail_event = 5; /* device wants a kick only at entry 5 */
	fe_fuse_getattr(r, 7, 0, false);
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	assert_int_equal(f->q.kicks, 0);
	assert_int_equal(read(f->q.kickfd, &v, 8), -1);
	dev_serve(f);
	fe_queue_reap(&f->q);
	*avail_event = 1;
	fe_queue_submit(&f->q, r);
	fe_queue_kick(&f->q);
	assert_int_equal(f->q.kicks, 1);
	assert_int_equal(read(f->q.kickfd, &v, 8), 8);
	fake_free(f);
}

static void test_ring_too_small(void **state)
{
	struct fe_mem mem;
	struct fe_queue q;
	struct fe_queue_config cfg = { .index = 1, .num = 16, .nreqs = 4,
				       .data_pages = 4, .timeout_ms = 10,
				       .hangup_fd = -1 };

	/* 4 direct chains of 12 descriptors do not fit 16 entries */
	assert_int_equal(fe_mem_create(&mem, fe_queue_mem_need(&cfg), GPA_BASE), 0);
	assert_int_equal(fe_queue_create(&q, &mem, &cfg), -ENOSPC);
	fe_queue_destroy(&q);
	fe_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_many_wraps),
		cmocka_unit_test(test_sync_call_served),
		cmocka_unit_test(test_error_and_bad_unique),
		cmocka_unit_test(test_bogus_used_id),
		cmocka_unit_test(test_wait_timeout_hangup_errfd),
		cmocka_unit_test(test_kick_suppressed_by_device),
		cmocka_unit_test(test_ring_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
