// SPDX-License-Identifier: MIT
/*
 * test_fuse_malformed.c - what a hostile or broken peer can send: truncated
 * headers, lying lengths, bad names, absurd counts, forged ids, too little
 * reply space, WRITE sizes that lie, and every request cut at every byte.
 */
#include <errno.h>
#include <fcntl.h>
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

static void hdr_patch(struct ft_req *r, uint32_t len, uint16_t extlen)
{
	struct fuse_in_header h;

	memcpy(&h, r->in, sizeof(h));
	h.len = len;
	h.total_extlen = extlen;
	memcpy(r->in, &h, sizeof(h));
}

static void test_truncated_header(void **state)
{
	struct ft *t = *state;
	struct fuse_session_stats st;

	ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, "a", NULL, NULL, 0);
	for (size_t n = 0; n < sizeof(struct fuse_in_header); n++) {
		t->r->in_len = n;
		assert_int_equal(ft_send(t, t->r), FT_NOREPLY);
	}
	/* a header cut in pieces but complete is fine */
	{
		size_t cuts[] = { 1, 2, 3, 5, 8, 13, 21, 34 };

		ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, "a", NULL, NULL, 0);
		assert_int_equal(ft_send_cut(t, t->r, cuts, 8, NULL, 0), 0);
	}
	fuse_session_get_stats(t->s, &st);
	assert_int_equal(st.dropped, sizeof(struct fuse_in_header));
	assert_int_equal(t->m->calls, 1);
	ft_forget(t, ft_lookup(t, 1, "a"), 2);
}

static void test_lying_len(void **state)
{
	struct ft *t = *state;
	size_t n = ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, "abc", NULL, NULL, 0);

	/* shorter than a header */
	hdr_patch(t->r, 39, 0);
	assert_int_equal(ft_send(t, t->r), -EIO);
	hdr_patch(t->r, 0, 0);
	assert_int_equal(ft_send(t, t->r), -EIO);
	/* longer than what came */
	hdr_patch(t->r, (uint32_t)n + 1, 0);
	assert_int_equal(ft_send(t, t->r), -EIO);
	hdr_patch(t->r, 0xffffffffu, 0);
	assert_int_equal(ft_send(t, t->r), -EIO);
	/* shorter than the name: the NUL is outside */
	hdr_patch(t->r, (uint32_t)n - 1, 0);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	/* extensions longer than the arguments */
	hdr_patch(t->r, (uint32_t)n, 1);
	assert_int_equal(ft_send(t, t->r), -EIO);
	hdr_patch(t->r, (uint32_t)n, 0xffff);
	assert_int_equal(ft_send(t, t->r), -EIO);
	assert_int_equal(t->m->calls, 0);
	/* bytes beyond len are ignored */
	memset(t->r->in + n, 'x', 100);
	hdr_patch(t->r, (uint32_t)n, 0);
	t->r->in_len = n + 100;
	assert_int_equal(ft_send(t, t->r), 0);
	assert_string_equal(t->m->name, "abc");
	/* a well-formed extension area is skipped */
	memset(t->r->in + n, 0, 8);
	hdr_patch(t->r, (uint32_t)n + 8, 1);
	assert_int_equal(ft_send(t, t->r), 0);
	ft_forget(t, ft_lookup(t, 1, "abc"), 3);
}

static void test_fixed_arg_sizes(void **state)
{
	struct ft *t = *state;
	unsigned char args[200] = { 0 };

	assert_int_equal(ft_do(t, FUSE_GETATTR, 1, args, 8, NULL, NULL),
			 -EINVAL);
	assert_int_equal(ft_do(t, FUSE_GETATTR, 1, args, 24, NULL, NULL),
			 -EINVAL);
	assert_int_equal(ft_do(t, FUSE_STATFS, 1, args, 8, NULL, NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_READ, 1, args, 39, NULL, NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_WRITE, 1, args, 39, NULL, NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_MKDIR, 1, args, 4, NULL, NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_FORGET, 2, args, 4, NULL, NULL),
			 FT_NOREPLY);
	assert_int_equal(ft_do(t, FUSE_SETLK, 1, args, 47, NULL, NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_LISTXATTR, 1, args, 16, NULL, NULL),
			 -EINVAL);
	/* no name after the fixed part */
	assert_int_equal(ft_do(t, FUSE_MKDIR, 1, args, 8, NULL, NULL), -EINVAL);
	/* one name where two are needed */
	assert_int_equal(ft_do(t, FUSE_RENAME, 1, args, 8, "a", NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "a", NULL),
			 -EINVAL);
	assert_int_equal(t->m->calls, 0);
}

