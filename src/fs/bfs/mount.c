// SPDX-License-Identifier: MIT
/*
 * mount.c - mkfs, mount, unmount and sync of a bfs volume.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bfs_internal.h"
#include "vhostfs/log.h"

/* --- block I/O of the mount path ------------------------------------------- */

struct vol_io {
	struct blob_io io;
	struct iovec iov;
	blob_cb cb;
	void *arg;
};

static void vol_io_cpl(void *arg, int err)
{
	struct vol_io *v = arg;
	blob_cb cb = v->cb;
	void *cb_arg = v->arg;

	free(v);
	cb(cb_arg, err);
}

void bfs_vol_rw(struct bfs *fs, bool write, uint64_t blk, void *buf,
		uint32_t nblocks, blob_cb cb, void *arg)
{
	struct vol_io *v = calloc(1, sizeof(*v));

	if (!v) {
		cb(arg, -ENOMEM);
		return;
	}
	v->cb = cb;
	v->arg = arg;
	v->iov.iov_base = buf;
	v->iov.iov_len = (size_t)nblocks * BFS_BLOCK;
	if (write)
		blob_writev(fs->ch, fs->vol, &v->io, &v->iov, 1,
			    blk * BFS_BLOCK, vol_io_cpl, v);
	else
		blob_readv(fs->ch, fs->vol, &v->io, &v->iov, 1,
			   blk * BFS_BLOCK, vol_io_cpl, v);
}

/* --- the in-memory file system ----------------------------------------------- */

static struct bfs *bfs_alloc(struct blob_store *bs, uint32_t cache_blocks,
			     uint32_t commit_ms)
{
	struct bfs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->base.ops = &bfs_fs_ops;
	fs->base.name = "bfs";
	fs->bs = bs;
	fs->r = reactor_current();
	fs->io_unit = blob_store_io_unit(bs);
	fs->j.commit_ms = commit_ms ? commit_ms : 50;
	if (bfs_cache_init(fs, cache_blocks ? cache_blocks : 16384) ||
	    bfs_itab_init(fs) ||
	    posix_memalign((void **)&fs->zero, BFS_BLOCK, BFS_BLOCK)) {
		bfs_cache_fini(fs);
		bfs_itab_fini(fs);
		free(fs);
		return NULL;
	}
	memset(fs->zero, 0, BFS_BLOCK);
	return fs;
}

static void bfs_free(struct bfs *fs)
{
	bfs_itab_fini(fs);
	bfs_rw_fini(fs);
	bfs_journal_fini(fs);
	bfs_alloc_fini(fs);
	bfs_cache_fini(fs);
	free(fs->zero);
	free(fs);
}

/* Pinned, zeroed buffers for the bitmap blocks. */
static int bitmap_bufs(struct bfs *fs)
{
	for (uint64_t i = 0; i < fs->sb.bitmap_blocks; i++) {
		struct bfs_buf *b = bfs_buf_new(fs, fs->sb.bitmap_start + i,
						BFS_BUF_PINNED);

		if (!b)
			return -ENOMEM;
		memset(b->data, 0, BFS_BLOCK);
	}
	return 0;
}

/* --- teardown (shared by mkfs, failed mounts and unmount) ---------------------- */

struct teardown {
	struct bfs *fs;
	blob_cb cb;
	void *arg;
	int err;
	struct reactor_op poll;
};

static void teardown_closed(void *arg, int err)
{
	struct teardown *t = arg;
	blob_cb cb = t->cb;
	void *cb_arg = t->arg;
	int rc = t->err ? t->err : err;

	bfs_free(t->fs);
	free(t);
	cb(cb_arg, rc);
}

static void teardown_poll_cpl(void *arg, int res);

/* Wait for the commit timer and internal operations, then close. */
static void teardown_step(struct teardown *t)
{
	struct bfs *fs = t->fs;

	fs->j.stopping = true;
	if (fs->j.timer_armed || fs->internal_ops || fs->j.busy) {
		if (fs->j.timer_armed)
			reactor_cancel(fs->r, &fs->j.timer);
		reactor_op_init(&t->poll, teardown_poll_cpl, t);
		reactor_timeout(fs->r, &t->poll, 1000000);
		return;
	}
	if (fs->ch && blob_channel_destroy(fs->ch) == 0)
		fs->ch = NULL;
	if (fs->vol) {
		blob_close(fs->vol, teardown_closed, t);
		return;
	}
	teardown_closed(t, 0);
}

