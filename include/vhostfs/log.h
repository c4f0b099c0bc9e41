/* SPDX-License-Identifier: MIT */
/*
 * log.h - one logging channel for the daemon and the tools.
 *
 * Messages go to stderr with a level prefix.  The level is process-wide and
 * set once at start-up (--log-level); the check is a relaxed load, so a
 * disabled debug message costs a branch on the hot path.
 */
#ifndef VHOSTFS_LOG_H
#define VHOSTFS_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Parse "error", "warn", "info", "debug" (and virtiofsd's "trace", "off"). */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                   \
	do {                                                             \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                  \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);           \
	} while (0)

#endif /* VHOSTFS_LOG_H */
