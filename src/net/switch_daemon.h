/* The switch daemon (`nestvm switch-daemon NAME`): one process per switch,
 * one event loop (core/evloop) over its listening sockets, its ports, its
 * control connections and its uplink. Every port connection and control request is
 * hostile input; a VM that dies or misbehaves loses only its own port.
 * Logs one line per port event to stderr (the switch's daemon.log). */
#ifndef NESTVM_NET_SWITCH_DAEMON_H
#define NESTVM_NET_SWITCH_DAEMON_H

#include "util/err.h"

/* Runs until `shutdown`, SIGTERM or SIGINT: 0. Fails to start (config,
 * privilege, another daemon, sockets): -1 with one line in err. */
int switch_daemon_run(const char *name, struct nv_err *err);

#endif
