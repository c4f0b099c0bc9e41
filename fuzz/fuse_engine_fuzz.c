// SPDX-License-Identifier: MIT
/*
 * fuse_engine_fuzz.c - libFuzzer target for the FUSE request engine.
 *
 * Each input is a sequence of records fed to a fresh session over the mock
 * back-end of the unit tests (tests/fuse/mock_fs.c), after an automatic
 * FUSE_INIT so that every opcode's deeper paths are reachable:
 *
 *   record = ctl (1 byte) + request bytes
 *
 * The request takes as many bytes as its own header's len field says (when
 * that is at least 40 and available), else the rest of the input.  ctl:
 *   bits 0-2  how the request bytes are cut into iovecs (0: one iovec)
 *   bits 3-5  reply space: 0, 8, 16, 24, 64, 200, 4096 or 1 MiB + 4 KiB
 *   bit 6     the back-end fails this request with -EIO
 *   bit 7     id translation: in the header nodeid and the first u64
 *             argument, 0x10..0x1f become the nodeids and 0x20..0x2f the
 *             fhs the engine handed out earlier (in order), so that the
 *             fuzzer need not guess opaque handle ids
 *
 * After the input the session is destroyed and the mock must have every
 * inode reference back and no file open: a leak or double forget aborts.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_fs.h"
#include "vhostfs/fuse_engine.h"
#include "vhostfs/log.h"

#define IN_IOV_MAX 512
#define OUT_MAX ((1u << 20) + 4096)
#define IDS 16

static struct fuse_request req;
static struct iovec in_iov[IN_IOV_MAX];
static struct iovec out_iov[64];
static unsigned char *out_buf;
static unsigned char hdr_copy[sizeof(struct fuse_in_header) + 8];
static int done_calls;
static size_t done_len;

static uint64_t nodes[IDS];
static uint64_t fhs[IDS];
static unsigned int nnodes, nfhs;

static bool trace; /* FUSE_FUZZ_TRACE=1: print each request's outcome */

static const size_t out_sizes[8] = { 0, 8, 16, 24, 64, 200, 4096, OUT_MAX };

static void fz_done(struct fuse_request *r, size_t len)
{
	(void)r;
	done_calls++;
	done_len = len;
}

static void remember(uint64_t *ids, unsigned int *n, uint64_t id)
{
	if (id)
		ids[(*n)++ % IDS] = id;
}

/* Harvest nodeids and fhs from a successful reply. */
static void harvest(uint32_t opcode, const unsigned char *p, size_t len)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	switch (opcode) {
	case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR:
	case FUSE_SYMLINK: case FUSE_LINK:
		if (len >= sizeof(e)) {
			memcpy(&e, p, sizeof(e));
			remember(nodes, &nnodes, e.nodeid);
		}
		break;
	case FUSE_CREATE: case FUSE_TMPFILE:
		if (len >= sizeof(e) + sizeof(o)) {
			memcpy(&e, p, sizeof(e));
			memcpy(&o, p + sizeof(e), sizeof(o));
			remember(nodes, &nnodes, e.nodeid);
			remember(fhs, &nfhs, o.fh);
		}
		break;
	case FUSE_OPEN: case FUSE_OPENDIR:
		if (len >= sizeof(o)) {
			memcpy(&o, p, sizeof(o));
			remember(fhs, &nfhs, o.fh);
		}
		break;
	default:
		break;
	}
}

static uint64_t translate(uint64_t v)
{
	if (v >= 0x10 && v < 0x20)
		return nodes[v - 0x10];
	if (v >= 0x20 && v < 0x30)
		return fhs[v - 0x20];
	return v;
}

/*
 * The first iovec is a private copy of the header and first argument so
 * that ids can be translated without writing to the (read-only) input.
 */
static unsigned int cut(const uint8_t *data, size_t len, unsigned int mode,
			bool xlate)
{
	size_t head = len < sizeof(hdr_copy) ? len : sizeof(hdr_copy);
	size_t step = (size_t)1 << (mode * 2), off = head;
	unsigned int n = 0;

	memcpy(hdr_copy, data, head);
	if (xlate && head >= sizeof(struct fuse_in_header)) {
		struct fuse_in_header h;
		uint64_t a0;

		memcpy(&h, hdr_copy, sizeof(h));
		h.nodeid = translate(h.nodeid);
		memcpy(hdr_copy, &h, sizeof(h));
		if (head >= sizeof(h) + 8) {
			memcpy(&a0, hdr_copy + sizeof(h), 8);
			a0 = translate(a0);
			memcpy(hdr_copy + sizeof(h), &a0, 8);
		}
	}
	in_iov[n++] = (struct iovec){ hdr_copy, head };
	while (off < len && n < IN_IOV_MAX - 1 && mode) {
		size_t k = step + (off % 3);

		if (k > len - off)
			k = len - off;
		in_iov[n++] = (struct iovec){ (void *)(data + off), k };
		off += k;
	}
	if (off < len)
		in_iov[n++] = (struct iovec){ (void *)(data + off), len - off };
	return n;
}

