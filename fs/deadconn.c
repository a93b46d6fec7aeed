/*
 * deadconn.c: abort the connection of a dead daemon's mount (deadconn.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <dirent.h>

#include "deadconn.h"

#define FUSECTL "/sys/fs/fuse/connections"

/* The device (the connection's number) of the FUSE mount at mountpoint,
 * from mountinfo, which never asks the filesystem. 0, or -1. */
static int mount_dev(const char *mountpoint, unsigned *major, unsigned *minor)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char dst[4096];
	int found = 0;

	if (!f)
		return -1;
	while (!found && fscanf(f, "%*s %*s %u:%u %*s %4095s %*[^\n]", major, minor, dst) == 3)
		found = strcmp(dst, mountpoint) == 0;
	fclose(f);
	return found ? 0 : -1;
}

/* Is pid a pkifs process whose main thread has exited (a zombie)? */
static int zombie_pkifs(const char *pid)
{
	char path[300], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* the command name may hold anything */
	return p && p[1] && p[2] == 'Z' && strstr(buf, "(pkifs)") == strchr(buf, '(');
}

/* Does a thread of pid still hold the file (dev, ino) open? */
static int holds(const char *pid, dev_t dev, ino_t ino)
{
	char path[3 * 256 + 64];
	struct dirent *t, *e;
	struct stat st;
	DIR *tasks, *fds;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	if (!(tasks = opendir(path)))
		return 0;
	while (!found && (t = readdir(tasks))) {
		snprintf(path, sizeof(path), "/proc/%s/task/%s/fd", pid, t->d_name);
		if (t->d_name[0] == '.' || !(fds = opendir(path)))
			continue;
		while (!found && (e = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%s/task/%s/fd/%s", pid, t->d_name,
				 e->d_name);
			found = e->d_name[0] != '.' && stat(path, &st) == 0 && st.st_dev == dev &&
				st.st_ino == ino;
		}
		closedir(fds);
	}
	closedir(tasks);
	return found;
}

/* The pid of a dead pkifs daemon that still holds the database (dev, ino)
 * open, or 0. A live daemon is never taken for a dead one. */
static long dead_holder(dev_t dev, ino_t ino)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long pid = 0;

	if (!d)
		return 0;
	while (!pid && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && zombie_pkifs(e->d_name) &&
		    holds(e->d_name, dev, ino))
			pid = strtol(e->d_name, NULL, 10);
	closedir(d);
	return pid;
}

/* fusectl's directory has the connections once fusectl is mounted. */
static void mount_fusectl(void)
{
	DIR *d = opendir(FUSECTL);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return;
	while (empty && (e = readdir(d)))
		empty = e->d_name[0] == '.';
	closedir(d);
	if (empty)
		mount("fusectl", FUSECTL, "fusectl", 0, NULL);
}

int deadconn_abort(const char *mountpoint, const char *db)
{
	unsigned major, minor;
	char path[128];
	struct stat st;
	long pid;
	FILE *f;

	if (stat(db, &st) != 0 || !(pid = dead_holder(st.st_dev, st.st_ino)))
		return 0;
	if (mount_dev(mountpoint, &major, &minor) != 0)
		return 0;
	mount_fusectl();
	snprintf(path, sizeof(path), FUSECTL "/%u/abort", major << 20 | minor);
	if (!(f = fopen(path, "w")) || (fputs("1", f) < 0) + (fclose(f) != 0)) {
		fprintf(stderr, "pkifs: the daemon of %s (pid %ld) is dead but cannot exit; "
			"aborting its connection failed: %s: %s\n", mountpoint, pid, path,
			strerror(errno));
		return -1;
	}
	fprintf(stderr, "pkifs: the daemon of %s (pid %ld) was killed while it notified the "
		"kernel; its connection is aborted\n", mountpoint, pid);
	return 1;
}
