// SPDX-License-Identifier: MIT
/*
 * test_pt_security.c - the guest must not leave the share, open host
 * devices, or create files with anything but its own identity:
 *   - names that are not one component; symlinks to / and out of the share;
 *     a directory renamed while names are resolved in it;
 *   - device nodes, FIFOs, sockets and symlinks are never opened
 *     (CVE-2020-35517), not even by a create that finds one;
 *   - creations as uid 1000 give uid 1000 files, without our supplementary
 *     groups (CVE-2022-0358), with the caller's umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "pt_test.h"

static void host_symlink(struct pt_env *e, const char *target, const char *name)
{
	char path[256];

	pt_host_path(e, name, path, sizeof(path));
	assert_int_equal(symlink(target, path), 0);
}

static void host_mkdir(struct pt_env *e, const char *name, mode_t mode)
{
	char path[256];

	pt_host_path(e, name, path, sizeof(path));
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void host_file(struct pt_env *e, const char *name)
{
	char path[256];
	int fd;

	pt_host_path(e, name, path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void test_bad_names(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent;
	struct fs_open_out oo;
	char longname[300];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(pt_t_lookup(e, e->root, "..", &ent), -EINVAL);
	assert_int_equal(pt_t_lookup(e, e->root, ".", &ent), -EINVAL);
	assert_int_equal(pt_t_lookup(e, e->root, "", &ent), -EINVAL);
	assert_int_equal(pt_t_lookup(e, e->root, "../etc", &ent), -EINVAL);
	assert_int_equal(pt_t_lookup(e, e->root, "/etc", &ent), -EINVAL);
	assert_int_equal(pt_t_lookup(e, e->root, longname, &ent), -ENAMETOOLONG);
	assert_int_equal(pt_t_mkdir(e, e->root, "..", 0755, &ent), -EINVAL);
	assert_int_equal(pt_t_mknod(e, e->root, "a/b", S_IFIFO | 0600, 0, &ent), -EINVAL);
	assert_int_equal(pt_t_symlink(e, e->root, "..", "x", &ent), -EINVAL);
	assert_int_equal(pt_t_create(e, e->root, "../x", 0644, O_RDWR, &ent, &oo), -EINVAL);
	assert_int_equal(pt_t_unlink(e, e->root, ".."), -EINVAL);
	assert_int_equal(pt_t_rmdir(e, e->root, ".."), -EINVAL);
	assert_int_equal(pt_t_link(e, e->root, e->root, "x", &ent), -EPERM);
}

/* A symlink leading out of the share is a symlink, never a way out. */
static void test_symlink_escape(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry l, ent;
	struct fs_open_out oo;
	char buf[16];
	size_t len;

	host_symlink(e, "/", "root");
	host_symlink(e, "/etc", "etc");
	host_symlink(e, "..", "up");
	assert_int_equal(pt_t_lookup(e, e->root, "root", &l), 0);
	assert_true(S_ISLNK(l.attr.st_mode));
	assert_int_equal(pt_t_lookup(e, l.inode, "etc", &ent), -ENOTDIR);
	assert_int_equal(pt_t_mkdir(e, l.inode, "x", 0755, &ent), -ENOTDIR);
	assert_int_equal(pt_t_create(e, l.inode, "x", 0644, O_RDWR, &ent, &oo), -ENOTDIR);
	assert_int_equal(pt_t_opendir(e, l.inode, &oo), -ENOTDIR);
	assert_int_equal(pt_t_open(e, l.inode, O_RDONLY, &oo), -ELOOP);
	assert_int_equal(pt_t_readlink(e, l.inode, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 1);
	pt_t_forget(e, l.inode, 1);

	assert_int_equal(pt_t_lookup(e, e->root, "etc", &l), 0);
	assert_int_equal(pt_t_lookup(e, l.inode, "passwd", &ent), -ENOTDIR);
	assert_int_equal(pt_t_open(e, l.inode, O_RDONLY, &oo), -ELOOP);
	pt_t_forget(e, l.inode, 1);

	assert_int_equal(pt_t_lookup(e, e->root, "up", &l), 0);
	assert_int_equal(pt_t_lookup(e, l.inode, "up", &ent), -ENOTDIR);
	pt_t_forget(e, l.inode, 1);

	/* a guest-made symlink to / is stored, and links to it stay symlinks */
	assert_int_equal(pt_t_symlink(e, e->root, "mine", "/", &l), 0);
	assert_int_equal(pt_t_link(e, l.inode, e->root, "mine2", &ent), 0);
	assert_true(S_ISLNK(ent.attr.st_mode));
	assert_int_equal(pt_t_lookup(e, ent.inode, "etc", &ent), -ENOTDIR);
	pt_t_forget(e, l.inode, 2);
}

struct renamer {
	char a[256], b[256];
	atomic_bool stop;
	unsigned long moves;
};

static void *renamer_main(void *arg)
{
	struct renamer *r = arg;

	while (!atomic_load(&r->stop)) {
		if (rename(r->a, r->b) == 0 && rename(r->b, r->a) == 0)
			r->moves++;
	}
	return NULL;
}

/*
 * Names resolve relative to the directory, not to a path: while the
 * directory flips between two places, its "secret" is always the same
 * file, never the decoy "secret" next to the share or at its top.
 */
static void test_rename_during_resolution(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry dir, ent;
	struct renamer r = { 0 };
	struct stat secret;
	char path[256];
	pthread_t th;

	host_mkdir(e, "a", 0755);
	host_mkdir(e, "c", 0755);
	host_mkdir(e, "a/b", 0755);
	host_file(e, "a/b/secret");
	host_file(e, "secret");
	pt_host_path(e, "a/b/secret", path, sizeof(path));
	assert_int_equal(stat(path, &secret), 0);
	assert_int_equal(pt_t_lookup(e, e->root, "a", &ent), 0);
	assert_int_equal(pt_t_lookup(e, ent.inode, "b", &dir), 0);
	pt_t_forget(e, ent.inode, 1);

	pt_host_path(e, "a/b", r.a, sizeof(r.a));
	pt_host_path(e, "c/b", r.b, sizeof(r.b));
	assert_int_equal(pthread_create(&th, NULL, renamer_main, &r), 0);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(pt_t_lookup(e, dir.inode, "secret", &ent), 0);
		assert_int_equal(ent.attr.st_ino, secret.st_ino);
		pt_t_forget(e, ent.inode, 1);
		assert_int_equal(pt_t_lookup(e, dir.inode, "..", &ent), -EINVAL);
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	/* and creating in the moved directory lands in it, wherever it is */
	assert_int_equal(rename(r.a, r.b), 0);
	assert_int_equal(pt_t_mkdir(e, dir.inode, "new", 0755, &ent), 0);
	pt_host_path(e, "c/b/new", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	pt_t_forget(e, ent.inode, 1);
	pt_t_forget(e, dir.inode, 1);
}

/* CVE-2020-35517: special files may exist and be created, never opened. */
static void test_special_files_not_opened(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent, fifo, chr, blk, sock;
	struct fs_open_out oo;
	struct fs_setattr in = { .valid = FS_SET_SIZE };
	struct stat st;
	char path[256];

	assert_int_equal(pt_t_mknod(e, e->root, "fifo", S_IFIFO | 0666, 0, &fifo), 0);
	assert_int_equal(pt_t_mknod(e, e->root, "null", S_IFCHR | 0666,
				    makedev(1, 3), &chr), 0);
	assert_int_equal(pt_t_mknod(e, e->root, "loop", S_IFBLK | 0666,
				    makedev(7, 0), &blk), 0);
	assert_int_equal(pt_t_mknod(e, e->root, "sock", S_IFSOCK | 0666, 0, &sock), 0);
	assert_int_equal(pt_t_open(e, fifo.inode, O_RDONLY | O_NONBLOCK, &oo), -ENXIO);
	assert_int_equal(pt_t_open(e, chr.inode, O_RDWR, &oo), -ENXIO);
	assert_int_equal(pt_t_open(e, blk.inode, O_RDONLY, &oo), -ENXIO);
	assert_int_equal(pt_t_open(e, sock.inode, O_RDONLY, &oo), -ENXIO);
	assert_int_equal(pt_t_opendir(e, chr.inode, &oo), -ENOTDIR);
	/* truncating one would need opening it */
	assert_int_equal(pt_t_setattr(e, chr.inode, NULL, &in, &st), -EINVAL);
	/* a create that finds one (no O_EXCL) must not open it either */
	assert_int_equal(pt_t_create(e, e->root, "fifo", 0644, O_WRONLY | O_CREAT,
				     &ent, &oo), -ENXIO);
	assert_int_equal(pt_t_create(e, e->root, "null", 0644, O_RDWR | O_CREAT,
				     &ent, &oo), -ENXIO);
	/* one the host made is no different */
	pt_host_path(e, "hostnull", path, sizeof(path));
	assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
	assert_int_equal(pt_t_lookup(e, e->root, "hostnull", &ent), 0);
	assert_int_equal(pt_t_open(e, ent.inode, O_WRONLY, &oo), -ENXIO);
	pt_t_forget(e, ent.inode, 1);
	pt_t_forget(e, fifo.inode, 1);
	pt_t_forget(e, chr.inode, 1);
	pt_t_forget(e, blk.inode, 1);
	pt_t_forget(e, sock.inode, 1);
}

static void check_owner(struct pt_env *e, const char *name, uid_t uid, gid_t gid)
{
	char path[256];
	struct stat st;

	pt_host_path(e, name, path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

/* Every thread still in group 2000 and with euid 0 (creds restored). */
static void check_threads_restored(void)
{
	char line[512], cmd[128];
	FILE *f;
	int groups = 0;

	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/status 2>/dev/null | "
		 "grep -E '^(Groups|Uid|Gid):'", (int)getpid());
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Groups:", 7) == 0) {
			assert_non_null(strstr(line, "2000"));
			groups++;
		} else {
			assert_non_null(strstr(line, "\t0\t0\t0\t0"));
		}
	}
	pclose(f);
	assert_true(groups >= 1);
}

static void test_create_as_caller(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry ent;
	struct fs_open_out oo;
	const char *names[] = { "f", "d", "n", "l", "t" };

	/* we (root) are in group 2000; the caller is not */
	gid_t groups[] = { 0, 2000 };

	assert_int_equal(setgroups(2, groups), 0);
	e->cred = (struct fs_cred){ .uid = 1000, .gid = 1000, .umask = 022 };
	assert_int_equal(pt_t_create(e, e->root, "f", 0666, O_RDWR, &ent, &oo), 0);
	assert_int_equal(ent.attr.st_mode & 07777, 0644); /* the caller's umask */
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_mkdir(e, e->root, "d", 0777, &ent), 0);
	assert_int_equal(ent.attr.st_mode & 07777, 0755);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_mknod(e, e->root, "n", S_IFIFO | 0666, 0, &ent), 0);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_symlink(e, e->root, "l", "f", &ent), 0);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_tmpfile(e, e->root, 0600, O_RDWR, &ent, &oo), 0);
	assert_int_equal(ent.attr.st_uid, 1000);
	assert_int_equal(pt_t_link(e, ent.inode, e->root, "t", &ent), 0);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 2);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_owner(e, names[i], 1000, 1000);
	/* a device node needs CAP_MKNOD, which the caller does not have */
	assert_int_equal(pt_t_mknod(e, e->root, "dev", S_IFCHR | 0666,
				    makedev(1, 3), &ent), -EPERM);
	check_threads_restored();
	e->cred = (struct fs_cred){ 0 };
	assert_int_equal(pt_t_mkdir(e, e->root, "rootdir", 0755, &ent), 0);
	check_owner(e, "rootdir", 0, 0);
	pt_t_forget(e, ent.inode, 1);
}

