// SPDX-License-Identifier: MIT
/*
 * test_xattr.c - extended attributes and POSIX ACLs of bfs on a RAM
 * device: set/get/list/remove with XATTR_CREATE/REPLACE, the size probe
 * and -ERANGE, values up to 64 KiB, namespaces and their permission
 * rules, ACL enforcement, chmod of an ACL, inheritance of default ACLs;
 * all of it across a remount with a clean check.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "bfs_test_ext.h"
#include "vhostfs/log.h"

#define DEV (64ull << 20)

static void remount(struct bt *t)
{
	bt_check(t);
	assert_int_equal(bt_unmount(t), 0);
	assert_int_equal(bt_mount(t), 0);
	bt_check(t);
}

static struct fs_inode *lookup(struct bt *t, const char *name)
{
	struct fs_entry e;

	assert_int_equal(bt_lookup(t, t->root, name, &e), 0);
	return e.inode;
}

static void test_basic(void **state)
{
	struct bt t;
	struct fs_inode *f;
	struct stat st1, st2;
	char buf[256];

	bt_setup(&t, DEV, 65536, false);
	f = bt_put(&t, t.root, "f", "x", 1, false);
	assert_int_equal(bt_getattr(&t, f, &st1), 0);
	usleep(2000);
	assert_int_equal(bx_setxattr(&t, f, "user.a", "hello", 5, 0), 0);
	assert_int_equal(bt_getattr(&t, f, &st2), 0);
	assert_true(st2.st_ctim.tv_sec > st1.st_ctim.tv_sec ||
		    st2.st_ctim.tv_nsec != st1.st_ctim.tv_nsec);
	assert_int_equal(bx_getxattr(&t, f, "user.a", NULL, 0), 5);
	assert_int_equal(bx_getxattr(&t, f, "user.a", buf, 4), -ERANGE);
	assert_int_equal(bx_getxattr(&t, f, "user.a", buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(bx_getxattr(&t, f, "user.b", buf, sizeof(buf)),
			 -ENODATA);
	assert_int_equal(bx_setxattr(&t, f, "user.a", "x", 1, XATTR_CREATE),
			 -EEXIST);
	assert_int_equal(bx_setxattr(&t, f, "user.b", "x", 1, XATTR_REPLACE),
			 -ENODATA);
	assert_int_equal(bx_setxattr(&t, f, "user.a", "bye", 3, XATTR_REPLACE),
			 0);
	assert_int_equal(bx_setxattr(&t, f, "user.empty", "", 0, XATTR_CREATE),
			 0);
	assert_int_equal(bx_setxattr(&t, t.root, "user.dir", "d", 1, 0), 0);
	assert_int_equal(bx_listxattr(&t, f, NULL, 0), 18);
	assert_int_equal(bx_listxattr(&t, f, buf, 10), -ERANGE);
	assert_int_equal(bx_listxattr(&t, f, buf, sizeof(buf)), 18);
	assert_true((!memcmp(buf, "user.a\0user.empty\0", 18)) ||
		    (!memcmp(buf, "user.empty\0user.a\0", 18)));
	assert_int_equal(bx_setxattr(&t, f, "bogus.a", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(bx_setxattr(&t, f, "system.foo", "x", 1, 0),
			 -EOPNOTSUPP);
	assert_int_equal(bx_setxattr(&t, f, "user.", "x", 1, 0), -EINVAL);
	remount(&t);
	f = lookup(&t, "f");
	assert_int_equal(bx_getxattr(&t, f, "user.a", buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_int_equal(bx_getxattr(&t, f, "user.empty", buf, sizeof(buf)), 0);
	assert_int_equal(bx_getxattr(&t, t.root, "user.dir", buf, 1), 1);
	assert_int_equal(bx_removexattr(&t, f, "user.a"), 0);
	assert_int_equal(bx_removexattr(&t, f, "user.a"), -ENODATA);
	assert_int_equal(bx_listxattr(&t, f, buf, sizeof(buf)), 11);
	bt_forget(&t, f);
	/* the xattrs go with the inode */
	assert_int_equal(bt_unlink(&t, t.root, "f"), 0);
	remount(&t);
	bt_teardown(&t);
}

