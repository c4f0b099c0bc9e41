// SPDX-License-Identifier: MIT
/*
 * options.c - vhostfsd's command line.
 *
 * Three spellings are accepted, as virtiofsd users write them:
 *   --name value, --name=value   (virtiofsd >= 1.0, libvirt "separate-options")
 *   -o key[=value][,key...]      (the old C virtiofsd; libvirt's fallback; a
 *                                 ',' inside a value is written ',,')
 * Unknown options and unknown -o keys are errors: a misspelt option that is
 * silently ignored (say, a read-only request) is worse than a refused start.
 * virtiofsd options that we know but do not implement are accepted with a
 * warning, so that existing command lines keep working.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/image_internal.h"
#include "app/options_internal.h"

struct vhostfsd_opt {
	const char *name; /* long name without "--" */
	enum { OPT_FLAG, OPT_VALUE, OPT_OPTIONAL } arg;
	int (*apply)(struct vhostfsd_options *o, const char *name,
		     const char *val, char *err, size_t errlen);
};

static int opt_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void opt_warn(struct vhostfsd_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void opt_warn(struct vhostfsd_options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->nwarnings >= VHOSTFSD_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(o->warnings[o->nwarnings++], VHOSTFSD_ERR_MAX, fmt, ap);
	va_end(ap);
}

/* --- value parsers -------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *name, const char *s, unsigned int min,
		      unsigned int max, unsigned int *out, char *err,
		      size_t errlen)
{
	uint64_t v;

	if (parse_u64(s, max, &v) < 0 || v < min)
		return opt_fail(err, errlen, "%s: '%s' is not a number in "
				"[%u, %u]", name, s, min, max);
	*out = (unsigned int)v;
	return 0;
}

/* Find @s in a NULL-terminated list of names; its index or -1. */
static int parse_choice(const char *s, const char *const *names)
{
	for (int i = 0; names[i]; i++) {
		if (strcmp(s, names[i]) == 0)
			return i;
	}
	return -1;
}

static int parse_cache(const char *name, const char *s,
		       enum fuse_cache_mode *out, char *err, size_t errlen)
{
	static const char *const names[] = { "auto", "always", "metadata",
					     "never", "none", NULL };
	static const enum fuse_cache_mode modes[] = {
		FUSE_CACHE_AUTO, FUSE_CACHE_ALWAYS, FUSE_CACHE_METADATA,
		FUSE_CACHE_NEVER, FUSE_CACHE_NEVER, /* "none": old C spelling */
	};
	int i = parse_choice(s, names);

	if (i < 0)
		return opt_fail(err, errlen, "%s: '%s' is not one of auto, "
				"always, metadata, never", name, s);
	*out = modes[i];
	return 0;
}

static int parse_log_level(const char *name, const char *s,
			   enum log_level *out, char *err, size_t errlen)
{
	/* "err" is the old C virtiofsd's spelling */
	if (strcmp(s, "err") == 0)
		s = "error";
	if (log_level_parse(s, out) < 0)
		return opt_fail(err, errlen, "%s: '%s' is not one of error, "
				"warn, info, debug, trace, off", name, s);
	return 0;
}

/* --- long options --------------------------------------------------------- */

static int apply_shared_dir(struct vhostfsd_options *o, const char *name,
			    const char *val, char *err, size_t errlen)
{
	if (!*val)
		return opt_fail(err, errlen, "%s: empty path", name);
	o->shared_dir = val;
	return 0;
}

static int apply_image(struct vhostfsd_options *o, const char *name,
		       const char *val, char *err, size_t errlen)
{
	if (!*val)
		return opt_fail(err, errlen, "%s: empty path", name);
	o->image = val;
	return 0;
}

static int apply_export(struct vhostfsd_options *o, const char *name,
			const char *val, char *err, size_t errlen)
{
	if (vimage_name_check(val) < 0)
		return opt_fail(err, errlen, "%s: '%s' is not a file-system "
				"name (1 to %d of A-Z a-z 0-9 . _ -, not "
				"starting with '-' or '.')", name, val,
				VIMAGE_NAME_MAX);
	o->export_name = val;
	return 0;
}

static int apply_fuse_mount(struct vhostfsd_options *o, const char *name,
			    const char *val, char *err, size_t errlen)
{
	if (!*val)
		return opt_fail(err, errlen, "%s: empty path", name);
	o->fuse_mount = val;
	return 0;
}

static int apply_socket_path(struct vhostfsd_options *o, const char *name,
			     const char *val, char *err, size_t errlen)
{
	if (!*val)
		return opt_fail(err, errlen, "%s: empty path", name);
	o->socket_path = val;
	return 0;
}

static int apply_fd(struct vhostfsd_options *o, const char *name,
		    const char *val, char *err, size_t errlen)
{
	unsigned int fd = 0;
	int rc = parse_uint(name, val, 0, 1u << 20, &fd, err, errlen);

	if (rc == 0)
		o->vhost_fd = (int)fd;
	return rc;
}

static int apply_cache(struct vhostfsd_options *o, const char *name,
		       const char *val, char *err, size_t errlen)
{
	return parse_cache(name, val, &o->cache, err, errlen);
}

static int apply_log_level(struct vhostfsd_options *o, const char *name,
			   const char *val, char *err, size_t errlen)
{
	return parse_log_level(name, val, &o->log_level, err, errlen);
}

static int apply_thread_pool_size(struct vhostfsd_options *o,
				  const char *name, const char *val, char *err,
				  size_t errlen)
{
	return parse_uint(name, val, 0, 1024, &o->thread_pool_size, err,
			  errlen);
}

static int apply_threads(struct vhostfsd_options *o, const char *name,
			 const char *val, char *err, size_t errlen)
{
	return parse_uint(name, val, 1, 64, &o->threads, err, errlen);
}

static int apply_queues(struct vhostfsd_options *o, const char *name,
			const char *val, char *err, size_t errlen)
{
	return parse_uint(name, val, 1, VHOSTFSD_QUEUES_MAX, &o->queues, err,
			  errlen);
}

static int apply_queue_depth(struct vhostfsd_options *o, const char *name,
			     const char *val, char *err, size_t errlen)
{
	return parse_uint(name, val, 1, 1024, &o->queue_depth, err, errlen);
}

static int apply_rlimit_nofile(struct vhostfsd_options *o, const char *name,
			       const char *val, char *err, size_t errlen)
{
	if (parse_u64(val, UINT64_MAX, &o->rlimit_nofile) < 0 ||
	    o->rlimit_nofile == 0)
		return opt_fail(err, errlen, "%s: '%s' is not a positive "
				"number", name, val);
	return 0;
}

static int apply_inode_file_handles(struct vhostfsd_options *o,
				    const char *name, const char *val,
				    char *err, size_t errlen)
{
	static const char *const names[] = { "never", "prefer", "mandatory",
					     NULL };
	static const enum passthrough_inode_mode modes[] = {
		PASSTHROUGH_INODES_FDS, PASSTHROUGH_INODES_AUTO,
		PASSTHROUGH_INODES_HANDLES,
	};
	int i;

	/* virtiofsd: a bare --inode-file-handles means "prefer" */
	if (!val)
		val = "prefer";
	i = parse_choice(val, names);
	if (i < 0)
		return opt_fail(err, errlen, "%s: '%s' is not one of never, "
				"prefer, mandatory", name, val);
	o->inodes = modes[i];
	return 0;
}

static int apply_sandbox(struct vhostfsd_options *o, const char *name,
			 const char *val, char *err, size_t errlen)
{
	static const char *const names[] = { "namespace", "chroot", "none",
					     NULL };
	int i = parse_choice(val, names);

	if (i < 0)
		return opt_fail(err, errlen, "%s: '%s' is not one of "
				"namespace, chroot, none", name, val);
	o->sandbox = (enum vhostfsd_sandbox)i;
	return 0;
}

static int apply_seccomp(struct vhostfsd_options *o, const char *name,
			 const char *val, char *err, size_t errlen)
{
	static const char *const names[] = { "kill", "log", "trap", "none",
					     NULL };
	int i = parse_choice(val, names);

	if (i < 0)
		return opt_fail(err, errlen, "%s: '%s' is not one of kill, "
				"log, trap, none", name, val);
	o->seccomp = (enum vhostfsd_seccomp)i;
	return 0;
}

#define OPT_BOOL_SETTER(fn, field, value)                                   \
	static int fn(struct vhostfsd_options *o, const char *name,         \
		      const char *val, char *err, size_t errlen)            \
	{                                                                   \
		o->field = value;                                           \
		return 0;                                                   \
	}

OPT_BOOL_SETTER(apply_xattr, xattr, true)
OPT_BOOL_SETTER(apply_no_xattr, xattr, false)
OPT_BOOL_SETTER(apply_writeback, writeback, true)
OPT_BOOL_SETTER(apply_no_writeback, writeback, false)
OPT_BOOL_SETTER(apply_readonly, readonly, true)
OPT_BOOL_SETTER(apply_poll, poll, true)
OPT_BOOL_SETTER(apply_direct_io, direct_io, true)
OPT_BOOL_SETTER(apply_no_direct_io, direct_io, false)
OPT_BOOL_SETTER(apply_no_posix_acl, posix_acl, false)

static int apply_posix_acl(struct vhostfsd_options *o, const char *name,
			   const char *val, char *err, size_t errlen)
{
	/* ACLs are xattrs: as in virtiofsd, asking for them implies --xattr */
	o->posix_acl = true;
	o->xattr = true;
	return 0;
}

/* @name: "help", "--help", "h", ... (dashes are skipped) */
static int apply_action(struct vhostfsd_options *o, const char *name)
{
	name += strspn(name, "-");
	if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0)
		o->action = VHOSTFSD_HELP;
	else if (strcmp(name, "version") == 0 || strcmp(name, "V") == 0)
		o->action = VHOSTFSD_VERSION;
	else
		o->action = VHOSTFSD_CAPABILITIES;
	return 0;
}

