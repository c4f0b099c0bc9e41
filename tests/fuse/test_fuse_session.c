// SPDX-License-Identifier: MIT
/* test_fuse_session.c - FUSE_INIT negotiation, DESTROY, gating, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "ftest.h"
#include "vhostfs/reactor.h"

static struct fuse_init_out init_reply(const struct ft *t)
{
	struct fuse_init_out o;

	assert_int_equal(ft_payload_len(t->r), sizeof(o));
	memcpy(&o, ft_payload(t->r), sizeof(o));
	return o;
}

static void test_init_negotiates(void **state)
{
	const uint32_t must = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS |
		FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DONT_MASK |
		FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
		FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
		FUSE_HANDLE_KILLPRIV_V2 | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
		FUSE_SETXATTR_EXT | FUSE_INIT_EXT;
	const uint32_t never = FUSE_POSIX_ACL | FUSE_WRITEBACK_CACHE |
		FUSE_SPLICE_READ | FUSE_SPLICE_WRITE | FUSE_SPLICE_MOVE |
		FUSE_NO_OPEN_SUPPORT | FUSE_MAP_ALIGNMENT | FUSE_SUBMOUNTS |
		FUSE_EXPORT_SUPPORT | FUSE_HANDLE_KILLPRIV;
	struct ft t;
	struct fuse_init_out o;

	(void)state;
	ft_start(&t);
	assert_false(fuse_session_initialized(t.s));
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0xffffffffu), 0);
	assert_true(fuse_session_initialized(t.s));
	o = init_reply(&t);
	assert_int_equal(o.major, 7);
	assert_int_equal(o.minor, 38);
	assert_int_equal(o.flags & must, must);
	assert_int_equal(o.flags & never, 0);
	assert_int_equal(o.flags2, 0);
	assert_int_equal(o.max_write, 1u << 20);
	assert_int_equal(o.max_pages, 256);
	assert_int_equal(o.max_background, 65535);
	assert_int_equal(o.congestion_threshold, 65535 * 3 / 4);
	assert_int_equal(o.time_gran, 1);
	assert_int_equal(o.max_readahead, 131072);
	ft_stop(&t);
}

static void test_init_intersection(void **state)
{
	struct ft t;
	struct fuse_init_out o;

	(void)state;
	ft_start(&t);
	assert_int_equal(ft_init(&t, 7, 31, FUSE_ASYNC_READ | FUSE_BIG_WRITES |
				 FUSE_SPLICE_READ, 0xffffffffu), 0);
	o = init_reply(&t);
	assert_int_equal(o.flags, FUSE_ASYNC_READ | FUSE_BIG_WRITES);
	assert_int_equal(o.flags2, 0); /* flags2 ignored without INIT_EXT */
	assert_int_equal(o.max_pages, 0);
	assert_int_equal(o.minor, 38); /* we announce ours; 31 is in force */
	ft_stop(&t);
}

static void test_init_versions(void **state)
{
	struct ft t;
	struct fuse_init_out o;

	(void)state;
	ft_start(&t);
	/* newer major: answer our version, stay uninitialized */
	assert_int_equal(ft_init(&t, 8, 1, 0, 0), 0);
	o = init_reply(&t);
	assert_int_equal(o.major, 7);
	assert_int_equal(o.minor, 38);
	assert_false(fuse_session_initialized(t.s));
	/* too old */
	assert_int_equal(ft_init(&t, 6, 99, 0, 0), -EPROTO);
	assert_int_equal(ft_init(&t, 7, 26, 0, 0), -EPROTO);
	assert_false(fuse_session_initialized(t.s));
	/* the oldest we take */
	assert_int_equal(ft_init(&t, 7, 27, FUSE_ASYNC_READ, 0), 0);
	assert_true(fuse_session_initialized(t.s));
	/* a second INIT */
	assert_int_equal(ft_init(&t, 7, 38, 0, 0), -EPROTO);
	assert_true(fuse_session_initialized(t.s));
	ft_stop(&t);
}

