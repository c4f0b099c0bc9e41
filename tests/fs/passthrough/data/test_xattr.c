// SPDX-License-Identifier: MIT
/*
 * test_xattr.c - passthrough xattrs and POSIX ACLs: set/get/list/remove,
 * size queries and ERANGE, symlinks and FIFOs (never opened), permission
 * checks made by the host as the caller, ACLs changing the mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ptd.h"

static int setup(void **state)
{
	*state = ptd_env_new(true, true);
	return 0;
}

/* A regular file @name on the host, looked up (no open file needed). */
static struct fs_inode *host_file(struct pt_env *e, const char *name,
				  mode_t mode, uid_t uid)
{
	char path[256];
	int fd;

	pt_host_path(e, name, path, sizeof(path));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, uid, uid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return pt_t_get(e, e->root, name);
}

static void as_user(struct pt_env *e, uint32_t uid)
{
	e->cred.uid = uid;
	e->cred.gid = uid;
}

static void test_set_get_list_remove(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino = host_file(e, "x1", 0644, 0);
	char buf[256];
	size_t len = 0;

	assert_int_equal(ptd_setxattr(e, ino, "user.alpha", "hello", 5, 0), 0);
	assert_int_equal(ptd_setxattr(e, ino, "user.b", "", 0, 0), 0);
	assert_int_equal(ptd_setxattr(e, ino, "trusted.t", "T", 1, 0), 0);

	/* size query, exact buffer, small buffer */
	assert_int_equal(ptd_getxattr(e, ino, "user.alpha", buf, 0, &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(ptd_getxattr(e, ino, "user.alpha", buf, 5, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(ptd_getxattr(e, ino, "user.alpha", buf, 4, &len), -ERANGE);
	assert_int_equal(ptd_getxattr(e, ino, "user.b", buf, 10, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(ptd_getxattr(e, ino, "user.none", buf, 10, &len),
			 -ENODATA);

	/* flags */
	assert_int_equal(ptd_setxattr(e, ino, "user.alpha", "x", 1, XATTR_CREATE),
			 -EEXIST);
	assert_int_equal(ptd_setxattr(e, ino, "user.new", "x", 1, XATTR_REPLACE),
			 -ENODATA);
	assert_int_equal(ptd_setxattr(e, ino, "user.alpha", "bye", 3,
				      XATTR_REPLACE), 0);
	assert_int_equal(ptd_getxattr(e, ino, "user.alpha", buf, 10, &len), 0);
	assert_memory_equal(buf, "bye", 3);

	/* list: size query, ERANGE, content */
	const char want[] = "user.alpha\0user.b\0trusted.t";
	assert_int_equal(ptd_listxattr(e, ino, buf, 0, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_int_equal(ptd_listxattr(e, ino, buf, len - 1, &len), -ERANGE);
	assert_int_equal(ptd_listxattr(e, ino, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	assert_int_equal(ptd_removexattr(e, ino, "user.alpha"), 0);
	assert_int_equal(ptd_getxattr(e, ino, "user.alpha", buf, 10, &len),
			 -ENODATA);
	assert_int_equal(ptd_removexattr(e, ino, "user.alpha"), -ENODATA);
	pt_t_forget(e, ino, 1);
}

static void test_names_and_sizes(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino = host_file(e, "x2", 0644, 0);
	char longname[300], buf[16];
	size_t len;
	void *big = calloc(1, XATTR_SIZE_MAX + 1);

	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "user.", 5);
	longname[256] = '\0';
	assert_int_equal(ptd_setxattr(e, ino, "", "v", 1, 0), -ERANGE);
	assert_int_equal(ptd_setxattr(e, ino, longname, "v", 1, 0), -ERANGE);
	longname[255] = '\0';
	assert_int_equal(ptd_setxattr(e, ino, longname, "v", 1, 0), 0);
	assert_int_equal(ptd_getxattr(e, ino, longname, buf, 16, &len), 0);
	assert_int_equal(ptd_setxattr(e, ino, "foo.bar", "v", 1, 0), -EOPNOTSUPP);
	assert_int_equal(ptd_setxattr(e, ino, "system.sockprotoname", "v", 1, 0),
			 -EOPNOTSUPP);
	assert_int_equal(ptd_getxattr(e, ino, "system.nfs4_acl", buf, 16, &len),
			 -EOPNOTSUPP);
	assert_int_equal(ptd_setxattr(e, ino, "user.big", big, XATTR_SIZE_MAX + 1,
				      0), -E2BIG);
	assert_int_equal(ptd_setxattr(e, ino, "user.f", "v", 1, 0x80), -EINVAL);
	assert_int_equal(ptd_removexattr(e, ino, "bad"), -EOPNOTSUPP);
	free(big);
	pt_t_forget(e, ino, 1);
}

/* On a directory, a symlink (the link itself) and a FIFO (never opened). */
static void test_file_types(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *target = host_file(e, "x3", 0644, 0);
	struct fs_entry link, dir, fifo;
	char buf[16], path[256];
	size_t len;

	assert_int_equal(pt_t_mkdir(e, e->root, "d3", 0755, &dir), 0);
	assert_int_equal(ptd_setxattr(e, dir.inode, "user.d", "D", 1, 0), 0);
	assert_int_equal(ptd_getxattr(e, dir.inode, "user.d", buf, 16, &len), 0);
	assert_int_equal(len, 1);

	assert_int_equal(pt_t_symlink(e, e->root, "l3", "x3", &link), 0);
	assert_int_equal(ptd_setxattr(e, link.inode, "trusted.l", "L", 1, 0), 0);
	assert_int_equal(ptd_getxattr(e, link.inode, "trusted.l", buf, 16, &len), 0);
	assert_int_equal(buf[0], 'L');
	/* on the link, not its target */
	assert_int_equal(ptd_getxattr(e, target, "trusted.l", buf, 16, &len),
			 -ENODATA);
	pt_host_path(e, "l3", path, sizeof(path));
	assert_int_equal(lgetxattr(path, "trusted.l", buf, 16), 1);
	/* the host allows no user.* on symlinks */
	assert_int_equal(ptd_setxattr(e, link.inode, "user.l", "L", 1, 0), -EPERM);
	assert_int_equal(ptd_listxattr(e, link.inode, buf, 16, &len), 0);
	assert_int_equal(len, sizeof("trusted.l"));

	/* opening a FIFO would block: the test would hang if we did */
	assert_int_equal(pt_t_mknod(e, e->root, "f3", S_IFIFO | 0644, 0, &fifo), 0);
	assert_int_equal(ptd_setxattr(e, fifo.inode, "trusted.f", "F", 1, 0), 0);
	assert_int_equal(ptd_getxattr(e, fifo.inode, "trusted.f", buf, 16, &len), 0);
	assert_int_equal(ptd_removexattr(e, fifo.inode, "trusted.f"), 0);

	pt_t_forget(e, dir.inode, 1);
	pt_t_forget(e, link.inode, 1);
	pt_t_forget(e, fifo.inode, 1);
	pt_t_forget(e, target, 1);
}

/* Unprivileged callers: the host decides, with the caller's identity. */
static void test_unprivileged(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *roots = host_file(e, "x4", 0644, 0);
	struct fs_inode *mine = host_file(e, "x5", 0644, 1000);
	struct fs_inode *secret = host_file(e, "x6", 0600, 0);
	struct vfs_cap_data cap = { .magic_etc = VFS_CAP_REVISION_2 };
	char buf[64];
	size_t len;

	assert_int_equal(ptd_setxattr(e, roots, "trusted.t", "T", 1, 0), 0);
	assert_int_equal(ptd_setxattr(e, roots, "user.u", "U", 1, 0), 0);
	assert_int_equal(ptd_setxattr(e, secret, "user.s", "S", 1, 0), 0);

	as_user(e, 1000);
	assert_int_equal(ptd_setxattr(e, roots, "user.x", "x", 1, 0), -EACCES);
	assert_int_equal(ptd_removexattr(e, roots, "user.u"), -EACCES);
	assert_int_equal(ptd_setxattr(e, mine, "user.x", "x", 1, 0), 0);
	assert_int_equal(ptd_removexattr(e, mine, "user.x"), 0);
	/* privileged namespaces, even on one's own file */
	assert_int_equal(ptd_setxattr(e, mine, "trusted.x", "x", 1, 0), -EPERM);
	assert_int_equal(ptd_setxattr(e, mine, "security.x", "x", 1, 0), -EPERM);
	assert_int_equal(ptd_setxattr(e, mine, "security.capability", &cap,
				      XATTR_CAPS_SZ_2, 0), -EPERM);
	assert_int_equal(ptd_removexattr(e, roots, "trusted.t"), -EPERM);
	/* reading: trusted.* is invisible, user.* needs read access */
	assert_int_equal(ptd_getxattr(e, roots, "trusted.t", buf, 64, &len),
			 -ENODATA);
	assert_int_equal(ptd_getxattr(e, roots, "user.u", buf, 64, &len), 0);
	assert_int_equal(ptd_getxattr(e, secret, "user.s", buf, 64, &len), -EACCES);
	assert_int_equal(ptd_listxattr(e, roots, buf, 64, &len), 0);
	assert_int_equal(len, sizeof("user.u"));
	assert_string_equal(buf, "user.u");
	as_user(e, 0);
	assert_int_equal(ptd_listxattr(e, roots, buf, 64, &len), 0);
	assert_int_equal(len, sizeof("trusted.t") + sizeof("user.u"));

	pt_t_forget(e, roots, 1);
	pt_t_forget(e, mine, 1);
	pt_t_forget(e, secret, 1);
}

/* system.posix_acl_access value: header + entries (little endian on x86). */
struct acl_entry_le {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

static size_t acl_build(unsigned char *buf, const struct acl_entry_le *ents,
			size_t n)
{
	uint32_t version = 2;

	memcpy(buf, &version, 4);
	memcpy(buf + 4, ents, n * sizeof(*ents));
	return 4 + n * sizeof(*ents);
}

static void test_acl_sets_mode(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino = host_file(e, "x7", 0644, 1000);
	const struct acl_entry_le minimal[] = {
		{ 0x01, 7, UINT32_MAX }, /* user::rwx */
		{ 0x04, 4, UINT32_MAX }, /* group::r-- */
		{ 0x20, 0, UINT32_MAX }, /* other::--- */
	};
	const struct acl_entry_le extended[] = {
		{ 0x01, 6, UINT32_MAX }, /* user::rw- */
		{ 0x02, 7, 2000 },       /* user:2000:rwx */
		{ 0x04, 4, UINT32_MAX }, /* group::r-- */
		{ 0x10, 5, UINT32_MAX }, /* mask::r-x */
		{ 0x20, 4, UINT32_MAX }, /* other::r-- */
	};
	unsigned char acl[64], buf[64];
	size_t n, len;
	struct stat st;

	/* a stranger may not, the owner may */
	n = acl_build(acl, minimal, 3);
	as_user(e, 2000);
	assert_int_equal(ptd_setxattr(e, ino, "system.posix_acl_access", acl, n,
				      0), -EPERM);
	as_user(e, 1000);
	assert_int_equal(ptd_setxattr(e, ino, "system.posix_acl_access", acl, n,
				      0), 0);
	assert_int_equal(pt_t_getattr(e, ino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0740);

	n = acl_build(acl, extended, 5);
	assert_int_equal(ptd_setxattr(e, ino, "system.posix_acl_access", acl, n,
				      0), 0);
	assert_int_equal(pt_t_getattr(e, ino, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0654); /* group bits = mask */
	assert_int_equal(ptd_getxattr(e, ino, "system.posix_acl_access", buf,
				      sizeof(buf), &len), 0);
	assert_int_equal(len, n);
	assert_int_equal(ptd_removexattr(e, ino, "system.posix_acl_access"), 0);
	as_user(e, 0);
	pt_t_forget(e, ino, 1);
}

static void test_disabled(void **state)
{
	struct pt_env *e = ptd_env_new(false, false);
	struct fs_inode *ino = host_file(e, "x8", 0644, 0);
	char buf[16];
	size_t len;

	(void)state;
	assert_int_equal(ptd_setxattr(e, ino, "user.a", "a", 1, 0), -ENOSYS);
	assert_int_equal(ptd_getxattr(e, ino, "user.a", buf, 16, &len), -ENOSYS);
	assert_int_equal(ptd_listxattr(e, ino, buf, 16, &len), -ENOSYS);
	assert_int_equal(ptd_removexattr(e, ino, "user.a"), -ENOSYS);
	pt_t_forget(e, ino, 1);
	pt_env_free(e);

	e = ptd_env_new(true, false);
	ino = host_file(e, "x9", 0644, 0);
	assert_int_equal(ptd_getxattr(e, ino, "system.posix_acl_access", buf, 16,
				      &len), -EOPNOTSUPP);
	assert_int_equal(ptd_setxattr(e, ino, "system.posix_acl_default", "", 0,
				      0), -EOPNOTSUPP);
	assert_int_equal(ptd_setxattr(e, ino, "user.a", "a", 1, 0), 0);
	pt_t_forget(e, ino, 1);
	pt_env_free(e);
}

/*
 * Child of test_no_proc: in its own mount namespace, /proc goes away after
 * the back-end started (as in a sandbox).  Exit status: 0 ok, 77 skipped,
 * else the number of the failed check.
 */
static int no_proc_child(void)
{
	struct pt_env *e;
	struct fs_inode *file;
	struct fs_entry fifo;
	char buf[8];
	size_t len = 0;
	int ret = 0;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	e = ptd_env_new(true, true);
	file = host_file(e, "np", 0644, 0);
	if (pt_t_mknod(e, e->root, "np-fifo", S_IFIFO | 0644, 0, &fifo) != 0)
		return 2;
	if (umount2("/proc", MNT_DETACH) < 0)
		return 77;
	/* regular files and directories are reopened instead */
	if (ptd_setxattr(e, file, "user.np", "v", 1, 0) != 0)
		ret = 3;
	else if (ptd_getxattr(e, file, "user.np", buf, 8, &len) != 0 || len != 1)
		ret = 4;
	else if (ptd_listxattr(e, e->root, buf, 0, &len) != 0)
		ret = 5;
	/* nothing else is ever opened */
	else if (ptd_setxattr(e, fifo.inode, "trusted.f", "v", 1, 0) !=
		 -EOPNOTSUPP)
		ret = 6;
	pt_t_forget(e, file, 1);
	pt_t_forget(e, fifo.inode, 1);
	pt_env_free(e);
	return ret;
}

static void test_no_proc(void **state)
{
	pid_t pid = fork();
	int status;

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(no_proc_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_list_remove),
		cmocka_unit_test(test_names_and_sizes),
		cmocka_unit_test(test_file_types),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_acl_sets_mode),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_no_proc),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, setup, pt_teardown);
}