static int apply_action_opt(struct vhostfsd_options *o, const char *name,
			    const char *val, char *err, size_t errlen)
{
	return apply_action(o, name);
}

static int apply_ignored(struct vhostfsd_options *o, const char *name,
			 const char *val, char *err, size_t errlen)
{
	opt_warn(o, "%s is accepted for virtiofsd compatibility and ignored",
		 name);
	return 0;
}

static const struct vhostfsd_opt vhostfsd_long_opts[] = {
	{ "shared-dir", OPT_VALUE, apply_shared_dir },
	{ "image", OPT_VALUE, apply_image },
	{ "export", OPT_VALUE, apply_export },
	{ "fuse-mount", OPT_VALUE, apply_fuse_mount },
	{ "socket-path", OPT_VALUE, apply_socket_path },
	{ "fd", OPT_VALUE, apply_fd },
	{ "cache", OPT_VALUE, apply_cache },
	{ "xattr", OPT_FLAG, apply_xattr },
	{ "no-xattr", OPT_FLAG, apply_no_xattr },
	{ "posix-acl", OPT_FLAG, apply_posix_acl },
	{ "no-posix-acl", OPT_FLAG, apply_no_posix_acl },
	{ "writeback", OPT_FLAG, apply_writeback },
	{ "readonly", OPT_FLAG, apply_readonly },
	{ "log-level", OPT_VALUE, apply_log_level },
	{ "thread-pool-size", OPT_VALUE, apply_thread_pool_size },
	{ "threads", OPT_VALUE, apply_threads },
	{ "queue-depth", OPT_VALUE, apply_queue_depth },
	{ "queues", OPT_VALUE, apply_queues },
	{ "poll", OPT_FLAG, apply_poll },
	{ "allow-direct-io", OPT_FLAG, apply_direct_io },
	{ "rlimit-nofile", OPT_VALUE, apply_rlimit_nofile },
	{ "inode-file-handles", OPT_OPTIONAL, apply_inode_file_handles },
	{ "sandbox", OPT_VALUE, apply_sandbox },
	{ "seccomp", OPT_VALUE, apply_seccomp },
	{ "help", OPT_FLAG, apply_action_opt },
	{ "version", OPT_FLAG, apply_action_opt },
	{ "print-capabilities", OPT_FLAG, apply_action_opt },
	/* virtiofsd flags without an effect here (see the file comment) */
	{ "announce-submounts", OPT_FLAG, apply_ignored },
	{ "syslog", OPT_FLAG, apply_ignored },
	{ "no-readdirplus", OPT_FLAG, apply_ignored },
	{ "killpriv-v2", OPT_FLAG, apply_ignored },
	{ "no-killpriv-v2", OPT_FLAG, apply_ignored },
};

