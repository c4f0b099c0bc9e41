// SPDX-License-Identifier: MIT
/* test_vu_memory.c - guest memory regions and address translation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vu_test_util.h"

#define MiB (1ull << 20)
#define UVA_A 0x7f0000000000ull
#define UVA_B 0x7f1000000000ull

/* Two regions adjacent in guest-physical space, apart in ours and QEMU's. */
static void two_regions(struct fake_guest *g)
{
	fg_create(g, 4 * MiB);
	fg_add_region(g, 0, 2 * MiB, UVA_A, 0);
	fg_add_region(g, 2 * MiB, 2 * MiB, UVA_B, 2 * MiB);
}

static void test_translate_inside(void **state)
{
	struct fake_guest g;
	struct vu_mem_map *m;
	struct iovec iov[4];
	unsigned int n = 0;

	two_regions(&g);
	m = fg_map(&g);
	memcpy(fg_ptr(&g, 0x1000), "hello", 5);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 0x1000, 5, iov, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 5);
	assert_memory_equal(iov[0].iov_base, "hello", 5);
	/* the same bytes through the front-end's virtual address */
	n = 0;
	assert_int_equal(vu_mem_translate(m, VU_ADDR_UVA, UVA_A + 0x1000, 5, iov,
					  4, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(iov[0].iov_base, "hello", 5);
	/* and a write through our mapping is seen by the guest */
	memcpy(iov[0].iov_base, "HELLO", 5);
	assert_memory_equal(fg_ptr(&g, 0x1000), "HELLO", 5);
	vu_mem_map_destroy(m);
	fg_destroy(&g);
}

static void test_translate_crossing(void **state)
{
	struct fake_guest g;
	struct vu_mem_map *m;
	struct iovec iov[4];
	unsigned int n = 1; /* appends after an existing entry */
	uint8_t buf[200];

	two_regions(&g);
	m = fg_map(&g);
	for (int i = 0; i < 200; i++)
		*(uint8_t *)fg_ptr(&g, 2 * MiB - 100 + (uint64_t)i) = (uint8_t)i;
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 2 * MiB - 100, 200,
					  iov, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(iov[1].iov_len, 100);
	assert_int_equal(iov[2].iov_len, 100);
	assert_int_equal(*(uint8_t *)iov[1].iov_base, 0);
	assert_int_equal(*(uint8_t *)iov[2].iov_base, 100);
	/* not contiguous for us: no single pointer */
	assert_null(vu_mem_ptr(m, VU_ADDR_GPA, 2 * MiB - 100, 200));
	assert_non_null(vu_mem_ptr(m, VU_ADDR_GPA, 2 * MiB - 100, 100));
	/* a copy crossing the boundary */
	assert_int_equal(vu_mem_read(m, VU_ADDR_GPA, 2 * MiB - 100, buf, 200), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(buf[i], (uint8_t)i);
	/* front-end virtual ranges of the two regions are not adjacent */
	n = 0;
	assert_int_equal(vu_mem_translate(m, VU_ADDR_UVA, UVA_A + 2 * MiB - 1, 2,
					  iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
	vu_mem_map_destroy(m);
	fg_destroy(&g);
}

static void test_translate_limits(void **state)
{
	struct fake_guest g;
	struct vu_mem_map *m;
	struct iovec iov[4];
	unsigned int n = 0;

	two_regions(&g);
	m = fg_map(&g);
	/* up to the last byte is fine, one more is not */
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 4 * MiB - 8, 8, iov, 4,
					  &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 4 * MiB - 8, 9, iov, 4,
					  &n), -EFAULT);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 4 * MiB, 1, iov, 4, &n),
			 -EFAULT);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, UINT64_MAX - 3, 8, iov,
					  4, &n), -EFAULT);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, UINT64_MAX, 1, iov, 4,
					  &n), -EFAULT);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_UVA, 0, 1, iov, 4, &n),
			 -EFAULT);
	/* too few iovecs: nothing stored */
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 2 * MiB - 1, 2, iov, 1,
					  &n), -E2BIG);
	assert_int_equal(n, 0);
	/* zero length: no iovec, no error */
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 99 * MiB, 0, iov, 4,
					  &n), 0);
	assert_int_equal(n, 0);
	assert_null(vu_mem_ptr(m, VU_ADDR_GPA, 0, 0));
	vu_mem_map_destroy(m);
	fg_destroy(&g);
}

static void test_region_validation(void **state)
{
	struct fake_guest g;
	struct vu_mem_region r;
	struct vu_mem_region_desc d = { 0, 1 * MiB, UVA_A, 0 };
	int pipefd[2];

	fg_create(&g, 4 * MiB);
	d.size = 0;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	d.size = 5 * MiB; /* longer than the file: would SIGBUS */
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	d.size = 1 * MiB;
	d.mmap_offset = 3 * MiB + 1;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	d.mmap_offset = 0;
	d.gpa = UINT64_MAX - 100;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	d.gpa = 0;
	d.uaddr = UINT64_MAX;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	d.uaddr = UVA_A;
	d.mmap_offset = UINT64_MAX - 10;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), -EINVAL);
	/* not a file */
	assert_int_equal(pipe(pipefd), 0);
	d.mmap_offset = 0;
	assert_int_equal(vu_mem_region_map(&r, &d, pipefd[0]), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(vu_mem_region_map(&r, &d, -1), -EBADF);
	/* an offset that is not page aligned still maps the right bytes */
	memcpy(g.mem + 0x1234, "xyz", 3);
	d.mmap_offset = 0x1234;
	d.size = 4096;
	assert_int_equal(vu_mem_region_map(&r, &d, g.fd), 0);
	assert_memory_equal(r.host, "xyz", 3);
	vu_mem_region_unmap(&r);
	fg_destroy(&g);
}

