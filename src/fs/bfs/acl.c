// SPDX-License-Identifier: MIT
/*
 * acl.c - POSIX ACLs, kept as the xattrs system.posix_acl_access and
 * system.posix_acl_default in the Linux xattr form (a version 2 header,
 * then entries of tag, perm, id; docs/FORMAT.md "Items").  They are
 * enforced here the way Linux's posix_acl_permission() does, follow
 * chmod, and are inherited from a directory's default ACL.  Two inode
 * flags say whether an inode has them, so that inodes without ACLs (most)
 * cost no lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "bfs_xattr.h"

#define ACL_VERSION 2u
#define ACL_UNDEFINED 0xffffffffu

enum {
	T_USER_OBJ = 0x01,
	T_USER = 0x02,
	T_GROUP_OBJ = 0x04,
	T_GROUP = 0x08,
	T_MASK = 0x10,
	T_OTHER = 0x20,
};

static const char access_name[] = "system.posix_acl_access";
static const char default_name[] = "system.posix_acl_default";

/* The order Linux's posix_acl_valid() demands; false when broken. */
static bool acl_order(const struct bfs_acl *acl)
{
	unsigned int state = T_USER_OBJ;
	bool needs_mask = false, mask = false;
	uint32_t last = 0;
	bool have_last = false;

	for (uint32_t i = 0; i < acl->n; i++) {
		unsigned int tag = acl->e[i].tag;

		if (tag == T_USER || tag == T_GROUP) {
			if (state != (tag == T_USER ? T_USER : T_GROUP) ||
			    (have_last && acl->e[i].id <= last))
				return false;
			last = acl->e[i].id;
			have_last = true;
			needs_mask = true;
			continue;
		}
		have_last = false;
		if (tag == T_USER_OBJ && state == T_USER_OBJ)
			state = T_USER;
		else if (tag == T_GROUP_OBJ && state == T_USER)
			state = T_GROUP;
		else if (tag == T_MASK && state == T_GROUP && !mask)
			state = T_OTHER, mask = true;
		else if (tag == T_OTHER &&
			 (state == T_OTHER ||
			  (state == T_GROUP && !needs_mask)))
			state = 0;
		else
			return false;
	}
	return state == 0 && (!needs_mask || mask);
}

int bfs_acl_parse(const uint8_t *v, size_t len, struct bfs_acl *acl)
{
	uint32_t version;

	if (len < 4 || (len - 4) % 8)
		return -EINVAL;
	memcpy(&version, v, 4);
	if (version != ACL_VERSION)
		return -EINVAL;
	if ((len - 4) / 8 > BFS_ACL_MAX_ENTRIES)
		return -E2BIG;
	acl->n = (uint32_t)((len - 4) / 8);
	for (uint32_t i = 0; i < acl->n; i++) {
		memcpy(&acl->e[i], v + 4 + 8 * i, 8);
		if (acl->e[i].perm & ~7u)
			return -EINVAL;
		if (acl->e[i].tag != T_USER && acl->e[i].tag != T_GROUP)
			acl->e[i].id = ACL_UNDEFINED;
	}
	return acl->n == 0 || acl_order(acl) ? 0 : -EINVAL;
}

size_t bfs_acl_encode(const struct bfs_acl *acl, uint8_t *out)
{
	uint32_t version = ACL_VERSION;

	memcpy(out, &version, 4);
	for (uint32_t i = 0; i < acl->n; i++)
		memcpy(out + 4 + 8 * i, &acl->e[i], 8);
	return 4 + 8 * (size_t)acl->n;
}

bool bfs_acl_equiv_mode(const struct bfs_acl *acl, uint32_t *mode)
{
	uint32_t m = 0;
	bool equiv = true;

	for (uint32_t i = 0; i < acl->n; i++) {
		uint32_t p = acl->e[i].perm;

		switch (acl->e[i].tag) {
		case T_USER_OBJ:
			m |= p << 6;
			break;
		case T_GROUP_OBJ:
			m |= p << 3;
			break;
		case T_OTHER:
			m |= p;
			break;
		case T_MASK:
			m = (m & ~070u) | p << 3;
			equiv = false;
			break;
		default:
			equiv = false;
		}
	}
	*mode = m;
	return equiv;
}

