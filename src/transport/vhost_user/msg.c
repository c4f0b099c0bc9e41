// SPDX-License-Identifier: MIT
/* msg.c - vhost-user message framing: receive, split, attach fds, reply. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg_internal.h"

static const char *const request_names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VU_IOTLB_MSG] = "IOTLB_MSG",
	[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VU_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VU_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VU_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VU_POSTCOPY_END] = "POSTCOPY_END",
	[VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VU_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_VRING_KICK] = "VRING_KICK",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VU_REM_MEM_REG] = "REM_MEM_REG",
	[VU_SET_STATUS] = "SET_STATUS",
	[VU_GET_STATUS] = "GET_STATUS",
	[VU_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
	[VU_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
	[VU_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
};

const char *vu_request_name(uint32_t request)
{
	if (request < VU_REQUEST_MAX && request_names[request])
		return request_names[request];
	return "UNKNOWN";
}

static void close_all(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

void vu_msg_close_fds(struct vu_msg *m)
{
	close_all(m->fds, m->nfds);
	m->nfds = 0;
}

void vu_msg_reader_init(struct vu_msg_reader *r)
{
	r->len = 0;
	r->nsets = 0;
}

void vu_msg_reader_reset(struct vu_msg_reader *r)
{
	for (unsigned int i = 0; i < r->nsets; i++)
		close_all(r->sets[i].fds, r->sets[i].n);
	vu_msg_reader_init(r);
}

static uint32_t hdr_size_at(const struct vu_msg_reader *r, size_t pos)
{
	struct vu_msg_hdr h;

	memcpy(&h, r->buf + pos, sizeof(h));
	return h.size;
}

/*
 * Offset of the last message that starts in buf[0, len), found by walking
 * the headers; -EPROTO if a header announces an oversized payload.
 */
static long last_msg_start(const struct vu_msg_reader *r)
{
	size_t pos = 0, last = 0;

	while (pos < r->len) {
		last = pos;
		if (r->len - pos < sizeof(struct vu_msg_hdr))
			break;
		if (hdr_size_at(r, pos) > VU_MSG_PAYLOAD_MAX)
			return -EPROTO;
		pos += sizeof(struct vu_msg_hdr) + hdr_size_at(r, pos);
	}
	return (long)last;
}

static int attach_fds(struct vu_msg_reader *r, size_t old_len,
		      const int *fds, unsigned int nfds)
{
	long start = last_msg_start(r);
	struct vu_fdset *s;

	if (start < 0 || (size_t)start < old_len || nfds > VU_MSG_FDS_MAX ||
	    r->nsets == 2)
		return -EPROTO;
	if (r->nsets && r->sets[r->nsets - 1].off == (size_t)start)
		return -EPROTO;
	s = &r->sets[r->nsets++];
	s->off = (size_t)start;
	s->n = nfds;
	memcpy(s->fds, fds, nfds * sizeof(int));
	return 0;
}

int vu_msg_reader_feed(struct vu_msg_reader *r, size_t n, const int *fds,
		       unsigned int nfds)
{
	size_t old_len = r->len;
	int rc;

	if (n > sizeof(r->buf) - r->len) {
		close_all(fds, nfds);
		return -EPROTO;
	}
	r->len += n;
	if (nfds == 0)
		return 0;
	rc = attach_fds(r, old_len, fds, nfds);
	if (rc)
		close_all(fds, nfds);
	return rc;
}

static void take_fds(struct vu_msg_reader *r, struct vu_msg *m)
{
	m->nfds = 0;
	if (r->nsets == 0 || r->sets[0].off != 0)
		return;
	m->nfds = r->sets[0].n;
	memcpy(m->fds, r->sets[0].fds, m->nfds * sizeof(int));
	r->sets[0] = r->sets[1];
	r->nsets--;
}

static void consume(struct vu_msg_reader *r, size_t total)
{
	memmove(r->buf, r->buf + total, r->len - total);
	r->len -= total;
	for (unsigned int i = 0; i < r->nsets; i++)
		r->sets[i].off -= total;
}

int vu_msg_reader_next(struct vu_msg_reader *r, struct vu_msg *m)
{
	struct vu_msg_hdr h;
	size_t total;

	if (r->len < sizeof(h))
		return 0;
	memcpy(&h, r->buf, sizeof(h));
	if ((h.flags & VU_FLAG_VERSION_MASK) != VU_VERSION ||
	    (h.flags & VU_FLAG_REPLY) || h.size > VU_MSG_PAYLOAD_MAX)
		return -EPROTO;
	total = sizeof(h) + h.size;
	if (r->len < total)
		return 0;
	m->hdr = h;
	memcpy(m->payload.raw, r->buf + sizeof(h), h.size);
	memset(m->payload.raw + h.size, 0, sizeof(m->payload.raw) - h.size);
	take_fds(r, m);
	consume(r, total);
	return 1;
}

/* Collect the fds of every SCM_RIGHTS block; false if more than fit. */
static bool collect_fds(struct msghdr *mh, int *fds, unsigned int *nfds)
{
	bool ok = true;

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int tmp;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&tmp, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VU_MSG_FDS_MAX) {
				fds[(*nfds)++] = tmp;
			} else {
				close(tmp);
				ok = false;
			}
		}
	}
	return ok;
}

long vu_msg_recv(int sock, struct vu_msg_reader *r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * VU_MSG_FDS_MAX * 2)];
	} ctl;
	struct iovec iov = { r->buf + r->len, sizeof(r->buf) - r->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	int fds[VU_MSG_FDS_MAX];
	unsigned int nfds;
	ssize_t n;
	bool ok;

	if (iov.iov_len == 0)
		return -EPROTO;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	ok = collect_fds(&mh, fds, &nfds);
	if (!ok || (mh.msg_flags & MSG_CTRUNC) || (n == 0 && nfds)) {
		close_all(fds, nfds);
		return -EPROTO;
	}
	if (n == 0)
		return 0;
	if (vu_msg_reader_feed(r, (size_t)n, fds, nfds))
		return -EPROTO;
	return n;
}

int vu_msg_reply(int sock, uint32_t request, const void *payload,
		 uint32_t size)
{
	struct {
		struct vu_msg_hdr hdr;
		uint8_t payload[512];
	} out;
	size_t total = sizeof(out.hdr) + size;
	ssize_t n;

	if (size > sizeof(out.payload))
		return -EINVAL;
	out.hdr.request = request;
	out.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	out.hdr.size = size;
	if (size)
		memcpy(out.payload, payload, size);
	/* MSG_NOSIGNAL: a front-end that went away must not kill us. */
	n = send(sock, &out, total, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	return (size_t)n == total ? 0 : -EIO;
}
