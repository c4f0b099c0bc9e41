/* SPDX-License-Identifier: MIT */
/* Primes below a bound, by the sieve of Eratosthenes. */
#include <stdlib.h>
#include <string.h>

#include "vcalc.h"

unsigned vc_count_primes(unsigned below)
{
	unsigned char *composite;
	unsigned i, j, count = 0;

	if (below < 3)
		return 0;
	composite = calloc(below, 1);
	if (!composite)
		return 0;
	for (i = 2; i < below; i++) {
		if (composite[i])
			continue;
		count++;
		for (j = i * 2; j < below; j += i)
			composite[j] = 1;
	}
	free(composite);
	return count;
}
