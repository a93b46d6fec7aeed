/*
 * mounts.h: the kernel's mount table (/proc/self/mounts) as pkifs asks it:
 * is something mounted here, which pkifs mount serves a database, which
 * one holds a path. One reader for every command and the daemon; names
 * come decoded (a space in a mountpoint is \040 in the table).
 */
#ifndef PKIFS_FS_MOUNTS_H
#define PKIFS_FS_MOUNTS_H

#include <stddef.h>

/* Is any filesystem mounted at path (exactly)? 1 or 0. */
int mounts_any_at(const char *path);

/* The mountpoint of a pkifs mount of database db (compared as given and
 * as resolved by realpath) into mp (mp may be NULL): 0, or -1 when none. */
int mounts_of_db(const char *db, char *mp, size_t size);

/* The database of the pkifs mount at mountpoint mp (exactly) into db:
 * 0, or -1 when none. */
int mounts_db_at(const char *mp, char *db, size_t size);

/* The pkifs mount that holds absolute path abs (the deepest one whose
 * mountpoint is abs or a folder above it): its database into db and its
 * mountpoint into mp (mp may be NULL). 0, or -1 when none. */
int mounts_covering(const char *abs, char *db, size_t size, char *mp, size_t mp_size);

#endif