static const struct vhostfsd_opt *opt_find(const struct vhostfsd_opt *tab,
					   size_t n, const char *name,
					   size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(tab[i].name) == len &&
		    memcmp(tab[i].name, name, len) == 0)
			return &tab[i];
	}
	return NULL;
}

/* --- -o key[=value],... ----------------------------------------------------- */

static const struct vhostfsd_opt vhostfsd_o_keys[] = {
	{ "source", OPT_VALUE, apply_shared_dir },
	{ "cache", OPT_VALUE, apply_cache },
	{ "xattr", OPT_FLAG, apply_xattr },
	{ "no_xattr", OPT_FLAG, apply_no_xattr },
	{ "posix_acl", OPT_FLAG, apply_posix_acl },
	{ "no_posix_acl", OPT_FLAG, apply_no_posix_acl },
	{ "writeback", OPT_FLAG, apply_writeback },
	{ "no_writeback", OPT_FLAG, apply_no_writeback },
	{ "allow_direct_io", OPT_FLAG, apply_direct_io },
	{ "no_allow_direct_io", OPT_FLAG, apply_no_direct_io },
	{ "log_level", OPT_VALUE, apply_log_level },
	{ "sandbox", OPT_VALUE, apply_sandbox },
	{ "seccomp", OPT_VALUE, apply_seccomp },
	/* old C virtiofsd keys without an effect here */
	{ "flock", OPT_FLAG, apply_ignored },
	{ "no_flock", OPT_FLAG, apply_ignored },
	{ "posix_lock", OPT_FLAG, apply_ignored },
	{ "no_posix_lock", OPT_FLAG, apply_ignored },
	{ "readdirplus", OPT_FLAG, apply_ignored },
	{ "no_readdirplus", OPT_FLAG, apply_ignored },
	{ "announce_submounts", OPT_FLAG, apply_ignored },
	{ "killpriv_v2", OPT_FLAG, apply_ignored },
	{ "no_killpriv_v2", OPT_FLAG, apply_ignored },
	{ "norace", OPT_FLAG, apply_ignored },
	{ "timeout", OPT_VALUE, apply_ignored },
};

