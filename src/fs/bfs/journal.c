// SPDX-License-Identifier: MIT
/*
 * journal.c - commits: the blocks dirtied since the last commit become one
 * transaction in the journal, made durable by blob_sync of the volume
 * (docs/DESIGN.md "Journal, commits, checkpoints").  Transactions are
 * written one at a time; everything applied meanwhile goes into the next
 * one (group commit).  Committed images stay in the overlay until a
 * checkpoint (ckpt.c) writes them home.
 */
#include <errno.h>
#include <isa-l/crc.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"
#include "vhostfs/log.h"

uint32_t bfs_crc_update(uint32_t crc, const void *buf, size_t len)
{
	/* the running value is kept un-inverted between calls */
	return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

uint32_t bfs_crc(const void *buf, size_t len)
{
	return bfs_crc_update(0, buf, len);
}

/* --- overlay ---------------------------------------------------------------- */

static size_t ov_hash(const struct bfs_journal *j, uint64_t blk)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ull) >> 17) & (j->ov_size - 1);
}

const uint8_t *bfs_ov_find(struct bfs *fs, uint64_t blk)
{
	struct bfs_ov *o;

	if (!fs->j.ov)
		return NULL;
	for (o = fs->j.ov[ov_hash(&fs->j, blk)]; o; o = o->next) {
		if (o->blk == blk)
			return o->img;
	}
	return NULL;
}

int bfs_ov_put(struct bfs *fs, uint64_t blk, const uint8_t *img)
{
	struct bfs_journal *j = &fs->j;
	struct bfs_ov *o;

	if (!j->ov) {
		j->ov_size = 1024;
		while (j->ov_size < fs->sb.journal_blocks)
			j->ov_size <<= 1;
		j->ov = calloc(j->ov_size, sizeof(*j->ov));
		if (!j->ov)
			return -ENOMEM;
	}
	for (o = j->ov[ov_hash(j, blk)]; o; o = o->next) {
		if (o->blk == blk) {
			o->img = img;
			return 0;
		}
	}
	o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->blk = blk;
	o->img = img;
	o->next = j->ov[ov_hash(j, blk)];
	j->ov[ov_hash(j, blk)] = o;
	j->ov_n++;
	return 0;
}

void bfs_ov_clear(struct bfs *fs)
{
	struct bfs_journal *j = &fs->j;

	for (size_t i = 0; j->ov && i < j->ov_size; i++) {
		while (j->ov[i]) {
			struct bfs_ov *o = j->ov[i];

			j->ov[i] = o->next;
			free(o);
		}
	}
	j->ov_n = 0;
	while (j->txbufs) {
		struct bfs_txbuf *t = j->txbufs;

		j->txbufs = t->next;
		free(t->mem);
		free(t);
	}
}

void bfs_journal_fini(struct bfs *fs)
{
	bfs_ov_clear(fs);
	free(fs->j.ov);
	fs->j.ov = NULL;
	if (fs->j.tx) {
		free(fs->j.tx->mem);
		free(fs->j.tx);
		fs->j.tx = NULL;
	}
}

/* --- waiters ----------------------------------------------------------------- */

static void waiters_done(struct bfs_wait *w, int err)
{
	while (w) {
		struct bfs_wait *next = w->next;

		w->cb(w->arg, err);
		w = next;
	}
}

static void push(struct bfs_wait **list, struct bfs_wait *w)
{
	w->next = *list;
	*list = w;
}

/* --- building a transaction -------------------------------------------------- */

static uint32_t desc_blocks(uint32_t count)
{
	if (count <= BFS_JTX_HDR_TARGETS)
		return 0;
	return (count - BFS_JTX_HDR_TARGETS + BFS_JTX_DESC_TARGETS - 1) /
	       BFS_JTX_DESC_TARGETS;
}

static uint64_t *target_slot(uint8_t *mem, uint32_t i)
{
	struct bfs_jtx *h = (void *)mem;

	if (i < BFS_JTX_HDR_TARGETS)
		return &h->targets[i];
	i -= BFS_JTX_HDR_TARGETS;
	return (uint64_t *)(mem + BFS_BLOCK * (1 + i / BFS_JTX_DESC_TARGETS)) +
	       i % BFS_JTX_DESC_TARGETS;
}