static void teardown_poll_cpl(void *arg, int res)
{
	teardown_step(arg);
}

static void teardown(struct bfs *fs, int err, blob_cb cb, void *arg)
{
	struct teardown *t = calloc(1, sizeof(*t));

	if (!t) { /* cannot wait: leak rather than free under a timer */
		cb(arg, err ? err : -ENOMEM);
		return;
	}
	t->fs = fs;
	t->cb = cb;
	t->arg = arg;
	t->err = err;
	teardown_step(t);
}

/* --- mkfs ------------------------------------------------------------------- */

struct mkfs {
	struct bfs *fs;
	struct bfs_mkfs_opts o;
	uint64_t *vol_id;
	uint64_t clusters;
	uint64_t zero_next;
	uint8_t *zbuf;
	struct bfs_wait wait;
	blob_cb cb;
	void *arg;
};

static void mkfs_end(struct mkfs *m, int err)
{
	blob_cb cb = m->cb;
	void *arg = m->arg;

	free(m->zbuf);
	if (m->fs) {
		teardown(m->fs, err, cb, arg);
	} else {
		cb(arg, err);
	}
	free(m);
}

static int mkfs_geometry(struct bfs *fs, const struct bfs_mkfs_opts *o,
			 uint64_t bytes)
{
	struct bfs_super *s = &fs->sb;
	uint64_t n = bytes / BFS_BLOCK;
	uint32_t j = o->journal_blocks;

	if (!j) {
		uint64_t want = n / 64;

		j = (uint32_t)(want < 256 ? 256 : want > 4096 ? 4096 : want);
		while (j > BFS_JOURNAL_MIN && j > n / 4)
			j /= 2;
		j = j < BFS_JOURNAL_MIN ? BFS_JOURNAL_MIN : j;
	}
	if (j < BFS_JOURNAL_MIN || j > BFS_JOURNAL_MAX)
		return -EINVAL;
	memcpy(s->magic, BFS_SUPER_MAGIC, 8);
	s->version = BFS_VERSION;
	s->block_size = BFS_BLOCK;
	s->journal_blocks = j;
	s->nblocks = n;
	s->journal_start = BFS_JOURNAL_START;
	s->bitmap_start = BFS_JOURNAL_START + j;
	s->bitmap_blocks = (n + BFS_BITS_PER_BLOCK - 1) / BFS_BITS_PER_BLOCK;
	s->data_start = s->bitmap_start + s->bitmap_blocks;
	if (n < s->data_start + 16)
		return -EINVAL;
	if (getrandom(s->uuid, sizeof(s->uuid), 0) != sizeof(s->uuid) ||
	    getrandom(s->hash_key, sizeof(s->hash_key), 0) !=
		    sizeof(s->hash_key))
		return -EIO;
	return 0;
}

/* The root directory and the allocation state of an empty fs. */
static int mkfs_contents(struct bfs *fs, const struct bfs_mkfs_opts *o)
{
	struct bfs_dinode d;
	int rc = bitmap_bufs(fs);

	if (rc)
		return rc;
	for (uint64_t b = 0; b < fs->sb.data_start; b++) {
		struct bfs_buf *bm = bfs_cache_find(
			fs, fs->sb.bitmap_start + b / BFS_BITS_PER_BLOCK);

		bfs_buf_dirty(fs, bm);
		bm->data[(b % BFS_BITS_PER_BLOCK) / 8] |=
			(uint8_t)(1u << (b % 8));
	}
	fs->st.used_blocks = fs->sb.data_start;
	fs->st.next_ino = BFS_ROOT_INO + 1;
	fs->st.inodes = 1;
	rc = bfs_alloc_init(fs);
	if (rc == 0)
		rc = bfs_tree_create_root(fs);
	if (rc)
		return rc;
	bfs_dinode_init(&d, S_IFDIR | (o->root_mode ? o->root_mode & 07777
						    : 0755),
			o->root_uid, o->root_gid, 0);
	d.nlink = 2;
	return bfs_tree_insert(fs, bfs_key_make(BFS_ROOT_INO, BFS_T_INODE, 0),
			       &d, sizeof(d));
}

