/* Dropping every capability of the calling thread: its effective,
 * permitted, inheritable and ambient sets and its bounding set, so that
 * neither this thread nor anything it could start holds one again. A VMM
 * or switch daemon started by root needs none once set up: its files are
 * root's own (mode bits, not CAP_DAC_OVERRIDE) and its devices, sockets
 * and interfaces are open. Linux keeps capabilities per thread, so every
 * thread drops its own (confine_thread does, before its filter). */
#ifndef NESTVM_CONFINE_CAPABILITIES_H
#define NESTVM_CONFINE_CAPABILITIES_H

#include "util/err.h"

/* 0, or -1 with err. */
int capabilities_drop_all(struct nv_err *err);
/* The bounding set alone (it needs CAP_SETPCAP, which leaving root for a
 * dedicated user clears: confine_thread drops it first). */
int capabilities_drop_bounding(struct nv_err *err);

#endif
