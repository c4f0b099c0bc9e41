// SPDX-License-Identifier: MIT
/*
 * inode.c - the passthrough inode table, file handles and the fd cache.
 *
 * Identity: an inode is (st_dev, st_ino).  Where the host fs gives file
 * handles, an inode is held by its handle plus, at most while it is in the
 * bounded LRU cache, an O_PATH fd; otherwise (fds mode, other mounts,
 * unlinked inodes) it pins one O_PATH fd for its whole life.
 *
 * A handle-held inode does not keep the host inode alive, so its number can
 * be reused by a new file; lookups therefore compare handles too (the
 * handle carries the generation) and a mismatch retires the old entry.
 *
 * Locking: the hash is under table->lock, the cache under table->cache_lock;
 * the two are never held together.  References are atomic: an inode whose
 * count reached 0 is dying and is skipped by lookups (no resurrection), its
 * owner unhashes and frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostfs/log.h"
#include "pt_core.h"

#define PT_HASH_MIN 1024u
#define PT_EVICT_BATCH 8

struct pt_inode_priv {
	struct pt_inode *hash_next;
	bool stale;      /* replaced by a newer inode with the same number */
	bool pinned;     /* @fd is held for the inode's whole life */
	int fd;          /* pinned or cached O_PATH fd, -1 if none */
	uint32_t fd_users;             /* get_path_fd holders (cache mode) */
	struct pt_inode *lru_prev;     /* idle cached fds, head = newest */
	struct pt_inode *lru_next;
	struct file_handle *handle;    /* NULL when pinned */
};

/* One allocation per inode: the public part, the private part, the handle. */
struct pt_inode_box {
	struct pt_inode pub;
	struct pt_inode_priv priv;
};

struct pt_inode_table {
	pthread_mutex_t lock;
	struct pt_inode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;

	pthread_mutex_t cache_lock;
	struct pt_inode *lru_head;
	struct pt_inode *lru_tail;
	uint32_t cached;     /* cached fds, idle or in use */
	uint32_t cache_max;
	uint64_t pinned;     /* pinned fds */
};

/* A handle as name_to_handle_at returns it, on the stack. */
struct pt_handle_buf {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

/* --- hashing --------------------------------------------------------------- */

static size_t pt_hash(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)(h & (nbuckets - 1));
}