static void mkfs_ckpt_cpl(void *arg, int err)
{
	mkfs_end(arg, err);
}

static void mkfs_zero_cpl(void *arg, int err);

/* Write zeros over the fixed regions: their clusters get allocated now. */
static void mkfs_zero_next(struct mkfs *m)
{
	struct bfs *fs = m->fs;
	uint64_t left = fs->sb.data_start - m->zero_next;
	uint32_t n = (uint32_t)(left < 256 ? left : 256);

	if (!left) {
		m->wait.cb = mkfs_ckpt_cpl;
		m->wait.arg = m;
		fs->j.ckpt_flags = BFS_SUPER_CLEAN;
		bfs_checkpoint_wait(fs, &m->wait);
		return;
	}
	bfs_vol_rw(fs, true, m->zero_next, m->zbuf, n, mkfs_zero_cpl, m);
	m->zero_next += n;
}

static void mkfs_zero_cpl(void *arg, int err)
{
	struct mkfs *m = arg;

	if (err) {
		mkfs_end(m, err);
		return;
	}
	mkfs_zero_next(m);
}

static void mkfs_opened(void *arg, int err)
{
	struct mkfs *m = arg;
	int rc;

	if (err) {
		m->fs->vol = NULL;
		mkfs_end(m, err);
		return;
	}
	rc = blob_channel_create(m->fs->bs, m->fs->r, &m->fs->ch);
	if (rc == 0)
		rc = mkfs_contents(m->fs, &m->o);
	if (rc == 0 && posix_memalign((void **)&m->zbuf, BFS_BLOCK,
				      256 * BFS_BLOCK))
		rc = -ENOMEM;
	if (rc) {
		mkfs_end(m, rc);
		return;
	}
	memset(m->zbuf, 0, 256 * BFS_BLOCK);
	mkfs_zero_next(m);
}

static void mkfs_created(void *arg, int err)
{
	struct mkfs *m = arg;

	if (err) {
		bfs_free(m->fs);
		m->fs = NULL;
		mkfs_end(m, err);
		return;
	}
	m->fs->vol_id = *m->vol_id;
	blob_open(m->fs->bs, *m->vol_id, &m->fs->vol, mkfs_opened, m);
}

void bfs_mkfs(struct blob_store *bs, const struct bfs_mkfs_opts *opts,
	      uint64_t *vol_id, blob_cb cb, void *arg)
{
	struct bfs_mkfs_opts none = { 0 };
	struct blob_store_info info;
	struct blob_create_opts co = { .thin = true };
	struct mkfs *m = calloc(1, sizeof(*m));
	uint64_t cs = blob_store_cluster_size(bs), bytes;
	int rc;

	if (!m || !reactor_current()) {
		free(m);
		cb(arg, m ? -EINVAL : -ENOMEM);
		return;
	}
	m->o = opts ? *opts : none;
	m->vol_id = vol_id;
	m->cb = cb;
	m->arg = arg;
	blob_store_info_get(bs, &info);
	bytes = m->o.size ? m->o.size : info.data_clusters * cs;
	co.clusters = (bytes + cs - 1) / cs;
	m->fs = bfs_alloc(bs, 0, 0);
	rc = m->fs ? mkfs_geometry(m->fs, &m->o, bytes & ~(uint64_t)4095)
		   : -ENOMEM;
	if (rc) {
		if (m->fs)
			bfs_free(m->fs);
		m->fs = NULL;
		mkfs_end(m, rc);
		return;
	}
	blob_create(bs, &co, vol_id, mkfs_created, m);
}

/* --- mount -------------------------------------------------------------------- */

struct mount {
	struct bfs *fs;
	struct fs **out;
	uint8_t *sbuf;  /* both super blocks */
	uint8_t *jbuf;  /* the journal */
	uint8_t *bbuf;  /* the bitmap blocks */
	struct bfs_wait wait;
	blob_cb cb;
	void *arg;
};

static void mount_end(struct mount *m, int err)
{
	blob_cb cb = m->cb;
	void *arg = m->arg;

	free(m->sbuf);
	free(m->jbuf);
	free(m->bbuf);
	if (err) {
		teardown(m->fs, err, cb, arg);
	} else {
		*m->out = &m->fs->base;
		cb(arg, 0);
	}
	free(m);
}

