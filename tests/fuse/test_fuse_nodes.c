// SPDX-License-Identifier: MIT
/*
 * test_fuse_nodes.c - the nodeid and fh tables (dedup, FORGET, deferred
 * forgets, busy handles, full tables), READDIR/READDIRPLUS encoding and its
 * reference accounting, INTERRUPT of a waiting SETLKW, and several threads
 * sharing one session.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftest.h"

static int setup(void **state)
{
	struct ft *t = calloc(1, sizeof(*t));

	ft_start_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct ft *t = *state;

	ft_stop(t);
	free(t);
	return 0;
}

static void test_dedup_and_forget(void **state)
{
	struct ft *t = *state;
	struct mock_inode *in;
	uint64_t a = ft_lookup(t, 1, "a"), a2, b;

	assert_int_equal(ft_lookup(t, 1, "a"), a);
	in = mock_fs_inode(t->m, "a");
	assert_int_equal(in->refs, 2);
	b = ft_lookup(t, 1, "b");
	assert_int_not_equal(a, b);
	ft_forget(t, a, 1);
	assert_int_equal(in->refs, 2); /* given back only when the node goes */
	assert_int_equal(ft_lookup(t, a, "x") > 1, 1);
	ft_forget(t, a, 1);
	assert_int_equal(in->refs, 0);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, a, NULL, 0, "x", NULL), -ESTALE);
	/* the same inode later: a new nodeid, the old one stays dead */
	a2 = ft_lookup(t, 1, "a");
	assert_int_not_equal(a2, a);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, a, NULL, 0, "x", NULL), -ESTALE);
	/* forgetting more than was looked up, twice, or an unknown id */
	ft_forget(t, a2, 100);
	ft_forget(t, a2, 1);
	ft_forget(t, 12345678, 1);
	ft_forget(t, 1, 5); /* the root stays */
	assert_int_equal(ft_lookup(t, 1, "c") > 1, 1);
	ft_forget(t, b, 1);
	ft_forget(t, ft_lookup(t, 1, "x"), 2);
	ft_forget(t, ft_lookup(t, 1, "c"), 2);
}

/* A FORGET while a request holds the node: the back-end forget waits. */
static void test_forget_deferred_while_held(void **state)
{
	struct ft *t = *state;
	struct fuse_getattr_in ga = { 0 };
	struct ft_req *r = ft_req_new();
	struct mock_inode *in;
	uint64_t a = ft_lookup(t, 1, "a");

	in = mock_fs_inode(t->m, "a");
	t->m->defer = true;
	ft_build(r, FUSE_GETATTR, a, &ga, sizeof(ga), NULL, NULL, NULL, 0);
	ft_submit(t, r);
	assert_int_equal(r->done, 0);
	t->m->defer = false;
	ft_forget(t, a, 1);
	assert_int_equal(in->refs, 1);
	assert_int_equal(ft_do(t, FUSE_GETATTR, a, &ga, sizeof(ga), NULL, NULL),
			 -ESTALE);
	mock_fs_complete(t->m, 0, 0);
	assert_int_equal(ft_result(r), 0);
	assert_int_equal(in->refs, 0);
	ft_req_free(r);
}

/* RELEASE of an fh that a READ still uses: -EBUSY, then fine. */
static void test_release_busy(void **state)
{
	struct ft *t = *state;
	struct ft_req *r = ft_req_new();
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDONLY);
	struct fuse_read_in rd = { .fh = fh, .size = 10 };

	t->m->defer = true;
	ft_build(r, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL, NULL, 0);
	ft_submit(t, r);
	t->m->defer = false;
	assert_int_equal(ft_release(t, fh), -EBUSY);
	mock_fs_complete(t->m, 0, 0);
	assert_int_equal(ft_result(r), 0);
	assert_int_equal(ft_payload_len(r), 10);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
	ft_req_free(r);
}