/* Copy the dirty set into a new transaction; the buffers become clean. */
static struct bfs_txbuf *tx_build(struct bfs *fs, uint32_t *blocks)
{
	struct bfs_list *d = &fs->cache.dirty;
	uint32_t count = (uint32_t)d->n, nd = desc_blocks(count), i = 0;
	struct bfs_txbuf *t = calloc(1, sizeof(*t));
	struct bfs_jtx *h;

	*blocks = 1 + nd + count;
	if (!t || posix_memalign((void **)&t->mem, BFS_BLOCK,
				 (size_t)*blocks * BFS_BLOCK)) {
		free(t);
		return NULL;
	}
	memset(t->mem, 0, (size_t)(1 + nd) * BFS_BLOCK);
	h = (void *)t->mem;
	memcpy(h->magic, BFS_JTX_MAGIC, 8);
	h->blocks = *blocks;
	h->seq = fs->j.seq;
	memcpy(h->uuid, fs->sb.uuid, 16);
	h->count = count;
	h->state = fs->st;
	while (d->n) {
		struct bfs_buf *b = d->head.next;
		uint8_t *img = t->mem + (size_t)(1 + nd + i) * BFS_BLOCK;

		*target_slot(t->mem, i++) = b->blk;
		memcpy(img, b->data, BFS_BLOCK);
		if (b->flags & BFS_BUF_NODE)
			bfs_node_seal(img);
		bfs_list_del(d, b);
		b->flags &= ~BFS_BUF_DIRTY;
		if (!(b->flags & BFS_BUF_PINNED))
			bfs_list_add(&fs->cache.lru, b);
	}
	h->crc = bfs_crc(t->mem, (size_t)*blocks * BFS_BLOCK);
	return t;
}

/* The images of a committed transaction @t become the overlay. */
static int tx_publish(struct bfs *fs, struct bfs_txbuf *t)
{
	struct bfs_jtx *h = (void *)t->mem;
	uint32_t nd = desc_blocks(h->count);

	for (uint32_t i = 0; i < h->count; i++) {
		int rc = bfs_ov_put(fs, *target_slot(t->mem, i),
				    t->mem + (size_t)(1 + nd + i) * BFS_BLOCK);

		if (rc)
			return rc;
	}
	t->next = fs->j.txbufs;
	fs->j.txbufs = t;
	fs->j.cst = h->state;
	return 0;
}

/* --- the commit chain ----------------------------------------------------------- */

static void commit_start(struct bfs *fs);
static void commit_end(struct bfs *fs, int err);

static void commit_ckpt_cpl(struct bfs *fs, int err)
{
	struct bfs_wait *w = fs->j.ckpt_cur;

	fs->j.ckpt_cur = NULL;
	commit_end(fs, err);
	waiters_done(w, err);
}

static void commit_synced(struct bfs *fs, int err)
{
	struct bfs_journal *j = &fs->j;
	struct bfs_txbuf *t = j->tx;

	j->tx = NULL;
	if (!err && t) {
		err = tx_publish(fs, t);
		if (!err) {
			j->pos += j->tx_blocks;
			j->seq++;
			j->commits++;
			bfs_alloc_tx_end(fs);
		}
	}
	if (err && t) {
		free(t->mem);
		free(t);
	}
	if (err)
		bfs_fail(fs, "journal commit failed");
	if (!err && j->ckpt_cur) {
		bfs_ckpt_start(fs, commit_ckpt_cpl);
		return;
	}
	commit_end(fs, err);
}

static void sync_cpl(void *arg, int err)
{
	commit_synced(arg, err);
}

static void write_cpl(void *arg, int err)
{
	struct bfs *fs = arg;

	if (err) {
		commit_synced(fs, err);
		return;
	}
	blob_sync(fs->vol, sync_cpl, fs);
}

static void tx_write(struct bfs *fs, int err)
{
	struct bfs_journal *j = &fs->j;

	if (err) {
		commit_synced(fs, err);
		return;
	}
	j->iov.iov_base = j->tx->mem;
	j->iov.iov_len = (size_t)j->tx_blocks * BFS_BLOCK;
	blob_writev(fs->ch, fs->vol, &j->io, &j->iov, 1,
		    (fs->sb.journal_start + j->pos) * BFS_BLOCK, write_cpl, fs);
}

