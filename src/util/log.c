// SPDX-License-Identifier: MIT
/* log.c - process-wide leveled logging to stderr. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

#include "vhostfs/log.h"

static _Atomic int current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = LOG_LEVEL_ERROR; i <= LOG_LEVEL_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	/* virtiofsd's names for the two ends of the scale */
	if (strcmp(s, "trace") == 0) {
		*out = LOG_LEVEL_DEBUG;
		return 0;
	}
	if (strcmp(s, "off") == 0) {
		*out = LOG_LEVEL_ERROR;
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&current_level, level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&current_level,
						    memory_order_relaxed);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_get_level())
		return;
	n = snprintf(line, sizeof(line), "vhostfs[%s]: ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* one write per message so that lines from threads do not interleave */
	strcat(line, "\n");
	fputs(line, stderr);
}