static void test_large(void **state)
{
	struct bt t;
	struct fs_inode *f;
	static uint8_t v[65537], r[65536];
	char name[32];

	for (size_t i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(i * 7 + i / 1024);
	bt_setup(&t, DEV, 65536, false);
	f = bt_put(&t, t.root, "f", NULL, 0, false);
	assert_int_equal(bx_setxattr(&t, f, "user.big", v, 65537, 0), -E2BIG);
	assert_int_equal(bx_setxattr(&t, f, "user.big", v, 65536, 0), 0);
	assert_int_equal(bx_getxattr(&t, f, "user.big", NULL, 0), 65536);
	assert_int_equal(bx_getxattr(&t, f, "user.big", r, 65536), 65536);
	assert_memory_equal(r, v, 65536);
	/* smaller, then larger again: chunks go and come */
	assert_int_equal(bx_setxattr(&t, f, "user.big", v + 1, 3000, 0), 0);
	assert_int_equal(bx_getxattr(&t, f, "user.big", r, 65536), 3000);
	assert_memory_equal(r, v + 1, 3000);
	bt_check(&t);
	assert_int_equal(bx_setxattr(&t, f, "user.big", v + 2, 40000, 0), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.n%d", i);
		assert_int_equal(bx_setxattr(&t, f, name, v + i, 100 + 50 * i,
					     0), 0);
	}
	remount(&t);
	f = lookup(&t, "f");
	assert_int_equal(bx_getxattr(&t, f, "user.big", r, 65536), 40000);
	assert_memory_equal(r, v + 2, 40000);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.n%d", i);
		assert_int_equal(bx_getxattr(&t, f, name, r, 65536),
				 100 + 50 * i);
		assert_memory_equal(r, v + i, 100 + 50 * i);
	}
	assert_int_equal(bx_removexattr(&t, f, "user.big"), 0);
	bt_check(&t);
	bt_forget(&t, f);
	assert_int_equal(bt_unlink(&t, t.root, "f"), 0);
	remount(&t);
	bt_teardown(&t);
}

/* The smallest journal takes the largest replace (about 70 blocks). */
static void test_small_journal(void **state)
{
	struct bfs_mkfs_opts mo = { .journal_blocks = 128 };
	struct bt t;
	struct fs_inode *f;
	static uint8_t v[65536], r[65536];

	bt_setup_opts(&t, DEV, 65536, false, &mo);
	f = bt_put(&t, t.root, "f", NULL, 0, false);
	for (int i = 0; i < 6; i++) {
		char name[16];

		memset(v, 'a' + i, sizeof(v));
		snprintf(name, sizeof(name), "user.o%d", i % 2);
		assert_int_equal(bx_setxattr(&t, f, name, v, sizeof(v), 0), 0);
		assert_int_equal(bx_setxattr(&t, f, "user.big", v, sizeof(v),
					     0), 0);
		bt_forget(&t, bt_put(&t, t.root, name + 5, v, 100, false));
		assert_int_equal(bt_unlink(&t, t.root, name + 5), 0);
	}
	bt_check(&t);
	assert_int_equal(bt_unmount(&t), 0);
	assert_int_equal(bt_mount(&t), 0);
	bt_check(&t);
	f = lookup(&t, "f");
	assert_int_equal(bx_getxattr(&t, f, "user.big", r, sizeof(r)),
			 (long)sizeof(r));
	assert_memory_equal(r, v, sizeof(v));
	bt_forget(&t, f);
	bt_teardown(&t);
}

