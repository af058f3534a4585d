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
	/* A Get-VM* cmdlet: the kind of objects it prints (an enum
	 * hv_object_kind, hyperv_objects.h), for the VMs named in argv from
	 * index native_words on (none: every VM). 0: run the native command. */
	int objects;
	int native_words;
};

/* What a word names: one of Hyper-V's cmdlets (or the two scripts,
 * Enable-NestedVm.ps1 and Get-NestedVirtStatus.ps1, as .\X.ps1, ./X.ps1
 * or .X.ps1 once a shell ate the backslash), PowerShell's Format-List or
 * Format-Table (FL, FT), or a Windows command nestvm refuses with a
 * reason (New-NetIPAddress, Netsh, ...). Case-insensitive. */
enum hyperv_command_kind {
	HV_CMD_NONE,
	HV_CMD_CMDLET,
	HV_CMD_FORMAT_LIST,
	HV_CMD_FORMAT_TABLE,
	HV_CMD_WINDOWS_ONLY,
};
enum hyperv_command_kind hyperv_command_kind(const char *word);
/* Is word a known cmdlet name (case-insensitive, e.g. "get-vm")? */
bool hyperv_is_cmdlet(const char *word);
/* For HV_CMD_WINDOWS_ONLY: the one-line refusal, "CMD: why". */
void hyperv_windows_only(const char *word, char *err, size_t errlen);

/* An object piped in from a Get-VM* cmdlet: the VM it names and, for a
 * network adapter, its index (-1: none). */
struct hyperv_binding {
	const char *vm_name;
	int adapter;
};

/* argv[0] is the cmdlet. 0 and *out filled, or -1 with a one-line error in
 * err (unknown or unsupported parameter, missing value, bad size, ...);
 * -2 (and err) when only the VM a pipeline could name is missing. */
int hyperv_translate(int argc, char **argv, struct hyperv_translation *out, char *err,
		     size_t errlen);
/* The same with the VM (and adapter) of one piped object; giving the VM
 * on the command line too is an error. */
int hyperv_translate_bound(int argc, char **argv, const struct hyperv_binding *bind,
			   struct hyperv_translation *out, char *err, size_t errlen);
void hyperv_translation_free(struct hyperv_translation *t);
/* `nestvm Get-Help [CMDLET]`: every cmdlet with its native command, or one
 * cmdlet's parameters. 0, or -1 if cmdlet is not one nestvm knows. */
int hyperv_help(FILE *f, const char *cmdlet);

#endif
