/* SPDX-License-Identifier: MIT */
/* The trace of A*A for an integer matrix A filled from its indices. */
#include <stdlib.h>

#include "vcalc.h"

int64_t vc_matrix_trace(unsigned n)
{
	int64_t *a = malloc((size_t)n * n * sizeof(*a)), trace = 0;
	unsigned i, j;

	if (!a)
		return -1;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			a[i * n + j] = (int64_t)(i * 7 + j * 3) % 11 - 5;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			trace += a[i * n + j] * a[j * n + i];
	free(a);
	return trace;
}
