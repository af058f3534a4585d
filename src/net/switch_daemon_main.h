/* A switch's process: `nestvm switch-daemon NAME`, started in the
 * background by switch_launch (`switch create`, or a VM that needs the
 * switch; stderr to the switch's daemon.log; not for users). The loop is
 * switch_daemon_run (switch_daemon.h). */
#ifndef NESTVM_NET_SWITCH_DAEMON_MAIN_H
#define NESTVM_NET_SWITCH_DAEMON_MAIN_H

/* What the `nestvm` command table runs for `switch-daemon` (argv[0] is
 * "switch-daemon"): 0 once the switch stopped; 2 or 125 after a one-line
 * error ("nestvm: ...", util/proc_fail.h) if it could not start. */
int switch_daemon_main(int argc, char **argv);

#endif
