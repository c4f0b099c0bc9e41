// SPDX-License-Identifier: MIT
/*
 * mount.c - opening /dev/fuse, mounting it, cloning channels, unmounting.
 *
 * We call mount(2) ourselves (we run as root), so no fusermount helper and
 * no libfuse are involved.  The kernel sends FUSE_INIT as soon as the mount
 * exists; it waits in the channel until a reactor thread reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "transport/devfuse/devfuse_internal.h"
#include "vhostfs/log.h"

#define DEVFUSE_PATH "/dev/fuse"
#define DEVFUSE_FSNAME_MAX 32

/* Generic VFS options: they are mount(2) flags, not FUSE data. */
struct devfuse_flag_word {
	const char *word;
	unsigned long flag;
	bool set;
};

static const struct devfuse_flag_word devfuse_flag_words[] = {
	{ "ro", MS_RDONLY, true },        { "rw", MS_RDONLY, false },
	{ "nosuid", MS_NOSUID, true },    { "suid", MS_NOSUID, false },
	{ "nodev", MS_NODEV, true },      { "dev", MS_NODEV, false },
	{ "noexec", MS_NOEXEC, true },    { "exec", MS_NOEXEC, false },
	{ "noatime", MS_NOATIME, true },  { "atime", MS_NOATIME, false },
	{ "nodiratime", MS_NODIRATIME, true },
	{ "relatime", MS_RELATIME, true },
	{ "strictatime", MS_STRICTATIME, true },
	{ "sync", MS_SYNCHRONOUS, true }, { "async", MS_SYNCHRONOUS, false },
	{ "dirsync", MS_DIRSYNC, true },
};

/* Options this module sets itself; a caller may not override them. */
static const char *const devfuse_owned_keys[] = {
	"fd", "rootmode", "user_id", "group_id", "max_read",
};

static const struct devfuse_flag_word *devfuse_flag_word_find(const char *w,
							      size_t len)
{
	size_t n = sizeof(devfuse_flag_words) / sizeof(devfuse_flag_words[0]);

	for (size_t i = 0; i < n; i++) {
		if (strlen(devfuse_flag_words[i].word) == len &&
		    memcmp(devfuse_flag_words[i].word, w, len) == 0)
			return &devfuse_flag_words[i];
	}
	return NULL;
}

static bool devfuse_key_is_owned(const char *w, size_t len)
{
	size_t n = sizeof(devfuse_owned_keys) / sizeof(devfuse_owned_keys[0]);
	const char *eq = memchr(w, '=', len);
	size_t klen = eq ? (size_t)(eq - w) : len;

	for (size_t i = 0; i < n; i++) {
		if (strlen(devfuse_owned_keys[i]) == klen &&
		    memcmp(devfuse_owned_keys[i], w, klen) == 0)
			return true;
	}
	return false;
}

/* Append ",<w>" (len bytes) to buf; -EINVAL if it does not fit. */
static int devfuse_data_append(char *buf, size_t size, const char *w,
			       size_t len)
{
	size_t used = strlen(buf);

	if (used + 1 + len + 1 > size)
		return -EINVAL;
	buf[used] = ',';
	memcpy(buf + used + 1, w, len);
	buf[used + 1 + len] = '\0';
	return 0;
}

/* Sort one word of the caller's options into flags or FUSE data. */
static int devfuse_mount_word(char *buf, size_t size, unsigned long *flags,
			      const char *w, size_t len)
{
	const struct devfuse_flag_word *fw;

	if (len == 0)
		return 0;
	fw = devfuse_flag_word_find(w, len);
	if (fw) {
		if (fw->set)
			*flags |= fw->flag;
		else
			*flags &= ~fw->flag;
		return 0;
	}
	if (devfuse_key_is_owned(w, len)) {
		log_error("devfuse: mount option '%.*s' is set by vhostfs itself",
			  (int)len, w);
		return -EINVAL;
	}
	return devfuse_data_append(buf, size, w, len);
}

int devfuse_mount_data(char *buf, size_t size, unsigned long *flags, int fd,
		       uint32_t max_write, const char *extra)
{
	int n;

	/*
	 * nosuid and nodev by default: the share's content is controlled by
	 * whoever writes into it, and device nodes in it must not open host
	 * devices through this mount.
	 */
	*flags = MS_NOSUID | MS_NODEV;
	n = snprintf(buf, size,
		     "fd=%d,rootmode=40000,user_id=%u,group_id=%u,"
		     "default_permissions,allow_other,max_read=%u",
		     fd, (unsigned int)geteuid(), (unsigned int)getegid(),
		     max_write);
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	while (extra && *extra) {
		const char *end = strchr(extra, ',');
		size_t len = end ? (size_t)(end - extra) : strlen(extra);
		int rc = devfuse_mount_word(buf, size, flags, extra, len);

		if (rc < 0)
			return rc;
		extra += len + (end ? 1 : 0);
	}
	return 0;
}

