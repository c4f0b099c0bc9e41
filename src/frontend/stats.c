// SPDX-License-Identifier: MIT
/* stats.c - histogram queries, CPU time of us and of the daemon, output. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "frontend/stats_internal.h"

uint64_t fe_hist_bucket_low(unsigned int i)
{
	unsigned int shift;

	if (i < FE_HIST_SUB)
		return i;
	shift = i / FE_HIST_SUB - 1;
	return (uint64_t)(FE_HIST_SUB + i % FE_HIST_SUB) << shift;
}

uint64_t fe_hist_bucket_width(unsigned int i)
{
	return i < FE_HIST_SUB ? 1 : 1ull << (i / FE_HIST_SUB - 1);
}

void fe_hist_merge(struct fe_hist *dst, const struct fe_hist *src)
{
	for (unsigned int i = 0; i < FE_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t fe_hist_quantile(const struct fe_hist *h, double q)
{
	uint64_t target, seen = 0;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	target = (uint64_t)(q * (double)h->count);
	if (target == 0)
		target = 1;
	for (unsigned int i = 0; i < FE_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= target) {
			uint64_t mid = fe_hist_bucket_low(i) +
				       fe_hist_bucket_width(i) / 2;

			return mid < h->max ? mid : h->max;
		}
	}
	return h->max;
}

double fe_cpu_self(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

long long fe_cpu_parse_stat(const char *text)
{
	/* "pid (comm) state ppid ... utime stime": comm may contain ") ",
	 * so fields are counted from the last ')'. */
	const char *p = strrchr(text, ')');
	unsigned long long utime, stime;

	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
				" %llu %llu", &utime, &stime) != 2)
		return -1;
	return (long long)(utime + stime);
}

static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return fe_cpu_parse_stat(buf);
}

/* Sum over @pid and its descendants, found through every thread's
 * "children" list. */
static long long cpu_tree_ticks(pid_t pid, int depth)
{
	char path[64];
	long long total = cpu_ticks(pid);
	struct dirent *de;
	DIR *tasks;

	if (total < 0 || depth > 8)
		return total;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	while (tasks && (de = readdir(tasks))) {
		char cpath[128];
		FILE *f;
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%.20s/children",
			 (int)pid, de->d_name);
		f = fopen(cpath, "r");
		while (f && fscanf(f, "%d", &child) == 1) {
			long long c = cpu_tree_ticks(child, depth + 1);

			total += c > 0 ? c : 0;
		}
		if (f)
			fclose(f);
	}
	if (tasks)
		closedir(tasks);
	return total;
}

double fe_cpu_tree(pid_t pid)
{
	long long ticks = cpu_tree_ticks(pid, 0);

	if (ticks < 0)
		return -1;
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static void result_json(FILE *f, const struct fe_result *r, double iops,
			double mibs, double p50, double p99)
{
	fprintf(f, "{\"workload\":\"%s\",\"bs\":%u,\"qd\":%u,\"queues\":%u,"
		   "\"seconds\":%.3f,\"ops\":%llu,\"iops\":%.0f,\"mib_s\":%.2f,"
		   "\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f,"
		   "\"errors\":%llu,\"cpu_s\":%.3f",
		r->workload, r->bs, r->qd, r->queues, r->seconds,
		(unsigned long long)r->ops, iops, mibs, p50, p99,
		(double)r->lat->max / 1000.0, (unsigned long long)r->errors,
		r->cpu_s);
	if (r->daemon_cpu_s >= 0)
		fprintf(f, ",\"daemon_cpu_s\":%.3f", r->daemon_cpu_s);
	if (r->files)
		fprintf(f, ",\"files\":%llu", (unsigned long long)r->files);
	if (r->verified || r->mismatches)
		fprintf(f, ",\"verified_blocks\":%llu,\"mismatches\":%llu",
			(unsigned long long)r->verified,
			(unsigned long long)r->mismatches);
	fprintf(f, ",\"kicks\":%llu,\"calls\":%llu}\n",
		(unsigned long long)r->kicks, (unsigned long long)r->calls);
}

static void result_human(FILE *f, const struct fe_result *r, double iops,
			 double mibs, double p50, double p99)
{
	fprintf(f, "%s bs=%u qd=%u queues=%u: %llu ops in %.2f s, %.0f IOPS, "
		   "%.1f MiB/s, lat p50 %.1f us p99 %.1f us, errors %llu, "
		   "cpu %.2f s",
		r->workload, r->bs, r->qd, r->queues,
		(unsigned long long)r->ops, r->seconds, iops, mibs, p50, p99,
		(unsigned long long)r->errors, r->cpu_s);
	if (r->daemon_cpu_s >= 0)
		fprintf(f, " (daemon %.2f s)", r->daemon_cpu_s);
	if (r->files)
		fprintf(f, ", %llu files", (unsigned long long)r->files);
	if (r->verified || r->mismatches)
		fprintf(f, ", %llu blocks verified, %llu mismatches",
			(unsigned long long)r->verified,
			(unsigned long long)r->mismatches);
	fputc('\n', f);
}

void fe_result_print(FILE *f, const struct fe_result *r, bool json)
{
	double secs = r->seconds > 0 ? r->seconds : 1e-9;
	double iops = (double)r->ops / secs;
	double mibs = (double)r->bytes / secs / (1024.0 * 1024.0);
	double p50 = (double)fe_hist_quantile(r->lat, 0.50) / 1000.0;
	double p99 = (double)fe_hist_quantile(r->lat, 0.99) / 1000.0;

	if (json)
		result_json(f, r, iops, mibs, p50, p99);
	else
		result_human(f, r, iops, mibs, p50, p99);
	fflush(f);
}