static void test_tables_full(void **state)
{
	struct fuse_session_config cfg = { .max_nodes = 2, .max_handles = 2 };
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = 0600 };
	struct ft t;
	uint64_t a, b, f1, f2;

	(void)state;
	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	a = ft_lookup(&t, 1, "a");
	b = ft_lookup(&t, 1, "b");
	assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "c", NULL), -ENFILE);
	assert_int_equal(mock_fs_inode(t.m, "c")->refs, 0);
	assert_int_equal(ft_lookup(&t, 1, "a"), a); /* known inodes still work */
	f1 = ft_open(&t, a, O_RDONLY);
	f2 = ft_opendir(&t, b);
	assert_int_equal(ft_do(&t, FUSE_OPEN, a,
			       &(struct fuse_open_in){ .flags = 0 },
			       sizeof(struct fuse_open_in), NULL, NULL), -ENFILE);
	assert_int_equal(ft_do(&t, FUSE_OPENDIR, a,
			       &(struct fuse_open_in){ .flags = 0 },
			       sizeof(struct fuse_open_in), NULL, NULL), -ENFILE);
	/* CREATE of a known inode with a full fh table: node count undone */
	assert_int_equal(ft_do(&t, FUSE_CREATE, 1, &cr, sizeof(cr), "a", NULL),
			 -ENFILE);
	/* (the back-end reference stays with the node until it goes) */
	assert_int_equal(mock_fs_inode(t.m, "a")->refs, 3);
	assert_int_equal(mock_fs_open_files(t.m), 2);
	assert_int_equal(ft_release(&t, f1), 0);
	assert_int_equal(ft_releasedir(&t, f2), 0);
	/* CREATE of a new inode with a full node table */
	assert_int_equal(ft_do(&t, FUSE_CREATE, 1, &cr, sizeof(cr), "n", NULL),
			 -ENFILE);
	assert_int_equal(mock_fs_open_files(t.m), 0);
	ft_forget(&t, a, 2);
	ft_forget(&t, b, 1);
	ft_stop(&t);
}

/* Back-end bugs the engine survives: open without a file. */
static void test_backend_contract_breaks(void **state)
{
	struct ft *t = *state;
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = 0600 };
	uint64_t a = ft_lookup(t, 1, "a");

	t->m->open_null_file = true;
	assert_int_equal(ft_do(t, FUSE_OPEN, a,
			       &(struct fuse_open_in){ .flags = 0 },
			       sizeof(struct fuse_open_in), NULL, NULL), -EIO);
	assert_int_equal(ft_do(t, FUSE_CREATE, 1, &cr, sizeof(cr), "z", NULL),
			 -EIO);
	t->m->open_null_file = false;
	assert_int_equal(mock_fs_inode(t->m, "z")->refs, 0);
	ft_forget(t, a, 1);
}

struct dirent_view {
	uint64_t ino, off, nodeid;
	uint32_t type;
	char name[300];
};

/* Decode a READDIR(PLUS) payload; returns the number of entries. */
static int dir_decode(const struct ft_req *r, bool plus, struct dirent_view *v,
		      int max)
{
	const unsigned char *p = ft_payload(r);
	size_t len = ft_payload_len(r), off = 0;
	int n = 0;

	while (off < len && n < max) {
		struct fuse_direntplus dp;
		struct fuse_dirent d;
		size_t hdr = plus ? sizeof(dp) : sizeof(d), rec;

		assert_true(off + hdr <= len);
		if (plus) {
			memcpy(&dp, p + off, sizeof(dp));
			d = dp.dirent;
			v[n].nodeid = dp.entry_out.nodeid;
		} else {
			memcpy(&d, p + off, sizeof(d));
		}
		assert_true(d.namelen > 0 && d.namelen < sizeof(v[n].name));
		rec = FUSE_REC_ALIGN(hdr + d.namelen);
		assert_true(off + rec <= len);
		for (size_t i = hdr + d.namelen; i < rec; i++)
			assert_int_equal(p[off + i], 0); /* padding zeroed */
		memcpy(v[n].name, p + off + hdr, d.namelen);
		v[n].name[d.namelen] = 0;
		v[n].ino = d.ino;
		v[n].off = d.off;
		v[n].type = d.type;
		off += rec;
		n++;
	}
	assert_int_equal(off, len);
	return n;
}

static int readdir_op(struct ft *t, uint32_t op, uint64_t dh, uint64_t off,
		      uint32_t size)
{
	struct fuse_read_in in = { .fh = dh, .offset = off, .size = size };

	return ft_do(t, op, 1, &in, sizeof(in), NULL, NULL);
}

static void test_readdir(void **state)
{
	struct ft *t = *state;
	struct dirent_view v[16];
	uint64_t dh = ft_opendir(t, 1);
	int n;

	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 0, 4096), 0);
	n = dir_decode(t->r, false, v, 16);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].name, ".");
	assert_string_equal(v[1].name, "..");
	assert_string_equal(v[4].name, "e002");
	assert_int_equal(v[4].ino, 5004);
	assert_int_equal(v[4].off, 5);
	assert_int_equal(v[4].type, 8);
	assert_int_equal(v[0].type, 4);
	/* two records of 32 bytes fit in 70 bytes: stop at the requested size */
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 1, 70), 0);
	n = dir_decode(t->r, false, v, 16);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "..");
	assert_int_equal(v[1].off, 3);
	/* the end */
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 5, 4096), 0);
	assert_int_equal(ft_payload_len(t->r), 0);
	/* not even one entry fits */
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 0, 20), -EINVAL);
	/* reply space smaller than the size asked */
	t->r->out_cap = sizeof(struct fuse_out_header) + 40;
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 0, 4096), 0);
	assert_int_equal(dir_decode(t->r, false, v, 16), 1);
	t->r->out_cap = FT_OUT_MAX;
	/* a back-end that emits an empty name */
	t->m->readdir_bad_name = true;
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 2, 4096), -EIO);
	assert_int_equal(readdir_op(t, FUSE_READDIR, dh, 0, 4096), 0);
	assert_int_equal(dir_decode(t->r, false, v, 16), 2);
	t->m->readdir_bad_name = false;
	{
		struct fuse_fsync_in fs = { .fh = dh,
					    .fsync_flags = FUSE_FSYNC_FDATASYNC };

		assert_int_equal(ft_do(t, FUSE_FSYNCDIR, 1, &fs, sizeof(fs),
				       NULL, NULL), 0);
		assert_string_equal(t->m->op, "fsyncdir");
		assert_true(t->m->datasync);
	}
	assert_int_equal(ft_releasedir(t, dh), 0);
}