static unsigned int out_cut(size_t size, unsigned int mode)
{
	unsigned int n = 0;
	size_t off = 0;

	while (mode && off < size && n < 63) {
		size_t k = (size_t)7 << mode;

		if (k > size - off)
			k = size - off;
		out_iov[n++] = (struct iovec){ out_buf + off, k };
		off += k;
	}
	out_iov[n++] = (struct iovec){ out_buf + off, size - off };
	return n;
}

static void run_one(struct fuse_session *s, struct mock_fs *m, uint8_t ctl,
		    const uint8_t *data, size_t len)
{
	size_t out_size = out_sizes[(ctl >> 3) & 7];
	struct fuse_in_header h = { 0 };

	req.in = in_iov;
	req.in_cnt = cut(data, len, ctl & 7, ctl & 0x80);
	req.out = out_iov;
	req.out_cnt = out_cut(out_size, ctl & 7);
	req.done = fz_done;
	m->fail = (ctl & 0x40) ? -EIO : 0;
	done_calls = 0;
	fuse_session_process(s, &req);
	m->fail = 0;
	if (done_calls != 1 || done_len > out_size)
		abort(); /* exactly one done(), within the reply space */
	if (len >= sizeof(h) && done_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header oh;

		memcpy(&h, hdr_copy, sizeof(h));
		memcpy(&oh, out_buf, sizeof(oh));
		if (oh.len != done_len || oh.unique != h.unique)
			abort();
		if (oh.error == 0)
			harvest(h.opcode, out_buf + sizeof(oh),
				done_len - sizeof(oh));
		if (trace)
			fprintf(stderr, "op %u nodeid %#llx -> %d (%zu bytes)\n",
				h.opcode, (unsigned long long)h.nodeid,
				oh.error, done_len);
	} else if (trace) {
		fprintf(stderr, "%zu request bytes -> no reply\n", len);
	}
}

static void auto_init(struct fuse_session *s, struct mock_fs *m)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} init = {
		.h = { .len = sizeof(init), .opcode = FUSE_INIT, .unique = 2 },
		.in = { .major = 7, .minor = 38, .max_readahead = 1 << 17,
			.flags = 0xffffffffu },
	};

	run_one(s, m, 7 << 3, (const uint8_t *)&init, sizeof(init));
}

/* Bytes of the next request: its own len when sane, else the rest. */
static size_t request_len(const uint8_t *data, size_t left)
{
	uint32_t len;

	if (left < sizeof(struct fuse_in_header))
		return left;
	memcpy(&len, data, sizeof(len));
	return len >= sizeof(struct fuse_in_header) && len <= left ? len : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_session_config cfg = { .xattr = true };
	struct fuse_session *s;
	struct mock_fs *m;

	if (!out_buf) {
		out_buf = malloc(OUT_MAX);
		log_set_level(LOG_LEVEL_ERROR);
		trace = getenv("FUSE_FUZZ_TRACE") != NULL;
	}
	m = mock_fs_new();
	m->readdir_entries = 6;
	cfg.fs = &m->base;
	cfg.cache = (enum fuse_cache_mode)(size % 4);
	cfg.posix_acl = size & 4;
	if (fuse_session_create(&s, &cfg))
		abort();
	memset(nodes, 0, sizeof(nodes));
	memset(fhs, 0, sizeof(fhs));
	nnodes = nfhs = 0;
	auto_init(s, m);
	while (size > 1) {
		uint8_t ctl = data[0];
		size_t n = request_len(data + 1, size - 1);

		run_one(s, m, ctl, data + 1, n);
		data += 1 + n;
		size -= 1 + n;
	}
	fuse_session_destroy(s);
	if (mock_fs_refs(m) || m->inodes[0].refs || mock_fs_open_files(m))
		abort(); /* the engine lost or kept a back-end reference */
	mock_fs_free(m);
	return 0;
}
