// SPDX-License-Identifier: MIT
/*
 * nodes.c - the nodeid and fh tables.
 *
 * A nodeid names a back-end inode for the peer.  The back-end hands one
 * reference per successful lookup-like call; the same inode must keep one
 * nodeid while the peer knows it, so a hash map (inode pointer -> node, under
 * a mutex: metadata path only) finds the existing node and counts the lookup.
 * The peer's count (nlookup) and the back-end references we hold (refs) are
 * kept apart; when FORGET brings nlookup to zero the node leaves the hash and
 * the handle table, and the table's release callback - run when the last
 * request holding the node lets go - returns all refs with fs_ops.forget().
 *
 * nodeid 1 is the back-end root, held for the whole session.
 *
 * fhs name open files and directories, tagged with their kind so that a
 * READDIR on a file handle (or a READ on a directory handle) is -EBADF.
 * Lookups are lock-free (handle_table_get/put): READ and WRITE take no lock.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "fuse_internal.h"
#include "vhostfs/log.h"
#include "vhostfs/reactor.h"

#define NODE_BUCKETS_INITIAL 1024u

static size_t node_hash(const struct fuse_node_table *t, const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (t->nbuckets - 1);
}

static struct fuse_node *node_find(struct fuse_node_table *t,
				   const struct fs_inode *inode)
{
	struct fuse_node *n = t->buckets[node_hash(t, inode)];

	while (n && n->inode != inode)
		n = n->hnext;
	return n;
}

static void node_link(struct fuse_node_table *t, struct fuse_node *n)
{
	size_t b = node_hash(t, n->inode);

	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	n->hashed = true;
	t->count++;
}

static void node_unlink(struct fuse_node_table *t, struct fuse_node *n)
{
	struct fuse_node **pp = &t->buckets[node_hash(t, n->inode)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	n->hashed = false;
	t->count--;
}

/* Double the buckets when chains get long; on ENOMEM just keep chaining. */
static void node_table_grow(struct fuse_node_table *t)
{
	size_t old_n = t->nbuckets;
	struct fuse_node **old = t->buckets;
	struct fuse_node **nb;

	if (t->count < old_n || old_n > (SIZE_MAX / sizeof(*nb)) / 2)
		return;
	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return;
	t->buckets = nb;
	t->nbuckets = old_n * 2;
	t->count = 0;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i]) {
			struct fuse_node *n = old[i];

			old[i] = n->hnext;
			node_link(t, n);
		}
	}
	free(old);
}

/* handle_table release: the node is unreachable and nobody holds it. */
static void node_release(void *ctx, void *obj)
{
	struct fuse_session *s = ctx;
	struct fuse_node *n = obj;

	s->ops->forget(s->fs, n->inode, n->refs);
	free(n);
}

