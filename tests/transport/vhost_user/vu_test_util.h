/* SPDX-License-Identifier: MIT */
/*
 * vu_test_util.h - a fake guest for vhost-user tests: guest RAM in a memfd
 * laid out as regions, the driver's side of a split ring, and a front-end
 * that speaks vhost-user on a socket.
 */
#ifndef VHOSTFS_TESTS_VU_TEST_UTIL_H
#define VHOSTFS_TESTS_VU_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vhost_user/memory_internal.h"
#include "transport/vhost_user/proto_internal.h"
#include "transport/vhost_user/virtq_internal.h"

#define FG_REGIONS_MAX 8

struct fake_guest {
	int fd;
	uint8_t *mem; /* the whole memfd, as the front-end sees it */
	size_t size;
	unsigned int nregions;
	struct vu_mem_region_desc regions[FG_REGIONS_MAX];
};

/* A memfd of @size bytes, no regions yet. */
void fg_create(struct fake_guest *g, size_t size);
void fg_destroy(struct fake_guest *g);
void fg_add_region(struct fake_guest *g, uint64_t gpa, uint64_t size,
		   uint64_t uaddr, uint64_t mmap_offset);
/* The guest's pointer to @gpa (must be inside a region). */
void *fg_ptr(const struct fake_guest *g, uint64_t gpa);
/* The front-end virtual address of @gpa. */
uint64_t fg_uva(const struct fake_guest *g, uint64_t gpa);
/* Map every region as the back-end would. */
struct vu_mem_map *fg_map(const struct fake_guest *g);

/* The driver's side of a split ring in fake guest memory. */
struct drv_ring {
	struct fake_guest *g;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx;
	uint16_t last_used;
};

void drv_ring_init(struct drv_ring *r, struct fake_guest *g, uint16_t size,
		   uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa);
struct vu_ring_addrs drv_addrs(const struct drv_ring *r);
/* Write descriptor @i of the ring (or of a table at @table_gpa if != 0). */
void drv_desc(struct drv_ring *r, uint64_t table_gpa, uint16_t i,
	      uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Make @head available and publish the avail index. */
void drv_publish(struct drv_ring *r, uint16_t head);
void drv_set_avail_idx(struct drv_ring *r, uint16_t idx);
/* Take the next used element, false if none. */
bool drv_used_get(struct drv_ring *r, uint32_t *id, uint32_t *len);
uint16_t drv_used_idx(const struct drv_ring *r);
void drv_set_used_event(struct drv_ring *r, uint16_t v);
uint16_t drv_avail_event(const struct drv_ring *r);
uint16_t drv_used_flags(const struct drv_ring *r);
void drv_set_avail_flags(struct drv_ring *r, uint16_t f);

/* Front-end messages. */
size_t fe_pack(void *buf, uint32_t req, uint32_t flags, const void *payload,
	       uint32_t size);
int fe_send_raw(int sock, const void *buf, size_t len, const int *fds,
		unsigned int nfds);
int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds);
/*
 * Receive one reply: 0, -ETIMEDOUT after @timeout_ms, -EPIPE at end of
 * stream.  @payload gets up to @max bytes.
 */
int fe_recv(int sock, struct vu_msg_hdr *h, void *payload, size_t max,
	    int timeout_ms);
/* True if @sock reached end of stream within @timeout_ms. */
bool fe_wait_eof(int sock, int timeout_ms);
/* Wait for an eventfd to fire and reset it; false on timeout. */
bool efd_wait(int fd, int timeout_ms);
int efd_new(void);
/* Signal an eventfd (a kick). */
int efd_kick(int fd);

#endif /* VHOSTFS_TESTS_VU_TEST_UTIL_H */
