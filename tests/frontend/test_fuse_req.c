// SPDX-License-Identifier: MIT
/*
 * test_fuse_req.c - FUSE requests as the front-end lays them out, and the
 * checks applied to replies from an untrusted daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fuse_req_internal.h"
#include "frontend/pattern_internal.h"

#define GPA_IN 0x10000ull
#define GPA_OUT 0x20000ull
#define GPA_DATA 0x100000ull
#define PAGES 4
#define CHAIN (FE_REQ_DESC_FIXED + PAGES)

struct slot {
	struct fe_req r;
	uint8_t in[FE_REQ_IN_MAX];
	uint8_t out[FE_REQ_OUT_MAX];
	uint8_t data[PAGES * FE_PAGE_SIZE];
	struct fe_vring_desc ring[64];  /* the ring's table (direct) */
	struct fe_vring_desc table[CHAIN]; /* own table (indirect) */
	uint16_t ids[CHAIN];
};

/* Direct chain on ring descriptors 10, 12, 14, ... (not contiguous). */
static struct slot *slot_new(bool indirect, uint32_t data_off)
{
	struct slot *s = calloc(1, sizeof(*s));
	struct fe_req *r = &s->r;

	assert_non_null(s);
	r->in = s->in;
	r->out = s->out;
	r->data = s->data;
	r->in_gpa = GPA_IN;
	r->out_gpa = GPA_OUT;
	r->data_gpa = GPA_DATA;
	r->data_pages = PAGES;
	r->data_off = data_off;
	r->ndesc_max = CHAIN;
	if (indirect) {
		r->table = s->table;
		r->table_gpa = 0x30000;
		r->head = 5;
		r->indirect_head = &s->ring[5];
	} else {
		for (unsigned int i = 0; i < CHAIN; i++)
			s->ids[i] = (uint16_t)(10 + 2 * i);
		r->ids = s->ids;
		r->table = s->ring;
		r->head = s->ids[0];
	}
	return s;
}

/* Walk the chain like a device would: (addr, len, write) triples. */
static int chain_walk(struct slot *s, struct fe_vring_desc *out, int max)
{
	struct fe_vring_desc *t = s->r.indirect_head ? s->table : s->ring;
	uint16_t i = s->r.indirect_head ? 0 : s->r.head;
	int n = 0;

	for (;;) {
		assert_true(n < max);
		out[n++] = t[i];
		if (!(t[i].flags & FE_VRING_DESC_F_NEXT))
			return n;
		i = t[i].next;
	}
}

static void test_header_fields(void **state)
{
	struct slot *s = slot_new(false, 0);
	struct fuse_in_header h;
	struct fe_fuse_cred c = { .uid = 7, .gid = 8, .pid = 9 };

	fe_fuse_cred_set(&c);
	assert_int_equal(fe_fuse_lookup(&s->r, 1, "name"), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 0x1234, FE_LAYOUT_LINUX), 0);
	memcpy(&h, s->in, sizeof(h));
	assert_int_equal(h.len, 40 + 5);
	assert_int_equal(h.opcode, FUSE_LOOKUP);
	assert_int_equal(h.unique, 0x1234);
	assert_int_equal(h.nodeid, 1);
	assert_int_equal(h.uid, 7);
	assert_int_equal(h.gid, 8);
	assert_int_equal(h.pid, 9);
	assert_string_equal((char *)s->in + 40, "name");
	free(s);
}

