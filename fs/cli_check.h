/*
 * cli_check.h: `pkifs check`, the store's fsck.
 */
#ifndef PKIFS_FS_CLI_CHECK_H
#define PKIFS_FS_CLI_CHECK_H

int cmd_check(int argc, char **argv);

#endif
