/* SPDX-License-Identifier: MIT */
/*
 * guest_mem_internal.h - the "guest RAM" the front-end shares with the daemon.
 *
 * One memfd, mapped MAP_SHARED once, handed to the back-end as one region.
 * Guest-physical addresses are offsets into it plus a base (@gpa_base), so
 * descriptors carry addresses that are not our pointers, as with a real VM.
 * Rings and request buffers are carved out of it at set-up with a bump
 * allocator; nothing is allocated or freed while a workload runs.
 */
#ifndef VHOSTFS_FE_GUEST_MEM_INTERNAL_H
#define VHOSTFS_FE_GUEST_MEM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct fe_mem {
	int fd;
	uint8_t *base;     /* our mapping: the region's userspace_addr */
	uint64_t size;
	uint64_t gpa_base; /* guest-physical address of base[0] */
	uint64_t used;     /* bump allocator */
};

/* Create and map @size bytes (rounded up to 2 MiB) at guest address
 * @gpa_base. */
int fe_mem_create(struct fe_mem *m, uint64_t size, uint64_t gpa_base);
void fe_mem_destroy(struct fe_mem *m);

/* Carve @len bytes aligned to @align (a power of two); NULL when full. */
void *fe_mem_alloc(struct fe_mem *m, size_t len, size_t align);

/* Guest-physical address of a pointer into the region. */
static inline uint64_t fe_mem_gpa(const struct fe_mem *m, const void *p)
{
	return m->gpa_base + (uint64_t)((const uint8_t *)p - m->base);
}

#endif /* VHOSTFS_FE_GUEST_MEM_INTERNAL_H */
