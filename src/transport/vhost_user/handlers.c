// SPDX-License-Identifier: MIT
/*
 * handlers.c - one function per vhost-user request.
 *
 * vu_handle_msg() checks every message against the table first (payload
 * size bounds, fd count bounds, known request) so handlers can read their
 * payload; they still validate every value (queue indices before anything
 * is indexed, sizes, flags) and return -errno on a bad one.
 */
#include <errno.h>
#include <unistd.h>

#include "vhostfs/log.h"

#include "device_internal.h"

#define BIT(n) (1ull << (n))

uint64_t vu_features_offered(void)
{
	return BIT(VU_F_VERSION_1) | BIT(VU_F_RING_INDIRECT_DESC) |
	       BIT(VU_F_RING_EVENT_IDX) | BIT(VU_F_PROTOCOL_FEATURES);
}

uint64_t vu_protocol_features_offered(void)
{
	return BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) |
	       BIT(VU_PROTOCOL_F_BACKEND_REQ) |
	       BIT(VU_PROTOCOL_F_RESET_DEVICE) |
	       BIT(VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	       BIT(VU_PROTOCOL_F_STATUS);
}

static int reply_u64(struct vu_conn *c, const struct vu_msg *m, uint64_t v)
{
	return vu_msg_reply(c->sock, m->hdr.request, &v, sizeof(v));
}