static void presync_cpl(void *arg, int err)
{
	tx_write(arg, err);
}

static void commit_end(struct bfs *fs, int err)
{
	struct bfs_journal *j = &fs->j;
	struct bfs_wait *w = j->waiting, *ck = j->ckpt_cur;

	j->waiting = NULL;
	j->ckpt_cur = NULL; /* still set: the commit failed before it */
	j->busy = false;
	waiters_done(w, err);
	waiters_done(ck, err ? err : -EIO);
	if (j->next || j->ckpt_next)
		commit_start(fs);
	else /* what was applied meanwhile; its kicks set j->urgent */
		bfs_commit_kick_lazy(fs);
}

static void commit_start(struct bfs *fs)
{
	struct bfs_journal *j = &fs->j;

	if (j->busy)
		return;
	j->busy = true;
	j->urgent = false; /* the dirty set goes into this transaction */
	j->waiting = j->next;
	j->next = NULL;
	j->ckpt_cur = j->ckpt_next;
	j->ckpt_next = NULL;
	if (fs->failed) {
		j->tx = NULL;
		commit_synced(fs, fs->failed);
		return;
	}
	if (fs->cache.dirty.n == 0) {
		/* nothing to log: the sync still makes data writes durable */
		j->tx = NULL;
		blob_sync(fs->vol, sync_cpl, fs);
		return;
	}
	bfs_alloc_tx_begin(fs);
	j->tx = tx_build(fs, &j->tx_blocks);
	if (!j->tx || j->tx_blocks > fs->sb.journal_blocks) {
		bfs_fail(fs, "transaction too large for the journal");
		commit_synced(fs, -EIO);
		return;
	}
	if (j->pos + j->tx_blocks > fs->sb.journal_blocks) {
		bfs_ckpt_start(fs, tx_write); /* journal full: start over */
		return;
	}
	if (fs->alloc.presync) { /* F1: new data durable before the tx */
		blob_sync(fs->vol, presync_cpl, fs);
		return;
	}
	tx_write(fs, 0);
}

/* --- triggers ----------------------------------------------------------------- */

static void timer_cpl(void *arg, int res)
{
	struct bfs *fs = arg;

	fs->j.timer_armed = false;
	if (fs->j.stopping)
		return;
	if (res == -ECANCELED) { /* a lazy timer cut short: arm a short one */
		bfs_commit_kick(fs);
		return;
	}
	if (fs->cache.dirty.n && !fs->j.busy)
		commit_start(fs);
}

/*
 * Arm the timer: commit_ms when any change since the last transaction
 * needs it (j->urgent), else the lazy interval.  An urgent change cuts
 * an armed lazy timer short: cancelled, timer_cpl arms a short one.
 */
static void kick(struct bfs *fs, bool urgent)
{
	struct bfs_journal *j = &fs->j;
	uint32_t ms;

	if (urgent && fs->cache.dirty.n)
		j->urgent = true;
	if (!fs->cache.dirty.n || j->busy || j->stopping)
		return;
	if (fs->cache.dirty.n >= fs->sb.journal_blocks / 4) {
		commit_start(fs);
		return;
	}
	if (j->timer_armed) {
		if (j->timer_lazy && j->urgent) {
			j->timer_lazy = false;
			reactor_cancel(fs->r, &j->timer);
		}
		return;
	}
	ms = j->commit_ms;
	if (!j->urgent && ms < BFS_COMMIT_LAZY_MS)
		ms = BFS_COMMIT_LAZY_MS;
	j->timer_armed = true;
	j->timer_lazy = ms != j->commit_ms;
	reactor_op_init(&j->timer, timer_cpl, fs);
	reactor_timeout(fs->r, &j->timer, (uint64_t)ms * 1000000);
}

void bfs_commit_kick(struct bfs *fs)
{
	kick(fs, true);
}

void bfs_commit_kick_lazy(struct bfs *fs)
{
	kick(fs, false);
}

void bfs_commit_wait(struct bfs *fs, struct bfs_wait *w)
{
	push(&fs->j.next, w);
	commit_start(fs);
}

void bfs_checkpoint_wait(struct bfs *fs, struct bfs_wait *w)
{
	push(&fs->j.ckpt_next, w);
	commit_start(fs);
}
