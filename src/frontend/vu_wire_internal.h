/* SPDX-License-Identifier: MIT */
/*
 * vu_wire_internal.h - vhost-user messages as the front-end sends them.
 *
 * Written from QEMU's docs/interop/vhost-user.rst independently of the
 * daemon's transport (src/transport/vhost_user), on purpose: the bench tool
 * is the daemon's conformance peer, so it must not share the daemon's
 * reading of the spec.  Messages are in host byte order (both ends share a
 * host).
 */
#ifndef VHOSTFS_FE_VU_WIRE_INTERNAL_H
#define VHOSTFS_FE_VU_WIRE_INTERNAL_H

#include <stdint.h>

#define FE_VU_VERSION 0x1u
#define FE_VU_VERSION_MASK 0x3u
#define FE_VU_FLAG_REPLY (1u << 2)
#define FE_VU_FLAG_NEED_REPLY (1u << 3)

/* Front-end requests we send (subset of the spec's table). */
enum fe_vu_request {
	FE_VU_GET_FEATURES = 1,
	FE_VU_SET_FEATURES = 2,
	FE_VU_SET_OWNER = 3,
	FE_VU_SET_MEM_TABLE = 5,
	FE_VU_SET_VRING_NUM = 8,
	FE_VU_SET_VRING_ADDR = 9,
	FE_VU_SET_VRING_BASE = 10,
	FE_VU_GET_VRING_BASE = 11,
	FE_VU_SET_VRING_KICK = 12,
	FE_VU_SET_VRING_CALL = 13,
	FE_VU_SET_VRING_ERR = 14,
	FE_VU_GET_PROTOCOL_FEATURES = 15,
	FE_VU_SET_PROTOCOL_FEATURES = 16,
	FE_VU_GET_QUEUE_NUM = 17,
	FE_VU_SET_VRING_ENABLE = 18,
	FE_VU_GET_MAX_MEM_SLOTS = 36,
	FE_VU_ADD_MEM_REG = 37,
};

/* Virtio feature bits the front-end knows. */
#define FE_VIRTIO_F_INDIRECT_DESC 28
#define FE_VIRTIO_F_EVENT_IDX 29
#define FE_VU_F_PROTOCOL_FEATURES 30
#define FE_VIRTIO_F_VERSION_1 32

/* Protocol feature bits. */
#define FE_VU_PROTOCOL_F_MQ 0
#define FE_VU_PROTOCOL_F_REPLY_ACK 3
#define FE_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* KICK/CALL/ERR payload: queue index in bits 0-7, bit 8 = no fd attached. */
#define FE_VU_VRING_IDX_MASK 0xffu
#define FE_VU_VRING_NOFD (1u << 8)

#define FE_VU_MEM_REGIONS_MAX 8u

struct fe_vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};
_Static_assert(sizeof(struct fe_vu_hdr) == 12, "vhost-user header");

struct fe_vu_state {
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct fe_vu_state) == 8, "vring state");

struct fe_vu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};
_Static_assert(sizeof(struct fe_vu_addr) == 40, "vring address");

struct fe_vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};
_Static_assert(sizeof(struct fe_vu_region) == 32, "memory region");

struct fe_vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct fe_vu_region regions[FE_VU_MEM_REGIONS_MAX];
};
_Static_assert(sizeof(struct fe_vu_mem_table) == 8 + 8 * 32, "memory table");

struct fe_vu_mem_single {
	uint64_t padding;
	struct fe_vu_region region;
};
_Static_assert(sizeof(struct fe_vu_mem_single) == 40, "single region");

#endif /* VHOSTFS_FE_VU_WIRE_INTERNAL_H */
