// SPDX-License-Identifier: MIT
/* memory.c - mapping and translating the front-end's guest memory. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory_internal.h"

/* The last byte of [start, start + size) without wrapping; false if it wraps. */
static bool range_last(uint64_t start, uint64_t size, uint64_t *last)
{
	if (size == 0 || size - 1 > UINT64_MAX - start)
		return false;
	*last = start + (size - 1);
	return true;
}

static int region_desc_check(const struct vu_mem_region_desc *d)
{
	uint64_t last;

	if (!range_last(d->gpa, d->size, &last) ||
	    !range_last(d->uaddr, d->size, &last) ||
	    !range_last(d->mmap_offset, d->size, &last))
		return -EINVAL;
	if (d->size > SIZE_MAX / 2)
		return -EINVAL;
	return 0;
}

/*
 * mmap() offsets must be aligned to the page size of the backing file
 * (the huge page size on hugetlbfs, which st_blksize reports).
 */
static uint64_t region_align(const struct stat *st)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t blk = (uint64_t)st->st_blksize;

	if (blk > page && (blk & (blk - 1)) == 0)
		return blk;
	return page;
}

int vu_mem_region_map(struct vu_mem_region *r,
		      const struct vu_mem_region_desc *d, int fd)
{
	struct stat st;
	uint64_t align, off, delta, len;
	void *base;
	int rc = region_desc_check(d);

	if (rc)
		return rc;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* Past the end of a file a mapping SIGBUSes: refuse short files. */
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size < d->mmap_offset + d->size)
		return -EINVAL;
	align = region_align(&st);
	off = d->mmap_offset & ~(align - 1);
	delta = d->mmap_offset - off;
	len = (d->size + delta + align - 1) & ~(align - 1);
	if (len < d->size)
		return -EINVAL;
	base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    (off_t)off);
	if (base == MAP_FAILED)
		return -errno;
	/* Guest RAM has no place in our core dumps. */
	(void)madvise(base, (size_t)len, MADV_DONTDUMP);
	r->gpa = d->gpa;
	r->size = d->size;
	r->uaddr = d->uaddr;
	r->mmap_offset = d->mmap_offset;
	r->host = (uint8_t *)base + delta;
	r->map_base = base;
	r->map_len = (size_t)len;
	return 0;
}

void vu_mem_region_unmap(struct vu_mem_region *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	r->map_base = NULL;
	r->host = NULL;
}

static struct vu_mem_map *map_alloc(unsigned int n)
{
	struct vu_mem_map *m;

	m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->regions[0]));
	if (m)
		m->nregions = n;
	return m;
}

struct vu_mem_map *vu_mem_map_empty(void)
{
	return map_alloc(0);
}

static bool ranges_overlap(uint64_t a, uint64_t b, uint64_t size_a,
			   uint64_t size_b)
{
	uint64_t a_last, b_last;

	if (!range_last(a, size_a, &a_last) || !range_last(b, size_b, &b_last))
		return true;
	return a <= b_last && b <= a_last;
}

static bool region_conflicts(const struct vu_mem_map *m,
			     const struct vu_mem_region *r)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *o = &m->regions[i];

		if (ranges_overlap(o->gpa, r->gpa, o->size, r->size) ||
		    ranges_overlap(o->uaddr, r->uaddr, o->size, r->size))
			return true;
	}
	return false;
}

int vu_mem_map_add(const struct vu_mem_map *old, const struct vu_mem_region *r,
		   unsigned int max_regions, struct vu_mem_map **out)
{
	struct vu_mem_map *m;
	unsigned int i, pos = 0;

	if (old->nregions >= max_regions)
		return -ENOSPC;
	if (region_conflicts(old, r))
		return -EEXIST;
	m = map_alloc(old->nregions + 1);
	if (!m)
		return -ENOMEM;
	while (pos < old->nregions && old->regions[pos].gpa < r->gpa)
		pos++;
	for (i = 0; i < pos; i++)
		m->regions[i] = old->regions[i];
	m->regions[pos] = *r;
	for (i = pos; i < old->nregions; i++)
		m->regions[i + 1] = old->regions[i];
	*out = m;
	return 0;
}