static void test_names(void **state)
{
	struct ft *t = *state;
	char name[400];

	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "", NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, ".", NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "..", NULL),
			 -EINVAL);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "a/b", NULL),
			 -EINVAL);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "/", NULL), -EINVAL);
	assert_int_equal(ft_do(t, FUSE_UNLINK, 1, NULL, 0, "../etc", NULL),
			 -EINVAL);
	/* two names where one is expected */
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "a", "b"), -EINVAL);
	/* no NUL at all */
	ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, NULL, NULL, "abc", 3);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	/* NAME_MAX */
	memset(name, 'n', sizeof(name));
	name[255] = 0;
	assert_int_equal(ft_do(t, FUSE_UNLINK, 1, NULL, 0, name, NULL), 0);
	name[255] = 'n';
	name[256] = 0;
	assert_int_equal(ft_do(t, FUSE_UNLINK, 1, NULL, 0, name, NULL),
			 -ENAMETOOLONG);
	assert_int_equal(ft_do(t, FUSE_RENAME2, 1, (unsigned char[16]){ 1 }, 16,
			       "ok", name), -ENAMETOOLONG);
	/* xattr names: may hold '/' and dots; at most 255 bytes */
	assert_int_equal(ft_do(t, FUSE_REMOVEXATTR, 1, NULL, 0, "user.a/b..",
			       NULL), 0);
	assert_int_equal(ft_do(t, FUSE_REMOVEXATTR, 1, NULL, 0, name, NULL),
			 -ERANGE);
	assert_int_equal(ft_do(t, FUSE_REMOVEXATTR, 1, NULL, 0, "", NULL),
			 -ERANGE);
	assert_int_equal(t->m->calls, 2);
}

static void test_symlink_target(void **state)
{
	struct ft *t = *state;
	char *target = malloc(5000);
	struct fuse_entry_out e;

	memset(target, 't', 5000);
	target[4095] = 0; /* PATH_MAX with the NUL */
	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "l", target), 0);
	memcpy(&e, ft_payload(t->r), sizeof(e));
	ft_forget(t, e.nodeid, 1);
	target[4095] = 't';
	target[4096] = 0;
	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "l", target),
			 -ENAMETOOLONG);
	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "l", ""), -EINVAL);
	/* arguments larger than the engine's copy buffer */
	target[4096] = 't';
	target[4999] = 0;
	assert_int_equal(ft_do(t, FUSE_SYMLINK, 1, NULL, 0, "l", target),
			 -E2BIG);
	free(target);
}