static void test_namespaces(void **state)
{
	struct bt t;
	struct fs_inode *f, *ro;
	struct fs_entry s, p;
	char buf[256];

	bt_setup(&t, DEV, 65536, false);
	f = bt_put(&t, t.root, "f", NULL, 0, false);
	ro = bt_put(&t, t.root, "ro", NULL, 0, false);
	assert_int_equal(bx_chmod(&t, ro, 0444), 0);
	assert_int_equal(bt_symlink(&t, t.root, "sl", "f", &s), 0);
	assert_int_equal(bt_mknod(&t, t.root, "p", S_IFIFO | 0666, 0, &p), 0);
	assert_int_equal(bx_setxattr(&t, f, "trusted.t", "1", 1, 0), 0);
	assert_int_equal(bx_setxattr(&t, f, "security.s", "2", 1, 0), 0);
	assert_int_equal(bx_setxattr(&t, f, "user.u", "3", 1, 0), 0);
	assert_int_equal(bx_listxattr(&t, f, buf, sizeof(buf)), 28);
	t.cred.uid = 1000;
	t.cred.gid = 1000;
	/* not root: trusted is invisible, security read-only */
	assert_int_equal(bx_getxattr(&t, f, "trusted.t", buf, 8), -ENODATA);
	assert_int_equal(bx_setxattr(&t, f, "trusted.t", "1", 1, 0), -EPERM);
	assert_int_equal(bx_getxattr(&t, f, "security.s", buf, 8), 1);
	assert_int_equal(bx_setxattr(&t, f, "security.s", "1", 1, 0), -EPERM);
	assert_int_equal(bx_listxattr(&t, f, buf, sizeof(buf)), 18);
	/* user.*: read needs r, write needs w, only files and dirs */
	assert_int_equal(bx_getxattr(&t, f, "user.u", buf, 8), 1);
	assert_int_equal(bx_setxattr(&t, f, "user.u", "1", 1, 0), -EACCES);
	assert_int_equal(bx_removexattr(&t, f, "user.u"), -EACCES);
	t.cred.uid = 0;
	t.cred.gid = 0;
	assert_int_equal(bx_setxattr(&t, s.inode, "user.u", "1", 1, 0), -EPERM);
	assert_int_equal(bx_getxattr(&t, s.inode, "user.u", buf, 8), -ENODATA);
	assert_int_equal(bx_setxattr(&t, p.inode, "user.u", "1", 1, 0), -EPERM);
	assert_int_equal(bx_setxattr(&t, p.inode, "trusted.x", "1", 1, 0), 0);
	assert_int_equal(bx_setxattr(&t, ro, "user.u", "1", 1, 0), 0);
	bt_forget(&t, f);
	bt_forget(&t, ro);
	bt_forget(&t, s.inode);
	bt_forget(&t, p.inode);
	remount(&t);
	bt_teardown(&t);
}

/* --- ACLs ------------------------------------------------------------------- */

enum { UO = 1, U = 2, GO = 4, G = 8, M = 0x10, O = 0x20 };

/* An ACL in xattr form from (tag, perm, id) triples ending with tag 0. */
static size_t acl(uint8_t *out, ...)
{
	uint32_t v = 2;
	size_t n = 4;
	va_list ap;

	memcpy(out, &v, 4);
	va_start(ap, out);
	for (;;) {
		uint16_t tag = (uint16_t)va_arg(ap, int), perm;
		uint32_t id;

		if (!tag)
			break;
		perm = (uint16_t)va_arg(ap, int);
		id = (uint32_t)va_arg(ap, int);
		memcpy(out + n, &tag, 2);
		memcpy(out + n + 2, &perm, 2);
		memcpy(out + n + 4, &id, 4);
		n += 8;
	}
	va_end(ap);
	return n;
}

static mode_t mode_of(struct bt *t, struct fs_inode *in)
{
	struct stat st;

	assert_int_equal(bt_getattr(t, in, &st), 0);
	return st.st_mode & 07777;
}

static void as(struct bt *t, uint32_t uid, uint32_t gid)
{
	t->cred.uid = uid;
	t->cred.gid = gid;
}

