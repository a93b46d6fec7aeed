/*
 * service.h: what running pkifs as a service needs — restarts that wait
 * for the previous daemon, signals, readiness for systemd (sd_notify
 * without libsystemd), and the options mount(8) users write.
 */
#ifndef PKIFS_FS_SERVICE_H
#define PKIFS_FS_SERVICE_H

/* Take the database's lock for a new daemon into *fd. When a daemon that
 * no longer has a mount of db still holds it (it is closing the store),
 * wait for it, at most 10 s, saying so on stderr. -1 (message printed)
 * when another daemon serves db. */
int service_lock_db(const char *db, int *fd);

/* Before the daemon forks: SIGHUP re-reads nothing and is ignored (libfuse
 * then leaves it so), and SIGTERM and SIGINT wait, blocked, until
 * service_signals_ready (after libfuse's handlers are set): a stop that
 * comes while the daemon starts is a clean stop too. */
void service_signals_hold(void);
void service_signals_ready(void);

/* Tell the service manager (NOTIFY_SOCKET, if set) a state such as
 * "READY=1" or "STOPPING=1"; MAINPID is added to READY. 0, or -1. */
int service_notify(const char *state);

/* Is opt one that mount(8) users write but no filesystem takes (defaults,
 * auto, noauto, nofail, _netdev, user, users, x-*, comment=)? */
int service_ignored_opt(const char *opt);

#endif
