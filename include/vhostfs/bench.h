/* SPDX-License-Identifier: MIT */
/*
 * bench.h - `vhostfs bench`: a vhost-user front-end that plays QEMU and the
 * Linux virtio-fs guest driver against a virtio-fs daemon (vhostfsd, or any
 * vhost-user-fs back-end such as virtiofsd), to measure and test it without
 * a VM.
 *
 *   vhostfs bench WORKLOAD --socket PATH [--bs SIZE] [--qd N] [--queues N]
 *                 [--runtime SEC] [--size SIZE] [--file NAME] [--json] ...
 *
 * Workloads: smoke, verify, randread, randwrite, seqread, seqwrite, meta.
 * `vhostfs bench --help` lists every option.
 */
#ifndef VHOSTFS_BENCH_H
#define VHOSTFS_BENCH_H

/*
 * Run the tool.  argv[0] is the program or subcommand name.  Returns the
 * process exit status: 0 success; 1 a failed run (protocol violation,
 * errors, verify mismatch, daemon hung or gone); 2 bad command line.
 */
int bench_main(int argc, char **argv);

#endif /* VHOSTFS_BENCH_H */
