// SPDX-License-Identifier: MIT
/*
 * test_data.c - passthrough read/write/fsync on io_uring, KILL_SUIDGID,
 * fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range and syncfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ptd.h"
#include "fs/passthrough/passthrough_internal.h"

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 9));
}

static void host_stat(struct pt_env *e, const char *name, struct stat *st)
{
	char path[256];

	pt_host_path(e, name, path, sizeof(path));
	assert_int_equal(stat(path, st), 0);
}

/* Writes and reads through several iovecs, split differently, at odd offsets. */
static void test_rw_iovecs(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "rw", 0644, O_RDWR, &ino);
	size_t sizes[] = { 1, 4095, 5003, 0, 17 };
	unsigned char *src = malloc(9116), *dst = calloc(1, 9200);
	struct iovec wv[5], rv[4];
	size_t pos = 0, n = 0;

	fill(src, 9116, 3);
	for (int i = 0; i < 5; i++) {
		wv[i].iov_base = src + pos;
		wv[i].iov_len = sizes[i];
		pos += sizes[i];
	}
	assert_int_equal(ptd_write(e, f, 7777, wv, 5, 0, &n), 0);
	assert_int_equal(n, 9116);

	/* read from 3 bytes in, through differently split buffers */
	rv[0] = (struct iovec){ dst, 100 };
	rv[1] = (struct iovec){ dst + 100, 1 };
	rv[2] = (struct iovec){ dst + 101, 8000 };
	rv[3] = (struct iovec){ dst + 8101, 1099 }; /* past EOF */
	assert_int_equal(ptd_read(e, f, 7780, rv, 4, &n), 0);
	assert_int_equal(n, 9116 - 3); /* short at EOF is success */
	assert_memory_equal(dst, src + 3, 9113);

	/* at and past EOF: zero bytes */
	assert_int_equal(ptd_read(e, f, 7777 + 9116, rv, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ptd_read(e, f, 1u << 30, rv, 4, &n), 0);
	assert_int_equal(n, 0);

	/* the hole before the data reads as zeroes */
	assert_int_equal(ptd_read(e, f, 0, rv, 1, &n), 0);
	assert_int_equal(n, 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(dst[i], 0);

	/* offsets io_uring would take for "current position" are refused */
	assert_int_equal(ptd_read(e, f, UINT64_MAX, rv, 1, &n), -EINVAL);
	assert_int_equal(ptd_write(e, f, (uint64_t)INT64_MAX + 1, wv, 1, 0, &n),
			 -EINVAL);
	/* an empty write is a no-op */
	assert_int_equal(ptd_write(e, f, 0, wv + 3, 1, 0, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(ptd_fsync(e, f, false), 0);
	assert_int_equal(ptd_fsync(e, f, true), 0);
	free(src);
	free(dst);
	ptd_file_close(e, f, ino);
}

struct pipe_reader {
	int fd;
	unsigned char *buf;
	size_t want, got;
};

static void *pipe_reader_main(void *arg)
{
	struct pipe_reader *pr = arg;

	usleep(100 * 1000); /* let the first write fill the pipe and stop short */
	while (pr->got < pr->want) {
		ssize_t r = read(pr->fd, pr->buf + pr->got, pr->want - pr->got);

		if (r <= 0)
			break;
		pr->got += (size_t)r;
		usleep(1000);
	}
	return NULL;
}

/*
 * Short writes: a pipe of one page with a slow reader accepts 4 KiB per
 * write, so the 21000 bytes need several resubmissions, some starting in
 * the middle of an iovec.  All bytes must arrive once, in order.
 */
static void test_write_short_resubmit(void **state)
{
	struct pt_env *e = *state;
	struct pipe_reader pr = { 0 };
	struct pt_file pf = { 0 };
	unsigned char *src = malloc(21000);
	struct iovec v[3] = { { src, 5000 }, { src + 5000, 7000 },
			      { src + 12000, 9000 } };
	int p[2];
	size_t n = 0;
	pthread_t th;

	fill(src, 21000, 11);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	pf.fd = p[1];
	pf.flags = O_WRONLY;
	pr.fd = p[0];
	pr.buf = calloc(1, 21000);
	pr.want = 21000;
	assert_int_equal(pthread_create(&th, NULL, pipe_reader_main, &pr), 0);
	assert_int_equal(ptd_write(e, (struct fs_file *)&pf, 0, v, 3, 0, &n), 0);
	assert_int_equal(n, 21000);
	pthread_join(th, NULL);
	assert_int_equal(pr.got, 21000);
	assert_memory_equal(pr.buf, src, 21000);
	close(p[0]);
	close(p[1]);
	free(pr.buf);
	free(src);
}

/* An error after some progress reports the progress (as write(2) does). */
static void test_write_error_after_progress(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "fsize", 0644, O_RDWR, &ino);
	unsigned char buf[8192];
	struct iovec v[2] = { { buf, 4096 }, { buf + 4096, 4096 } };
	struct rlimit old, lim;
	size_t n = 0;

	memset(buf, 'x', sizeof(buf));
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 6000; /* the soft limit only: we may not raise a hard one */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(ptd_write(e, f, 0, v, 2, 0, &n), 0);
	assert_int_equal(n, 6000);
	assert_int_equal(ptd_write(e, f, 6000, v, 2, 0, &n), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	ptd_file_close(e, f, ino);
}

static bool host_has_xattr(struct pt_env *e, const char *name, const char *x)
{
	char path[256];

	pt_host_path(e, name, path, sizeof(path));
	return getxattr(path, x, NULL, 0) >= 0;
}

static void set_file_caps(struct pt_env *e, const char *name)
{
	struct vfs_cap_data cap = { 0 };
	char path[256];

	cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
	cap.data[0].permitted = 1u << CAP_NET_RAW;
	pt_host_path(e, name, path, sizeof(path));
	assert_int_equal(setxattr(path, "security.capability", &cap,
				  XATTR_CAPS_SZ_2, 0), 0);
}

/* FS_WRITE_KILL_SUIDGID drops S_ISUID, S_ISGID and file capabilities. */
static void test_kill_suidgid(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "suid", 06755, O_RDWR, &ino);
	char b[3] = "abc";
	struct iovec v = { b, 3 };
	struct stat st;
	size_t n;

	set_file_caps(e, "suid");
	/* a privileged writer (no flag) keeps the bits: we are root */
	assert_int_equal(ptd_write(e, f, 0, &v, 1, 0, &n), 0);
	host_stat(e, "suid", &st);
	assert_int_equal(st.st_mode & 07777, 06755);

	set_file_caps(e, "suid"); /* the host drops caps on any write */
	e->cred.uid = 1000;
	e->cred.gid = 1000;
	assert_int_equal(ptd_write(e, f, 1, &v, 1, FS_WRITE_KILL_SUIDGID, &n), 0);
	assert_int_equal(n, 3);
	host_stat(e, "suid", &st);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_size, 4);
	assert_false(host_has_xattr(e, "suid", "security.capability"));
	e->cred.uid = 0;
	e->cred.gid = 0;
	ptd_file_close(e, f, ino);
}

/* S_ISGID without group-exec stays for a writer in the file's group. */
static void test_kill_sgid_noexec(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "sgid", 02664, O_RDWR, &ino);
	char b = 'z';
	struct iovec v = { &b, 1 };
	struct stat st;
	size_t n;

	e->cred.uid = 1000;
	e->cred.gid = 0; /* the file's group */
	assert_int_equal(ptd_write(e, f, 0, &v, 1, FS_WRITE_KILL_SUIDGID, &n), 0);
	host_stat(e, "sgid", &st);
	assert_int_equal(st.st_mode & 07777, 02664);
	e->cred.gid = 1000; /* not in it */
	assert_int_equal(ptd_write(e, f, 0, &v, 1, FS_WRITE_KILL_SUIDGID, &n), 0);
	host_stat(e, "sgid", &st);
	assert_int_equal(st.st_mode & 07777, 0664);
	e->cred.uid = 0;
	e->cred.gid = 0;
	ptd_file_close(e, f, ino);
}

