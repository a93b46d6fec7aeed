/*
 * cli_inventory.h: `pkifs list`, `show`, `expiring` (cli_inventory.c) and
 * `verify` (cli_verify.c), `doctor` (cli_doctor.c), `own` (cli_own.c).
 */
#ifndef PKIFS_FS_CLI_INVENTORY_H
#define PKIFS_FS_CLI_INVENTORY_H

int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_expiring(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_own(int argc, char **argv);

#endif
