// SPDX-License-Identifier: MIT
/*
 * wl_smoke.c - one pass through the operations a guest needs, each reply
 * checked for content, not just status: create, write at an unaligned
 * offset across pages, read it back, holes read as zeros, EOF, size and
 * mode, close, reopen, lookup, unlink, and two requests naming objects the
 * daemon never handed out (which must fail, not crash it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ops_internal.h"
#include "frontend/pattern_internal.h"
#include "frontend/wl_internal.h"
#include "vhostfs/log.h"

#define SMOKE_OFF 1008u  /* not page aligned */
#define SMOKE_LEN 10000u /* spans three to four pages */
#define SMOKE_BOGUS_ID 0x7ffffffdeadbeefull

struct smoke {
	struct fe_run *run;
	struct fe_queue *q;
	uint64_t nodeid, fh;
	uint64_t nlookup;
	uint8_t buf[SMOKE_LEN];
};

static int smoke_fresh(struct smoke *s)
{
	struct fuse_entry_out e;
	int err = fe_op_lookup(s->q, FUSE_ROOT_ID, s->run->opts->file, &e);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = fe_op_unlink(s->q, FUSE_ROOT_ID, s->run->opts->file);
	fe_dev_forget(s->run->dev, e.nodeid, 1);
	return err;
}

static int smoke_create(struct smoke *s)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int err = fe_op_create(s->q, FUSE_ROOT_ID, s->run->opts->file,
			       O_RDWR | O_CREAT | O_EXCL, 0100600, &e, &o);

	if (err)
		return err;
	s->nodeid = e.nodeid;
	s->fh = o.fh;
	s->nlookup = 1;
	return e.attr.size == 0 ? 0 : -EPROTO;
}

static int smoke_write(struct smoke *s)
{
	fe_pattern_fill(s->buf, SMOKE_OFF, SMOKE_LEN, s->run->opts->seed, 1);
	return fe_op_write(s->q, s->nodeid, s->fh, SMOKE_OFF, s->buf, SMOKE_LEN);
}

static int smoke_read_back(struct smoke *s)
{
	struct fe_pattern_bad bad;
	uint32_t got = 0;
	int err;

	memset(s->buf, 0, sizeof(s->buf));
	err = fe_op_read(s->q, s->nodeid, s->fh, SMOKE_OFF, s->buf, SMOKE_LEN,
			 &got);
	if (err)
		return err;
	if (got != SMOKE_LEN)
		return -EIO;
	if (fe_pattern_check(s->buf, SMOKE_OFF, SMOKE_LEN, s->run->opts->seed, 1,
			     &bad)) {
		log_error("bench: smoke: data at %llu differs",
			  (unsigned long long)bad.off);
		return -EILSEQ;
	}
	return 0;
}

static int smoke_hole(struct smoke *s)
{
	uint32_t got = 0;
	int err;

	memset(s->buf, 0xff, SMOKE_OFF);
	err = fe_op_read(s->q, s->nodeid, s->fh, 0, s->buf, SMOKE_OFF, &got);
	if (err)
		return err;
	if (got != SMOKE_OFF)
		return -EIO;
	for (uint32_t i = 0; i < SMOKE_OFF; i++)
		if (s->buf[i])
			return -EILSEQ;
	return 0;
}

static int smoke_eof(struct smoke *s)
{
	uint32_t got = 1;
	int err = fe_op_read(s->q, s->nodeid, s->fh, SMOKE_OFF + SMOKE_LEN,
			     s->buf, 4096, &got);

	return err ? err : (got == 0 ? 0 : -EIO);
}

static int smoke_getattr(struct smoke *s)
{
	struct fuse_attr_out a;
	int err = fe_op_getattr(s->q, s->nodeid, &a);

	if (err)
		return err;
	if (a.attr.size != SMOKE_OFF + SMOKE_LEN ||
	    (a.attr.mode & 0170000) != 0100000 || a.attr.nlink != 1) {
		log_error("bench: smoke: GETATTR size %llu mode 0%o nlink %u",
			  (unsigned long long)a.attr.size, a.attr.mode,
			  a.attr.nlink);
		return -EPROTO;
	}
	return 0;
}

static int smoke_close(struct smoke *s)
{
	int err = fe_op_flush(s->q, s->nodeid, s->fh);

	return err ? err : fe_op_release(s->q, s->nodeid, s->fh, O_RDWR);
}

