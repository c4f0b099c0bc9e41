// SPDX-License-Identifier: MIT
/*
 * test_wq.c - writes in flight together on one file: overwrites of whole
 * written blocks share the inode, everything else (partial blocks,
 * allocation, truncate) takes it alone, in the order they arrived.  The
 * calls are all started before any completes; the file must end as a
 * model that applies them in submission order says.  Also: requests of
 * one iovec per page (as a guest driver sends them), up to 1 MiB, aligned
 * and not, read and written whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define BLK 4096u
#define NBLK 64u
#define MAXOPS 64

struct pending {
	struct fs_call call;
	struct iovec iov;
	size_t n;
	struct stat st;
	struct fs_setattr set;
	int done;
	int err;
};

struct wq_test {
	struct bt t;
	struct fs_file *f;
	struct fs_inode *in;
	uint8_t *model;
	uint64_t size;
	struct pending ops[MAXOPS];
	int nops;
};

static void pending_cb(void *arg, int err)
{
	struct pending *p = arg;

	p->done++;
	p->err = err;
}

static struct pending *pending_new(struct wq_test *w)
{
	struct pending *p;

	assert_true(w->nops < MAXOPS);
	p = &w->ops[w->nops++];
	memset(p, 0, sizeof(*p));
	p->call.cred = w->t.cred;
	p->call.reactor = bst_reactor();
	p->call.cb = pending_cb;
	p->call.cb_arg = p;
	return p;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

/* Start a write of @len bytes at @off (data from the model, updated). */
static void start_write(struct wq_test *w, uint64_t off, size_t len,
			uint8_t seed)
{
	struct pending *p = pending_new(w);
	uint8_t *buf = bst_alloc(len);

	fill(buf, len, seed);
	memcpy(w->model + off, buf, len);
	if (off + len > w->size)
		w->size = off + len;
	p->iov = (struct iovec){ buf, len };
	w->t.fs->ops->write(w->t.fs, &p->call, w->f, off, &p->iov, 1, 0,
			    &p->n);
}

static void start_truncate(struct wq_test *w, uint64_t size)
{
	struct pending *p = pending_new(w);

	if (size < w->size)
		memset(w->model + size, 0, w->size - size);
	w->size = size;
	p->set.valid = FS_SET_SIZE;
	p->set.size = size;
	w->t.fs->ops->setattr(w->t.fs, &p->call, w->in, NULL, &p->set, &p->st);
}

/* Run the reactor until every started call completed; all succeeded. */
static void finish_all(struct wq_test *w)
{
	for (int i = 0; i < w->nops; i++) {
		struct pending *p = &w->ops[i];

		for (int k = 0; !p->done; k++) {
			assert_true(reactor_run_once(bst_reactor(), 10) >= 0);
			assert_true(k < 200000);
		}
	}
	for (int i = 0; i < w->nops; i++) {
		struct pending *p = &w->ops[i];

		assert_int_equal(p->done, 1);
		assert_int_equal(p->err, 0);
		if (p->iov.iov_base) {
			assert_int_equal(p->n, p->iov.iov_len);
			free(p->iov.iov_base);
		}
	}
	w->nops = 0;
}

static void expect_model(struct wq_test *w)
{
	uint8_t *buf = bst_alloc(w->size + BLK);
	struct stat st;

	assert_int_equal(bt_read(&w->t, w->f, 0, buf, w->size + BLK),
			 (long)w->size);
	assert_memory_equal(buf, w->model, w->size);
	assert_int_equal(bt_getattr(&w->t, w->in, &st), 0);
	assert_int_equal(st.st_size, (off_t)w->size);
	free(buf);
}

static void wq_setup(struct wq_test *w)
{
	struct fs_entry e;
	uint8_t *buf = bst_alloc(NBLK * BLK);

	memset(w, 0, sizeof(*w));
	bt_setup(&w->t, DEV, 65536, false);
	assert_int_equal(bt_create(&w->t, w->t.root, "f", 0644, &e, &w->f), 0);
	w->in = e.inode;
	w->model = calloc(1, 8 * NBLK * BLK);
	assert_non_null(w->model);
	fill(buf, NBLK * BLK, 0);
	assert_int_equal(bt_write(&w->t, w->f, 0, buf, NBLK * BLK),
			 (long)(NBLK * BLK));
	memcpy(w->model, buf, NBLK * BLK);
	w->size = NBLK * BLK;
	free(buf);
}