/*
 * Cut the next item of an -o list out of @*pos into @buf, turning ",," into
 * ','.  Returns its length, or -EINVAL when @buf is too small.
 */
static int o_item_next(const char **pos, char *buf, size_t size)
{
	const char *p = *pos;
	size_t n = 0;

	if (size == 0)
		return -EINVAL;
	while (*p) {
		char c = *p;

		if (c == ',') {
			if (p[1] != ',') {
				p++;
				break;
			}
			p++; /* ",," stands for one literal ',' */
		}
		p++;
		if (n + 1 >= size)
			return -EINVAL;
		buf[n++] = c;
	}
	buf[n] = '\0';
	*pos = p;
	return (int)n;
}

static int o_item_apply(struct vhostfsd_options *o, char *item, char *err,
			size_t errlen)
{
	size_t n = sizeof(vhostfsd_o_keys) / sizeof(vhostfsd_o_keys[0]);
	char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : strlen(item);
	const struct vhostfsd_opt *opt = opt_find(vhostfsd_o_keys, n, item,
						  klen);
	char name[64];

	if (!opt)
		return opt_fail(err, errlen, "unknown -o option '%.*s' (see "
				"--help)", (int)klen, item);
	snprintf(name, sizeof(name), "-o %s", opt->name);
	if (opt->arg == OPT_VALUE && !eq)
		return opt_fail(err, errlen, "%s needs a value", name);
	if (opt->arg == OPT_FLAG && eq)
		return opt_fail(err, errlen, "%s takes no value", name);
	return opt->apply(o, name, eq ? eq + 1 : NULL, err, errlen);
}

/*
 * Apply one -o list.  Each item is copied into o->source_buf at the next
 * free place, so that "source=" values (with ",," unescaped) stay valid.
 */
static int o_list_apply(struct vhostfsd_options *o, const char *list,
			size_t *used, char *err, size_t errlen)
{
	while (*list) {
		char *item = o->source_buf + *used;
		int len = o_item_next(&list, item,
				      sizeof(o->source_buf) - *used);
		int rc;

		if (len < 0)
			return opt_fail(err, errlen, "-o: option list too "
					"long");
		if (len == 0)
			continue;
		rc = o_item_apply(o, item, err, errlen);
		if (rc < 0)
			return rc;
		*used += (size_t)len + 1;
	}
	return 0;
}

/* --- argv walk ------------------------------------------------------------ */

struct argv_walk {
	int argc;
	char *const *argv;
	int i;       /* index of the next argument */
	size_t used; /* of o->source_buf */
};