static void test_readdirplus(void **state)
{
	struct ft *t = *state;
	struct dirent_view v[64];
	uint64_t dh = ft_opendir(t, 1), e0;
	int n;

	t->m->readdir_entries = 40;
	assert_int_equal(readdir_op(t, FUSE_READDIRPLUS, dh, 0, 4096), 0);
	n = dir_decode(t->r, true, v, 64);
	/* 152-byte headers + short names: 160-byte records, 25 in a page */
	assert_int_equal(n, 4096 / 160);
	assert_int_equal(v[0].nodeid, 0); /* "." and ".." have none */
	assert_int_equal(v[1].nodeid, 0);
	assert_int_equal(t->m->inodes[0].refs, 1); /* their refs came back */
	e0 = v[2].nodeid;
	assert_true(e0 > 1);
	assert_int_equal(ft_lookup(t, 1, "e000"), e0);
	/* the entry that did not fit was created, then given back */
	assert_int_equal(mock_fs_inode(t->m, "e023")->refs, 0);
	assert_int_equal(mock_fs_inode(t->m, "e022")->refs, 1);
	for (int i = 2; i < n; i++)
		ft_forget(t, v[i].nodeid, i == 2 ? 2 : 1);
	assert_int_equal(mock_fs_refs(t->m), 0);
	/* the rest, and overflow at every size */
	for (uint32_t size = 0; size < 700; size += 37) {
		int r = readdir_op(t, FUSE_READDIRPLUS, dh, 20, size);

		if (size < 160) {
			assert_int_equal(r, -EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		n = dir_decode(t->r, true, v, 64);
		assert_int_equal(n, (int)(size / 160));
		for (int i = 0; i < n; i++)
			ft_forget(t, v[i].nodeid, 1);
		assert_int_equal(mock_fs_refs(t->m), 0);
	}
	assert_int_equal(ft_releasedir(t, dh), 0);
}

/* Full node table in the middle of a READDIRPLUS: what was sent stays. */
static void test_readdirplus_table_full(void **state)
{
	struct fuse_session_config cfg = { .max_nodes = 3 };
	struct dirent_view v[16];
	struct ft t;
	uint64_t dh;
	int n;

	(void)state;
	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	dh = ft_opendir(&t, 1);
	t.m->readdir_entries = 10;
	assert_int_equal(readdir_op(&t, FUSE_READDIRPLUS, dh, 0, 4096), 0);
	n = dir_decode(t.r, true, v, 16);
	assert_int_equal(n, 5);
	assert_int_equal(mock_fs_refs(t.m), 3);
	/* and when the first entry cannot get a nodeid: the error */
	assert_int_equal(readdir_op(&t, FUSE_READDIRPLUS, dh, 6, 4096), -ENFILE);
	for (int i = 2; i < n; i++)
		ft_forget(&t, v[i].nodeid, 1);
	assert_int_equal(ft_releasedir(&t, dh), 0);
	ft_stop(&t);
}

static void set_unique(struct ft_req *r, uint64_t unique)
{
	struct fuse_in_header h;

	memcpy(&h, r->in, sizeof(h));
	h.unique = unique;
	memcpy(r->in, &h, sizeof(h));
}

static void interrupt(struct ft *t, uint64_t unique)
{
	struct fuse_interrupt_in in = { .unique = unique };

	ft_build(t->r, FUSE_INTERRUPT, 0, &in, sizeof(in), NULL, NULL, NULL, 0);
	set_unique(t->r, unique | 1);
	assert_int_equal(ft_send(t, t->r), FT_NOREPLY);
}

static void test_interrupt_setlkw(void **state)
{
	struct ft *t = *state;
	struct ft_req *r = ft_req_new(), *r2 = ft_req_new();
	uint64_t a = ft_lookup(t, 1, "a"), fh = ft_open(t, a, O_RDWR);
	struct fuse_lk_in lk = { .fh = fh, .lk = { .type = F_WRLCK,
						   .end = INT64_MAX } };

	/* the back-end completes the wait inside interrupt() */
	t->m->block_setlkw = true;
	t->m->interrupt_inline = true;
	ft_build(r, FUSE_SETLKW, a, &lk, sizeof(lk), NULL, NULL, NULL, 0);
	set_unique(r, 1000);
	ft_submit(t, r);
	assert_int_equal(r->done, 0);
	interrupt(t, 2000); /* nobody waits with that unique */
	assert_int_equal(t->m->interrupts, 0);
	interrupt(t, 1000);
	assert_int_equal(t->m->interrupts, 1);
	assert_int_equal(ft_result(r), -EINTR);

	/* the back-end completes it later */
	t->m->interrupt_inline = false;
	ft_build(r, FUSE_SETLKW, a, &lk, sizeof(lk), NULL, NULL, NULL, 0);
	set_unique(r, 1002);
	ft_submit(t, r);
	ft_build(r2, FUSE_SETLKW, a, &lk, sizeof(lk), NULL, NULL, NULL, 0);
	set_unique(r2, 1004);
	t->m->block_setlkw = false;
	ft_submit(t, r2); /* granted at once: leaves the registry */
	assert_int_equal(ft_result(r2), 0);
	interrupt(t, 1002);
	assert_int_equal(t->m->interrupts, 2);
	assert_int_equal(r->done, 0);
	{
		struct fs_call *c = t->m->blocked;

		t->m->blocked = NULL;
		fs_call_complete(c, -EINTR);
	}
	assert_int_equal(ft_result(r), -EINTR);
	interrupt(t, 1002); /* gone from the registry */
	assert_int_equal(t->m->interrupts, 2);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
	ft_req_free(r);
	ft_req_free(r2);
}

/* Completion of a waiting SETLKW on another thread during an INTERRUPT. */
struct lkw_race {
	struct ft *t;
	struct fs_call *call;
};

static void *lkw_completer(void *arg)
{
	struct lkw_race *lr = arg;

	fs_call_complete(lr->call, 0);
	return NULL;
}

static void test_interrupt_race(void **state)
{
	struct ft *t = *state;
	struct ft_req *r = ft_req_new();
	uint64_t a = ft_lookup(t, 1, "a"), fh = ft_open(t, a, O_RDWR);
	struct fuse_lk_in lk = { .fh = fh, .lk = { .type = F_RDLCK, .end = 9 } };

	for (int i = 0; i < 200; i++) {
		struct lkw_race lr = { t, NULL };
		pthread_t th;

		t->m->block_setlkw = true;
		ft_build(r, FUSE_SETLKW, a, &lk, sizeof(lk), NULL, NULL, NULL,
			 0);
		set_unique(r, 4000 + 2 * (uint64_t)i);
		ft_submit(t, r);
		lr.call = t->m->blocked;
		t->m->blocked = NULL;
		assert_int_equal(pthread_create(&th, NULL, lkw_completer, &lr),
				 0);
		interrupt(t, 4000 + 2 * (uint64_t)i);
		pthread_join(th, NULL);
		assert_int_equal(ft_result(r), 0);
	}
	t->m->block_setlkw = false;
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
	ft_req_free(r);
}

/* Several threads share one session: tables stay consistent. */
struct worker {
	struct ft *t;
	int id;
	uint64_t fh;
	uint64_t a;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ft mine = *w->t;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_read_in rd = { .fh = w->fh, .size = 4096 };
	char name[16];

	mine.r = ft_req_new();
	snprintf(name, sizeof(name), "t%d", w->id);
	for (int i = 0; i < 2000; i++) {
		uint64_t a = ft_lookup(&mine, 1, "shared");
		uint64_t b = ft_lookup(&mine, 1, name);

		assert_int_equal(ft_do(&mine, FUSE_GETATTR, a, &ga, sizeof(ga),
				       NULL, NULL), 0);
		assert_int_equal(ft_do(&mine, FUSE_READ, w->a, &rd, sizeof(rd),
				       NULL, NULL), 0);
		ft_forget(&mine, b, 1);
		ft_forget(&mine, a, 1);
	}
	ft_req_free(mine.r);
	return NULL;
}

static void test_threads(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "file");
	uint64_t fh = ft_open(t, a, O_RDONLY);
	struct worker w[3];
	pthread_t th[3];

	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){ t, i, fh, a };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]),
				 0);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(mock_fs_refs(t->m), 1);
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dedup_and_forget),
		T(test_forget_deferred_while_held),
		T(test_release_busy),
		cmocka_unit_test(test_tables_full),
		T(test_backend_contract_breaks),
		T(test_readdir),
		T(test_readdirplus),
		cmocka_unit_test(test_readdirplus_table_full),
		T(test_interrupt_setlkw),
		T(test_interrupt_race),
		T(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
