/* Starting a switch's daemon when it is not running (after `switch create`,
 * or when a VM needs a switch whose daemon died or the host rebooted). */
#ifndef NESTVM_NET_SWITCH_LAUNCH_H
#define NESTVM_NET_SWITCH_LAUNCH_H

#include <stdbool.h>

#include "util/err.h"

/* Does the switch exist (has a config.json)? */
bool switch_exists(const char *name);
/* Is its daemon up (its port.sock accepts connections)? */
bool switch_running(const char *name);
/* Starts `nestvm switch-daemon NAME` in the background (own session, stderr
 * to daemon.log) unless it runs already, and waits up to 10 s for its
 * port.sock. A missing switch is NV_ERR_INPUT; a daemon that dies on the way
 * up is reported with the last line of its log. */
int switch_ensure_running(const char *name, struct nv_err *err);

#endif
