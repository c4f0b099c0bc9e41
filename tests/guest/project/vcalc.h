/* SPDX-License-Identifier: MIT */
/*
 * vcalc - a small C program the test guest builds with make from an image
 * it uses as its working directory (tests/guest/devel.sh).  Each module is
 * a little self-contained computation; main prints one line per module so
 * that the host can compare the guest's output with its own build's.
 */
#ifndef VCALC_H
#define VCALC_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

uint32_t vc_crc32(const void *data, size_t len);
uint64_t vc_fnv1a(const void *data, size_t len);
unsigned vc_count_primes(unsigned below);
uint64_t vc_sort_checksum(unsigned n, uint32_t seed);
size_t vc_base64(const void *data, size_t len, char *out, size_t cap);
int64_t vc_matrix_trace(unsigned n);
void vc_sb_init(struct strbuf *sb);
int vc_sb_addf(struct strbuf *sb, const char *fmt, ...);
void vc_sb_free(struct strbuf *sb);
size_t vc_rle(const char *in, char *out, size_t cap);
uint64_t vc_fib_mod(unsigned n, uint64_t mod);
int vc_file_crc(const char *path, uint32_t *crc, size_t *len);

#endif
