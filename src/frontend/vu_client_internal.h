/* SPDX-License-Identifier: MIT */
/*
 * vu_client_internal.h - the front-end (QEMU) side of a vhost-user socket.
 *
 * One function per message.  Every reply is checked (version, REPLY flag,
 * request id, exact size) and file descriptors nobody asked for are closed:
 * the back-end under test is a peer we do not trust.  Replies wait at most
 * the configured timeout, so a hung back-end fails a run instead of
 * hanging it.
 */
#ifndef VHOSTFS_FE_VU_CLIENT_INTERNAL_H
#define VHOSTFS_FE_VU_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/vu_wire_internal.h"

struct fe_vu {
	int sock;
	bool reply_ack;             /* NEED_REPLY on every SET_* message */
	uint64_t features;          /* offered by the back-end */
	uint64_t protocol_features; /* offered by the back-end */
};

/* Connect to @path, retrying for up to @timeout_ms while it does not exist
 * yet (the back-end may still be starting).  Replies time out after
 * @timeout_ms as well. */
int fe_vu_connect(struct fe_vu *vu, const char *path, int timeout_ms);
void fe_vu_close(struct fe_vu *vu);

/* A request whose reply is a u64 (GET_FEATURES, GET_QUEUE_NUM, ...). */
int fe_vu_get_u64(struct fe_vu *vu, uint32_t req, uint64_t *out);
/* A request with a u64 payload and optionally one fd (@fd < 0: none). */
int fe_vu_set_u64(struct fe_vu *vu, uint32_t req, uint64_t val, int fd);
/* A request without payload (SET_OWNER). */
int fe_vu_set_none(struct fe_vu *vu, uint32_t req);
/* A request with a vring state payload. */
int fe_vu_set_state(struct fe_vu *vu, uint32_t req, uint32_t index,
		    uint32_t num);
/* GET_VRING_BASE: the reply must name the same ring. */
int fe_vu_get_vring_base(struct fe_vu *vu, uint32_t index, uint32_t *num);
int fe_vu_set_vring_addr(struct fe_vu *vu, const struct fe_vu_addr *addr);
/* SET_MEM_TABLE with one region backed by @fd. */
int fe_vu_set_mem_table(struct fe_vu *vu, const struct fe_vu_region *r,
			int fd);
/* ADD_MEM_REG (CONFIGURE_MEM_SLOTS). */
int fe_vu_add_mem_reg(struct fe_vu *vu, const struct fe_vu_region *r, int fd);

/* The connection's socket has hung up or failed (for pollers). */
int fe_vu_fd(const struct fe_vu *vu);

/* Name of a request for logs ("SET_VRING_ADDR"), "?" if unknown. */
const char *fe_vu_request_name(uint32_t req);

#endif /* VHOSTFS_FE_VU_CLIENT_INTERNAL_H */
