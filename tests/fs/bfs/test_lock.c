// SPDX-License-Identifier: MIT
/*
 * test_lock.c - POSIX record locks and flock of bfs: conflicts between
 * owners, splitting and merging, GETLK, SETLKW waiting and woken by an
 * unlock, a FLUSH and a release, FUSE_INTERRUPT cancelling a wait, and
 * flock between open files.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)
#define END UINT64_MAX

static struct fs_lock lk(uint32_t type, uint64_t start, uint64_t end,
			 uint64_t owner)
{
	struct fs_lock l = { .start = start, .end = end, .type = type,
			     .pid = (uint32_t)owner + 100, .owner = owner };

	return l;
}

static int set(struct bt *t, struct fs_file *f, uint32_t type, uint64_t s,
	       uint64_t e, uint64_t owner)
{
	struct fs_lock l = lk(type, s, e, owner);

	return bx_setlk(t, f, &l);
}

/* GETLK for @owner: the type of the conflicting lock, or F_UNLCK. */
static uint32_t probe(struct bt *t, struct fs_file *f, uint32_t type,
		      uint64_t s, uint64_t e, uint64_t owner,
		      struct fs_lock *out)
{
	struct fs_lock l = lk(type, s, e, owner);

	assert_int_equal(bx_getlk(t, f, &l), 0);
	if (out)
		*out = l;
	return l.type;
}

static void start_wait(struct bt *t, struct fs_file *f, struct bx_pending *p,
		       const struct fs_lock *l, uint64_t id)
{
	struct fs_call *c = bx_call(t, p);

	c->id = id;
	t->fs->ops->setlk(t->fs, c, f, l, true);
}

struct files {
	struct fs_entry e;
	struct fs_file *a, *b;
};

static void two(struct bt *t, struct files *x)
{
	assert_int_equal(bt_create(t, t->root, "f", 0644, &x->e, &x->a), 0);
	assert_int_equal(bt_open(t, x->e.inode, O_RDWR, &x->b), 0);
}

static void test_posix(void **state)
{
	struct bt t;
	struct files x;
	struct fs_lock out;

	bt_setup(&t, DEV, 65536, false);
	two(&t, &x);
	assert_int_equal(set(&t, x.a, F_WRLCK, 0, 99, 1), 0);
	assert_int_equal(probe(&t, x.b, F_RDLCK, 50, 60, 2, &out), F_WRLCK);
	assert_int_equal(out.start, 0);
	assert_int_equal(out.end, 99);
	assert_int_equal(out.pid, 101);
	assert_int_equal(probe(&t, x.a, F_WRLCK, 0, 99, 1, NULL), F_UNLCK);
	assert_int_equal(set(&t, x.b, F_RDLCK, 50, 60, 2), -EAGAIN);
	assert_int_equal(set(&t, x.b, F_WRLCK, 100, END, 2), 0);
	/* owner 1: unlock the middle, then downgrade a part */
	assert_int_equal(set(&t, x.a, F_UNLCK, 40, 59, 1), 0);
	assert_int_equal(probe(&t, x.b, F_WRLCK, 40, 59, 2, NULL), F_UNLCK);
	assert_int_equal(probe(&t, x.b, F_WRLCK, 39, 39, 2, NULL), F_WRLCK);
	assert_int_equal(probe(&t, x.b, F_WRLCK, 60, 60, 2, &out), F_WRLCK);
	assert_int_equal(out.start, 60);
	assert_int_equal(out.end, 99);
	assert_int_equal(set(&t, x.a, F_RDLCK, 0, 39, 1), 0);
	assert_int_equal(probe(&t, x.b, F_RDLCK, 0, 39, 2, NULL), F_UNLCK);
	assert_int_equal(set(&t, x.b, F_RDLCK, 0, 10, 2), 0);
	/* locks of one owner merge: write-lock 40..59 again, then probe all */
	assert_int_equal(set(&t, x.a, F_WRLCK, 40, 59, 1), 0);
	assert_int_equal(probe(&t, x.b, F_RDLCK, 40, 99, 3, &out), F_WRLCK);
	assert_int_equal(out.start, 40);
	assert_int_equal(out.end, 99);
	assert_int_equal(set(&t, x.a, F_UNLCK, 0, END, 1), 0);
	assert_int_equal(probe(&t, x.b, F_WRLCK, 12, 99, 3, NULL), F_UNLCK);
	/* FLUSH drops an owner's locks */
	assert_int_equal(bx_flush(&t, x.b, 2), 0);
	assert_int_equal(probe(&t, x.a, F_WRLCK, 0, END, 1, NULL), F_UNLCK);
	assert_int_equal(bx_release(&t, x.a, false, 0), 0);
	assert_int_equal(bx_release(&t, x.b, false, 0), 0);
	bt_forget(&t, x.e.inode);
	bt_teardown(&t);
}

