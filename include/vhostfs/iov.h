/* SPDX-License-Identifier: MIT */
/*
 * iov.h - walking scatter-gather lists as one byte stream.
 *
 * Requests arrive as arrays of iovecs whose boundaries carry no meaning: a
 * header may straddle two of them and data pages come as separate entries.
 * Every reader and writer of request bytes goes through this cursor so that
 * bounds are checked in exactly one place.  The cursor never looks at memory
 * beyond the iovecs it was given.
 */
#ifndef VHOSTFS_IOV_H
#define VHOSTFS_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct iov_cursor {
	const struct iovec *iov; /* current entry */
	unsigned int cnt;        /* entries left, including the current one */
	size_t off;              /* offset within the current entry */
	size_t remaining;        /* bytes left in the whole stream */
};

/* Total length of an iovec array; saturates at SIZE_MAX instead of wrapping. */
size_t iov_length(const struct iovec *iov, unsigned int cnt);

/* Start a cursor at the first byte of @iov[0..cnt). */
void iov_cursor_init(struct iov_cursor *c, const struct iovec *iov,
		     unsigned int cnt);

/* Bytes left after the cursor. */
static inline size_t iov_cursor_remaining(const struct iov_cursor *c)
{
	return c->remaining;
}

/*
 * Copy exactly @len bytes from the stream into @dst and advance.
 * Returns 0, or -EINVAL (nothing consumed) when fewer than @len bytes remain.
 */
int iov_cursor_read(struct iov_cursor *c, void *dst, size_t len);

/*
 * Copy exactly @len bytes from @src into the stream and advance.
 * Returns 0, or -ENOSPC (nothing written) when fewer than @len bytes remain.
 */
int iov_cursor_write(struct iov_cursor *c, const void *src, size_t len);

/* Write @len zero bytes; same errors as iov_cursor_write(). */
int iov_cursor_zero(struct iov_cursor *c, size_t len);

/* Advance by @len bytes; -EINVAL (nothing consumed) if fewer remain. */
int iov_cursor_skip(struct iov_cursor *c, size_t len);

/*
 * Describe the next @len bytes as iovecs without copying and advance.
 * Up to @max entries are stored in @out, their count in *@n.
 * Returns 0, -EINVAL if fewer than @len bytes remain, or -E2BIG if @max
 * entries are not enough (nothing consumed in either case).
 */
int iov_cursor_slice(struct iov_cursor *c, size_t len, struct iovec *out,
		     unsigned int max, unsigned int *n);

/*
 * If the next @len bytes are contiguous in one entry, return a pointer to
 * them and advance; otherwise return NULL and consume nothing.
 */
void *iov_cursor_contiguous(struct iov_cursor *c, size_t len);

#endif /* VHOSTFS_IOV_H */