int bfs_acl_read(struct bfs *fs, uint64_t ino, bool dflt,
		 struct bfs_acl *acl)
{
	uint8_t buf[BFS_ACL_MAX_BYTES];
	struct bfs_xname x;
	struct bfs_key k;
	uint32_t vlen;
	int rc = bfs_xname_parse(fs, dflt ? default_name : access_name, &x);

	if (rc == 0)
		rc = bfs_xattr_find(fs, ino, &x, &k, &vlen);
	if (rc == 0 && vlen > sizeof(buf))
		rc = -EUCLEAN;
	if (rc == 0)
		rc = bfs_xattr_value(fs, k, vlen, buf);
	if (rc == 0 && bfs_acl_parse(buf, vlen, acl))
		rc = -EUCLEAN;
	return rc;
}

/* --- permission --------------------------------------------------------------- */

/* Linux's posix_acl_permission() (the caller's one group: no others). */
static int acl_permission(const struct bfs_acl *acl, const struct fs_cred *cr,
			  const struct bfs_dinode *d, uint32_t want)
{
	bool found = false;
	uint32_t i;

	for (i = 0; i < acl->n; i++) {
		uint32_t p = acl->e[i].perm, tag = acl->e[i].tag;

		if (tag == T_USER_OBJ && cr->uid == d->uid)
			return (p & want) == want ? 0 : -EACCES;
		if (tag == T_USER && cr->uid == acl->e[i].id)
			break;
		if ((tag == T_GROUP_OBJ && cr->gid == d->gid) ||
		    (tag == T_GROUP && cr->gid == acl->e[i].id)) {
			found = true;
			if ((p & want) == want)
				break;
		}
		if (tag == T_OTHER)
			return found ? -EACCES
				     : (p & want) == want ? 0 : -EACCES;
	}
	if (i == acl->n)
		return -EACCES;
	/* a named entry or a group matched: the mask limits it */
	for (uint32_t j = i; j < acl->n; j++) {
		if (acl->e[j].tag == T_MASK)
			return (acl->e[i].perm & acl->e[j].perm & want) == want
				       ? 0 : -EACCES;
	}
	return (acl->e[i].perm & want) == want ? 0 : -EACCES;
}

int bfs_perm_acl(struct bfs *fs, uint64_t ino, const struct fs_cred *cr,
		 const struct bfs_dinode *d, int mask)
{
	struct bfs_acl acl;
	int rc;

	mask &= R_OK | W_OK | X_OK;
	if (!(d->flags & BFS_INODE_ACL) || cr->uid == 0 || cr->uid == d->uid)
		return bfs_perm(cr, d, mask);
	rc = bfs_acl_read(fs, ino, false, &acl);
	if (rc == -ENOENT)
		return bfs_perm(cr, d, mask);
	if (rc)
		return rc;
	return acl_permission(&acl, cr, d, (uint32_t)mask);
}

/* --- setxattr / removexattr of an ACL ---------------------------------------- */

struct acl_set {
	struct bfs_xname x;
	struct bfs_key k;
	uint32_t old;
	bool exists;
	bool dflt;
	uint8_t buf[BFS_ACL_MAX_BYTES];
	uint32_t len;  /* what to store */
	bool store;    /* store buf, or remove what exists */
	uint32_t mode; /* the new mode */
};

/* Parse @value into what to store and the new mode. */
static int acl_decide(struct bfs_op *op, const struct bfs_dinode *d,
		      struct acl_set *s, const void *value, size_t size)
{
	const struct fs_cred *cr = &op->call->cred;
	struct bfs_acl acl;
	uint32_t perm;
	int rc;

