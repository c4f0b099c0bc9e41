/* SPDX-License-Identifier: MIT */
/*
 * cmd_fs_common.h - what the file-system subcommands of `vhostfs` share
 * (import, export, ls, cat; mkfs and fsck for the catalog): an image opened
 * through image_internal.h, synchronous wrappers over its fs_ops (each one
 * vimage_call, as root), reading a whole directory, resolving a path inside
 * the image, a map for hard links, and the xattr names the tools copy.
 *
 * Exit statuses as the blobstore tools: 0 done, 1 failed (one line naming
 * the path), 2 bad arguments (BT_EXIT_USAGE).
 */
#ifndef VHOSTFS_APP_CMD_FS_COMMON_H
#define VHOSTFS_APP_CMD_FS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "image_internal.h"
#include "vhostfs/fs.h"

#define FT_CHUNK (1u << 20) /* file data moves in 1 MiB pieces */

/* One tool run on an image. */
struct ft {
	const char *cmd;   /* "vhostfs import", for messages */
	const char *image;
	struct vimage *im;
	struct fs *fs;     /* MOUNT modes */
	struct fs_inode *root;
};

/*
 * Open @image (@export_name NULL: "main") in @mode and take the root of
 * its fs (MOUNT modes).  vimage_open and vimage_close say what failed, as
 * do the catalog calls (vimage_create, _snapshot, _clone, _delete).
 */
int ft_open(struct ft *t, const char *cmd, const char *image,
	    const char *export_name, enum vimage_mode mode);
int ft_close(struct ft *t);

