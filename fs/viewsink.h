/*
 * viewsink.h: writes into the generated views, accepted and dropped (see
 * viewsink.c for why).
 */
#ifndef PKIFS_FS_VIEWSINK_H
#define PKIFS_FS_VIEWSINK_H

#include "ctx.h"

int is_view(const struct node *n);
/* The temporary file at n inside capath/, with a reference, or NULL. */
struct pending *sink_get(const struct node *n);
/* Refuse op at n in a read-only area: -EROFS, logged with the reason. */
int sink_refuse(const char *op, const struct node *n);
/* A temporary file (a dot-name) in capath/; else -EROFS, logged. */
int sink_create(const struct node *n, mode_t mode, struct pending **out);
int sink_rename(const struct node *from, const struct node *to);
int sink_unlink(const struct node *n);
int sink_setattr(const struct node *n, const struct pk_attr *a, unsigned which);

#endif