	s->mode = d->mode;
	s->store = false;
	if (!value) /* removexattr */
		return s->exists ? 0 : -ENODATA;
	if (size == 0) /* an empty value: no ACL, as Linux takes it */
		return 0;
	rc = bfs_acl_parse(value, size, &acl);
	if (rc || acl.n == 0)
		return rc;
	if (s->dflt) {
		s->store = true;
		s->len = (uint32_t)bfs_acl_encode(&acl, s->buf);
		return 0;
	}
	s->store = !bfs_acl_equiv_mode(&acl, &perm);
	if (s->store)
		s->len = (uint32_t)bfs_acl_encode(&acl, s->buf);
	s->mode = (d->mode & ~0777u) | perm;
	if (cr->uid && cr->gid != d->gid)
		s->mode &= ~(uint32_t)S_ISGID;
	return 0;
}

static void acl_flags(struct bfs_dinode *d, const struct acl_set *s)
{
	uint32_t f = s->dflt ? BFS_INODE_DACL : BFS_INODE_ACL;

	if (s->store)
		d->flags |= f;
	else
		d->flags &= ~f;
	d->mode = s->mode;
}

int bfs_acl_set_run(struct bfs_op *op, uint64_t ino, struct bfs_dinode *d,
		    const struct bfs_xname *x, const void *value, size_t size)
{
	struct bfs *fs = op->fs;
	struct acl_set s = { .x = *x };
	int rc;

	s.dflt = !strcmp(x->name, "posix_acl_default");
	if (s.dflt && !S_ISDIR(d->mode))
		return value ? -EACCES : -ENODATA;
	rc = bfs_xattr_find(fs, ino, x, &s.k, &s.old);
	s.exists = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	rc = acl_decide(op, d, &s, value, size);
	if (rc == 0 && !s.exists && s.store &&
	    bfs_key_off(s.k) == BFS_OFF_MASK)
		rc = -ENOSPC;
	if (rc == 0)
		rc = bfs_xattr_paths(fs, s.k, s.old, s.exists,
				     s.store ? s.len : 0);
	if (rc == 0)
		rc = bfs_xattr_room(op, bfs_xattr_blocks(fs, s.old, s.len));
	if (rc == 0)
		rc = bfs_space_check(op, bfs_xattr_blocks(fs, 0, s.len));
	if (rc)
		return rc;
	if (s.store)
		rc = bfs_xattr_store(fs, s.k, x, s.buf, s.len, s.old, s.exists);
	else if (s.exists)
		rc = bfs_xattr_remove(fs, s.k, s.old);
	acl_flags(d, &s);
	bfs_touch(d, false, true);
	if (rc == 0)
		rc = bfs_dinode_write(fs, ino, d);
	return bfs_apply_check2(fs, rc);
}

/* --- inheritance ---------------------------------------------------------------- */

/* Linux's posix_acl_create_masq(): @acl limited by @mode, and back. */
static bool create_masq(struct bfs_acl *acl, uint32_t *mode)
{
	uint32_t m = *mode;
	int grp = -1, mask = -1;
	bool equiv = true;

	for (uint32_t i = 0; i < acl->n; i++) {
		uint16_t *p = &acl->e[i].perm;

		switch (acl->e[i].tag) {
		case T_USER_OBJ:
			*p &= (uint16_t)((m >> 6) & 7);
			m &= (uint32_t)(*p << 6) | ~0700u;
			break;
		case T_GROUP_OBJ:
			grp = (int)i;
			break;
		case T_MASK:
			mask = (int)i;
			equiv = false;
			break;
		case T_OTHER:
			*p &= (uint16_t)(m & 7);
			m &= *p | ~07u;
			break;
		default:
			equiv = false;
		}
	}
	if (mask < 0)
		mask = grp;
	acl->e[mask].perm &= (uint16_t)((m >> 3) & 7);
	m &= (uint32_t)(acl->e[mask].perm << 3) | ~070u;
	*mode = m;
	return equiv;
}

/* Find the free key of an ACL of new inode @ino and cache its paths. */
static int new_key(struct bfs *fs, uint64_t ino, const char *name,
		   uint32_t len, struct bfs_key *k)
{
	struct bfs_xname x;
	uint32_t v;
	int rc = bfs_xname_parse(fs, name, &x);

	if (rc == 0)
		rc = bfs_xattr_find(fs, ino, &x, k, &v);
	if (rc == 0)
		return -EUCLEAN; /* a new inode has none */
	if (rc != -ENOENT)
		return rc;
	return bfs_xattr_paths(fs, *k, 0, false, len);
}

