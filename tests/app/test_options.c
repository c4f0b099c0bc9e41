// SPDX-License-Identifier: MIT
/* test_options.c - vhostfsd command-line parsing and validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "app/options_internal.h"

static struct vhostfsd_options opts;
static char err[VHOSTFSD_ERR_MAX];

/* Parse a NULL-terminated argument list (without argv[0]). */
static int parse_list(const char *first, va_list ap)
{
	char *argv[32] = { "vhostfsd" };
	int argc = 1;

	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		argv[argc++] = (char *)a;
	}
	vhostfsd_options_init(&opts);
	err[0] = '\0';
	return vhostfsd_options_parse(&opts, argc, argv, err, sizeof(err));
}

static int parse(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = parse_list(first, ap);
	va_end(ap);
	return rc;
}

/* parse() and validate(), as main() does */
static int parse_valid(const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = parse_list(first, ap);
	va_end(ap);
	return rc < 0 ? rc : vhostfsd_options_validate(&opts, err,
						       sizeof(err));
}

static void assert_err_has(const char *what)
{
	if (!strstr(err, what))
		fail_msg("error '%s' does not mention '%s'", err, what);
	assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_RUN);
	assert_null(opts.shared_dir);
	assert_int_equal(opts.vhost_fd, -1);
	assert_int_equal(opts.cache, FUSE_CACHE_AUTO);
	assert_true(opts.xattr);
	assert_true(opts.posix_acl);
	assert_false(opts.writeback);
	assert_false(opts.readonly);
	assert_int_equal(opts.log_level, LOG_LEVEL_INFO);
	assert_int_equal(opts.inodes, PASSTHROUGH_INODES_AUTO);
	assert_int_equal(opts.nwarnings, 0);
}

static void test_both_long_spellings(void **state)
{
	assert_int_equal(parse_valid("--shared-dir", "/srv", "--fuse-mount=/mnt",
				     "--threads=4", "--queue-depth", "32",
				     NULL), 0);
	assert_string_equal(opts.shared_dir, "/srv");
	assert_string_equal(opts.fuse_mount, "/mnt");
	assert_int_equal(opts.threads, 4);
	assert_int_equal(opts.queue_depth, 32);
}

static void test_o_list(void **state)
{
	assert_int_equal(parse("-o", "source=/a,,b,cache=always,no_xattr",
			       "-olog_level=err", NULL), 0);
	assert_string_equal(opts.shared_dir, "/a,b");
	assert_int_equal(opts.cache, FUSE_CACHE_ALWAYS);
	assert_false(opts.xattr);
	assert_int_equal(opts.log_level, LOG_LEVEL_ERROR);
}

static void test_o_two_sources_stay_valid(void **state)
{
	/* a later -o must not overwrite the buffer an earlier value lives in */
	assert_int_equal(parse("-o", "source=/first", "-o", "writeback", NULL),
			 0);
	assert_string_equal(opts.shared_dir, "/first");
	assert_true(opts.writeback);
}

static void test_o_errors(void **state)
{
	assert_int_equal(parse("-o", "sorce=/x", NULL), -EINVAL);
	assert_err_has("sorce");
	assert_int_equal(parse("-o", "source", NULL), -EINVAL);
	assert_err_has("needs a value");
	assert_int_equal(parse("-o", "xattr=1", NULL), -EINVAL);
	assert_err_has("takes no value");
	assert_int_equal(parse("-o", NULL), -EINVAL);
	assert_err_has("-o");
}

static void test_o_ignored_keys_warn(void **state)
{
	assert_int_equal(parse("-o", "source=/s,flock,no_posix_lock",
			       "--announce-submounts", NULL), 0);
	assert_int_equal(opts.nwarnings, 3);
	assert_non_null(strstr(opts.warnings[0], "flock"));
	assert_non_null(strstr(opts.warnings[2], "announce-submounts"));
}

static void test_cache(void **state)
{
	assert_int_equal(parse("--cache=never", NULL), 0);
	assert_int_equal(opts.cache, FUSE_CACHE_NEVER);
	assert_int_equal(parse("--cache", "metadata", NULL), 0);
	assert_int_equal(opts.cache, FUSE_CACHE_METADATA);
	assert_int_equal(parse("-o", "cache=none", NULL), 0);
	assert_int_equal(opts.cache, FUSE_CACHE_NEVER);
	assert_int_equal(parse("--cache=sometimes", NULL), -EINVAL);
	assert_err_has("--cache");
	assert_err_has("sometimes");
}

