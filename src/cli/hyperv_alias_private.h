/* Inside the Hyper-V cmdlet translation (hyperv_alias.h), shared by its two
 * files: the cmdlet table as data (hyperv_cmdlets.c) and the parser
 * (hyperv_alias.c), whose helpers the table's special cases use. */
#ifndef NESTVM_CLI_HYPERV_ALIAS_PRIVATE_H
#define NESTVM_CLI_HYPERV_ALIAS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/hyperv_alias.h"
#include "cli/hyperv_objects.h"

/* What a parameter's value is; each is checked and put in native form
 * while the command line is read. */
enum hv_kind {
	HV_NAME,        /* one VM or switch name (no commas, no wildcards) */
	HV_NAMES,       /* a list: X,Y -> X Y */
	HV_TEXT,        /* passed as it is (a path, a CIDR, an interface) */
	HV_SIZE,        /* PowerShell bytes: 4GB, 512MB, 4294967296 -> 4096M */
	HV_BOOL,        /* $true/$false, true/false, 1/0 -> on/off */
	HV_ONOFF,       /* On/Off -> on/off */
	HV_COUNT,       /* a positive decimal integer */
	HV_FLAG,        /* a switch parameter: -Force, -Force:$false */
	HV_CHOICE,      /* one of text ("Internal|Private"), lowercased */
	HV_MAC,         /* 00155D010203, 00-15-5D-01-02-03 -> 00:15:5d:01:02:03 */
	HV_GENERATION,  /* 1 or 2, accepted and ignored: text is the note */
	HV_UNSUPPORTED, /* Hyper-V has it, nestvm cannot honour it: text says why */
};

#define HV_REQUIRED 1u   /* must be given */
#define HV_POSITIONAL 2u /* PowerShell's position 0: the first bare word */
#define HV_MANUAL 4u     /* emitted by the cmdlet's finish hook, not by the table */
#define HV_PIPELINE 8u   /* a VM name that objects piped in may give instead */

struct hv_param {
	const char *name;  /* as Hyper-V spells it, without the dash */
	const char *alias; /* another name PowerShell accepts, or NULL */
	enum hv_kind kind;
	unsigned flags;
	/* The native option it becomes ("--memory"); NULL: the value is a
	 * native positional argument, or for HV_FLAG a no-op whose note is text. */
	const char *opt;
	/* HV_CHOICE: the choices; HV_UNSUPPORTED: why; HV_FLAG without opt and
	 * HV_GENERATION: the note; HV_NAME, HV_TEXT: a prefix for the value
	 * ("switch=" makes --nic switch=S). */
	const char *text;
};

#define HV_MAX_PARAMS 24

struct hv_call;

struct hv_cmdlet {
	const char *name;
	const char *native[3];         /* the native command words, e.g. {"vm", "set"} */
	const struct hv_param *params; /* ends with { NULL } */
	const char *syntax;            /* for Get-Help */
	const char *example;           /* a whole call, shown when a required parameter is missing */
	const char *note;              /* printed on every use, or NULL */
	/* Special cases (combined parameters, a choice of native command):
	 * runs after the table's parameters are emitted. 0, or -1 via hv_fail. */
	int (*finish)(struct hv_call *c);
	enum hv_object_kind objects; /* a Get-VM* cmdlet's objects, or HV_OBJ_NONE */
	bool script;                 /* also called as NAME.ps1 (the published scripts) */
};

/* A command nestvm recognises only to refuse: Windows' own networking and
 * features, which a Linux host does otherwise or not at all. */
struct hv_windows_only {
	const char *name;
	const char *why;
};
extern const struct hv_windows_only hv_windows_only_commands[];

extern const struct hv_cmdlet hv_cmdlets[];
extern const size_t hv_ncmdlets;
/* PowerShell's common parameters and remoting: no meaning for nestvm. */
extern const struct hv_param hv_common_params[];

/* One cmdlet call being translated. */
struct hv_call {
	const struct hv_cmdlet *cmd;
	bool given[HV_MAX_PARAMS];
	const char *val[HV_MAX_PARAMS]; /* native form (in pool); flags: "on"/"off" */
	char pool[4096];
	size_t used;
	struct hyperv_translation *out;
	const struct hyperv_binding *bind; /* a piped object, or NULL */
	char *err;
	size_t errlen;
};

/* The native form of parameter name's value, or NULL if it was not given. */
const char *hv_value(const struct hv_call *c, const char *name);
/* Appends one native argument (copied). 0 or -1 (too many). */
int hv_push(struct hv_call *c, const char *arg);
/* Replaces native argument i. */
int hv_replace(struct hv_call *c, int i, const char *arg);
/* Adds a sentence to the translation's note. */
void hv_note(struct hv_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "Cmdlet: message" into the error; returns -1. */
int hv_fail(struct hv_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
