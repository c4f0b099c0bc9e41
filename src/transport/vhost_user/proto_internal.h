/* SPDX-License-Identifier: MIT */
/*
 * proto_internal.h - wire formats of vhost-user messages and split virtqueues.
 *
 * vhost-user messages are in the host's byte order (front-end and back-end
 * share a host); virtqueue memory is little-endian (VIRTIO 1.x).  Every
 * struct here is checked against its wire size.
 */
#ifndef VHOSTFS_VU_PROTO_INTERNAL_H
#define VHOSTFS_VU_PROTO_INTERNAL_H

#include <stdint.h>

/* --- vhost-user message header ---------------------------------------- */

#define VU_FLAG_VERSION_MASK 0x3u
#define VU_VERSION 0x1u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

struct vu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
};
_Static_assert(sizeof(struct vu_msg_hdr) == 12, "vhost-user header");

/* Front-end requests. */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_GET_SHARED_OBJECT = 41,
	VU_SET_DEVICE_STATE_FD = 42,
	VU_CHECK_DEVICE_STATE = 43,
	VU_REQUEST_MAX = 44, /* first id past the table */
};

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_BACKEND_REQ 5
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_BACKEND_SEND_FD 10
#define VU_PROTOCOL_F_HOST_NOTIFIER 11
#define VU_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VU_PROTOCOL_F_RESET_DEVICE 13
#define VU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VU_PROTOCOL_F_STATUS 16
#define VU_PROTOCOL_F_DEVICE_STATE 19

/* Virtio feature bits we deal with. */
#define VU_F_RING_INDIRECT_DESC 28
#define VU_F_RING_EVENT_IDX 29
#define VU_F_PROTOCOL_FEATURES 30 /* vhost-user's reuse of a reserved bit */
#define VU_F_LOG_ALL 26
#define VU_F_VERSION_1 32

/* KICK/CALL/ERR payload: queue index in bits 0-7, bit 8 = no fd. */
#define VU_VRING_IDX_MASK 0xffull
#define VU_VRING_NOFD (1ull << 8)

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct vu_vring_state) == 8, "vring state");

#define VU_VRING_F_LOG 1u

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;  /* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;   /* guest physical, only with VU_VRING_F_LOG */
};
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr");

struct vu_mem_region_desc {
	uint64_t gpa;         /* guest physical address */
	uint64_t size;
	uint64_t uaddr;       /* front-end virtual address */
	uint64_t mmap_offset; /* where the region starts in the fd */
};
_Static_assert(sizeof(struct vu_mem_region_desc) == 32, "memory region");

#define VU_MEM_TABLE_MAX 8 /* regions in one SET_MEM_TABLE */

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region_desc regions[VU_MEM_TABLE_MAX];
};
_Static_assert(sizeof(struct vu_mem_table) == 8 + 8 * 32, "memory table");

struct vu_mem_single {
	uint64_t padding;
	struct vu_mem_region_desc region;
};
_Static_assert(sizeof(struct vu_mem_single) == 40, "single region");

struct vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
};
_Static_assert(sizeof(struct vu_inflight) == 24, "inflight description");

struct vu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
};
_Static_assert(sizeof(struct vu_config_hdr) == 12, "config header");

/* --- split virtqueue (VIRTIO 1.x, little-endian) ---------------------- */

#define VQ_DESC_F_NEXT 1u
#define VQ_DESC_F_WRITE 2u
#define VQ_DESC_F_INDIRECT 4u

#define VQ_AVAIL_F_NO_INTERRUPT 1u
#define VQ_USED_F_NO_NOTIFY 1u

#define VQ_SIZE_MAX 32768u

struct vq_desc {
	uint64_t addr; /* guest physical */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vq_desc) == 16, "virtq descriptor");

struct vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then used_event */
};
_Static_assert(sizeof(struct vq_avail) == 4, "virtq avail header");

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct vq_used_elem) == 8, "virtq used element");

struct vq_used {
	uint16_t flags;
	uint16_t idx;
	struct vq_used_elem ring[]; /* [size], then avail_event */
};
_Static_assert(sizeof(struct vq_used) == 4, "virtq used header");

/* Bytes each ring part spans for a queue of @n entries (with event fields). */
#define VQ_DESC_BYTES(n) ((uint64_t)(n) * 16u)
#define VQ_AVAIL_BYTES(n) (6u + 2u * (uint64_t)(n))
#define VQ_USED_BYTES(n) (6u + 8u * (uint64_t)(n))

#endif /* VHOSTFS_VU_PROTO_INTERNAL_H */