/* Punch a hole in written data and find it again with SEEK_HOLE/SEEK_DATA. */
static void test_fallocate_seek(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "holes", 0644, O_RDWR, &ino);
	size_t len = 1u << 20, n;
	unsigned char *buf = malloc(len);
	struct iovec v = { buf, len };
	struct stat st;
	uint64_t off;

	memset(buf, 0xab, len);
	assert_int_equal(ptd_write(e, f, 0, &v, 1, 0, &n), 0);
	assert_int_equal(ptd_fsync(e, f, false), 0);
	assert_int_equal(ptd_fallocate(e, f, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 65536, 458752), 0);
	assert_int_equal(ptd_lseek(e, f, 0, SEEK_HOLE, &off), 0);
	assert_int_equal(off, 65536);
	assert_int_equal(ptd_lseek(e, f, 65536, SEEK_DATA, &off), 0);
	assert_int_equal(off, 524288);
	assert_int_equal(ptd_lseek(e, f, len, SEEK_DATA, &off), -ENXIO);
	/* the hole reads as zeroes */
	v.iov_len = 4096;
	assert_int_equal(ptd_read(e, f, 65536, &v, 1, &n), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[4095], 0);

	/* KEEP_SIZE preallocates past EOF without growing; mode 0 grows */
	assert_int_equal(ptd_fallocate(e, f, FALLOC_FL_KEEP_SIZE, len, len), 0);
	host_stat(e, "holes", &st);
	assert_int_equal(st.st_size, len);
	assert_int_equal(ptd_fallocate(e, f, 0, len, 4096), 0);
	host_stat(e, "holes", &st);
	assert_int_equal(st.st_size, len + 4096);
	/* ZERO_RANGE */
	assert_int_equal(ptd_fallocate(e, f, FALLOC_FL_ZERO_RANGE, 0, 4096), 0);
	assert_int_equal(ptd_read(e, f, 0, &v, 1, &n), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[4095], 0);

	/* what we refuse */
	assert_int_equal(ptd_fallocate(e, f, FALLOC_FL_PUNCH_HOLE, 0, 4096),
			 -EOPNOTSUPP); /* PUNCH_HOLE needs KEEP_SIZE */
	assert_int_equal(ptd_fallocate(e, f, 0x100, 0, 4096), -EOPNOTSUPP);
	assert_int_equal(ptd_fallocate(e, f, 0, 0, 0), -EINVAL);
	assert_int_equal(ptd_fallocate(e, f, 0, INT64_MAX, 2), -EFBIG);
	assert_int_equal(ptd_fallocate(e, f, 0, UINT64_MAX, 1), -EINVAL);
	assert_int_equal(ptd_lseek(e, f, 0, SEEK_SET, &off), -EINVAL);
	assert_int_equal(ptd_lseek(e, f, UINT64_MAX, SEEK_DATA, &off), -EINVAL);
	free(buf);
	ptd_file_close(e, f, ino);
}