int vu_mem_map_remove(const struct vu_mem_map *old,
		      const struct vu_mem_region_desc *d,
		      struct vu_mem_map **out, struct vu_mem_region *removed)
{
	struct vu_mem_map *m;
	unsigned int i, j = 0, found = old->nregions;

	for (i = 0; i < old->nregions; i++) {
		const struct vu_mem_region *o = &old->regions[i];

		if (o->gpa == d->gpa && o->uaddr == d->uaddr &&
		    o->size == d->size) {
			found = i;
			break;
		}
	}
	if (found == old->nregions)
		return -ENOENT;
	m = map_alloc(old->nregions - 1);
	if (!m)
		return -ENOMEM;
	for (i = 0; i < old->nregions; i++) {
		if (i != found)
			m->regions[j++] = old->regions[i];
	}
	*removed = old->regions[found];
	*out = m;
	return 0;
}

void vu_mem_map_free(struct vu_mem_map *m)
{
	free(m);
}

void vu_mem_map_destroy(struct vu_mem_map *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; i < m->nregions; i++)
		vu_mem_region_unmap(&m->regions[i]);
	free(m);
}

/* The region holding guest physical @addr: binary search (sorted by gpa). */
static const struct vu_mem_region *lookup_gpa(const struct vu_mem_map *m,
					      uint64_t addr)
{
	unsigned int lo = 0, hi = m->nregions;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (m->regions[mid].gpa <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (addr - m->regions[lo - 1].gpa >= m->regions[lo - 1].size)
		return NULL;
	return &m->regions[lo - 1];
}

/* Front-end virtual lookups only happen when rings are set up: scan. */
static const struct vu_mem_region *lookup_uva(const struct vu_mem_map *m,
					      uint64_t addr)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct vu_mem_region *r = &m->regions[i];

		if (addr >= r->uaddr && addr - r->uaddr < r->size)
			return r;
	}
	return NULL;
}

int vu_mem_translate(const struct vu_mem_map *m, enum vu_addr_space space,
		     uint64_t addr, uint64_t len, struct iovec *iov,
		     unsigned int max, unsigned int *n)
{
	unsigned int cnt = *n;
	uint64_t last;

	if (len == 0)
		return 0;
	if (!range_last(addr, len, &last))
		return -EFAULT;
	while (len) {
		const struct vu_mem_region *r = space == VU_ADDR_GPA
							? lookup_gpa(m, addr)
							: lookup_uva(m, addr);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		if (cnt >= max)
			return -E2BIG;
		off = addr - (space == VU_ADDR_GPA ? r->gpa : r->uaddr);
		chunk = r->size - off < len ? r->size - off : len;
		iov[cnt].iov_base = r->host + off;
		iov[cnt].iov_len = (size_t)chunk;
		cnt++;
		addr += chunk;
		len -= chunk;
	}
	*n = cnt;
	return 0;
}

void *vu_mem_ptr(const struct vu_mem_map *m, enum vu_addr_space space,
		 uint64_t addr, uint64_t len)
{
	struct iovec iov;
	unsigned int n = 0;

	if (len == 0 || vu_mem_translate(m, space, addr, len, &iov, 1, &n))
		return NULL;
	return iov.iov_base;
}

int vu_mem_read(const struct vu_mem_map *m, enum vu_addr_space space,
		uint64_t addr, void *dst, size_t len)
{
	struct iovec iov[4];
	uint8_t *p = dst;

	while (len) {
		unsigned int n = 0;
		int rc = vu_mem_translate(m, space, addr, len, iov, 4, &n);

		if (rc == -E2BIG)
			rc = vu_mem_translate(m, space, addr, 1, iov, 4, &n);
		if (rc)
			return rc;
		for (unsigned int i = 0; i < n; i++) {
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
			p += iov[i].iov_len;
			addr += iov[i].iov_len;
			len -= iov[i].iov_len;
		}
	}
	return 0;
}