/*
 * CVE-2022-0358: in a set-group-ID directory of group 2000, a file created
 * by uid 1000 (not in 2000) must lose S_ISGID.  It keeps it if the worker
 * kept our supplementary groups (2000 among them) while creating.
 */
static void test_no_supplementary_groups(void **state)
{
	struct pt_env *e = *state;
	struct fs_entry dir, ent;
	struct fs_open_out oo;
	char path[256];
	gid_t groups[] = { 0, 2000 };

	assert_int_equal(setgroups(2, groups), 0);
	host_mkdir(e, "sgid", 02777);
	pt_host_path(e, "sgid", path, sizeof(path));
	assert_int_equal(chown(path, 0, 2000), 0);
	assert_int_equal(chmod(path, 02777), 0);
	assert_int_equal(pt_t_lookup(e, e->root, "sgid", &dir), 0);
	e->cred = (struct fs_cred){ .uid = 1000, .gid = 1000 };
	assert_int_equal(pt_t_create(e, dir.inode, "f", 02755, O_RDWR, &ent, &oo), 0);
	assert_int_equal(ent.attr.st_gid, 2000);          /* inherited */
	assert_int_equal(ent.attr.st_mode & S_ISGID, 0);  /* but not the bit */
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_mknod(e, dir.inode, "n", S_IFREG | 02755, 0, &ent), 0);
	assert_int_equal(ent.attr.st_mode & S_ISGID, 0);
	pt_t_forget(e, ent.inode, 1);
	e->cred = (struct fs_cred){ 0 };
	pt_t_forget(e, dir.inode, 1);
	check_threads_restored();
}

