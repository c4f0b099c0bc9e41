// SPDX-License-Identifier: MIT
/* main.c - `vhostfs-bench`, the bench tool on its own (tests use it). */
#include "vhostfs/bench.h"

int main(int argc, char **argv)
{
	return bench_main(argc, argv);
}
