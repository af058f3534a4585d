/* What a bootloader's configuration says to boot: a kernel path, initrd
 * paths (Linux takes several concatenated) and a command line, all inside
 * the filesystem the configuration came from. Parsed from hostile text (a
 * disk image's grub.cfg or BLS entry): every path and the command line are
 * bounded, and a refusal is one line. */
#ifndef NESTVM_DISK_BOOT_ENTRY_H
#define NESTVM_DISK_BOOT_ENTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define BOOT_PATH_MAX 256
#define BOOT_MAX_INITRDS 4
#define BOOT_CMDLINE_LEN 2048 /* Linux's x86 COMMAND_LINE_SIZE, NUL included */

struct boot_entry {
	char kernel[BOOT_PATH_MAX]; /* absolute, inside the filesystem */
	char initrds[BOOT_MAX_INITRDS][BOOT_PATH_MAX];
	size_t n_initrds;
	char cmdline[BOOT_CMDLINE_LEN];
};

/* The entry GRUB would boot from grub.cfg's text (len bytes, not
 * NUL-terminated): `set default=N` or `N>M` at the top level (anything
 * else, such as ${saved_entry}, means entry 0, as does a number past the
 * last entry), counted over top-level menuentry and submenu blocks. Its
 * `linux` line gives the kernel and command line, its `initrd` line the
 * initrds. GRUB's variables are not expanded: a word naming one
 * (Ubuntu's $vt_handoff) is left out of the command line. A device prefix
 * such as (hd0,gpt2) is dropped from paths. what names the file in
 * messages ("grub.cfg of disk.img"). 0, or -1 with err. */
int grub_cfg_default_entry(const char *text, size_t len, const char *what, struct boot_entry *out,
			   struct nv_err *err);

/* Whether grub.cfg hands the menu to BLS entries (Fedora's `blscfg`). */
bool grub_cfg_uses_blscfg(const char *text, size_t len);

/* A Boot Loader Specification entry (/boot/loader/entries/NAME.conf):
 * `linux`, `initrd` (repeatable) and `options` (repeatable, joined) keys.
 * 0, or -1 with err. */
int bls_entry_parse(const char *text, size_t len, const char *what, struct boot_entry *out,
		    struct nv_err *err);

/* Shared by the parsers: path (a device prefix such as "(hd0,gpt2)" dropped;
 * made absolute) into dst, or -1 with err naming what and role ("kernel").
 * boot_entry_add_initrd appends one initrd path the same way. */
int boot_entry_set_path(char dst[BOOT_PATH_MAX], const char *path, const char *what,
			const char *role, struct nv_err *err);
int boot_entry_add_initrd(struct boot_entry *e, const char *path, const char *what,
			  struct nv_err *err);
/* Appends one word to the command line (a space between words). 0, or -1
 * with err when the line would not fit. */
int boot_entry_add_arg(struct boot_entry *e, const char *word, const char *what,
		       struct nv_err *err);

#endif