static void test_batch_forget(void **state)
{
	struct ft *t = *state;
	struct fuse_batch_forget_in in = { .count = 3 };
	struct fuse_forget_one one[3];
	unsigned char buf[sizeof(in) + sizeof(one)];
	struct fuse_session_stats st;
	uint64_t a = ft_lookup(t, 1, "a"), b = ft_lookup(t, 1, "b");

	ft_lookup(t, 1, "a");
	one[0] = (struct fuse_forget_one){ .nodeid = a, .nlookup = 2 };
	one[1] = (struct fuse_forget_one){ .nodeid = 999, .nlookup = 1 };
	one[2] = (struct fuse_forget_one){ .nodeid = b, .nlookup = 1 };
	memcpy(buf, &in, sizeof(in));
	memcpy(buf + sizeof(in), one, sizeof(one));

	/* absurd counts: nothing is forgotten, nothing is answered */
	for (uint32_t c = 4; c != 0; c = c < 0x10000 ? c * 7 : c * 0x1001u) {
		struct fuse_batch_forget_in bad = { .count = c };

		memcpy(buf, &bad, sizeof(bad));
		ft_build(t->r, FUSE_BATCH_FORGET, 0, buf, sizeof(buf), NULL,
			 NULL, NULL, 0);
		assert_int_equal(ft_send(t, t->r), FT_NOREPLY);
		if (c > 0x10000000u)
			break;
	}
	fuse_session_get_stats(t->s, &st);
	assert_true(st.errors > 0);
	assert_int_equal(mock_fs_refs(t->m), 3);
	/* a good one, cut inside the entries */
	memcpy(buf, &in, sizeof(in));
	ft_build(t->r, FUSE_BATCH_FORGET, 0, buf, sizeof(buf), NULL, NULL, NULL,
		 0);
	{
		size_t cuts[] = { 45, 47, 50, 63, 70 };

		assert_int_equal(ft_send_cut(t, t->r, cuts, 5, NULL, 0),
				 FT_NOREPLY);
	}
	assert_int_equal(mock_fs_refs(t->m), 0);
	assert_int_equal(ft_do(t, FUSE_LOOKUP, a, NULL, 0, "x", NULL), -ESTALE);
	/* count 0 and a trailing partial entry are harmless */
	in.count = 0;
	memcpy(buf, &in, sizeof(in));
	ft_build(t->r, FUSE_BATCH_FORGET, 0, buf, sizeof(in) + 10, NULL, NULL,
		 NULL, 0);
	assert_int_equal(ft_send(t, t->r), FT_NOREPLY);
}

static void test_forged_ids(void **state)
{
	static const uint64_t forged[] = {
		0, 2, 3, 0x100000000ull, 0xdeadbeefcafef00dull, ~0ull,
	};
	struct ft *t = *state;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_read_in rd = { .size = 10 };
	struct fuse_fsync_in fs = { 0 };
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR), dh = ft_opendir(t, 1);

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		if (forged[i] == a || forged[i] == fh || forged[i] == dh)
			continue;
		assert_int_equal(ft_do(t, FUSE_GETATTR, forged[i], &ga,
				       sizeof(ga), NULL, NULL), -ESTALE);
		assert_int_equal(ft_do(t, FUSE_LOOKUP, forged[i], NULL, 0, "x",
				       NULL), -ESTALE);
		rd.fh = forged[i];
		assert_int_equal(ft_do(t, FUSE_READ, a, &rd, sizeof(rd), NULL,
				       NULL), -EBADF);
		assert_int_equal(ft_do(t, FUSE_READDIR, 1, &rd, sizeof(rd),
				       NULL, NULL), -EBADF);
		assert_int_equal(ft_release(t, forged[i]), -EBADF);
		assert_int_equal(ft_releasedir(t, forged[i]), -EBADF);
		ft_forget(t, forged[i], 1);
	}
	/* handles of the other kind */
	rd.fh = dh;
	assert_int_equal(ft_do(t, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL),
			 -EBADF);
	rd.fh = fh;
	assert_int_equal(ft_do(t, FUSE_READDIR, 1, &rd, sizeof(rd), NULL, NULL),
			 -EBADF);
	assert_int_equal(ft_do(t, FUSE_READDIRPLUS, 1, &rd, sizeof(rd), NULL,
			       NULL), -EBADF);
	fs.fh = fh;
	assert_int_equal(ft_do(t, FUSE_FSYNCDIR, 1, &fs, sizeof(fs), NULL, NULL),
			 -EBADF);
	fs.fh = dh;
	assert_int_equal(ft_do(t, FUSE_FSYNC, 1, &fs, sizeof(fs), NULL, NULL),
			 -EBADF);
	assert_int_equal(ft_releasedir(t, fh), -EBADF);
	assert_int_equal(ft_release(t, dh), -EBADF);
	assert_int_equal(mock_fs_open_files(t->m), 2);
	/* a node id used as an fh and the other way round */
	rd.fh = a;
	assert_int_equal(ft_do(t, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL),
			 -EBADF);
	assert_int_equal(ft_release(t, fh), 0);
	assert_int_equal(ft_releasedir(t, dh), 0);
	/* stale ids */
	rd.fh = fh;
	assert_int_equal(ft_do(t, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL),
			 -EBADF);
	ft_forget(t, a, 1);
	assert_int_equal(ft_do(t, FUSE_GETATTR, a, &ga, sizeof(ga), NULL, NULL),
			 -ESTALE);
	assert_int_equal(mock_fs_refs(t->m), 0);
}