/* Orphans freed: the fs is ready. */
static void mount_orphans_cpl(struct bfs *fs, int err)
{
	struct mount *m = fs->mount_ctx;

	fs->mount_ctx = NULL;
	mount_end(m, err);
}

static void mount_ckpt_cpl(void *arg, int err)
{
	struct mount *m = arg;

	if (err) {
		mount_end(m, err);
		return;
	}
	m->fs->mount_ctx = m;
	if (bfs_orphans_start(m->fs, mount_orphans_cpl))
		mount_end(m, -ENOMEM);
}

/* Bitmap blocks: committed images from the journal win over home. */
static int mount_bitmaps(struct mount *m)
{
	struct bfs *fs = m->fs;
	int rc = bitmap_bufs(fs);

	for (uint64_t i = 0; rc == 0 && i < fs->sb.bitmap_blocks; i++) {
		uint64_t blk = fs->sb.bitmap_start + i;
		const uint8_t *img = bfs_ov_find(fs, blk);

		memcpy(bfs_cache_find(fs, blk)->data,
		       img ? img : m->bbuf + i * BFS_BLOCK, BFS_BLOCK);
	}
	return rc ? rc : bfs_alloc_init(fs);
}

static void mount_bitmaps_cpl(void *arg, int err)
{
	struct mount *m = arg;
	struct bfs *fs = m->fs;

	if (!err)
		err = mount_bitmaps(m);
	if (err) {
		mount_end(m, err);
		return;
	}
	if (fs->read_only) {
		m->fs->mount_ctx = m;
		mount_orphans_cpl(fs, 0);
		return;
	}
	m->wait.cb = mount_ckpt_cpl;
	m->wait.arg = m;
	fs->j.ckpt_flags = 0; /* in use until unmounted */
	bfs_checkpoint_wait(fs, &m->wait);
}

static void mount_journal_cpl(void *arg, int err)
{
	struct mount *m = arg;
	struct bfs *fs = m->fs;
	size_t bm = (size_t)fs->sb.bitmap_blocks * BFS_BLOCK;

	if (!err && !(fs->sb.flags & BFS_SUPER_CLEAN))
		err = bfs_replay(fs, m->jbuf);
	if (!err && fs->j.ov_n) {
		/* the journal buffer now backs the overlay */
		struct bfs_txbuf *t = calloc(1, sizeof(*t));

		if (!t) {
			err = -ENOMEM;
		} else {
			t->mem = m->jbuf;
			m->jbuf = NULL;
			t->next = fs->j.txbufs;
			fs->j.txbufs = t;
		}
	}
	if (!err && posix_memalign((void **)&m->bbuf, BFS_BLOCK, bm))
		err = -ENOMEM;
	if (err) {
		mount_end(m, err);
		return;
	}
	bfs_vol_rw(fs, false, fs->sb.bitmap_start, m->bbuf,
		   (uint32_t)fs->sb.bitmap_blocks, mount_bitmaps_cpl, m);
}

/* The newest valid super block, or -EUCLEAN / -EILSEQ. */
static int mount_pick_super(struct mount *m)
{
	const struct bfs_super *s[2] = { (const void *)m->sbuf,
					  (const void *)(m->sbuf + BFS_BLOCK) };
	const struct bfs_super *best = NULL;
	bool magic = false;

	for (int i = 0; i < 2; i++) {
		magic |= !memcmp(s[i]->magic, BFS_SUPER_MAGIC, 8);
		if (!bfs_super_valid(s[i]) || s[i]->seq % 2 != (uint64_t)i)
			continue;
		if (!best || s[i]->seq > best->seq)
			best = s[i];
	}
	if (!best)
		return magic ? -EUCLEAN : -EILSEQ;
	m->fs->sb = *best;
	m->fs->st = best->state;
	m->fs->j.cst = best->state;
	m->fs->j.seq = best->journal_seq;
	return 0;
}