/* A default ACL overrides the umask, exactly as for a local process. */
static void test_umask_default_acl(void **state)
{
	struct pt_env *e = *state;
	/* version 2; USER_OBJ rwx, GROUP_OBJ rwx, OTHER rwx */
	const uint32_t acl[] = { 2, 0x00070001, 0xffffffff, 0x00070004,
				 0xffffffff, 0x00070020, 0xffffffff };
	struct fs_entry dir, ent;
	struct fs_open_out oo;
	char path[256];

	host_mkdir(e, "acl", 0777);
	pt_host_path(e, "acl", path, sizeof(path));
	if (setxattr(path, "system.posix_acl_default", acl, sizeof(acl), 0) < 0) {
		print_message("no POSIX ACLs here (errno %d): not checked\n", errno);
		return;
	}
	assert_int_equal(pt_t_lookup(e, e->root, "acl", &dir), 0);
	e->cred = (struct fs_cred){ .uid = 1000, .gid = 1000, .umask = 077 };
	assert_int_equal(pt_t_create(e, dir.inode, "f", 0666, O_RDWR, &ent, &oo), 0);
	assert_int_equal(ent.attr.st_mode & 0777, 0666);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 1);
	assert_int_equal(pt_t_create(e, e->root, "g", 0666, O_RDWR, &ent, &oo), 0);
	assert_int_equal(ent.attr.st_mode & 0777, 0600);
	assert_int_equal(pt_t_release(e, oo.file), 0);
	pt_t_forget(e, ent.inode, 1);
	e->cred = (struct fs_cred){ 0 };
	pt_t_forget(e, dir.inode, 1);
}

#define BOTH(t) \
	cmocka_unit_test_setup_teardown(t, pt_setup_handles, pt_teardown), \
	cmocka_unit_test_setup_teardown(t, pt_setup_fds, pt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_bad_names),
		BOTH(test_symlink_escape),
		BOTH(test_rename_during_resolution),
		BOTH(test_special_files_not_opened),
		BOTH(test_create_as_caller),
		BOTH(test_no_supplementary_groups),
		BOTH(test_umask_default_acl),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
