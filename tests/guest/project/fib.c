/* SPDX-License-Identifier: MIT */
/* Fibonacci numbers modulo m, iteratively. */
#include "vcalc.h"

uint64_t vc_fib_mod(unsigned n, uint64_t mod)
{
	uint64_t a = 0, b = 1 % mod, t;
	unsigned i;

	for (i = 0; i < n; i++) {
		t = (a + b) % mod;
		a = b;
		b = t;
	}
	return a;
}