int bfs_acl_inherit_prepare(struct bfs *fs, uint64_t parent,
			    const struct bfs_dinode *pd, uint64_t ino,
			    mode_t mode, struct bfs_acl_inherit *ih)
{
	struct bfs_acl acl;
	uint32_t m = mode & 07777;
	int rc;

	ih->have = false;
	if (!(pd->flags & BFS_INODE_DACL) || S_ISLNK(mode))
		return 0;
	rc = bfs_acl_read(fs, parent, true, &acl);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	ih->have = true;
	ih->dflt = S_ISDIR(mode);
	ih->dlen = (uint32_t)bfs_acl_encode(&acl, ih->dbuf);
	ih->access = !create_masq(&acl, &m);
	ih->mode = m;
	ih->alen = (uint32_t)bfs_acl_encode(&acl, ih->abuf);
	rc = ih->dflt ? new_key(fs, ino, default_name, ih->dlen, &ih->dk) : 0;
	if (rc == 0 && ih->access)
		rc = new_key(fs, ino, access_name, ih->alen, &ih->ak);
	return rc;
}

int bfs_acl_inherit_apply(struct bfs *fs, uint64_t ino,
			  const struct bfs_acl_inherit *ih)
{
	struct bfs_xname x;
	int rc = 0;

	if (ih->dflt) {
		rc = bfs_xname_parse(fs, default_name, &x);
		if (rc == 0)
			rc = bfs_xattr_store(fs, ih->dk, &x, ih->dbuf, ih->dlen,
					     0, false);
	}
	if (rc == 0 && ih->access) {
		rc = bfs_xname_parse(fs, access_name, &x);
		if (rc == 0)
			rc = bfs_xattr_store(fs, ih->ak, &x, ih->abuf, ih->alen,
					     0, false);
	}
	return rc;
}

/* --- chmod -------------------------------------------------------------------------- */

int bfs_acl_chmod_prepare(struct bfs *fs, uint64_t ino,
			  const struct bfs_dinode *d, struct bfs_acl_chmod *cm)
{
	struct bfs_xname x;
	int rc;

	cm->have = false;
	if (!(d->flags & BFS_INODE_ACL))
		return 0;
	rc = bfs_xname_parse(fs, access_name, &x);
	if (rc == 0)
		rc = bfs_xattr_find(fs, ino, &x, &cm->k, &cm->len);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0 && cm->len > sizeof(cm->buf))
		rc = -EUCLEAN;
	if (rc == 0)
		rc = bfs_xattr_value(fs, cm->k, cm->len, cm->buf);
	if (rc == 0)
		rc = bfs_xattr_paths(fs, cm->k, cm->len, true, cm->len);
	cm->have = rc == 0;
	return rc;
}

/* Linux's posix_acl_chmod(): the owner, mask (or group) and other entries. */
int bfs_acl_chmod_apply(struct bfs *fs, struct bfs_acl_chmod *cm,
			uint32_t mode)
{
	struct bfs_acl acl;
	struct bfs_xname x;
	int mask = -1, grp = -1;

	if (!cm->have)
		return 0;
	if (bfs_acl_parse(cm->buf, cm->len, &acl) || acl.n == 0)
		return -EUCLEAN;
	for (uint32_t i = 0; i < acl.n; i++) {
		if (acl.e[i].tag == T_USER_OBJ)
			acl.e[i].perm = (uint16_t)((mode >> 6) & 7);
		else if (acl.e[i].tag == T_OTHER)
			acl.e[i].perm = (uint16_t)(mode & 7);
		else if (acl.e[i].tag == T_MASK)
			mask = (int)i;
		else if (acl.e[i].tag == T_GROUP_OBJ)
			grp = (int)i;
	}
	acl.e[mask >= 0 ? mask : grp].perm = (uint16_t)((mode >> 3) & 7);
	bfs_acl_encode(&acl, cm->buf);
	if (bfs_xname_parse(fs, access_name, &x))
		return -EIO;
	return bfs_xattr_store(fs, cm->k, &x, cm->buf, cm->len, cm->len, true);
}
