/*
 * notify.c: the sd_notify protocol without libsystemd.
 *
 * systemd (Type=notify) passes the path of a unix datagram socket in
 * NOTIFY_SOCKET; a '@' first means a socket in the abstract namespace. The
 * daemon sends one datagram of newline-separated VAR=VALUE lines per state
 * change.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "service.h"

/* Fill sa from NOTIFY_SOCKET's value; its length, or 0 when unusable. */
static socklen_t notify_addr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(sa->sun_path))
		return 0;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len);
	if (path[0] == '@')
		sa->sun_path[0] = 0; /* abstract: no terminating NUL either */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
}

int service_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	char msg[256];
	int fd, n;
	ssize_t sent;

	if (!path || !*path)
		return 0;
	salen = notify_addr(path, &sa);
	if (!salen)
		return -1;
	n = strcmp(state, "READY=1") == 0
		    ? snprintf(msg, sizeof(msg), "%s\nMAINPID=%ld", state, (long)getpid())
		    : snprintf(msg, sizeof(msg), "%s", state);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sent = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	close(fd);
	return sent == n ? 0 : -1;
}
