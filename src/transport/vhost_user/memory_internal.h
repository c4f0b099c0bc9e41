/* SPDX-License-Identifier: MIT */
/*
 * memory_internal.h - the front-end's guest memory, mapped into this process.
 *
 * A memory map is an immutable snapshot: a sorted array of regions.  The
 * control thread builds a new map for every SET_MEM_TABLE/ADD_MEM_REG/
 * REM_MEM_REG and hands it to the queue threads, so lookups on the data path
 * take no lock.  The mmap()ed areas are not owned by a map: the connection
 * tracks which regions are live and unmaps them when nothing can use them.
 *
 * Every translation of a guest address goes through vu_mem_translate(),
 * which clamps at region ends and splits a range that crosses regions.
 */
#ifndef VHOSTFS_VU_MEMORY_INTERNAL_H
#define VHOSTFS_VU_MEMORY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto_internal.h"

/* Regions a map may hold (GET_MAX_MEM_SLOTS answers at most this). */
#define VU_MEM_SLOTS_MAX 509u

struct vu_mem_region {
	uint64_t gpa;         /* guest physical start */
	uint64_t size;        /* bytes, > 0 */
	uint64_t uaddr;       /* front-end virtual start */
	uint64_t mmap_offset; /* as sent; kept for logs */
	uint8_t *host;        /* our address of gpa */
	void *map_base;       /* what mmap() returned */
	size_t map_len;
};

struct vu_mem_map {
	unsigned int nregions;
	struct vu_mem_region regions[]; /* sorted by gpa, no overlaps */
};

enum vu_addr_space {
	VU_ADDR_GPA, /* guest physical: descriptors */
	VU_ADDR_UVA, /* front-end virtual: ring addresses of SET_VRING_ADDR */
};

/*
 * Map @fd as described by @d (MAP_SHARED, read-write).  Validates the
 * description (non-zero size, no wrap-around of any range) and that @fd is a
 * regular file long enough, so that touching the region can never SIGBUS.
 * Does not take ownership of @fd.  Returns 0 or -errno.
 */
int vu_mem_region_map(struct vu_mem_region *r,
		      const struct vu_mem_region_desc *d, int fd);
void vu_mem_region_unmap(struct vu_mem_region *r);

/* An empty map (no regions). */
struct vu_mem_map *vu_mem_map_empty(void);

/*
 * New map = @old plus @r.  -EEXIST if @r overlaps a region (guest or
 * front-end addresses), -ENOSPC past @max_regions, -ENOMEM.
 * @old is left untouched; the new map refers to the same mappings.
 */
int vu_mem_map_add(const struct vu_mem_map *old, const struct vu_mem_region *r,
		   unsigned int max_regions, struct vu_mem_map **out);

/*
 * New map = @old without the region matching @d (guest address, front-end
 * address and size; mmap_offset ignored).  The removed region goes to
 * *@removed.  -ENOENT when no region matches.
 */
int vu_mem_map_remove(const struct vu_mem_map *old,
		      const struct vu_mem_region_desc *d,
		      struct vu_mem_map **out, struct vu_mem_region *removed);

/* Free the map itself (not the mappings). NULL is fine. */
void vu_mem_map_free(struct vu_mem_map *m);

/* Unmap every region of @m, then free @m. NULL is fine. */
void vu_mem_map_destroy(struct vu_mem_map *m);

/*
 * Translate [@addr, @addr + @len) into host iovecs, one per region crossed,
 * appended at @iov[*@n] (at most @max in total).  Returns 0, -EFAULT when a
 * byte is not mapped (or the range wraps), -E2BIG when @max is too small.
 * On error *@n is unchanged.  @len 0 yields no iovec.
 */
int vu_mem_translate(const struct vu_mem_map *m, enum vu_addr_space space,
		     uint64_t addr, uint64_t len, struct iovec *iov,
		     unsigned int max, unsigned int *n);

/*
 * Host pointer to [@addr, @addr + @len) if it is mapped contiguously (inside
 * one region), else NULL.  Rings and descriptor tables use this.
 */
void *vu_mem_ptr(const struct vu_mem_map *m, enum vu_addr_space space,
		 uint64_t addr, uint64_t len);

/* Copy @len bytes of guest memory at @addr (crossing regions as needed). */
int vu_mem_read(const struct vu_mem_map *m, enum vu_addr_space space,
		uint64_t addr, void *dst, size_t len);

#endif /* VHOSTFS_VU_MEMORY_INTERNAL_H */
