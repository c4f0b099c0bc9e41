// SPDX-License-Identifier: MIT
/* test_options.c - the bench command line, latency histograms, CPU parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/options_internal.h"
#include "frontend/stats_internal.h"

static int parse(struct fe_opts *o, char *msg, int argc, ...)
{
	char *argv[32];
	va_list ap;

	argv[0] = "bench";
	va_start(ap, argc);
	for (int i = 1; i <= argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	fe_opts_default(o);
	msg[0] = '\0';
	return fe_opts_parse(o, argc + 1, argv, msg, 256);
}

static void test_sizes(void **state)
{
	uint64_t v;

	assert_int_equal(fe_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(fe_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(fe_parse_size("128KiB", &v), 0);
	assert_int_equal(v, 128 * 1024);
	assert_int_equal(fe_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(fe_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(fe_parse_size("", &v), -EINVAL);
	assert_int_equal(fe_parse_size("-1", &v), -EINVAL);
	assert_int_equal(fe_parse_size("4x", &v), -EINVAL);
	assert_int_equal(fe_parse_size("99999999999999999999", &v), -EINVAL);
	assert_int_equal(fe_parse_size("17179869184G", &v), -EINVAL);
}

static void test_defaults_and_values(void **state)
{
	struct fe_opts o;
	char msg[256];

	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket", "/s"), 0);
	assert_int_equal(o.workload, FE_WL_SMOKE);
	assert_string_equal(o.socket, "/s");
	assert_int_equal(o.bs, 4096);
	assert_int_equal(o.qd, 1);
	assert_int_equal(o.layout, FE_LAYOUT_LINUX);
	assert_int_equal(parse(&o, msg, 13, "--socket=/x", "randread",
			       "--bs", "128k", "--qd=32", "--queues", "4",
			       "--size", "256M", "--json", "--layout", "scatter",
			       "--daemon-pid=123"), 0);
	assert_int_equal(o.workload, FE_WL_RANDREAD);
	assert_int_equal(o.bs, 131072);
	assert_int_equal(o.qd, 32);
	assert_int_equal(o.queues, 4);
	assert_int_equal(o.size, 256ull << 20);
	assert_true(o.json);
	assert_int_equal(o.layout, FE_LAYOUT_SCATTER);
	assert_int_equal(o.daemon_pid, 123);
	assert_int_equal(parse(&o, msg, 4, "meta", "--socket", "/s", "--poll"), 0);
	assert_true(o.poll);
	assert_false(o.direct);
	assert_int_equal(parse(&o, msg, 6, "smallfile", "--socket", "/s",
			       "--files", "5", "--direct"), 0);
	assert_int_equal(o.workload, FE_WL_SMALLFILE);
	assert_int_equal(o.files, 5);
	assert_true(o.direct);
	assert_true(parse(&o, msg, 1, "--help") == 1);
}

static void test_errors(void **state)
{
	struct fe_opts o;
	char msg[256];

	assert_int_equal(parse(&o, msg, 2, "--socket", "/s"), -EINVAL);
	assert_non_null(strstr(msg, "workload"));
	assert_int_equal(parse(&o, msg, 1, "smoke"), -EINVAL);
	assert_non_null(strstr(msg, "--socket"));
	assert_int_equal(parse(&o, msg, 2, "smoke", "--socket"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "meta", "--socket=/s"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 2, "bogus", "--socket=/s"), -EINVAL);
	assert_int_equal(parse(&o, msg, 2, "smoke", "--sockets=/s"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s", "--json=1"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s", "--qd=0"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s", "--qd=-3"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--queue-size=1000"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--queues=65"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--runtime=0"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--buf-offset=4096"), -EINVAL);
	assert_int_equal(parse(&o, msg, 4, "randread", "--socket=/s",
			       "--bs=1M", "--size=64k"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "verify", "--socket=/s", "--bs=100"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "verify", "--socket=/s", "--reuse"),
			 -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smallfile", "--socket=/s",
			       "--files=0"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--direct=1"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--layout=weird"), -EINVAL);
	assert_int_equal(parse(&o, msg, 3, "smoke", "--socket=/s",
			       "--log-level=loud"), -EINVAL);
}

static void test_hist_buckets(void **state)
{
	/* every value lands in a bucket whose range holds it */
	for (uint64_t v = 0; v < 100000; v = v * 3 / 2 + 1) {
		unsigned int i = fe_hist_index(v);

		assert_true(i < FE_HIST_BUCKETS);
		assert_true(fe_hist_bucket_low(i) <= v);
		assert_true(v < fe_hist_bucket_low(i) + fe_hist_bucket_width(i));
	}
	assert_true(fe_hist_index(UINT64_MAX) < FE_HIST_BUCKETS);
	assert_int_equal(fe_hist_index(15), 15);
	assert_int_equal(fe_hist_index(16), 16);
	assert_int_equal(fe_hist_bucket_low(fe_hist_index(1000)), 992);
}

static void test_hist_quantiles(void **state)
{
	struct fe_hist *h = calloc(1, sizeof(*h));
	struct fe_hist *m = calloc(1, sizeof(*m));
	uint64_t p50, p99;

	assert_int_equal(fe_hist_quantile(h, 0.5), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		fe_hist_add(h, v * 1000); /* 1 us .. 1 ms */
	p50 = fe_hist_quantile(h, 0.50);
	p99 = fe_hist_quantile(h, 0.99);
	assert_true(p50 > 500000 * 0.93 && p50 < 500000 * 1.07);
	assert_true(p99 > 990000 * 0.93 && p99 <= 1000000);
	assert_int_equal(fe_hist_quantile(h, 1.0), 1000000);
	fe_hist_merge(m, h);
	fe_hist_merge(m, h);
	assert_int_equal(m->count, 2000);
	assert_int_equal(m->max, 1000000);
	assert_int_equal(fe_hist_quantile(m, 0.5), p50);
	free(h);
	free(m);
}

static void test_cpu_stat_parse(void **state)
{
	/* a command name with spaces and parentheses */
	const char *line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 "
			   "100 0 0 0 250 50 0 0 20 0 1 0 100 0 0";

	assert_int_equal(fe_cpu_parse_stat(line), 300);
	assert_int_equal(fe_cpu_parse_stat("garbage"), -1);
	assert_int_equal(fe_cpu_parse_stat("1 (x) S 1 2"), -1);
	assert_true(fe_cpu_self() >= 0);
	assert_true(fe_cpu_tree(getpid()) >= 0);
	assert_true(fe_cpu_tree(0x7ffffff0) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_quantiles),
		cmocka_unit_test(test_cpu_stat_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
