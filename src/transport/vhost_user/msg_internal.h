/* SPDX-License-Identifier: MIT */
/*
 * msg_internal.h - framing of vhost-user messages on the unix socket.
 *
 * One recvmsg() may return several messages, and the SCM_RIGHTS fds that
 * came with it belong to the one message whose bytes were sent together
 * with them.  Linux ends a stream read right after the chunk that carried
 * fds, and the front-end sends each message (header, payload, fds) with one
 * sendmsg(): so the fds of a read belong to the LAST message that starts in
 * that read.  The reader keeps them with that message until it is complete.
 * Fds that cannot be attributed that way are a protocol error.
 */
#ifndef VHOSTFS_VU_MSG_INTERNAL_H
#define VHOSTFS_VU_MSG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto_internal.h"

/* Largest payload accepted for any request (known ones are far smaller). */
#define VU_MSG_PAYLOAD_MAX 4096u
/* Most fds one message may carry (SET_MEM_TABLE: one per region). */
#define VU_MSG_FDS_MAX 8u
#define VU_MSG_RX_BUF (2u * (sizeof(struct vu_msg_hdr) + VU_MSG_PAYLOAD_MAX))

struct vu_msg {
	struct vu_msg_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table mem;
		struct vu_mem_single region;
		struct vu_inflight inflight;
		struct vu_config_hdr config;
		uint8_t raw[VU_MSG_PAYLOAD_MAX];
	} payload; /* bytes past hdr.size are zero */
	int fds[VU_MSG_FDS_MAX]; /* owned; a handler that keeps one sets it to -1 */
	unsigned int nfds;
};

/* Fds waiting for the message that starts at buffer offset @off. */
struct vu_fdset {
	size_t off;
	unsigned int n;
	int fds[VU_MSG_FDS_MAX];
};

struct vu_msg_reader {
	size_t len;          /* bytes buffered; buf[0] starts a message */
	unsigned int nsets;
	struct vu_fdset sets[2];
	uint8_t buf[VU_MSG_RX_BUF];
};

void vu_msg_reader_init(struct vu_msg_reader *r);

/* Drop buffered bytes and close fds not handed out yet. */
void vu_msg_reader_reset(struct vu_msg_reader *r);

/*
 * Account @n bytes just stored at r->buf + r->len, received together with
 * @fds (ownership passes to the reader, also on error).  Returns 0, or
 * -EPROTO when the fds cannot belong to a message of this chunk, when a
 * header announces an oversized payload, or when there are too many fds.
 */
int vu_msg_reader_feed(struct vu_msg_reader *r, size_t n, const int *fds,
		       unsigned int nfds);

/*
 * Take the next complete message (with its fds) into @m.  Returns 1, 0 if
 * more bytes are needed, or -EPROTO for a bad version, a REPLY flag on a
 * request or an oversized payload.
 */
int vu_msg_reader_next(struct vu_msg_reader *r, struct vu_msg *m);

/*
 * One non-blocking recvmsg() from @sock into @r.  Returns the byte count,
 * 0 at end of stream, -EAGAIN, -EPROTO (truncated fds, bad framing) or
 * another -errno.
 */
long vu_msg_recv(int sock, struct vu_msg_reader *r);

/* Send a reply to @request with @size payload bytes. 0 or -errno. */
int vu_msg_reply(int sock, uint32_t request, const void *payload,
		 uint32_t size);

/* Close every fd still owned by @m. */
void vu_msg_close_fds(struct vu_msg *m);

/* "SET_MEM_TABLE", ... for logs; "UNKNOWN" outside the table. */
const char *vu_request_name(uint32_t request);

#endif /* VHOSTFS_VU_MSG_INTERNAL_H */
