// SPDX-License-Identifier: MIT
/* util.c - small memory helpers of the blobstore. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

void *blob_page_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, BLOB_PAGE_SIZE, len ? len : 1) != 0)
		return NULL;
	memset(p, 0, len);
	return p;
}

int blob_array_reserve(void *p, uint32_t *cap, uint32_t need, size_t size)
{
	void **arr = p;
	uint32_t n = *cap ? *cap : 8;
	void *grown;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > UINT32_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	grown = realloc(*arr, (size_t)n * size);
	if (!grown)
		return -ENOMEM;
	*arr = grown;
	*cap = n;
	return 0;
}