static void test_wait(void **state)
{
	struct bt t;
	struct files x;
	struct bx_pending p, q;
	struct fs_lock w2 = lk(F_WRLCK, 0, 10, 2), w3 = lk(F_RDLCK, 5, 5, 3);

	bt_setup(&t, DEV, 65536, false);
	two(&t, &x);
	assert_int_equal(set(&t, x.a, F_WRLCK, 0, END, 1), 0);
	/* woken by an unlock */
	start_wait(&t, x.b, &p, &w2, 7);
	assert_false(bx_poll(&p));
	assert_int_equal(set(&t, x.a, F_UNLCK, 0, 20, 1), 0);
	assert_int_equal(bx_wait(&p), 0);
	assert_int_equal(probe(&t, x.a, F_RDLCK, 0, 0, 1, NULL), F_WRLCK);
	/* an interrupt cancels a wait; another waiter stays */
	start_wait(&t, x.a, &p, &w3, 8);
	w2 = lk(F_WRLCK, 30, 40, 4);
	start_wait(&t, x.a, &q, &w2, 9);
	assert_false(bx_poll(&p));
	p.call.id = 8;
	t.fs->ops->interrupt(t.fs, &p.call);
	assert_int_equal(bx_wait(&p), -EINTR);
	assert_false(bx_poll(&q));
	/* woken by a FLUSH of owner 1 (holding 21..END) */
	assert_int_equal(bx_flush(&t, x.a, 1), 0);
	assert_int_equal(bx_wait(&q), 0);
	assert_int_equal(probe(&t, x.b, F_WRLCK, 35, 35, 5, NULL), F_WRLCK);
	/* woken by the release of the file a lock was taken through */
	w3 = lk(F_WRLCK, 0, END, 6);
	start_wait(&t, x.b, &p, &w3, 10);
	assert_false(bx_poll(&p));
	assert_int_equal(set(&t, x.b, F_UNLCK, 0, END, 2), 0);
	assert_false(bx_poll(&p));
	assert_int_equal(bx_release(&t, x.a, false, 0), 0);
	assert_int_equal(bx_wait(&p), 0);
	assert_int_equal(bx_release(&t, x.b, false, 0), 0);
	bt_forget(&t, x.e.inode);
	bt_teardown(&t);
}

/* Two owners each waiting for the other: the second wait fails. */
static void test_deadlock(void **state)
{
	struct bt t;
	struct files x;
	struct bx_pending p;
	struct fs_lock w = lk(F_WRLCK, 50, 60, 1);

	bt_setup(&t, DEV, 65536, false);
	two(&t, &x);
	assert_int_equal(set(&t, x.a, F_WRLCK, 0, 9, 1), 0);
	assert_int_equal(set(&t, x.b, F_WRLCK, 50, 59, 2), 0);
	start_wait(&t, x.a, &p, &w, 12); /* owner 1 waits for owner 2 */
	assert_false(bx_poll(&p));
	w = lk(F_WRLCK, 5, 5, 2);
	{
		struct bx_pending q;
		struct fs_call *c = bx_call(&t, &q);

		t.fs->ops->setlk(t.fs, c, x.b, &w, true);
		assert_int_equal(bx_wait(&q), -EDEADLK);
	}
	assert_int_equal(set(&t, x.b, F_UNLCK, 0, END, 2), 0);
	assert_int_equal(bx_wait(&p), 0);
	assert_int_equal(bx_release(&t, x.a, false, 0), 0);
	assert_int_equal(bx_release(&t, x.b, false, 0), 0);
	bt_forget(&t, x.e.inode);
	bt_teardown(&t);
}

static void test_flock(void **state)
{
	struct bt t;
	struct files x;
	struct fs_file *c;
	struct fs_lock ex = lk(F_WRLCK, 0, END, 1), sh = lk(F_RDLCK, 0, END, 2);
	struct bx_pending p;

	ex.flock = sh.flock = true;
	bt_setup(&t, DEV, 65536, false);
	two(&t, &x);
	assert_int_equal(bt_open(&t, x.e.inode, O_RDONLY, &c), 0);
	assert_int_equal(bx_setlk(&t, x.a, &ex), 0);
	assert_int_equal(bx_setlk(&t, x.b, &sh), -EAGAIN);
	/* flock and POSIX locks do not see each other */
	assert_int_equal(set(&t, x.b, F_WRLCK, 0, END, 2), 0);
	assert_int_equal(bx_setlk(&t, x.a, &sh), 0); /* downgrade */
	assert_int_equal(bx_setlk(&t, x.b, &sh), 0);
	assert_int_equal(bx_setlk(&t, c, &ex), -EAGAIN);
	start_wait(&t, c, &p, &ex, 11);
	assert_false(bx_poll(&p));
	assert_int_equal(bx_release(&t, x.a, true, 1), 0);
	assert_false(bx_poll(&p));
	sh.type = F_UNLCK;
	assert_int_equal(bx_setlk(&t, x.b, &sh), 0);
	assert_int_equal(bx_wait(&p), 0);
	assert_int_equal(bx_release(&t, x.b, true, 2), 0);
	assert_int_equal(bx_release(&t, c, true, 3), 0);
	bt_forget(&t, x.e.inode);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_deadlock),
		cmocka_unit_test(test_flock),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