static void test_names_bounded(void **state)
{
	struct slot *s = slot_new(false, 0);
	char longname[FE_NAME_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(fe_fuse_lookup(&s->r, 1, longname), -ENAMETOOLONG);
	assert_int_equal(fe_fuse_unlink(&s->r, 1, ""), -EINVAL);
	longname[FE_NAME_MAX] = '\0';
	assert_int_equal(fe_fuse_create(&s->r, 1, longname, O_RDWR, 0100644), 0);
	assert_true(40 + s->r.in_args <= FE_REQ_IN_MAX);
	free(s);
}

static void test_linux_layout_write(void **state)
{
	struct slot *s = slot_new(false, 0);
	struct fe_vring_desc d[CHAIN];
	int n;

	assert_int_equal(fe_fuse_write(&s->r, 2, 3, 8192, 3 * FE_PAGE_SIZE), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	n = chain_walk(s, d, CHAIN);
	/* [hdr][write_in][3 pages] | [out hdr][write_out] */
	assert_int_equal(n, 7);
	assert_int_equal(d[0].addr, GPA_IN);
	assert_int_equal(d[0].len, 40);
	assert_int_equal(d[1].addr, GPA_IN + 40);
	assert_int_equal(d[1].len, sizeof(struct fuse_write_in));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(d[2 + i].addr, GPA_DATA + i * FE_PAGE_SIZE);
		assert_int_equal(d[2 + i].len, FE_PAGE_SIZE);
		assert_false(d[2 + i].flags & FE_VRING_DESC_F_WRITE);
	}
	assert_int_equal(d[5].addr, GPA_OUT);
	assert_int_equal(d[5].len, 16);
	assert_true(d[5].flags & FE_VRING_DESC_F_WRITE);
	assert_int_equal(d[6].len, sizeof(struct fuse_write_out));
	assert_int_equal(s->r.writable, 16 + 8);
	free(s);
}

static void test_read_pages_with_offset(void **state)
{
	struct slot *s = slot_new(false, 100);
	struct fe_vring_desc d[CHAIN];
	uint32_t total = 0;
	int n;

	/* 100 + 9000 bytes: 3996 + 4096 + 908 across three pages */
	assert_int_equal(fe_fuse_read(&s->r, 2, 3, 0, 9000), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	n = chain_walk(s, d, CHAIN);
	assert_int_equal(n, 2 + 1 + 3); /* hdr, read_in | out hdr, pages */
	assert_int_equal(d[3].addr, GPA_DATA + 100);
	assert_int_equal(d[3].len, FE_PAGE_SIZE - 100);
	assert_int_equal(d[4].addr, GPA_DATA + FE_PAGE_SIZE);
	assert_int_equal(d[5].len, 9000 - (FE_PAGE_SIZE - 100) - FE_PAGE_SIZE);
	for (int i = 2; i < n; i++) {
		assert_true(d[i].flags & FE_VRING_DESC_F_WRITE);
		total += d[i].len;
	}
	assert_int_equal(total, 16 + 9000);
	assert_int_equal(s->r.writable, 16 + 9000);
	/* a READ bigger than the slot is refused */
	assert_int_equal(fe_fuse_read(&s->r, 2, 3, 0, PAGES * FE_PAGE_SIZE), -E2BIG);
	free(s);
}

static void test_joined_and_scatter_cover_same_bytes(void **state)
{
	enum fe_layout layouts[] = { FE_LAYOUT_LINUX, FE_LAYOUT_JOINED,
				     FE_LAYOUT_SCATTER };

	for (size_t l = 0; l < 3; l++) {
		struct slot *s = slot_new(false, 0);
		struct fe_vring_desc d[CHAIN];
		uint64_t next_in = GPA_IN, next_out = GPA_OUT;
		int n;

		assert_int_equal(fe_fuse_create(&s->r, 1, "f", O_RDWR, 0100644), 0);
		assert_int_equal(fe_fuse_prepare(&s->r, 4, layouts[l]), 0);
		n = chain_walk(s, d, CHAIN);
		assert_int_equal(n, l == 1 ? 2 : l == 0 ? 4 : 6);
		/* readable bytes then writable bytes, contiguous, no gaps */
		for (int i = 0; i < n; i++) {
			uint64_t *next = d[i].flags & FE_VRING_DESC_F_WRITE
						 ? &next_out : &next_in;

			assert_int_equal(d[i].addr, *next);
			*next += d[i].len;
			if (i && !(d[i].flags & FE_VRING_DESC_F_WRITE))
				assert_false(d[i - 1].flags & FE_VRING_DESC_F_WRITE);
		}
		assert_int_equal(next_in - GPA_IN, 40 + 16 + 2);
		assert_int_equal(next_out - GPA_OUT, 16 + 128 + 16);
		free(s);
	}
}

static void test_indirect_head(void **state)
{
	struct slot *s = slot_new(true, 0);
	struct fe_vring_desc d[CHAIN];

	fe_fuse_getattr(&s->r, 5, 0, false);
	assert_int_equal(fe_fuse_prepare(&s->r, 6, FE_LAYOUT_LINUX), 0);
	assert_int_equal(s->ring[5].flags, FE_VRING_DESC_F_INDIRECT);
	assert_int_equal(s->ring[5].addr, 0x30000);
	assert_int_equal(s->ring[5].len, 4 * sizeof(struct fe_vring_desc));
	assert_int_equal(chain_walk(s, d, CHAIN), 4);
	assert_int_equal(d[1].next, 2);
	free(s);
}

static void test_forget_is_one_buffer(void **state)
{
	struct slot *s = slot_new(false, 0);
	struct fe_vring_desc d[CHAIN];

	fe_fuse_forget(&s->r, 9, 3);
	assert_int_equal(fe_fuse_prepare(&s->r, 8, FE_LAYOUT_LINUX), 0);
	assert_int_equal(chain_walk(s, d, CHAIN), 1);
	assert_int_equal(d[0].len, 48);
	assert_false(d[0].flags & FE_VRING_DESC_F_WRITE);
	assert_int_equal(s->r.writable, 0);
	free(s);
}

static void test_chain_reused_until_shape_changes(void **state)
{
	struct slot *s = slot_new(false, 0);

	assert_int_equal(fe_fuse_read(&s->r, 2, 3, 0, 4096), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	/* scribble on the table: an unchanged shape must not rebuild */
	s->ring[s->ids[0]].len = 12345;
	assert_int_equal(fe_fuse_read(&s->r, 2, 3, 8192, 4096), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 4, FE_LAYOUT_LINUX), 0);
	assert_int_equal(s->ring[s->ids[0]].len, 12345);
	assert_int_equal(fe_fuse_write(&s->r, 2, 3, 0, 4096), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 6, FE_LAYOUT_LINUX), 0);
	assert_int_equal(s->ring[s->ids[0]].len, 40);
	free(s);
}

static void test_chain_too_long(void **state)
{
	struct slot *s = slot_new(false, 0);

	s->r.ndesc_max = 3;
	assert_int_equal(fe_fuse_write(&s->r, 2, 3, 0, 8192), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), -E2BIG);
	free(s);
}