static void test_acl_access(void **state)
{
	struct bt t;
	struct fs_inode *f;
	uint8_t a[128], r[128];
	size_t n;

	bt_setup(&t, DEV, 65536, false);
	f = bt_put(&t, t.root, "f", "data", 4, false);
	assert_int_equal(bx_chmod(&t, f, 0600), 0);
	as(&t, 1000, 1000);
	assert_int_equal(bx_access(&t, f, R_OK), -EACCES);
	as(&t, 0, 0);
	/* user 1000 may read and write; group 2000 read; mask rw */
	n = acl(a, UO, 6, -1, U, 6, 1000, GO, 0, -1, G, 4, 2000, M, 6, -1, O,
		0, -1, 0);
	assert_int_equal(bx_setxattr(&t, f, "system.posix_acl_access", a, n, 0),
			 0);
	assert_int_equal(mode_of(&t, f), 0660); /* group bits = the mask */
	assert_int_equal(bx_getxattr(&t, f, "system.posix_acl_access", r,
				     sizeof(r)), (long)n);
	assert_memory_equal(r, a, n);
	as(&t, 1000, 1000);
	assert_int_equal(bx_access(&t, f, R_OK | W_OK), 0);
	assert_int_equal(bx_access(&t, f, X_OK), -EACCES);
	as(&t, 3000, 2000);
	assert_int_equal(bx_access(&t, f, R_OK), 0);
	assert_int_equal(bx_access(&t, f, W_OK), -EACCES);
	as(&t, 3000, 3000);
	assert_int_equal(bx_access(&t, f, R_OK), -EACCES);
	/* only the owner may change it */
	assert_int_equal(bx_setxattr(&t, f, "system.posix_acl_access", a, n, 0),
			 -EPERM);
	as(&t, 0, 0);
	/* chmod g= sets the mask: user 1000 loses its rights */
	assert_int_equal(bx_chmod(&t, f, 0604), 0);
	assert_int_equal(bx_getxattr(&t, f, "system.posix_acl_access", r,
				     sizeof(r)), (long)n);
	assert_int_equal(r[4 + 8 * 4 + 2], 0); /* the mask entry's perm */
	assert_int_equal(r[4 + 8 * 5 + 2], 4); /* other */
	as(&t, 1000, 1000);
	assert_int_equal(bx_access(&t, f, R_OK), -EACCES);
	as(&t, 3000, 3000);
	assert_int_equal(bx_access(&t, f, R_OK), 0);
	as(&t, 0, 0);
	remount(&t);
	f = lookup(&t, "f");
	assert_int_equal(bx_getxattr(&t, f, "system.posix_acl_access", r,
				     sizeof(r)), (long)n);
	/* an ACL equal to mode bits is just the mode */
	n = acl(a, UO, 7, -1, GO, 5, -1, O, 1, -1, 0);
	assert_int_equal(bx_setxattr(&t, f, "system.posix_acl_access", a, n, 0),
			 0);
	assert_int_equal(mode_of(&t, f), 0751);
	assert_int_equal(bx_getxattr(&t, f, "system.posix_acl_access", r,
				     sizeof(r)), -ENODATA);
	/* an empty value removes an ACL (none here: still fine) */
	assert_int_equal(bx_setxattr(&t, f, "system.posix_acl_access", "", 0,
				     0), 0);
	assert_int_equal(bx_removexattr(&t, f, "system.posix_acl_access"),
			 -ENODATA);
	bt_forget(&t, f);
	remount(&t);
	bt_teardown(&t);
}

static void test_acl_invalid(void **state)
{
	struct bt t;
	struct fs_inode *f;
	uint8_t a[128];
	const char *an = "system.posix_acl_access";
	size_t n;

	bt_setup(&t, DEV, 65536, false);
	f = bt_put(&t, t.root, "f", NULL, 0, false);
	/* named user without a mask */
	n = acl(a, UO, 6, -1, U, 6, 1000, GO, 0, -1, O, 0, -1, 0);
	assert_int_equal(bx_setxattr(&t, f, an, a, n, 0), -EINVAL);
	/* out of order */
	n = acl(a, GO, 6, -1, UO, 6, -1, O, 0, -1, 0);
	assert_int_equal(bx_setxattr(&t, f, an, a, n, 0), -EINVAL);
	/* users not sorted */
	n = acl(a, UO, 6, -1, U, 6, 5, U, 6, 4, GO, 0, -1, M, 7, -1, O, 0, -1,
		0);
	assert_int_equal(bx_setxattr(&t, f, an, a, n, 0), -EINVAL);
	/* bad perm, bad version, bad length, no other */
	n = acl(a, UO, 8, -1, GO, 6, -1, O, 0, -1, 0);
	assert_int_equal(bx_setxattr(&t, f, an, a, n, 0), -EINVAL);
	n = acl(a, UO, 6, -1, GO, 6, -1, O, 0, -1, 0);
	a[0] = 1;
	assert_int_equal(bx_setxattr(&t, f, an, a, n, 0), -EINVAL);
	a[0] = 2;
	assert_int_equal(bx_setxattr(&t, f, an, a, n - 1, 0), -EINVAL);
	assert_int_equal(bx_setxattr(&t, f, an, a, n - 8, 0), -EINVAL);
	/* a default ACL only on directories */
	assert_int_equal(bx_setxattr(&t, f, "system.posix_acl_default", a, n,
				     0), -EACCES);
	bt_forget(&t, f);
	bt_teardown(&t);
}

