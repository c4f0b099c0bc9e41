// SPDX-License-Identifier: MIT
/* guest_mem.c - one shared memfd region standing in for guest RAM. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frontend/guest_mem_internal.h"

#define FE_MEM_GRANULE (2ull << 20)

int fe_mem_create(struct fe_mem *m, uint64_t size, uint64_t gpa_base)
{
	void *p;
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	size = (size + FE_MEM_GRANULE - 1) & ~(FE_MEM_GRANULE - 1);
	m->fd = memfd_create("vhostfs-bench-ram", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)size) < 0)
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	m->base = p;
	m->size = size;
	m->gpa_base = gpa_base;
	return 0;
fail:
	err = -errno;
	close(m->fd);
	m->fd = -1;
	return err;
}

void fe_mem_destroy(struct fe_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void *fe_mem_alloc(struct fe_mem *m, size_t len, size_t align)
{
	uint64_t off = (m->used + align - 1) & ~((uint64_t)align - 1);

	if (off > m->size || len > m->size - off)
		return NULL;
	m->used = off + len;
	return m->base + off;
}