static void wq_teardown(struct wq_test *w)
{
	assert_int_equal(bt_release(&w->t, w->f), 0);
	bt_forget(&w->t, w->in);
	bt_check(&w->t);
	bt_teardown(&w->t);
	free(w->model);
}

/* Shared overwrites around exclusive writes and a truncate. */
static void test_mixed_queue(void **state)
{
	struct wq_test *w = calloc(1, sizeof(*w));

	(void)state;
	assert_non_null(w);
	wq_setup(w);
	for (unsigned int i = 0; i < 16; i++) /* shared, all at once */
		start_write(w, i * BLK, BLK, (uint8_t)(1 + i));
	start_write(w, 20 * BLK + 100, 1000, 50);  /* partial: alone */
	for (unsigned int i = 16; i < 24; i++)    /* shared, after it */
		start_write(w, (i * 2) * BLK, BLK, (uint8_t)(60 + i));
	start_truncate(w, 40 * BLK);              /* alone, after them */
	for (unsigned int i = 44; i < 48; i++)    /* were blocks, now holes */
		start_write(w, i * BLK, BLK, (uint8_t)(90 + i));
	start_write(w, 0, 32 * BLK, 120);         /* shared again, last */
	finish_all(w);
	expect_model(w);
	wq_teardown(w);
	free(w);
}

/* Overwrites of the same blocks land in submission order when each
 * waits for the one before (a partial write between them). */
static void test_order_kept(void **state)
{
	struct wq_test *w = calloc(1, sizeof(*w));

	(void)state;
	assert_non_null(w);
	wq_setup(w);
	for (unsigned int r = 0; r < 8; r++) {
		start_write(w, 0, 8 * BLK, (uint8_t)(r * 3));
		start_write(w, 3 * BLK + 7, 9, (uint8_t)(200 + r));
	}
	start_write(w, NBLK * BLK, 2 * BLK, 77); /* grows: allocates */
	start_write(w, 8 * BLK, 16 * BLK, 99);
	finish_all(w);
	expect_model(w);
	wq_teardown(w);
	free(w);
}

/* @n pages as @n iovecs, each page-aligned (or @skew bytes into it). */
static void page_iovs(uint8_t *mem, struct iovec *v, unsigned int n,
		      size_t skew)
{
	for (unsigned int i = 0; i < n; i++)
		v[i] = (struct iovec){ mem + i * 2 * BLK + skew, BLK };
}

static void test_page_iovecs(void **state)
{
	struct wq_test *w = calloc(1, sizeof(*w));
	const unsigned int n = 256; /* 1 MiB: FUSE's max_write */
	uint8_t *mem = bst_alloc(2 * n * BLK + BLK), *back;
	struct iovec v[256];

	(void)state;
	assert_non_null(w);
	wq_setup(w);
	for (size_t skew = 0; skew <= 512; skew += 512) {
		struct pending *p = pending_new(w);
		uint64_t off = skew ? 3 * BLK + 100 : 8 * BLK;

		page_iovs(mem, v, n, skew);
		for (unsigned int i = 0; i < n; i++) {
			fill(v[i].iov_base, BLK, (uint8_t)(i + skew));
			memcpy(w->model + off + i * BLK, v[i].iov_base, BLK);
		}
		if (off + n * BLK > w->size)
			w->size = off + n * BLK;
		w->t.fs->ops->write(w->t.fs, &p->call, w->f, off, v, n, 0,
				    &p->n);
		finish_all(w);
		assert_int_equal(p->n, n * BLK);
		expect_model(w);
		/* read it back the same way */
		p = pending_new(w);
		memset(mem, 0, 2 * n * BLK + BLK);
		w->t.fs->ops->read(w->t.fs, &p->call, w->f, off, v, n, &p->n);
		finish_all(w);
		assert_int_equal(p->n, n * BLK);
		back = mem + skew;
		for (unsigned int i = 0; i < n; i++)
			assert_memory_equal(back + i * 2 * BLK,
					    w->model + off + i * BLK, BLK);
	}
	free(mem);
	wq_teardown(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed_queue),
		cmocka_unit_test(test_order_kept),
		cmocka_unit_test(test_page_iovecs),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
