// SPDX-License-Identifier: MIT
/*
 * vimage_helper.c - image catalog steps for the integration scripts,
 * through src/app/image_internal.h (what vhostfsd itself uses):
 *   vimage_helper ensure IMAGE NAME   create file system NAME if missing
 *   vimage_helper list IMAGE          one line per file system: name kind
 *   vimage_helper snapshot IMAGE VOL SNAP | clone IMAGE SNAP NAME
 * Exit 0 on success, 1 with vimage's message on stderr otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/image_internal.h"

static int open_store(struct vimage **im, const char *path, bool rw)
{
	struct vimage_config c = {
		.path = path,
		.mode = rw ? VIMAGE_STORE_RW : VIMAGE_STORE_RO,
		.who = "vimage_helper",
	};

	return vimage_open(im, &c);
}

static bool has(struct vimage *im, const char *name)
{
	struct vimage_entry *v = NULL;
	bool found = false;
	size_t n = 0;

	if (vimage_list(im, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		found |= strcmp(v[i].name, name) == 0;
	free(v);
	return found;
}

static int ensure(const char *path, const char *name)
{
	struct vimage *im;
	int rc = open_store(&im, path, true);

	if (rc < 0)
		return rc;
	if (!has(im, name))
		rc = vimage_create(im, name, NULL);
	return rc < 0 ? (vimage_close(im), rc) : vimage_close(im);
}

static int change(const char *op, const char *path, const char *a,
		  const char *b)
{
	struct vimage *im;
	int rc = open_store(&im, path, true);

	if (rc < 0)
		return rc;
	if (strcmp(op, "snapshot") == 0)
		rc = vimage_snapshot(im, a, b);
	else
		rc = vimage_clone(im, a, b);
	return rc < 0 ? (vimage_close(im), rc) : vimage_close(im);
}

static int list(const char *path)
{
	static const char *const kinds[] = { "volume", "snapshot", "clone" };
	struct vimage_entry *v = NULL;
	struct vimage *im;
	size_t n = 0;
	int rc = open_store(&im, path, false);

	if (rc < 0)
		return rc;
	rc = vimage_list(im, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		printf("%s %s\n", v[i].name, kinds[v[i].kind]);
	free(v);
	return rc < 0 ? (vimage_close(im), rc) : vimage_close(im);
}

int main(int argc, char *argv[])
{
	int rc;

	if (argc == 4 && strcmp(argv[1], "ensure") == 0)
		rc = ensure(argv[2], argv[3]);
	else if (argc == 5 && (strcmp(argv[1], "snapshot") == 0 ||
			       strcmp(argv[1], "clone") == 0))
		rc = change(argv[1], argv[2], argv[3], argv[4]);
	else if (argc == 3 && strcmp(argv[1], "list") == 0)
		rc = list(argv[2]);
	else {
		fprintf(stderr, "usage: vimage_helper ensure IMAGE NAME | "
			"list IMAGE | snapshot IMAGE VOL SNAP | clone IMAGE "
			"SNAP NAME\n");
		return 2;
	}
	return rc < 0 ? 1 : 0;
}