static bool pt_handle_equal(const struct file_handle *a,
			    const struct file_handle *b)
{
	return a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

/* Take a reference unless the count already dropped to 0 (dying). */
static bool pt_inode_get_unless_zero(struct pt_inode *inode)
{
	uint64_t old = atomic_load_explicit(&inode->refs, memory_order_relaxed);

	while (old != 0) {
		if (atomic_compare_exchange_weak_explicit(
			    &inode->refs, &old, old + 1, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * The live inode for (@st dev, ino) matching @h (NULL: no handle to compare),
 * with a new reference; an entry whose handle differs is a reused inode
 * number: mark it stale so nobody finds it again.  Under table->lock.
 */
static struct pt_inode *pt_table_find(struct pt_inode_table *t,
				      const struct stat *st,
				      const struct file_handle *h)
{
	size_t b = pt_hash(st->st_dev, st->st_ino, t->nbuckets);
	struct pt_inode *i;

	for (i = t->buckets[b]; i; i = i->priv->hash_next) {
		if (i->dev != st->st_dev || i->ino != st->st_ino ||
		    i->priv->stale)
			continue;
		if (h && i->priv->handle && !pt_handle_equal(h, i->priv->handle)) {
			i->priv->stale = true;
			continue;
		}
		if (pt_inode_get_unless_zero(i))
			return i;
	}
	return NULL;
}

/* Double the bucket array; under table->lock.  Failure just keeps chains longer. */
static void pt_table_grow(struct pt_inode_table *t)
{
	size_t n = t->nbuckets * 2;
	struct pt_inode **nb = calloc(n, sizeof(*nb));
	struct pt_inode *i, *next;

	if (!nb)
		return;
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (i = t->buckets[b]; i; i = next) {
			size_t nbk = pt_hash(i->dev, i->ino, n);

			next = i->priv->hash_next;
			i->priv->hash_next = nb[nbk];
			nb[nbk] = i;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static void pt_table_insert(struct pt_inode_table *t, struct pt_inode *inode)
{
	size_t b;

	if (t->count >= t->nbuckets)
		pt_table_grow(t);
	b = pt_hash(inode->dev, inode->ino, t->nbuckets);
	inode->priv->hash_next = t->buckets[b];
	t->buckets[b] = inode;
	t->count++;
}

static void pt_table_remove(struct pt_inode_table *t, struct pt_inode *inode)
{
	size_t b = pt_hash(inode->dev, inode->ino, t->nbuckets);
	struct pt_inode **pp;

	for (pp = &t->buckets[b]; *pp; pp = &(*pp)->priv->hash_next) {
		if (*pp == inode) {
			*pp = inode->priv->hash_next;
			t->count--;
			return;
		}
	}
}

/* --- the fd cache ------------------------------------------------------------ */

static void pt_lru_unlink(struct pt_inode_table *t, struct pt_inode *inode)
{
	struct pt_inode_priv *p = inode->priv;

	if (p->lru_prev)
		p->lru_prev->priv->lru_next = p->lru_next;
	else
		t->lru_head = p->lru_next;
	if (p->lru_next)
		p->lru_next->priv->lru_prev = p->lru_prev;
	else
		t->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

static void pt_lru_push(struct pt_inode_table *t, struct pt_inode *inode)
{
	struct pt_inode_priv *p = inode->priv;

	p->lru_prev = NULL;
	p->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->priv->lru_prev = inode;
	else
		t->lru_tail = inode;
	t->lru_head = inode;
}

/*
 * Take idle fds off the LRU tail while the cache is over its bound; they
 * are closed by the caller after dropping the lock.  Fds in use are never
 * taken, so the bound can be exceeded by the number of calls in flight.
 */
static int pt_cache_trim(struct pt_inode_table *t, int fds[PT_EVICT_BATCH])
{
	int n = 0;

	while (t->cached > t->cache_max && t->lru_tail && n < PT_EVICT_BATCH) {
		struct pt_inode *victim = t->lru_tail;

		pt_lru_unlink(t, victim);
		fds[n++] = victim->priv->fd;
		victim->priv->fd = -1;
		t->cached--;
	}
	return n;
}

static void pt_close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * Give @fd (an O_PATH fd of @inode) to the cache, as an idle entry if
 * @use is false, else counted as one user.  Returns the fd to use: @fd, or
 * the one another thread cached first (then @fd is closed).
 */
static int pt_cache_install(struct pt_inode_table *t, struct pt_inode *inode,
			    int fd, bool use)
{
	struct pt_inode_priv *p = inode->priv;
	int evicted[PT_EVICT_BATCH], n, extra = -1;

	pthread_mutex_lock(&t->cache_lock);
	if (p->fd >= 0) {
		extra = fd;
		fd = p->fd;
		if (use && p->fd_users++ == 0)
			pt_lru_unlink(t, inode);
	} else {
		p->fd = fd;
		t->cached++;
		if (use)
			p->fd_users++;
		else
			pt_lru_push(t, inode);
	}
	n = pt_cache_trim(t, evicted);
	pthread_mutex_unlock(&t->cache_lock);
	pt_close_all(evicted, n);
	if (extra >= 0)
		close(extra);
	return fd;
}

/* Drop @inode's cached fd (the inode is being freed); returns it or -1. */
static int pt_cache_forget(struct pt_inode_table *t, struct pt_inode *inode)
{
	struct pt_inode_priv *p = inode->priv;
	int fd;

	pthread_mutex_lock(&t->cache_lock);
	fd = p->fd;
	if (fd >= 0) {
		if (p->fd_users == 0)
			pt_lru_unlink(t, inode);
		t->cached--;
		p->fd = -1;
	}
	pthread_mutex_unlock(&t->cache_lock);
	return fd;
}

/* The pinned or cached fd of @inode, taken for use; -1 on a cache miss. */
static int pt_inode_cached_path_fd(struct pt_inode_table *t,
				   struct pt_inode *inode)
{
	struct pt_inode_priv *p = inode->priv;
	int fd;

	if (p->pinned)
		return p->fd;
	pthread_mutex_lock(&t->cache_lock);
	fd = p->fd;
	if (fd >= 0 && p->fd_users++ == 0)
		pt_lru_unlink(t, inode);
	pthread_mutex_unlock(&t->cache_lock);
	return fd;
}

int pt_inode_try_path_fd(struct pt_fs *fs, struct pt_inode *inode)
{
	int fd = pt_inode_cached_path_fd(fs->inodes, inode);

	return fd >= 0 ? fd : -EAGAIN;
}

int pt_inode_get_path_fd(struct pt_fs *fs, struct pt_inode *inode)
{
	struct pt_inode_table *t = fs->inodes;
	struct pt_inode_priv *p = inode->priv;
	int fd = pt_inode_cached_path_fd(t, inode);

	if (fd >= 0)
		return fd;
	/* a miss: reopen outside the lock, it may take a while */
	fd = open_by_handle_at(fs->mount_fd, p->handle, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return pt_cache_install(t, inode, fd, true);
}

void pt_inode_put_path_fd(struct pt_fs *fs, struct pt_inode *inode, int fd)
{
	struct pt_inode_table *t = fs->inodes;
	struct pt_inode_priv *p = inode->priv;
	int evicted[PT_EVICT_BATCH], n = 0;

	(void)fd; /* the cached fd cannot change while it has users */
	if (p->pinned)
		return;
	pthread_mutex_lock(&t->cache_lock);
	if (p->fd_users > 0 && --p->fd_users == 0) {
		pt_lru_push(t, inode);
		n = pt_cache_trim(t, evicted);
	}
	pthread_mutex_unlock(&t->cache_lock);
	pt_close_all(evicted, n);
}

/* --- creating and freeing inodes ---------------------------------------------- */

/*
 * The handle of @fd if the inode may be held by it: handles enabled, the
 * host fs supports them, the inode is on the shared dir's own mount (the
 * only mount fd we have) and still linked (an unlinked inode may not be
 * reopenable by handle).  Returns false if the inode must pin its fd.
 */
static bool pt_handle_of(struct pt_fs *fs, int fd, const struct stat *st,
			 struct pt_handle_buf *hb)
{
	int mount_id;

	if (!fs->use_handles || st->st_nlink == 0)
		return false;
	hb->fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &hb->fh, &mount_id, AT_EMPTY_PATH) < 0)
		return false;
	return mount_id == fs->root_mount_id;
}

static struct pt_inode *pt_inode_alloc(const struct stat *st,
				       const struct pt_handle_buf *hb)
{
	size_t hsize = hb ? sizeof(struct file_handle) + hb->fh.handle_bytes : 0;
	struct pt_inode_box *box = calloc(1, sizeof(*box) + hsize);

	if (!box)
		return NULL;
	atomic_init(&box->pub.refs, 1);
	box->pub.dev = st->st_dev;
	box->pub.ino = st->st_ino;
	box->pub.type = st->st_mode & S_IFMT;
	box->pub.priv = &box->priv;
	box->priv.fd = -1;
	if (hb) {
		box->priv.handle = (struct file_handle *)(box + 1);
		memcpy(box->priv.handle, &hb->fh, hsize);
	} else {
		box->priv.pinned = true;
	}
	return &box->pub;
}

static void pt_pinned_count(struct pt_inode_table *t, int delta)
{
	pthread_mutex_lock(&t->cache_lock);
	t->pinned += (uint64_t)(int64_t)delta;
	pthread_mutex_unlock(&t->cache_lock);
}

/* Free an inode nobody references any more (already out of the hash). */
static void pt_inode_free(struct pt_fs *fs, struct pt_inode *inode)
{
	struct pt_inode_table *t = fs->inodes;
	int fd;

	if (inode->priv->pinned) {
		fd = inode->priv->fd;
		if (fd >= 0)
			pt_pinned_count(t, -1);
	} else {
		fd = pt_cache_forget(t, inode);
	}
	if (fd >= 0)
		close(fd);
	free((struct pt_inode_box *)inode);
}

/*
 * Insert @fresh unless another thread inserted the same inode meanwhile;
 * returns the inode to use (with a reference) and frees @fresh if unused
 * (without closing its fd: the caller still owns that).
 */
static struct pt_inode *pt_table_add(struct pt_fs *fs, struct pt_inode *fresh,
				     const struct stat *st,
				     const struct file_handle *h)
{
	struct pt_inode_table *t = fs->inodes;
	struct pt_inode *found;

	pthread_mutex_lock(&t->lock);
	found = pt_table_find(t, st, h);
	if (!found)
		pt_table_insert(t, fresh);
	pthread_mutex_unlock(&t->lock);
	if (found)
		free((struct pt_inode_box *)fresh);
	return found ? found : fresh;
}

static struct pt_inode *pt_inode_find(struct pt_fs *fs, const struct stat *st,
				      const struct file_handle *h)
{
	struct pt_inode *found;

	pthread_mutex_lock(&fs->inodes->lock);
	found = pt_table_find(fs->inodes, st, h);
	pthread_mutex_unlock(&fs->inodes->lock);
	return found;
}

/* Offer @fd of a known inode to the cache, or close it if not needed. */
static void pt_inode_adopt_fd(struct pt_fs *fs, struct pt_inode *inode, int fd)
{
	if (inode->priv->pinned)
		close(fd);
	else
		pt_cache_install(fs->inodes, inode, fd, false);
}

/*
 * A new inode for @fd, unless another thread added it first (then that one).
 * A pinned inode gets its fd before it becomes visible in the table.
 */
static int pt_inode_add(struct pt_fs *fs, int fd, const struct stat *st,
			const struct pt_handle_buf *hb, struct pt_inode **out)
{
	struct pt_inode *fresh = pt_inode_alloc(st, hb);
	struct pt_inode *inode;
	bool pinned;

	if (!fresh) {
		close(fd);
		return -ENOMEM;
	}
	pinned = fresh->priv->pinned;
	if (pinned)
		fresh->priv->fd = fd;
	inode = pt_table_add(fs, fresh, st, hb ? &hb->fh : NULL);
	if (inode != fresh || !pinned)
		pt_inode_adopt_fd(fs, inode, fd);
	else
		pt_pinned_count(fs->inodes, 1);
	*out = inode;
	return 0;
}

int pt_inode_from_fd(struct pt_fs *fs, int fd, const struct stat *st,
		     struct pt_inode **out)
{
	struct pt_handle_buf hb;
	struct stat stbuf;
	struct pt_inode *inode;
	bool have_handle;

	if (!st) {
		if (fstatat(fd, "", &stbuf, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		st = &stbuf;
	}
	have_handle = pt_handle_of(fs, fd, st, &hb);
	inode = pt_inode_find(fs, st, have_handle ? &hb.fh : NULL);
	if (!inode)
		return pt_inode_add(fs, fd, st, have_handle ? &hb : NULL, out);
	pt_inode_adopt_fd(fs, inode, fd);
	*out = inode;
	return 0;
}

void pt_inode_ref(struct pt_inode *inode)
{
	atomic_fetch_add_explicit(&inode->refs, 1, memory_order_relaxed);
}

void pt_inode_unref(struct pt_fs *fs, struct pt_inode *inode, uint64_t n)
{
	uint64_t old = atomic_load_explicit(&inode->refs, memory_order_relaxed);
	uint64_t sub;

	do {
		sub = n < old ? n : old;
	} while (!atomic_compare_exchange_weak_explicit(
		&inode->refs, &old, old - sub, memory_order_acq_rel,
		memory_order_relaxed));
	if (sub != n)
		log_error("passthrough: inode %llu: dropping %llu refs, had %llu",
			  (unsigned long long)inode->ino,
			  (unsigned long long)n, (unsigned long long)old);
	if (old == 0 || old != sub)
		return;
	pthread_mutex_lock(&fs->inodes->lock);
	pt_table_remove(fs->inodes, inode);
	pthread_mutex_unlock(&fs->inodes->lock);
	pt_inode_free(fs, inode);
}

int pt_inode_open(struct pt_fs *fs, struct pt_inode *inode, int flags,
		  bool allow_special)
{
	char name[PT_FD_NAME_MAX];
	int pfd, fd;

	switch (inode->type) {
	case S_IFLNK:
		return -ELOOP; /* never follow: a symlink has nothing to open */
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		if (!allow_special)
			return -ENXIO; /* CVE-2020-35517 */
		break;
	default:
		break;
	}
	flags &= ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_PATH | (O_TMPFILE & ~O_DIRECTORY));
	flags |= O_CLOEXEC | O_NOCTTY;
	if (!inode->priv->pinned) {
		fd = open_by_handle_at(fs->mount_fd, inode->priv->handle, flags);
		return fd >= 0 ? fd : (errno == ENOENT ? -ESTALE : -errno);
	}
	pfd = pt_inode_get_path_fd(fs, inode);
	if (pfd < 0)
		return pfd;
	pt_fd_name(pfd, name);
	fd = openat(fs->proc_self_fd, name, flags);
	if (fd < 0)
		fd = -errno;
	pt_inode_put_path_fd(fs, inode, pfd);
	return fd;
}

void pt_fd_name(int fd, char buf[PT_FD_NAME_MAX])
{
	snprintf(buf, PT_FD_NAME_MAX, "%d", fd);
}

/* --- the table as a whole ------------------------------------------------------- */

static int pt_root_inode(struct pt_fs *fs)
{
	struct stat st;
	struct pt_inode *root;
	int fd = fcntl(fs->root_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	/* pinned, whatever the mode: the root is used by every walk */
	root = pt_inode_alloc(&st, NULL);
	if (!root) {
		close(fd);
		return -ENOMEM;
	}
	root->priv->fd = fd;
	pt_table_insert(fs->inodes, root);
	pt_pinned_count(fs->inodes, 1);
	fs->root = root;
	return 0;
}

int pt_inode_table_create(struct pt_fs *fs, uint32_t fd_cache_size)
{
	struct pt_inode_table *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	t->nbuckets = PT_HASH_MIN;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	t->cache_max = fd_cache_size ? fd_cache_size : 1024;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->cache_lock, NULL);
	fs->inodes = t;
	ret = pt_root_inode(fs);
	if (ret < 0)
		pt_inode_table_destroy(fs);
	return ret;
}

void pt_inode_table_destroy(struct pt_fs *fs)
{
	struct pt_inode_table *t = fs->inodes;
	struct pt_inode *i, *next;

	if (!t)
		return;
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (i = t->buckets[b]; i; i = next) {
			next = i->priv->hash_next;
			pt_inode_free(fs, i);
		}
	}
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->cache_lock);
	free(t->buckets);
	free(t);
	fs->inodes = NULL;
	fs->root = NULL;
}

uint64_t pt_inode_table_fds(struct pt_fs *fs)
{
	struct pt_inode_table *t = fs->inodes;
	uint64_t n;

	pthread_mutex_lock(&t->cache_lock);
	n = t->cached + t->pinned;
	pthread_mutex_unlock(&t->cache_lock);
	return n;
}

uint64_t pt_inode_table_count(struct pt_fs *fs)
{
	struct pt_inode_table *t = fs->inodes;
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
