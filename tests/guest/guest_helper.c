/* vhostfs-helper: the few file-system calls busybox cannot make, for the
 * guest-side workload (tests/guest/workload.sh).  Built static by
 * scripts/guest-image.sh and placed in the initramfs as /bin/vhostfs-helper,
 * because the test guest has no libc of its own.
 *
 * Each sub-command makes one kind of FUSE request reach the back-end in a
 * shape that the kernel's ordinary paths (cp, cat, dd) do not produce:
 * xattr calls, renameat2 flags, O_DIRECT with buffers that start mid-page
 * (the first data page of a request at an offset), and shared writable mmap.
 *
 * Exit status: 0 ok, 1 failed, 2 usage, 3 the file system said "not
 * supported" (EOPNOTSUPP/ENOTSUP/ENOSYS), so that the workload can tell a
 * back-end that does not serve an optional feature from a broken one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PAGE 4096u

struct helper_cmd {
	const char *name;
	int argc; /* arguments after the command name */
	const char *usage;
	int (*run)(char **argv);
};

/* Map errno to our exit status after printing what failed. */
static int helper_fail(const char *what, const char *path)
{
	int err = errno;

	fprintf(stderr, "vhostfs-helper: %s %s: %s\n", what, path, strerror(err));
	if (err == EOPNOTSUPP || err == ENOTSUP || err == ENOSYS)
		return 3;
	return 1;
}

static int cmd_setxattr(char **argv)
{
	if (setxattr(argv[0], argv[1], argv[2], strlen(argv[2]), 0) < 0)
		return helper_fail("setxattr", argv[0]);
	return 0;
}

/* Print the value exactly (no newline) so the caller can compare it. */
static int cmd_getxattr(char **argv)
{
	char buf[4096];
	ssize_t n = getxattr(argv[0], argv[1], buf, sizeof(buf));

	if (n < 0)
		return helper_fail("getxattr", argv[0]);
	fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}

/* One name per line; the size query first exercises the size-0 probe
 * that FUSE forwards to the back-end as a separate request. */
static int cmd_listxattr(char **argv)
{
	char buf[8192];
	ssize_t want = listxattr(argv[0], NULL, 0);
	ssize_t n;

	if (want < 0)
		return helper_fail("listxattr(size)", argv[0]);
	n = listxattr(argv[0], buf, sizeof(buf));
	if (n < 0)
		return helper_fail("listxattr", argv[0]);
	if (n != want) {
		fprintf(stderr, "vhostfs-helper: listxattr size %zd != %zd\n", n, want);
		return 1;
	}
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1)
		printf("%s\n", buf + off);
	return 0;
}

static int cmd_removexattr(char **argv)
{
	if (removexattr(argv[0], argv[1]) < 0)
		return helper_fail("removexattr", argv[0]);
	return 0;
}

/* renameat2 with RENAME_NOREPLACE or RENAME_EXCHANGE (FUSE_RENAME2). */
static int cmd_rename2(char **argv)
{
	unsigned int flags;

	if (strcmp(argv[2], "noreplace") == 0)
		flags = RENAME_NOREPLACE;
	else if (strcmp(argv[2], "exchange") == 0)
		flags = RENAME_EXCHANGE;
	else
		return 2;
	if (renameat2(AT_FDCWD, argv[0], AT_FDCWD, argv[1], flags) < 0)
		return helper_fail("renameat2", argv[0]);
	return 0;
}

/* Deterministic byte pattern so that writer and checker need no shared
 * state: byte i of the file is a function of i. */
static unsigned char helper_pattern(uint64_t i)
{
	return (unsigned char)((i * 131u + (i >> 12)) & 0xffu);
}

/* Full-length pwrite/pread loops: a short transfer is an error here. */
static int helper_pio(int fd, unsigned char *buf, size_t len, off_t off, int wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? pwrite(fd, buf + done, len - done, off + (off_t)done)
			       : pread(fd, buf + done, len - done, off + (off_t)done);
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		done += (size_t)n;
	}
	return 0;
}

/* O_DIRECT write then read back through buffers that start mid-page and a
 * file offset that is not page aligned: the guest then sends data pages
 * whose first one begins at an offset, and READ replies into such pages. */
