// SPDX-License-Identifier: MIT
/*
 * cred.c - act as the guest's caller while creating files.
 *
 * New files must belong to the caller, and the kernel must take its
 * set-group-ID decisions for the caller, not for us.  So creation runs on
 * a worker thread switched to the caller's effective uid/gid with NO
 * supplementary groups: had we kept ours (root's), a file created in a
 * set-group-ID directory of one of our groups would keep S_ISGID
 * (CVE-2022-0358).  Only the calling thread switches: glibc's setresuid()
 * and setgroups() change every thread of the process, so we use the raw
 * syscalls.  Real and saved ids stay 0, which lets the thread switch back.
 *
 * Switching the effective uid away from 0 also clears the thread's
 * effective capabilities (CAP_DAC_READ_SEARCH: no open_by_handle_at while
 * switched), and switching back restores them.
 *
 * The umask: each worker unshares its fs_struct once, so umask() is per
 * thread, and is set to the caller's before every creation; the kernel
 * then applies it exactly as for a local process (ignoring it when the
 * parent directory has a default ACL).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "pt_core.h"

/* per thread: 1 = own fs_struct (umask per thread), -1 = unshare failed */
static _Thread_local int pt_thread_fs;
/* per thread: our supplementary groups while switched away from them */
static _Thread_local gid_t *pt_saved_groups;
static _Thread_local int pt_saved_ngroups;
static _Thread_local int pt_saved_cap;

static bool pt_cred_set_umask(mode_t umask_bits)
{
	if (pt_thread_fs == 0) {
		pt_thread_fs = unshare(CLONE_FS) == 0 ? 1 : -1;
		if (pt_thread_fs < 0)
			log_warn("passthrough: unshare(CLONE_FS): errno %d; "
				 "applying the umask by hand", errno);
	}
	if (pt_thread_fs < 0)
		return false;
	umask(umask_bits & 0777);
	return true;
}

mode_t pt_cred_mode(const struct fs_cred *cred, mode_t mode)
{
	if (pt_thread_fs > 0)
		return mode;
	return mode & ~(mode_t)(cred->umask & 0777);
}

/* frees a worker's group buffer when the thread exits */
static pthread_key_t pt_groups_key;
static pthread_once_t pt_groups_once = PTHREAD_ONCE_INIT;

static void pt_groups_key_create(void)
{
	if (pthread_key_create(&pt_groups_key, free) != 0)
		log_warn("passthrough: no thread key: group buffers leak at exit");
}

static int pt_groups_grow(int n)
{
	gid_t *g = realloc(pt_saved_groups, (size_t)n * sizeof(*g));

	if (!g)
		return -ENOMEM;
	pthread_once(&pt_groups_once, pt_groups_key_create);
	pthread_setspecific(pt_groups_key, g);
	pt_saved_groups = g;
	pt_saved_cap = n;
	return 0;
}

/* Remember this thread's supplementary groups (raw: glibc's is the same). */
static int pt_groups_save(void)
{
	long n = syscall(SYS_getgroups, 0, NULL);

	if (n < 0)
		return -errno;
	if (n > pt_saved_cap && pt_groups_grow((int)n) < 0)
		return -ENOMEM;
	n = syscall(SYS_getgroups, pt_saved_cap, pt_saved_groups);
	if (n < 0)
		return -errno;
	pt_saved_ngroups = (int)n;
	return 0;
}

static void pt_cred_fatal(const char *what)
{
	/* a worker stuck with a guest identity would serve others wrongly */
	log_error("passthrough: cannot restore credentials (%s): errno %d",
		  what, errno);
	abort();
}

/* Back to @saved: uid first (it brings the capability to set the rest). */
static void pt_cred_restore(const struct pt_cred_saved *saved, bool groups)
{
	if (syscall(SYS_setresuid, -1, saved->fsuid, -1) < 0)
		pt_cred_fatal("uid");
	if (syscall(SYS_setresgid, -1, saved->fsgid, -1) < 0)
		pt_cred_fatal("gid");
	if (groups && syscall(SYS_setgroups, pt_saved_ngroups, pt_saved_groups) < 0)
		pt_cred_fatal("groups");
}

static int pt_cred_switch(const struct fs_cred *cred,
			  struct pt_cred_saved *saved)
{
	int ret = pt_groups_save();

	if (ret < 0)
		return ret;
	saved->fsuid = geteuid();
	saved->fsgid = getegid();
	/* groups and gid while still privileged, the uid last */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		return -errno;
	if (syscall(SYS_setresgid, -1, cred->gid, -1) < 0 ||
	    syscall(SYS_setresuid, -1, cred->uid, -1) < 0) {
		ret = -errno;
		pt_cred_restore(saved, true);
		return ret;
	}
	saved->switched = true;
	return 0;
}

int pt_cred_enter(const struct fs_cred *cred, struct pt_cred_saved *saved)
{
	saved->switched = false;
	saved->fsuid = 0;
	saved->fsgid = 0;
	pt_cred_set_umask(cred->umask);
	if (cred->uid == 0 && cred->gid == 0)
		return 0;
	/* unprivileged daemon: files are ours, there is nothing to switch */
	if (geteuid() != 0)
		return 0;
	return pt_cred_switch(cred, saved);
}

void pt_cred_leave(struct pt_cred_saved *saved)
{
	if (!saved->switched)
		return;
	pt_cred_restore(saved, true);
	saved->switched = false;
}
