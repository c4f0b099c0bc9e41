// SPDX-License-Identifier: MIT
/*
 * ckpt.c - checkpoints, super blocks and journal replay.
 *
 * A checkpoint writes every committed image of the overlay home, syncs,
 * writes the next super block (the other copy) naming the next journal
 * transaction, and syncs again; then the journal starts over and the
 * blocks freed by committed transactions become reusable (alloc.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_internal.h"
#include "vhostfs/log.h"

#define CKPT_PARALLEL 16

struct ckpt;

struct ckpt_io {
	struct ckpt *ck;
	struct blob_io io;
	struct iovec iov;
};

struct ckpt {
	struct bfs *fs;
	void (*done)(struct bfs *fs, int err);
	struct bfs_ov **list;
	size_t n, next, inflight;
	int err;
	struct ckpt_io io[CKPT_PARALLEL];
};

/* --- super block ------------------------------------------------------------ */

/* A state (super block or journal) within the volume's geometry. */
static bool state_ok(const struct bfs_super *s, const struct bfs_state *st)
{
	return st->root >= s->data_start && st->root < s->nblocks &&
	       st->root_level < BFS_MAX_LEVEL && st->next_ino >= 2 &&
	       st->used_blocks <= s->nblocks;
}

bool bfs_super_valid(const struct bfs_super *s)
{
	struct bfs_super c = *s;
	uint64_t bm;

	c.crc = 0;
	if (memcmp(s->magic, BFS_SUPER_MAGIC, 8) || s->version != BFS_VERSION ||
	    bfs_crc(&c, sizeof(c)) != s->crc || s->incompat ||
	    (s->flags & ~BFS_SUPER_CLEAN) || s->block_size != BFS_BLOCK)
		return false;
	for (size_t i = 0; i < sizeof(s->reserved); i++) {
		if (s->reserved[i])
			return false;
	}
	bm = (s->nblocks + BFS_BITS_PER_BLOCK - 1) / BFS_BITS_PER_BLOCK;
	return s->journal_blocks >= BFS_JOURNAL_MIN &&
	       s->journal_blocks <= BFS_JOURNAL_MAX &&
	       s->journal_start == BFS_JOURNAL_START &&
	       s->bitmap_start == BFS_JOURNAL_START + s->journal_blocks &&
	       s->bitmap_blocks == bm &&
	       s->data_start == s->bitmap_start + bm &&
	       s->nblocks > s->data_start && state_ok(s, &s->state);
}

static void super_cpl(struct bfs *fs, int err)
{
	void (*done)(struct bfs *, int) = fs->j.super_done;

	if (!err)
		fs->sb = *fs->j.sbuf;
	free(fs->j.sbuf);
	fs->j.sbuf = NULL;
	done(fs, err);
}

static void super_synced(void *arg, int err)
{
	super_cpl(arg, err);
}

static void super_written(void *arg, int err)
{
	struct bfs *fs = arg;

	if (err) {
		super_cpl(fs, err);
		return;
	}
	blob_sync(fs->vol, super_synced, fs);
}

/* Write super block seq + 1 with the committed state, then sync. */
void bfs_super_write(struct bfs *fs, uint32_t flags,
		     void (*done)(struct bfs *fs, int err))
{
	struct bfs_super *s = NULL;

	if (posix_memalign((void **)&s, BFS_BLOCK, sizeof(*s))) {
		done(fs, -ENOMEM);
		return;
	}
	*s = fs->sb;
	s->seq++;
	s->flags = flags;
	s->journal_seq = fs->j.seq;
	s->state = fs->j.cst;
	s->crc = 0;
	s->crc = bfs_crc(s, sizeof(*s));
	fs->j.sbuf = s;
	fs->j.super_done = done;
	bfs_vol_rw(fs, true, s->seq % 2, s, 1, super_written, fs);
}

/* --- checkpoint ------------------------------------------------------------- */

static void ckpt_finish(struct ckpt *ck, int err)
{
	struct bfs *fs = ck->fs;
	void (*done)(struct bfs *, int) = ck->done;

	fs->j.ckpt = NULL;
	free(ck->list);
	free(ck);
	if (!err) {
		bfs_ov_clear(fs);
		fs->j.pos = 0;
		fs->j.checkpoints++;
		bfs_alloc_ckpt_end(fs);
	} else {
		bfs_fail(fs, "checkpoint failed");
	}
	done(fs, err);
}

static void ckpt_super_cpl(struct bfs *fs, int err)
{
	ckpt_finish(fs->j.ckpt, err);
}

static void ckpt_synced(void *arg, int err)
{
	struct ckpt *ck = arg;

	if (err) {
		ckpt_finish(ck, err);
		return;
	}
	bfs_super_write(ck->fs, ck->fs->j.ckpt_flags, ckpt_super_cpl);
}

static void ckpt_pump(struct ckpt *ck);

static void ckpt_write_cpl(void *arg, int err)
{
	struct ckpt_io *w = arg;
	struct ckpt *ck = w->ck;

	w->ck = NULL;
	ck->inflight--;
	if (err && !ck->err)
		ck->err = err;
	ckpt_pump(ck);
}

