/* SPDX-License-Identifier: MIT */
/* Base64 encoding (RFC 4648, with padding). */
#include "vcalc.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t vc_base64(const void *data, size_t len, char *out, size_t cap)
{
	const unsigned char *p = data;
	size_t i, o = 0;
	uint32_t v;

	if (cap < (len + 2) / 3 * 4 + 1)
		return 0;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}