static void test_copy_file_range(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ia, *ib;
	struct fs_file *a = ptd_file(e, "cfr-a", 0644, O_RDWR, &ia);
	struct fs_file *b = ptd_file(e, "cfr-b", 0644, O_RDWR, &ib);
	size_t len = 100000, n;
	unsigned char *src = malloc(len), *dst = calloc(1, len);
	struct iovec v = { src, len };
	struct pt_file *pa = (struct pt_file *)a;

	fill(src, len, 5);
	assert_int_equal(ptd_write(e, a, 0, &v, 1, 0, &n), 0);
	assert_int_equal(ptd_copy(e, a, 1000, b, 5, len - 1000, 0, &n), 0);
	assert_int_equal(n, len - 1000);
	v.iov_base = dst;
	assert_int_equal(ptd_read(e, b, 5, &v, 1, &n), 0);
	assert_int_equal(n, len - 1000);
	assert_memory_equal(dst, src + 1000, len - 1000);

	/* one call copies a bounded amount; callers loop */
	assert_int_equal(ftruncate(pa->fd, 64 << 20), 0);
	assert_int_equal(ptd_copy(e, a, 0, b, 0, 64 << 20, 0, &n), 0);
	assert_true(n > 0 && n <= (8u << 20));

	assert_int_equal(ptd_copy(e, a, 0, b, 0, 10, 1, &n), -EINVAL);
	assert_int_equal(ptd_copy(e, a, UINT64_MAX, b, 0, 10, 0, &n), -EINVAL);
	free(src);
	free(dst);
	ptd_file_close(e, a, ia);
	ptd_file_close(e, b, ib);
}