static int long_apply(struct vhostfsd_options *o, struct argv_walk *w,
		      const char *arg, char *err, size_t errlen)
{
	size_t n = sizeof(vhostfsd_long_opts) / sizeof(vhostfsd_long_opts[0]);
	const char *body = arg + 2;
	const char *eq = strchr(body, '=');
	size_t len = eq ? (size_t)(eq - body) : strlen(body);
	const struct vhostfsd_opt *opt = opt_find(vhostfsd_long_opts, n, body,
						  len);
	const char *val = eq ? eq + 1 : NULL;
	char name[64];

	if (!opt)
		return opt_fail(err, errlen, "unknown option '%.*s' (see "
				"--help)", (int)len + 2, arg);
	snprintf(name, sizeof(name), "--%s", opt->name);
	if (opt->arg == OPT_FLAG && eq)
		return opt_fail(err, errlen, "%s takes no value", name);
	if (opt->arg == OPT_VALUE && !eq) {
		if (w->i >= w->argc)
			return opt_fail(err, errlen, "%s needs a value", name);
		val = w->argv[w->i++];
	}
	return opt->apply(o, name, val, err, errlen);
}

static int short_apply(struct vhostfsd_options *o, struct argv_walk *w,
		       const char *arg, char *err, size_t errlen)
{
	const char *val;

	switch (arg[1]) {
	case 'h':
	case 'V':
		if (arg[2])
			break;
		return apply_action(o, arg + 1);
	case 'd':
		if (arg[2])
			break;
		o->log_level = LOG_LEVEL_DEBUG; /* old virtiofsd's debug flag */
		return 0;
	case 'f':
		/* old virtiofsd's "foreground": we never daemonize */
		if (arg[2])
			break;
		return 0;
	case 'o':
		val = arg[2] ? arg + 2 : NULL;
		if (!val && w->i >= w->argc)
			return opt_fail(err, errlen, "-o needs a value");
		if (!val)
			val = w->argv[w->i++];
		return o_list_apply(o, val, &w->used, err, errlen);
	default:
		break;
	}
	return opt_fail(err, errlen, "unknown option '%s' (see --help)", arg);
}

void vhostfsd_options_init(struct vhostfsd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->vhost_fd = -1;
	o->cache = FUSE_CACHE_AUTO;
	/* unlike virtiofsd, xattrs (and so ACLs, labels) work by default */
	o->xattr = true;
	o->posix_acl = true;
	o->log_level = LOG_LEVEL_INFO;
	o->inodes = PASSTHROUGH_INODES_AUTO;
}

