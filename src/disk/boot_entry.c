/* Filling a struct boot_entry from parsed words, within its bounds. */
#include "disk/boot_entry.h"

#include <stdio.h>
#include <string.h>

int boot_entry_set_path(char dst[BOOT_PATH_MAX], const char *path, const char *what,
			const char *role, struct nv_err *err)
{
	/* GRUB's "(hd0,gpt2)/vmlinuz": the device is the filesystem we read. */
	if (path[0] == '(') {
		const char *end = strchr(path, ')');
		if (!end)
			return nv_err_input(err, "%s: %s path '%.64s' has an unclosed device name",
					    what, role, path);
		path = end + 1;
	}
	if (path[0] == '\0')
		return nv_err_input(err, "%s: empty %s path", what, role);
	size_t slash = path[0] == '/' ? 0 : 1, len = strlen(path);
	if (slash + len >= BOOT_PATH_MAX)
		return nv_err_input(err, "%s: %s path longer than %d bytes", what, role,
				    BOOT_PATH_MAX - 1);
	dst[0] = '/';
	memcpy(dst + slash, path, len + 1);
	return 0;
}

int boot_entry_add_initrd(struct boot_entry *e, const char *path, const char *what,
			  struct nv_err *err)
{
	if (e->n_initrds >= BOOT_MAX_INITRDS)
		return nv_err_input(err, "%s: more than %d initrds", what, BOOT_MAX_INITRDS);
	if (boot_entry_set_path(e->initrds[e->n_initrds], path, what, "initrd", err) < 0)
		return -1;
	e->n_initrds++;
	return 0;
}

int boot_entry_add_arg(struct boot_entry *e, const char *word, const char *what,
		       struct nv_err *err)
{
	size_t have = strlen(e->cmdline), add = strlen(word) + (have ? 1 : 0);
	if (have + add >= BOOT_CMDLINE_LEN)
		return nv_err_input(err, "%s: kernel command line longer than %d bytes", what,
				    BOOT_CMDLINE_LEN - 1);
	snprintf(e->cmdline + have, BOOT_CMDLINE_LEN - have, "%s%s", have ? " " : "", word);
	return 0;
}