int fuse_nodes_init(struct fuse_session *s)
{
	struct fuse_node_table *t = &s->nodes;
	struct fs_inode *root;
	int err;

	t->nbuckets = NODE_BUCKETS_INITIAL;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	err = handle_table_create(&t->ids, s->cfg.max_nodes, node_release, s);
	if (err)
		goto fail_buckets;
	root = s->ops->root(s->fs);
	if (!root) {
		err = -EIO;
		goto fail_ids;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->root = (struct fuse_node){ .inode = root, .nodeid = FUSE_ROOT_ID,
				      .nlookup = 1, .refs = 1 };
	node_link(t, &t->root);
	return 0;

fail_ids:
	handle_table_destroy(t->ids);
fail_buckets:
	free(t->buckets);
	return err;
}

void fuse_nodes_fini(struct fuse_session *s)
{
	struct fuse_node_table *t = &s->nodes;

	handle_table_destroy(t->ids); /* forgets every node left */
	s->ops->forget(s->fs, t->root.inode, t->root.refs);
	pthread_mutex_destroy(&t->lock);
	free(t->buckets);
}

/* Create a node for @inode; called with the lock held. */
static int node_new(struct fuse_session *s, struct fs_inode *inode,
		    uint64_t *nodeid)
{
	struct fuse_node_table *t = &s->nodes;
	struct fuse_node *n = calloc(1, sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	n->inode = inode;
	n->nlookup = 1;
	n->refs = 1;
	err = handle_table_insert(t->ids, n, nodeid);
	if (err) {
		free(n);
		return err;
	}
	n->nodeid = *nodeid;
	node_table_grow(t);
	node_link(t, n);
	return 0;
}

int fuse_node_register(struct fuse_session *s, struct fs_inode *inode,
		       uint64_t *nodeid)
{
	struct fuse_node_table *t = &s->nodes;
	struct fuse_node *n;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	n = node_find(t, inode);
	if (n) {
		n->nlookup++;
		n->refs++;
		*nodeid = n->nodeid;
	} else {
		err = node_new(s, inode, nodeid);
	}
	pthread_mutex_unlock(&t->lock);
	if (err)
		s->ops->forget(s->fs, inode, 1);
	return err;
}

void fuse_node_unregister(struct fuse_session *s, uint64_t nodeid)
{
	fuse_node_forget(s, nodeid, 1);
}

/* Drop @nlookup of a node's count; true if it reached zero now. */
static bool node_count_down(struct fuse_node_table *t, struct fuse_node *n,
			    uint64_t nlookup)
{
	bool gone;

	pthread_mutex_lock(&t->lock);
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	gone = n->nlookup == 0 && n->hashed && n != &t->root;
	if (gone)
		node_unlink(t, n);
	pthread_mutex_unlock(&t->lock);
	return gone;
}

int fuse_node_forget(struct fuse_session *s, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_node_table *t = &s->nodes;
	struct fuse_node *n = fuse_node_get(s, nodeid);

	if (!n)
		return -ESTALE;
	if (node_count_down(t, n, nlookup))
		handle_table_remove(t->ids, nodeid);
	fuse_node_put(s, nodeid); /* may run node_release() */
	return 0;
}

struct fuse_node *fuse_node_get(struct fuse_session *s, uint64_t nodeid)
{
	if (nodeid == FUSE_ROOT_ID)
		return &s->nodes.root;
	return handle_table_get(s->nodes.ids, nodeid);
}

void fuse_node_put(struct fuse_session *s, uint64_t nodeid)
{
	if (nodeid != FUSE_ROOT_ID)
		handle_table_put(s->nodes.ids, nodeid);
}

/* ---- fhs ----------------------------------------------------------------- */

static void fh_destroy_cpl(void *arg, int err)
{
	struct fuse_fh *fh = arg;
	struct fuse_session *s = fh->session;

	if (err)
		log_debug("fuse: release at teardown: %d", err);
	free(fh);
	atomic_fetch_sub(&s->releases_pending, 1);
}

/* handle_table release for fhs: only reached at teardown (RELEASE takes). */
static void fh_release(void *ctx, void *obj)
{
	struct fuse_session *s = ctx;
	struct fuse_fh *fh = obj;
	const struct fs_ops *ops = s->ops;

	atomic_fetch_add(&s->releases_pending, 1);
	fh->call = (struct fs_call){ .cb = fh_destroy_cpl, .cb_arg = fh,
				     .reactor = reactor_current() };
	if (fh->kind == FUSE_FH_DIR && ops->releasedir)
		ops->releasedir(s->fs, &fh->call, fh->file);
	else if (fh->kind == FUSE_FH_FILE && ops->release)
		ops->release(s->fs, &fh->call, fh->file, false, 0);
	else
		fh_destroy_cpl(fh, 0);
}

int fuse_fhs_init(struct fuse_session *s)
{
	return handle_table_create(&s->fhs, s->cfg.max_handles, fh_release, s);
}

void fuse_fhs_fini(struct fuse_session *s)
{
	handle_table_destroy(s->fhs);
	/* back-ends may complete releases on this thread's reactor */
	while (atomic_load(&s->releases_pending)) {
		struct reactor *r = reactor_current();

		if (r)
			reactor_run_once(r, 10);
		else
			sched_yield();
	}
}

/*
 * fhs on the wire are table ids with bit 31 flipped: table indexes stay far
 * below 2^31, so a nodeid is never a valid fh and a mix-up is -EBADF.
 */
#define FH_WIRE_TAG (1ull << 31)

int fuse_fh_insert(struct fuse_session *s, struct fs_file *file, uint32_t kind,
		   uint64_t *fh)
{
	struct fuse_fh *h = calloc(1, sizeof(*h));
	uint64_t id;
	int err;

	if (!h)
		return -ENOMEM;
	h->file = file;
	h->kind = kind;
	h->session = s;
	err = handle_table_insert(s->fhs, h, &id);
	if (err) {
		free(h);
		return err;
	}
	*fh = id ^ FH_WIRE_TAG;
	return 0;
}

struct fuse_fh *fuse_fh_get(struct fuse_session *s, uint64_t fh, uint32_t kind)
{
	struct fuse_fh *h = handle_table_get(s->fhs, fh ^ FH_WIRE_TAG);

	if (h && kind && h->kind != kind) {
		handle_table_put(s->fhs, fh ^ FH_WIRE_TAG);
		return NULL;
	}
	return h;
}

void fuse_fh_put(struct fuse_session *s, uint64_t fh)
{
	handle_table_put(s->fhs, fh ^ FH_WIRE_TAG);
}

int fuse_fh_take(struct fuse_session *s, uint64_t fh, uint32_t kind,
		 struct fuse_fh **out)
{
	struct fuse_fh *h = fuse_fh_get(s, fh, kind);
	void *obj;
	int err;

	if (!h)
		return -EBADF;
	fuse_fh_put(s, fh);
	err = handle_table_take(s->fhs, fh ^ FH_WIRE_TAG, &obj);
	if (err)
		return err == -EBUSY ? -EBUSY : -EBADF;
	*out = obj;
	return 0;
}

/* ---- references held by a request (dropped by fuse_req_release) ---------- */

int fuse_req_hold_node2(struct fuse_request *req, uint64_t nodeid)
{
	struct fuse_request_engine *e = &req->engine;

	e->node2 = fuse_node_get(e->session, nodeid);
	if (!e->node2)
		return -ESTALE;
	e->nodeid2 = nodeid;
	return 0;
}

int fuse_req_hold_fh(struct fuse_request *req, uint64_t fh, uint32_t kind)
{
	struct fuse_request_engine *e = &req->engine;

	e->fhp = fuse_fh_get(e->session, fh, kind);
	if (!e->fhp)
		return -EBADF;
	e->fh = fh;
	return 0;
}

int fuse_req_hold_fh2(struct fuse_request *req, uint64_t fh, uint32_t kind)
{
	struct fuse_request_engine *e = &req->engine;

	e->fhp2 = fuse_fh_get(e->session, fh, kind);
	if (!e->fhp2)
		return -EBADF;
	e->fh2 = fh;
	return 0;
}
