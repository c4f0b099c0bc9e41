/* SPDX-License-Identifier: MIT */
/* Merge sort of pseudo-random numbers; the checksum depends on the order. */
#include <stdlib.h>
#include <string.h>

#include "vcalc.h"

static void merge_sort(uint32_t *a, uint32_t *tmp, unsigned n)
{
	unsigned mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(a, tmp, mid);
	merge_sort(a + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
	while (i < mid)
		tmp[k++] = a[i++];
	while (j < n)
		tmp[k++] = a[j++];
	memcpy(a, tmp, n * sizeof(*a));
}

uint64_t vc_sort_checksum(unsigned n, uint32_t seed)
{
	uint32_t *a = malloc(n * sizeof(*a)), *tmp = malloc(n * sizeof(*a));
	uint64_t sum = 0;
	unsigned i;

	if (!a || !tmp) {
		free(a);
		free(tmp);
		return 0;
	}
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		a[i] = seed >> 8;
	}
	merge_sort(a, tmp, n);
	for (i = 0; i < n; i++)
		sum = sum * 31 + a[i];
	free(a);
	free(tmp);
	return sum;
}
