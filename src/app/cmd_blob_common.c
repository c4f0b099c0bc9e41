// SPDX-License-Identifier: MIT
/*
 * cmd_blob_common.c - see cmd_blob_common.h.
 *
 * The store is given the image's io_uring device wrapped in a small
 * counting device: every request passes through unchanged
 * (bdev_io_forward) and its bytes are added up, which is what the progress
 * line shows.  The tools run one reactor on the main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_blob_common.h"

#define PROGRESS_DELAY_NS (500ull * 1000000) /* quiet for short runs */
#define PROGRESS_EVERY_NS (200ull * 1000000)

uint64_t bt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- the counting device -------------------------------------------------- */

struct bt_count_dev {
	struct bdev bdev;
	struct bdev *base;
	uint64_t read;     /* one reactor thread: plain counters */
	uint64_t written;
};

static struct bt_count_dev *count_from(struct bdev *b)
{
	return (struct bt_count_dev *)b;
}

static void count_readv(struct bdev_channel *ch, struct bdev_io *io)
{
	count_from(ch->bdev)->read += io->length;
	bdev_io_forward(ch->ctx, io);
}

static void count_writev(struct bdev_channel *ch, struct bdev_io *io)
{
	count_from(ch->bdev)->written += io->length;
	bdev_io_forward(ch->ctx, io);
}

static void count_pass(struct bdev_channel *ch, struct bdev_io *io)
{
	bdev_io_forward(ch->ctx, io);
}

static int count_channel_create(struct bdev_channel *ch)
{
	struct bdev_channel *base;
	int rc = bdev_channel_create(count_from(ch->bdev)->base, ch->reactor,
				     &base);

	if (rc == 0)
		ch->ctx = base;
	return rc;
}

static int count_channel_destroy(struct bdev_channel *ch)
{
	return bdev_channel_destroy(ch->ctx);
}

static void count_destroy(struct bdev *b)
{
	free(count_from(b));
}

static const struct bdev_ops count_ops = {
	.readv = count_readv,
	.writev = count_writev,
	.flush = count_pass,
	.write_zeroes = count_pass,
	.unmap = count_pass,
	.channel_create = count_channel_create,
	.channel_destroy = count_channel_destroy,
	.destroy = count_destroy,
};

static int count_create(struct bdev *base, struct bt_count_dev **out)
{
	struct bt_count_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	bdev_init(&d->bdev, &count_ops, bdev_name(base),
		  bdev_block_size(base), bdev_block_count(base));
	d->base = base;
	*out = d;
	return 0;
}

uint64_t bt_bytes_read(const struct bt *t)
{
	return t->count ? t->count->read : 0;
}

uint64_t bt_bytes_written(const struct bt *t)
{
	return t->count ? t->count->written : 0;
}

static uint64_t bt_bytes_moved(const struct bt *t)
{
	return bt_bytes_read(t) + bt_bytes_written(t);
}

/* --- messages and the progress line --------------------------------------- */

static void progress_clear(struct bt *t)
{
	if (!t->prog.shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	t->prog.shown = false;
}

static void progress_draw(struct bt *t, uint64_t now)
{
	struct bt_progress *p = &t->prog;
	uint64_t done = bt_bytes_moved(t) - p->base;
	char sz[32];

	fprintf(stderr, "\r\033[K%s: %s: %s", t->cmd, p->what,
		bt_size_str(done, sz, sizeof(sz)));
	if (p->total) {
		uint64_t pct = done >= p->total ? 99 : done * 100 / p->total;

		fprintf(stderr, " (%" PRIu64 "%%)", pct);
	}
	fprintf(stderr, ", %" PRIu64 " s", (now - p->start_ns) / 1000000000u);
	fflush(stderr);
	p->shown = true;
	p->last_ns = now;
}

static void progress_tick(struct bt *t)
{
	struct bt_progress *p = &t->prog;
	uint64_t now;

	if (!p->tty || !p->what)
		return;
	now = bt_now_ns();
	if (now - p->start_ns < PROGRESS_DELAY_NS ||
	    now - p->last_ns < PROGRESS_EVERY_NS)
		return;
	progress_draw(t, now);
}

void bt_progress_begin(struct bt *t, const char *what, uint64_t total_bytes)
{
	struct bt_progress *p = &t->prog;

	p->what = what;
	p->total = total_bytes;
	p->base = bt_bytes_moved(t);
	p->start_ns = bt_now_ns();
	p->last_ns = 0;
}

void bt_progress_end(struct bt *t)
{
	progress_clear(t);
	t->prog.what = NULL;
}

static void vline(const char *cmd, const char *fmt, va_list ap,
		  const char *tail) __attribute__((format(printf, 2, 0)));

static void vline(const char *cmd, const char *fmt, va_list ap,
		  const char *tail)
{
	fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "%s\n", tail);
}