/* Put a reply into the slot's out buffer. */
static void reply(struct slot *s, uint32_t len, int32_t error, uint64_t unique)
{
	struct fuse_out_header oh = { .len = len, .error = error,
				      .unique = unique };

	memcpy(s->out, &oh, sizeof(oh));
}

static struct slot *slot_getattr(void)
{
	struct slot *s = slot_new(false, 0);

	fe_fuse_getattr(&s->r, 5, 0, false);
	assert_int_equal(fe_fuse_prepare(&s->r, 42, FE_LAYOUT_LINUX), 0);
	return s;
}

static void test_reply_good_and_errors(void **state)
{
	struct slot *s = slot_getattr();
	uint32_t full = 16 + sizeof(struct fuse_attr_out);

	reply(s, full, 0, 42);
	assert_int_equal(fe_fuse_reply_check(&s->r, full), 0);
	assert_int_equal(s->r.reply_len, sizeof(struct fuse_attr_out));
	reply(s, 16, -ENOENT, 42);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16), -ENOENT);
	free(s);
}

static void test_reply_malformed(void **state)
{
	struct slot *s = slot_getattr();
	uint32_t full = 16 + sizeof(struct fuse_attr_out);

	reply(s, full, 0, 43); /* someone else's unique */
	assert_int_equal(fe_fuse_reply_check(&s->r, full), -EPROTO);
	reply(s, full, 0, 42);
	assert_int_equal(fe_fuse_reply_check(&s->r, 15), -EPROTO);
	assert_int_equal(fe_fuse_reply_check(&s->r, full - 8), -EPROTO);
	assert_int_equal(fe_fuse_reply_check(&s->r, full + 8), -EPROTO);
	reply(s, 24, 0, 42); /* short payload */
	assert_int_equal(fe_fuse_reply_check(&s->r, 24), -EPROTO);
	reply(s, 24, -EIO, 42); /* error with payload */
	assert_int_equal(fe_fuse_reply_check(&s->r, 24), -EPROTO);
	reply(s, 16, 5, 42); /* positive "error" */
	assert_int_equal(fe_fuse_reply_check(&s->r, 16), -EPROTO);
	reply(s, 16, -5000, 42);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16), -EPROTO);
	free(s);
}

