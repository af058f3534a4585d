/* Printing Hyper-V objects (hyperv_objects.h) the three ways a nestvm
 * cmdlet can: PowerShell's table (what a Get-VM* cmdlet shows on a
 * terminal, and Format-Table), its list (Format-List: one "Name : value"
 * line per property), and one JSON object per line (what goes down a pipe
 * to the next nestvm cmdlet, hyperv_pipe.h). */
#ifndef NESTVM_CLI_HYPERV_FORMAT_H
#define NESTVM_CLI_HYPERV_FORMAT_H

#include <stdio.h>

struct json_object;

/* Which properties to show: PowerShell's -Property patterns ("*",
 * "Expose*", "Name,State"), case-insensitive; none: every property (a
 * list) or the kind's default columns (a table). */
#define HV_MAX_PATTERNS 32
struct hv_selection {
	const char *patterns[HV_MAX_PATTERNS];
	int n;
};

void hv_print_json_lines(FILE *f, struct json_object *objects);
/* 0, or -1 when patterns were given and no property of any object matches
 * one (the caller says so: a shell may have expanded an unquoted *). */
int hv_format_list(FILE *f, struct json_object *objects, const struct hv_selection *sel);
int hv_format_table(FILE *f, struct json_object *objects, const struct hv_selection *sel);

#endif
