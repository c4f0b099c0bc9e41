/* SPDX-License-Identifier: MIT */
/* Run-length encoding: "aaab" becomes "3a1b". */
#include <stdio.h>
#include <string.h>

#include "vcalc.h"

size_t vc_rle(const char *in, char *out, size_t cap)
{
	size_t o = 0, n = strlen(in), i = 0, run;
	int w;

	while (i < n) {
		run = 1;
		while (i + run < n && in[i + run] == in[i])
			run++;
		w = snprintf(out + o, cap - o, "%zu%c", run, in[i]);
		if (w < 0 || (size_t)w >= cap - o)
			return 0;
		o += (size_t)w;
		i += run;
	}
	if (cap > 0 && o == 0)
		out[0] = '\0';
	return o;
}