int devfuse_fstype(char *buf, size_t size, const char *fsname)
{
	size_t len = strlen(fsname);
	int n;

	if (len == 0 || len > DEVFUSE_FSNAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = fsname[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return -EINVAL;
	}
	n = snprintf(buf, size, "fuse.%s", fsname);
	return (n < 0 || (size_t)n >= size) ? -EINVAL : 0;
}

int devfuse_detach_dead(const char *mountpoint)
{
	struct statfs sf;

	/*
	 * statfs, not stat: FUSE answers stat from cached attributes even on
	 * a dead connection, but always asks the server for statfs.
	 * ENOTCONN: the connection is gone.  ECONNABORTED: it went while our
	 * request was queued (a killed daemon's fds are released a little
	 * after it dies, when its io_uring rings are torn down).
	 */
	if (statfs(mountpoint, &sf) == 0 ||
	    (errno != ENOTCONN && errno != ECONNABORTED))
		return 0;
	log_warn("devfuse: %s is a dead FUSE mount (crashed daemon?), "
		 "detaching it", mountpoint);
	if (umount2(mountpoint, MNT_DETACH) < 0) {
		int err = errno;

		log_error("devfuse: cannot detach dead mount %s: %s",
			  mountpoint, strerror(err));
		return -err;
	}
	return 0;
}

static int devfuse_check_mountpoint(const char *mountpoint)
{
	struct stat st;
	int rc = devfuse_detach_dead(mountpoint);

	if (rc < 0)
		return rc;
	if (stat(mountpoint, &st) < 0) {
		rc = -errno;
		log_error("devfuse: mount point %s: %s", mountpoint,
			  strerror(-rc));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("devfuse: mount point %s is not a directory",
			  mountpoint);
		return -ENOTDIR;
	}
	return 0;
}

static int devfuse_open_dev(void)
{
	/* Non-blocking: a read with nothing queued parks in poll, not a thread. */
	int fd = open(DEVFUSE_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int err = errno;

		log_error("devfuse: cannot open %s: %s", DEVFUSE_PATH,
			  strerror(err));
		return -err;
	}
	return fd;
}

static int devfuse_do_mount(const struct devfuse_config *cfg,
			    uint32_t max_write, int fd)
{
	const char *fsname = cfg->fsname ? cfg->fsname : "vhostfs";
	char data[DEVFUSE_MOUNT_DATA_MAX];
	char fstype[DEVFUSE_FSNAME_MAX + 8];
	unsigned long flags;
	int rc;

	if (devfuse_fstype(fstype, sizeof(fstype), fsname) < 0) {
		log_error("devfuse: bad fsname '%s' (letters, digits, ._-)",
			  fsname);
		return -EINVAL;
	}
	rc = devfuse_mount_data(data, sizeof(data), &flags, fd, max_write,
				cfg->options);
	if (rc < 0)
		return rc;
	if (mount(fsname, cfg->mountpoint, fstype, flags, data) < 0) {
		rc = -errno;
		log_error("devfuse: mount %s at %s: %s%s", fstype,
			  cfg->mountpoint, strerror(-rc),
			  rc == -EPERM ? " (needs root)" : "");
		return rc;
	}
	return 0;
}

int devfuse_mount(const struct devfuse_config *cfg, uint32_t max_write)
{
	int fd, rc;

	rc = devfuse_check_mountpoint(cfg->mountpoint);
	if (rc < 0)
		return rc;
	fd = devfuse_open_dev();
	if (fd < 0)
		return fd;
	rc = devfuse_do_mount(cfg, max_write, fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int devfuse_clone(int session_fd)
{
	uint32_t master = (uint32_t)session_fd;
	int fd = devfuse_open_dev();

	if (fd < 0)
		return fd;
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &master) < 0) {
		int err = errno;

		log_error("devfuse: FUSE_DEV_IOC_CLONE: %s", strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

void devfuse_unmount(const char *mountpoint)
{
	/* EINVAL: not a mount point any more (someone ran umount first). */
	if (umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 &&
	    errno != EINVAL && errno != ENOENT)
		log_warn("devfuse: umount %s: %s", mountpoint,
			 strerror(errno));
}