static void test_reply_read_short_ok_long_bad(void **state)
{
	struct slot *s = slot_new(false, 0);

	assert_int_equal(fe_fuse_read(&s->r, 2, 3, 0, 8192), 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	reply(s, 16 + 100, 0, 2);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16 + 100), 0);
	assert_int_equal(s->r.reply_len, 100);
	reply(s, 16, 0, 2); /* EOF */
	assert_int_equal(fe_fuse_reply_check(&s->r, 16), 0);
	reply(s, 16 + 8193, 0, 2);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16 + 8193), -EPROTO);
	free(s);
}

static void test_reply_init_compat_sizes(void **state)
{
	struct slot *s = slot_new(false, 0);

	fe_fuse_init(&s->r, FUSE_MAX_PAGES, 0, 0);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	reply(s, 16 + 24, 0, 2);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16 + 24), 0);
	reply(s, 16 + 64, 0, 2);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16 + 64), 0);
	reply(s, 16 + 20, 0, 2);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16 + 20), -EPROTO);
	free(s);
}

static void test_reply_forget(void **state)
{
	struct slot *s = slot_new(false, 0);

	fe_fuse_forget(&s->r, 9, 1);
	assert_int_equal(fe_fuse_prepare(&s->r, 2, FE_LAYOUT_LINUX), 0);
	assert_int_equal(fe_fuse_reply_check(&s->r, 0), 0);
	assert_int_equal(fe_fuse_reply_check(&s->r, 16), -EPROTO);
	free(s);
}

static void test_pattern(void **state)
{
	uint8_t buf[4096 + 3];
	struct fe_pattern_bad bad;

	/* unaligned buffer */
	fe_pattern_fill(buf + 3, 65536, 4096, 77, 5);
	assert_int_equal(fe_pattern_check(buf + 3, 65536, 4096, 77, 5, &bad), 0);
	assert_int_equal(fe_pattern_check(buf + 3, 65536, 4096, 77, 6, &bad),
			 -EILSEQ);
	assert_int_equal(bad.off, 65536);
	assert_int_equal(bad.got_tag, fe_pattern_tag(77, 5));
	assert_int_equal(fe_pattern_check(buf + 3, 65536 + 4096, 4096, 77, 5,
					  &bad), -EILSEQ);
	assert_int_equal(bad.got_off, 65536);
	buf[3 + 2000] ^= 1;
	assert_int_equal(fe_pattern_check(buf + 3, 65536, 4096, 77, 5, &bad),
			 -EILSEQ);
	assert_int_equal(bad.off, 65536 + 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_names_bounded),
		cmocka_unit_test(test_linux_layout_write),
		cmocka_unit_test(test_read_pages_with_offset),
		cmocka_unit_test(test_joined_and_scatter_cover_same_bytes),
		cmocka_unit_test(test_indirect_head),
		cmocka_unit_test(test_forget_is_one_buffer),
		cmocka_unit_test(test_chain_reused_until_shape_changes),
		cmocka_unit_test(test_chain_too_long),
		cmocka_unit_test(test_reply_good_and_errors),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_read_short_ok_long_bad),
		cmocka_unit_test(test_reply_init_compat_sizes),
		cmocka_unit_test(test_reply_forget),
		cmocka_unit_test(test_pattern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
