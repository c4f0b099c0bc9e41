// SPDX-License-Identifier: MIT
/*
 * test_lock.c - passthrough POSIX locks (OFD locks per lock owner) and
 * flock: conflicts between owners, per-inode ownership across opens,
 * SETLKW granted after an unlock, SETLKW interrupted, FLUSH releasing an
 * owner's locks, the bound on waiters, and what is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptd.h"
#include "fs/passthrough/passthrough_internal.h"

#define OWNER_A 0xa0a0a0a0a0a0a0a0ull
#define OWNER_B 0xb0b0b0b0b0b0b0b0ull

static struct fs_lock posix(uint64_t owner, uint32_t type, uint64_t start,
			    uint64_t end)
{
	struct fs_lock lk = { .start = start, .end = end, .type = type,
			      .pid = 42, .owner = owner, .flock = false };
	return lk;
}

static struct fs_lock bsd(uint32_t type)
{
	struct fs_lock lk = { .end = UINT64_MAX, .type = type, .flock = true };
	return lk;
}

/* Two owners, two opens of one file. */
struct two {
	struct fs_inode *ino;
	struct fs_file *f1, *f2;
};

static void two_open(struct pt_env *e, const char *name, struct two *t)
{
	struct fs_open_out oo = { 0 };

	t->f1 = ptd_file(e, name, 0666, O_RDWR, &t->ino);
	assert_int_equal(pt_t_open(e, t->ino, O_RDWR, &oo), 0);
	t->f2 = oo.file;
}

static void two_close(struct pt_env *e, struct two *t)
{
	assert_int_equal(pt_t_release(e, t->f2), 0);
	ptd_file_close(e, t->f1, t->ino);
}

static void test_posix_conflicts(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk;

	two_open(e, "l1", &t);
	lk = posix(OWNER_A, F_WRLCK, 0, 99);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);

	lk = posix(OWNER_B, F_RDLCK, 50, 60);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), -EAGAIN);
	lk = posix(OWNER_B, F_RDLCK, 100, 200);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);

	/* B sees A's lock; A sees none of its own, through either open */
	lk = posix(OWNER_B, F_WRLCK, 0, UINT64_MAX);
	assert_int_equal(ptd_getlk(e, t.f2, &lk), 0);
	assert_int_equal(lk.type, F_WRLCK);
	assert_int_equal(lk.start, 0);
	assert_int_equal(lk.end, 99);
	assert_int_equal(lk.pid, 0);
	lk = posix(OWNER_A, F_WRLCK, 0, 99);
	assert_int_equal(ptd_getlk(e, t.f2, &lk), 0);
	assert_int_equal(lk.type, F_UNLCK);
	/* A probing B's read lock: to end of file, sent as OFFSET_MAX */
	lk = posix(OWNER_A, F_WRLCK, 150, INT64_MAX);
	assert_int_equal(ptd_getlk(e, t.f1, &lk), 0);
	assert_int_equal(lk.type, F_RDLCK);
	assert_int_equal(lk.start, 100);
	assert_int_equal(lk.end, 200);
	/* an owner without any lock sees every conflict */
	lk = posix(0x1234, F_RDLCK, 0, 0);
	assert_int_equal(ptd_getlk(e, t.f1, &lk), 0);
	assert_int_equal(lk.type, F_WRLCK);

	/* locks are the owner's on the inode: A unlocks through the other open */
	lk = posix(OWNER_A, F_UNLCK, 0, UINT64_MAX);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);
	lk = posix(OWNER_B, F_WRLCK, 0, 99);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);

	/* host processes see the guest's locks (F_GETLK, classic POSIX) */
	{
		char path[256];
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd;

		pt_host_path(e, "l1", path, sizeof(path));
		fd = open(path, O_RDWR | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(fcntl(fd, F_GETLK, &fl), 0);
		assert_int_equal(fl.l_type, F_WRLCK);
		close(fd);
	}
	two_close(e, &t);
}