static int take_fd(struct vu_msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

/* The queue a vring-state style index names, or NULL. */
static struct vu_queue *queue_at(struct vu_conn *c, uint64_t index)
{
	if (index >= c->nqueues)
		return NULL;
	return &c->queues[index];
}

static bool proto_has(const struct vu_conn *c, unsigned int bit)
{
	return c->protocol_features & BIT(bit);
}

/* --- features and ownership -------------------------------------------- */

static int h_get_features(struct vu_conn *c, struct vu_msg *m)
{
	return reply_u64(c, m, vu_features_offered());
}

static int h_set_features(struct vu_conn *c, struct vu_msg *m)
{
	if (m->payload.u64 & ~vu_features_offered())
		return -EINVAL;
	c->features = m->payload.u64;
	return 0;
}

static int h_get_protocol_features(struct vu_conn *c, struct vu_msg *m)
{
	return reply_u64(c, m, vu_protocol_features_offered());
}

static int h_set_protocol_features(struct vu_conn *c, struct vu_msg *m)
{
	if (m->payload.u64 & ~vu_protocol_features_offered())
		return -EINVAL;
	c->protocol_features = m->payload.u64;
	return 0;
}

static int h_set_owner(struct vu_conn *c, struct vu_msg *m)
{
	c->owner = true;
	return 0;
}

/* Deprecated; the spec recommends ignoring it (it is never sent today). */
static int h_reset_owner(struct vu_conn *c, struct vu_msg *m)
{
	log_warn("vhost-user: RESET_OWNER ignored");
	return 0;
}

static int h_get_queue_num(struct vu_conn *c, struct vu_msg *m)
{
	return reply_u64(c, m, c->nqueues);
}

static int h_get_max_mem_slots(struct vu_conn *c, struct vu_msg *m)
{
	return reply_u64(c, m, c->dev->cfg.max_mem_slots);
}

static int h_set_backend_req_fd(struct vu_conn *c, struct vu_msg *m)
{
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	/* kept for back-end initiated requests (none sent yet) */
	c->backend_fd = take_fd(m, 0);
	return 0;
}

static int h_set_status(struct vu_conn *c, struct vu_msg *m)
{
	if (m->payload.u64 > 0xff)
		return -EINVAL;
	c->status = (uint8_t)m->payload.u64;
	return 0;
}

static int h_get_status(struct vu_conn *c, struct vu_msg *m)
{
	return reply_u64(c, m, c->status);
}

/* --- memory ------------------------------------------------------------ */

/* New map = @base + the region @d mapped from @fd; @base stays valid. */
static int mem_map_one(struct vu_conn *c, const struct vu_mem_map *base,
		       const struct vu_mem_region_desc *d, int fd,
		       struct vu_mem_map **out)
{
	struct vu_mem_region r;
	int rc = vu_mem_region_map(&r, d, fd);

	if (rc)
		return rc;
	rc = vu_mem_map_add(base, &r, c->dev->cfg.max_mem_slots, out);
	if (rc)
		vu_mem_region_unmap(&r);
	return rc;
}

static int h_set_mem_table(struct vu_conn *c, struct vu_msg *m)
{
	const struct vu_mem_table *t = &m->payload.mem;
	struct vu_mem_map *map, *next;
	int rc = 0;

	if (t->nregions == 0 || t->nregions > VU_MEM_TABLE_MAX ||
	    m->hdr.size < 8 + t->nregions * sizeof(t->regions[0]) ||
	    m->nfds != t->nregions)
		return -EINVAL;
	map = vu_mem_map_empty();
	if (!map)
		return -ENOMEM;
	for (unsigned int i = 0; i < t->nregions; i++) {
		rc = mem_map_one(c, map, &t->regions[i], m->fds[i], &next);
		if (rc) {
			vu_mem_map_destroy(map);
			return rc;
		}
		vu_mem_map_free(map);
		map = next;
	}
	/* the whole old table goes once the owners switched */
	return vu_conn_mem_commit(c, map, c->mem);
}

static int h_add_mem_reg(struct vu_conn *c, struct vu_msg *m)
{
	struct vu_mem_map *map;
	int rc;

	if (!proto_has(c, VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -EPERM;
	rc = mem_map_one(c, c->mem, &m->payload.region.region, m->fds[0],
			 &map);
	if (rc)
		return rc;
	return vu_conn_mem_commit(c, map, NULL);
}

static int h_rem_mem_reg(struct vu_conn *c, struct vu_msg *m)
{
	struct vu_mem_map *map, *empty, *gone = NULL;
	struct vu_mem_region removed;
	int rc;

	/* An fd is tolerated (older QEMU sends one) and closed unused. */
	if (!proto_has(c, VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -EPERM;
	rc = vu_mem_map_remove(c->mem, &m->payload.region.region, &map,
			       &removed);
	if (rc)
		return rc;
	/* a one-region map carries the mapping to its unmap */
	empty = vu_mem_map_empty();
	rc = empty ? vu_mem_map_add(empty, &removed, 1, &gone) : -ENOMEM;
	vu_mem_map_free(empty);
	if (rc) {
		vu_mem_map_free(map);
		return rc;
	}
	return vu_conn_mem_commit(c, map, gone);
}

/* --- vring configuration ----------------------------------------------- */

/* Ring geometry may change only while the ring is stopped. */
static struct vu_queue *stopped_queue(struct vu_conn *c, uint64_t index,
				      int *rc)
{
	struct vu_queue *q = queue_at(c, index);

	*rc = !q ? -EINVAL : q->started ? -EBUSY : 0;
	return *rc ? NULL : q;
}

static int h_set_vring_num(struct vu_conn *c, struct vu_msg *m)
{
	uint32_t num = m->payload.state.num;
	int rc;
	struct vu_queue *q = stopped_queue(c, m->payload.state.index, &rc);

	if (!q)
		return rc;
	if (num == 0 || num > VQ_SIZE_MAX || (num & (num - 1)))
		return -EINVAL;
	q->num = num;
	return 0;
}

static int h_set_vring_addr(struct vu_conn *c, struct vu_msg *m)
{
	const struct vu_vring_addr *a = &m->payload.addr;
	int rc;
	struct vu_queue *q = stopped_queue(c, a->index, &rc);

	if (!q)
		return rc;
	if (a->flags & ~VU_VRING_F_LOG)
		return -EINVAL;
	if (a->flags & VU_VRING_F_LOG)
		return -ENOTSUP; /* dirty logging is not offered */
	q->addrs.desc = a->desc;
	q->addrs.avail = a->avail;
	q->addrs.used = a->used;
	q->addrs_set = true;
	return 0;
}

static int h_set_vring_base(struct vu_conn *c, struct vu_msg *m)
{
	int rc;
	struct vu_queue *q = stopped_queue(c, m->payload.state.index, &rc);

	if (!q)
		return rc;
	if (m->payload.state.num > UINT16_MAX)
		return -EINVAL; /* split rings: a 16-bit avail index */
	q->base = (uint16_t)m->payload.state.num;
	return 0;
}

static int reply_vring_base(struct vu_conn *c, const struct vu_queue *q)
{
	struct vu_vring_state st = { .index = q->index, .num = q->base };

	return vu_msg_reply(c->sock, VU_GET_VRING_BASE, &st, sizeof(st));
}

static void vring_base_drained(struct vu_conn *c)
{
	struct vu_queue *q = queue_at(c, c->msg.payload.state.index);

	vu_queue_release(q);
	vu_conn_msg_complete(c, reply_vring_base(c, q));
}

static int h_get_vring_base(struct vu_conn *c, struct vu_msg *m)
{
	struct vu_queue *q = queue_at(c, m->payload.state.index);

	if (!q)
		return -EINVAL;
	if (!q->started)
		return reply_vring_base(c, q);
	/* stop taking chains, wait for those in flight, then answer */
	vu_conn_sync(c, q, vu_queue_op_drain, vring_base_drained);
	return VU_ASYNC;
}

/*
 * KICK/CALL/ERR payload: the queue, and bit 8 when no fd comes along.
 * Returns the queue and the new fd (-1 for none) taken from @m.
 */
static struct vu_queue *vring_fd_parse(struct vu_conn *c, struct vu_msg *m,
				       int *fd, int *rc)
{
	uint64_t v = m->payload.u64;
	bool nofd = v & VU_VRING_NOFD;
	struct vu_queue *q = queue_at(c, v & VU_VRING_IDX_MASK);

	*rc = -EINVAL;
	if (!q || (v & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD)) ||
	    m->nfds != (nofd ? 0u : 1u))
		return NULL;
	*rc = 0;
	*fd = nofd ? -1 : take_fd(m, 0);
	return q;
}

static void vring_fd_swapped(struct vu_conn *c)
{
	struct vu_queue *q = queue_at(c, c->msg.payload.u64 & VU_VRING_IDX_MASK);

	/* the owner handed back the fd it no longer uses */
	if (q->ctl_arg.fd >= 0)
		close(q->ctl_arg.fd);
	vu_conn_msg_complete(c, 0);
}

/* Install @fd in *@slot; on a running queue through its owner. */
static int vring_fd_install(struct vu_conn *c, struct vu_queue *q, int *slot,
			    int fd, vu_queue_op op)
{
	if (!q->started) {
		if (*slot >= 0)
			close(*slot);
		*slot = fd;
		return 0;
	}
	*slot = fd;
	q->ctl_arg.fd = fd;
	vu_conn_sync(c, q, op, vring_fd_swapped);
	return VU_ASYNC;
}

static int h_set_vring_call(struct vu_conn *c, struct vu_msg *m)
{
	int fd, rc;
	struct vu_queue *q = vring_fd_parse(c, m, &fd, &rc);

	if (!q)
		return rc;
	return vring_fd_install(c, q, &q->call_fd, fd, vu_queue_op_set_call);
}

static int h_set_vring_err(struct vu_conn *c, struct vu_msg *m)
{
	int fd, rc;
	struct vu_queue *q = vring_fd_parse(c, m, &fd, &rc);

	if (!q)
		return rc;
	return vring_fd_install(c, q, &q->err_fd, fd, vu_queue_op_set_err);
}

static void vring_started(struct vu_conn *c)
{
	vu_conn_msg_complete(c, 0);
}

/* The kick starts the ring (vhost-user "ring states"). */
static int h_set_vring_kick(struct vu_conn *c, struct vu_msg *m)
{
	int fd, rc;
	struct vu_queue *q = vring_fd_parse(c, m, &fd, &rc);

	if (!q)
		return rc;
	if (q->started)
		return vring_fd_install(c, q, &q->kick_fd, fd,
					vu_queue_op_swap_kick);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	q->kick_set = true;
	if (!(c->features & BIT(VU_F_PROTOCOL_FEATURES)))
		q->enabled = true;
	rc = vu_queue_prepare(q);
	if (rc)
		return rc;
	vu_conn_sync(c, q, vu_queue_op_start, vring_started);
	return VU_ASYNC;
}

static int h_set_vring_enable(struct vu_conn *c, struct vu_msg *m)
{
	struct vu_queue *q = queue_at(c, m->payload.state.index);

	if (!q || m->payload.state.num > 1)
		return -EINVAL;
	q->enabled = m->payload.state.num;
	if (!q->started)
		return 0;
	q->ctl_arg.enable = q->enabled;
	vu_conn_sync(c, q, vu_queue_op_enable, vring_started);
	return VU_ASYNC;
}

/* --- reset ------------------------------------------------------------- */

static void reset_drained(struct vu_conn *c)
{
	vu_conn_queues_reset(c);
	c->status = 0;
	/* a reset driver starts over with FUSE_INIT */
	vu_conn_msg_complete(c, vu_conn_session_renew(c));
}

static int h_reset_device(struct vu_conn *c, struct vu_msg *m)
{
	vu_conn_sync(c, NULL, vu_queue_op_drain, reset_drained);
	return VU_ASYNC;
}

/* --- requests we do not offer: a clean, defined failure ---------------- */

static int h_unsupported(struct vu_conn *c, struct vu_msg *m)
{
	struct vu_inflight none = { .num_queues = (uint16_t)c->nqueues };

	log_warn("vhost-user: %s not supported",
		 vu_request_name(m->hdr.request));
	switch (m->hdr.request) {
	case VU_GET_CONFIG: /* an empty payload is the error reply */
		return vu_msg_reply(c->sock, m->hdr.request, NULL, 0);
	case VU_GET_INFLIGHT_FD: /* mmap_size 0: no inflight area */
		return vu_msg_reply(c->sock, m->hdr.request, &none,
				    sizeof(none));
	case VU_IOTLB_MSG:
	case VU_POSTCOPY_END:
	case VU_SET_DEVICE_STATE_FD:
	case VU_CHECK_DEVICE_STATE:
		return reply_u64(c, m, 1);
	default:
		return -ENOTSUP;
	}
}

/* --- the table --------------------------------------------------------- */

struct vu_handler {
	int (*fn)(struct vu_conn *c, struct vu_msg *m);
	uint16_t size_min;
	uint16_t size_max;
	uint8_t fds_min;
	uint8_t fds_max;
	bool has_reply; /* answers by itself; NEED_REPLY adds nothing */
};

#define U64 sizeof(uint64_t)
#define STATE sizeof(struct vu_vring_state)
#define REGION sizeof(struct vu_mem_single)
#define ANY 0, VU_MSG_PAYLOAD_MAX, 0, VU_MSG_FDS_MAX

static const struct vu_handler handlers[VU_REQUEST_MAX] = {
	/* GETs carry no payload; tolerate a zeroed u64 some front-ends send */
	[VU_GET_FEATURES] = { h_get_features, 0, U64, 0, 0, true },
	[VU_SET_FEATURES] = { h_set_features, U64, U64, 0, 0, false },
	[VU_SET_OWNER] = { h_set_owner, 0, 0, 0, 0, false },
	[VU_RESET_OWNER] = { h_reset_owner, 0, 0, 0, 0, false },
	[VU_SET_MEM_TABLE] = { h_set_mem_table, 8 + 32,
			       sizeof(struct vu_mem_table), 1,
			       VU_MEM_TABLE_MAX, false },
	[VU_SET_VRING_NUM] = { h_set_vring_num, STATE, STATE, 0, 0, false },
	[VU_SET_VRING_ADDR] = { h_set_vring_addr, sizeof(struct vu_vring_addr),
				sizeof(struct vu_vring_addr), 0, 0, false },
	[VU_SET_VRING_BASE] = { h_set_vring_base, STATE, STATE, 0, 0, false },
	[VU_GET_VRING_BASE] = { h_get_vring_base, STATE, STATE, 0, 0, true },
	[VU_SET_VRING_KICK] = { h_set_vring_kick, U64, U64, 0, 1, false },
	[VU_SET_VRING_CALL] = { h_set_vring_call, U64, U64, 0, 1, false },
	[VU_SET_VRING_ERR] = { h_set_vring_err, U64, U64, 0, 1, false },
	[VU_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, 0, U64, 0, 0,
				       true },
	[VU_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, U64, U64, 0, 0,
				       false },
	[VU_GET_QUEUE_NUM] = { h_get_queue_num, 0, U64, 0, 0, true },
	[VU_SET_VRING_ENABLE] = { h_set_vring_enable, STATE, STATE, 0, 0,
				  false },
	[VU_SET_BACKEND_REQ_FD] = { h_set_backend_req_fd, 0, 0, 1, 1, false },
	[VU_RESET_DEVICE] = { h_reset_device, 0, 0, 0, 0, false },
	[VU_GET_MAX_MEM_SLOTS] = { h_get_max_mem_slots, 0, U64, 0, 0, true },
	[VU_ADD_MEM_REG] = { h_add_mem_reg, REGION, REGION, 1, 1, false },
	[VU_REM_MEM_REG] = { h_rem_mem_reg, REGION, REGION, 0, 1, false },
	[VU_SET_STATUS] = { h_set_status, U64, U64, 0, 0, false },
	[VU_GET_STATUS] = { h_get_status, 0, U64, 0, 0, true },

	[VU_SET_LOG_BASE] = { h_unsupported, ANY, false },
	[VU_SET_LOG_FD] = { h_unsupported, ANY, false },
	[VU_SEND_RARP] = { h_unsupported, ANY, false },
	[VU_NET_SET_MTU] = { h_unsupported, ANY, false },
	[VU_IOTLB_MSG] = { h_unsupported, ANY, true },
	[VU_SET_VRING_ENDIAN] = { h_unsupported, ANY, false },
	[VU_GET_CONFIG] = { h_unsupported, ANY, true },
	[VU_SET_CONFIG] = { h_unsupported, ANY, false },
	[VU_POSTCOPY_ADVISE] = { h_unsupported, ANY, false },
	[VU_POSTCOPY_LISTEN] = { h_unsupported, ANY, false },
	[VU_POSTCOPY_END] = { h_unsupported, ANY, true },
	[VU_GET_INFLIGHT_FD] = { h_unsupported, ANY, true },
	[VU_SET_INFLIGHT_FD] = { h_unsupported, ANY, false },
	[VU_VRING_KICK] = { h_unsupported, ANY, false },
	[VU_SET_DEVICE_STATE_FD] = { h_unsupported, ANY, true },
	[VU_CHECK_DEVICE_STATE] = { h_unsupported, ANY, true },
};

bool vu_request_has_reply(uint32_t request)
{
	return request < VU_REQUEST_MAX && handlers[request].has_reply;
}

int vu_handle_msg(struct vu_conn *c, struct vu_msg *m, bool *fatal)
{
	const struct vu_handler *h =
		m->hdr.request < VU_REQUEST_MAX ? &handlers[m->hdr.request]
						: NULL;

	log_debug("vhost-user: %s size %u fds %u",
		  vu_request_name(m->hdr.request), m->hdr.size, m->nfds);
	*fatal = true;
	if (!h || !h->fn) {
		log_error("vhost-user: unknown request %u", m->hdr.request);
		return -EPROTO;
	}
	if (m->hdr.size < h->size_min || m->hdr.size > h->size_max ||
	    m->nfds < h->fds_min || m->nfds > h->fds_max) {
		log_error("vhost-user: %s: bad size %u or fd count %u",
			  vu_request_name(m->hdr.request), m->hdr.size,
			  m->nfds);
		return -EPROTO;
	}
	*fatal = false;
	return h->fn(c, m);
}