static void test_syncfs(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "sync", 0644, O_RDWR, &ino);
	struct fs_entry sl;

	assert_int_equal(ptd_syncfs(e, e->root), 0);
	assert_int_equal(ptd_syncfs(e, ino), 0);
	assert_int_equal(pt_t_symlink(e, e->root, "sync-link", "sync", &sl), 0);
	assert_int_equal(ptd_syncfs(e, sl.inode), 0);
	pt_t_forget(e, sl.inode, 1);
	ptd_file_close(e, f, ino);
}

static void test_readonly(void **state)
{
	struct pt_env *e = pt_env_new(PASSTHROUGH_INODES_AUTO, 0, true);
	struct fs_inode *ino;
	struct fs_file *f;
	char b = 'q';
	struct iovec v = { &b, 1 };
	size_t n;
	char path[256];
	int fd;

	(void)state;
	pt_host_path(e, "ro", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	ino = pt_t_get(e, e->root, "ro");
	{
		struct fs_open_out oo = { 0 };

		assert_int_equal(pt_t_open(e, ino, O_RDONLY, &oo), 0);
		f = oo.file;
	}
	assert_int_equal(ptd_write(e, f, 0, &v, 1, 0, &n), -EROFS);
	assert_int_equal(ptd_fallocate(e, f, 0, 0, 10), -EROFS);
	assert_int_equal(ptd_read(e, f, 1, &v, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b, 'a');
	ptd_file_close(e, f, ino);
	pt_env_free(e);
}

/*
 * A read of a range that is only partly in the page cache: the inline
 * RWF_NOWAIT read takes the cached head, io_uring the rest, which starts
 * inside an iovec entry.  (The file leaves the cache whole, then its first
 * half comes back through an fd that does no readahead.)  Every byte must
 * land in its place, once; where the cache is not that obliging, this is
 * an ordinary read.
 */
static void test_read_partly_cached(void **state)
{
	struct pt_env *e = *state;
	struct fs_inode *ino;
	struct fs_file *f = ptd_file(e, "cold", 0644, O_RDWR, &ino);
	size_t len = 256 * 1024, half = 128 * 1024, n = 0;
	unsigned char *src = malloc(len), *dst = malloc(len + 4096);
	struct iovec v = { src, len }, rv[3];
	char path[256];
	int fd;

	fill(src, len, 5);
	memset(dst, 0xa5, len + 4096);
	assert_int_equal(ptd_write(e, f, 0, &v, 1, 0, &n), 0);
	assert_int_equal(n, len);
	pt_host_path(e, "cold", path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
	assert_int_equal(pread(fd, dst, half, 0), (ssize_t)half);
	close(fd);
	memset(dst, 0xa5, len + 4096);
	rv[0] = (struct iovec){ dst, 100000 };
	rv[1] = (struct iovec){ dst + 100000, 60000 }; /* 131072 falls here */
	rv[2] = (struct iovec){ dst + 160000, len + 4096 - 160000 };
	assert_int_equal(ptd_read(e, f, 0, rv, 3, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(dst, src, len);
	assert_int_equal(dst[len], 0xa5); /* nothing past the end of file */
	free(src);
	free(dst);
	ptd_file_close(e, f, ino);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rw_iovecs),
		cmocka_unit_test(test_read_partly_cached),
		cmocka_unit_test(test_write_short_resubmit),
		cmocka_unit_test(test_write_error_after_progress),
		cmocka_unit_test(test_kill_suidgid),
		cmocka_unit_test(test_kill_sgid_noexec),
		cmocka_unit_test(test_fallocate_seek),
		cmocka_unit_test(test_copy_file_range),
		cmocka_unit_test(test_syncfs),
		cmocka_unit_test(test_readonly),
	};

	pt_test_require_root();
	return cmocka_run_group_tests(tests, pt_setup_handles, pt_teardown);
}