static void test_init_arg_sizes(void **state)
{
	struct fuse_init_in in = { .major = 7, .minor = 35, .flags = 1 };
	unsigned char big[200] = { 0 };
	struct ft t;

	(void)state;
	ft_start(&t);
	assert_int_equal(ft_do(&t, FUSE_INIT, 0, &in, 8, NULL, NULL), -EINVAL);
	/* pre-7.36 kernels send 16 bytes */
	assert_int_equal(ft_do(&t, FUSE_INIT, 0, &in, 16, NULL, NULL), 0);
	ft_stop(&t);

	ft_start(&t);
	memcpy(big, &in, sizeof(in));
	/* a future, longer init_in: the known part is used */
	assert_int_equal(ft_do(&t, FUSE_INIT, 0, big, sizeof(big), NULL, NULL), 0);
	ft_stop(&t);
}

static void test_init_config(void **state)
{
	struct fuse_session_config cfg = {
		.xattr = true, .posix_acl = true, .writeback = true,
		.max_write = 65536, .max_pages = 32, .max_background = 100,
	};
	struct ft t;
	struct fuse_init_out o;

	(void)state;
	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	o = init_reply(&t);
	assert_true(o.flags & FUSE_POSIX_ACL);
	assert_false(o.flags & FUSE_SETXATTR_EXT);
	assert_true(o.flags & FUSE_WRITEBACK_CACHE);
	assert_int_equal(o.max_write, 65536);
	assert_int_equal(o.max_pages, 32);
	assert_int_equal(o.max_background, 100);
	assert_int_equal(o.congestion_threshold, 75);
	ft_stop(&t);

	/* no xattrs: no ACLs, no setxattr_ext; cache=never: no caching flags */
	cfg = (struct fuse_session_config){ .posix_acl = true, .writeback = true,
					    .cache = FUSE_CACHE_NEVER };
	ft_start_cfg(&t, &cfg);
	t.m->ops.getlk = NULL;
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	o = init_reply(&t);
	assert_false(o.flags & (FUSE_POSIX_ACL | FUSE_SETXATTR_EXT |
				FUSE_WRITEBACK_CACHE | FUSE_CACHE_SYMLINKS |
				FUSE_POSIX_LOCKS));
	assert_true(o.flags & FUSE_FLOCK_LOCKS);
	ft_stop(&t);

	/* max_write above max_pages is clamped */
	cfg = (struct fuse_session_config){ .max_write = 8u << 20,
					    .max_pages = 16 };
	ft_start_cfg(&t, &cfg);
	assert_int_equal(ft_init(&t, 7, 38, 0xffffffffu, 0), 0);
	o = init_reply(&t);
	assert_int_equal(o.max_write, 16 * 4096);
	ft_stop(&t);
}

static void test_before_init(void **state)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_forget_in fg = { .nlookup = 1 };
	struct fuse_interrupt_in in = { .unique = 5 };
	struct ft t;

	(void)state;
	ft_start(&t);
	assert_int_equal(ft_do(&t, FUSE_GETATTR, 1, &ga, sizeof(ga), NULL,
			       NULL), -EIO);
	assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "a", NULL), -EIO);
	assert_int_equal(ft_do(&t, FUSE_FORGET, 1, &fg, sizeof(fg), NULL, NULL),
			 FT_NOREPLY);
	assert_int_equal(ft_do(&t, FUSE_INTERRUPT, 1, &in, sizeof(in), NULL,
			       NULL), FT_NOREPLY);
	assert_int_equal(ft_do(&t, FUSE_DESTROY, 1, NULL, 0, NULL, NULL), -EIO);
	assert_int_equal(t.m->calls, 0);
	ft_stop(&t);
}