int vhostfsd_options_parse(struct vhostfsd_options *o, int argc,
			   char *const argv[], char *err, size_t errlen)
{
	struct argv_walk w = { .argc = argc, .argv = argv, .i = 1 };

	while (w.i < argc) {
		const char *arg = argv[w.i++];
		int rc;

		if (arg[0] == '-' && arg[1] == '-' && arg[2])
			rc = long_apply(o, &w, arg, err, errlen);
		else if (arg[0] == '-' && arg[1] && arg[1] != '-')
			rc = short_apply(o, &w, arg, err, errlen);
		else
			rc = opt_fail(err, errlen, "unexpected argument '%s' "
				      "(see --help)", arg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vhostfsd_options_validate(const struct vhostfsd_options *o, char *err,
			      size_t errlen)
{
	bool vhost = o->socket_path || o->vhost_fd >= 0;

	if (o->action != VHOSTFSD_RUN)
		return 0;
	if (o->shared_dir && o->image)
		return opt_fail(err, errlen, "--shared-dir and --image are "
				"mutually exclusive");
	if (!o->shared_dir && !o->image)
		return opt_fail(err, errlen, "--shared-dir DIR (or -o "
				"source=DIR) or --image FILE is required");
	if (o->export_name && !o->image)
		return opt_fail(err, errlen, "--export applies to --image "
				"only");
	if (o->socket_path && o->vhost_fd >= 0)
		return opt_fail(err, errlen, "--socket-path and --fd are "
				"mutually exclusive");
	if (vhost && o->fuse_mount)
		return opt_fail(err, errlen, "--fuse-mount cannot be combined "
				"with --socket-path or --fd");
	if (!vhost && !o->fuse_mount)
		return opt_fail(err, errlen, "one of --socket-path PATH, --fd "
				"N or --fuse-mount MNT is required");
	if (!vhost && (o->queues || o->poll))
		return opt_fail(err, errlen, "--queues and --poll apply to "
				"vhost-user (--socket-path or --fd) only");
	return 0;
}

/* libvirt reads this to learn our command-line dialect: claim only facts. */
const char vhostfsd_capabilities[] =
	"{\n"
	"  \"type\": \"fs\",\n"
	"  \"features\": [\n"
	"    \"separate-options\"\n"
	"  ]\n"
	"}\n";

const char vhostfsd_usage[] =
	"Usage: vhostfsd (--shared-dir DIR | --image FILE [--export NAME])\n"
	"                (--socket-path PATH | --fd N | --fuse-mount MNT) [OPTIONS]\n"
	"\n"
	"Serve the host directory DIR, or a file system of the vhostfs image FILE\n"
	"(made with vhostfs mkfs), to a FUSE client: a virtio-fs guest through\n"
	"vhost-user (--socket-path, --fd: QEMU's vhost-user-fs-pci device), or the\n"
	"local kernel (--fuse-mount).  One transport per process.  A vhost-user\n"
	"daemon serves one front-end at a time and listens again after it\n"
	"disconnects; SIGTERM or SIGINT stops it.\n"
	"\n"
	"  --shared-dir DIR          directory to share (also: -o source=DIR)\n"
	"  --image FILE              serve a file system of the image FILE (a file\n"
	"                            or block device; locked while served)\n"
	"  --export NAME             which file system of FILE (default: main); a\n"
	"                            snapshot is served with --readonly only\n"
	"  --socket-path PATH        vhost-user socket to listen on (a stale\n"
	"                            socket there is replaced)\n"
	"  --fd N                    vhost-user socket inherited on fd N (listening,\n"
	"                            as libvirt passes it, or one connection)\n"
	"  --fuse-mount MNT          mount the share at MNT over /dev/fuse (root)\n"
	"  --queues N                vhost-user request queues offered (default 1;\n"
	"                            at most 64; QEMU: num-request-queues=N)\n"
	"  --threads N               reactor threads: /dev/fuse channels (default\n"
	"                            2), or vhost-user request-queue threads\n"
	"                            (default and at most: --queues)\n"
	"  --queue-depth N           requests in flight per /dev/fuse thread\n"
	"                            (default 16) or per virtqueue (default 256)\n"
	"  --poll                    vhost-user: busy-poll the rings instead of\n"
	"                            waiting for kicks (one busy core per thread)\n"
	"  --cache MODE              auto (default), always, metadata, never\n"
	"  --xattr / --no-xattr      serve extended attributes (default: on)\n"
	"  --posix-acl / --no-posix-acl\n"
	"                            keep POSIX ACLs working (default: on;\n"
	"                            --posix-acl implies --xattr)\n"
	"  --writeback               let the client cache writes (writeback cache)\n"
	"  --readonly                refuse every change to the share (an image's\n"
	"                            file system is mounted read-only)\n"
	"  --allow-direct-io         open files O_DIRECT on the host when the\n"
	"                            client does (default: dropped, as virtiofsd;\n"
	"                            then unaligned O_DIRECT I/O works)\n"
	"  --inode-file-handles[=MODE]\n"
	"                            never: one O_PATH fd per inode; prefer (the\n"
	"                            default, and the bare flag): file handles when\n"
	"                            the host fs has them; mandatory: fail without\n"
	"  --thread-pool-size N      threads for blocking syscalls (0 = one per CPU)\n"
	"  --rlimit-nofile N         set RLIMIT_NOFILE to N\n"
	"  --log-level LEVEL         error, warn, info (default), debug, trace, off\n"
	"  -d                        same as --log-level debug\n"
	"  -f                        foreground (accepted: vhostfsd always is)\n"
	"  --sandbox MODE            namespace, chroot, none: accepted and checked,\n"
	"                            no effect yet (paths are confined by the\n"
	"                            passthrough back-end itself)\n"
	"  --seccomp MODE            kill, log, trap, none: accepted and checked,\n"
	"                            no effect yet\n"
	"  -o KEY[=VALUE][,...]      old virtiofsd spelling: source, cache, xattr,\n"
	"                            no_xattr, posix_acl, no_posix_acl, writeback,\n"
	"                            no_writeback, allow_direct_io,\n"
	"                            no_allow_direct_io, log_level, sandbox,\n"
	"                            seccomp;\n"
	"                            ',' inside a value is written ',,'\n"
	"  --print-capabilities      print the vhost-user capabilities (JSON)\n"
	"  -h, --help                print this help\n"
	"  -V, --version             print the version\n"
	"\n"
	"virtiofsd options without an effect here are accepted with a warning:\n"
	"--announce-submounts, --syslog, --no-readdirplus, --killpriv-v2,\n"
	"--no-killpriv-v2 and the -o keys flock, no_flock, posix_lock,\n"
	"no_posix_lock, readdirplus, no_readdirplus, norace, timeout,\n"
	"announce_submounts, killpriv_v2, no_killpriv_v2.  Any other unknown\n"
	"option is an error.\n";
