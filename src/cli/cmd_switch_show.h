/* `nestvm switch list`, `show` and `port`: reading switches (cmd_switch.c
 * dispatches to them). */
#ifndef NESTVM_CLI_CMD_SWITCH_SHOW_H
#define NESTVM_CLI_CMD_SWITCH_SHOW_H

int cmd_switch_list(int argc, char **argv);
int cmd_switch_show(int argc, char **argv);
int cmd_switch_port(int argc, char **argv);

#endif
