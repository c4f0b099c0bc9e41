// SPDX-License-Identifier: MIT
/* vu_client.c - sending vhost-user messages and checking their replies. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frontend/vu_client_internal.h"
#include "vhostfs/log.h"

static const char *const request_names[] = {
	[FE_VU_GET_FEATURES] = "GET_FEATURES",
	[FE_VU_SET_FEATURES] = "SET_FEATURES",
	[FE_VU_SET_OWNER] = "SET_OWNER",
	[FE_VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[FE_VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[FE_VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[FE_VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[FE_VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[FE_VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[FE_VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[FE_VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[FE_VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[FE_VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[FE_VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[FE_VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[FE_VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[FE_VU_ADD_MEM_REG] = "ADD_MEM_REG",
};

const char *fe_vu_request_name(uint32_t req)
{
	if (req >= sizeof(request_names) / sizeof(request_names[0]) ||
	    !request_names[req])
		return "?";
	return request_names[req];
}

int fe_vu_fd(const struct fe_vu *vu)
{
	return vu->sock;
}

static int vu_socket_try(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* Both directions time out: a back-end that stops reading must not
	 * hang us in sendmsg either. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

int fe_vu_connect(struct fe_vu *vu, const char *path, int timeout_ms)
{
	struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	int waited = 0;
	int fd;

	memset(vu, 0, sizeof(*vu));
	vu->sock = -1;
	for (;;) {
		fd = vu_socket_try(path, timeout_ms);
		if (fd >= 0)
			break;
		/* Missing or not yet listening: the daemon may be starting. */
		if ((fd != -ENOENT && fd != -ECONNREFUSED) || waited >= timeout_ms)
			return fd;
		nanosleep(&pause, NULL);
		waited += 20;
	}
	vu->sock = fd;
	return 0;
}

void fe_vu_close(struct fe_vu *vu)
{
	if (vu->sock >= 0)
		close(vu->sock);
	vu->sock = -1;
}

static int vu_send(struct fe_vu *vu, uint32_t req, uint32_t flags,
		   const void *payload, uint32_t size, int fd)
{
	struct fe_vu_hdr hdr = { .request = req, .flags = FE_VU_VERSION | flags,
				 .size = size };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) },
				{ (void *)payload, size } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	log_debug("bench: -> %s size %u%s%s", fe_vu_request_name(req), size,
		  fd >= 0 ? " +fd" : "",
		  flags & FE_VU_FLAG_NEED_REPLY ? " need-reply" : "");
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(vu->sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* The header and a payload of at most a few hundred bytes always go
	 * out whole on a stream socket; a short send means a broken peer. */
	return (size_t)n == sizeof(hdr) + size ? 0 : -EPIPE;
}

/* Close every fd that came with a reply: the back-end sends none to us. */
static void vu_drop_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
		log_warn("bench: back-end sent %zu unexpected fd(s)", n);
	}
}

static int vu_recv_exact(struct fe_vu *vu, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(vu->sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		vu_drop_fds(&mh);
		got += (size_t)n;
	}
	return 0;
}

/* Receive the reply to @req whose payload must be exactly @size bytes. */
static int vu_recv_reply(struct fe_vu *vu, uint32_t req, void *payload,
			 uint32_t size)
{
	struct fe_vu_hdr hdr;
	int err = vu_recv_exact(vu, &hdr, sizeof(hdr));

	if (err)
		return err;
	if ((hdr.flags & FE_VU_VERSION_MASK) != FE_VU_VERSION ||
	    !(hdr.flags & FE_VU_FLAG_REPLY) || hdr.request != req ||
	    hdr.size != size) {
		log_error("bench: bad reply to %s: request %u flags 0x%x size %u"
			  " (want size %u)", fe_vu_request_name(req),
			  hdr.request, hdr.flags, hdr.size, size);
		return -EPROTO;
	}
	return vu_recv_exact(vu, payload, size);
}

/* Send a message that has no mandatory reply; with REPLY_ACK, ask for the
 * status and fail on a nonzero one. */
static int vu_set(struct fe_vu *vu, uint32_t req, const void *payload,
		  uint32_t size, int fd)
{
	uint64_t status;
	int err;

	err = vu_send(vu, req, vu->reply_ack ? FE_VU_FLAG_NEED_REPLY : 0,
		      payload, size, fd);
	if (err || !vu->reply_ack)
		goto out;
	err = vu_recv_reply(vu, req, &status, sizeof(status));
	if (!err && status != 0) {
		log_error("bench: back-end refused %s (status %llu)",
			  fe_vu_request_name(req), (unsigned long long)status);
		err = -EREMOTEIO;
	}
out:
	if (err)
		log_error("bench: %s failed: %s", fe_vu_request_name(req),
			  strerror(-err));
	return err;
}

int fe_vu_get_u64(struct fe_vu *vu, uint32_t req, uint64_t *out)
{
	int err = vu_send(vu, req, 0, NULL, 0, -1);

	if (!err)
		err = vu_recv_reply(vu, req, out, sizeof(*out));
	if (err)
		log_error("bench: %s failed: %s", fe_vu_request_name(req),
			  strerror(-err));
	return err;
}

int fe_vu_set_u64(struct fe_vu *vu, uint32_t req, uint64_t val, int fd)
{
	return vu_set(vu, req, &val, sizeof(val), fd);
}

int fe_vu_set_none(struct fe_vu *vu, uint32_t req)
{
	return vu_set(vu, req, NULL, 0, -1);
}

int fe_vu_set_state(struct fe_vu *vu, uint32_t req, uint32_t index,
		    uint32_t num)
{
	struct fe_vu_state st = { .index = index, .num = num };

	return vu_set(vu, req, &st, sizeof(st), -1);
}

int fe_vu_get_vring_base(struct fe_vu *vu, uint32_t index, uint32_t *num)
{
	struct fe_vu_state st = { .index = index };
	int err = vu_send(vu, FE_VU_GET_VRING_BASE, 0, &st, sizeof(st), -1);

	if (!err)
		err = vu_recv_reply(vu, FE_VU_GET_VRING_BASE, &st, sizeof(st));
	if (!err && st.index != index) {
		log_error("bench: GET_VRING_BASE reply names ring %u, not %u",
			  st.index, index);
		err = -EPROTO;
	}
	if (err)
		return err;
	*num = st.num;
	return 0;
}

int fe_vu_set_vring_addr(struct fe_vu *vu, const struct fe_vu_addr *addr)
{
	return vu_set(vu, FE_VU_SET_VRING_ADDR, addr, sizeof(*addr), -1);
}

int fe_vu_set_mem_table(struct fe_vu *vu, const struct fe_vu_region *r,
			int fd)
{
	struct fe_vu_mem_table t = { .nregions = 1 };

	t.regions[0] = *r;
	/* Like QEMU: the payload ends after the regions actually used. */
	return vu_set(vu, FE_VU_SET_MEM_TABLE, &t,
		      (uint32_t)(8 + t.nregions * sizeof(t.regions[0])), fd);
}

int fe_vu_add_mem_reg(struct fe_vu *vu, const struct fe_vu_region *r, int fd)
{
	struct fe_vu_mem_single m = { .region = *r };

	return vu_set(vu, FE_VU_ADD_MEM_REG, &m, sizeof(m), fd);
}
