// SPDX-License-Identifier: MIT
/*
 * vfs_helper.c - small jobs the integration scripts cannot do well in shell.
 *
 *   manyfiles DIR N           create N files in DIR, count them with
 *                             readdir, unlink them; exit 1 on any mismatch
 *   exchange A B SECONDS      swap A and B with RENAME_EXCHANGE in a loop
 *   open-refused PATH         every open of PATH must fail with EACCES,
 *                             EPERM or ENXIO (a device node on the share)
 *   fifo-isolated MNT HOST    MNT (a FIFO seen through the mount) and HOST
 *                             (the same FIFO on the host) must be separate:
 *                             a writer through the mount finds no reader
 *                             and bytes written never reach the host FIFO
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "vfs_helper: %s %s: %s\n", what, path,
		strerror(errno));
	return 1;
}

static int many_create(int dfd, const char *dir, long n)
{
	char name[32];

	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "f%07ld", i);
		fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			    0644);
		if (fd < 0)
			return fail("create in", dir);
		close(fd);
	}
	return 0;
}

static long many_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "f", 1) == 0 && strlen(e->d_name) == 8)
			n++;
	}
	closedir(d);
	return n;
}

static int many_unlink(int dfd, const char *dir, long n)
{
	char name[32];

	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%07ld", i);
		if (unlinkat(dfd, name, 0) < 0)
			return fail("unlink in", dir);
	}
	return 0;
}

static int cmd_manyfiles(const char *dir, long n)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	double t0 = now_s(), t1, t2;
	long got;
	int rc;

	if (dfd < 0)
		return fail("open", dir);
	rc = many_create(dfd, dir, n);
	t1 = now_s();
	got = rc ? -1 : many_count(dir);
	t2 = now_s();
	if (!rc && got != n) {
		fprintf(stderr, "vfs_helper: readdir found %ld of %ld\n", got,
			n);
		rc = 1;
	}
	if (!rc)
		rc = many_unlink(dfd, dir, n);
	if (!rc && many_count(dir) != 0) {
		fprintf(stderr, "vfs_helper: files left after unlink\n");
		rc = 1;
	}
	printf("manyfiles: %ld files: create %.1f s, list %.1f s, unlink "
	       "%.1f s\n", n, t1 - t0, t2 - t1, now_s() - t2);
	close(dfd);
	return rc;
}

static int cmd_exchange(const char *a, const char *b, double seconds)
{
	double end = now_s() + seconds;
	long n = 0;

	while (now_s() < end) {
		if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
			return fail("exchange", a);
		n++;
	}
	printf("exchange: %ld swaps\n", n);
	return 0;
}

static int refused(int err)
{
	return err == EACCES || err == EPERM || err == ENXIO;
}

static int cmd_open_refused(const char *path)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };

	for (unsigned int i = 0; i < 3; i++) {
		int fd = open(path, modes[i] | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			fprintf(stderr, "vfs_helper: open(%s, %d) succeeded\n",
				path, modes[i]);
			close(fd);
			return 1;
		}
		if (!refused(errno))
			return fail("open: unexpected error for", path);
	}
	return 0;
}

static int cmd_fifo_isolated(const char *mnt, const char *host)
{
	int hr = open(host, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int w, rw;
	ssize_t n;
	char c;

	if (hr < 0)
		return fail("open host reader", host);
	/* the host FIFO has a reader; the mount's must not share it */
	w = open(mnt, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (w >= 0 || errno != ENXIO) {
		fprintf(stderr, "vfs_helper: writer open through the mount "
			"found the host reader\n");
		return 1;
	}
	rw = open(mnt, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (rw < 0)
		return fail("open O_RDWR", mnt);
	if (write(rw, "x", 1) != 1)
		return fail("write", mnt);
	/* 0: no writer ever opened the host FIFO; EAGAIN: no data */
	n = read(hr, &c, 1);
	if (n > 0 || (n < 0 && errno != EAGAIN)) {
		fprintf(stderr, "vfs_helper: a byte written through the mount "
			"reached the host FIFO\n");
		return 1;
	}
	close(rw);
	close(hr);
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "manyfiles") == 0)
		return cmd_manyfiles(argv[2], atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "exchange") == 0)
		return cmd_exchange(argv[2], argv[3], atof(argv[4]));
	if (argc == 3 && strcmp(argv[1], "open-refused") == 0)
		return cmd_open_refused(argv[2]);
	if (argc == 4 && strcmp(argv[1], "fifo-isolated") == 0)
		return cmd_fifo_isolated(argv[2], argv[3]);
	fprintf(stderr, "usage: vfs_helper manyfiles DIR N | exchange A B SECONDS"
		" | open-refused PATH | fifo-isolated MNT_FIFO HOST_FIFO\n");
	return 2;
}