static void test_map_add_remove(void **state)
{
	struct fake_guest g;
	struct vu_mem_map *m = vu_mem_map_empty(), *next;
	struct vu_mem_region a, b, c, gone;
	struct vu_mem_region_desc da = { 1 * MiB, 1 * MiB, UVA_A, 0 };
	struct vu_mem_region_desc db = { 0, 1 * MiB, UVA_B, 1 * MiB };
	struct iovec iov;
	unsigned int n = 0;

	fg_create(&g, 4 * MiB);
	assert_int_equal(vu_mem_region_map(&a, &da, g.fd), 0);
	assert_int_equal(vu_mem_region_map(&b, &db, g.fd), 0);
	assert_int_equal(vu_mem_map_add(m, &a, 2, &next), 0);
	vu_mem_map_free(m);
	m = next;
	/* overlaps in guest physical, then in front-end virtual space */
	c = a;
	c.uaddr = UVA_B + 8 * MiB;
	c.gpa = 1 * MiB + 4096;
	assert_int_equal(vu_mem_map_add(m, &c, 8, &next), -EEXIST);
	c.gpa = 64 * MiB;
	c.uaddr = UVA_A + 4096;
	assert_int_equal(vu_mem_map_add(m, &c, 8, &next), -EEXIST);
	/* inserted in order */
	assert_int_equal(vu_mem_map_add(m, &b, 2, &next), 0);
	vu_mem_map_free(m);
	m = next;
	assert_int_equal(m->nregions, 2);
	assert_true(m->regions[0].gpa < m->regions[1].gpa);
	assert_int_equal(vu_mem_map_add(m, &c, 2, &next), -ENOSPC);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 0, 1, &iov, 1, &n), 0);
	/* removal needs guest address, user address and size to match */
	db.size = 4096;
	assert_int_equal(vu_mem_map_remove(m, &db, &next, &gone), -ENOENT);
	db.size = 1 * MiB;
	db.mmap_offset = 12345; /* ignored */
	assert_int_equal(vu_mem_map_remove(m, &db, &next, &gone), 0);
	assert_int_equal(gone.gpa, 0);
	vu_mem_region_unmap(&gone);
	vu_mem_map_free(m);
	m = next;
	n = 0;
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 0, 1, &iov, 1, &n),
			 -EFAULT);
	assert_int_equal(vu_mem_translate(m, VU_ADDR_GPA, 1 * MiB, 1, &iov, 1, &n),
			 0);
	vu_mem_map_destroy(m);
	fg_destroy(&g);
}

/* Many small regions in scrambled order: the binary search finds each. */
static void test_many_regions(void **state)
{
	enum { N = 128, PAGE = 4096 };
	struct fake_guest g;
	struct vu_mem_map *m = vu_mem_map_empty(), *next;

	fg_create(&g, N * PAGE);
	for (unsigned int i = 0; i < N; i++) {
		unsigned int slot = (i * 37) % N; /* 37 is coprime to 128 */
		struct vu_mem_region_desc d = {
			(uint64_t)slot * 2 * PAGE, PAGE,
			UVA_A + (uint64_t)i * PAGE, (uint64_t)i * PAGE };
		struct vu_mem_region r;

		*(uint32_t *)(g.mem + (size_t)i * PAGE) = i;
		assert_int_equal(vu_mem_region_map(&r, &d, g.fd), 0);
		assert_int_equal(vu_mem_map_add(m, &r, VU_MEM_SLOTS_MAX, &next), 0);
		vu_mem_map_free(m);
		m = next;
	}
	for (unsigned int i = 0; i < N; i++) {
		unsigned int slot = (i * 37) % N;
		uint32_t *p = vu_mem_ptr(m, VU_ADDR_GPA,
					 (uint64_t)slot * 2 * PAGE, 4);

		assert_non_null(p);
		assert_int_equal(*p, i);
		/* the gap after each region is unmapped */
		assert_null(vu_mem_ptr(m, VU_ADDR_GPA,
				       (uint64_t)slot * 2 * PAGE + PAGE, 1));
	}
	vu_mem_map_destroy(m);
	fg_destroy(&g);
}

/*
 * Huge pages: mmap offsets must be huge-page aligned, so an unaligned
 * mmap_offset is rounded down to st_blksize.  Skipped without huge pages.
 */
static void test_hugetlb(void **state)
{
	const uint64_t huge = 2 * MiB;
	struct vu_mem_region_desc d = { 0, 1 * MiB, UVA_A, huge + 0x1000 };
	struct vu_mem_region r;
	uint8_t *guest;
	int fd = memfd_create("vu-huge", MFD_CLOEXEC | MFD_HUGETLB);

	if (fd < 0 || ftruncate(fd, (off_t)(2 * huge)) < 0) {
		if (fd >= 0)
			close(fd);
		skip();
	}
	guest = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (guest == MAP_FAILED) {
		close(fd);
		skip(); /* no huge pages reserved on this machine */
	}
	memcpy(guest + huge + 0x1000, "huge", 4);
	assert_int_equal(vu_mem_region_map(&r, &d, fd), 0);
	assert_memory_equal(r.host, "huge", 4);
	assert_int_equal(r.map_len % huge, 0);
	vu_mem_region_unmap(&r);
	munmap(guest, 2 * huge);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_inside),
		cmocka_unit_test(test_translate_crossing),
		cmocka_unit_test(test_translate_limits),
		cmocka_unit_test(test_region_validation),
		cmocka_unit_test(test_map_add_remove),
		cmocka_unit_test(test_many_regions),
		cmocka_unit_test(test_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