static void test_posix_refused(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *ro = ptd_file(e, "l2", 0644, O_RDONLY, &ino);
	struct fs_lock lk;

	lk = posix(OWNER_A, F_WRLCK, 0, 10);
	assert_int_equal(ptd_setlk(e, ro, &lk, false), -EBADF);
	lk = posix(OWNER_A, F_RDLCK, 0, 10);
	assert_int_equal(ptd_setlk(e, ro, &lk, false), 0);
	lk = posix(OWNER_A, 7, 0, 10);
	assert_int_equal(ptd_setlk(e, ro, &lk, false), -EINVAL);
	lk = posix(OWNER_A, F_RDLCK, 10, 5);
	assert_int_equal(ptd_setlk(e, ro, &lk, false), -EINVAL);
	lk = posix(OWNER_A, F_RDLCK, (uint64_t)INT64_MAX + 1, UINT64_MAX);
	assert_int_equal(ptd_getlk(e, ro, &lk), -EINVAL);
	lk = bsd(F_RDLCK);
	assert_int_equal(ptd_getlk(e, ro, &lk), -EINVAL);
	ptd_file_close(e, ro, ino);
}

/* SETLKW waits on its own thread while the reactor keeps serving. */
static void test_setlkw_granted(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk = posix(OWNER_A, F_WRLCK, 0, UINT64_MAX);
	struct fs_lock wlk = posix(OWNER_B, F_WRLCK, 10, 20);
	struct ptd_call w;

	two_open(e, "l3", &t);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	ptd_call_init(e, &w);
	e->fs->ops->setlk(e->fs, &w.call, t.f2, &wlk, true);
	assert_false(ptd_poll(e, &w, 150));

	/* other calls still complete while B waits */
	lk = posix(OWNER_A, F_RDLCK, 500, 600);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);

	lk = posix(OWNER_A, F_UNLCK, 0, UINT64_MAX);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	assert_int_equal(ptd_wait(e, &w), 0);
	lk = posix(OWNER_A, F_RDLCK, 15, 15);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), -EAGAIN);
	two_close(e, &t);
}

static void test_setlkw_interrupted(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk = posix(OWNER_A, F_WRLCK, 0, UINT64_MAX);
	struct fs_lock wlk = posix(OWNER_B, F_RDLCK, 0, 0);
	struct ptd_call w;

	two_open(e, "l4", &t);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);

	/* interrupted while surely blocked in fcntl */
	ptd_call_init(e, &w);
	e->fs->ops->setlk(e->fs, &w.call, t.f2, &wlk, true);
	assert_false(ptd_poll(e, &w, 100));
	e->fs->ops->interrupt(e->fs, &w.call);
	assert_int_equal(ptd_wait(e, &w), -EINTR);

	/* interrupted at once, racing the waiter's start: never lost */
	for (int i = 0; i < 300; i++) {
		ptd_call_init(e, &w);
		e->fs->ops->setlk(e->fs, &w.call, t.f2, &wlk, true);
		if (i % 3)
			ptd_poll(e, &w, 0);
		e->fs->ops->interrupt(e->fs, &w.call);
		assert_int_equal(ptd_wait(e, &w), -EINTR);
	}
	/* an interrupt for a call that is not waiting is ignored */
	e->fs->ops->interrupt(e->fs, &w.call);
	two_close(e, &t);
}

/* FLUSH by an owner drops its locks; others' stay. */
static void test_flush_releases(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk;

	two_open(e, "l5", &t);
	lk = posix(OWNER_A, F_WRLCK, 0, 9);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	lk = posix(OWNER_B, F_WRLCK, 10, 19);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);
	assert_int_equal(pt_t_flush(e, t.f2, OWNER_A), 0);
	lk = posix(0x77, F_WRLCK, 0, 9);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	lk = posix(0x77, F_WRLCK, 10, 19);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), -EAGAIN);
	/* flushing an owner with no locks is fine */
	assert_int_equal(pt_t_flush(e, t.f1, 0x999), 0);
	two_close(e, &t);
}