static void test_log_level(void **state)
{
	assert_int_equal(parse("--log-level", "debug", NULL), 0);
	assert_int_equal(opts.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(parse("--log-level=trace", NULL), 0);
	assert_int_equal(opts.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(parse("--log-level=off", NULL), 0);
	assert_int_equal(opts.log_level, LOG_LEVEL_ERROR);
	assert_int_equal(parse("-d", NULL), 0);
	assert_int_equal(opts.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(parse("--log-level=loud", NULL), -EINVAL);
	assert_err_has("loud");
}

static void test_numbers(void **state)
{
	assert_int_equal(parse("--thread-pool-size=0", NULL), 0);
	assert_int_equal(opts.thread_pool_size, 0);
	assert_int_equal(parse("--thread-pool-size", "8", NULL), 0);
	assert_int_equal(opts.thread_pool_size, 8);
	assert_int_equal(parse("--thread-pool-size=abc", NULL), -EINVAL);
	assert_int_equal(parse("--thread-pool-size=-1", NULL), -EINVAL);
	assert_int_equal(parse("--threads=0", NULL), -EINVAL);
	assert_int_equal(parse("--threads=65", NULL), -EINVAL);
	assert_int_equal(parse("--queue-depth=1025", NULL), -EINVAL);
	assert_int_equal(parse("--queue-depth=4x", NULL), -EINVAL);
	assert_err_has("--queue-depth");
	assert_int_equal(parse("--fd=3", NULL), 0);
	assert_int_equal(opts.vhost_fd, 3);
	assert_int_equal(parse("--rlimit-nofile=0", NULL), -EINVAL);
	assert_int_equal(parse("--rlimit-nofile", "1048576", NULL), 0);
	assert_int_equal(opts.rlimit_nofile, 1048576);
	assert_int_equal(parse("--thread-pool-size=99999999999999999999",
			       NULL), -EINVAL);
}

static void test_inode_file_handles(void **state)
{
	assert_int_equal(parse("--inode-file-handles", NULL), 0);
	assert_int_equal(opts.inodes, PASSTHROUGH_INODES_AUTO);
	assert_int_equal(parse("--inode-file-handles=never", NULL), 0);
	assert_int_equal(opts.inodes, PASSTHROUGH_INODES_FDS);
	assert_int_equal(parse("--inode-file-handles=mandatory", NULL), 0);
	assert_int_equal(opts.inodes, PASSTHROUGH_INODES_HANDLES);
	assert_int_equal(parse("--inode-file-handles=always", NULL), -EINVAL);
	/* virtiofsd takes the mode only with '=' */
	assert_int_equal(parse("--inode-file-handles", "never", NULL),
			 -EINVAL);
	assert_err_has("never");
}

static void test_sandbox_seccomp(void **state)
{
	assert_int_equal(parse("--sandbox", "chroot", "--seccomp=none", NULL),
			 0);
	assert_int_equal(opts.sandbox, VHOSTFSD_SANDBOX_CHROOT);
	assert_int_equal(opts.seccomp, VHOSTFSD_SECCOMP_NONE);
	assert_int_equal(parse("-o", "sandbox=namespace", NULL), 0);
	assert_int_equal(opts.sandbox, VHOSTFSD_SANDBOX_NAMESPACE);
	assert_int_equal(parse("--sandbox=jail", NULL), -EINVAL);
	assert_int_equal(parse("--seccomp=maybe", NULL), -EINVAL);
}

static void test_flags(void **state)
{
	assert_int_equal(parse("--no-xattr", "--posix-acl", "--readonly",
			       "--writeback", NULL), 0);
	assert_true(opts.xattr); /* --posix-acl implies --xattr */
	assert_true(opts.posix_acl);
	assert_true(opts.readonly);
	assert_true(opts.writeback);
	assert_int_equal(parse("--no-posix-acl", "--no-xattr", NULL), 0);
	assert_false(opts.xattr);
	assert_false(opts.posix_acl);
	assert_int_equal(parse("--xattr=yes", NULL), -EINVAL);
	assert_err_has("takes no value");
}

static void test_actions(void **state)
{
	assert_int_equal(parse_valid("--help", NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_HELP);
	assert_int_equal(parse_valid("-h", NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_HELP);
	assert_int_equal(parse_valid("--version", NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_VERSION);
	assert_int_equal(parse_valid("-V", NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_VERSION);
	assert_int_equal(parse_valid("--print-capabilities", NULL), 0);
	assert_int_equal(opts.action, VHOSTFSD_CAPABILITIES);
}

static void test_bad_arguments(void **state)
{
	assert_int_equal(parse("--frobnicate", NULL), -EINVAL);
	assert_err_has("--frobnicate");
	assert_int_equal(parse("--frobnicate=1", NULL), -EINVAL);
	assert_err_has("'--frobnicate'");
	assert_int_equal(parse("-x", NULL), -EINVAL);
	assert_int_equal(parse("-hx", NULL), -EINVAL);
	assert_int_equal(parse("/srv", NULL), -EINVAL);
	assert_err_has("unexpected argument");
	assert_int_equal(parse("--shared-dir", NULL), -EINVAL);
	assert_err_has("needs a value");
	assert_int_equal(parse("--shared-dir=", NULL), -EINVAL);
	assert_int_equal(parse("-", NULL), -EINVAL);
	assert_int_equal(parse("--", NULL), -EINVAL);
}

static void test_validate(void **state)
{
	assert_int_equal(parse_valid("--fuse-mount", "/mnt", NULL), -EINVAL);
	assert_err_has("--shared-dir");
	assert_int_equal(parse_valid("--shared-dir", "/s", NULL), -EINVAL);
	assert_err_has("--fuse-mount");
	assert_int_equal(parse_valid("--shared-dir", "/s", "--fd=3",
				     "--socket-path=/x", NULL), -EINVAL);
	assert_err_has("mutually exclusive");
	assert_int_equal(parse_valid("--shared-dir", "/s", "--fuse-mount=/m",
				     "--socket-path=/x", NULL), -EINVAL);
	assert_int_equal(parse_valid("-o", "source=/s", "--socket-path=/x",
				     NULL), 0);
	assert_int_equal(parse_valid("--shared-dir=/s", "--fd=4", NULL), 0);
}

static void test_image(void **state)
{
	assert_int_equal(parse_valid("--image", "/i.img", "--socket-path=/x",
				     NULL), 0);
	assert_string_equal(opts.image, "/i.img");
	assert_null(opts.export_name);
	assert_null(opts.shared_dir);
	assert_int_equal(parse_valid("--image=/i.img", "--export", "gold-1.2",
				     "--readonly", "--fuse-mount", "/m", NULL),
			 0);
	assert_string_equal(opts.export_name, "gold-1.2");
	assert_true(opts.readonly);
	assert_int_equal(parse("--image=", NULL), -EINVAL);
	assert_err_has("empty path");
	assert_int_equal(parse("--image", NULL), -EINVAL);
	assert_err_has("needs a value");
	/* export names are checked as the catalog checks them */
	assert_int_equal(parse("--export", "a/b", NULL), -EINVAL);
	assert_err_has("--export");
	assert_int_equal(parse("--export=-x", NULL), -EINVAL);
	assert_int_equal(parse("--export=", NULL), -EINVAL);
	assert_int_equal(parse("--export", "x y", NULL), -EINVAL);
	assert_int_equal(parse_valid("--image=/i", "--shared-dir=/s",
				     "--fd=3", NULL), -EINVAL);
	assert_err_has("mutually exclusive");
	assert_int_equal(parse_valid("-o", "source=/s", "--image=/i",
				     "--fd=3", NULL), -EINVAL);
	assert_err_has("--image");
	assert_int_equal(parse_valid("--shared-dir=/s", "--export=main",
				     "--fd=3", NULL), -EINVAL);
	assert_err_has("--export");
	assert_int_equal(parse_valid("--socket-path=/x", NULL), -EINVAL);
	assert_err_has("--image");
	assert_int_equal(parse_valid("--image=/i", NULL), -EINVAL);
	assert_err_has("--fuse-mount");
}

static void test_libvirt_command_lines(void **state)
{
	/* what libvirt runs with separate-options, and without */
	assert_int_equal(parse_valid("--fd=23", "--shared-dir", "/p",
				     "--cache", "never", "--sandbox", "chroot",
				     "--xattr", "--thread-pool-size=16",
				     "--rlimit-nofile=4096", "--log-level",
				     "debug", NULL), 0);
	assert_int_equal(opts.vhost_fd, 23);
	assert_int_equal(opts.cache, FUSE_CACHE_NEVER);
	assert_int_equal(parse_valid("--fd=23", "-o",
				     "source=/p,cache=always,sandbox=chroot,"
				     "xattr,flock,no_posix_lock",
				     "--thread-pool-size=16", "-d", NULL), 0);
	assert_int_equal(opts.nwarnings, 2);
}

static void test_vhost_user_options(void **state)
{
	assert_int_equal(parse_valid("--shared-dir=/s", "--socket-path=/x",
				     "--queues", "4", "--threads=2", "--poll",
				     NULL), 0);
	assert_int_equal(opts.queues, 4);
	assert_int_equal(opts.threads, 2);
	assert_true(opts.poll);
	assert_int_equal(parse("--queues=0", NULL), -EINVAL);
	assert_int_equal(parse("--queues=65", NULL), -EINVAL);
	assert_err_has("--queues");
	assert_int_equal(parse("--poll=1", NULL), -EINVAL);
	/* request queues and polling mean nothing to /dev/fuse */
	assert_int_equal(parse_valid("--shared-dir=/s", "--fuse-mount=/m",
				     "--queues=2", NULL), -EINVAL);
	assert_err_has("vhost-user");
	assert_int_equal(parse_valid("--shared-dir=/s", "--fuse-mount=/m",
				     "--poll", NULL), -EINVAL);
}

static void test_direct_io(void **state)
{
	assert_int_equal(parse(NULL), 0);
	assert_false(opts.direct_io);
	assert_int_equal(parse("--allow-direct-io", NULL), 0);
	assert_true(opts.direct_io);
	assert_int_equal(opts.nwarnings, 0);
	assert_int_equal(parse("-o", "allow_direct_io", NULL), 0);
	assert_true(opts.direct_io);
	assert_int_equal(parse("-o", "allow_direct_io,no_allow_direct_io",
			       NULL), 0);
	assert_false(opts.direct_io);
}

static void test_kata_command_line(void **state)
{
	/* what Kata's runtime runs, extra args from its configuration */
	assert_int_equal(parse_valid("--syslog", "--cache=auto",
				     "--shared-dir=/run/kata/shared", "--fd=3",
				     "--thread-pool-size=1",
				     "--announce-submounts", NULL), 0);
	assert_int_equal(opts.vhost_fd, 3);
	assert_int_equal(opts.nwarnings, 2);
	/* the old C virtiofsd's form, from older Kata releases */
	assert_int_equal(parse_valid("--syslog", "-o", "cache=auto",
				     "-o", "no_posix_lock", "-o",
				     "source=/run/kata/shared", "--fd=3", "-f",
				     NULL), 0);
	assert_string_equal(opts.shared_dir, "/run/kata/shared");
	assert_int_equal(parse("-fx", NULL), -EINVAL);
}

static void test_capabilities_json(void **state)
{
	assert_non_null(strstr(vhostfsd_capabilities, "\"type\": \"fs\""));
	assert_non_null(strstr(vhostfsd_capabilities, "separate-options"));
	/* we cannot migrate: never claim it */
	assert_null(strstr(vhostfsd_capabilities, "migrate"));
	assert_non_null(strstr(vhostfsd_usage, "--shared-dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_both_long_spellings),
		cmocka_unit_test(test_o_list),
		cmocka_unit_test(test_o_two_sources_stay_valid),
		cmocka_unit_test(test_o_errors),
		cmocka_unit_test(test_o_ignored_keys_warn),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_inode_file_handles),
		cmocka_unit_test(test_sandbox_seccomp),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_libvirt_command_lines),
		cmocka_unit_test(test_vhost_user_options),
		cmocka_unit_test(test_direct_io),
		cmocka_unit_test(test_kata_command_line),
		cmocka_unit_test(test_capabilities_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
