/*
 * ops.h: the FUSE operations of the mount.
 */
#ifndef PKIFS_FS_OPS_H
#define PKIFS_FS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "pkifs/store.h"

/* The operations table (ll.c). */
const struct fuse_lowlevel_ops *fs_lowlevel_ops(void);

#endif
