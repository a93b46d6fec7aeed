/*
 * deadconn.h: free the mount of a daemon that was killed but cannot exit.
 *
 * A daemon killed (kill -9, the OOM killer) while one of its threads is
 * inside a cache notification to the kernel stays a zombie: the kernel
 * makes that thread wait for a folder's lock, which a request sent to the
 * dead daemon holds, so /dev/fuse is never closed and the kernel never
 * ends the connection by itself. Every process that touches the mount then
 * hangs. This is true of any FUSE filesystem that notifies the kernel;
 * the way out is fusectl's abort, which `pkifs mount` and `pkifs umount`
 * take themselves when the daemon holding the database is dead.
 */
#ifndef PKIFS_FS_DEADCONN_H
#define PKIFS_FS_DEADCONN_H

/* When the daemon that holds db's lock is dead (a zombie), abort the FUSE
 * connection of the mount at mountpoint: 1 when it did, 0 when there was
 * nothing to do, -1 when it could not (a reason printed). */
int deadconn_abort(const char *mountpoint, const char *db);

#endif
