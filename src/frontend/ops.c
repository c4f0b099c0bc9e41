// SPDX-License-Identifier: MIT
/* ops.c - one FUSE request at a time, for set-up, teardown and smoke. */
#include <errno.h>
#include <string.h>

#include "frontend/ops_internal.h"
#include "vhostfs/log.h"

static struct fe_req *op_slot(struct fe_queue *q)
{
	struct fe_req *r = fe_queue_get(q);

	if (!r)
		log_error("bench: no free request slot on queue %u",
			  q->cfg.index);
	return r;
}

/* Send an encoded request and give its slot back. */
static int op_call(struct fe_queue *q, struct fe_req *r, void *out,
		   size_t out_len)
{
	int err = fe_queue_call(q, r);

	if (!err && out)
		memcpy(out, fe_fuse_reply(r), out_len);
	fe_queue_put(q, r); /* kept back if still the device's */
	return err;
}

int fe_op_entry_check(const char *op, const struct fuse_entry_out *e)
{
	if (e->nodeid == 0 || e->nodeid == FUSE_ROOT_ID) {
		log_error("bench: %s returned nodeid %llu", op,
			  (unsigned long long)e->nodeid);
		return -EPROTO;
	}
	if ((e->attr.mode & 0170000) != 0100000) {
		log_error("bench: %s returned mode 0%o, not a regular file", op,
			  e->attr.mode);
		return -EPROTO;
	}
	return 0;
}

int fe_op_lookup(struct fe_queue *q, uint64_t parent, const char *name,
		 struct fuse_entry_out *e)
{
	struct fe_req *r = op_slot(q);
	int err;

	if (!r)
		return -EBUSY;
	err = fe_fuse_lookup(r, parent, name);
	if (err) {
		fe_queue_put(q, r);
		return err;
	}
	err = op_call(q, r, e, sizeof(*e));
	/* nodeid 0 is FUSE's cacheable "no such entry" */
	return !err && e->nodeid == 0 ? -ENOENT : err;
}

int fe_op_create(struct fe_queue *q, uint64_t parent, const char *name,
		 uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
		 struct fuse_open_out *o)
{
	struct fe_req *r = op_slot(q);
	int err;

	if (!r)
		return -EBUSY;
	err = fe_fuse_create(r, parent, name, flags, mode);
	if (err) {
		fe_queue_put(q, r);
		return err;
	}
	err = fe_queue_call(q, r);
	if (!err) {
		memcpy(e, fe_fuse_reply(r), sizeof(*e));
		memcpy(o, (const uint8_t *)fe_fuse_reply(r) + sizeof(*e),
		       sizeof(*o));
		err = fe_op_entry_check("CREATE", e);
	}
	fe_queue_put(q, r);
	return err;
}

int fe_op_open(struct fe_queue *q, uint64_t nodeid, uint32_t flags,
	       struct fuse_open_out *o)
{
	struct fe_req *r = op_slot(q);

	if (!r)
		return -EBUSY;
	fe_fuse_open(r, nodeid, flags);
	return op_call(q, r, o, sizeof(*o));
}

int fe_op_read(struct fe_queue *q, uint64_t nodeid, uint64_t fh, uint64_t off,
	       void *buf, uint32_t len, uint32_t *got)
{
	struct fe_req *r = op_slot(q);
	int err;

	if (!r)
		return -EBUSY;
	err = fe_fuse_read(r, nodeid, fh, off, len);
	if (err) {
		fe_queue_put(q, r);
		return err;
	}
	err = fe_queue_call(q, r);
	if (!err) {
		memcpy(buf, r->data + r->data_off, r->reply_len);
		*got = r->reply_len;
	}
	fe_queue_put(q, r);
	return err;
}

int fe_op_write(struct fe_queue *q, uint64_t nodeid, uint64_t fh, uint64_t off,
		const void *buf, uint32_t len)
{
	struct fuse_write_out wo;
	struct fe_req *r = op_slot(q);
	int err;

	if (!r)
		return -EBUSY;
	err = fe_fuse_write(r, nodeid, fh, off, len);
	if (err) {
		fe_queue_put(q, r);
		return err;
	}
	memcpy(r->data + r->data_off, buf, len);
	err = op_call(q, r, &wo, sizeof(wo));
	if (!err && wo.size != len) {
		log_error("bench: WRITE of %u bytes wrote %u", len, wo.size);
		err = -EIO;
	}
	return err;
}

int fe_op_release(struct fe_queue *q, uint64_t nodeid, uint64_t fh,
		  uint32_t flags)
{
	struct fe_req *r = op_slot(q);

	if (!r)
		return -EBUSY;
	fe_fuse_release(r, nodeid, fh, flags);
	return op_call(q, r, NULL, 0);
}

int fe_op_flush(struct fe_queue *q, uint64_t nodeid, uint64_t fh)
{
	struct fe_req *r = op_slot(q);

	if (!r)
		return -EBUSY;
	fe_fuse_flush(r, nodeid, fh);
	return op_call(q, r, NULL, 0);
}

int fe_op_getattr(struct fe_queue *q, uint64_t nodeid, struct fuse_attr_out *a)
{
	struct fe_req *r = op_slot(q);

	if (!r)
		return -EBUSY;
	fe_fuse_getattr(r, nodeid, 0, false);
	return op_call(q, r, a, sizeof(*a));
}

int fe_op_unlink(struct fe_queue *q, uint64_t parent, const char *name)
{
	struct fe_req *r = op_slot(q);
	int err;

	if (!r)
		return -EBUSY;
	err = fe_fuse_unlink(r, parent, name);
	if (err) {
		fe_queue_put(q, r);
		return err;
	}
	return op_call(q, r, NULL, 0);
}
