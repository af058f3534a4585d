/* Hyper-V's words: `nestvm Set-VMProcessor -VMName X
 * -ExposeVirtualizationExtensions $true` and friends, for people following
 * Hyper-V's published instructions. Each cmdlet is translated into the
 * native argv (`vm set X --expose-virtualization-extensions on`), which
 * main() then runs like any other command. Pure: no I/O, unit-tested. */
#ifndef NESTVM_CLI_HYPERV_ALIAS_H
#define NESTVM_CLI_HYPERV_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The translation: argv of the native command (argv[0] = "vm", "switch",
 * "status" or "enable-nested"), strings owned by the struct. */
#define HYPERV_MAX_ARGS 32
struct hyperv_translation {
	int argc;
	char *argv[HYPERV_MAX_ARGS + 1]; /* NULL-terminated */
	char note[256]; /* optional line to print before running ("" if none) */
};

/* Is word a known cmdlet name (case-insensitive, e.g. "get-vm")? */
bool hyperv_is_cmdlet(const char *word);
/* argv[0] is the cmdlet. 0 and *out filled, or -1 with a one-line error in
 * err (unknown or unsupported parameter, missing value, bad size, ...). */
int hyperv_translate(int argc, char **argv, struct hyperv_translation *out, char *err,
		     size_t errlen);
void hyperv_translation_free(struct hyperv_translation *t);
/* `nestvm Get-Help [CMDLET]`: every cmdlet with its native command, or one
 * cmdlet's parameters. 0, or -1 if cmdlet is not one nestvm knows. */
int hyperv_help(FILE *f, const char *cmdlet);

#endif
