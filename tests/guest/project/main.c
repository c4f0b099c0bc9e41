/* SPDX-License-Identifier: MIT */
/* vcalc [FILE...]: one line per module, then the CRC-32 of each FILE. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vcalc.h"

static const char text[] = "The quick brown fox jumps over the lazy dog";

static void print_modules(void)
{
	char b64[128], rle[128];

	printf("crc32 %08" PRIx32 "\n", vc_crc32(text, strlen(text)));
	printf("fnv1a %016" PRIx64 "\n", vc_fnv1a(text, strlen(text)));
	printf("primes %u\n", vc_count_primes(200000));
	printf("sort %016" PRIx64 "\n", vc_sort_checksum(50000, 42));
	vc_base64(text, strlen(text), b64, sizeof(b64));
	printf("base64 %s\n", b64);
	printf("matrix %" PRId64 "\n", vc_matrix_trace(60));
	vc_rle("aaabccddddde", rle, sizeof(rle));
	printf("rle %s\n", rle);
	printf("fib %" PRIu64 "\n", vc_fib_mod(100000, 1000000007ull));
}

int main(int argc, char **argv)
{
	struct strbuf sb;
	uint32_t crc;
	size_t len;
	int i, rc = 0;

	print_modules();
	vc_sb_init(&sb);
	for (i = 1; i < argc; i++) {
		if (vc_file_crc(argv[i], &crc, &len) < 0) {
			fprintf(stderr, "vcalc: cannot read %s\n", argv[i]);
			rc = 1;
			continue;
		}
		vc_sb_addf(&sb, "file %s %zu %08" PRIx32 "\n", argv[i], len, crc);
	}
	if (sb.len)
		fputs(sb.buf, stdout);
	vc_sb_free(&sb);
	return rc;
}