void bt_err(const struct bt *t, const char *fmt, ...)
{
	va_list ap;

	progress_clear((struct bt *)t);
	fflush(stdout);
	va_start(ap, fmt);
	vline(t->cmd, fmt, ap, "");
	va_end(ap);
}

int bt_usage(const char *cmd, const char *fmt, ...)
{
	char tail[96];
	va_list ap;

	snprintf(tail, sizeof(tail), " (see %s --help)", cmd);
	va_start(ap, fmt);
	vline(cmd, fmt, ap, tail);
	va_end(ap);
	return BT_EXIT_USAGE;
}

int bt_opt_error(const char *cmd, int c, const char *arg)
{
	if (c == ':')
		return bt_usage(cmd, "option '%s' needs a value", arg);
	return bt_usage(cmd, "unknown option '%s'", arg);
}

const char *bt_optarg(int c, char *argv[])
{
	if (c == '?' || c == ':')
		return argv[optind - 1];
	return optarg;
}

const char *bt_strerror(int err)
{
	switch (-err) {
	case EUCLEAN:
		return "corrupt metadata";
	case EILSEQ:
		return "not a vhostfs blobstore, or an unsupported version";
	case EROFS:
		return "loaded read-only";
	default:
		return strerror(-err);
	}
}

/* stdout for reports: a line written there first clears the progress. */
static ssize_t out_write(void *cookie, const char *buf, size_t len)
{
	progress_clear(cookie);
	if (fwrite(buf, 1, len, stdout) != len)
		return -1;
	fflush(stdout);
	return (ssize_t)len;
}

static FILE *out_open(struct bt *t)
{
	cookie_io_functions_t fns = { .write = out_write };
	FILE *f = fopencookie(t, "w", fns);

	if (!f)
		return stdout;
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* --- sizes ---------------------------------------------------------------- */

int bt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int size_shift(const char *suffix, unsigned int *shift)
{
	static const char units[] = "KMGTP";
	const char *u;

	if (*suffix == '\0' || strcmp(suffix, "B") == 0) {
		*shift = 0;
		return 0;
	}
	u = strchr(units, suffix[0] & ~0x20);
	if (!u || suffix[0] == '\0')
		return -EINVAL;
	if (suffix[1] && strcmp(suffix + 1, "iB") != 0 &&
	    strcmp(suffix + 1, "B") != 0)
		return -EINVAL;
	*shift = 10 * (unsigned int)(u - units + 1);
	return 0;
}

int bt_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || size_shift(end, &shift) < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

const char *bt_size_str(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB",
					     "TiB", "PiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
	else if (bytes % (1ull << (10 * u)) == 0)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* --- opening -------------------------------------------------------------- */

static int lock_image(struct bt *t, enum bt_lock lock)
{
	int op = lock == BT_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;

	t->lock_fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (t->lock_fd < 0) {
		bt_err(t, "cannot open %s: %s", t->path, strerror(errno));
		return -errno;
	}
	if (flock(t->lock_fd, op | LOCK_NB) < 0) {
		int err = errno;

		bt_err(t, "%s is in use by another program (%s)", t->path,
		       err == EWOULDBLOCK ? "locked" : strerror(err));
		return -err;
	}
	return 0;
}

static int open_reactor(struct bt *t)
{
	struct reactor_config cfg = { .ring_entries = 256, .name = "tool" };
	int rc = reactor_create(&t->r, &cfg);

	if (rc < 0) {
		t->r = NULL;
		bt_err(t, "io_uring is not available: %s", strerror(-rc));
		return rc;
	}
	/* bind it to this thread, the origin of every call */
	rc = reactor_run_once(t->r, 0);
	return rc < 0 ? rc : 0;
}

static int open_dev(struct bt *t, uint32_t block_size,
		    enum bdev_uring_direct direct)
{
	struct bdev_uring_config cfg = {
		.path = t->path,
		.block_size = block_size,
		.direct = direct,
	};
	int rc = bdev_uring_open(&cfg, &t->base);

	if (rc < 0) {
		t->base = NULL;
		bt_err(t, "cannot open %s as a block device: %s", t->path,
		       strerror(-rc));
		return rc;
	}
	rc = count_create(t->base, &t->count);
	if (rc < 0) {
		bt_err(t, "%s", strerror(-rc));
		return rc;
	}
	t->dev = &t->count->bdev;
	return 0;
}

int bt_open(struct bt *t, const char *cmd, const char *path,
	    uint32_t block_size, enum bdev_uring_direct direct,
	    enum bt_lock lock)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->cmd = cmd;
	t->path = path;
	t->lock_fd = -1;
	t->prog.tty = isatty(STDERR_FILENO) == 1;
	t->out = out_open(t);
	rc = lock_image(t, lock);
	if (rc == 0)
		rc = open_reactor(t);
	if (rc == 0)
		rc = open_dev(t, block_size, direct);
	if (rc < 0)
		bt_close(t);
	return rc;
}

void bt_close(struct bt *t)
{
	bt_progress_end(t);
	if (t->dev)
		bdev_destroy(t->dev);
	if (t->base)
		bdev_destroy(t->base);
	if (t->r)
		reactor_destroy(t->r);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	if (t->out && t->out != stdout)
		fclose(t->out);
	fflush(stdout);
	t->dev = t->base = NULL;
	t->count = NULL;
	t->r = NULL;
	t->lock_fd = -1;
	t->out = NULL;
}

/* --- running -------------------------------------------------------------- */

void bt_wait_cb(void *arg, int err)
{
	struct bt_wait *w = arg;

	w->done = true;
	w->err = err;
}

int bt_wait(struct bt *t, struct bt_wait *w)
{
	while (!w->done) {
		int rc = reactor_run_once(t->r, 100);

		if (rc < 0)
			return rc;
		progress_tick(t);
	}
	return w->err;
}

int bt_load(struct bt *t, bool read_only)
{
	struct blob_load_opts o = { .read_only = read_only };
	struct bt_wait w = { 0 };

	blob_store_load(t->dev, t->r, &o, &t->bs, bt_wait_cb, &w);
	if (bt_wait(t, &w) < 0)
		t->bs = NULL;
	return w.err;
}

int bt_unload(struct bt *t)
{
	struct bt_wait w = { 0 };

	if (!t->bs)
		return 0;
	blob_store_unload(t->bs, bt_wait_cb, &w);
	bt_wait(t, &w);
	/* freed unless busy, which a tool never leaves it */
	if (w.err != -EBUSY)
		t->bs = NULL;
	return w.err;
}

/* --- probing the super block (docs/FORMAT.md) ----------------------------- */

/*
 * The tools read a few super block fields themselves before loading: the
 * block size the store was formatted with (the device must be opened with
 * it), and the size the store needs, to tell a truncated image from other
 * damage.  Only hints: the blobstore checks everything when it loads.
 */
#define PROBE_PAGE 4096u
#define SUPER_MAGIC "VHFSBLOB"
#define CKPT_MAGIC "VHFSCKPT"

static uint32_t le32_at(const unsigned char *p, size_t off)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[off + (size_t)i];
	return v;
}

