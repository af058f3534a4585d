/* libslirp, loaded when a NAT switch first needs it (dlopen) instead of at
 * every nestvm start: it brings glib and pcre2, whose loading was a third
 * of a saved VM's restore time in the lab, and only NAT switches use it.
 * slirp_runtime.c defines libslirp's functions (the ones nestvm calls,
 * with the prototypes of <slirp/libslirp.h>) as calls through the loaded
 * library, so the NAT uplink's code reads as plain libslirp. */
#ifndef NESTVM_NET_SLIRP_RUNTIME_H
#define NESTVM_NET_SLIRP_RUNTIME_H

#include "util/err.h"

#define SLIRP_RUNTIME_LIBRARY "libslirp.so.0"

/* Loads libslirp once (later calls return the first answer). 0, or -1
 * with err naming the library and why (not installed, a symbol missing). */
int slirp_runtime_load(struct nv_err *err);

/* Frees what libslirp allocated for the caller (slirp_connection_info's
 * string) with GLib's g_free. Not free(): nestvm is a static binary, and
 * the libslirp it loads brings a libc of its own with its own malloc, so
 * free() would hand another allocator's block to nestvm's (heap
 * corruption; a long string aborted a switch daemon). */
void slirp_runtime_free(void *p);

#endif