static int helper_direct_io(int fd, unsigned char *mem, size_t len)
{
	const off_t foff = 5;
	unsigned char *wbuf = mem + 100;
	unsigned char *rbuf = mem + 8 * PAGE + 7;

	for (size_t i = 0; i < len; i++)
		wbuf[i] = helper_pattern(i);
	if (helper_pio(fd, wbuf, len, foff, 1) < 0)
		return -1;
	memset(rbuf, 0, len);
	if (helper_pio(fd, rbuf, len, foff, 0) < 0)
		return -1;
	if (memcmp(wbuf, rbuf, len) != 0) {
		errno = EILSEQ;
		return -1;
	}
	return 0;
}

static int cmd_direct(char **argv)
{
	const size_t len = 3 * PAGE + 17;
	unsigned char *mem;
	int fd, rc;

	mem = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return helper_fail("mmap", "anonymous");
	fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0) {
		munmap(mem, 16 * PAGE);
		return helper_fail("open(O_DIRECT)", argv[0]);
	}
	rc = helper_direct_io(fd, mem, len) < 0 ? helper_fail("direct io", argv[0]) : 0;
	close(fd);
	munmap(mem, 16 * PAGE);
	return rc;
}

/* Fill a file through a shared writable mapping and msync it: the
 * back-end sees the pages as WRITE requests from the kernel's writeback. */
static int cmd_mmapwrite(char **argv)
{
	const size_t len = 5 * PAGE + 123;
	unsigned char *map;
	int fd, rc = 0;

	fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return helper_fail("open", argv[0]);
	if (ftruncate(fd, (off_t)len) < 0) {
		close(fd);
		return helper_fail("ftruncate", argv[0]);
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return helper_fail("mmap", argv[0]);
	}
	for (size_t i = 0; i < len; i++)
		map[i] = helper_pattern(i);
	if (msync(map, len, MS_SYNC) < 0)
		rc = helper_fail("msync", argv[0]);
	munmap(map, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = helper_fail("fsync", argv[0]);
	close(fd);
	return rc;
}

/* Check that a file holds helper_pattern() for exactly LEN bytes from
 * offset OFF (OFF and LEN as written by "direct" or "mmapwrite"). */
static int cmd_checkpattern(char **argv)
{
	size_t len = strtoul(argv[2], NULL, 0);
	off_t off = (off_t)strtoul(argv[1], NULL, 0);
	unsigned char *buf = malloc(len ? len : 1);
	struct stat st;
	int fd, rc = 0;

	if (buf == NULL)
		return 1;
	fd = open(argv[0], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || helper_pio(fd, buf, len, off, 0) < 0) {
		rc = helper_fail("read", argv[0]);
	} else if ((size_t)st.st_size != (size_t)off + len) {
		fprintf(stderr, "vhostfs-helper: %s: size %lld\n", argv[0],
			(long long)st.st_size);
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < len; i++) {
		if (buf[i] != helper_pattern(i)) {
			fprintf(stderr, "vhostfs-helper: %s: byte %zu differs\n", argv[0], i);
			rc = 1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static const struct helper_cmd helper_cmds[] = {
	{ "setxattr", 3, "FILE NAME VALUE", cmd_setxattr },
	{ "getxattr", 2, "FILE NAME", cmd_getxattr },
	{ "listxattr", 1, "FILE", cmd_listxattr },
	{ "removexattr", 2, "FILE NAME", cmd_removexattr },
	{ "rename2", 3, "OLD NEW noreplace|exchange", cmd_rename2 },
	{ "direct", 1, "FILE", cmd_direct },
	{ "mmapwrite", 1, "FILE", cmd_mmapwrite },
	{ "checkpattern", 3, "FILE OFFSET LEN", cmd_checkpattern },
};

static int helper_usage(void)
{
	for (size_t i = 0; i < sizeof(helper_cmds) / sizeof(helper_cmds[0]); i++)
		fprintf(stderr, "usage: vhostfs-helper %s %s\n", helper_cmds[i].name,
			helper_cmds[i].usage);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return helper_usage();
	for (size_t i = 0; i < sizeof(helper_cmds) / sizeof(helper_cmds[0]); i++) {
		const struct helper_cmd *c = &helper_cmds[i];

		if (strcmp(argv[1], c->name) != 0)
			continue;
		if (argc - 2 != c->argc)
			return helper_usage();
		return c->run(argv + 2);
	}
	return helper_usage();
}
