/* SPDX-License-Identifier: MIT */
/* A growable string buffer with printf-style appends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vcalc.h"

void vc_sb_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
}

static int sb_grow(struct strbuf *sb, size_t need)
{
	size_t cap = sb->cap ? sb->cap : 64;
	char *p;

	while (cap < need)
		cap *= 2;
	if (cap == sb->cap)
		return 0;
	p = realloc(sb->buf, cap);
	if (!p)
		return -1;
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

int vc_sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(sb, sb->len + (size_t)n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return n;
}

void vc_sb_free(struct strbuf *sb)
{
	free(sb->buf);
	vc_sb_init(sb);
}
