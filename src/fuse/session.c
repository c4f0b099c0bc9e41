// SPDX-License-Identifier: MIT
/*
 * session.c - one FUSE connection: creation, FUSE_INIT negotiation, DESTROY,
 * teardown and counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_internal.h"
#include "vhostfs/log.h"

#define DEFAULT_MAX_WRITE (1u << 20)
#define DEFAULT_MAX_PAGES 256u
#define KERNEL_MAX_PAGES 256u      /* FUSE_MAX_MAX_PAGES */
#define KERNEL_DEFAULT_PAGES 32u   /* without FUSE_MAX_PAGES */
#define DEFAULT_MAX_BACKGROUND 65535u

static void fuse_timeouts_set(struct fuse_session *s)
{
	switch (s->cfg.cache) {
	case FUSE_CACHE_NEVER:
		s->entry_timeout = s->attr_timeout = 0;
		break;
	case FUSE_CACHE_ALWAYS:
	case FUSE_CACHE_METADATA:
		s->entry_timeout = s->attr_timeout = 86400;
		break;
	case FUSE_CACHE_AUTO:
	default:
		s->entry_timeout = s->attr_timeout = 1;
		break;
	}
}

static int fuse_config_check(struct fuse_session_config *c)
{
	const struct fs_ops *ops;

	if (!c->fs || !c->fs->ops)
		return -EINVAL;
	ops = c->fs->ops;
	if (!ops->root || !ops->forget)
		return -EINVAL;
	if ((unsigned int)c->cache > FUSE_CACHE_NEVER)
		return -EINVAL;
	if (!c->max_write)
		c->max_write = DEFAULT_MAX_WRITE;
	if (!c->max_pages)
		c->max_pages = DEFAULT_MAX_PAGES;
	if (c->max_pages > KERNEL_MAX_PAGES)
		c->max_pages = KERNEL_MAX_PAGES;
	/* a WRITE's data must fit in the engine's data iovecs */
	if (c->max_write < FUSE_ENGINE_PAGE ||
	    c->max_write > (uint32_t)c->max_pages * FUSE_ENGINE_PAGE)
		c->max_write = (uint32_t)c->max_pages * FUSE_ENGINE_PAGE;
	if (!c->max_background)
		c->max_background = DEFAULT_MAX_BACKGROUND;
	if (!c->xattr)
		c->posix_acl = false;
	/* fh ids carry a tag bit above every table index (nodes.c) */
	if (c->max_handles > (1u << 30))
		c->max_handles = 1u << 30;
	return 0;
}

int fuse_session_create(struct fuse_session **out,
			const struct fuse_session_config *cfg)
{
	struct fuse_session *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	err = fuse_config_check(&s->cfg);
	if (err)
		goto fail;
	s->fs = s->cfg.fs;
	s->ops = s->fs->ops;
	fuse_timeouts_set(s);
	err = fuse_nodes_init(s);
	if (err)
		goto fail;
	err = fuse_fhs_init(s);
	if (err)
		goto fail_nodes;
	pthread_mutex_init(&s->lkw_lock, NULL);
	pthread_cond_init(&s->lkw_cond, NULL);
	atomic_init(&s->state, FUSE_SESSION_NEW);
	*out = s;
	return 0;

fail_nodes:
	fuse_nodes_fini(s);
fail:
	free(s);
	return err;
}

void fuse_session_destroy(struct fuse_session *s)
{
	if (!s)
		return;
	/* open handles first: a back-end file may pin its inode */
	fuse_fhs_fini(s);
	fuse_nodes_fini(s);
	pthread_cond_destroy(&s->lkw_cond);
	pthread_mutex_destroy(&s->lkw_lock);
	free(s);
}

bool fuse_session_ready(const struct fuse_session *s)
{
	return atomic_load_explicit(&s->state, memory_order_acquire) ==
	       FUSE_SESSION_READY;
}

bool fuse_session_initialized(const struct fuse_session *s)
{
	return fuse_session_ready(s);
}

void fuse_session_get_stats(struct fuse_session *s,
			    struct fuse_session_stats *out)
{
	out->requests = atomic_load(&s->requests);
	out->errors = atomic_load(&s->errors);
	out->dropped = atomic_load(&s->dropped);
	out->nodes = handle_table_count(s->nodes.ids) + 1; /* + root */
	out->handles = handle_table_count(s->fhs);
}

/* ---- FUSE_INIT ------------------------------------------------------------ */

