/*
 * cli_status.h: `pkifs status`, what a store is doing.
 */
#ifndef PKIFS_FS_CLI_STATUS_H
#define PKIFS_FS_CLI_STATUS_H

int cmd_status(int argc, char **argv);

#endif
