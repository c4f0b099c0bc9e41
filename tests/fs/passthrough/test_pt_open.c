// SPDX-License-Identifier: MIT
/*
 * test_pt_open.c - open, create, tmpfile, flush, release: the host fd gets
 * the client's flags (whitelisted), never follows a symlink, and release
 * gives everything back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pt_test.h"
#include "fs/passthrough/pt_core.h"

static int host_fd(struct fs_file *f)
{
	return pt_file_of(f)->fd;
}

static void test_open_flags(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent;
	struct fs_open_out oo, o2;
	int fl, base;

	assert_int_equal(pt_t_create(e, e->root, "f", 0644, O_WRONLY | O_APPEND,
				     &ent, &oo), 0);
	fl = fcntl(host_fd(oo.file), F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_WRONLY);
	assert_true(fl & O_APPEND);
	assert_true(fcntl(host_fd(oo.file), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(host_fd(oo.file), "hello", 5), 5);
	assert_int_equal(pt_t_flush(e, oo.file, 42), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);

	base = pt_count_fds();
	/* O_CREAT/O_EXCL/O_NOFOLLOW and unknown bits never reach the host */
	assert_int_equal(pt_t_open(e, ent.inode, O_RDWR | O_TRUNC | O_NOFOLLOW |
				   O_ASYNC, &oo), 0);
	fl = fcntl(host_fd(oo.file), F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDWR);
	assert_false(fl & O_ASYNC);
	assert_int_equal(lseek(host_fd(oo.file), 0, SEEK_END), 0); /* O_TRUNC */
	assert_int_equal(pt_t_open(e, ent.inode, O_RDONLY, &o2), 0);
	assert_int_equal(pt_count_fds(), base + 2);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_release(e, o2.file), 0);
	assert_int_equal(pt_count_fds(), base);
	pt_t_forget(e, ent.inode, 1);
}

static void test_open_dir_for_write(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry d;
	struct fs_open_out oo;

	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0755, &d), 0);
	assert_int_equal(pt_t_open(e, d.inode, O_RDWR, &oo), -EISDIR);
	assert_int_equal(pt_t_open(e, d.inode, O_RDONLY | O_DIRECTORY, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, d.inode, 1);
}

static void test_tmpfile(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry t, l;
	struct fs_open_out oo;
	struct stat st;
	char path[256];

	assert_int_equal(pt_t_tmpfile(e, e->root, 0600, O_RDWR, &t, &oo), 0);
	assert_int_equal(t.attr.st_nlink, 0);
	assert_true(S_ISREG(t.attr.st_mode));
	assert_int_equal(write(host_fd(oo.file), "tmp", 3), 3);
	assert_int_equal(pt_t_getattr(e, t.inode, &st), 0);
	assert_int_equal(st.st_size, 3);
	/* give it a name */
	assert_int_equal(pt_t_link(e, t.inode, e->root, "named", &l), 0);
	assert_ptr_equal(l.inode, t.inode);
	pt_host_path(e, "named", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, t.inode, 2);
}

static void test_create_in_file(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry f, ent;
	struct fs_open_out oo;

	assert_int_equal(pt_t_create(e, e->root, "f", 0644, O_RDWR, &f, &oo), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	assert_int_equal(pt_t_create(e, f.inode, "x", 0644, O_RDWR, &ent, &oo),
			 -ENOTDIR);
	assert_int_equal(pt_t_tmpfile(e, f.inode, 0644, O_RDWR, &ent, &oo),
			 -ENOTDIR);
	assert_int_equal(pt_t_mkdir(e, f.inode, "x", 0755, &ent), -ENOTDIR);
	pt_t_forget(e, f.inode, 1);
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, pt_setup_handles, pt_teardown), \
	cmocka_unit_test_setup_teardown(t, pt_setup_fds, pt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_open_flags),
		BOTH(test_open_dir_for_write),
		BOTH(test_tmpfile),
		BOTH(test_create_in_file),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