/* What this engine implements, given the config and the back-end's ops. */
static uint64_t fuse_init_wanted(const struct fuse_session *s)
{
	const struct fs_ops *ops = s->ops;
	uint64_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
			FUSE_BIG_WRITES | FUSE_DONT_MASK |
			FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |
			FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
			FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_INIT_EXT;

	if (ops->getlk && ops->setlk)
		want |= FUSE_POSIX_LOCKS;
	if (ops->setlk)
		want |= FUSE_FLOCK_LOCKS;
	/* the back-end kills S[UG]ID when told (write flag, setattr bit) */
	if (ops->write && ops->setattr)
		want |= FUSE_HANDLE_KILLPRIV_V2;
	if (s->cfg.posix_acl)
		want |= FUSE_POSIX_ACL;
	/*
	 * The extended setxattr_in carries FUSE_SETXATTR_ACL_KILL_SGID, which
	 * fs_ops.setxattr cannot express; with ACLs on, leave SGID clearing
	 * to the kernel (it then sends a SETATTR) by not negotiating it.
	 */
	if (s->cfg.xattr && !s->cfg.posix_acl)
		want |= FUSE_SETXATTR_EXT;
	if (s->cfg.cache != FUSE_CACHE_NEVER)
		want |= FUSE_CACHE_SYMLINKS;
	if (s->cfg.writeback && s->cfg.cache != FUSE_CACHE_NEVER)
		want |= FUSE_WRITEBACK_CACHE;
	return want;
}

static void fuse_init_negotiate(struct fuse_session *s,
				const struct fuse_init_in *in,
				struct fuse_init_out *out)
{
	uint64_t offered = in->flags;
	uint64_t got;
	uint32_t pages;

	if (in->flags & FUSE_INIT_EXT)
		offered |= (uint64_t)in->flags2 << 32;
	got = offered & fuse_init_wanted(s);
	pages = (got & FUSE_MAX_PAGES) ? s->cfg.max_pages : KERNEL_DEFAULT_PAGES;

	s->minor = in->minor < FUSE_ENGINE_MINOR ? in->minor : FUSE_ENGINE_MINOR;
	s->flags = got;
	s->setxattr_ext = (got & FUSE_SETXATTR_EXT) != 0;
	s->killpriv_v2 = (got & FUSE_HANDLE_KILLPRIV_V2) != 0;
	s->max_write = s->cfg.max_write;
	s->max_read = pages * FUSE_ENGINE_PAGE;
	if (s->max_read < s->max_write)
		s->max_read = s->max_write;

	out->major = FUSE_ENGINE_MAJOR;
	out->minor = FUSE_ENGINE_MINOR;
	out->max_readahead = in->max_readahead;
	out->flags = (uint32_t)got;
	out->flags2 = (uint32_t)(got >> 32);
	out->max_background = s->cfg.max_background;
	out->congestion_threshold =
		(uint16_t)((uint32_t)s->cfg.max_background * 3 / 4);
	out->max_write = s->max_write;
	out->time_gran = 1;
	out->max_pages = (uint16_t)((got & FUSE_MAX_PAGES) ? pages : 0);
}

void fuse_do_init(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);
	struct fuse_init_in in;
	struct fuse_init_out out;
	uint32_t expect = FUSE_SESSION_NEW;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	memcpy(&in, req->engine.args, req->engine.len);
	if (!atomic_compare_exchange_strong(&s->state, &expect,
					    FUSE_SESSION_INITIALIZING)) {
		fuse_reply_err(req, -EPROTO); /* a second INIT */
		return;
	}
	if (in.major > FUSE_ENGINE_MAJOR) {
		/* protocol: answer our major; the peer retries with it */
		atomic_store(&s->state, FUSE_SESSION_NEW);
		out.major = FUSE_ENGINE_MAJOR;
		out.minor = FUSE_ENGINE_MINOR;
		fuse_reply_ok(req, &out, sizeof(out));
		return;
	}
	if (in.major < FUSE_ENGINE_MAJOR || in.minor < FUSE_ENGINE_MINOR_MIN) {
		log_error("fuse: peer speaks %u.%u, need 7.%u or newer",
			  in.major, in.minor, FUSE_ENGINE_MINOR_MIN);
		atomic_store(&s->state, FUSE_SESSION_NEW);
		fuse_reply_err(req, -EPROTO);
		return;
	}
	fuse_init_negotiate(s, &in, &out);
	log_info("fuse: session up: 7.%u flags %#llx max_write %u",
		 s->minor, (unsigned long long)s->flags, s->max_write);
	atomic_store_explicit(&s->state, FUSE_SESSION_READY,
			      memory_order_release);
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_destroy(struct fuse_request *req)
{
	struct fuse_session *s = fuse_req_session(req);

	/* FORGETs still queued on other queues are served after this */
	atomic_store(&s->state, FUSE_SESSION_DESTROYED);
	fuse_reply_ok(req, NULL, 0);
}
