// SPDX-License-Identifier: MIT
/*
 * virtq_fuzz.c - libFuzzer target: the descriptor-chain walker over guest
 * memory the fuzzer fills.  Guest RAM is two regions of a memfd (adjacent
 * in guest-physical space, apart in ours); the first input bytes pick the
 * ring size, base and features, the rest is copied over guest memory,
 * rings included.  Every chain popped must lie in mapped memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "transport/vhost_user/memory_internal.h"
#include "transport/vhost_user/virtq_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION (64u * 1024)
#define UVA_A 0x100000000ull
#define UVA_B 0x300000000ull

static uint8_t *fz_guest;
static struct vu_mem_map *fz_map;

static void fz_init(void)
{
	int fd = memfd_create("virtq-fuzz", MFD_CLOEXEC);
	struct vu_mem_region_desc d[2] = {
		{ 0, REGION, UVA_A, 0 },
		{ REGION, REGION, UVA_B, REGION },
	};
	struct vu_mem_map *m, *next;

	if (fd < 0 || ftruncate(fd, 2 * REGION))
		abort();
	fz_guest = mmap(NULL, 2 * REGION, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	m = vu_mem_map_empty();
	if (fz_guest == MAP_FAILED || !m)
		abort();
	for (int i = 0; i < 2; i++) {
		struct vu_mem_region r;

		if (vu_mem_region_map(&r, &d[i], fd) ||
		    vu_mem_map_add(m, &r, 8, &next))
			abort();
		vu_mem_map_free(m);
		m = next;
	}
	fz_map = m;
	close(fd);
}

/* Every iovec must sit inside one of the two regions. */
static void fz_check(const struct vu_chain *ch)
{
	const struct vu_mem_region *r = fz_map->regions;

	if (ch->in_cnt + ch->out_cnt > ch->max)
		abort();
	for (unsigned int i = 0; i < ch->in_cnt + ch->out_cnt; i++) {
		const uint8_t *p = ch->iov[i].iov_base;
		size_t n = ch->iov[i].iov_len;
		int ok = 0;

		for (int j = 0; j < 2; j++)
			ok |= p >= r[j].host && n <= r[j].size &&
			      (size_t)(p - r[j].host) <= r[j].size - n;
		if (!ok || n == 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_ring_addrs a = { UVA_A + 0, UVA_A + 0x4000, UVA_A + 0x5000 };
	struct iovec iov[64];
	struct vu_chain ch = { .iov = iov, .max = 64 };
	struct vu_virtq vq;
	uint64_t features = 0;
	unsigned int qsize;
	uint16_t base;

	if (!fz_guest)
		fz_init();
	if (size < 4)
		return 0;
	qsize = 1u << (data[0] % 11); /* up to 1024: rings fit below 0x4000 */
	base = (uint16_t)(data[1] | data[2] << 8);
	if (data[3] & 1)
		features |= 1ull << VU_F_RING_EVENT_IDX;
	if (data[3] & 2)
		features |= 1ull << VU_F_RING_INDIRECT_DESC;
	memset(fz_guest, 0, 2 * REGION);
	memcpy(fz_guest, data + 4, size - 4 < 2 * REGION ? size - 4 : 2 * REGION);
	if (vu_virtq_setup(&vq, fz_map, qsize, &a, base, features))
		abort(); /* the layout above is always valid */
	for (int i = 0; i < 64; i++) {
		int rc = vu_virtq_pop(&vq, &ch);

		if (rc <= 0)
			break;
		fz_check(&ch);
		vu_virtq_push(&vq, ch.head, (uint32_t)ch.out_len);
	}
	vu_virtq_publish(&vq);
	(void)vu_virtq_should_notify(&vq);
	(void)vu_virtq_notify_enable(&vq);
	vu_virtq_notify_disable(&vq);
	return 0;
}
