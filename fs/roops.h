/*
 * roops.h: operations in the read-only areas (snapshot/, views).
 */
#ifndef PKIFS_FS_ROOPS_H
#define PKIFS_FS_ROOPS_H

#include "ctx.h"
#include "dirfill.h"

int ro_getattr(struct node *n, struct stat *st);
int ro_readdir(struct node *n, struct dir_fill *d);
/* Open for reading: the bytes to serve in *data (malloc'd). */
int ro_open(struct node *n, struct fuse_file_info *fi, char **data, size_t *len);
int ro_mkdir(struct node *n);
int ro_rmdir(struct node *n);

#endif