static void test_acl_default(void **state)
{
	struct bt t;
	struct fs_entry d, sub, e;
	struct fs_file *f;
	uint8_t a[128], r[128];
	size_t n;

	bt_setup(&t, DEV, 65536, false);
	t.cred.umask = 022;
	assert_int_equal(bt_mkdir(&t, t.root, "d", 0755, &d), 0);
	n = acl(a, UO, 7, -1, U, 7, 1000, GO, 5, -1, M, 7, -1, O, 5, -1, 0);
	assert_int_equal(bx_setxattr(&t, d.inode, "system.posix_acl_default", a,
				     n, 0), 0);
	assert_int_equal(mode_of(&t, d.inode), 0755);
	/* a file: the ACL masked by the create mode, no umask */
	assert_int_equal(bt_create(&t, d.inode, "f", 0666, &e, &f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	assert_int_equal(e.attr.st_mode & 0777, 0664); /* other: r-x & rw- */
	assert_int_equal(bx_getxattr(&t, e.inode, "system.posix_acl_access", r,
				     sizeof(r)), (long)n);
	assert_int_equal(r[4 + 2], 6);      /* owner rw */
	assert_int_equal(r[4 + 8 + 2], 7);  /* named user kept */
	assert_int_equal(r[4 + 24 + 2], 6); /* mask rw */
	assert_int_equal(bx_getxattr(&t, e.inode, "system.posix_acl_default",
				     r, sizeof(r)), -ENODATA);
	as(&t, 1000, 1000);
	assert_int_equal(bx_access(&t, e.inode, W_OK), 0);
	as(&t, 0, 0);
	bt_forget(&t, e.inode);
	/* a directory also gets it as its default */
	assert_int_equal(bt_mkdir(&t, d.inode, "sub", 0700, &sub), 0);
	assert_int_equal(sub.attr.st_mode & 0777, 0700);
	assert_int_equal(bx_getxattr(&t, sub.inode, "system.posix_acl_default",
				     r, sizeof(r)), (long)n);
	assert_memory_equal(r, a, n);
	assert_int_equal(bx_getxattr(&t, sub.inode, "system.posix_acl_access",
				     r, sizeof(r)), (long)n);
	/* symlinks get none, and the umask applies without a default */
	assert_int_equal(bt_symlink(&t, d.inode, "sl", "f", &e), 0);
	bt_forget(&t, e.inode);
	assert_int_equal(bt_create(&t, t.root, "plain", 0666, &e, &f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	assert_int_equal(e.attr.st_mode & 0777, 0644);
	bt_forget(&t, e.inode);
	/* removing the default stops inheritance */
	assert_int_equal(bx_removexattr(&t, d.inode,
					"system.posix_acl_default"), 0);
	assert_int_equal(bt_create(&t, d.inode, "g", 0666, &e, &f), 0);
	assert_int_equal(bt_release(&t, f), 0);
	assert_int_equal(e.attr.st_mode & 0777, 0644);
	bt_forget(&t, e.inode);
	bt_forget(&t, sub.inode);
	bt_forget(&t, d.inode);
	remount(&t);
	bt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_small_journal),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_acl_access),
		cmocka_unit_test(test_acl_invalid),
		cmocka_unit_test(test_acl_default),
	};

	log_set_level(LOG_LEVEL_ERROR);
	bst_reactor();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