static int smoke_reopen(struct smoke *s)
{
	struct fuse_open_out o;
	int err = fe_op_open(s->q, s->nodeid, O_RDONLY, &o);

	if (err)
		return err;
	s->fh = o.fh;
	err = smoke_read_back(s);
	if (!err)
		err = fe_op_release(s->q, s->nodeid, s->fh, O_RDONLY);
	return err;
}

static int smoke_lookup(struct smoke *s)
{
	struct fuse_entry_out e;
	int err = fe_op_lookup(s->q, FUSE_ROOT_ID, s->run->opts->file, &e);

	if (err)
		return err;
	s->nlookup++;
	if (e.nodeid != s->nodeid || fe_op_entry_check("LOOKUP", &e))
		return -EPROTO;
	return e.attr.size == SMOKE_OFF + SMOKE_LEN ? 0 : -EPROTO;
}

/* Ids the daemon never gave out must be refused, not dereferenced. */
static int smoke_bogus(struct smoke *s)
{
	struct fuse_attr_out a;
	uint32_t got;
	int err = fe_op_getattr(s->q, SMOKE_BOGUS_ID, &a);

	if (err == 0) {
		log_error("bench: smoke: GETATTR of a made-up nodeid succeeded");
		return -EPROTO;
	}
	if (fe_err_fatal(err))
		return err;
	err = fe_op_read(s->q, s->nodeid, SMOKE_BOGUS_ID, 0, s->buf, 16, &got);
	if (err == 0) {
		log_error("bench: smoke: READ with a made-up fh succeeded");
		return -EPROTO;
	}
	return fe_err_fatal(err) ? err : 0;
}

static int smoke_unlink(struct smoke *s)
{
	struct fuse_entry_out e;
	int err = fe_op_unlink(s->q, FUSE_ROOT_ID, s->run->opts->file);

	if (err)
		return err;
	err = fe_op_lookup(s->q, FUSE_ROOT_ID, s->run->opts->file, &e);
	if (err == -ENOENT)
		return 0;
	if (!err)
		fe_dev_forget(s->run->dev, e.nodeid, 1);
	return err ? err : -EEXIST;
}

static int smoke_forget(struct smoke *s)
{
	int err = fe_dev_forget(s->run->dev, s->nodeid, s->nlookup);

	s->nodeid = 0;
	return err ? err : fe_dev_forget_drain(s->run->dev);
}

static const struct {
	const char *name;
	int (*fn)(struct smoke *s);
} smoke_steps[] = {
	{ "remove stale file", smoke_fresh },
	{ "CREATE", smoke_create },
	{ "WRITE (unaligned, multi-page)", smoke_write },
	{ "READ back", smoke_read_back },
	{ "READ hole", smoke_hole },
	{ "READ at EOF", smoke_eof },
	{ "GETATTR", smoke_getattr },
	{ "FLUSH + RELEASE", smoke_close },
	{ "OPEN + READ + RELEASE", smoke_reopen },
	{ "LOOKUP", smoke_lookup },
	{ "unknown nodeid and fh refused", smoke_bogus },
	{ "UNLINK", smoke_unlink },
	{ "FORGET", smoke_forget },
};

int fe_wl_smoke(struct fe_run *run, struct fe_result *res, struct fe_hist *hist)
{
	struct smoke *s = calloc(1, sizeof(*s));
	uint64_t t0 = fe_now_ns();
	double c0 = fe_cpu_self();
	int err = 0;

	if (!s)
		return -ENOMEM;
	s->run = run;
	s->q = fe_dev_queue(run->dev, 1);
	for (size_t i = 0; i < sizeof(smoke_steps) / sizeof(smoke_steps[0]); i++) {
		uint64_t t = fe_now_ns();

		err = smoke_steps[i].fn(s);
		fe_hist_add(hist, fe_now_ns() - t);
		res->ops++;
		log_info("bench: smoke: %-30s %s", smoke_steps[i].name,
			 err ? strerror(-err) : "ok");
		if (err) {
			log_error("bench: smoke: %s failed: %s",
				  smoke_steps[i].name, strerror(-err));
			res->errors++;
			break;
		}
	}
	res->seconds = (double)(fe_now_ns() - t0) / 1e9;
	res->cpu_s = fe_cpu_self() - c0;
	res->lat = hist;
	free(s);
	return fe_err_fatal(err) ? err : 0;
}
