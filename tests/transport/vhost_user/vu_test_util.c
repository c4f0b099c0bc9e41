// SPDX-License-Identifier: MIT
/* vu_test_util.c - fake guest memory, driver ring and front-end helpers. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vu_test_util.h"

static void die(const char *what)
{
	perror(what);
	abort();
}

void fg_create(struct fake_guest *g, size_t size)
{
	memset(g, 0, sizeof(*g));
	g->fd = memfd_create("fake-guest", MFD_CLOEXEC);
	if (g->fd < 0 || ftruncate(g->fd, (off_t)size) < 0)
		die("memfd");
	g->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (g->mem == MAP_FAILED)
		die("mmap");
	g->size = size;
}

void fg_destroy(struct fake_guest *g)
{
	munmap(g->mem, g->size);
	close(g->fd);
}

void fg_add_region(struct fake_guest *g, uint64_t gpa, uint64_t size,
		   uint64_t uaddr, uint64_t mmap_offset)
{
	struct vu_mem_region_desc *d = &g->regions[g->nregions++];

	d->gpa = gpa;
	d->size = size;
	d->uaddr = uaddr;
	d->mmap_offset = mmap_offset;
}

static const struct vu_mem_region_desc *fg_region(const struct fake_guest *g,
						  uint64_t gpa)
{
	for (unsigned int i = 0; i < g->nregions; i++) {
		const struct vu_mem_region_desc *d = &g->regions[i];

		if (gpa >= d->gpa && gpa - d->gpa < d->size)
			return d;
	}
	abort();
}

void *fg_ptr(const struct fake_guest *g, uint64_t gpa)
{
	const struct vu_mem_region_desc *d = fg_region(g, gpa);

	return g->mem + d->mmap_offset + (gpa - d->gpa);
}

uint64_t fg_uva(const struct fake_guest *g, uint64_t gpa)
{
	const struct vu_mem_region_desc *d = fg_region(g, gpa);

	return d->uaddr + (gpa - d->gpa);
}

struct vu_mem_map *fg_map(const struct fake_guest *g)
{
	struct vu_mem_map *m = vu_mem_map_empty(), *next;

	for (unsigned int i = 0; i < g->nregions; i++) {
		struct vu_mem_region r;

		if (vu_mem_region_map(&r, &g->regions[i], g->fd) ||
		    vu_mem_map_add(m, &r, VU_MEM_SLOTS_MAX, &next))
			abort();
		vu_mem_map_free(m);
		m = next;
	}
	return m;
}

void drv_ring_init(struct drv_ring *r, struct fake_guest *g, uint16_t size,
		   uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa)
{
	r->g = g;
	r->size = size;
	r->desc_gpa = desc_gpa;
	r->avail_gpa = avail_gpa;
	r->used_gpa = used_gpa;
	r->avail_idx = 0;
	r->last_used = 0;
	memset(fg_ptr(g, desc_gpa), 0, VQ_DESC_BYTES(size));
	memset(fg_ptr(g, avail_gpa), 0, VQ_AVAIL_BYTES(size));
	memset(fg_ptr(g, used_gpa), 0, VQ_USED_BYTES(size));
}

struct vu_ring_addrs drv_addrs(const struct drv_ring *r)
{
	struct vu_ring_addrs a = {
		.desc = fg_uva(r->g, r->desc_gpa),
		.avail = fg_uva(r->g, r->avail_gpa),
		.used = fg_uva(r->g, r->used_gpa),
	};
	return a;
}

void drv_desc(struct drv_ring *r, uint64_t table_gpa, uint16_t i,
	      uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vq_desc d = { htole64(addr), htole32(len), htole16(flags),
			     htole16(next) };
	uint64_t base = table_gpa ? table_gpa : r->desc_gpa;

	memcpy(fg_ptr(r->g, base + (uint64_t)i * sizeof(d)), &d, sizeof(d));
}

static struct vq_avail *drv_avail(const struct drv_ring *r)
{
	return fg_ptr(r->g, r->avail_gpa);
}

static struct vq_used *drv_used(const struct drv_ring *r)
{
	return fg_ptr(r->g, r->used_gpa);
}

void drv_set_avail_idx(struct drv_ring *r, uint16_t idx)
{
	r->avail_idx = idx;
	__atomic_store_n(&drv_avail(r)->idx, htole16(idx), __ATOMIC_RELEASE);
}

void drv_publish(struct drv_ring *r, uint16_t head)
{
	drv_avail(r)->ring[r->avail_idx % r->size] = htole16(head);
	drv_set_avail_idx(r, (uint16_t)(r->avail_idx + 1));
}

uint16_t drv_used_idx(const struct drv_ring *r)
{
	return le16toh(__atomic_load_n(&drv_used(r)->idx, __ATOMIC_ACQUIRE));
}

bool drv_used_get(struct drv_ring *r, uint32_t *id, uint32_t *len)
{
	struct vq_used_elem *e;

	if (drv_used_idx(r) == r->last_used)
		return false;
	e = &drv_used(r)->ring[r->last_used % r->size];
	*id = le32toh(e->id);
	*len = le32toh(e->len);
	r->last_used++;
	return true;
}

void drv_set_used_event(struct drv_ring *r, uint16_t v)
{
	drv_avail(r)->ring[r->size] = htole16(v);
}

uint16_t drv_avail_event(const struct drv_ring *r)
{
	const uint16_t *p = (const void *)&drv_used(r)->ring[r->size];

	return le16toh(*p);
}

uint16_t drv_used_flags(const struct drv_ring *r)
{
	return le16toh(drv_used(r)->flags);
}

void drv_set_avail_flags(struct drv_ring *r, uint16_t f)
{
	drv_avail(r)->flags = htole16(f);
}

size_t fe_pack(void *buf, uint32_t req, uint32_t flags, const void *payload,
	       uint32_t size)
{
	struct vu_msg_hdr h = { req, flags | VU_VERSION, size };

	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy((uint8_t *)buf + sizeof(h), payload, size);
	return sizeof(h) + size;
}

int fe_send_raw(int sock, const void *buf, size_t len, const int *fds,
		unsigned int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EIO;
}

int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds)
{
	uint8_t buf[sizeof(struct vu_msg_hdr) + 4096];

	return fe_send_raw(sock, buf, fe_pack(buf, req, flags, payload, size),
			   fds, nfds);
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	return n == 1 ? 0 : -ETIMEDOUT;
}

static int recv_exact(int sock, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n;

		if (wait_readable(sock, timeout_ms))
			return -ETIMEDOUT;
		n = recv(sock, p, len, 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fe_recv(int sock, struct vu_msg_hdr *h, void *payload, size_t max,
	    int timeout_ms)
{
	uint8_t tmp[4096];
	int rc = recv_exact(sock, h, sizeof(*h), timeout_ms);

	if (rc)
		return rc;
	if (h->size > sizeof(tmp))
		return -EPROTO;
	rc = recv_exact(sock, tmp, h->size, timeout_ms);
	if (rc == 0 && payload)
		memcpy(payload, tmp, h->size < max ? h->size : max);
	return rc;
}

bool fe_wait_eof(int sock, int timeout_ms)
{
	uint8_t b[256];

	for (;;) {
		ssize_t n;

		if (wait_readable(sock, timeout_ms))
			return false;
		n = recv(sock, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
}

int efd_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0)
		die("eventfd");
	return fd;
}

bool efd_wait(int fd, int timeout_ms)
{
	uint64_t v;

	if (wait_readable(fd, timeout_ms))
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v);
}

int efd_kick(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}