static void test_destroy(void **state)
{
	struct fuse_getattr_in ga = { 0 };
	struct ft t;
	uint64_t a;

	(void)state;
	ft_start_init(&t);
	a = ft_lookup(&t, 1, "a");
	assert_int_equal(ft_do(&t, FUSE_DESTROY, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(ft_payload_len(t.r), 0);
	assert_false(fuse_session_initialized(t.s));
	assert_int_equal(ft_do(&t, FUSE_GETATTR, 1, &ga, sizeof(ga), NULL,
			       NULL), -EIO);
	/* FORGETs may still trail in from the hiprio queue */
	ft_forget(&t, a, 1);
	assert_int_equal(mock_fs_refs(t.m), 0);
	assert_int_equal(ft_init(&t, 7, 38, 0, 0), -EPROTO);
	ft_stop(&t);
}

static void test_create_errors(void **state)
{
	struct fuse_session_config cfg = { 0 };
	struct fuse_session *s = NULL;
	struct mock_fs *m = mock_fs_new();

	(void)state;
	assert_int_equal(fuse_session_create(&s, &cfg), -EINVAL);
	cfg.fs = &m->base;
	cfg.cache = (enum fuse_cache_mode)17;
	assert_int_equal(fuse_session_create(&s, &cfg), -EINVAL);
	cfg.cache = FUSE_CACHE_AUTO;
	m->ops.forget = NULL;
	assert_int_equal(fuse_session_create(&s, &cfg), -EINVAL);
	assert_int_equal(m->inodes[0].refs, 0);
	mock_fs_free(m);
	fuse_session_destroy(NULL);
}

static void test_stats(void **state)
{
	struct fuse_session_stats st;
	struct ft t;
	uint64_t a, fh;

	(void)state;
	ft_start_init(&t);
	a = ft_lookup(&t, 1, "a");
	fh = ft_open(&t, a, O_RDONLY);
	assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "nxa", NULL),
			 -ENOENT);
	t.r->out_cap = 8;
	assert_int_equal(ft_do(&t, FUSE_STATFS, 1, NULL, 0, NULL, NULL),
			 FT_NOREPLY);
	t.r->out_cap = FT_OUT_MAX;
	fuse_session_get_stats(t.s, &st);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.nodes, 2);
	assert_int_equal(st.handles, 1);
	assert_int_equal(ft_release(&t, fh), 0);
	ft_forget(&t, a, 1);
	fuse_session_get_stats(t.s, &st);
	assert_int_equal(st.nodes, 1);
	assert_int_equal(st.handles, 0);
	ft_stop(&t);
}

/* A peer that vanished: the teardown forgets and releases what it left. */
static void test_teardown_cleans_up(void **state)
{
	struct ft t;
	uint64_t a, d;

	(void)state;
	ft_start_init(&t);
	a = ft_lookup(&t, 1, "a");
	ft_lookup(&t, 1, "a");
	d = ft_lookup(&t, 1, "d");
	ft_open(&t, a, O_RDWR);
	ft_open(&t, a, O_RDONLY);
	ft_opendir(&t, d);
	assert_int_equal(mock_fs_open_files(t.m), 3);
	assert_int_equal(mock_fs_refs(t.m), 3);
	ft_stop(&t); /* checks refs == 0 and no open file */
}

/* Releases at teardown may complete later, on this thread's reactor. */
static void test_teardown_waits_for_releases(void **state)
{
	struct reactor *r;
	struct ft t;
	uint64_t a;

	(void)state;
	assert_int_equal(reactor_create(&r, NULL), 0);
	reactor_run_once(r, 0); /* bind it to this thread */
	assert_ptr_equal(reactor_current(), r);
	ft_start_init(&t);
	a = ft_lookup(&t, 1, "a");
	ft_open(&t, a, O_RDWR);
	ft_opendir(&t, a);
	t.m->async = true;
	ft_stop(&t); /* runs the reactor until both releases completed */
	reactor_destroy(r);
}

static void test_no_room_for_header(void **state)
{
	struct fuse_session_stats st;
	struct ft t;

	(void)state;
	ft_start_init(&t);
	for (size_t cap = 0; cap < sizeof(struct fuse_out_header); cap++) {
		t.r->out_cap = cap;
		assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "a", NULL),
				 FT_NOREPLY);
		assert_int_equal(ft_do(&t, FUSE_LOOKUP, 1, NULL, 0, "a/b",
				       NULL), FT_NOREPLY);
	}
	assert_int_equal(t.m->calls, 0);
	fuse_session_get_stats(t.s, &st);
	assert_int_equal(st.dropped, 2 * sizeof(struct fuse_out_header));
	/* INIT with no room for its reply does not initialize */
	ft_stop(&t);
	ft_start(&t);
	t.r->out_cap = 40;
	assert_int_equal(ft_init(&t, 7, 38, 0, 0), -EIO);
	assert_false(fuse_session_initialized(t.s));
	ft_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_negotiates),
		cmocka_unit_test(test_init_intersection),
		cmocka_unit_test(test_init_versions),
		cmocka_unit_test(test_init_arg_sizes),
		cmocka_unit_test(test_init_config),
		cmocka_unit_test(test_before_init),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_teardown_cleans_up),
		cmocka_unit_test(test_teardown_waits_for_releases),
		cmocka_unit_test(test_no_room_for_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