/* FLUSH while a SETLKW of the same owner waits: the wait goes on. */
static void test_flush_during_wait(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk = posix(OWNER_A, F_WRLCK, 0, 0);
	struct fs_lock wlk = posix(OWNER_B, F_WRLCK, 0, 0);
	struct ptd_call w;

	two_open(e, "l6", &t);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	lk = posix(OWNER_B, F_WRLCK, 5, 5);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);
	ptd_call_init(e, &w);
	e->fs->ops->setlk(e->fs, &w.call, t.f2, &wlk, true);
	assert_false(ptd_poll(e, &w, 100));
	assert_int_equal(pt_t_flush(e, t.f2, OWNER_B), 0);
	/* B's lock on byte 5 is gone at once */
	lk = posix(OWNER_A, F_WRLCK, 5, 5);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	lk = posix(OWNER_A, F_UNLCK, 0, 0);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	assert_int_equal(ptd_wait(e, &w), 0);
	lk = posix(OWNER_A, F_WRLCK, 0, 0);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), -EAGAIN);
	two_close(e, &t);
}

static void test_flock(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk;
	struct ptd_call w;

	two_open(e, "l7", &t);
	lk = bsd(F_WRLCK);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	lk = bsd(F_RDLCK);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), -EAGAIN);
	/* POSIX locks are independent of flock */
	lk = posix(OWNER_B, F_WRLCK, 0, 0);
	assert_int_equal(ptd_setlk(e, t.f2, &lk, false), 0);

	/* a waiting flock, granted on unlock */
	lk = bsd(F_RDLCK);
	ptd_call_init(e, &w);
	e->fs->ops->setlk(e->fs, &w.call, t.f2, &lk, true);
	assert_false(ptd_poll(e, &w, 100));
	lk = bsd(F_UNLCK);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	assert_int_equal(ptd_wait(e, &w), 0);
	lk = bsd(F_WRLCK);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), -EAGAIN);

	/* a waiting flock, interrupted */
	ptd_call_init(e, &w);
	e->fs->ops->setlk(e->fs, &w.call, t.f1, &lk, true);
	assert_false(ptd_poll(e, &w, 100));
	e->fs->ops->interrupt(e->fs, &w.call);
	assert_int_equal(ptd_wait(e, &w), -EINTR);

	/* releasing the file with FLOCK_UNLOCK drops its flock */
	{
		struct ptd_call s;

		ptd_call_init(e, &s);
		e->fs->ops->release(e->fs, &s.call, t.f2, true, 0);
		assert_int_equal(ptd_wait(e, &s), 0);
	}
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	ptd_file_close(e, t.f1, t.ino);
}

/* At most 64 waits at once; the 65th is refused, the rest interrupted. */
static void test_waiter_bound(void **state)
{
	struct pt_env *e = *state;
	struct two t;
	struct fs_lock lk = posix(OWNER_A, F_WRLCK, 0, UINT64_MAX);
	struct fs_lock wlk[65];
	struct ptd_call *w = calloc(65, sizeof(*w));

	two_open(e, "l8", &t);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	for (int i = 0; i < 65; i++) {
		wlk[i] = posix(1000 + (uint64_t)i, F_RDLCK, 0, 0);
		ptd_call_init(e, &w[i]);
		e->fs->ops->setlk(e->fs, &w[i].call, t.f2, &wlk[i], true);
	}
	assert_true(w[64].done);
	assert_int_equal(w[64].err, -ENOLCK);
	ptd_poll(e, &w[0], 100);
	for (int i = 0; i < 64; i++) {
		assert_false(w[i].done);
		e->fs->ops->interrupt(e->fs, &w[i].call);
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(ptd_wait(e, &w[i]), -EINTR);
	free(w);
	two_close(e, &t);
}

/* Locks still held at destroy are dropped with the fs (no leak, no hang). */
static void test_destroy_with_locks(void **state)
{
	struct pt_env *e = pt_env_new(PASSTHROUGH_INODES_FDS, 0, false);
	struct two t;
	struct fs_lock lk = posix(OWNER_A, F_WRLCK, 0, 0);

	(void)state;
	two_open(e, "l9", &t);
	assert_int_equal(ptd_setlk(e, t.f1, &lk, false), 0);
	two_close(e, &t);
	pt_env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix_conflicts),
		cmocka_unit_test(test_posix_refused),
		cmocka_unit_test(test_setlkw_granted),
		cmocka_unit_test(test_setlkw_interrupted),
		cmocka_unit_test(test_flush_releases),
		cmocka_unit_test(test_flush_during_wait),
		cmocka_unit_test(test_flock),
		cmocka_unit_test(test_waiter_bound),
		cmocka_unit_test(test_destroy_with_locks),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, pt_setup_handles, pt_teardown);
}
