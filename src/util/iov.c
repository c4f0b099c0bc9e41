// SPDX-License-Identifier: MIT
/*
 * iov.c - the iovec cursor.
 *
 * Invariant kept by every function: when bytes remain, c->iov points at an
 * entry with at least one unread byte (zero-length and fully consumed entries
 * are skipped eagerly), so each copy loop makes progress on every turn.
 *
 * c->remaining never exceeds the bytes really left (iov_length() saturates
 * rather than wraps), so a walk bounded by it never steps past the array.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vhostfs/iov.h"

size_t iov_length(const struct iovec *iov, unsigned int cnt)
{
	size_t total = 0;

	for (unsigned int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/* Skip consumed and empty entries so that c->iov has data (or cnt is 0). */
static void iov_cursor_settle(struct iov_cursor *c)
{
	while (c->cnt > 0 && c->off >= c->iov->iov_len) {
		c->iov++;
		c->cnt--;
		c->off = 0;
	}
}

void iov_cursor_init(struct iov_cursor *c, const struct iovec *iov,
		     unsigned int cnt)
{
	c->iov = iov;
	c->cnt = cnt;
	c->off = 0;
	c->remaining = iov_length(iov, cnt);
	iov_cursor_settle(c);
}

/* Bytes that can be taken from the current entry, at most @want. */
static size_t iov_cursor_chunk(const struct iov_cursor *c, size_t want)
{
	size_t avail;

	if (c->cnt == 0)
		return 0;
	avail = c->iov->iov_len - c->off;
	if (avail > c->remaining)
		avail = c->remaining;
	return avail < want ? avail : want;
}

static void iov_cursor_advance(struct iov_cursor *c, size_t n)
{
	c->off += n;
	c->remaining -= n;
	iov_cursor_settle(c);
}

static uint8_t *iov_cursor_ptr(const struct iov_cursor *c)
{
	return (uint8_t *)c->iov->iov_base + c->off;
}

int iov_cursor_read(struct iov_cursor *c, void *dst, size_t len)
{
	uint8_t *out = dst;
	size_t n;

	if (len > c->remaining)
		return -EINVAL;
	while (len > 0 && (n = iov_cursor_chunk(c, len)) > 0) {
		memcpy(out, iov_cursor_ptr(c), n);
		out += n;
		len -= n;
		iov_cursor_advance(c, n);
	}
	return 0;
}

int iov_cursor_write(struct iov_cursor *c, const void *src, size_t len)
{
	const uint8_t *in = src;
	size_t n;

	if (len > c->remaining)
		return -ENOSPC;
	while (len > 0 && (n = iov_cursor_chunk(c, len)) > 0) {
		memcpy(iov_cursor_ptr(c), in, n);
		in += n;
		len -= n;
		iov_cursor_advance(c, n);
	}
	return 0;
}

int iov_cursor_zero(struct iov_cursor *c, size_t len)
{
	size_t n;

	if (len > c->remaining)
		return -ENOSPC;
	while (len > 0 && (n = iov_cursor_chunk(c, len)) > 0) {
		memset(iov_cursor_ptr(c), 0, n);
		len -= n;
		iov_cursor_advance(c, n);
	}
	return 0;
}

int iov_cursor_skip(struct iov_cursor *c, size_t len)
{
	size_t n;

	if (len > c->remaining)
		return -EINVAL;
	while (len > 0 && (n = iov_cursor_chunk(c, len)) > 0) {
		len -= n;
		iov_cursor_advance(c, n);
	}
	return 0;
}

int iov_cursor_slice(struct iov_cursor *c, size_t len, struct iovec *out,
		     unsigned int max, unsigned int *n)
{
	/* Walk a copy so that a failure leaves the caller's cursor untouched. */
	struct iov_cursor tmp = *c;
	unsigned int used = 0;
	size_t chunk;

	if (len > c->remaining)
		return -EINVAL;
	while (len > 0 && (chunk = iov_cursor_chunk(&tmp, len)) > 0) {
		if (used == max)
			return -E2BIG;
		out[used].iov_base = iov_cursor_ptr(&tmp);
		out[used].iov_len = chunk;
		used++;
		len -= chunk;
		iov_cursor_advance(&tmp, chunk);
	}
	*c = tmp;
	*n = used;
	return 0;
}

void *iov_cursor_contiguous(struct iov_cursor *c, size_t len)
{
	void *p;

	if (c->cnt == 0 || len > c->remaining ||
	    len > c->iov->iov_len - c->off)
		return NULL;
	p = iov_cursor_ptr(c);
	iov_cursor_advance(c, len);
	return p;
}