static uint64_t le64_at(const unsigned char *p, size_t off)
{
	return (uint64_t)le32_at(p, off + 4) << 32 | le32_at(p, off);
}

static int probe_size(int fd, uint64_t *out)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, out) < 0 ? -errno : 0;
	*out = (uint64_t)st.st_size;
	return 0;
}

/* The store's size from the checkpoint the super block @s names. */
static void probe_store_bytes(int fd, const unsigned char *s,
			      struct bt_probe *out)
{
	unsigned char ck[PROBE_PAGE];
	uint32_t area = le32_at(s, 0x78) & 1;
	uint64_t cs = le32_at(s, 0x34), data_start = le64_at(s, 0x68);
	uint64_t page = le64_at(s, 0x50 + 8 * area), count = 0;

	if (cs < 4096 || (cs & (cs - 1)) || data_start > UINT32_MAX)
		return;
	if (page < (UINT64_MAX / PROBE_PAGE) &&
	    pread(fd, ck, sizeof(ck), (off_t)(page * PROBE_PAGE)) ==
		    (ssize_t)sizeof(ck) &&
	    memcmp(ck, CKPT_MAGIC, 8) == 0)
		count = le64_at(ck, 0x28);
	if (count > UINT32_MAX)
		count = 0;
	out->store_bytes = (count > data_start ? count : data_start) * cs;
}

int bt_probe_image(const char *path, struct bt_probe *out)
{
	unsigned char pg[2 * PROBE_PAGE];
	const unsigned char *best = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	rc = probe_size(fd, &out->file_bytes);
	n = rc == 0 ? pread(fd, pg, sizeof(pg), 0) : 0;
	if (n < 0)
		rc = -errno;
	for (size_t p = 0; rc == 0 && p + PROBE_PAGE <= (size_t)n;
	     p += PROBE_PAGE) {
		const unsigned char *s = pg + p;

		if (memcmp(s, SUPER_MAGIC, 8) != 0)
			continue;
		out->magic = true;
		if (!best || le64_at(s, 0x10) > le64_at(best, 0x10))
			best = s;
	}
	if (best) {
		uint32_t bsz = le32_at(best, 0x30);

		out->block_size = bsz == 512 || bsz == 4096 ? bsz : 0;
		out->cluster_size = le32_at(best, 0x34);
		if (out->cluster_size < 4096 || out->cluster_size > (1u << 30) ||
		    (out->cluster_size & (out->cluster_size - 1)))
			out->cluster_size = 0;
		probe_store_bytes(fd, best, out);
	}
	close(fd);
	return rc;
}