static void test_reply_too_small(void **state)
{
	struct ft *t = *state;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = 0600 };
	int calls = t->m->calls;

	t->r->out_cap = sizeof(struct fuse_out_header) + 100;
	assert_int_equal(ft_do(t, FUSE_LOOKUP, 1, NULL, 0, "a", NULL), -EIO);
	assert_int_equal(ft_do(t, FUSE_GETATTR, 1, &ga, sizeof(ga), NULL, NULL),
			 -EIO);
	assert_int_equal(ft_do(t, FUSE_CREATE, 1, &cr, sizeof(cr), "c", NULL),
			 -EIO);
	t->r->out_cap = sizeof(struct fuse_out_header) + 8;
	assert_int_equal(ft_do(t, FUSE_STATFS, 1, NULL, 0, NULL, NULL), -EIO);
	/* nothing ran, nothing leaked */
	assert_int_equal(t->m->calls, calls);
	t->r->out_cap = FT_OUT_MAX;
}

static void test_write_size_lies(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR);
	struct fuse_write_in in = { .fh = fh, .size = 10 };
	unsigned char data[300] = { 0 };
	int calls;

	calls = t->m->calls;
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data, 9);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data, 11);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	in.size = 0xffffffffu;
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data, 100);
	assert_int_equal(ft_send(t, t->r), -EINVAL);
	in.size = 10;
	in.offset = INT64_MAX - 5;
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data, 10);
	assert_int_equal(ft_send(t, t->r), -EFBIG);
	assert_int_equal(t->m->calls, calls);
	/* zero bytes are a valid write */
	in.offset = 0;
	in.size = 0;
	ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, NULL, 0);
	assert_int_equal(ft_send(t, t->r), 0);
	assert_int_equal(t->m->wlen, 0);
	/* more fragments than the engine's data iovecs */
	{
		size_t cuts[FT_IOV_MAX], n = 0;

		in.size = 300;
		ft_build(t->r, FUSE_WRITE, a, &in, sizeof(in), NULL, NULL, data,
			 300);
		for (size_t c = 0; c < FT_IOV_MAX - 2; c++)
			cuts[n++] = 40 + sizeof(in) + 1 + c;
		assert_int_equal(ft_send_cut(t, t->r, cuts, (int)n, NULL, 0),
				 -EIO);
	}
	assert_int_equal(ft_release(t, fh), 0);
	ft_forget(t, a, 1);
}

/* Run the request in t->r unsplit, then cut at every offset (2 and 3 pieces). */
static void split_everywhere(struct ft *t, size_t out_len_check)
{
	unsigned char *base_out = malloc(4096);
	struct ft_req *r = t->r;
	size_t len = r->in_len, base_len;
	int base = ft_send(t, r);

	base_len = r->reply_len;
	memcpy(base_out, r->out, base_len < 4096 ? base_len : 4096);
	for (size_t k = 1; k < len; k++) {
		size_t cuts[2] = { k, k + 1 };

		assert_int_equal(ft_send_cut(t, r, cuts, 1, NULL, 0), base);
		assert_int_equal(r->reply_len, base_len);
		assert_int_equal(ft_send_cut(t, r, cuts, 2, cuts, 2), base);
		assert_int_equal(r->reply_len, base_len);
		if (out_len_check)
			assert_memory_equal(r->out, base_out, out_len_check);
	}
	free(base_out);
}

