/*
 * nodes.h: the nodes the kernel holds, by node id.
 *
 * A node id is the store's inode number (the root's is FUSE_ROOT_ID, which
 * is the root folder's inode number too): fixed folders, entries, lock
 * directories, views and snapshot trees all have numbers that do not
 * repeat, so the kernel's node for a name is the store's entry for it and
 * a commit can name exactly what it changed (inval.h). For each node the
 * kernel has looked up, the table keeps where it was last seen (parent node
 * and name: the path the operations resolve), the kernel's lookup count,
 * the open handles, and the attributes last given, which are what fstat
 * answers once the node's name has gone while it is still open (as a local
 * filesystem does). The table is guarded by one mutex of its own.
 */
#ifndef PKIFS_FS_NODES_H
#define PKIFS_FS_NODES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* The table (one per daemon). */
struct nodes {
	pthread_mutex_t lock;
	struct knode **table;
	size_t nbuckets, count;
};

/* An empty table. */
void nodes_init(struct nodes *t);

/* Record one more kernel reference to node ino, seen as parent/name with
 * attributes st. 0, or -ENOMEM. */
int nodes_ref(struct nodes *t, uint64_t ino, uint64_t parent, const char *name, const struct stat *st);

/* The kernel drops n references; the last one frees the node. */
void nodes_forget(struct nodes *t, uint64_t ino, uint64_t n);

/* The path of node ino into buf ("/trusted/certs/x.der"): 0, or -ENOENT for
 * a node the table does not hold, -ENAMETOOLONG. */
int nodes_path(struct nodes *t, uint64_t ino, char *buf, size_t size);

/* The node was renamed (or moved by a drop) to parent/name. */
void nodes_moved(struct nodes *t, uint64_t ino, uint64_t parent, const char *name);

/* Attributes last given for ino (after a change through it). */
void nodes_set_attr(struct nodes *t, uint64_t ino, const struct stat *st);

/* A handle on ino opens or closes. */
void nodes_open(struct nodes *t, uint64_t ino);
void nodes_close(struct nodes *t, uint64_t ino);

/* The attributes of an open node whose name is gone: 0 with st filled (its
 * link count 0), or -ENOENT when nothing holds it open. */
int nodes_orphan_attr(struct nodes *t, uint64_t ino, struct stat *st);

/* How many nodes the table holds (tests, status). */
size_t nodes_count(struct nodes *t);

/* Free every node (at unmount). */
void nodes_clear(struct nodes *t);

#endif