/* Keep up to CKPT_PARALLEL home writes in flight; sync after the last. */
static void ckpt_pump(struct ckpt *ck)
{
	struct bfs *fs = ck->fs;

	for (size_t i = 0; i < CKPT_PARALLEL && !ck->err && ck->next < ck->n;
	     i++) {
		struct ckpt_io *w = &ck->io[i];
		struct bfs_ov *o;

		if (w->ck)
			continue;
		o = ck->list[ck->next++];
		w->ck = ck;
		w->iov.iov_base = (void *)o->img;
		w->iov.iov_len = BFS_BLOCK;
		ck->inflight++;
		blob_writev(fs->ch, fs->vol, &w->io, &w->iov, 1,
			    o->blk * BFS_BLOCK, ckpt_write_cpl, w);
	}
	if (ck->inflight)
		return;
	if (ck->err) {
		ckpt_finish(ck, ck->err);
		return;
	}
	blob_sync(fs->vol, ckpt_synced, ck);
}

void bfs_ckpt_start(struct bfs *fs, void (*done)(struct bfs *fs, int err))
{
	struct bfs_journal *j = &fs->j;
	struct ckpt *ck = calloc(1, sizeof(*ck));
	size_t k = 0;

	if (ck)
		ck->list = malloc((j->ov_n ? j->ov_n : 1) * sizeof(*ck->list));
	if (!ck || !ck->list) {
		free(ck);
		done(fs, -ENOMEM);
		return;
	}
	ck->fs = fs;
	ck->done = done;
	for (size_t i = 0; j->ov && i < j->ov_size; i++) {
		for (struct bfs_ov *o = j->ov[i]; o; o = o->next)
			ck->list[k++] = o;
	}
	ck->n = k;
	j->ckpt = ck;
	bfs_alloc_ckpt_begin(fs);
	ckpt_pump(ck);
}

/* --- replay --------------------------------------------------------------------- */

static bool target_ok(const struct bfs *fs, uint64_t blk)
{
	const struct bfs_super *s = &fs->sb;

	if (blk >= s->bitmap_start && blk < s->data_start)
		return true;
	return blk >= s->data_start && blk < s->nblocks;
}

static uint32_t jdesc(uint32_t count)
{
	if (count <= BFS_JTX_HDR_TARGETS)
		return 0;
	return (count - BFS_JTX_HDR_TARGETS + BFS_JTX_DESC_TARGETS - 1) /
	       BFS_JTX_DESC_TARGETS;
}

static uint64_t jtarget(const uint8_t *tx, uint32_t i)
{
	const struct bfs_jtx *h = (const void *)tx;

	if (i < BFS_JTX_HDR_TARGETS)
		return h->targets[i];
	i -= BFS_JTX_HDR_TARGETS;
	return ((const uint64_t *)(tx + BFS_BLOCK *
				   (1 + i / BFS_JTX_DESC_TARGETS)))
		[i % BFS_JTX_DESC_TARGETS];
}

/* 1: a valid transaction at @tx (@room blocks left); 0: the end. */
static int replay_valid(struct bfs *fs, const uint8_t *tx, uint64_t room)
{
	const struct bfs_jtx *h = (const void *)tx;
	uint32_t crc;

	if (memcmp(h->magic, BFS_JTX_MAGIC, 8) || h->seq != fs->j.seq ||
	    memcmp(h->uuid, fs->sb.uuid, 16) || h->blocks == 0 ||
	    h->blocks > room || (uint64_t)h->count + 1 + jdesc(h->count) !=
				       h->blocks)
		return 0;
	crc = bfs_crc_update(bfs_crc(tx, 8), "\0\0\0\0", 4);
	crc = bfs_crc_update(crc, tx + 12, (size_t)h->blocks * BFS_BLOCK - 12);
	return crc == h->crc;
}

/* Check and publish one transaction: 0 or -EUCLEAN. */
static int replay_apply(struct bfs *fs, const uint8_t *tx)
{
	const struct bfs_jtx *h = (const void *)tx;
	uint32_t nd = jdesc(h->count);

	if (!state_ok(&fs->sb, &h->state))
		return -EUCLEAN;
	for (uint32_t i = 0; i < h->count; i++) {
		uint64_t blk = jtarget(tx, i);
		const uint8_t *img = tx + (size_t)(1 + nd + i) * BFS_BLOCK;

		if (!target_ok(fs, blk))
			return -EUCLEAN;
		if (blk >= fs->sb.data_start && bfs_node_check(img, blk))
			return -EUCLEAN;
		if (bfs_ov_put(fs, blk, img))
			return -ENOMEM;
	}
	fs->j.cst = h->state;
	return 0;
}

int bfs_replay(struct bfs *fs, const uint8_t *jbuf)
{
	struct bfs_journal *j = &fs->j;
	uint64_t pos = 0, J = fs->sb.journal_blocks;

	j->seq = fs->sb.journal_seq;
	j->cst = fs->sb.state;
	while (pos < J) {
		const uint8_t *tx = jbuf + pos * BFS_BLOCK;
		int rc;

		if (!replay_valid(fs, tx, J - pos))
			break;
		rc = replay_apply(fs, tx);
		if (rc)
			return rc;
		pos += ((const struct bfs_jtx *)tx)->blocks;
		j->seq++;
	}
	j->pos = pos;
	fs->st = j->cst;
	return 0;
}