/* One line "CMD: message" on stderr. */
void ft_err(const struct ft *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* What an fs error means in the tools' messages. */
const char *ft_strerror(int err);

/* --- fs_ops, synchronously (0 or -errno; -ENOSYS when not implemented) --- */

void ft_forget(struct ft *t, struct fs_inode *in);
int ft_lookup(struct ft *t, struct fs_inode *parent, const char *name,
	      struct fs_entry *out);
int ft_getattr(struct ft *t, struct fs_inode *in, struct stat *out);
int ft_setattr(struct ft *t, struct fs_inode *in, const struct fs_setattr *s);
int ft_mknod(struct ft *t, struct fs_inode *parent, const char *name,
	     mode_t mode, dev_t rdev, struct fs_entry *out);
int ft_mkdir(struct ft *t, struct fs_inode *parent, const char *name,
	     mode_t mode, struct fs_entry *out);
int ft_symlink(struct ft *t, struct fs_inode *parent, const char *name,
	       const char *target, struct fs_entry *out);
int ft_link(struct ft *t, struct fs_inode *in, struct fs_inode *parent,
	    const char *name, struct fs_entry *out);
int ft_create(struct ft *t, struct fs_inode *parent, const char *name,
	      mode_t mode, struct fs_entry *out, struct fs_file **file);
int ft_open_file(struct ft *t, struct fs_inode *in, int flags,
		 struct fs_file **file);
int ft_release(struct ft *t, struct fs_file *file);
/* Reads up to @len bytes at @off (short only at the end of the file). */
int ft_read(struct ft *t, struct fs_file *file, uint64_t off, void *buf,
	    size_t len, size_t *nread);
/* Writes all @len bytes at @off. */
int ft_write(struct ft *t, struct fs_file *file, uint64_t off,
	     const void *buf, size_t len);
int ft_lseek(struct ft *t, struct fs_file *file, uint64_t off, int whence,
	     uint64_t *out);
/* The target of a symlink, NUL-terminated, in a new string. */
int ft_readlink(struct ft *t, struct fs_inode *in, char **out);
int ft_setxattr(struct ft *t, struct fs_inode *in, const char *name,
		const void *value, size_t size);
/* The value of @name in a new buffer of *@len bytes (NULL when 0). */
int ft_getxattr(struct ft *t, struct fs_inode *in, const char *name,
		void **out, size_t *len);
/* The NUL-separated names in a new buffer of *@len bytes. */
int ft_listxattr(struct ft *t, struct fs_inode *in, char **out, size_t *len);

/* --- directories and paths -------------------------------------------- */

struct ft_dirent {
	char *name;
	uint64_t ino;
	uint32_t dtype;
};

struct ft_dir {
	struct ft_dirent *e;
	size_t n;
	size_t cap;
};

/*
 * Every entry of directory @in but "." and "..", sorted by name.  Names
 * the image gives are checked (no '/', no NUL, not "." or "..", at most
 * NAME_MAX bytes): -EUCLEAN otherwise.
 */
int ft_dir_read(struct ft *t, struct fs_inode *in, struct ft_dir *out);
void ft_dir_free(struct ft_dir *d);

/* 0 if @name (of @len bytes) may be a directory entry, else -EINVAL. */
int ft_name_check(const char *name, size_t len);

/*
 * Resolve @path ("/", "a/b", "/a/b/") inside the image from its root.
 * Symlinks met on the way are followed inside the image (an absolute
 * target starts again at the root), the last one only with @follow;
 * -ELOOP after 40.  *@out holds one reference.
 */
int ft_resolve(struct ft *t, const char *path, bool follow,
	       struct fs_entry *out);
/*
 * The directory @path, made (mode 0755, owned by root) where it is
 * missing, as mkdir -p.
 */
int ft_mkpath(struct ft *t, const char *path, struct fs_entry *out);

/* --- hard links: (a, b) -> something, until its last link was seen ---- */

struct ft_link {
	uint64_t a, b;      /* st_dev, st_ino on the host; 0, ino in an image */
	uint64_t left;      /* links still to come */
	void *ptr;          /* an fs_inode (import) or a host path (export) */
};

struct ft_links {
	struct ft_link *slot;
	size_t cap;         /* a power of two, or 0 */
	size_t n;
};

/* The entry for (a, b), or NULL. */
struct ft_link *ft_links_find(struct ft_links *m, uint64_t a, uint64_t b);
/* Add (a, b); -ENOMEM. */
int ft_links_add(struct ft_links *m, uint64_t a, uint64_t b, uint64_t left,
		 void *ptr);
/* Remove @l (from ft_links_find); its ptr is the caller's again. */
void ft_links_remove(struct ft_links *m, struct ft_link *l);
/* Call @fn on every ptr left, then free the map. */
void ft_links_free(struct ft_links *m, void (*fn)(void *ctx, void *ptr),
		   void *ctx);

/* --- xattrs ------------------------------------------------------------ */

enum ft_xattr_mode {
	FT_XATTR_AUTO = 0, /* copy; unsupported where they go: warn once */
	FT_XATTR_FORCE,    /* --xattrs: unsupported is an error */
	FT_XATTR_OFF,      /* --no-xattrs */
};

/*
 * The xattrs import and export copy: user.*, trusted.*, security.*, and
 * the POSIX ACLs (system.posix_acl_access / _default) as raw values.
 */
bool ft_xattr_copied(const char *name);
/* -ENOSYS, -EOPNOTSUPP and -ENOTSUP: xattrs are not supported there. */
bool ft_xattr_unsupported(int err);

/* --- import and export arguments --------------------------------------- */

/* IMAGE HOSTDIR [-e NAME] [-i|-f PATH] [--xattrs|--no-xattrs] [-q] */
struct ft_copy_args {
	const char *image;
	const char *host;
	const char *export_name;
	const char *path;          /* --into (import) or --from (export) */
	enum ft_xattr_mode xmode;
	bool quiet;
};

/*
 * Parse the arguments of @cmd; @path_opt is "into" or "from" (its short
 * option is its first letter).  0, 1 when the help was asked for (@usage
 * printed it), or an exit status (> 1, the message printed).
 */
int ft_copy_parse(const char *cmd, const char *path_opt,
		  void (*usage)(FILE *f), int argc, char *argv[],
		  struct ft_copy_args *a);

/* "a" + "/" + "b" in a new string (NULL when out of memory). */
char *ft_path_join(const char *a, const char *b);

#endif /* VHOSTFS_APP_CMD_FS_COMMON_H */