static void mount_super_cpl(void *arg, int err)
{
	struct mount *m = arg;
	struct bfs *fs = m->fs;
	uint64_t cs = blob_store_cluster_size(fs->bs);

	if (!err)
		err = mount_pick_super(m);
	if (!err && fs->sb.nblocks * BFS_BLOCK > blob_get_clusters(fs->vol) * cs)
		err = -EUCLEAN;
	if (!err && posix_memalign((void **)&m->jbuf, BFS_BLOCK,
				   (size_t)fs->sb.journal_blocks * BFS_BLOCK))
		err = -ENOMEM;
	if (err) {
		mount_end(m, err);
		return;
	}
	if (fs->sb.flags & BFS_SUPER_CLEAN) {
		mount_journal_cpl(m, 0);
		return;
	}
	bfs_vol_rw(fs, false, fs->sb.journal_start, m->jbuf,
		   fs->sb.journal_blocks, mount_journal_cpl, m);
}

static void mount_opened(void *arg, int err)
{
	struct mount *m = arg;
	struct bfs *fs = m->fs;

	if (err)
		fs->vol = NULL;
	if (!err)
		err = blob_channel_create(fs->bs, fs->r, &fs->ch);
	if (!err && blob_get_clusters(fs->vol) * blob_store_cluster_size(fs->bs) <
			    2 * BFS_BLOCK)
		err = -EILSEQ;
	if (!err && posix_memalign((void **)&m->sbuf, BFS_BLOCK,
				   2 * BFS_BLOCK))
		err = -ENOMEM;
	if (err) {
		mount_end(m, err);
		return;
	}
	bfs_vol_rw(fs, false, 0, m->sbuf, 2, mount_super_cpl, m);
}

void bfs_mount(struct blob_store *bs, uint64_t vol_id,
	       const struct bfs_mount_opts *opts, struct fs **out, blob_cb cb,
	       void *arg)
{
	struct bfs_mount_opts none = { 0 };
	const struct bfs_mount_opts *o = opts ? opts : &none;
	struct blob_store_info info;
	struct mount *m = calloc(1, sizeof(*m));

	if (!m || !reactor_current()) {
		free(m);
		cb(arg, m ? -EINVAL : -ENOMEM);
		return;
	}
	m->out = out;
	m->cb = cb;
	m->arg = arg;
	m->fs = bfs_alloc(bs, o->cache_blocks, o->commit_ms);
	if (!m->fs) {
		free(m);
		cb(arg, -ENOMEM);
		return;
	}
	blob_store_info_get(bs, &info);
	m->fs->vol_id = vol_id;
	m->fs->read_only = o->read_only || info.read_only;
	blob_open(bs, vol_id, &m->fs->vol, mount_opened, m);
}

/* --- unmount, sync ---------------------------------------------------------------- */

struct unmount {
	struct bfs *fs;
	struct bfs_wait wait;
	blob_cb cb;
	void *arg;
};

static void unmount_ckpt_cpl(void *arg, int err)
{
	struct unmount *u = arg;

	teardown(u->fs, err, u->cb, u->arg);
	free(u);
}

void bfs_unmount(struct fs *f, blob_cb cb, void *arg)
{
	struct bfs *fs = bfs_of(f);
	struct unmount *u = calloc(1, sizeof(*u));

	if (!u || fs->read_only || fs->failed) {
		free(u);
		teardown(fs, fs->failed, cb, arg);
		return;
	}
	u->fs = fs;
	u->cb = cb;
	u->arg = arg;
	u->wait.cb = unmount_ckpt_cpl;
	u->wait.arg = u;
	fs->j.ckpt_flags = BFS_SUPER_CLEAN;
	bfs_checkpoint_wait(fs, &u->wait);
}

struct sync_req {
	struct bfs_wait wait;
	blob_cb cb;
	void *arg;
};

static void sync_cpl(void *arg, int err)
{
	struct sync_req *s = arg;

	s->cb(s->arg, err);
	free(s);
}

void bfs_sync(struct fs *f, blob_cb cb, void *arg)
{
	struct bfs *fs = bfs_of(f);
	struct sync_req *s = calloc(1, sizeof(*s));

	if (!s || fs->read_only) {
		free(s);
		cb(arg, fs->read_only ? 0 : -ENOMEM);
		return;
	}
	s->cb = cb;
	s->arg = arg;
	s->wait.cb = sync_cpl;
	s->wait.arg = s;
	fs->j.ckpt_flags = 0;
	bfs_checkpoint_wait(fs, &s->wait);
}