static void test_split_every_offset(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDWR);
	struct fuse_write_in wr = { .fh = fh, .offset = 3, .size = 33 };
	struct fuse_setxattr_in sx = { .size = 7 };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_rename2_in rn = { .newdir = 1 };
	struct fuse_read_in rd = { .fh = fh, .size = 50 };
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one[2];
	} bf = { { .count = 2 }, { { 999, 1 }, { 998, 1 } } };
	unsigned char data[33];

	memset(data, 0x5a, sizeof(data));
	ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, "a", NULL, NULL, 0);
	split_everywhere(t, 16 + 8); /* same nodeid each time */
	ft_build(t->r, FUSE_GETATTR, a, &ga, sizeof(ga), NULL, NULL, NULL, 0);
	split_everywhere(t, 16 + 104);
	ft_build(t->r, FUSE_WRITE, a, &wr, sizeof(wr), NULL, NULL, data, 33);
	split_everywhere(t, 16 + 8);
	assert_memory_equal(t->m->wbuf, data, 33);
	ft_build(t->r, FUSE_SETXATTR, a, &sx, sizeof(sx), "user.k", NULL,
		 "1234567", 7);
	split_everywhere(t, 16);
	assert_memory_equal(t->m->xattr, "1234567", 7);
	ft_build(t->r, FUSE_RENAME2, 1, &rn, sizeof(rn), "from", "to", NULL, 0);
	split_everywhere(t, 16);
	assert_string_equal(t->m->name2, "to");
	ft_build(t->r, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL, NULL, 0);
	split_everywhere(t, 16 + 50);
	ft_build(t->r, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), NULL, NULL, NULL,
		 0);
	split_everywhere(t, 0);
	ft_build(t->r, FUSE_LOOKUP, 1, NULL, 0, "a/b", NULL, NULL, 0);
	split_everywhere(t, 16);
	assert_int_equal(ft_release(t, fh), 0);
	/* every LOOKUP above counted */
	ft_forget(t, a, ~0ull);
	assert_int_equal(mock_fs_refs(t->m), 0);
}

/* Replies cut at every offset of the reply space. */
static void test_reply_split_every_offset(void **state)
{
	struct ft *t = *state;
	uint64_t a = ft_lookup(t, 1, "a");
	uint64_t fh = ft_open(t, a, O_RDONLY), dh = ft_opendir(t, 1);
	struct fuse_read_in rd = { .fh = fh, .offset = 10, .size = 300 };
	struct fuse_read_in rdd = { .fh = dh, .size = 4096 };
	unsigned char ref[400];

	ft_build(t->r, FUSE_READ, a, &rd, sizeof(rd), NULL, NULL, NULL, 0);
	assert_int_equal(ft_send(t, t->r), 0);
	memcpy(ref, t->r->out, 316);
	for (size_t k = 1; k < 320; k++) {
		size_t cuts[3] = { k, k, k + 3 }; /* with an empty iovec */

		assert_int_equal(ft_send_cut(t, t->r, NULL, 0, cuts, 3), 0);
		assert_memory_equal(t->r->out, ref, 316);
	}
	ft_build(t->r, FUSE_READDIR, 1, &rdd, sizeof(rdd), NULL, NULL, NULL, 0);
	assert_int_equal(ft_send(t, t->r), 0);
	memcpy(ref, t->r->out, t->r->reply_len);
	for (size_t k = 1; k < t->r->reply_len; k++) {
		size_t cuts[2] = { k, k + 1 };
		size_t n = t->r->reply_len;

		assert_int_equal(ft_send_cut(t, t->r, NULL, 0, cuts, 2), 0);
		assert_int_equal(t->r->reply_len, n);
		assert_memory_equal(t->r->out, ref, n);
	}
	assert_int_equal(ft_release(t, fh), 0);
	assert_int_equal(ft_releasedir(t, dh), 0);
	ft_forget(t, a, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_truncated_header),
		T(test_lying_len),
		T(test_fixed_arg_sizes),
		T(test_names),
		T(test_symlink_target),
		T(test_batch_forget),
		T(test_forged_ids),
		T(test_reply_too_small),
		T(test_write_size_lies),
		T(test_split_every_offset),
		T(test_reply_split_every_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
