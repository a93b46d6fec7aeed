/*
 * cli_snapshot.h: `pkifs snapshot`, `pkifs restore`, `pkifs backup`.
 */
#ifndef PKIFS_FS_CLI_SNAPSHOT_H
#define PKIFS_FS_CLI_SNAPSHOT_H

int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_backup(int argc, char **argv);

#endif
