// SPDX-License-Identifier: MIT
/* device.c - bringing a virtio-fs device up and down over vhost-user. */
#include <errno.h>
#include <string.h>

#include "frontend/device_internal.h"
#include "vhostfs/log.h"

#define BIT(n) (1ull << (n))

/* GET_PROTOCOL_FEATURES and the subset we take. */
static int dev_negotiate_protocol(struct fe_dev *d)
{
	uint64_t want = BIT(FE_VU_PROTOCOL_F_MQ) |
			BIT(FE_VU_PROTOCOL_F_REPLY_ACK) |
			BIT(FE_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	uint64_t slots;
	int err;

	err = fe_vu_get_u64(&d->vu, FE_VU_GET_PROTOCOL_FEATURES,
			    &d->vu.protocol_features);
	if (err)
		return err;
	d->protocol_features = d->vu.protocol_features & want;
	err = fe_vu_set_u64(&d->vu, FE_VU_SET_PROTOCOL_FEATURES,
			    d->protocol_features, -1);
	if (err)
		return err;
	d->vu.reply_ack = d->protocol_features & BIT(FE_VU_PROTOCOL_F_REPLY_ACK);
	if (d->protocol_features & BIT(FE_VU_PROTOCOL_F_MQ)) {
		err = fe_vu_get_u64(&d->vu, FE_VU_GET_QUEUE_NUM, &d->queue_num);
		if (err)
			return err;
	}
	if (d->protocol_features & BIT(FE_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		err = fe_vu_get_u64(&d->vu, FE_VU_GET_MAX_MEM_SLOTS, &slots);
		if (err)
			return err;
		if (slots == 0) {
			log_error("bench: back-end offers 0 memory slots");
			return -EPROTO;
		}
	}
	return 0;
}

/* Virtio features the guest driver would accept. */
static int dev_pick_features(struct fe_dev *d)
{
	uint64_t offered = d->vu.features;

	if (!(offered & BIT(FE_VIRTIO_F_VERSION_1))) {
		log_error("bench: back-end does not offer VIRTIO_F_VERSION_1");
		return -EPROTO;
	}
	d->features = BIT(FE_VIRTIO_F_VERSION_1);
	if (offered & BIT(FE_VU_F_PROTOCOL_FEATURES))
		d->features |= BIT(FE_VU_F_PROTOCOL_FEATURES);
	if ((offered & BIT(FE_VIRTIO_F_INDIRECT_DESC)) && !d->cfg.no_indirect)
		d->features |= BIT(FE_VIRTIO_F_INDIRECT_DESC);
	if ((offered & BIT(FE_VIRTIO_F_EVENT_IDX)) && !d->cfg.no_event_idx)
		d->features |= BIT(FE_VIRTIO_F_EVENT_IDX);
	d->indirect = d->features & BIT(FE_VIRTIO_F_INDIRECT_DESC);
	d->event_idx = d->features & BIT(FE_VIRTIO_F_EVENT_IDX);
	return 0;
}

int fe_dev_connect(struct fe_dev *d, const struct fe_dev_config *cfg)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->mem.fd = -1;
	if (cfg->queues == 0 || cfg->queues > FE_QUEUES_MAX)
		return -EINVAL;
	err = fe_vu_connect(&d->vu, cfg->socket, cfg->timeout_ms);
	if (err) {
		log_error("bench: cannot connect to %s: %s", cfg->socket,
			  strerror(-err));
		return err;
	}
	err = fe_vu_get_u64(&d->vu, FE_VU_GET_FEATURES, &d->vu.features);
	if (!err && (d->vu.features & BIT(FE_VU_F_PROTOCOL_FEATURES)))
		err = dev_negotiate_protocol(d);
	if (!err && d->queue_num && d->queue_num < 1 + cfg->queues) {
		log_error("bench: back-end has %llu queues, %u request queues "
			  "need %u", (unsigned long long)d->queue_num,
			  cfg->queues, cfg->queues + 1);
		err = -EINVAL;
	}
	if (!err)
		err = fe_vu_set_none(&d->vu, FE_VU_SET_OWNER);
	if (!err)
		err = dev_pick_features(d);
	if (err)
		fe_vu_close(&d->vu);
	return err;
}

static void dev_queue_configs(struct fe_dev *d, uint32_t data_bytes,
			      uint32_t data_off, struct fe_queue_config *qc)
{
	for (uint32_t i = 0; i <= d->cfg.queues; i++) {
		qc[i] = (struct fe_queue_config){
			.index = (uint16_t)i,
			.num = d->cfg.queue_size,
			.nreqs = i ? d->cfg.qd : FE_HIPRIO_SLOTS,
			.data_pages = i ? fe_fuse_pages(data_off, data_bytes) : 0,
			.data_off = i ? data_off : 0,
			/* FORGETs are one buffer: never indirect */
			.indirect = i && d->indirect,
			.event_idx = d->event_idx,
			.poll = i && d->cfg.poll,
			.layout = d->cfg.layout,
			.timeout_ms = d->cfg.timeout_ms,
			.hangup_fd = fe_vu_fd(&d->vu),
		};
	}
}

static uint64_t dev_mem_need(const struct fe_queue_config *qc, uint32_t n)
{
	uint64_t need = 0;

	for (uint32_t i = 0; i < n; i++)
		need += fe_queue_mem_need(&qc[i]);
	return need;
}

static int dev_mem_register(struct fe_dev *d)
{
	struct fe_vu_region r = {
		.guest_phys_addr = d->mem.gpa_base,
		.memory_size = d->mem.size,
		.userspace_addr = (uint64_t)(uintptr_t)d->mem.base,
		.mmap_offset = 0,
	};

	/* QEMU 7.2 adds regions one by one when the back-end can take it. */
	if (d->protocol_features & BIT(FE_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return fe_vu_add_mem_reg(&d->vu, &r, d->mem.fd);
	return fe_vu_set_mem_table(&d->vu, &r, d->mem.fd);
}

static uint64_t dev_uaddr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static int dev_ring_setup(struct fe_dev *d, struct fe_queue *q)
{
	struct fe_vu_addr a = {
		.index = q->cfg.index,
		.desc_user_addr = dev_uaddr(q->vr.desc),
		.used_user_addr = dev_uaddr(q->vr.used),
		.avail_user_addr = dev_uaddr(q->vr.avail),
	};
	int err;

	err = fe_vu_set_state(&d->vu, FE_VU_SET_VRING_NUM, a.index, q->cfg.num);
	if (!err)
		err = fe_vu_set_state(&d->vu, FE_VU_SET_VRING_BASE, a.index, 0);
	if (!err)
		err = fe_vu_set_vring_addr(&d->vu, &a);
	if (!err)
		err = fe_vu_set_u64(&d->vu, FE_VU_SET_VRING_KICK, a.index,
				    q->kickfd);
	return err;
}

static int dev_announce(struct fe_dev *d)
{
	int err = 0;

	for (uint32_t i = 0; i < d->nq && !err; i++) {
		err = fe_vu_set_u64(&d->vu, FE_VU_SET_VRING_CALL, i, d->q[i].callfd);
		if (!err)
			err = fe_vu_set_u64(&d->vu, FE_VU_SET_VRING_ERR, i,
					    d->q[i].errfd);
	}
	if (!err)
		err = fe_vu_set_u64(&d->vu, FE_VU_SET_FEATURES, d->features, -1);
	if (!err)
		err = dev_mem_register(d);
	for (uint32_t i = 0; i < d->nq && !err; i++)
		err = dev_ring_setup(d, &d->q[i]);
	/* Without PROTOCOL_FEATURES the rings are enabled already. */
	for (uint32_t i = 0; i < d->nq && !err &&
			     (d->features & BIT(FE_VU_F_PROTOCOL_FEATURES)); i++)
		err = fe_vu_set_state(&d->vu, FE_VU_SET_VRING_ENABLE, i, 1);
	return err;
}

int fe_dev_start(struct fe_dev *d, uint32_t data_bytes, uint32_t data_off)
{
	struct fe_queue_config qc[FE_QUEUES_MAX + 1];
	uint64_t need;
	int err;

	dev_queue_configs(d, data_bytes, data_off, qc);
	need = dev_mem_need(qc, d->cfg.queues + 1);
	err = fe_mem_create(&d->mem, need > d->cfg.mem_size ? need : d->cfg.mem_size,
			    FE_GPA_BASE);
	if (err)
		return err;
	for (uint32_t i = 0; i <= d->cfg.queues; i++) {
		err = fe_queue_create(&d->q[i], &d->mem, &qc[i]);
		d->nq = i + 1;
		if (err)
			return err;
	}
	err = dev_announce(d);
	if (!err)
		d->started = true;
	return err;
}

/* Stop one ring and compare the back-end's view with ours. */
static int dev_ring_stop(struct fe_dev *d, struct fe_queue *q)
{
	uint32_t base = 0;
	int err = 0;

	if (d->features & BIT(FE_VU_F_PROTOCOL_FEATURES))
		err = fe_vu_set_state(&d->vu, FE_VU_SET_VRING_ENABLE,
				      q->cfg.index, 0);
	if (!err)
		err = fe_vu_get_vring_base(&d->vu, q->cfg.index, &base);
	if (err)
		return err;
	if ((uint16_t)base != q->vr.avail_idx || q->busy) {
		log_error("bench: queue %u stopped at base %u; we made %u "
			  "available and %u are still in flight",
			  q->cfg.index, base, q->vr.avail_idx, q->busy);
		return -EPROTO;
	}
	return 0;
}

int fe_dev_stop(struct fe_dev *d)
{
	int err = 0;

	for (uint32_t i = 0; d->started && i < d->nq; i++) {
		int e = dev_ring_stop(d, &d->q[i]);

		err = err ? err : e;
		if (e == -ECONNRESET || e == -ETIMEDOUT || e == -EPIPE)
			break;
	}
	fe_vu_close(&d->vu);
	for (uint32_t i = 0; i < d->nq; i++)
		fe_queue_destroy(&d->q[i]);
	d->nq = 0;
	d->started = false;
	fe_mem_destroy(&d->mem);
	return err;
}
